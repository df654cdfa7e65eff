"""Phase 5 prediction systems: pure functions from prop-feature frames to predictions.

Each system is the compute of one processor part (see engine.parts and pipeline.predictions): it
receives `scope` (precompute.player_prop_features rows of the player-games to predict) and, when it
learns, the frames it asks for, and returns one row per (player_id, game_date, target) it could
predict. A system that cannot predict a row writes nothing for it.
"""
