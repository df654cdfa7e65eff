"""Matching ASCII sportsbook / transaction names to NBA player ids, accent-insensitive and team-aware."""

from __future__ import annotations


def name_key_sql(expr: str) -> str:
    """SQL turning a display name into a match key: no accents, case, suffixes or punctuation."""
    return (
        f"regexp_replace(regexp_replace(lower(strip_accents(trim({expr}))), "
        r"'\b(jr|sr|ii|iii|iv)\b\.?', '', 'g'), '[^a-z]', '', 'g')"
    )


def match_players_sql(rows: str, name_col: str, team_hint_sql: str) -> str:
    """SQL adding `matched_player_id` to `rows`: the unique directory player with that name key, or
    among several the one whose team the hint names (most recent season first); NULL when unmatched.

    `team_hint_sql` is a boolean SQL expression over `d.team_name` and the row `r` saying whether
    the directory team fits the row (e.g. the team appears in the game's title). A directory entry
    without a team (a retired or unsigned player, who has no lines and no moves) fits no row and is
    no candidate beside one with a team: Jaren Jackson, retired in 2001, shares his son's name key
    and would otherwise take his lines whenever the directory lists the son on another team.
    """
    return f"""
    WITH r AS (SELECT *, row_number() OVER () AS _rid, {name_key_sql(name_col)} AS _key FROM {rows}),
    cand AS (
        SELECT r._rid, d.player_id, d.season, coalesce(trim(d.team_name), '') <> '' AS has_team,
               has_team AND coalesce(({team_hint_sql}), false) AS team_fits
        FROM r JOIN stage_players d ON d.name_key = r._key
        QUALIFY has_team OR NOT bool_or(has_team) OVER (PARTITION BY r._rid)
    ),
    ranked AS (
        SELECT _rid, player_id,
               count(DISTINCT player_id) OVER (PARTITION BY _rid) AS n_ids,
               row_number() OVER (PARTITION BY _rid ORDER BY team_fits DESC, season DESC) AS rk,
               bool_or(team_fits) OVER (PARTITION BY _rid) AS any_fit
        FROM cand
    ),
    chosen AS (SELECT _rid, player_id FROM ranked WHERE rk = 1 AND (n_ids = 1 OR any_fit))
    SELECT r.* EXCLUDE (_rid, _key), c.player_id AS matched_player_id
    FROM r LEFT JOIN chosen c USING (_rid)"""
