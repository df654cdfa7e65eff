"""Provider stages as published: where each prop-line provider (sport, book) stands in its rollout,
and what that stage lets the pipeline do with its lines.

Stages, in the enum's order (`Stage`; compare members, never labels):
- disabled: its lines are not read (the source leaves them out of every publication);
- dark: its lines land in raw.prop_lines and are measured (analytics.provider_lines, telemetry), never used;
- shadow: predictions are also judged against its lines (predictions.provider_shadow), never served;
- partial_active: its lines join the consensus for a share of games (sticky by game: a game is in
  the share when the book's bucket for it, md5(book|game_id) read as a fraction, is below the share)
  and, when markets are named, only in those markets;
- full_active: its lines join the consensus everywhere.

raw.provider_stages [bookmaker, from_date] is the pipeline's copy of the NBA providers' transitions,
published from the append-only audit (ops.provider_audit) by this processor: one row per transition,
known from the instant it took effect (`known_at`). `from_date` is the US Eastern date of that
instant, the first game date it may concern; which dates it concerns is decided by its instant
against each date's cutoff (engine.clock): the stage in force for date D is the latest transition
known before cutoff(D) (`STAGES_AT_CUTOFF`), so a replay or backfill reads exactly the stage that
was in force when D was served. A book with no transition (never declared) is served as nbadb
always served every book it read: full_active (`stage_sql`).

Benched at D: the declared books whose stage at D's cutoff is below full_active, so they do not
serve every game (`BENCHED_AT_CUTOFF`); the others are D's trusted books. Every consensus made for D
is judged by them (pipeline.served_lines): the books a partial book's lines are checked against, the
lines the calibration as of D learns from.
"""

from __future__ import annotations

from enum import IntEnum

from nbadb.engine.spec import InputSpec, OutputCheck, ProcessorSpec
from nbadb.pipeline.point_in_time import versions

SPORT = "nba"  # the sport whose lines this pipeline reads
AUDIT_TABLE = "ops.provider_audit"
STAGES_TABLE = "raw.provider_stages"


class Stage(IntEnum):
    """A provider's rollout stage; members compare by rollout order (disabled < … < full_active)."""

    DISABLED = 1  # from 1: no stage is falsy
    DARK = 2
    SHADOW = 3
    PARTIAL_ACTIVE = 4
    FULL_ACTIVE = 5

    @property
    def label(self) -> str:
        """The stage as stored and typed ("partial_active")."""
        return self.name.lower()

    @property
    def sql(self) -> str:
        """The label as a SQL literal."""
        return f"'{self.label}'"

    @classmethod
    def from_label(cls, label: str) -> Stage:
        """The stage a label names (ValueError for anything else)."""
        try:
            return cls[label.upper()]
        except KeyError:
            raise ValueError(f"{label!r} is not a stage; stages: {', '.join(s.label for s in cls)}") from None

    @property
    def next(self) -> Stage | None:
        """The stage an advance leads to (None at full_active)."""
        return Stage(self + 1) if self < Stage.FULL_ACTIVE else None


STAGE_LABELS_SQL = "(" + ", ".join(s.sql for s in Stage) + ")"


def share_bucket_sql(bookmaker: str, game_id: str) -> str:
    """Where a game falls in [0, 1) for a book: the first 32 bits of md5("book|game_id") over 2^32.
    Stable across DuckDB versions and processes (never hash()); a larger share keeps every game of a
    smaller one."""
    return f"(('0x' || substr(md5({bookmaker} || '|' || {game_id}), 1, 8))::UBIGINT / 4294967296.0)"


def stage_sql(stages: str) -> str:
    """The stage of a (LEFT JOINed) `STAGES_AT_CUTOFF` row: full_active without one (never declared)."""
    return f"coalesce({stages}.stage, {Stage.FULL_ACTIVE.sql})"


def serves_sql(stages: str, bookmaker: str, game_id: str, market: str) -> str:
    """True when a line of `bookmaker` for `game_id` and `market` joins the consensus, given the
    book's `STAGES_AT_CUTOFF` row `stages` (LEFT JOINed)."""
    return (f"({stage_sql(stages)} = {Stage.FULL_ACTIVE.sql} OR ({stages}.stage = {Stage.PARTIAL_ACTIVE.sql} "
            f"AND {share_bucket_sql(bookmaker, game_id)} < {stages}.share "
            f"AND ({stages}.markets IS NULL OR list_contains({stages}.markets, {market}))))")


# Each NBA provider's stage at each date's cutoff (the run's `_as_of`): its latest transition known
# before it, each date reading the versions published before its own cutoff (so processors with parts,
# which see the run's dates at once, read it too).
STAGES_AT_CUTOFF = f"""(
    SELECT a.game_date, s.bookmaker, s.stage, s.share, s.markets
    FROM _as_of a JOIN {versions(STAGES_TABLE)} s
      ON s.known_at < a.cutoff AND (s.superseded_at IS NULL OR s.superseded_at >= a.cutoff)
    QUALIFY row_number() OVER (PARTITION BY a.game_date, s.bookmaker ORDER BY s.known_at DESC, s.audit_seq DESC) = 1)"""

# Each date of the run (`_as_of`: game_date, cutoff) with its benched books, sorted by name (an empty
# list: none).
BENCHED_AT_CUTOFF = f"""(
    SELECT a.game_date, a.cutoff, coalesce(list(s.bookmaker ORDER BY s.bookmaker)
                                           FILTER (WHERE s.stage <> {Stage.FULL_ACTIVE.sql}), []::VARCHAR[]) AS benched
    FROM _as_of a LEFT JOIN {STAGES_AT_CUTOFF} s USING (game_date) GROUP BY a.game_date, a.cutoff)"""

PROVIDER_STAGES = ProcessorSpec(
    name=STAGES_TABLE,
    phase=2,
    inputs=(InputSpec(AUDIT_TABLE, date_column="from_date"),),
    entity_key="bookmaker",
    date_column="from_date",
    description="Each NBA prop-line provider's stage transitions, known from the instant each took effect.",
    transform_sql=f"""
        SELECT bookmaker, sport, to_stage AS stage, share, markets, from_date, seq AS audit_seq,
               effective_at AS known_at
        FROM {AUDIT_TABLE}
        WHERE sport = '{SPORT}' AND to_stage IS NOT NULL AND from_date BETWEEN $start AND $end""",
    checks=(
        OutputCheck("a stage is one of the enum's", f"stage NOT IN {STAGE_LABELS_SQL}", invariant=True),
        OutputCheck("only partial_active has a share, within (0, 1)",
                    f"(share IS NOT NULL) <> (stage = {Stage.PARTIAL_ACTIVE.sql}) OR share <= 0 OR share >= 1",
                    invariant=True),
    ),
)
