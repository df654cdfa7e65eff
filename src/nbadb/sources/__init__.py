"""Phase 1 adapters: what a source published, staged for the raw processors to read."""
