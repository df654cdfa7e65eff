"""Phase 4: precompute.ml_feature_store, the versioned feature rows prediction systems read.

One row per upcoming player-game (analytics.upcoming_player_game_context), joining the player's
form (precompute.player_daily_cache) and composite factors (precompute.player_composite_factors)
for the same as-of date, so every feature inherits their point-in-time guarantee.

- feature_version names the feature list; bump FEATURE_VERSION whenever FEATURES changes.
- Quality of each feature (FEATURES, each read from one source table): missing = null; partial =
  computed from less than its window (fewer prior games than the window, a 7-day load window the
  box scores do not fully cover, no previous game to tell a back-to-back, a team or opponent with
  fewer than 5 games this season, an injury status without a current injury feed); ok otherwise.
  features_missing / features_partial list the names of the missing and partial ones.
- data_quality_score, 0..1: (ok + ½ partial) / number of features.
- missing_sources: the inputs this row had nothing from (SOURCE_GAPS): no game of the player
  before D this season nor last season, no current injury feed, no prop line in any market, no
  team game of the league this season before D.
- can_use_for_ml_training: the row is complete enough to learn from: at least 3 prior games this
  season or a previous season, and data_quality_score at least MIN_TRAINING_QUALITY. Model
  training reads only these rows.
Signature per (player, D): the row hashes of its three input rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbadb.engine.spec import InputSpec, OutputCheck, ProcessorSpec
from nbadb.pipeline.common import GAME_DAY_PATTERNS
from nbadb.pipeline.point_in_time import scoped
from nbadb.pipeline.precompute import FORM_STATS, PLAYER_COMPOSITE_FACTORS, PLAYER_DAILY_CACHE
from nbadb.pipeline.upcoming import PROP_MARKETS, UPCOMING_PLAYER_GAME_CONTEXT

FEATURE_VERSION = "v1"
MIN_TRAINING_GAMES = 3
MIN_TRAINING_QUALITY = 0.3  # a row with only last season's form scores about 0.4
SMALL_TEAM_SAMPLE = 5  # team games this season below which pace and defence factors are partial

_SOURCES = {
    "c": UPCOMING_PLAYER_GAME_CONTEXT.name,
    "k": PLAYER_DAILY_CACHE.name,
    "f": PLAYER_COMPOSITE_FACTORS.name,
}


@dataclass(frozen=True)
class Feature:
    """One feature column: read from input alias `source` (c, k or f); `partial_when` is SQL over the aliases."""

    name: str
    source: str
    partial_when: str = "false"

    @property
    def table(self) -> str:
        return _SOURCES[self.source]

    def quality_code_sql(self) -> str:
        """One character: m(issing), p(artial) or o(k)."""
        return f"CASE WHEN {self.source}.{self.name} IS NULL THEN 'm' WHEN {self.partial_when} THEN 'p' ELSE 'o' END"


def _fewer_games(n: int) -> str:
    return f"k.games_played_season < {n}"


_LOAD_PARTIAL = "NOT c.window_7_complete"
_SMALL_OPPONENT = f"f.opponent_games_before < {SMALL_TEAM_SAMPLE}"

FEATURES: tuple[Feature, ...] = (
    *(Feature(f"{s}_avg_last_{n}", "k", _fewer_games(n)) for s in FORM_STATS for n in (5, 10)),
    *(Feature(f"{s}_avg_season", "k", _fewer_games(10)) for s in FORM_STATS),
    *(Feature(f"{s}_avg_prev_season", "k", "k.games_played_prev_season < 10") for s in FORM_STATS),
    Feature("pts_std_last_10", "k", _fewer_games(10)),
    Feature("usage_rate_avg_last_10", "k", _fewer_games(10)),
    Feature("ts_pct_avg_last_10", "k", _fewer_games(10)),
    Feature("games_played_season", "k"),
    Feature("rest_days", "c"),
    Feature("back_to_back", "c", "c.rest_days IS NULL"),
    Feature("games_last_7_days", "c", _LOAD_PARTIAL),
    Feature("minutes_last_7_days", "c", _LOAD_PARTIAL),
    Feature("fatigue_score", "f", _LOAD_PARTIAL),
    Feature("pace_factor", "f", f"f.team_games_before < {SMALL_TEAM_SAMPLE} OR {_SMALL_OPPONENT}"),
    Feature("usage_spike", "f", _fewer_games(5)),
    Feature("opponent_defense", "f", _SMALL_OPPONENT),
    Feature("injury_status", "c", "NOT c.injury_feed_current"),
    *(Feature(f"line_{s}", "c") for s in PROP_MARKETS),
)

# The source gaps a row records in missing_sources: (input table, SQL true when the row has nothing from it).
SOURCE_GAPS = (
    ("analytics.player_game_summary", "coalesce(k.games_played_season, 0) = 0 AND k.prev_season IS NULL"),
    ("raw.injuries", "NOT coalesce(c.injury_feed_current, false)"),
    ("raw.prop_lines", " AND ".join(f"c.books_{s} = 0" for s in PROP_MARKETS)),
    ("analytics.team_offense_game_summary", "f.league_pace IS NULL"),
)

# The quality columns are built once per distinct quality pattern, not per row: each row gets a key
# with one quality character per feature (in FEATURES order); each distinct key is spelled out against
# the feature catalogue. Few, flat expressions: this SQL is planned on every run.
_QUALITY_KEY = "concat(" + ", ".join(f.quality_code_sql() for f in FEATURES) + ")"
_CATALOGUE = ", ".join(f"({i}, '{f.name}')" for i, f in enumerate(FEATURES, 1))
_QUALITY_OF_KEY = f"""
        list(c.feature ORDER BY c.position) FILTER (WHERE substr(k.quality_key, c.position, 1) = 'm')
            AS features_missing,
        list(c.feature ORDER BY c.position) FILTER (WHERE substr(k.quality_key, c.position, 1) = 'p')
            AS features_partial,
        (count(*) FILTER (WHERE substr(k.quality_key, c.position, 1) = 'o')
         + 0.5 * count(*) FILTER (WHERE substr(k.quality_key, c.position, 1) = 'p')) / {len(FEATURES)}
            AS data_quality_score"""
_MISSING_SOURCES = ("list_filter([" + ", ".join(f"CASE WHEN {gap} THEN '{table}' END" for table, gap in SOURCE_GAPS)
                    + "], s -> s IS NOT NULL)")

_FEATURE_SIGNATURE = f"""
    SELECT c.player_id AS entity_id, c.game_date,
           md5(c.row_hash || '|' || coalesce(k.row_hash, '-') || '|' || coalesce(f.row_hash, '-')) AS part_hash
    FROM {_SOURCES['c']} c
    LEFT JOIN {_SOURCES['k']} k ON k.player_id = c.player_id AND k.game_date = c.game_date
                               AND k.game_date BETWEEN $start AND $end
    LEFT JOIN {_SOURCES['f']} f ON f.player_id = c.player_id AND f.game_date = c.game_date
                               AND f.game_date BETWEEN $start AND $end
    WHERE c.game_date BETWEEN $start AND $end"""

_FEATURE_TRANSFORM = f"""
    WITH features AS (
        SELECT c.player_id, c.game_date, c.game_id, c.season, c.team_id, c.opponent_team_id, c.is_home,
               '{FEATURE_VERSION}' AS feature_version,
               {', '.join(f'{f.source}.{f.name}' for f in FEATURES)},
               coalesce(k.calculation_quality, 'no_prior_games') AS calculation_quality, c.last_game_date,
               coalesce(k.games_played_season, 0) >= {MIN_TRAINING_GAMES} OR k.pts_avg_prev_season IS NOT NULL
                   AS has_history,
               {_MISSING_SOURCES} AS missing_sources,
               {_QUALITY_KEY} AS quality_key
        FROM {scoped(f"SELECT * FROM {_SOURCES['c']} WHERE game_date BETWEEN $start AND $end", 'player_id')} c
        LEFT JOIN {_SOURCES['k']} k ON k.player_id = c.player_id AND k.game_date = c.game_date
        LEFT JOIN {_SOURCES['f']} f ON f.player_id = c.player_id AND f.game_date = c.game_date
    ),
    catalogue(position, feature) AS (VALUES {_CATALOGUE}),
    patterns AS (
        SELECT k.quality_key, {_QUALITY_OF_KEY}
        FROM (SELECT DISTINCT quality_key FROM features) k, catalogue c GROUP BY k.quality_key
    )
    SELECT features.* EXCLUDE (quality_key, has_history),
           coalesce(patterns.features_missing, []) AS features_missing,
           coalesce(patterns.features_partial, []) AS features_partial, patterns.data_quality_score,
           has_history AND patterns.data_quality_score >= {MIN_TRAINING_QUALITY} AS can_use_for_ml_training
    FROM features JOIN patterns USING (quality_key)"""

ML_FEATURE_STORE = ProcessorSpec(
    name="precompute.ml_feature_store",
    phase=4,
    inputs=tuple(InputSpec(table) for table in _SOURCES.values()),
    entity_key="player_id",
    patterns=GAME_DAY_PATTERNS,
    kind="as_of",
    description="One versioned feature row per upcoming player-game, each feature with its source and quality.",
    signature_sql=_FEATURE_SIGNATURE,
    transform_sql=_FEATURE_TRANSFORM,
    checks=(
        OutputCheck("feature_version is the current one", f"feature_version <> '{FEATURE_VERSION}'", invariant=True),
        OutputCheck("calculation_quality is a known label",
                    "calculation_quality NOT IN ('complete', 'no_prior_games') "
                    "AND NOT regexp_full_match(calculation_quality, 'partial_[1-9]_games')", invariant=True),
        OutputCheck("usable rows have some history", "can_use_for_ml_training AND games_played_season = 0 "
                    "AND pts_avg_prev_season IS NULL", invariant=True),
        OutputCheck("data_quality_score within 0..1", "data_quality_score < 0 OR data_quality_score > 1",
                    invariant=True),
    ),
)
