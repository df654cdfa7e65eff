"""A consumer's read of a pipeline table (`nbadb read`): from the latest export (the serving track's
legacy path, orchestrate.exports) or from the API of the `nbadb serve` holding the warehouse (its
strategic path, serve.tables), as the serving track routes this consumer (rollout.routing).

Either way the answer is the rows dated in [first, last] in the same stable order (entity, date, row
hash), at most `limit` of them, with their total, in the table's own columns (an export's `season`
partition is left out where the table has none, as its `latest.json` records), and values as the
API's JSON writes them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal

import duckdb

from nbadb.config import Settings
from nbadb.engine.dag import ProcessorGraph
from nbadb.errors import ConfigError
from nbadb.orchestrate.exports import export_folder, exported_files, latest_export
from nbadb.serve.http import json_body
from nbadb.serve.tables import check_page, page_order_sql, span_sql, spec_of
from nbadb.warehouse.snapshot import live_server

ReadPath = Literal["export", "api"]
LOCAL_HOSTS = ("", "0.0.0.0", "::")  # a server listening on every interface is asked on 127.0.0.1
TIMEOUT_SECONDS = 30


@dataclass
class TableRead:
    path: ReadPath
    source: str  # the export's folder, or the API's URL
    table: str
    columns: list[str]
    rows: list[list[Any]]
    total: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def from_export(settings: Settings, graph: ProcessorGraph, table: str, first: date | None, last: date | None,
                limit: int) -> TableRead:
    spec = spec_of(graph, table)
    check_page(limit, 0)
    folder = export_folder(settings)
    latest = latest_export(folder)
    if latest is None:
        raise ConfigError(f"no export in {folder} to read: publish one with `nbadb export`")
    if latest.get("export_format", "parquet") != "parquet":
        raise ConfigError(f"the latest export in {folder} is {latest['export_format']}; `nbadb read` reads Parquet "
                          "exports, whose values keep their types: publish one with `nbadb export`")
    export = folder / str(latest["export_id"])
    held = latest.get("tables", {})
    if table not in held:
        raise ConfigError(f"the latest export in {folder} ({latest['export_id']}) holds no {table}, only "
                          f"{', '.join(held) or 'no table'}: publish one with it (`nbadb export --tables {table}`)")
    files = exported_files(export, table)
    if files is None:
        return TableRead("export", str(export), table, [], [], 0)
    con = duckdb.connect()
    try:
        relation = f"read_parquet('{files}', hive_partitioning = true) WHERE {span_sql(spec)}"
        bounds = {"first": first, "last": last}
        total = con.execute(f"SELECT count(*) FROM {relation}", bounds).fetchall()[0][0]
        columns = latest.get("columns", {}).get(table)  # exports before columns were recorded: all of them
        projected = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        cursor = con.execute(f"SELECT {projected} FROM {relation} ORDER BY {page_order_sql(spec)} LIMIT {limit}", bounds)
        rows = json.loads(json_body([list(r) for r in cursor.fetchall()]))
        return TableRead("export", str(export), table, [d[0] for d in cursor.description], rows, total)
    finally:
        con.close()


def from_api(settings: Settings, table: str, first: date | None, last: date | None, limit: int) -> TableRead:
    check_page(limit, 0)
    server = live_server(settings.data_dir)
    if server is None:
        raise ConfigError(f"the serving track sends this consumer's reads to the API, and no `nbadb serve` "
                          f"holds {settings.data_dir}: start it, or read the exports (rollout.routing)")
    host = "127.0.0.1" if server.host in LOCAL_HOSTS else server.host
    query = {"limit": limit, **({"from": first} if first else {}), **({"to": last} if last else {})}
    url = f"http://{host}:{server.port}/api/v1/tables/{urllib.parse.quote(table)}?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ConfigError(f"the API at {host}:{server.port} answered {exc.code}: "
                          f"{json.loads(exc.read() or b'{}').get('error', exc.reason)}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ConfigError(f"the API at {host}:{server.port} did not answer: {getattr(exc, 'reason', exc)}") from None
    return TableRead("api", f"http://{host}:{server.port}/api/v1/tables/{table}", table, answer["columns"],
                     answer["rows"], answer["total"])
