"""Staged provider rollouts: each prop-line provider (sport, book) from disabled through dark, shadow
and partial_active to full_active, on exit criteria measured from its own data, with an append-only
audit and a rollback that removes exactly what it contributed from what is served.

- `audit`: the append-only log of declarations, transitions and criteria changes, and the stage of
  every provider at any instant read from it;
- `criteria`: exit criteria as data (metric, comparator, threshold, minimum game days), defaults
  overlaid by what operators set;
- `metrics`: the measurements criteria and telemetry read, from the provider's own data;
- `gate`: a transition's criteria judged against those measurements;
- `service`: declare, advance, rollback, set criteria: validated, audited, published, carried through
  the pipeline.

What each stage lets the pipeline do is in pipeline.provider_stages.
"""
