"""The HTTP API under /api/v1/ (GET /api/v1 lists its endpoints): the views of the dashboard as JSON
(read-only), a run's explanation and manifest, the pipeline's tables a page at a time (serve.tables),
and two control actions that need the bearer token of NBADB_API_TOKEN:

- POST /api/v1/control/cycles  {"kind": "morning" | "night" | "health" | "weekly", "day": "YYYY-MM-DD"}:
  queue that cycle (202); it runs after any cycle in progress;
- POST /api/v1/control/breakers/{key}/reset: close a breaker.

Without NBADB_API_TOKEN set, control actions are refused (403). The token is compared in constant
time and never echoed, logged or stored.
"""

from __future__ import annotations

import hmac
import json
from datetime import date
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import unquote

from nbadb.errors import ConfigError
from nbadb.orchestrate.manifests import manifest_dir, read_manifest
from nbadb.serve import tables, views
from nbadb.serve.filters import count_param, date_param
from nbadb.serve.http import HttpError, Request, Response
from nbadb.serve.plan import Cycle, CycleKind

if TYPE_CHECKING:
    from nbadb.serve.app import ServeApp

PREFIX = "/api/v1"
READ_VIEWS: dict[str, Callable[[ServeApp, Request], dict[str, Any]]] = {
    "overview": views.overview, "runs": views.runs, "waste": views.waste, "patterns": views.patterns,
    "breakers": views.breakers, "gaps": views.gaps, "freshness": views.freshness, "quarantine": views.quarantine,
    "backfill": views.backfill, "predictions": views.predictions, "evaluation": views.evaluation,
    "health": views.health, "alerts": views.alerts, "schedule": views.schedule,
}


def authorize(app: ServeApp, request: Request) -> None:
    secret = app.settings.api_token
    if secret is None or not secret.get_secret_value():
        raise HttpError(HTTPStatus.FORBIDDEN, "control actions are off: start nbadb serve with NBADB_API_TOKEN set")
    given = request.headers.get("authorization", "")
    expected = f"Bearer {secret.get_secret_value()}"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HttpError(HTTPStatus.UNAUTHORIZED, "control actions need the header Authorization: Bearer <NBADB_API_TOKEN>")


def _json_body(request: Request) -> dict[str, Any]:
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        raise ConfigError("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise ConfigError("the body must be a JSON object")
    return payload


def parse_cycle_request(payload: dict[str, Any]) -> tuple[str, date]:
    """A control request for a cycle: {"kind": "morning" | "night" | "health" | "weekly", "day": "YYYY-MM-DD"}."""
    unknown = sorted(set(payload) - {"kind", "day"})
    if unknown:
        raise ConfigError(f"unknown field {', '.join(map(repr, unknown))}; a cycle request has kind and day")
    kind, day = payload.get("kind"), payload.get("day")
    if kind not in {str(k) for k in CycleKind}:
        raise ConfigError(f"kind {kind!r}: use one of {', '.join(map(str, CycleKind))}")
    try:
        if not isinstance(day, str):
            raise ValueError(day)
        return kind, date.fromisoformat(day)
    except ValueError:
        raise ConfigError(f"day {day!r} is not a date; use YYYY-MM-DD") from None


def queue_cycle(app: ServeApp, request: Request, _: dict[str, str]) -> Response:
    authorize(app, request)
    kind, day = parse_cycle_request(_json_body(request))
    cycle = Cycle(app.clock(), CycleKind(kind), day)
    app.submit(cycle)
    return Response.json({"queued": cycle.as_dict()}, HTTPStatus.ACCEPTED)


def reset_breaker(app: ServeApp, request: Request, path: dict[str, str]) -> Response:
    authorize(app, request)
    breaker = app.reset_breaker(unquote(path["key"]))
    return Response.json({"key": breaker.key, "kind": breaker.kind, "state": breaker.state})


def table_rows(app: ServeApp, request: Request, table: str) -> Response:
    """GET /api/v1/tables/{table}: a page of its rows (serve.tables), read on a reader of the warehouse."""
    first, last = date_param(request, "from"), date_param(request, "to")
    limit = count_param(request, "limit", tables.DEFAULT_LIMIT)
    offset = count_param(request, "offset", 0)
    with app.readers.reader() as con:
        return Response.json(tables.table_answer(con, app.ws.graph, unquote(table), first, last, limit, offset))


def table_index(app: ServeApp) -> Response:
    with app.readers.reader() as con:
        return Response.json({"tables": tables.table_list(con, app.ws.graph)})


def _as_json(app: ServeApp, view: Callable[[ServeApp, Request], dict[str, Any]]) -> Callable[[Request, dict[str, str]], Response]:
    return lambda request, _: Response.json(view(app, request))


def routes(app: ServeApp) -> list[tuple[str, str, Callable[[Request, dict[str, str]], Response]]]:
    found = [("GET", f"{PREFIX}/{name}", _as_json(app, view)) for name, view in READ_VIEWS.items()]
    found += [
        ("GET", f"{PREFIX}/runs/{{run_id}}", lambda request, path: Response.json(views.run_detail(app, request, path["run_id"]))),
        ("GET", f"{PREFIX}/tables", lambda request, path: table_index(app)),
        ("GET", f"{PREFIX}/tables/{{table}}", lambda request, path: table_rows(app, request, path["table"])),
        ("GET", f"{PREFIX}/manifests/{{manifest_id}}", lambda request, path: Response.json(
            read_manifest(manifest_dir(app.settings.data_dir), path["manifest_id"]))),
        ("POST", f"{PREFIX}/control/cycles", lambda request, path: queue_cycle(app, request, path)),
        ("POST", f"{PREFIX}/control/breakers/{{key}}/reset", lambda request, path: reset_breaker(app, request, path)),
    ]
    index = {"endpoints": [{"method": method, "path": path} for method, path, _ in found]}
    return [("GET", PREFIX, lambda request, _: Response.json(index)), *found]
