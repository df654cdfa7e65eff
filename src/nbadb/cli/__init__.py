"""The `nbadb` command line: parse, call a service, render. Nothing imports this package."""
