"""The line a prediction is judged against, per player, game day and target: the consensus of some
books' lines (analytics.provider_lines), with a real book's prices. Every consensus made for a date
D is judged by D's trusted books: those not benched at D (pipeline.provider_stages: a declared book
below full_active at D's cutoff is benched). Two consensuses are made (both need `BENCH_CTES`):

- the served lines (`SERVED_LINES`): on each date of the run, the lines its books' stages serve
  there (`served`: the trusted books', and a partial book's in its share); what a prediction is
  served with;
- the reference lines (`REFERENCE_CTES`): for each date D of the run, every earlier day's lines of
  D's trusted books; what the calibration as of D learns from (pipeline.calibration).
So a book in its share, or taken back, changes nothing that the games outside its share or the days
after its rollback are served with. Without declared books both are the lines of every book.

How a consensus is made (`consensus_sql`):
- Data-quality check (lines only, point in time): a book's lines on D are dropped when over the
  QUALITY_DAYS days before D its de-vigged P(over) correlates below MIN_CORRELATION with the median of
  D's other trusted books quoting the same player, game and line (at least MIN_PAIRS such pairs;
  fewer: kept). It never reads an outcome. (In the bundled 2024-25 lines it drops BetRivers until
  mid-December.)
- consensus line = the most common line across the remaining books (ties: nearest the median line,
  then the lower); market_p_over = the mean de-vigged P(over) of the books quoting it;
- the quoting book whose prices are used: among those quoting the consensus line, the one whose
  de-vigged P(over) is nearest market_p_over (ties: the book's name), with its own over/under prices.
"""

from __future__ import annotations

from nbadb.pipeline.probabilities import fair_over_sql
from nbadb.pipeline.provider_lines import PROVIDER_LINES_TABLE
from nbadb.pipeline.provider_stages import BENCHED_AT_CUTOFF

QUALITY_DAYS = 7
MIN_CORRELATION = 0.8
MIN_PAIRS = 30


def _lines(sets: str, joins: str, where: str) -> str:
    """Every book's lines of provider_lines where `where` holds, once per benched list of `sets`
    (judged_by), with `joins`: whether the line may join that consensus."""
    return f"""SELECT s.judged_by, l.game_date, l.game_id, l.player_id, l.target, l.bookmaker, l.line, l.over_odds,
                   l.under_odds, {joins} AS joins
            FROM {PROVIDER_LINES_TABLE} l CROSS JOIN {sets} s WHERE {where}"""


def consensus_sql(lines: str, days: str) -> str:
    """The consensus (judged_by, game_date, game_id, player_id, target, line, market_p_over, bookmaker,
    over_odds, under_odds) of each of `days` (judged_by, game_date: a day and the benched books it is
    judged by), from `lines` (_lines: the days' lines and those of the QUALITY_DAYS before them)."""
    return f"""(
    WITH quoted AS (
        SELECT *, {fair_over_sql('over_odds', 'under_odds')} AS p
        FROM ({lines}) WHERE over_odds IS NOT NULL AND under_odds IS NOT NULL
    ),
    pairs AS (  -- each book's P(over) beside the median of the other trusted books at the same line
        SELECT a.judged_by, a.game_date, a.bookmaker, a.p, median(b.p) AS others
        FROM quoted a JOIN quoted b ON b.judged_by = a.judged_by AND b.player_id = a.player_id
         AND b.game_id = a.game_id AND b.target = a.target AND b.line = a.line AND b.bookmaker <> a.bookmaker
         AND NOT list_contains(b.judged_by, b.bookmaker)
        GROUP BY a.judged_by, a.game_date, a.game_id, a.player_id, a.target, a.line, a.bookmaker, a.p
    ),
    dropped AS (
        SELECT d.judged_by, d.game_date, p.bookmaker
        FROM ({days}) d JOIN pairs p ON p.judged_by = d.judged_by AND p.game_date < d.game_date
         AND p.game_date >= d.game_date - INTERVAL {QUALITY_DAYS} DAY
        GROUP BY ALL HAVING count(*) >= {MIN_PAIRS} AND coalesce(corr(p.p, p.others), 0) < {MIN_CORRELATION}
    ),
    kept AS (
        SELECT q.* FROM quoted q JOIN ({days}) d USING (judged_by, game_date)
        WHERE q.joins AND NOT EXISTS (SELECT 1 FROM dropped x WHERE x.judged_by = q.judged_by
                                      AND x.game_date = q.game_date AND x.bookmaker = q.bookmaker)
    ),
    consensus AS (
        SELECT judged_by, game_date, game_id, player_id, target,
               arg_max(line, (n, -abs(line - median_line), -line)) AS line
        FROM (SELECT *, count(*) OVER (PARTITION BY judged_by, game_date, game_id, player_id, target, line) AS n,
                     median(line) OVER (PARTITION BY judged_by, game_date, game_id, player_id, target) AS median_line
              FROM kept)
        GROUP BY ALL
    ),
    quoting AS (
        SELECT k.*, list_sum(list(k.p ORDER BY k.bookmaker) OVER quote) / count(*) OVER quote AS market_p_over
        FROM kept k JOIN consensus c USING (judged_by, game_date, game_id, player_id, target, line)
        WINDOW quote AS (PARTITION BY k.judged_by, k.game_date, k.game_id, k.player_id, k.target)  -- book order
    )
    SELECT judged_by, game_date, game_id, player_id, target, line, market_p_over,
           arg_min(bookmaker, (abs(p - market_p_over), bookmaker)) AS bookmaker,
           arg_min(over_odds, (abs(p - market_p_over), bookmaker)) AS over_odds,
           arg_min(under_odds, (abs(p - market_p_over), bookmaker)) AS under_odds
    FROM quoting GROUP BY ALL)"""


# CTEs `benched` (game_date, cutoff, judged_by: each date of the run, needs `_as_of`) and `bench_sets`
# (judged_by: each distinct benched list among them, usually one).
BENCH_CTES = f"""
    benched AS (SELECT game_date, cutoff, benched AS judged_by FROM {BENCHED_AT_CUTOFF}),
    bench_sets AS (SELECT DISTINCT judged_by FROM benched)"""

# The served consensus of the run's dates (needs BENCH_CTES).
SERVED_LINES = consensus_sql(
    _lines("bench_sets", "l.served", f"l.game_date BETWEEN $start - INTERVAL {QUALITY_DAYS} DAY AND $end"),
    "SELECT judged_by, game_date FROM benched")

# CTEs of the reference lines of the run's dates (need BENCH_CTES; every day before $end): `restated`
# (judged_by, game_date: the days whose reference lines may differ from the served ones: a day whose
# served books were not exactly the set's trusted books, and the QUALITY_DAYS after it, whose quality
# check reads it) and `reference_lines` (consensus_sql's columns, restated days only). On every other
# day the reference lines are the served lines, as stored with the day's predictions.
REFERENCE_CTES = f"""
    ref_days AS (
        SELECT s.judged_by, l.game_date, bool_and(l.served = NOT list_contains(s.judged_by, l.bookmaker)) AS as_served
        FROM {PROVIDER_LINES_TABLE} l CROSS JOIN bench_sets s WHERE l.game_date < $end GROUP BY ALL
    ),
    restated AS (
        SELECT DISTINCT x.judged_by, x.game_date FROM ref_days x JOIN ref_days y ON y.judged_by = x.judged_by
         AND NOT y.as_served AND x.game_date BETWEEN y.game_date AND y.game_date + INTERVAL {QUALITY_DAYS} DAY
    ),
    reference_lines AS {consensus_sql(
        _lines("bench_sets", "NOT list_contains(s.judged_by, l.bookmaker)",
               f"l.game_date < $end AND EXISTS (SELECT 1 FROM restated r WHERE r.judged_by = s.judged_by "
               f"AND l.game_date BETWEEN r.game_date - INTERVAL {QUALITY_DAYS} DAY AND r.game_date)"),
        "SELECT judged_by, game_date FROM restated")}"""
