"""The runtime every processor goes through: spec, run lifecycle, signatures, ledger, events, policies."""
