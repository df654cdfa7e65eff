"""The schema track at work: the box scores' contract v1 (`raw.boxscore_players`) and v2
(`raw.boxscore_players_v2`: exact seconds, a typed status and reason; pipeline.raw_v2), behind the
flags. Which contract the pipeline writes is the track's (rollout.routing.schema_contract: every
workspace's graph is built for it when opened); a track cycle is a replayed day or a served night.

- phase 0, or the phase's flag off: v1 alone, as before;
- phase 1 with the shadow flag: v2's processor runs beside v1's on the same staged rows, in its own
  run; after each cycle, on every date an outbox event of either touched, v2's rows mapped to v1
  (`v1_from_v2_sql`) are compared with v1's (rollout.diff), so that what differs is what a reader of
  v1 would read differently: divergences with samples (key, column, v1 value, v2's value as v1);
- phase 2 with the dual-write flag: both written, and after each cycle the row parity of the whole
  table, v1 against v2 mapped to v1;
- phase 3: v2 alone: v1's processor leaves the graph, its table stays as it stood, and the readers
  of the box scores (`nbadb crosscheck`) read v2 through the mapping (`boxscores_relation`).

Transitions move data so that none is lost (`align`): entering phase 1 or 2 from below makes v2 say
what v1 says, game by game (mapped v1 → v2, hashed as its processor hashes rows); leaving phase 3
makes v1 say what v2 says (mapped back). A row either replaces moves to its table's history, as a
restatement's would. `nbadb rollout repair schema` does what entering phase 2 does, after an
inconsistency in dual write.
"""

from __future__ import annotations

from datetime import date
from typing import Callable, TypeVar

import duckdb

from nbadb.config import Settings
from nbadb.engine.dag import ProcessorGraph
from nbadb.engine.request import utc_now
from nbadb.errors import ConfigError
from nbadb.orchestrate.workspace import Workspace, open_workspace
from nbadb.pipeline.raw_v2 import V1_COLUMNS, V1_TABLE, V2_COLUMNS, V2_TABLE, v1_from_v2_sql, v2_from_v1_sql
from nbadb.rollout import control, replicate
from nbadb.rollout.control import EvidenceItem
from nbadb.rollout.diff import TableDiff, TableShape, table_diff
from nbadb.warehouse.connection import current_catalog
from nbadb.warehouse.transactions import committed

T = TypeVar("T")
TRACK = "schema"
KEY = ("game_id", "player_id")
V1_SIDE, V2_SIDE = "schema_v1", "schema_v2"  # in-memory catalogs of the comparisons' views
SHAPE = TableShape(V1_TABLE, KEY, V1_COLUMNS, ())
# the run id of rows a transition wrote (no processor run wrote them), and superseded_by of a v1 row it replaced
SEEDED, RESTORED = "schema-track-seed", "schema-track-rollback"


def boxscores_relation(graph: ProcessorGraph) -> str:
    """SQL: the box scores in v1's columns, from the contract the graph writes (v2's mapped in phase 3)."""
    return V1_TABLE if V1_TABLE in graph.specs else f"({v1_from_v2_sql(V2_TABLE)})"


def compare(con: duckdb.DuckDBPyConnection, where: str = "true") -> TableDiff:
    """v1's rows against v2's mapped to v1, those matching `where` (a condition on v1's columns)."""
    warehouse = current_catalog(con)
    sides = ((V1_SIDE, f"SELECT {', '.join(V1_COLUMNS)} FROM {warehouse}.{V1_TABLE}"),
             (V2_SIDE, v1_from_v2_sql(f"{warehouse}.{V2_TABLE}")))
    for catalog, select in sides:
        con.execute(f"ATTACH ':memory:' AS {catalog}")
        con.execute(f"CREATE SCHEMA {catalog}.raw")
        con.execute(f"CREATE VIEW {catalog}.{V1_TABLE} AS {select}")
    try:
        return table_diff(con, V1_SIDE, V2_SIDE, SHAPE, where)
    finally:
        for catalog, _ in sides:
            con.execute(f"DETACH {catalog}")


def round_trip_differences(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(v1 rows, those that mapping v1 → v2 → v1 changes): the mapping checked on the warehouse's rows."""
    v1 = f"SELECT {', '.join(V1_COLUMNS)} FROM {V1_TABLE}"
    there_and_back = v1_from_v2_sql(f"({v2_from_v1_sql(V1_TABLE)})")
    rows, changed = con.execute(f"SELECT (SELECT count(*) FROM {V1_TABLE}), "
                                f"(SELECT count(*) FROM ({v1} EXCEPT ALL {there_and_back}))").fetchall()[0]
    return rows, changed


def _hashed(ws: Workspace, table: str, select: str, run_id: str) -> str:
    """SQL: `select`'s rows as `table`'s processor stores them (Engine.hashed_sql: cast, hashed, the
    publication time beside the content), with lineage naming `run_id`."""
    return (f"SELECT *, '{run_id}' AS run_id, now()::TIMESTAMP AS ingested_at "
            f"FROM ({ws.engine.hashed_sql(table, select, versioned=True)}) hashed")


def align(ws: Workspace, table: str) -> int:
    """Make contract `table` (V1_TABLE or V2_TABLE) say what the other says, game by game: every game
    the other holds otherwise (a row more, less or different) is written into it from the other,
    mapped, and its rows it replaces move to its history, as a restatement's would. The rows written."""
    into, columns, mapped, run_id = ((V2_TABLE, V2_COLUMNS, v2_from_v1_sql(V1_TABLE), SEEDED) if table == V2_TABLE
                                     else (V1_TABLE, V1_COLUMNS, v1_from_v2_sql(V2_TABLE), RESTORED))
    games = "game_id IN (SELECT game_id FROM _schema_games)"
    held = f"SELECT {', '.join(columns)} FROM {into} WHERE game_id IN (SELECT game_id FROM ({mapped}) m)"

    def write() -> int:
        ws.con.execute(f"""CREATE OR REPLACE TEMP TABLE _schema_games AS SELECT DISTINCT game_id FROM (
            ({mapped} EXCEPT ALL {held}) UNION ALL ({held} EXCEPT ALL {mapped}))""")
        ws.con.execute(f"INSERT INTO {into}_history BY NAME SELECT *, now()::TIMESTAMP AS superseded_at, "
                       f"'{run_id}' AS superseded_by FROM {into} WHERE {games}")
        ws.con.execute(f"DELETE FROM {into} WHERE {games}")
        return ws.con.execute(f"INSERT INTO {into} BY NAME {_hashed(ws, into, f'{mapped} WHERE {games}', run_id)}"
                              ).fetchall()[0][0]

    return committed(ws.con, write)


def move_data(settings: Settings, from_phase: int, to_phase: int) -> str:
    """What a transition of the track moves (module docstring), said in a line for the audit."""
    if to_phase == 3:
        return f"{V1_TABLE} kept as it stands; from now on {V2_TABLE} alone is written and read"
    if not (to_phase > from_phase or from_phase == 3):
        return "both contracts kept as they stand; nothing to move"
    with control.control(settings, read_only=True) as con:
        storage_phase = control.phase_of(con, "storage")
    if storage_phase in (1, 2):  # its lake is fed by run id (rollout.replicate): rows moved here would not reach it
        raise ConfigError(f"the schema track's move writes rows outside any run, which the storage track's lake "
                          f"(phase {storage_phase}) would not get: move the storage track to phase 0 or 3 first")
    with open_workspace(settings=settings) as ws:
        if from_phase == 3:
            return f"{align(ws, V1_TABLE)} rows of {V2_TABLE}'s games written into {V1_TABLE}, mapped back"
        return f"{align(ws, V2_TABLE)} rows of {V1_TABLE}'s games written into {V2_TABLE}, mapped"


def repair(settings: Settings, day: date) -> TableDiff:
    """After an inconsistency in dual write: v2 made to say what v1 (which serves) says, and the
    parity it then has recorded for game day `day`."""
    with open_workspace(settings=settings) as ws:
        align(ws, V2_TABLE)
        diff = compare(ws.con)
    with control.control(settings) as con:
        committed(con, lambda: control.record_diffs(con, TRACK, day, "dual_write", [diff], parity=True))
    return diff


def contract_answers(settings: Settings) -> EvidenceItem:
    """The schema track's flag path: v2's table at this schema version, and the mapping both ways
    returning every v1 row of the warehouse unchanged."""
    from nbadb.rollout.routing import serving_store

    required = f"{V2_TABLE} exists and every {V1_TABLE} row maps to v2 and back unchanged"
    if not serving_store(settings, read_only=True).exists():
        return EvidenceItem("flag_path_check", required, "no warehouse to read yet", False)
    with open_workspace(settings=settings, read_only=True) as ws:
        rows, changed = round_trip_differences(ws.con)
    return EvidenceItem("flag_path_check", required, f"{rows} rows, {changed} changed by the round trip",
                        rows > 0 and changed == 0)


class SchemaCycles(control.TrackCycles):
    """The schema track's part of each track cycle of a driver (`nbadb replay`, `nbadb serve`'s nights).
    Its phase is read when made, as the workspace's graph was, and not looked at again."""

    track = TRACK

    def around(self, ws: Workspace, cycle: Callable[[date, Callable[[Workspace], T]], T]
               ) -> Callable[[date, Callable[[Workspace], T]], T]:
        """A day's cycle with the schema track's part after it (module docstring)."""
        def run(day: date, work: Callable[[Workspace], T]) -> T:
            since = utc_now()
            answer = cycle(day, work)
            if self.mode is None:
                return answer
            diffs: list[TableDiff] = []
            if self.mode == "shadow":
                touched = replicate.touched_dates(ws.con, current_catalog(ws.con), since)
                dates = sorted(touched.get(V1_TABLE, set()) | touched.get(V2_TABLE, set()))
                if dates:
                    diffs = [compare(ws.con, f"game_date IN ({', '.join(repr(str(d)) for d in dates)})")]
            elif self.mode == "dual_write":
                diffs = [compare(ws.con)]
            games = ws.engine.calendar().games_between(day, day)
            control.record_evidence(self.settings, TRACK, day, self.phase, self.mode, games, diffs,
                                    parity=self.mode == "dual_write")
            return answer

        return run
