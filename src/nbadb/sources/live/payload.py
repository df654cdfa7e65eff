"""Reading an archived body for a parser: JSON decoding, stats.nba.com result sets and nested
fields, game dates in every format the endpoints use, strictly typed frames. Any problem becomes
one MalformedPayloadError naming the endpoint, the archived file and what is wrong."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import polars as pl

from nbadb.sources.live.archive import ArchivedResponse
from nbadb.sources.live.errors import MalformedPayloadError

T = TypeVar("T")
Payload = dict[str, Any]

# "2025-10-21" (leaguegamelog), "2024-04-14T00:00:00" (teamgamelogs, scoreboardv2),
# "2025-10-02T00:00:00Z" (scheduleleaguev2), "Feb 20, 2026" / "APR 14, 2024" (playergamelog,
# teamgamelog; strptime's %b ignores case) and "10/02/2025 00:00:00" (scheduleleaguev2 gameDate).
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%b %d, %Y", "%m/%d/%Y %H:%M:%S")


class PayloadShapeError(ValueError):
    """The payload lacks something its parser needs; the message says what."""


def parse(response: ArchivedResponse, parser: Callable[[Payload], T]) -> T:
    """Decode `response`'s body and run `parser` on it; every failure is a MalformedPayloadError."""
    def malformed(problem: str) -> MalformedPayloadError:
        return MalformedPayloadError(response.endpoint, response.path, problem)

    try:
        payload = json.loads(response.body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both are
        raise malformed(f"not JSON ({exc})") from exc
    if not isinstance(payload, dict):
        raise malformed(f"a JSON {type(payload).__name__}, not an object")
    try:
        return parser(payload)
    except PayloadShapeError as exc:
        raise malformed(str(exc)) from exc
    except (KeyError, IndexError, TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        raise malformed(f"unexpected shape ({type(exc).__name__}: {exc})") from exc


def field(obj: Any, *path: str) -> Any:
    """obj[path[0]][path[1]]…, naming the missing step when there is none."""
    for depth, name in enumerate(path):
        if not isinstance(obj, dict) or name not in obj:
            raise PayloadShapeError(f"no {'.'.join(path[:depth + 1])!r}")
        obj = obj[name]
    return obj


def result_rows(payload: Payload, name: str | None = None) -> list[dict[str, Any]]:
    """The rows of result set `name` (the first when None) as dicts keyed by upper-cased header
    (playergamelog writes `Player_ID`, the others `PLAYER_ID`)."""
    sets = payload.get("resultSets", payload.get("resultSet"))
    if isinstance(sets, dict):
        sets = [sets]
    if not isinstance(sets, list) or not sets:
        raise PayloadShapeError("no 'resultSets'")
    chosen = sets[0] if name is None else next((s for s in sets if isinstance(s, dict) and s.get("name") == name), None)
    if chosen is None:
        raise PayloadShapeError(f"no result set {name!r} (has {[s.get('name') for s in sets if isinstance(s, dict)]})")
    headers, rows = field(chosen, "headers"), field(chosen, "rowSet")
    keys = [str(h).upper() for h in headers]
    bad = next((r for r in rows if not isinstance(r, list) or len(r) != len(keys)), None)
    if bad is not None:
        raise PayloadShapeError(f"a row of {chosen.get('name')!r} does not fit its {len(keys)} headers: {bad!r}"[:300])
    return [dict(zip(keys, row, strict=True)) for row in rows]


def column(rows: list[dict[str, Any]], name: str) -> list[Any]:
    """Every row's value of `name`, or an error naming the missing column."""
    if rows and name not in rows[0]:
        raise PayloadShapeError(f"no column {name!r} (has {sorted(rows[0])})")
    return [row[name] for row in rows]


def game_date(text: str) -> date:
    """A game date in any of the formats stats.nba.com endpoints use."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise PayloadShapeError(f"unrecognised date {text!r}")


def typed_frame(columns: dict[str, list[Any]], schema: pl.Schema) -> pl.DataFrame:
    """A frame of exactly `schema`, each column built strictly: a value of another type is a
    malformed payload, never a silent null."""
    return pl.DataFrame([pl.Series(name, columns[name], dtype=dtype, strict=True) for name, dtype in schema.items()])


def typed_rows(rows: list[dict[str, Any]], schema: pl.Schema) -> pl.DataFrame:
    """typed_frame of row dicts (each holding every column of `schema`)."""
    return typed_frame({name: [row[name] for row in rows] for name in schema}, schema)
