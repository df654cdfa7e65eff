"""Advancing and rolling back a track: the gate computed and snapshotted into the audit, then the
data moved so that no phase loses any (rollout.storage), then the phase change recorded.

A refused advance is recorded too (action `refused`, with the evidence), and raises GateError
listing every unmet item. A rollback needs no gate: it is always allowed, one phase at a time.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from nbadb.config import Settings
from nbadb.engine.request import utc_now
from nbadb.errors import ConfigError, GateError
from nbadb.orchestrate.exports import export_folder
from nbadb.orchestrate.workspace import open_workspace
from nbadb.rollout import control, gates, ingestion, schema, serving, storage
from nbadb.rollout.control import EvidenceItem
from nbadb.rollout.flags import load_flags
from nbadb.rollout.routing import serving_store
from nbadb.rollout.tracks import LAST_PHASE, PHASES, check_track
from nbadb.warehouse.migrations import LATEST_VERSION, current_version
from nbadb.warehouse.stores import Store


@dataclass(frozen=True)
class Transition:
    track: str
    from_phase: int
    to_phase: int
    audit_id: str
    evidence: tuple[EvidenceItem, ...]
    note: str


def flag_path_check(settings: Settings, track: str) -> EvidenceItem:
    """The track's strategic path opened as its flags open it: the lake taking a write (rolled back),
    the API answering a table read, the raw archive replaying a day, contract v2 holding the mapping."""
    if track == serving.TRACK:
        return _api_answers(settings)
    if track == ingestion.TRACK:
        return ingestion.raw_archive_answers(settings)
    if track == schema.TRACK:
        return schema.contract_answers(settings)
    required = "the strategic path opens through the flag path and takes a write"
    con = Store("lake", settings).open()
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE TABLE ops.rollout_flag_path_probe AS SELECT 1 AS probe")
        con.execute("ROLLBACK")
        version = current_version(con)  # not max(version): migrations are not applied in numeric order
    finally:
        con.close()
    return EvidenceItem("flag_path_check", required, f"lake {settings.lake_location.catalog} at schema {version}",
                        version == LATEST_VERSION)


def _api_answers(settings: Settings) -> EvidenceItem:
    """The serving track's flag path: the API's table read answering on the store that serves."""
    from nbadb.serve.tables import table_answer

    required = "the API answers a table read on the store that serves"
    if not serving_store(settings, read_only=True).exists():
        return EvidenceItem("flag_path_check", required, "no warehouse to read yet", False)
    with open_workspace(settings=settings, read_only=True) as ws:
        table = ws.graph.specs[ws.graph.order[0]].output_table
        answer = table_answer(ws.con, ws.graph, table, None, None, limit=1)
    return EvidenceItem("flag_path_check", required, f"GET /api/v1/tables/{table}: {answer['total']} rows", True)


def league_game_days(settings: Settings) -> frozenset[date]:
    """The league calendar the gates count game-weeks on: every game day of the archive (none without
    one)."""
    from nbadb.serve.calendar import archive_calendar

    if not settings.archive_dir.is_dir():
        return frozenset()
    return frozenset(archive_calendar(settings.archive_dir, settings.checked_cache_dir))


def gate(settings: Settings, track: str, calendar: Collection[date]) -> tuple[int, list[EvidenceItem]]:
    """The track's phase and the checklist of its next transition, as it stands now (`calendar`: the
    league's game days, league_game_days)."""
    flags = load_flags()
    with control.control(settings, read_only=True) as con:
        phase = control.phase_of(con, track)
    if phase == LAST_PHASE:
        return phase, []
    flag_path = (flag_path_check(settings, track) if phase == 0 and flags.track(track)
                 else EvidenceItem("flag_path_check", "the strategic path opens through the flag path",
                                   "not tried: the track's flag is off", False))
    with control.control(settings, read_only=True) as con:
        return phase, gates.advance_items(con, track, flags, calendar, flag_path)


def advance(settings: Settings, track: str, actor: str) -> Transition:
    check_track(track)
    phase, items = gate(settings, track, league_game_days(settings))
    if phase == LAST_PHASE:
        raise ConfigError(f"the {track} track is already in phase {LAST_PHASE} ({PHASES[LAST_PHASE]})")
    unmet = [i for i in items if not i.met]
    with control.control(settings) as con:
        if unmet:
            control.record(con, actor=actor, action="refused", track=track, from_phase=phase, to_phase=phase + 1,
                           evidence=tuple(items))
            raise GateError(f"{track} {phase}→{phase + 1} refused; missing: "
                            + "; ".join(f"{i.item} (need {i.required}, have {i.observed})" for i in unmet))
    note = _move_data(settings, track, phase, phase + 1)
    with control.control(settings) as con:
        audit_id = control.record(con, actor=actor, action="advance", track=track, from_phase=phase,
                                  to_phase=phase + 1, note=note, evidence=tuple(items))
    return Transition(track, phase, phase + 1, audit_id, tuple(items), note)


def rollback(settings: Settings, track: str, actor: str) -> Transition:
    check_track(track)
    with control.control(settings, read_only=True) as con:
        phase = control.phase_of(con, track)
    if phase == 0:
        raise ConfigError(f"the {track} track is in phase 0: nothing to roll back")
    note = _move_data(settings, track, phase, phase - 1)
    evidence = (EvidenceItem("data_moved", "no data lost leaving the phase", note, True),)
    with control.control(settings) as con:
        audit_id = control.record(con, actor=actor, action="rollback", track=track, from_phase=phase,
                                  to_phase=phase - 1, note=note, evidence=evidence)
    return Transition(track, phase, phase - 1, audit_id, evidence, note)


def _move_data(settings: Settings, track: str, from_phase: int, to_phase: int) -> str:
    """What the track's data needs for the move (rollout.storage, rollout.serving, rollout.ingestion,
    rollout.schema), said in a line for the audit."""
    if track == serving.TRACK:
        if to_phase == 3:
            return "the exports retired: no cycle publishes one"
        if to_phase > from_phase or from_phase == 3:
            if not serving_store(settings, read_only=True).exists():
                return "no warehouse yet: nothing to export"
            with open_workspace(settings=settings, read_only=True) as ws:
                export = serving.publish_export(ws, export_folder(settings), utc_now())
            return f"an export of the warehouse as it stands published at {export}"
        return "the exports kept being published; nothing to move"
    if track == ingestion.TRACK:
        return (f"the source kinds read from {settings.live_archive_dir} from now on" if to_phase == 3 else
                f"the source kinds read from the archive files again; {settings.live_archive_dir} kept"
                if from_phase == 3 else "none to move: the archive files are never changed")
    if track == schema.TRACK:
        return schema.move_data(settings, from_phase, to_phase)
    if to_phase in (1, 2) and to_phase > from_phase:
        return f"the lake made a copy of the file: {storage.seed_lake(settings)} rows"
    if to_phase == 3 or from_phase == 3:
        done = storage.apply_pending(settings, to_lake=to_phase == 3)
        return f"{done.runs} pending runs applied to the {'lake' if to_phase == 3 else 'file'}"
    return "the file kept serving; nothing to move"


def repair(settings: Settings, track: str, actor: str, day: date) -> str:
    """Make the strategic path say what the legacy one says again after an inconsistency (dual write
    only: the lake a copy of the file, or v2 aligned with v1), with the parity it then has recorded for
    `day`; kept in the audit as a signoff-free action."""
    check_track(track)
    with control.control(settings, read_only=True) as con:
        phase = control.phase_of(con, track)
    if track not in (storage.TRACK, schema.TRACK) or phase != 2:
        raise ConfigError("repair makes the strategic path say what the legacy one says, in phase 2 of the storage "
                          f"track (the lake copied from the file) or the schema track (v2 from v1); {track} is in "
                          f"phase {phase}")
    diffs = storage.repair_lake(settings, day) if track == storage.TRACK else [schema.repair(settings, day)]
    unequal = [d.table for d in diffs if not d.equal]
    what = "lake copied from the file" if track == storage.TRACK else "v2 aligned with v1"
    note = f"{what}; parity of {len(diffs)} tables, unequal: {', '.join(unequal) or 'none'}"
    with control.control(settings) as con:
        control.record(con, actor=actor, action="repair", track=track, from_phase=phase, to_phase=None, note=note)
    return note
