"""nbadb: a local-first NBA data pipeline that never redoes work whose inputs did not change."""

__version__ = "0.1.0"
