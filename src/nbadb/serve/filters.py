"""Query-string filters shared by the pages and the API, each validated with a one-line error (400)."""

from __future__ import annotations

from datetime import date

from nbadb.engine.dag import ProcessorGraph
from nbadb.errors import ConfigError
from nbadb.serve.http import Request
from nbadb.serve.queries import PAGE_SIZES, Page


# The largest whole number a query parameter takes (a page, a limit, an offset): far past any table,
# and its products stay inside DuckDB's BIGINT.
MAX_COUNT = 10**12


def count_param(request: Request, name: str, default: int) -> int:
    """A whole number 0..MAX_COUNT in ASCII digits (`int` would take '²' and '١٢')."""
    value = request.param(name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_COUNT:
        raise ConfigError(f"{name} {value!r} is not a whole number from 0 to {MAX_COUNT}")
    return int(value)


def date_param(request: Request, name: str) -> date | None:
    value = request.param(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{name} {value!r} is not a date; use YYYY-MM-DD") from None


def choice_param(request: Request, name: str, choices: list[str] | tuple[str, ...]) -> str | None:
    value = request.param(name)
    if value is not None and value not in choices:
        raise ConfigError(f"{name} {value!r}: use one of {', '.join(choices) or '(none yet)'}")
    return value


def processor_param(request: Request, graph: ProcessorGraph) -> str | None:
    return choice_param(request, "processor", list(graph.order))


def table_param(request: Request, graph: ProcessorGraph) -> str | None:
    return choice_param(request, "table", [graph.specs[n].output_table for n in graph.order])


def page_param(request: Request) -> Page:
    limit = request.param("limit") or "50"
    if limit not in {str(p) for p in PAGE_SIZES}:
        raise ConfigError(f"limit {limit!r}: use one of {', '.join(map(str, PAGE_SIZES))}")
    page = count_param(request, "page", 1)
    if page < 1:
        raise ConfigError(f"page {page} is not a page number (1, 2, ...)")
    return Page(int(limit), (page - 1) * int(limit))
