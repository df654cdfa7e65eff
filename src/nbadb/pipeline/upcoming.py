"""Phase 3, upcoming games: what is known about each game on date D before tip-off.

- analytics.upcoming_team_game_context [team_id, game_date]: one row per team and game on D.
- analytics.upcoming_player_game_context [player_id, game_date]: one row per player expected in a
  game on D.

Point in time: a row for D reads box scores of games strictly before D, injury moves strictly
before D (a move dated D may come after tip-off) and prop-line snapshots taken on or before D.
Windows: "last N days" are the N days before D, [D-N, D-1]; rest_days = days since the previous
counted game (every game but pre-season and All-Star), looked for in the 365 days before D
(null without one); back_to_back = rest_days = 1.

Which games are on D: the games raw.schedule lists for D (pre-season and All-Star games left
out). When raw.schedule has no row at all for D but prop lines exist for games on D (the
bundled 2025-26 lines: that season has no schedule nor box scores in the archive), the games are
derived from the lines: the "Away Team @ Home Team" names are matched to team ids by nickname
(the last word: "LA Clippers" and "Los Angeles Clippers" are both "clippers") through the team
names raw.team_boxscores knows. A derived game is labelled game_source = 'prop_lines', has
game_id "YYYYMMDD/AWYHOM" (the NBA game-code shape, never a 10-digit NBA id), the season of its
date and no season type; its windows are never marked complete, since no schedule says which
games its teams played before.

Who plays on D (the roster rule): every player whose most recent game strictly before D, within
the 365 days before D, was for one of the game's teams; plus every player with a prop line for a
game on D. A player with lines for a game other than his roster-rule game (he was traded) is put
in the game of his lines. His team is the team of his latest game (however long ago) when that
team plays in the game, else unknown (team_id, opponent_team_id and is_home null): the lines do
not say which side a player is on. Players with no game in the lookback and no lines (injured
all year, unsigned) are not expected anywhere.

Injury status as of D: the status of the player's latest injury move strictly before D within
the 365 days before D ('available' after an activation, 'day_to_day', 'out', 'out_for_season'),
'none' without one; when a day holds several moves the most severe counts.
injury_feed_current says whether the injury feed has any move league-wide in the 14 days before
D, so 'none' can be told from "no feed".

Prop lines as of D, per market (pts, reb, ast, fg3m): each book's main line from its latest
snapshot on or before D (among a book's alternate lines, the one whose over and under prices
imply the closest probabilities); line_<market> = median of the books' main lines,
books_<market> = number of books, prop_lines_by_book = {"pts": {"book": line, ...}, ...}.
Only the lines a book's stage serves count, for placing players and for the consensus
(pipeline.provider_stages): every line of a full_active book (and of a book never declared),
a partial_active book's lines in its share of games (and markets), nothing of a book at any other
stage; the stage is the one in force at D's cutoff.

Completeness: window_N_complete is true when every game raw.schedule lists for the team in the
N days before D has its box score (raw.team_boxscores); a player's flags are his team's.

Change detection: a row is exactly the facts it is built from, so each processor's transform
runs for every entity of the dates and the engine signs each row by its canonical hash (no
separate signature query): a correction that changes no fact (points, for these rows that read
only dates and minutes) leaves the rows alone.
"""

from __future__ import annotations

from nbadb.engine.spec import InputSpec, OutputCheck, ProcessorSpec
from nbadb.pipeline.common import GAME_DAY_PATTERNS
from nbadb.pipeline.provider_stages import STAGES_AT_CUTOFF, STAGES_TABLE, serves_sql
from nbadb.pipeline.point_in_time import (
    LOOKBACK_DAYS,
    TEAM_DIRECTORY,
    Columns,
    EXACT,
    as_known,
    counted_games,
    exact,
    nickname_sql,
    season_of_date_sql,
)

WINDOWS = (7, 14)
# Prop markets by the stat they are about (raw.prop_lines.market).
PROP_MARKETS = {"pts": "player_points", "reb": "player_rebounds", "ast": "player_assists", "fg3m": "player_threes"}
INJURY_STATUSES = ("none", "available", "day_to_day", "out", "out_for_season")
_SEVERITY = "CASE status WHEN 'out_for_season' THEN 4 WHEN 'out' THEN 3 WHEN 'day_to_day' THEN 2 ELSE 1 END"

_GAME_COLUMNS: Columns = (
    ("game_id", "VARCHAR"), ("game_date", "DATE"), ("season", "VARCHAR"), ("season_type", "VARCHAR"),
)
_LOAD_COLUMNS: Columns = (
    ("last_game_date", "DATE"), ("rest_days", "INTEGER"), ("back_to_back", "BOOLEAN"),
    *((c, t) for n in WINDOWS for c, t in ((f"games_last_{n}_days", "INTEGER"), (f"minutes_last_{n}_days", "DOUBLE"))),
    *((f"window_{n}_complete", "BOOLEAN") for n in WINDOWS),
)
TEAM_CONTEXT_COLUMNS: Columns = (
    *_GAME_COLUMNS, ("team_id", "BIGINT"), ("team_abbr", "VARCHAR"), ("team_name", "VARCHAR"),
    ("opponent_team_id", "BIGINT"), ("is_home", "BOOLEAN"), ("tip_time_utc", "TIMESTAMP"), ("game_source", "VARCHAR"),
    *_LOAD_COLUMNS,
)
PLAYER_CONTEXT_COLUMNS: Columns = (
    *_GAME_COLUMNS, ("player_id", "BIGINT"), ("player_name", "VARCHAR"), ("team_id", "BIGINT"),
    ("opponent_team_id", "BIGINT"), ("is_home", "BOOLEAN"), ("tip_time_utc", "TIMESTAMP"), ("game_source", "VARCHAR"),
    ("roster_source", "VARCHAR"), *_LOAD_COLUMNS,
    ("injury_status", "VARCHAR"), ("injury_move_date", "DATE"), ("injury_notes", "VARCHAR"),
    ("injury_feed_current", "BOOLEAN"),
    *((c, t) for s in PROP_MARKETS for c, t in ((f"line_{s}", "DOUBLE"), (f"books_{s}", "INTEGER"))),
    ("prop_lines_by_book", "JSON"),
)


def _load(rows: str, key: str, games: str, unreported: str = "") -> str:
    """Per (key, game_date) of `rows`: the latest of `games` (key, game_date, minutes) in the lookback
    before that date, and the games and minutes of each window before it; with `unreported` (key,
    game_date: scheduled games whose box score is not in), how many of those each window holds.
    One pass of windows over the rows and the games in date order."""
    events = [f"SELECT DISTINCT {key}, game_date, 'row' AS kind, NULL::{EXACT} AS minutes FROM ({rows}) r",
              f"SELECT {key}, game_date, 'game', {exact('minutes')} FROM ({games}) g"]
    if unreported:
        events.append(f"SELECT {key}, game_date, 'unreported', NULL FROM ({unreported}) u")
    columns = ["max(game_date) FILTER (WHERE kind = 'game') OVER lookback AS last_game_date"]
    for n in WINDOWS:
        columns += [f"count(*) FILTER (WHERE kind = 'game') OVER last_{n} AS games_last_{n}_days",
                    f"cast(coalesce(sum(minutes) OVER last_{n}, 0) AS DOUBLE) AS minutes_last_{n}_days"]
        if unreported:
            columns.append(f"count(*) FILTER (WHERE kind = 'unreported') OVER last_{n} AS unreported_{n}")
    frames = ", ".join(  # ordered by day number: integer ranges
        f"{name} AS (PARTITION BY {key} ORDER BY game_date - DATE '2000-01-01' RANGE BETWEEN {days} PRECEDING "
        "AND 1 PRECEDING)"
        for name, days in (("lookback", LOOKBACK_DAYS), *((f"last_{n}", n) for n in WINDOWS))
    )
    return f"""SELECT {key}, game_date, {', '.join(columns)}
        FROM ({' UNION ALL '.join(events)}) e
        WINDOW {frames}
        QUALIFY kind = 'row'"""


def _load_select(row: str, last_game: str, load: str, flags: str) -> str:
    """The load columns of output row `row`: rest from `last_game`, the windows from `load` (a `_load`
    row), and the completeness flags from `flags` (SQL with `{n}` standing for the window length)."""
    rest = f"date_diff('day', {last_game}, {row}.game_date)"
    windows = ", ".join(
        f"coalesce({load}.games_last_{n}_days, 0) AS games_last_{n}_days, "
        f"coalesce({load}.minutes_last_{n}_days, 0) AS minutes_last_{n}_days"
        for n in WINDOWS
    )
    complete = ", ".join(f"coalesce({flags.format(n=n)}, false) AS window_{n}_complete" for n in WINDOWS)
    return (f"{last_game} AS last_game_date, {rest} AS rest_days, coalesce({rest} = 1, false) AS back_to_back, "
            f"{windows}, {complete}")


_LOAD_CHECKS = (
    OutputCheck("rest_days at least one day", "rest_days < 1"),
    OutputCheck("back_to_back agrees with rest_days", "back_to_back IS DISTINCT FROM coalesce(rest_days = 1, false)",
                invariant=True),
    OutputCheck(
        "load is never negative and the 7-day window sits inside the 14-day one",
        "least(games_last_7_days, minutes_last_7_days) < 0 "
        "OR games_last_7_days > games_last_14_days OR minutes_last_7_days > minutes_last_14_days",
        invariant=True,
    ),
    OutputCheck("only scheduled games have complete windows",
                "(window_7_complete OR window_14_complete) AND game_source <> 'schedule'", invariant=True),
    OutputCheck("a complete 14-day window has a complete 7-day window", "window_14_complete AND NOT window_7_complete",
                invariant=True),
)


# -- analytics.upcoming_team_game_context ------------------------------------------------------

# A team's window is complete when its game comes from the schedule and no listed game lacks its box score.
_TEAM_WINDOW_COMPLETE = "s.game_source = 'schedule' AND l.unreported_{n} = 0"

# Counted team games of the lookback before the dates, as known.
_TEAM_GAMES = f"""SELECT team_id, game_date, minutes FROM {as_known('raw.team_boxscores')}
    WHERE {counted_games()} AND game_date >= $start - {LOOKBACK_DAYS} AND game_date < $end"""
# Each team's scheduled games of the longest window before the dates whose box score is not in, as known.
_UNREPORTED_GAMES = f"""SELECT l.team_id, l.game_date FROM (
        SELECT game_id, game_date, unnest([home_team_id, away_team_id]) AS team_id FROM {as_known('raw.schedule')}
        WHERE {counted_games()} AND game_date >= $start - {max(WINDOWS)} AND game_date < $end) l
    ANTI JOIN {as_known('raw.team_boxscores')} b ON b.game_id = l.game_id AND b.team_id = l.team_id"""

_TEAM_FACTS = f"""
    WITH teams AS {TEAM_DIRECTORY},
    scheduled AS (
        SELECT s.game_id, s.game_date, s.season, s.season_type, s.home_team_id, s.away_team_id, s.tip_time_utc,
               'schedule' AS game_source
        FROM {as_known('raw.schedule')} s
        WHERE s.game_date BETWEEN $start AND $end AND {counted_games('s')}
    ),
    from_props AS (  -- dates the schedule does not cover: the games of the prop lines known by then
        SELECT strftime(p.game_date, '%Y%m%d') || '/' || a.team_abbr || h.team_abbr AS game_id, p.game_date,
               {season_of_date_sql('p.game_date')} AS season, NULL AS season_type,
               h.team_id AS home_team_id, a.team_id AS away_team_id, min(p.tip_time_utc) AS tip_time_utc,
               'prop_lines' AS game_source
        FROM {as_known('raw.prop_lines')} p
        JOIN teams h ON h.as_of = p.game_date AND h.nickname = {nickname_sql('p.home_team_name')}
        JOIN teams a ON a.as_of = p.game_date AND a.nickname = {nickname_sql('p.away_team_name')}
        WHERE p.game_date BETWEEN $start AND $end AND p.game_date NOT IN (SELECT game_date FROM scheduled)
        GROUP BY p.game_date, h.team_id, a.team_id, h.team_abbr, a.team_abbr
    ),
    games AS (SELECT * FROM scheduled UNION ALL SELECT * FROM from_props),
    sides AS (
        SELECT game_id, game_date, season, season_type, home_team_id AS team_id, away_team_id AS opponent_team_id,
               true AS is_home, tip_time_utc, game_source FROM games
        UNION ALL
        SELECT game_id, game_date, season, season_type, away_team_id, home_team_id, false, tip_time_utc, game_source
        FROM games
    ),
    load AS ({_load('SELECT team_id, game_date FROM sides', 'team_id', _TEAM_GAMES, _UNREPORTED_GAMES)})
    SELECT s.game_id, s.game_date, s.season, s.season_type, s.team_id, t.team_abbr, t.team_name, s.opponent_team_id,
           s.is_home, s.tip_time_utc, s.game_source,
           {_load_select('s', 'l.last_game_date', 'l', _TEAM_WINDOW_COMPLETE)}
    FROM sides s
    LEFT JOIN teams t ON t.as_of = s.game_date AND t.team_id = s.team_id
    LEFT JOIN load l ON l.team_id = s.team_id AND l.game_date = s.game_date
    QUALIFY row_number() OVER (PARTITION BY s.team_id, s.game_date ORDER BY s.game_id) = 1"""

UPCOMING_TEAM_GAME_CONTEXT = ProcessorSpec(
    name="analytics.upcoming_team_game_context",
    phase=3,
    inputs=(
        InputSpec("raw.schedule", required=False),
        InputSpec("raw.team_boxscores", required=False, lag_days=1),
        InputSpec("raw.prop_lines", date_column="game_date", required=False, read_on_its_date=True),
    ),
    entity_key="team_id",
    propagation="following_dates",
    patterns=GAME_DAY_PATTERNS,
    kind="as_of",
    description="Each team's game on D as known before tip-off: opponent, home, rest, load, window completeness.",
    transform_sql=_TEAM_FACTS,  # a row is the facts it is built from: its own signature
    checks=(
        *_LOAD_CHECKS,
        OutputCheck("every team row names its team and opponent", "team_id IS NULL OR opponent_team_id IS NULL"),
        OutputCheck("game source is a known label", "game_source NOT IN ('schedule', 'prop_lines')", invariant=True),
    ),
)

# -- analytics.upcoming_player_game_context ----------------------------------------------------


def _implied_probability(odds: str) -> str:
    """The probability an American price implies (-110 -> 0.524, +120 -> 0.455)."""
    return f"CASE WHEN {odds} < 0 THEN -{odds} / (100.0 - {odds}) ELSE 100.0 / ({odds} + 100.0) END"


# How far a line's over and under prices are from an even split (null without both prices).
_PRICE_GAP = f"abs({_implied_probability('over_odds')} - {_implied_probability('under_odds')})"
# A book's main line for a player and market is the one with the greatest key: latest snapshot first,
# then the closest prices, then the lower line.
MAIN_LINE_ORDER = f"(snapshot_date, coalesce(snapshot_ts, snapshot_date), -coalesce({_PRICE_GAP}, 1), -line)"
# Prop lines known by D's cutoff for games on D, each with its game (the home side's row of a `tc` CTE
# holding the team context of the dates).
LINES_WITH_GAMES = f"""
    SELECT p.*, t.game_id FROM {as_known('raw.prop_lines')} p
    JOIN tc t ON t.game_date = p.game_date AND t.is_home
             AND {nickname_sql('t.team_name')} = {nickname_sql('p.home_team_name')}
    WHERE p.game_date BETWEEN $start AND $end"""


def _by_book_json() -> str:
    """{"pts": {"book": line, ...}, ...} over book_lines rows (null inside for a market without lines)."""
    def market(m: str) -> str:
        where = f"FILTER (WHERE market = '{m}')"
        return f"to_json(map(list(bookmaker ORDER BY bookmaker) {where}, list(line ORDER BY bookmaker) {where}))"
    return "json_object(" + ", ".join(f"'{s}', {market(m)}" for s, m in PROP_MARKETS.items()) + ")"


_PLAYER_FACTS = f"""
    WITH tc AS (SELECT * FROM analytics.upcoming_team_game_context WHERE game_date BETWEEN $start AND $end),
    days AS (SELECT DISTINCT game_date FROM tc),
    box AS (SELECT * FROM {as_known('raw.player_boxscores')} WHERE game_date BETWEEN $start - {LOOKBACK_DAYS} AND $end),
    next_days AS (  -- each player's game dates in the lookback with the next one (far future for none)
        SELECT player_id, game_date,
               coalesce(lead(game_date) OVER (PARTITION BY player_id ORDER BY game_date), DATE '9999-12-31')
                   AS next_game_date
        FROM (SELECT DISTINCT player_id, game_date FROM box)
    ),
    day_index AS (SELECT game_date, row_number() OVER (ORDER BY game_date) AS i FROM days),
    spans AS (  -- the dates each game is the player's most recent one for: after it, up to his next one
        SELECT p.player_id, p.game_date, p.team_id, p.player_name, f.i AS first_i, l.i AS last_i
        FROM (SELECT * FROM box JOIN next_days USING (player_id, game_date)) p
        ASOF JOIN day_index f ON p.game_date < f.game_date
        ASOF JOIN day_index l ON least(p.next_game_date, p.game_date + {LOOKBACK_DAYS}) >= l.game_date
    ),
    recent AS (  -- each player's most recent game in the lookback before D
        SELECT d.game_date, p.player_id, p.game_date AS last_game_date, p.team_id AS last_team_id, p.player_name
        FROM (SELECT *, unnest(range(first_i, last_i + 1)) AS i FROM spans WHERE first_i <= last_i) p
        JOIN day_index d USING (i)
    ),
    roster AS (  -- the roster rule: the team of his most recent game plays on D
        SELECT r.*, t.game_id FROM recent r JOIN tc t ON t.game_date = r.game_date AND t.team_id = r.last_team_id
    ),
    stages AS {STAGES_AT_CUTOFF},
    lines AS (  -- prop lines known by D's cutoff for games on D, with their game: those the book's stage serves
        SELECT l.* FROM ({LINES_WITH_GAMES}) l
        LEFT JOIN stages st ON st.game_date = l.game_date AND st.bookmaker = l.bookmaker
        WHERE {serves_sql('st', 'l.bookmaker', 'l.game_id', 'l.market')}
    ),
    prop_games AS (SELECT game_date, player_id, game_id, min(player_name) AS player_name FROM lines GROUP BY ALL),
    options AS (
        SELECT coalesce(r.game_date, g.game_date) AS game_date, coalesce(r.player_id, g.player_id) AS player_id,
               coalesce(r.game_id, g.game_id) AS game_id, r.last_game_date, r.last_team_id,
               coalesce(r.player_name, g.player_name) AS player_name,
               CASE WHEN r.game_id IS NULL THEN 'prop_line' ELSE 'last_game' END AS roster_source,
               CASE WHEN r.game_id IS NOT NULL AND g.game_id IS NOT NULL THEN 0
                    WHEN g.game_id IS NOT NULL THEN 1 ELSE 2 END AS preference
        FROM roster r FULL JOIN prop_games g
          ON g.player_id = r.player_id AND g.game_date = r.game_date AND g.game_id = r.game_id
    ),
    candidates AS (  -- one game per player and date: a game he has lines for wins over the roster rule alone
        SELECT DISTINCT ON (player_id, game_date) * FROM options ORDER BY player_id, game_date, preference, game_id
    ),
    returners AS (  -- players placed by their lines alone: their most recent game before D, however long ago
        SELECT c.player_id, c.game_date, b.game_date AS last_game_date, b.team_id AS last_team_id, b.player_name
        FROM (SELECT * FROM candidates WHERE roster_source = 'prop_line') c
        ASOF JOIN {as_known('raw.player_boxscores')} b ON b.player_id = c.player_id AND b.game_date < c.game_date
    ),
    placed AS (
        SELECT c.game_id, c.game_date, c.player_id, c.roster_source,
               coalesce(b.player_name, c.player_name) AS player_name,
               coalesce(b.last_game_date, c.last_game_date) AS last_game_date,
               coalesce(b.last_team_id, c.last_team_id) AS last_team_id
        FROM candidates c LEFT JOIN returners b ON b.player_id = c.player_id AND b.game_date = c.game_date
    ),
    load AS ({_load('SELECT player_id, game_date FROM placed', 'player_id', 'SELECT * FROM box')}),
    moves AS (  -- each player's injury moves per day as one move: the most severe of the day
        SELECT player_id, move_date AS game_date,
               arg_max({{'move_date': move_date, 'status': status, 'notes': notes}}, ({_SEVERITY}, notes)) AS move
        FROM {as_known('raw.injuries')} WHERE move_date BETWEEN $start - {LOOKBACK_DAYS} AND $end
        GROUP BY ALL
    ),
    feed AS (  -- whether the injury feed has any move league-wide in the 14 days before D
        SELECT d.game_date, count(m.game_date) > 0 AS injury_feed_current
        FROM days d LEFT JOIN (SELECT DISTINCT game_date FROM moves) m
          ON m.game_date < d.game_date AND m.game_date >= d.game_date - 14
        GROUP BY ALL
    ),
    book_lines AS (  -- each book's main line per market from its latest snapshot
        SELECT game_date, player_id, game_id, market, bookmaker,
               arg_max(line, {MAIN_LINE_ORDER}) AS line
        FROM lines
        WHERE market IN ({', '.join(f"'{m}'" for m in PROP_MARKETS.values())}) AND line IS NOT NULL
        GROUP BY ALL
    ),
    props AS (
        SELECT game_date, player_id, game_id,
               {', '.join(f"median(line) FILTER (WHERE market = '{m}') AS line_{s}, "
                          f"count(*) FILTER (WHERE market = '{m}') AS books_{s}" for s, m in PROP_MARKETS.items())},
               {_by_book_json()} AS prop_lines_by_book
        FROM book_lines GROUP BY ALL
    ),
    injury AS (  -- the latest move before D in the lookback
        SELECT c.player_id, c.game_date, m.move FROM placed c
        ASOF JOIN moves m ON m.player_id = c.player_id AND m.game_date < c.game_date
        WHERE m.game_date >= c.game_date - {LOOKBACK_DAYS}
    )
    SELECT c.game_id, c.game_date, g.season, g.season_type, c.player_id, c.player_name,
           mine.team_id, mine.opponent_team_id, mine.is_home, g.tip_time_utc, g.game_source, c.roster_source,
           {_load_select('c', 'c.last_game_date', 'l', 'mine.window_{n}_complete')},
           coalesce(i.move.status, 'none') AS injury_status, i.move.move_date AS injury_move_date,
           i.move.notes AS injury_notes, f.injury_feed_current,
           {', '.join(f"pr.line_{s}, coalesce(pr.books_{s}, 0) AS books_{s}" for s in PROP_MARKETS)},
           pr.prop_lines_by_book
    FROM placed c
    JOIN tc g ON g.game_id = c.game_id AND g.is_home
    LEFT JOIN tc mine ON mine.game_id = c.game_id AND mine.team_id = c.last_team_id
    LEFT JOIN load l ON l.player_id = c.player_id AND l.game_date = c.game_date
    LEFT JOIN injury i ON i.player_id = c.player_id AND i.game_date = c.game_date
    LEFT JOIN feed f ON f.game_date = c.game_date
    LEFT JOIN props pr ON pr.player_id = c.player_id AND pr.game_date = c.game_date AND pr.game_id = c.game_id"""

UPCOMING_PLAYER_GAME_CONTEXT = ProcessorSpec(
    name="analytics.upcoming_player_game_context",
    phase=3,
    inputs=(
        InputSpec(UPCOMING_TEAM_GAME_CONTEXT.name),
        InputSpec("raw.player_boxscores", required=False, lag_days=1),
        InputSpec("raw.injuries", date_column="move_date", required=False, lag_days=1),
        InputSpec("raw.prop_lines", date_column="game_date", required=False, read_on_its_date=True),
        InputSpec(STAGES_TABLE, date_column="from_date", required=False),
    ),
    entity_key="player_id",
    propagation="following_dates",
    patterns=GAME_DAY_PATTERNS,
    kind="as_of",
    description="Each player expected in a game on D as known before tip-off: rest, load, injury status, prop lines.",
    transform_sql=_PLAYER_FACTS,  # a row is the facts it is built from: its own signature
    checks=(
        *_LOAD_CHECKS,
        OutputCheck("injury status is a known label", f"injury_status NOT IN {INJURY_STATUSES}", invariant=True),
        OutputCheck("roster source is a known label", "roster_source NOT IN ('last_game', 'prop_line')", invariant=True),
        OutputCheck("only prop-line players may lack a team", "team_id IS NULL AND roster_source <> 'prop_line'"),
        OutputCheck("prop lines are never negative",
                    f"least({', '.join(f'line_{s}' for s in PROP_MARKETS)}) < 0"),
        OutputCheck("a consensus line exactly when some book has a line",
                    " OR ".join(f"(line_{s} IS NULL) <> (books_{s} = 0)" for s in PROP_MARKETS), invariant=True),
    ),
)

UPCOMING_PROCESSORS: tuple[ProcessorSpec, ...] = (UPCOMING_TEAM_GAME_CONTEXT, UPCOMING_PLAYER_GAME_CONTEXT)
