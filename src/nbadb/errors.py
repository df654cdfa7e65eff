"""One error hierarchy with messages a user can act on: what happened, where, what to do."""

from __future__ import annotations


class NbadbError(Exception):
    """Base of every error nbadb raises on purpose. The CLI maps it to an exit code."""

    exit_code = 1


class ConfigError(NbadbError):
    """A setting or command-line value is invalid."""

    exit_code = 2


class ArchiveFileError(NbadbError):
    """An archive file is malformed and was rejected whole."""

    exit_code = 3

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}. The file was rejected whole; the warehouse is unchanged.")
        self.path = path
        self.problem = problem


class ArchiveMissingError(NbadbError):
    """A file the requested work needs is absent from the archive folder."""

    exit_code = 3


class WarehouseError(NbadbError):
    """The warehouse cannot be opened or is in an unexpected state."""

    exit_code = 4


class SpecError(NbadbError):
    """The processor declarations are inconsistent (unknown table, cycle, duplicate)."""

    exit_code = 5


class UnknownRunError(NbadbError):
    """A run id or processor name that the ledger does not know."""

    exit_code = 2


class GateError(NbadbError):
    """A rollout transition its gate refused: the unmet items say what evidence is missing."""

    exit_code = 7


class CriteriaNotMet(NbadbError):
    """A provider's exit criteria refuse the stage change asked for (rollout.providers.gate)."""

    exit_code = 7
