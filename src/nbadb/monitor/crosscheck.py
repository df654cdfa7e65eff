"""Cross-check two sources of the same facts: game logs against DNP-aware box scores.

For one season, every player who played appears in `raw.player_boxscores` (LeagueGameLog rows,
whole minutes) and, when the box-score file covers the season, in `raw.boxscore_players` (or its
contract v2 mapped to it, rollout.schema) with availability = 'played' (boxscoretraditionalv2,
minutes from "MM:SS"). The two must hold the same
(game_id, player_id) set and the same counting stats. Minutes differ by rounding, so a minute
difference up to 1 is expected and only larger ones are reported, as information.

Nothing is hidden: every row that is on one side only, and every stat that differs, is counted,
and examples name the game, the player and both values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

COMPARED_STATS = ("pts", "reb", "ast", "fg3m", "fgm", "fga", "ftm", "fta", "stl", "blk", "tov")
MINUTE_TOLERANCE = 1.0

V1_BOXSCORES = "raw.boxscore_players"


def _joined(boxscores: str) -> str:
    """SQL: the WITH clause joining the season's log rows and the played rows of `boxscores`."""
    return f"""
    WITH logs AS (
        SELECT game_id, player_id, player_name, team_abbr, minutes, {', '.join(COMPARED_STATS)}
        FROM raw.player_boxscores WHERE season = $season
    ), box AS (
        SELECT game_id, player_id, player_name, team_abbr, minutes, {', '.join(COMPARED_STATS)}
        FROM {boxscores} b WHERE season = $season AND availability = 'played'
    ), joined AS (
        SELECT coalesce(l.game_id, b.game_id) AS game_id, coalesce(l.player_id, b.player_id) AS player_id,
               coalesce(l.player_name, b.player_name) AS player_name,
               coalesce(l.team_abbr, b.team_abbr) AS team_abbr,
               l.game_id IS NOT NULL AS in_logs, b.game_id IS NOT NULL AS in_box,
               l.minutes AS logs_minutes, b.minutes AS box_minutes,
               {', '.join(f'l.{s} AS logs_{s}, b.{s} AS box_{s}' for s in COMPARED_STATS)},
               ({' OR '.join(f'l.{s} IS DISTINCT FROM b.{s}' for s in COMPARED_STATS)}) AS stats_differ
        FROM logs l FULL OUTER JOIN box b ON l.game_id = b.game_id AND l.player_id = b.player_id
    )
"""


@dataclass
class CrosscheckReport:
    """Counts and examples of every difference between the two sources for one season."""

    season: str
    game_log_rows: int
    boxscore_played_rows: int
    boxscore_other_rows: int
    in_both: int
    matched: int
    only_in_game_logs: int
    only_in_boxscores: int
    stat_mismatch_rows: int
    stat_mismatches: dict[str, int]
    minute_diffs_over_tolerance: int
    max_minute_diff: float | None
    game_log_games: int
    boxscore_games: int
    games_only_in_game_logs: int
    games_only_in_boxscores: int
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Same key set on both sides and every compared stat equal (minutes are info only)."""
        return (
            self.in_both > 0
            and self.only_in_game_logs == 0
            and self.only_in_boxscores == 0
            and self.stat_mismatch_rows == 0
        )

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["identical"] = self.identical
        out["compared_stats"] = list(COMPARED_STATS)
        out["minute_tolerance"] = MINUTE_TOLERANCE
        return out


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def crosscheck_season(con: duckdb.DuckDBPyConnection, season: str, *, examples: int = 10,
                      boxscores: str = V1_BOXSCORES) -> CrosscheckReport:
    """Compare raw.player_boxscores with the played rows of the box scores for `season`: `boxscores`,
    a relation in raw.boxscore_players' columns (rollout.schema.boxscores_relation: the contract in use)."""
    p = {"season": season}
    joined = _joined(boxscores)
    mismatch_counts = ", ".join(
        f"count(*) FILTER (WHERE in_logs AND in_box AND logs_{s} IS DISTINCT FROM box_{s}) AS {s}"
        for s in COMPARED_STATS
    )
    summary = _rows(
        con,
        f"""{joined}
        SELECT count(*) FILTER (WHERE in_logs) AS game_log_rows,
               count(*) FILTER (WHERE in_box) AS boxscore_played_rows,
               count(*) FILTER (WHERE in_logs AND in_box) AS in_both,
               count(*) FILTER (WHERE in_logs AND in_box AND NOT stats_differ) AS matched,
               count(*) FILTER (WHERE in_logs AND NOT in_box) AS only_in_game_logs,
               count(*) FILTER (WHERE in_box AND NOT in_logs) AS only_in_boxscores,
               count(*) FILTER (WHERE in_logs AND in_box AND stats_differ) AS stat_mismatch_rows,
               count(*) FILTER (WHERE abs(logs_minutes - box_minutes) > {MINUTE_TOLERANCE}) AS minute_diffs,
               max(abs(logs_minutes - box_minutes)) AS max_minute_diff,
               count(DISTINCT game_id) FILTER (WHERE in_logs) AS game_log_games,
               count(DISTINCT game_id) FILTER (WHERE in_box) AS boxscore_games,
               {mismatch_counts}
        FROM joined""",
        p,
    )[0]
    games = con.execute(
        f"""SELECT count(*) FILTER (WHERE b.game_id IS NULL), count(*) FILTER (WHERE l.game_id IS NULL)
        FROM (SELECT DISTINCT game_id FROM raw.player_boxscores WHERE season = $season) l
        FULL OUTER JOIN (SELECT DISTINCT game_id FROM {boxscores} b WHERE season = $season) b USING (game_id)""",
        p,
    ).fetchall()[0]
    other = con.execute(
        f"SELECT count(*) FROM {boxscores} b WHERE season = $season AND availability <> 'played'", p
    ).fetchall()[0][0]
    report = CrosscheckReport(
        season=season,
        game_log_rows=summary["game_log_rows"],
        boxscore_played_rows=summary["boxscore_played_rows"],
        boxscore_other_rows=other,
        in_both=summary["in_both"],
        matched=summary["matched"],
        only_in_game_logs=summary["only_in_game_logs"],
        only_in_boxscores=summary["only_in_boxscores"],
        stat_mismatch_rows=summary["stat_mismatch_rows"],
        stat_mismatches={s: summary[s] for s in COMPARED_STATS if summary[s]},
        minute_diffs_over_tolerance=summary["minute_diffs"],
        max_minute_diff=summary["max_minute_diff"],
        game_log_games=summary["game_log_games"],
        boxscore_games=summary["boxscore_games"],
        games_only_in_game_logs=games[0],
        games_only_in_boxscores=games[1],
    )
    _add_examples(con, report, p, examples, boxscores)
    _add_notes(report)
    return report


def _add_examples(con: duckdb.DuckDBPyConnection, report: CrosscheckReport, p: dict[str, Any], limit: int,
                  boxscores: str) -> None:
    ident = "game_id, player_id, player_name, team_abbr"
    joined = _joined(boxscores)
    if report.only_in_game_logs:
        # The box score may still list the player, as not playing: say so.
        report.examples["only_in_game_logs"] = _rows(
            con,
            f"""{joined}
            SELECT j.game_id, j.player_id, j.player_name, j.team_abbr, j.logs_minutes AS minutes, j.logs_pts AS pts,
                   bp.availability AS boxscore_availability, bp.comment AS boxscore_comment
            FROM joined j LEFT JOIN {boxscores} bp ON bp.game_id = j.game_id AND bp.player_id = j.player_id
            WHERE j.in_logs AND NOT j.in_box ORDER BY j.game_id, j.player_id LIMIT {limit}""",
            p,
        )
    if report.only_in_boxscores:
        report.examples["only_in_boxscores"] = _rows(
            con,
            f"""{joined} SELECT {ident}, box_minutes AS minutes, box_pts AS pts FROM joined
            WHERE in_box AND NOT in_logs ORDER BY game_id, player_id LIMIT {limit}""",
            p,
        )
    if report.stat_mismatch_rows:
        rows = _rows(
            con,
            f"""{joined} SELECT * FROM joined WHERE in_logs AND in_box AND stats_differ
            ORDER BY game_id, player_id LIMIT {limit}""",
            p,
        )
        report.examples["stat_mismatches"] = [
            {
                "game_id": r["game_id"], "player_id": r["player_id"], "player_name": r["player_name"],
                "team_abbr": r["team_abbr"],
                "differences": {
                    s: {"game_logs": r[f"logs_{s}"], "boxscores": r[f"box_{s}"]}
                    for s in COMPARED_STATS if r[f"logs_{s}"] != r[f"box_{s}"]
                },
            }
            for r in rows
        ]
    if report.minute_diffs_over_tolerance:
        report.examples["minute_diffs"] = _rows(
            con,
            f"""{joined} SELECT {ident}, logs_minutes AS game_logs_minutes, box_minutes AS boxscores_minutes
            FROM joined WHERE abs(logs_minutes - box_minutes) > {MINUTE_TOLERANCE}
            ORDER BY abs(logs_minutes - box_minutes) DESC, game_id, player_id LIMIT {limit}""",
            p,
        )


def _add_notes(report: CrosscheckReport) -> None:
    if not report.game_log_rows and not report.boxscore_played_rows:
        report.notes.append(
            f"neither raw.player_boxscores nor raw.boxscore_players has rows for season {report.season}; "
            f"ingest it first (nbadb ingest --season {report.season})"
        )
    elif not report.boxscore_played_rows:
        report.notes.append(f"raw.boxscore_players has no played rows for season {report.season}: "
                            "the box-score file does not cover it or it was not ingested")
    elif not report.game_log_rows:
        report.notes.append(f"raw.player_boxscores has no rows for season {report.season}")
    if report.games_only_in_game_logs or report.games_only_in_boxscores:
        report.notes.append(
            f"{report.games_only_in_game_logs} games are only in the game logs and "
            f"{report.games_only_in_boxscores} only in the box scores; their players count as one-sided rows"
        )
    if report.minute_diffs_over_tolerance:
        report.notes.append(
            f"info: {report.minute_diffs_over_tolerance} rows differ by more than {MINUTE_TOLERANCE:g} minute "
            "(game logs round minutes; this is not counted as a mismatch)"
        )
