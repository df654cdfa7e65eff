"""The read-only snapshot `nbadb serve` publishes of the warehouse it holds, and its `server.json`.

DuckDB lets one process open a warehouse file while it writes. So the server, the warehouse's only
writer, publishes a copy after each cycle (CHECKPOINT, copy to a temp file, `os.replace`) and keeps
`<data dir>/serve/server.json` (pid, host, port, snapshot path and time): while that pid lives,
read commands open the snapshot instead of waiting for the lock, and write commands refuse.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

SERVE_DIR = "serve"
SNAPSHOT_NAME = "snapshot.duckdb"
SERVER_FILE = "server.json"


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    host: str
    port: int
    database: str
    snapshot: str
    snapshot_at: str  # ISO, UTC
    started_at: str  # ISO, UTC

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def serve_dir(data_dir: Path) -> Path:
    return data_dir / SERVE_DIR


def write_atomically(path: Path, content: bytes) -> None:
    """Write `content` to a temp file beside `path`, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def publish_snapshot(con: duckdb.DuckDBPyConnection, database: Path, snapshot: Path) -> None:
    """Checkpoint the warehouse (its file then holds every commit) and publish a copy of it. Call it
    where no write can start until it returns: the server runs it under its write lock."""
    con.execute("FORCE CHECKPOINT")
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    tmp = snapshot.with_name(f".{snapshot.name}.{os.getpid()}.tmp")
    shutil.copyfile(database, tmp)
    os.replace(tmp, snapshot)


def write_server_info(data_dir: Path, info: ServerInfo) -> None:
    write_atomically(serve_dir(data_dir) / SERVER_FILE, json.dumps(asdict(info), indent=2).encode())


def remove_server_info(data_dir: Path) -> None:
    (serve_dir(data_dir) / SERVER_FILE).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def live_server(data_dir: Path) -> ServerInfo | None:
    """The server holding the warehouse in `data_dir`, if its process lives and its snapshot exists."""
    try:
        info = ServerInfo(**json.loads((serve_dir(data_dir) / SERVER_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return info if _alive(info.pid) and Path(info.snapshot).is_file() else None
