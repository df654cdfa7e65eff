"""The migration control plane: strategic flags, the four migration tracks, shadow runs, dual writes
with row-level parity, evidence gates, the append-only audit and rollback."""
