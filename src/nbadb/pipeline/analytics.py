"""Phase 3: per-game analytics (filled in by the engine issue)."""

from __future__ import annotations

ANALYTICS_PROCESSORS: tuple = ()
