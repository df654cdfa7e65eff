"""Run one nbadb command with every workspace it opens on the store named first (`file` or `lake`),
instead of the one the storage track's routing would pick: how bench/scenarios.py times the same
commands on both stores. A benchmark harness only; the product reaches the lake through the
control plane (`nbadb rollout`).

    python bench/on_store.py lake run --date 2024-04-14
"""

from __future__ import annotations

import sys

from nbadb.rollout import routing
from nbadb.warehouse.stores import STORE_KINDS, Store


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else ""
    if kind not in STORE_KINDS:
        raise SystemExit(f"usage: on_store.py {{{','.join(STORE_KINDS)}}} NBADB-ARGS...")
    routing.serving_store = lambda settings, *, read_only: Store(kind, settings)  # type: ignore[assignment]
    from nbadb.cli.app import main as nbadb

    sys.argv = ["nbadb", *sys.argv[2:]]
    nbadb()


if __name__ == "__main__":
    main()
