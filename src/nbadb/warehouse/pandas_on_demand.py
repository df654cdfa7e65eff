"""pandas loaded when something uses it, not when DuckDB binds a query parameter.

DuckDB 1.4's Python client asks, for every non-null value bound to a `?`, whether it is pandas'
`NaT` or `NA`, and imports pandas to find out (0.3 s and 80 MB: a no-op `nbadb run` spent a third of
its time there, and most commands bind no pandas value ever). The client keeps the module it was
given once in its own import cache and looks each attribute up through it.

`defer_pandas()` hands the client a stand-in once, before any parameter is bound, then takes the
stand-in out of `sys.modules`, so a later `import pandas` loads the real library as usual. Through
the stand-in:
- `NaT` and `NA` do not exist while the real pandas is not loaded (no value can be one of them before
  it is), and are the real ones once it is (the client then caches them);
- any other attribute (`DataFrame` to build `.df()`'s result, say) loads the real pandas and is its.
"""

from __future__ import annotations

import importlib
import sys
import types
from functools import cache

import duckdb

PANDAS = "pandas"
# The attributes the client reads for each bound value: pandas' missing-value singletons.
MISSING_VALUES = frozenset({"NaT", "NA"})


class _PandasStandIn(types.ModuleType):
    """What DuckDB's import cache holds as pandas (module docstring)."""

    def __getattr__(self, name: str) -> object:
        real = sys.modules.get(PANDAS)
        if real is None or real is self:
            if name in MISSING_VALUES:
                raise AttributeError(name)
            real = importlib.import_module(PANDAS)
        return getattr(real, name)


@cache
def defer_pandas() -> None:
    """Give DuckDB's import cache the stand-in, once per process, unless pandas is loaded already
    (then there is nothing to defer)."""
    if PANDAS in sys.modules:
        return
    stand_in = _PandasStandIn(PANDAS)
    sys.modules[PANDAS] = stand_in
    try:
        with duckdb.connect() as con:
            con.execute("SELECT ?", [0]).fetchall()
    finally:
        if sys.modules.get(PANDAS) is stand_in:
            del sys.modules[PANDAS]
