"""Drivers that decide which runs happen: ingest, daily pipeline, replay, backfill."""
