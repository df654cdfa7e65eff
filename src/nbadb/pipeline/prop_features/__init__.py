"""precompute.player_prop_features: the point-in-time features the prop prediction systems read
(one row per player-game on the schedule of D), built from the modules beside this one."""
