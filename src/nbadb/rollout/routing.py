"""Where a consumer's reads go, by a track's phase behind its flags: which store serves a command (the
storage track), and whether `nbadb read` asks the exports or the API (the serving track).

- Storage flag off, or the track in phase 0 or 1: the file (legacy) serves reads and writes.
- Phase 2 (dual write) with the dual-write flag on: writes go to the file (the lake is fed from it);
  reads go to the lake for `NBADB_STRATEGIC_READ_SHARE` percent of consumers, sticky per consumer:
  a consumer (`NBADB_CONSUMER`, default user@host) reads from the lake when its bucket, the first
  8 hex digits of md5("storage:<consumer>") modulo 100, is below the share.
- Phase 3 (legacy retired): the lake serves everything. With the storage flag off this is refused:
  the file stopped being written when the track retired it, so roll the track back first.

- The serving track sends a read to the API in phase 3, and in phase 2 with the dual-write flag on
  for the consumers whose bucket on "serving" is below the share; to the latest export otherwise.

- The schema track decides the box scores' contract every workspace's graph writes (pipeline.raw_v2):
  v1 with its flag off or outside its phase's mode, both side by side in shadow and dual write, v2
  alone in phase 3 (refused with the flag off, as the storage track's phase 3 is).

With every flag false the control plane is opened only when one exists (to refuse a retired file),
and never created.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import socket

from nbadb.config import Settings
from nbadb.errors import ConfigError
from nbadb.pipeline.raw_v2 import Contract
from nbadb.rollout.control import control, cycle_mode, phase_of
from nbadb.rollout.flags import TRACK_FLAGS, load_flags
from nbadb.warehouse.stores import Store

CONSUMER_VARIABLE = "NBADB_CONSUMER"
READ_SHARE_VARIABLE = "NBADB_STRATEGIC_READ_SHARE"


def consumer_id() -> str:
    return os.environ.get(CONSUMER_VARIABLE) or f"{getpass.getuser()}@{socket.gethostname()}"


def read_share() -> int:
    """Percent of consumers whose reads go to the strategic store in phase 2 (0-100, default 0)."""
    text = os.environ.get(READ_SHARE_VARIABLE, "0")
    if not (text.isascii() and text.isdigit()) or int(text) > 100:
        raise ConfigError(f"{READ_SHARE_VARIABLE}={text!r}: give a whole percentage from 0 to 100")
    return int(text)


def bucket(track: str, consumer: str) -> int:
    """The consumer's sticky bucket (0-99) on a track."""
    return int(hashlib.md5(f"{track}:{consumer}".encode()).hexdigest()[:8], 16) % 100


def _strategic_share(track: str, phase: int, dual_write: bool) -> bool:
    """Phase 2 with dual write on: this consumer is among the share routed to the strategic path."""
    return phase == 2 and dual_write and bucket(track, consumer_id()) < read_share()


def reads_from_api(settings: Settings) -> bool:
    """The serving track's routing of this consumer's table reads (module docstring)."""
    flags = load_flags()
    if not flags.track("serving"):
        return False
    with control(settings, read_only=True) as con:
        phase = phase_of(con, "serving")
    return phase == 3 or _strategic_share("serving", phase, flags.dual_write)


def serving_store(settings: Settings, *, read_only: bool) -> Store:
    """The store a command opens (module docstring)."""
    flags = load_flags()
    if not flags.track("storage"):
        if settings.control_path.is_file():
            with control(settings, read_only=True) as con:
                if phase_of(con, "storage") == 3:
                    raise ConfigError(f"the storage track is in phase 3 (the lake alone is written), but "
                                      f"{TRACK_FLAGS['storage']} is off; roll the track back "
                                      "(`nbadb rollout rollback storage`) before switching its flag off")
        return Store("file", settings)
    with control(settings, read_only=True) as con:
        phase = phase_of(con, "storage")
    if phase == 3:
        return Store("lake", settings)
    if read_only and _strategic_share("storage", phase, flags.dual_write):
        return Store("lake", settings)
    return Store("file", settings)


def schema_contract(settings: Settings) -> Contract:
    """The box scores' contract the pipeline writes (module docstring)."""
    flags = load_flags()
    if not flags.track("schema") and not settings.control_path.is_file():
        return "v1"
    with control(settings, read_only=True) as con:
        phase = phase_of(con, "schema")
    mode = cycle_mode("schema", phase, flags)
    if phase == 3 and mode is None:
        raise ConfigError(f"the schema track is in phase 3 (contract v2 alone is written), but "
                          f"{TRACK_FLAGS['schema']} is off; roll the track back "
                          "(`nbadb rollout rollback schema`) before switching its flag off")
    return {None: "v1", "shadow": "v1+v2", "dual_write": "v1+v2", "strategic": "v2"}[mode]
