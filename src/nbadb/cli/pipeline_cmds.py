"""Commands that run the pipeline: run, replay, main."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
