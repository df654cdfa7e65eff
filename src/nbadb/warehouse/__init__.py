"""The DuckDB warehouse: connections, versioned migrations and canonical row hashing."""
