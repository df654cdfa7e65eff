"""Phase 5 prediction systems: pure functions from feature-store frames to predictions.

Each system is the compute of one processor part (see engine.parts and pipeline.predictions):
it receives `scope` (the feature-store rows of the player-games to predict) and, when it learns
from the past, `history` (usable feature-store rows of earlier games joined to their actual
results) and returns one row per (player_id, game_date, target) it could predict.
"""
