"""The four migration tracks, the phases each goes through, and the compatibility matrix.

Phases: 0 scaffolding (the legacy path serves, the strategic one exists), 1 shadow (the strategic
path runs beside the legacy one and every answer is compared), 2 dual write / controlled cutover
(both written, row parity after each cycle, a share of readers on the strategic path), 3 legacy
retirement (the strategic path alone).

Compatibility matrix (`RULES`): for each track and phase it may enter, `parallel` (whatever the
other tracks do), `after(track, phase)` (only once that track has reached that phase), or
`exclusive` (phase 3: one track at a time — no other track may be retiring, i.e. have entered
phase 3 less than `SETTLE_GAME_WEEKS` full game-weeks ago; rollout.gates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TRACKS = ("ingestion", "storage", "schema", "serving")
PHASES = {0: "scaffolding", 1: "shadow", 2: "dual write", 3: "legacy retired"}
LAST_PHASE = 3
SETTLE_GAME_WEEKS = 1

RuleKind = Literal["parallel", "after", "exclusive"]


@dataclass(frozen=True)
class Rule:
    kind: RuleKind
    track: str | None = None  # for `after`
    phase: int | None = None

    def describe(self) -> str:
        if self.kind == "after":
            return f"sequential after {self.track} reached phase {self.phase}"
        return "one track at a time" if self.kind == "exclusive" else "parallel"


PARALLEL, EXCLUSIVE = Rule("parallel"), Rule("exclusive")
RULES: dict[tuple[str, int], Rule] = {
    **{(track, 1): PARALLEL for track in TRACKS},
    ("storage", 2): PARALLEL,
    ("ingestion", 2): PARALLEL,
    ("schema", 2): PARALLEL,  # v2 is one more table of whichever store serves
    ("serving", 2): PARALLEL,  # the exports and the API read the same store, whichever serves
    **{(track, 3): EXCLUSIVE for track in TRACKS},
}


def check_track(track: str) -> str:
    from nbadb.errors import ConfigError

    if track not in TRACKS:
        raise ConfigError(f"track {track!r}: use one of {', '.join(TRACKS)}")
    return track
