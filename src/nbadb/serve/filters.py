"""Query-string filters shared by the pages and the API, each validated with a one-line error (400)."""

from __future__ import annotations

from datetime import date

from nbadb.engine.dag import ProcessorGraph
from nbadb.errors import ConfigError
from nbadb.serve.http import Request
from nbadb.serve.queries import PAGE_SIZES, Page


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
    page = request.param("page") or "1"
    if limit not in {str(p) for p in PAGE_SIZES}:
        raise ConfigError(f"limit {limit!r}: use one of {', '.join(map(str, PAGE_SIZES))}")
    if not page.isdigit() or int(page) < 1:
        raise ConfigError(f"page {page!r} is not a page number (1, 2, ...)")
    return Page(int(limit), (int(page) - 1) * int(limit))
