"""What a publication's prop-line rows say about each provider's feed, counted as they are staged.

Per (book, game day, snapshot date) among the rows a publication concerns: lines offered, lines not
read because the book was disabled when it published them (its snapshot time inside one of the
book's disabled spans, rollout.providers.audit.disabled_spans), and among the lines read those a
row rule quarantined for unusable prices (contracts.source_contracts.ODDS_RULES) or for any other rule.
Lines whose player name matches no NBA player are counted once names are matched
(`UNMATCHED_SQL`). A game day is the US Eastern date of the line's tip-off (its snapshot date when
the tip-off is unreadable); `known_at` is the latest snapshot counted (the staging clock when none is
readable). Rows naming no book cannot be a provider's and are left to the quarantine alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    import polars as pl

Spans = Mapping[str, tuple[tuple[datetime, datetime | None], ...]]  # per book, [from, until) while disabled

FEED_TABLE = "ops.provider_feed"  # where the counts are kept (orchestrate.ingest.persist_staging)
COUNTS_TABLE = "src_provider_lines"  # a staging's counts, on the source's connection
COLUMNS = ("bookmaker VARCHAR, game_date DATE, snapshot_date DATE, known_at TIMESTAMP, lines_offered INTEGER, "
           "lines_not_read INTEGER, lines_bad_odds INTEGER, lines_other_rules INTEGER, lines_unmatched INTEGER")


def unread(disabled: Spans) -> pl.Expr:
    """True for a prop row its book published while disabled (its SNAPSHOT_TS inside one of its spans)."""
    import polars as pl

    published = pl.col("SNAPSHOT_TS").dt.replace_time_zone(None)
    expr = pl.lit(False)
    for book, spans in disabled.items():
        for since, until in spans:
            inside = published >= since if until is None else published.is_between(since, until, closed="left")
            expr = expr | ((pl.col("BOOKMAKER") == book) & inside)
    return expr.fill_null(False)


def count_lines(rows: pl.DataFrame, disabled: Spans, clock: datetime, start_date: object) -> pl.DataFrame:
    """The counts of `rows` (checked prop rows with `_reasons` and `_date`), unmatched names still zero."""
    import polars as pl  # loaded by staging, not by the graph (which reads FEED_TABLE only)

    from nbadb.contracts.source_contracts import ODDS_RULES  # pandera: the same

    if not rows.height:
        return pl.DataFrame()
    read = ~unread(disabled)
    broken = pl.col("_reasons").list.len() > 0
    bad_odds = pl.col("_reasons").list.eval(pl.element().is_in(list(ODDS_RULES))).list.any()
    snapshot_date = pl.coalesce(pl.col("_date"), pl.lit(start_date, pl.Date))
    game_date = pl.coalesce(pl.col("GAME_TIME").dt.convert_time_zone("America/New_York").dt.date(), snapshot_date)
    return (
        rows.filter(pl.col("BOOKMAKER").is_not_null())
        .group_by(pl.col("BOOKMAKER").alias("bookmaker"), game_date.alias("game_date"),
                  snapshot_date.alias("snapshot_date"))
        .agg(
            pl.col("SNAPSHOT_TS").max().dt.replace_time_zone(None).alias("known_at"),
            pl.len().alias("lines_offered"),
            (~read).sum().alias("lines_not_read"),
            (read & broken & bad_odds).sum().alias("lines_bad_odds"),
            (read & broken & ~bad_odds).sum().alias("lines_other_rules"),
            pl.lit(0).alias("lines_unmatched"),
        )
        .with_columns(pl.col("known_at").fill_null(clock))
    )


# Adds to the counts the staged lines whose player name matched no NBA player (stage table stage_props).
UNMATCHED_SQL = f"""
    UPDATE {COUNTS_TABLE} c SET lines_unmatched = u.n
    FROM (SELECT BOOKMAKER, cast(timezone('America/New_York', GAME_TIME) AS DATE) AS game_date, SNAPSHOT_DATE,
                 count(*) AS n
          FROM stage_props WHERE matched_player_id IS NULL GROUP BY ALL) u
    WHERE c.bookmaker = u.BOOKMAKER AND c.game_date = u.game_date AND c.snapshot_date = u.SNAPSHOT_DATE"""
