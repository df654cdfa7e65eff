"""Read-only views over the warehouse: status, ledger queries, decision reports."""
