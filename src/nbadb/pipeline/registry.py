"""Every processor nbadb runs, assembled into one checked graph."""

from __future__ import annotations

from functools import lru_cache

from nbadb.engine.dag import ProcessorGraph
from nbadb.pipeline.raw import RAW_PROCESSORS, SOURCE_TABLES


@lru_cache(maxsize=1)
def build_graph() -> ProcessorGraph:
    from nbadb.pipeline.analytics import ANALYTICS_PROCESSORS
    from nbadb.pipeline.features import ML_FEATURE_STORE
    from nbadb.pipeline.precompute import PRECOMPUTE_PROCESSORS
    from nbadb.pipeline.predictions import PREDICTION_PROCESSORS
    from nbadb.pipeline.upcoming import UPCOMING_PROCESSORS

    return ProcessorGraph(
        [*RAW_PROCESSORS, *ANALYTICS_PROCESSORS, *UPCOMING_PROCESSORS, *PRECOMPUTE_PROCESSORS, ML_FEATURE_STORE,
         *PREDICTION_PROCESSORS],
        SOURCE_TABLES,
    )
