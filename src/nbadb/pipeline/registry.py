"""Every processor nbadb runs, assembled into one checked graph."""

from __future__ import annotations

from functools import lru_cache

from nbadb.engine.dag import ProcessorGraph
from nbadb.pipeline.provider_stages import AUDIT_TABLE, PROVIDER_STAGES
from nbadb.pipeline.raw import SOURCE_TABLES
from nbadb.pipeline.raw_v2 import CONTRACTS, Contract, raw_processors


@lru_cache(maxsize=len(CONTRACTS))
def build_graph(contract: Contract = "v1") -> ProcessorGraph:
    """The graph of the box scores' contract in use (pipeline.raw_v2; the schema track decides which)."""
    from nbadb.pipeline.analytics import ANALYTICS_PROCESSORS
    from nbadb.pipeline.features import ML_FEATURE_STORE
    from nbadb.pipeline.precompute import PRECOMPUTE_PROCESSORS
    from nbadb.pipeline.predictions import PREDICTION_PROCESSORS
    from nbadb.pipeline.prop_features.processor import PLAYER_PROP_FEATURES
    from nbadb.pipeline.provider_lines import PROVIDER_LINES
    from nbadb.pipeline.provider_shadow import PROVIDER_SHADOW
    from nbadb.pipeline.provider_telemetry import FEED_TABLE, PROVIDER_TELEMETRY
    from nbadb.pipeline.upcoming import UPCOMING_PROCESSORS

    return ProcessorGraph(
        [*raw_processors(contract), PROVIDER_STAGES, *ANALYTICS_PROCESSORS, *UPCOMING_PROCESSORS, PROVIDER_LINES,
         *PRECOMPUTE_PROCESSORS, ML_FEATURE_STORE, PLAYER_PROP_FEATURES, *PREDICTION_PROCESSORS, PROVIDER_SHADOW, PROVIDER_TELEMETRY],
        SOURCE_TABLES | {AUDIT_TABLE, FEED_TABLE},
    )
