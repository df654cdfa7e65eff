"""One open warehouse with its engine, processor graph and archive source, for a command's life.

While `nbadb serve` holds the warehouse (warehouse.snapshot), a workspace opened for reading reads
the snapshot the server published, and says so on stderr; one opened for writing is refused.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from nbadb.config import Settings, get_settings
from nbadb.engine.dag import ProcessorGraph
from nbadb.engine.executors import Executor, LocalExecutor
from nbadb.engine.runner import Engine
from nbadb.errors import ConfigError, WarehouseError
from nbadb.orchestrate.manifests import ManifestWriter, manifest_dir
from nbadb.pipeline.registry import build_graph
from nbadb.warehouse.connection import close_warehouse, configure_session, open_warehouse
from nbadb.warehouse.snapshot import live_server
from nbadb.warehouse.stores import Store

if TYPE_CHECKING:  # the source (its contracts load pandera) is imported when a command first stages
    from nbadb.sources.archive import ArchiveSource

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
    read_only: bool = False
    _source: ArchiveSource | None = field(default=None, repr=False)

    @property
    def source(self) -> ArchiveSource:
        """The archive, staged on a connection of its own (its temp tables are its own): a cursor of the
        warehouse's session, or for a read-only workspace an in-memory database of its own and no
        checked-files cache (a read-only command writes nothing)."""
        if self._source is None:
            from nbadb.sources.archive import ArchiveSource

            cursor = duckdb.connect() if self.read_only else self.con.cursor()
            configure_session(cursor)
            self._source = ArchiveSource(self.archive_dir, cursor,
                                         cache_dir=None if self.read_only else self.settings.checked_cache_dir)
        return self._source

    def close(self) -> None:
        self.executor.close()
        if self._source is not None:
            self._source.con.close()
        close_warehouse(self.con)

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
    from nbadb.rollout.routing import schema_contract, serving_store

    if store is None:
        store = serving_store(settings, read_only=read_only)
    if store.kind == "file":  # a live `nbadb serve` holds the file: read its snapshot, refuse to write
        con = open_warehouse(_readable_path(settings) if read_only else _writable_path(settings), read_only=read_only)
    else:
        con = store.open(read_only=read_only)
    graph = build_graph(schema_contract(settings))
    engine = Engine(con, graph.specs, settings)
    executor = executor_for(engine, settings)
    if settings.manifests and not read_only:
        executor.add_listener(ManifestWriter(con, graph.specs, manifest_dir(settings.data_dir)))
    return Workspace(con, settings, store, graph, engine, executor, archive or settings.archive_dir, read_only)


def _readable_path(settings: Settings) -> Path:
    """The warehouse file, or the snapshot of it while a live `nbadb serve` holds it."""
    server = live_server(settings.data_dir)
    if server is None:
        return settings.database_path
    sys.stderr.write(f"note: nbadb serve (pid {server.pid}, {server.url}) holds the warehouse; "
                     f"reading its snapshot of {server.snapshot_at} UTC\n")
    return Path(server.snapshot)


def _writable_path(settings: Settings) -> Path:
    server = live_server(settings.data_dir)
    if server is not None:
        raise WarehouseError(f"nbadb serve (pid {server.pid}, {server.url}) holds the warehouse: stop it first, or ask "
                             "it through its control API (/api/v1/control/..., bearer token NBADB_API_TOKEN)")
    return settings.database_path
