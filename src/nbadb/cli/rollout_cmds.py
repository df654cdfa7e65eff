"""The migration control plane's commands: `nbadb flags` and `nbadb rollout status | advance |
rollback | repair | signoff | incident | resolve | parity | audit`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Optional

import typer
from rich.markup import escape

from nbadb.cli.common import (NAME_LIMIT, NOTE_LIMIT, DataTable, JsonOption, command, console, one_line, parse_date,
                              print_json)
from nbadb.errors import ConfigError

rollout_app = typer.Typer(
    help="The migration control plane: four tracks (ingestion, storage, schema, serving) through phases "
    "0 scaffolding, 1 shadow, 2 dual write, 3 legacy retired, behind the strategic flags (`nbadb flags`). "
    "Gates are computed from evidence; every action is kept in an append-only audit.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
ByOption = typer.Option(..., "--by", help="Who does it (kept in the audit).")


def _name(value: str, option: str) -> str:
    return one_line(value, option, "a name", NAME_LIMIT)


def flags(as_json: bool = JsonOption) -> None:
    """Each strategic flag's value and where it came from: the environment, the config file
    (NBADB_CONFIG_FILE, default ./nbadb.toml, table [strategic]) or the default (false)."""
    from nbadb.rollout.flags import load_flags

    values = list(load_flags().values.values())
    if as_json:
        print_json([asdict(v) for v in values])
        return
    table = DataTable(title="strategic flags")
    for col in ("flag", "value", "origin", "source"):
        table.add_column(col)
    for v in values:
        table.add_row(v.name, str(v.enabled).lower(), v.origin, v.source)
    console.print(table)


def _items(items: list) -> list[dict[str, Any]]:
    return [asdict(i) for i in items]


def status(as_json: bool = JsonOption) -> None:
    """Every track: its phase, its flag, when it entered the phase, and its next gate item by item."""
    from nbadb.config import get_settings
    from nbadb.rollout import control
    from nbadb.rollout.flags import load_flags
    from nbadb.rollout.tracks import PHASES, TRACKS
    from nbadb.rollout.transitions import gate, league_game_days

    settings, flag_values = get_settings(), load_flags()
    calendar = league_game_days(settings)  # read once for every track's gate
    rows = []
    for track in TRACKS:
        phase, items = gate(settings, track, calendar)
        with control.control(settings, read_only=True) as con:
            entered = control.phase_entered_at(con, track)
        rows.append({"track": track, "phase": phase, "phase_name": PHASES[phase], "flag": flag_values.track(track),
                     "entered_at": entered, "next_gate": _items(items)})
    if as_json:
        print_json(rows)
        return
    for r in rows:
        console.print(f"[bold]{r['track']}[/]: phase {r['phase']} ({r['phase_name']}), flag "
                      f"{'on' if r['flag'] else 'off'}, since {r['entered_at'] or 'the start'}")
        for i in r["next_gate"]:
            mark = "[green]met[/]" if i["met"] else "[red]missing[/]"
            console.print(f"   {mark} {i['item']}: need {escape(str(i['required']))}; have {escape(str(i['observed']))}",
                          highlight=False)


def _transition(result: Any, as_json: bool) -> None:
    if as_json:
        print_json({**asdict(result), "evidence": _items(list(result.evidence))})
        return
    console.print(f"{result.track}: phase {result.from_phase} → {result.to_phase} (audit {result.audit_id}); "
                  f"{escape(result.note)}", highlight=False)


def advance(track: str = typer.Argument(..., help="ingestion, storage, schema or serving."), by: str = ByOption,
            as_json: bool = JsonOption) -> None:
    """Move a track to its next phase when its gate is met (exit 7 listing what is missing otherwise)."""
    from nbadb.config import get_settings
    from nbadb.rollout.transitions import advance as do_advance

    _transition(do_advance(get_settings(), track, _name(by, "--by")), as_json)


def rollback(track: str = typer.Argument(..., help="ingestion, storage, schema or serving."), by: str = ByOption,
             as_json: bool = JsonOption) -> None:
    """Return a track to its previous phase; the data moves first, so nothing is lost."""
    from nbadb.config import get_settings
    from nbadb.rollout.transitions import rollback as do_rollback

    _transition(do_rollback(get_settings(), track, _name(by, "--by")), as_json)


def repair(track: str = typer.Argument(..., help="storage or schema."),
           day: str = typer.Option(..., "--day", help="The game day the parity taken after it is recorded for."),
           by: str = ByOption) -> None:
    """After an inconsistency in dual write: make the strategic path say what the legacy one says (the
    lake a copy of the file; v2 aligned with v1), and record the parity it then has."""
    from nbadb.config import get_settings
    from nbadb.rollout.transitions import repair as do_repair

    when = parse_date(day, "day")
    note = do_repair(get_settings(), track, _name(by, "--by"), when)
    console.print(f"{track}: {escape(note)}", highlight=False)


def signoff(track: str = typer.Argument(...), item: str = typer.Argument(..., help="plan, review or operations."),
            by: str = ByOption) -> None:
    """Record a signoff a gate counts: plan (0→1), review (1→2, two reviewers), operations (2→3)."""
    from nbadb.config import get_settings
    from nbadb.rollout import control
    from nbadb.rollout.gates import SIGNOFF_ITEMS
    from nbadb.rollout.tracks import check_track

    check_track(track)
    if item not in SIGNOFF_ITEMS:
        raise ConfigError(f"signoff item {item!r}: use one of {', '.join(SIGNOFF_ITEMS)}")
    actor = _name(by, "--by")
    with control.control(get_settings()) as con:
        audit_id = control.record(con, actor=actor, action="signoff", track=track, item=item)
    console.print(f"{track}: {item} signed off by {escape(by)} (audit {audit_id})", highlight=False)


def incident(track: str = typer.Argument(...), severity: str = typer.Option(..., "--severity", help="P0, P1, P2 or P3."),
             note: str = typer.Option(..., "--note", help="What happened."), by: str = ByOption) -> None:
    """Record an incident against a track (a P0/P1 in phase 1 blocks 1→2; an open one blocks 2→3)."""
    from nbadb.config import get_settings
    from nbadb.rollout import control
    from nbadb.rollout.tracks import check_track

    check_track(track)
    if severity not in control.SEVERITIES:
        raise ConfigError(f"--severity {severity!r}: use one of {', '.join(control.SEVERITIES)}")
    actor, what = _name(by, "--by"), one_line(note, "--note", "a note", NOTE_LIMIT)
    with control.control(get_settings()) as con:
        audit_id = control.record(con, actor=actor, action="incident", track=track, severity=severity, note=what)
    console.print(f"{track}: {severity} incident {audit_id} recorded", highlight=False)


def resolve(incident_id: str = typer.Argument(..., help="The incident's audit id."), by: str = ByOption) -> None:
    """Resolve an incident (its record stays)."""
    from nbadb.config import get_settings
    from nbadb.rollout import control

    actor = _name(by, "--by")
    with control.control(get_settings(), read_only=True) as con:  # a refused resolve creates no control plane
        rows = con.execute("SELECT track FROM ops.rollout_audit WHERE audit_id = ? AND action = 'incident'",
                           [incident_id]).fetchall()
        resolved = rows and con.execute(
            "SELECT actor, recorded_at FROM ops.rollout_audit WHERE action = 'resolve' AND resolves = ?",
            [incident_id]).fetchall()
    if not rows:
        raise ConfigError(f"no incident {incident_id!r}; see `nbadb rollout audit --json` (audit_id)")
    if resolved:
        actor_was, at = resolved[0]
        raise ConfigError(f"incident {incident_id!r} was resolved by {actor_was} at {at:%Y-%m-%d %H:%M} UTC")
    with control.control(get_settings()) as con:
        control.record(con, actor=actor, action="resolve", track=rows[0][0], resolves=incident_id)
    console.print(f"incident {escape(incident_id)} resolved", highlight=False)


def parity(track: str = typer.Option("storage", "--track"), samples: int = typer.Option(5, "--samples", min=0, max=100),
           as_json: bool = JsonOption) -> None:
    """The latest row parity of every table of the track (counts, per-column match %, samples of what differs)."""
    from nbadb.config import get_settings
    from nbadb.rollout import control
    from nbadb.rollout.tracks import check_track

    check_track(track)
    with control.control(get_settings(), read_only=True) as con:
        tables = con.execute(
            """SELECT table_name, game_day, legacy_rows, strategic_rows, joined_rows, only_legacy, only_strategic,
                      differing_rows, recorded_at FROM ops.rollout_parity WHERE track = ?
            QUALIFY row_number() OVER (PARTITION BY table_name ORDER BY recorded_at DESC) = 1 ORDER BY 1""",
            [track]).fetchall()
        columns = con.execute(
            """SELECT table_name, column_name, match_pct FROM ops.rollout_parity_columns c WHERE track = ?
            AND recorded_at = (SELECT max(recorded_at) FROM ops.rollout_parity_columns x
                               WHERE x.track = c.track AND x.table_name = c.table_name) AND match_pct < 100
            ORDER BY 1, 2""", [track]).fetchall()
        diverged = con.execute(
            """SELECT game_day, mode, table_name, row_key, column_name, legacy_value, strategic_value
            FROM ops.rollout_divergences WHERE track = ? ORDER BY recorded_at DESC, table_name, row_key LIMIT ?""",
            [track, samples]).fetchall()
    names = ("table", "game_day", "legacy_rows", "strategic_rows", "joined_rows", "only_legacy", "only_strategic",
             "differing_rows", "recorded_at")
    payload = {"tables": [dict(zip(names, t)) for t in tables],
               "columns_below_100": [{"table": t, "column": c, "match_pct": p} for t, c, p in columns],
               "samples": [dict(zip(("game_day", "mode", "table", "key", "column", "legacy", "strategic"), s))
                           for s in diverged]}
    if as_json:
        print_json(payload)
        return
    if not tables:
        console.print(f"no parity recorded for the {track} track yet (dual-write cycles record it)")
    else:
        table = DataTable(title=f"{track}: latest row parity per table")
        for col in ("table", "day", "legacy", "strategic", "only legacy", "only strategic", "differing"):
            table.add_column(col)
        for t in tables:
            table.add_row(t[0], str(t[1]), *(str(n) for n in (t[2], t[3], t[5], t[6], t[7])))
        console.print(table)
    for c in payload["columns_below_100"]:
        console.print(f"{c['table']}.{c['column']}: {c['match_pct']:.2f}% match", highlight=False)
    for s in payload["samples"]:
        console.print(f"{s['game_day']} {s['mode']} {s['table']} key {escape(str(s['key']))} {s['column']}: "
                      f"legacy {escape(repr(s['legacy']))} strategic {escape(repr(s['strategic']))}", highlight=False)


def audit(track: Optional[str] = typer.Option(None, "--track"), as_json: bool = JsonOption) -> None:
    """The append-only audit: who did what when, and the evidence each transition was decided on."""
    from nbadb.config import get_settings
    from nbadb.rollout import control
    from nbadb.rollout.tracks import check_track

    if track is not None:
        check_track(track)
    with control.control(get_settings(), read_only=True) as con:
        rows = con.execute(
            """SELECT a.audit_id, a.recorded_at, a.actor, a.action, a.track, a.from_phase, a.to_phase, a.item,
                      a.severity, a.resolves, a.note,
                      list({'item': e.gate_item, 'required': e.required, 'observed': e.observed, 'met': e.met}
                           ORDER BY e.gate_item) FILTER (WHERE e.gate_item IS NOT NULL)
            FROM ops.rollout_audit a LEFT JOIN ops.rollout_audit_evidence e USING (audit_id)
            WHERE ? IS NULL OR a.track = ? GROUP BY ALL ORDER BY a.recorded_at""", [track, track]).fetchall()
    names = ("audit_id", "recorded_at", "actor", "action", "track", "from_phase", "to_phase", "item", "severity",
             "resolves", "note", "evidence")
    payload = [dict(zip(names, r)) for r in rows]
    if as_json:
        print_json(payload)
        return
    table = DataTable(title="rollout audit")
    for col in ("when (UTC)", "who", "action", "track", "phases", "item / severity", "note"):
        table.add_column(col)
    for r in payload:
        phases = f"{r['from_phase']}→{r['to_phase']}" if r["to_phase"] is not None else ""
        table.add_row(f"{r['recorded_at']:%Y-%m-%d %H:%M:%S}", r["actor"], r["action"], r["track"], phases,
                      r["item"] or r["severity"] or "", r["note"] or "")
    console.print(table)


def register(app: typer.Typer) -> None:
    command(app, flags)
    for fn in (status, advance, rollback, repair, signoff, incident, resolve, parity, audit):
        command(rollout_app, fn)
    app.add_typer(rollout_app, name="rollout")
