"""One open warehouse with its engine, processor graph and archive source, for a command's life."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from nbadb.config import Settings, get_settings
from nbadb.engine.dag import ProcessorGraph
from nbadb.engine.executors import Executor, LocalExecutor
from nbadb.engine.runner import Engine
from nbadb.errors import ConfigError
from nbadb.pipeline.registry import build_graph
from nbadb.sources.archive import ArchiveSource
from nbadb.warehouse.connection import configure_session
from nbadb.warehouse.stores import Store

EXECUTORS = ("sequential", "threads", "prefect")


@dataclass
class Workspace:
    con: duckdb.DuckDBPyConnection
    settings: Settings
    store: Store
    graph: ProcessorGraph
    engine: Engine
    executor: Executor
    archive_dir: Path
    _source: ArchiveSource | None = field(default=None, repr=False)

    @property
    def source(self) -> ArchiveSource:
        if self._source is None:
            # its own connection: its temp tables are its own
            cursor = self.con.cursor()
            configure_session(cursor)
            self._source = ArchiveSource(self.archive_dir, cursor, cache_dir=self.settings.data_dir / "cache" / "checked")
        return self._source

    def close(self) -> None:
        self.executor.close()
        if self._source is not None:
            self._source.con.close()
        self.con.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def executor_for(engine: Engine, settings: Settings) -> Executor:
    """The executor NBADB_EXECUTOR names; Prefect's is imported only when chosen."""
    if settings.executor == "prefect":
        from nbadb.orchestrate.prefect.executor import PrefectExecutor

        return PrefectExecutor(engine, settings.run_width)
    return LocalExecutor(engine, settings.run_width)


def open_workspace(archive: Path | None = None, *, settings: Settings | None = None, read_only: bool = False,
                   store: Store | None = None) -> Workspace:
    """A workspace on `store`, by default the one the storage track serves from (rollout.routing:
    the file unless the track says otherwise)."""
    settings = settings or get_settings()
    if settings.executor not in EXECUTORS:
        raise ConfigError(f"NBADB_EXECUTOR={settings.executor!r}: use one of {', '.join(EXECUTORS)}")
    if store is None:
        from nbadb.rollout.routing import serving_store

        store = serving_store(settings, read_only=read_only)
    con = store.open(read_only=read_only)
    graph = build_graph()
    engine = Engine(con, graph.specs, settings)
    return Workspace(con, settings, store, graph, engine, executor_for(engine, settings), archive or settings.archive_dir)
