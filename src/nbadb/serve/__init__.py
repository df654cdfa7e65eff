"""`nbadb serve`: one long-running process that owns the warehouse, runs the day's cycles at the hours
the game calendar sets, and serves the dashboard, the read-only API and the metrics.

Imported only by the `serve` command (and the commands that read its schedule): `import nbadb`
and the other commands never load the scheduler or the HTTP server.
"""
