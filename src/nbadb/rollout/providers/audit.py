"""The append-only audit of provider rollouts (ops.provider_audit), and the stages read from it.

Every declaration, stage transition and criteria change is one row: who (`actor`), what (`action`,
`from_stage`, `to_stage`, the share and markets of a partial stage), why (`reason`, `forced`), the
criteria and the measured values it was judged on (`criteria`, JSON), when it took effect
(`effective_at`, the instant a replay or backfill reads it at) and when it was recorded. Rows are
only ever inserted: nothing updates, deletes or expires them.

A provider is declared by its first row; its stage at instant T is the `to_stage` of its latest
declaration or transition effective at or before T (`states_at`). A book never declared has no
stage here: the pipeline serves it as it always served every book (pipeline.provider_stages).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import duckdb

from nbadb.pipeline.provider_stages import AUDIT_TABLE, SPORT, Stage
from nbadb.sources.provider_feed import Spans


class Action(StrEnum):
    DECLARE = "declare"
    ADVANCE = "advance"
    ROLLBACK = "rollback"
    SET_CRITERIA = "set_criteria"


TRANSITIONS = (Action.DECLARE, Action.ADVANCE, Action.ROLLBACK)  # the actions that set a stage


@dataclass(frozen=True)
class AuditEntry:
    action: Action
    actor: str
    effective_at: datetime
    sport: str | None = None
    bookmaker: str | None = None
    from_stage: Stage | None = None
    to_stage: Stage | None = None
    share: float | None = None
    markets: tuple[str, ...] | None = None
    forced: bool = False
    reason: str | None = None
    from_date: date | None = None
    criteria: Any = None  # the JSON-able snapshot of what the action was judged on
    seq: int | None = None
    recorded_at: datetime | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "seq": self.seq, "action": str(self.action), "sport": self.sport, "bookmaker": self.bookmaker,
            "from_stage": _label(self.from_stage), "to_stage": _label(self.to_stage),
            "share": self.share, "markets": list(self.markets) if self.markets else None, "forced": self.forced,
            "reason": self.reason, "actor": self.actor, "effective_at": self.effective_at,
            "from_date": self.from_date, "criteria": self.criteria, "recorded_at": self.recorded_at,
        }


@dataclass(frozen=True)
class ProviderState:
    """A declared provider's stage at some instant, and the transition that set it."""

    sport: str
    bookmaker: str
    stage: Stage
    share: float | None
    markets: tuple[str, ...] | None
    since: datetime  # when that transition took effect
    since_date: date  # the first game date it may concern

    @property
    def key(self) -> str:
        return f"{self.sport}:{self.bookmaker}"


_COLUMNS = ("seq, action, sport, bookmaker, from_stage, to_stage, share, markets, forced, reason, actor, "
            "effective_at, from_date, criteria, recorded_at")


def append(con: duckdb.DuckDBPyConnection, entry: AuditEntry) -> AuditEntry:
    """Insert one row (inside the caller's transaction when it has one); returns it as stored (its
    sequence number and the time it was recorded)."""
    seq = con.execute(f"SELECT coalesce(max(seq), 0) + 1 FROM {AUDIT_TABLE}").fetchall()[0][0]
    recorded_at = con.execute(
        f"INSERT INTO {AUDIT_TABLE} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP) "
        "RETURNING recorded_at",
        [seq, str(entry.action), entry.sport, entry.bookmaker, _label(entry.from_stage), _label(entry.to_stage),
         entry.share, list(entry.markets) if entry.markets else None,
         entry.forced, entry.reason, entry.actor, entry.effective_at, entry.from_date,
         None if entry.criteria is None else json.dumps(entry.criteria, default=str)],
    ).fetchall()[0][0]
    return replace(entry, seq=seq, recorded_at=recorded_at)


def _label(stage: Stage | None) -> str | None:
    return None if stage is None else stage.label


def _stage(label: str | None) -> Stage | None:
    return None if label is None else Stage.from_label(label)


def entries(con: duckdb.DuckDBPyConnection, sport: str | None = None, bookmaker: str | None = None) -> list[AuditEntry]:
    """The audit in the order it was written; one provider's rows only when it is named."""
    rows = con.execute(
        f"""SELECT {_COLUMNS} FROM {AUDIT_TABLE}
        WHERE $bookmaker::VARCHAR IS NULL OR (sport = $sport AND bookmaker = $bookmaker) ORDER BY seq""",
        {"sport": sport, "bookmaker": bookmaker},
    ).fetchall()
    return [AuditEntry(seq=r[0], action=Action(r[1]), sport=r[2], bookmaker=r[3], from_stage=_stage(r[4]),
                       to_stage=_stage(r[5]), share=r[6], markets=tuple(r[7]) if r[7] else None, forced=r[8],
                       reason=r[9], actor=r[10], effective_at=r[11], from_date=r[12],
                       criteria=json.loads(r[13]) if r[13] else None, recorded_at=r[14])
            for r in rows]


def states_at(con: duckdb.DuckDBPyConnection, instant: datetime) -> dict[tuple[str, str], ProviderState]:
    """Every declared provider's state at `instant` (declared later: not there)."""
    rows = con.execute(
        f"""SELECT sport, bookmaker, arg_max(struct_pack(stage := to_stage, share := share, markets := markets,
                                                        since := effective_at, since_date := from_date), seq)
        FROM {AUDIT_TABLE} WHERE list_contains($actions, action) AND effective_at <= $instant GROUP BY ALL""",
        {"actions": [str(a) for a in TRANSITIONS], "instant": instant},
    ).fetchall()
    return {(sport, book): ProviderState(sport, book, Stage.from_label(s["stage"]), s["share"],
                                         tuple(s["markets"]) if s["markets"] else None, s["since"], s["since_date"])
            for sport, book, s in rows}


def disabled_spans(con: duckdb.DuckDBPyConnection) -> Spans:
    """Per book of this pipeline's sport, the spans [from, until) its stage was disabled (until None:
    disabled still). A line the book published inside one is not read (sources.provider_feed), at
    whatever clock it is staged: a historical day's lines are read as they were when published."""
    rows = con.execute(
        f"""SELECT bookmaker, effective_at, to_stage FROM {AUDIT_TABLE}
        WHERE sport = ? AND list_contains(?, action) ORDER BY bookmaker, effective_at, seq""",
        [SPORT, [str(a) for a in TRANSITIONS]],
    ).fetchall()
    spans: dict[str, list[tuple[datetime, datetime | None]]] = {}
    since: dict[str, datetime] = {}
    for book, at, stage in rows:
        if Stage.from_label(stage) == Stage.DISABLED:
            since.setdefault(book, at)
        elif book in since:
            spans.setdefault(book, []).append((since.pop(book), at))
    for book, at in since.items():
        spans.setdefault(book, []).append((at, None))
    return {book: tuple(found) for book, found in spans.items()}


def latest_effective(con: duckdb.DuckDBPyConnection, sport: str, bookmaker: str) -> datetime | None:
    """When the provider's latest transition took effect (None: never declared)."""
    return con.execute(
        f"SELECT max(effective_at) FROM {AUDIT_TABLE} WHERE sport = ? AND bookmaker = ? AND list_contains(?, action)",
        [sport, bookmaker, [str(a) for a in TRANSITIONS]],
    ).fetchall()[0][0]
