"""The project's own exceptions: each carries a sentence a BI analyst can act on."""

from __future__ import annotations


class SendScorecardError(Exception):
    """An error the user can fix (a bad file, a missing setting); printed without a traceback."""


class SourceFormatError(SendScorecardError):
    """A file breaks its source's schema contract; the message names the file, row and column."""

    def __init__(self, file: str, problem: str, row: int | None = None, column: str | None = None):
        self.file, self.row, self.column, self.problem = file, row, column, problem
        where = [f"row {row}"] if row is not None else []
        if column is not None:
            where.append(f"column '{column}'")
        location = f" ({', '.join(where)})" if where else ""
        super().__init__(f"{file}{location}: {problem}")


class UnknownSourceError(SendScorecardError):
    """A file matches no registered source."""
