"""Commands that run the pipeline: runs, explain, reports."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
