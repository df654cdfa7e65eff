"""The two stores a warehouse can live in: the DuckDB file (legacy) and the DuckLake lake
(strategic). Either opens to a DuckDB connection whose default database holds the warehouse, so
the engine, the drivers and every read run unchanged on both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import duckdb

from nbadb.config import Settings
from nbadb.warehouse import lake
from nbadb.warehouse.connection import open_warehouse

StoreKind = Literal["file", "lake"]
STORE_KINDS: tuple[StoreKind, ...] = ("file", "lake")


@dataclass(frozen=True)
class Store:
    """Where a warehouse lives: `file` (settings.database_path) or `lake` (settings.lake_location)."""

    kind: StoreKind
    settings: Settings

    @property
    def label(self) -> str:
        return str(self.settings.database_path) if self.kind == "file" else self.settings.lake_location.catalog

    def exists(self) -> bool:
        return self.settings.database_path.is_file() if self.kind == "file" else self.settings.lake_location.exists()

    def open(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        if self.kind == "file":
            return open_warehouse(self.settings.database_path, read_only=read_only)
        return lake.open_lake(self.settings.lake_location, read_only=read_only)

    def compact(self, con: duckdb.DuckDBPyConnection) -> None:
        """Keep a store written day after day as fast to read as on its first day: a lake's small
        data files merged (lake.compact); a DuckDB file needs nothing (its checkpoints do that)."""
        if self.kind == "lake":
            lake.compact(con)

    def attach_to(self, con: duckdb.DuckDBPyConnection, alias: str, *, read_only: bool = True) -> None:
        """Make this store readable (or writable) from another store's session as catalog `alias`."""
        if self.kind == "file":
            mode = " (READ_ONLY)" if read_only else ""
            con.execute(f"ATTACH IF NOT EXISTS '{self.settings.database_path}' AS {alias}{mode}")
        else:
            lake.attach(con, self.settings.lake_location, alias, read_only=read_only)


def other(kind: StoreKind) -> StoreKind:
    return "lake" if kind == "file" else "file"
