"""The code itself: every name a module uses is defined, and nothing is imported that is not used.

A name missing from an import fails only when its line runs; `nbadb run` once printed its table
through a `DataTable` its module never imported, in a path no other test rendered."""

from __future__ import annotations

from pathlib import Path

from pyflakes.api import checkPath
from pyflakes.reporter import Reporter

ROOT = Path(__file__).resolve().parents[1]


class _Collected(Reporter):
    """pyflakes' findings as lines, for the assertion to show (its Reporter's method names)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def unexpectedError(self, filename, msg) -> None:
        self.lines.append(f"{filename}: {msg}")

    def syntaxError(self, filename, msg, lineno, offset, text) -> None:
        self.lines.append(f"{filename}:{lineno}: {msg}")

    def flake(self, message) -> None:
        self.lines.append(str(message))


def test_every_module_defines_what_it_uses_and_uses_what_it_imports():
    reporter = _Collected()
    files = sorted(p for folder in ("src", "tests", "bench") for p in (ROOT / folder).rglob("*.py"))
    assert len(files) > 100
    for path in files:
        checkPath(str(path), reporter)
    assert reporter.lines == []
