"""The six strategic flags, exactly as named, from the environment or a config file; false by default.

A flag's value comes from, in order: the environment variable of its name; the `[strategic]` table
of the config file (`NBADB_CONFIG_FILE`, default `nbadb.toml` in the working folder when present),
keyed by the same name; else its default, false. `nbadb flags` shows each value and its origin.

A track flag switches its track's strategic path on (rollout.tracks); the phase flags switch the
phase machinery on for every track: shadow runs (phase 1) and dual writes (phase 2). A flag is a
kill switch, the phase a track has reached is the rollout's state (rollout.control): with every
flag false nothing the control plane owns runs, and the legacy paths serve.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nbadb.errors import ConfigError

TRACK_FLAGS = {
    "ingestion": "NBADB_STRATEGIC_TRACK_INGESTION_V2_ENABLED",
    "storage": "NBADB_STRATEGIC_TRACK_STORAGE_V2_ENABLED",
    "schema": "NBADB_STRATEGIC_TRACK_SCHEMA_V2_ENABLED",
    "serving": "NBADB_STRATEGIC_TRACK_SERVING_V2_ENABLED",
}
SHADOW_FLAG = "NBADB_STRATEGIC_PHASE_1_SHADOW_MODE_ENABLED"
DUAL_WRITE_FLAG = "NBADB_STRATEGIC_PHASE_2_DUAL_WRITE_ENABLED"
FLAG_NAMES = (*TRACK_FLAGS.values(), SHADOW_FLAG, DUAL_WRITE_FLAG)
CONFIG_FILE_VARIABLE = "NBADB_CONFIG_FILE"
DEFAULT_CONFIG_FILE = Path("nbadb.toml")
CONFIG_TABLE = "strategic"

Origin = Literal["environment", "config file", "default"]
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


@dataclass(frozen=True)
class FlagValue:
    name: str
    enabled: bool
    origin: Origin
    source: str  # the variable, or the config file's path, or "default"


@dataclass(frozen=True)
class StrategicFlags:
    values: dict[str, FlagValue]

    def enabled(self, name: str) -> bool:
        return self.values[name].enabled

    def track(self, track: str) -> bool:
        return self.enabled(TRACK_FLAGS[track])

    @property
    def shadow(self) -> bool:
        return self.enabled(SHADOW_FLAG)

    @property
    def dual_write(self) -> bool:
        return self.enabled(DUAL_WRITE_FLAG)

    @property
    def any(self) -> bool:
        return any(v.enabled for v in self.values.values())


def config_file(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path | None:
    """The config file in force: the one NBADB_CONFIG_FILE names (it must exist), else nbadb.toml here."""
    named = environ.get(CONFIG_FILE_VARIABLE)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"{CONFIG_FILE_VARIABLE}={named!r}: no such file")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _from_file(path: Path) -> dict[str, object]:
    try:
        table = tomllib.loads(path.read_text()).get(CONFIG_TABLE, {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: [{CONFIG_TABLE}] must be a table of flag = true/false")
    unknown = sorted(set(table) - set(FLAG_NAMES))
    if unknown:
        raise ConfigError(f"config file {path}: unknown flag {unknown[0]!r} in [{CONFIG_TABLE}]; "
                          f"the flags are {', '.join(FLAG_NAMES)}")
    return table


def _boolean(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigError(f"{where}={value!r}: use true or false")


def load_flags(environ: dict[str, str] | os._Environ[str] = os.environ) -> StrategicFlags:
    """Every flag's value and where it came from (module docstring)."""
    path = config_file(environ)
    in_file = _from_file(path) if path else {}
    values = {}
    for name in FLAG_NAMES:
        if name in environ:
            values[name] = FlagValue(name, _boolean(environ[name], name), "environment", name)
        elif name in in_file:
            values[name] = FlagValue(name, _boolean(in_file[name], f"{path}: {name}"), "config file", str(path))
        else:
            values[name] = FlagValue(name, False, "default", "default")
    return StrategicFlags(values)
