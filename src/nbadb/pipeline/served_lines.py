"""The line a prediction is judged against, per player, game day and target: the consensus of the
books a provider stage serves (analytics.provider_lines, served rows), with a real book's prices.

- Data-quality check (lines only, point in time): a book's lines on D are dropped when over the
  QUALITY_DAYS days before D its de-vigged P(over) correlates below MIN_CORRELATION with the median of
  the other books quoting the same player, game and line (at least MIN_PAIRS such pairs; fewer: kept).
  It never reads an outcome. (In the bundled 2024-25 lines it drops BetRivers until mid-December.)
- consensus line = the most common line across the remaining books (ties: nearest the median line,
  then the lower); market_p_over = the mean de-vigged P(over) of the books quoting it;
- the quoting book whose prices are used: among those quoting the consensus line, the one whose
  de-vigged P(over) is nearest market_p_over (ties: the book's name), with its own over/under prices.
"""

from __future__ import annotations

from nbadb.pipeline.probabilities import fair_over_sql
from nbadb.pipeline.provider_lines import PROVIDER_LINES_TABLE

QUALITY_DAYS = 7
MIN_CORRELATION = 0.8
MIN_PAIRS = 30

SERVED_LINES = f"""(
    WITH quoted AS (
        SELECT game_date, game_id, player_id, target, bookmaker, line, over_odds, under_odds,
               {fair_over_sql('over_odds', 'under_odds')} AS p
        FROM {PROVIDER_LINES_TABLE}
        WHERE served AND over_odds IS NOT NULL AND under_odds IS NOT NULL
          AND game_date BETWEEN $start - INTERVAL {QUALITY_DAYS} DAY AND $end
    ),
    pairs AS (  -- each book's P(over) beside the median of the other books at the same line
        SELECT a.game_date, a.bookmaker, a.p, median(b.p) AS others
        FROM quoted a JOIN quoted b ON b.player_id = a.player_id AND b.game_id = a.game_id
         AND b.target = a.target AND b.line = a.line AND b.bookmaker <> a.bookmaker
        GROUP BY a.game_date, a.game_id, a.player_id, a.target, a.line, a.bookmaker, a.p
    ),
    dropped AS (
        SELECT d.game_date, p.bookmaker
        FROM _as_of d JOIN pairs p
          ON p.game_date < d.game_date AND p.game_date >= d.game_date - INTERVAL {QUALITY_DAYS} DAY
        GROUP BY ALL HAVING count(*) >= {MIN_PAIRS} AND coalesce(corr(p.p, p.others), 0) < {MIN_CORRELATION}
    ),
    kept AS (
        SELECT q.* FROM quoted q
        WHERE q.game_date BETWEEN $start AND $end
          AND NOT EXISTS (SELECT 1 FROM dropped d WHERE d.game_date = q.game_date AND d.bookmaker = q.bookmaker)
    ),
    consensus AS (
        SELECT game_date, game_id, player_id, target,
               arg_max(line, (n, -abs(line - median_line), -line)) AS line
        FROM (SELECT *, count(*) OVER (PARTITION BY game_date, game_id, player_id, target, line) AS n,
                     median(line) OVER (PARTITION BY game_date, game_id, player_id, target) AS median_line
              FROM kept)
        GROUP BY ALL
    ),
    quoting AS (
        SELECT k.*, list_sum(list(k.p ORDER BY k.bookmaker) OVER quote) / count(*) OVER quote AS market_p_over
        FROM kept k JOIN consensus c USING (game_date, game_id, player_id, target, line)
        WINDOW quote AS (PARTITION BY k.game_date, k.game_id, k.player_id, k.target)  -- summed in book order
    )
    SELECT game_date, game_id, player_id, target, line, market_p_over,
           arg_min(bookmaker, (abs(p - market_p_over), bookmaker)) AS bookmaker,
           arg_min(over_odds, (abs(p - market_p_over), bookmaker)) AS over_odds,
           arg_min(under_odds, (abs(p - market_p_over), bookmaker)) AS under_odds
    FROM quoting GROUP BY ALL)"""
