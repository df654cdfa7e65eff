"""The processors as declarations, one module per phase; `registry` assembles the graph."""
