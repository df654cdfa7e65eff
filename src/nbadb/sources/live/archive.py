"""The raw-response archive: every response body exactly as received, stored before anything
parses it, and read back to replay a live fetch offline.

Layout under the archive folder:

    nba_api/<endpoint>/<label>__<sha256[:12]>.json   one body, byte for byte (after HTTP decoding)
    nba_api/index.jsonl                               one JSON line per response, append-only

An index line holds endpoint, params, url, http_status, sha256, bytes, fetched_at (UTC, ISO) and
file (relative to the archive folder). `<label>` is the request's date, game or season. A body
goes to a temp file that is then moved into place (os.replace), and only then is its index line
appended, so the index never names a missing or partial file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from nbadb.errors import ArchiveFileError
from nbadb.warehouse.atomic import write_atomically
from nbadb.sources.live.endpoints import canonical_params
from nbadb.sources.live.errors import NotArchivedError

SOURCE_FOLDER = "nba_api"
INDEX_NAME = "index.jsonl"
# The parameters a file is named after, most specific first.
_LABEL_PARAMS = ("GameID", "GameDate", "DateFrom", "PlayerOrTeam", "Season")


@dataclass(frozen=True)
class ArchivedResponse:
    """One archived response: what was asked, what came back, and where it is stored."""

    endpoint: str
    params: dict[str, str]
    url: str
    http_status: int
    sha256: str
    fetched_at: datetime
    path: Path
    body: bytes


def _label(params: Mapping[str, str]) -> str:
    """The file-name label of a request: its game, date (as yyyy-mm-dd), side and season."""
    parts = []
    for name in _LABEL_PARAMS:
        value = params.get(name, "")
        if re.fullmatch(r"\d{2}/\d{2}/\d{4}", value):
            value = datetime.strptime(value, "%m/%d/%Y").date().isoformat()
        if value:
            parts.append(value)
    return re.sub(r"[^A-Za-z0-9-]+", "-", "_".join(parts)) or "request"


class RawArchive:
    """Writes responses into the archive folder (see the module docstring for the layout)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.index = folder / SOURCE_FOLDER / INDEX_NAME

    def store(
        self, endpoint: str, params: Mapping[str, object], *, url: str, http_status: int, body: bytes,
        fetched_at: datetime,
    ) -> ArchivedResponse:
        """Archive one response (any status) and return it as stored."""
        params = canonical_params(params)
        sha256 = hashlib.sha256(body).hexdigest()
        relative = Path(SOURCE_FOLDER) / endpoint / f"{_label(params)}__{sha256[:12]}.json"
        write_atomically(self.folder / relative, body)
        line = {
            "endpoint": endpoint, "params": params, "url": url, "http_status": http_status, "sha256": sha256,
            "bytes": len(body), "fetched_at": fetched_at.isoformat() + "Z", "file": relative.as_posix(),
        }
        with self.index.open("a", encoding="utf-8") as index:
            index.write(json.dumps(line, ensure_ascii=False) + "\n")
            index.flush()
            os.fsync(index.fileno())
        return ArchivedResponse(endpoint, params, url, http_status, sha256, fetched_at, self.folder / relative, body)


class RawArchiveReader:
    """Serves archived bodies offline through the live client's interface: `get(endpoint, params)`
    returns the latest successful (HTTP 200) response archived for exactly that request."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.index = folder / SOURCE_FOLDER / INDEX_NAME
        self._latest: dict[tuple[str, str], dict] = {}
        if not self.index.is_file():
            raise NotArchivedError(f"no raw archive at {folder}: no {self.index}. Fetch live into that folder first.")
        for number, text in enumerate(self.index.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                line = json.loads(text)
                key = (line["endpoint"], json.dumps(line["params"], sort_keys=True))
                ok = line["http_status"] == 200
            except (ValueError, KeyError, TypeError) as exc:
                raise ArchiveFileError(str(self.index), f"line {number} is not an index entry ({exc})") from exc
            if ok:
                self._latest[key] = line

    def days(self, endpoint: str) -> list[date]:
        """The dates (parameter GameDate) of the successful `endpoint` responses archived, in order."""
        return sorted({date.fromisoformat(line["params"]["GameDate"]) for (name, _), line in self._latest.items()
                       if name == endpoint and "GameDate" in line["params"]})

    def get(self, endpoint: str, params: Mapping[str, object]) -> ArchivedResponse:
        params = canonical_params(params)
        line = self._latest.get((endpoint, json.dumps(params, sort_keys=True)))
        if line is None:
            raise NotArchivedError(
                f"the raw archive {self.folder} has no successful {endpoint} response for {params}; "
                "fetch that day live (with this archive folder) to replay it offline"
            )
        path = self.folder / line["file"]
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise ArchiveFileError(str(path), f"listed in {self.index} but unreadable ({exc})") from exc
        if hashlib.sha256(body).hexdigest() != line["sha256"]:
            raise ArchiveFileError(str(path), f"its sha256 is not the one {self.index} holds: it changed since")
        fetched_at = datetime.fromisoformat(line["fetched_at"].removesuffix("Z"))
        return ArchivedResponse(endpoint, params, line["url"], line["http_status"], line["sha256"], fetched_at, path,
                                body)
