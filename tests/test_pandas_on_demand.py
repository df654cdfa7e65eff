"""pandas is loaded when something uses it, not when DuckDB binds a parameter
(warehouse.pandas_on_demand); each case runs in a fresh interpreter, where pandas is not loaded yet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

from conftest import ReplayedWindow


def _fresh_python(code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_no_op_run_on_a_replayed_warehouse_loads_no_pandas(
        replayed_window: ReplayedWindow, copy_warehouse: Callable[[Path, Path], Path], archive_dir: Path,
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    copy_warehouse(replayed_window.data_dir, data_dir)
    code = ("import json, sys\n"
            "from nbadb.cli.app import app\n"
            "try:\n"
            "    app(['run', '--date', '2023-11-14', '--json'], standalone_mode=False)\n"
            "except SystemExit:\n"
            "    pass\n"
            "print(json.dumps({'pandas': 'pandas' in sys.modules}))\n")
    env = {**os.environ, "NBADB_DATA_DIR": str(data_dir), "NBADB_ARCHIVE_DIR": str(archive_dir)}
    out = _fresh_python(code, env).strip().splitlines()
    runs = json.loads("\n".join(out[:-1]))
    assert runs and {r["status"] for r in runs} == {"skipped"}, runs  # a true no-op, every processor asked
    assert json.loads(out[-1]) == {"pandas": False}


def test_pandas_values_bind_as_null_and_frames_scan_once_pandas_is_loaded() -> None:
    code = (
        "import sys\n"
        "from nbadb.warehouse.pandas_on_demand import defer_pandas\n"
        "import duckdb\n"
        "defer_pandas()\n"
        "con = duckdb.connect()\n"
        "assert con.execute('SELECT ?, ?', ['a', 1]).fetchall() == [('a', 1)]\n"
        "assert 'pandas' not in sys.modules\n"
        "frame = con.execute('SELECT 1 AS a').df()\n"  # building a result frame loads pandas
        "import pandas as pd\n"
        "assert isinstance(frame, pd.DataFrame) and frame['a'].tolist() == [1]\n"
        "assert con.execute('SELECT ? IS NULL, ? IS NULL, ? IS NULL', [pd.NaT, pd.NA, 3]).fetchall() == [(True, True, False)]\n"
        "values = pd.DataFrame({'x': pd.Series(['a', pd.NaT, pd.NA, None], dtype=object)})\n"
        "assert con.execute('SELECT x IS NULL FROM values').fetchall() == [(False,), (True,), (True,), (True,)]\n"
        "print('ok')\n")
    assert _fresh_python(code).strip() == "ok"
