"""The checklist of every phase transition, computed from evidence only: the control plane's
records (cycles, parity, signoffs, incidents), the flags, the league calendar and files on disk.
Nothing here is typed in by an operator except the signoffs, which are who said what, when.

Words:
- league calendar: every game day of the archive, what the league schedules ahead and what its logs
  show (serve.calendar.archive_game_days), not only the days the warehouse has published so far.
- game-week: a Monday-to-Sunday week with at least one game day in the league calendar. It is
  *full* for a cycle mode when every game day of the week has a cycle of that mode recorded since
  the track entered its current phase: a week entered after its first game day, or still under
  way, is not.
- dense day: at least `DENSE_DAY_GAMES` games; sparse day: at most `SPARSE_DAY_GAMES`.
- divergence rate: rows that diverged over rows compared, over the shadow cycles of the phase.
- open incident: one recorded against the track and not resolved.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from nbadb.config import PROJECT_ROOT
from nbadb.rollout import tracks
from nbadb.rollout.control import SEVERITIES, CycleMode, EvidenceItem, phase_entered_at, phase_of
from nbadb.rollout.flags import SHADOW_FLAG, DUAL_WRITE_FLAG, TRACK_FLAGS, StrategicFlags

SHADOW_GAME_WEEKS = 2
DUAL_WRITE_GAME_WEEKS = 4
MAX_DIVERGENCE_PCT = 0.1
REVIEWERS = 2
BUSY_DAY_GAMES = 15
DENSE_DAY_GAMES = 10
SPARSE_DAY_GAMES = 4
SIGNOFF_ITEMS = {"plan": "the migration plan is acknowledged (0→1)", "review": "a reviewer signs off (1→2)",
                 "operations": "operations sign off (2→3)"}
RUNBOOKS = PROJECT_ROOT / "docs" / "rollout"


def runbook(track: str) -> Path:
    return RUNBOOKS / f"{track}-rollback.md"


def _item(item: str, required: str, observed: object, met: bool) -> EvidenceItem:
    return EvidenceItem(item, required, str(observed), bool(met))


def full_game_weeks(con: duckdb.DuckDBPyConnection, track: str, mode: CycleMode, since: datetime | None,
                    calendar: Collection[date]) -> int:
    """Full game-weeks of `mode` cycles recorded since `since` (module docstring)."""
    covered = {d for (d,) in con.execute(
        "SELECT DISTINCT game_day FROM ops.rollout_cycles WHERE track = ? AND mode = ? AND recorded_at >= ?",
        [track, mode, since or datetime.min]).fetchall()}
    weeks: dict[date, list[date]] = {}
    for day in calendar:
        weeks.setdefault(day - timedelta(days=day.weekday()), []).append(day)
    return sum(all(d in covered for d in days) for days in weeks.values())


def _cycles(con: duckdb.DuckDBPyConnection, track: str, mode: CycleMode, since: datetime | None) -> tuple:
    return con.execute(
        """SELECT coalesce(sum(rows_compared), 0), coalesce(sum(rows_divergent), 0),
                  coalesce(max(games), 0), count(*) FILTER (WHERE games >= ?), count(*) FILTER (WHERE games BETWEEN 1 AND ?)
        FROM ops.rollout_cycles WHERE track = ? AND mode = ? AND recorded_at >= ?""",
        [DENSE_DAY_GAMES, SPARSE_DAY_GAMES, track, mode, since or datetime.min]).fetchall()[0]


def _signers(con: duckdb.DuckDBPyConnection, track: str, item: str, since: datetime | None) -> list[str]:
    return [a for (a,) in con.execute(
        "SELECT DISTINCT actor FROM ops.rollout_audit WHERE track = ? AND action = 'signoff' AND item = ? "
        "AND recorded_at >= ? ORDER BY 1", [track, item, since or datetime.min]).fetchall()]


def _incidents(con: duckdb.DuckDBPyConnection, track: str, since: datetime | None, severities: tuple[str, ...],
               open_only: bool) -> list[str]:
    resolved = ("AND audit_id NOT IN (SELECT resolves FROM ops.rollout_audit WHERE action = 'resolve' "
                "AND resolves IS NOT NULL)" if open_only else "")
    return [f"{i} {s}" for i, s in con.execute(
        f"SELECT audit_id, severity FROM ops.rollout_audit WHERE track = ? AND action = 'incident' "
        f"AND recorded_at >= ? AND list_contains(?, severity) {resolved} ORDER BY recorded_at",
        [track, since or datetime.min, list(severities)]).fetchall()]


def _latest_parity(con: duckdb.DuckDBPyConnection, track: str, since: datetime | None) -> list[tuple[str, int]]:
    """Each table's divergent rows in its latest parity since `since`."""
    return con.execute(
        """SELECT table_name, only_legacy + only_strategic + differing_rows FROM ops.rollout_parity
        WHERE track = ? AND recorded_at >= ?
        QUALIFY row_number() OVER (PARTITION BY table_name ORDER BY recorded_at DESC) = 1 ORDER BY 1""",
        [track, since or datetime.min]).fetchall()


def compatibility(con: duckdb.DuckDBPyConnection, track: str, to_phase: int, calendar: Collection[date]) -> EvidenceItem:
    """The compatibility matrix's rule for entering `to_phase` (rollout.tracks)."""
    rule = tracks.RULES[(track, to_phase)]
    if rule.kind == "after":
        reached = phase_of(con, rule.track)
        return _item("compatibility", rule.describe(), f"{rule.track} is in phase {reached}", reached >= rule.phase)
    if rule.kind == "exclusive":
        retiring = [t for t in tracks.TRACKS if t != track and phase_of(con, t) == 3
                    and full_game_weeks(con, t, "strategic", phase_entered_at(con, t), calendar) < tracks.SETTLE_GAME_WEEKS]
        return _item("compatibility", f"{rule.describe()} (another track's retirement settled after "
                     f"{tracks.SETTLE_GAME_WEEKS} full game-week)", f"retiring: {', '.join(retiring) or 'none'}",
                     not retiring)
    return _item("compatibility", rule.describe(), "no other track constrains it", True)


def _flags_present(flags: StrategicFlags, *names: str) -> EvidenceItem:
    """Evidence that the phase's flags are all true; what it observes names those still off."""
    off = [n for n in names if not flags.enabled(n)]
    return _item("flags_present", f"{' and '.join(names)} true", f"false: {', '.join(off)}" if off else "all true",
                 not off)


def advance_items(con: duckdb.DuckDBPyConnection, track: str, flags: StrategicFlags, calendar: Collection[date],
                  flag_path: EvidenceItem) -> list[EvidenceItem]:
    """The checklist for moving `track` from its phase to the next (`calendar`: the league calendar's
    game days; `flag_path`: the track's own check of its strategic path, rollout.transitions)."""
    phase = phase_of(con, track)
    since = phase_entered_at(con, track)
    to_phase = phase + 1
    items = [compatibility(con, track, to_phase, calendar)]
    track_flag = TRACK_FLAGS[track]
    if to_phase == 1:
        items += [_flags_present(flags, track_flag, SHADOW_FLAG),
                  flag_path,
                  _item("plan_acknowledged", "a `plan` signoff", ", ".join(_signers(con, track, "plan", since)) or "none",
                        bool(_signers(con, track, "plan", since)))]
    elif to_phase == 2:
        compared, divergent, *_ = _cycles(con, track, "shadow", since)
        rate = 100.0 * divergent / compared if compared else None
        weeks = full_game_weeks(con, track, "shadow", since, calendar)
        incidents = _incidents(con, track, since, ("P0", "P1"), open_only=False)
        reviewers = _signers(con, track, "review", since)
        book = runbook(track)
        items += [_flags_present(flags, track_flag, DUAL_WRITE_FLAG),
                  _item("shadow_game_weeks", f">= {SHADOW_GAME_WEEKS} full game-weeks of shadow", weeks,
                        weeks >= SHADOW_GAME_WEEKS),
                  _item("divergence_rate", f"< {MAX_DIVERGENCE_PCT}% of rows compared",
                        "no rows compared" if rate is None else f"{rate:.4f}% ({divergent} of {compared})",
                        rate is not None and rate < MAX_DIVERGENCE_PCT),
                  _item("no_p0_p1_incident", "no P0/P1 incident recorded in phase 1", ", ".join(incidents) or "none",
                        not incidents),
                  _item("reviewer_signoffs", f">= {REVIEWERS} distinct `review` signoffs", ", ".join(reviewers) or "none",
                        len(reviewers) >= REVIEWERS),
                  _item("rollback_runbook", f"{book.relative_to(PROJECT_ROOT)} names `nbadb rollout rollback {track}`",
                        "present" if book.is_file() else "missing",
                        book.is_file() and f"nbadb rollout rollback {track}" in book.read_text())]
    elif to_phase == 3:
        _, _, busiest, dense, sparse = _cycles(con, track, "dual_write", since)
        weeks = full_game_weeks(con, track, "dual_write", since, calendar)
        parity = _latest_parity(con, track, since)
        unequal = [f"{t} ({n} rows)" for t, n in parity if n]
        signers = _signers(con, track, "operations", since)
        incidents = _incidents(con, track, None, SEVERITIES, open_only=True)
        items += [_item("dual_write_game_weeks", f">= {DUAL_WRITE_GAME_WEEKS} full game-weeks of dual write", weeks,
                        weeks >= DUAL_WRITE_GAME_WEEKS),
                  _item("dense_and_sparse_schedule", f"a dense day (>= {DENSE_DAY_GAMES} games) and a sparse one "
                        f"(<= {SPARSE_DAY_GAMES})", f"{dense} dense, {sparse} sparse", dense > 0 and sparse > 0),
                  _item("busy_day", f"a day with >= {BUSY_DAY_GAMES} games", f"busiest: {busiest} games",
                        busiest >= BUSY_DAY_GAMES),
                  _item("row_parity", "100% row parity on every table, latest cycle",
                        f"{len(parity)} tables, unequal: {', '.join(unequal) or 'none'}", bool(parity) and not unequal),
                  _item("operations_signoff", "an `operations` signoff", ", ".join(signers) or "none", bool(signers)),
                  _item("no_open_inconsistency", "no unresolved incident", ", ".join(incidents) or "none", not incidents)]
    return items
