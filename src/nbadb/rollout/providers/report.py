"""What `nbadb providers list|show` (and the dashboard) say about providers, read from the warehouse.

The providers are every declared one (any sport) and every NBA book the warehouse has read lines
from or the feed offered lines from, declared or not (a book never declared is served in full, as
nbadb always served every book). Each is shown at an instant (the warehouse clock): its stage, the
transition that set it, its lines, its latest telemetry day, and its next stage's criteria judged
there and then. `detail` adds the audit trail and the telemetry per game day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb

from nbadb.engine.calendar import LeagueCalendar
from nbadb.pipeline.provider_stages import SPORT, Stage
from nbadb.pipeline.provider_telemetry import PROVIDER_TELEMETRY
from nbadb.rollout.providers import audit, gate, metrics
from nbadb.rollout.providers.audit import AuditEntry, ProviderState
from nbadb.sources.provider_feed import FEED_TABLE


@dataclass
class ProviderSummary:
    sport: str
    bookmaker: str
    declared: bool
    stage: Stage
    share: float | None
    markets: tuple[str, ...] | None
    since: datetime | None
    lines_read: int
    last_game_day: date | None
    next_stage: Stage | None
    judgements: list[gate.Judgement] = field(default_factory=list)

    @property
    def criteria_passed(self) -> int:
        return sum(j.passed for j in self.judgements)

    def as_dict(self) -> dict[str, object]:
        return {"sport": self.sport, "bookmaker": self.bookmaker, "declared": self.declared, "stage": self.stage.label,
                "share": self.share, "markets": list(self.markets) if self.markets else None, "since": self.since,
                "lines_read": self.lines_read, "last_game_day": self.last_game_day,
                "next_stage": self.next_stage.label if self.next_stage else None,
                "next_stage_criteria": [j.as_dict() for j in self.judgements]}


@dataclass
class ProviderDetail:
    summary: ProviderSummary
    audit: list[AuditEntry]
    telemetry: list[dict[str, object]]  # per game day: its counts and metrics, newest first

    def as_dict(self) -> dict[str, object]:
        return {**self.summary.as_dict(), "audit": [e.as_dict() for e in self.audit], "telemetry": self.telemetry}


def _books_seen(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, date | None]]:
    """Every NBA book with lines read or offered: (lines read, latest telemetry day)."""
    rows = con.execute(
        f"""WITH books AS (SELECT bookmaker FROM raw.prop_lines UNION SELECT bookmaker FROM {FEED_TABLE} WHERE sport = ?
                           UNION SELECT bookmaker FROM {PROVIDER_TELEMETRY.name})
        SELECT b.bookmaker, (SELECT count(*) FROM raw.prop_lines p WHERE p.bookmaker = b.bookmaker),
               (SELECT max(game_date) FROM {PROVIDER_TELEMETRY.name} t WHERE t.bookmaker = b.bookmaker)
        FROM books b""",
        [SPORT],
    ).fetchall()
    return {book: (lines, last) for book, lines, last in rows}


def _summary(con: duckdb.DuckDBPyConnection, sport: str, bookmaker: str, state: ProviderState | None,
             seen: tuple[int, date | None], calendar: LeagueCalendar, instant: datetime) -> ProviderSummary:
    stage = state.stage if state else Stage.FULL_ACTIVE
    judgements = gate.judge(con, state, calendar, instant) if state and sport == SPORT else []
    return ProviderSummary(sport, bookmaker, state is not None, stage, state.share if state else None,
                           state.markets if state else None, state.since if state else None, seen[0], seen[1],
                           stage.next if state else None, judgements)


def overview(con: duckdb.DuckDBPyConnection, calendar: LeagueCalendar, instant: datetime) -> list[ProviderSummary]:
    """Every provider at `instant`, by sport and book."""
    states = audit.states_at(con, instant)
    seen = _books_seen(con)
    keys = sorted(set(states) | {(SPORT, book) for book in seen})
    return [_summary(con, sport, book, states.get((sport, book)), seen.get(book, (0, None)) if sport == SPORT
                     else (0, None), calendar, instant) for sport, book in keys]


def detail(con: duckdb.DuckDBPyConnection, sport: str, bookmaker: str, calendar: LeagueCalendar, instant: datetime,
           days: int) -> ProviderDetail | None:
    """One provider at `instant` with its audit and its last `days` game days of telemetry (None: unknown)."""
    state = audit.states_at(con, instant).get((sport, bookmaker))
    seen = _books_seen(con).get(bookmaker) if sport == SPORT else None
    if state is None and seen is None and not audit.entries(con, sport, bookmaker):
        return None
    summary = _summary(con, sport, bookmaker, state, seen or (0, None), calendar, instant)
    telemetry = []
    if sport == SPORT:
        rows = con.execute(
            f"""SELECT * EXCLUDE (row_hash, run_id, ingested_at) FROM {PROVIDER_TELEMETRY.name}
            WHERE bookmaker = ? ORDER BY game_date DESC LIMIT ?""", [bookmaker, days])
        names = [d[0] for d in rows.description]
        counts = [dict(zip(names, r)) for r in rows.fetchall()]
        measured = metrics.daily(con, bookmaker, [c["game_date"] for c in counts])
        telemetry = [{**c, **measured.get(c["game_date"], {})} for c in counts]
    return ProviderDetail(summary, audit.entries(con, sport, bookmaker), telemetry)
