"""Exception types raised by :mod:`credibility`.

Every error the package raises on purpose is a :class:`CredibilityError`, so
callers (and the CLI) can tell a problem with the user's input apart from a bug.
"""

from __future__ import annotations

from typing import Any


class CredibilityError(Exception):
    """Base class of every error raised on purpose by ``credibility``."""


class SpecError(CredibilityError):
    """A model specification (``models/*.toml``) is malformed or inconsistent."""


class FitError(CredibilityError):
    """Sampling could not run (bad backend, arguments, or a failed sampler)."""


class PredictionError(CredibilityError):
    """The outcome model cannot be fitted or a prediction cannot be made as asked."""


class CompareError(CredibilityError):
    """Fits cannot be compared: different data or observations, or an approximate fit."""


class CredibilityDataError(CredibilityError):
    """An input table violates the data contract.

    The message names the file (or table), the data row, the column, the value
    found and what was expected, so the user can fix the input directly.

    Examples
    --------
    >>> err = CredibilityDataError(
    ...     "value must be a count (integer >= 0)",
    ...     file="signals.csv", row=3, column="value", value="-2",
    ... )
    >>> str(err)
    "signals.csv, row 3 (line 4), column 'value': got '-2'; value must be a count (integer >= 0)"
    """

    def __init__(
        self,
        expected: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
    ) -> None:
        self.expected = expected
        self.file = file
        self.row = row
        self.column = column
        self.value = value
        super().__init__(self._format())

    def _format(self) -> str:
        where = [self.file or "input"]
        if self.row is not None:
            # Data rows are numbered from 1; the header is line 1 of the file.
            where.append(f"row {self.row} (line {self.row + 1})")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = ", ".join(where)
        if self.value is not None:
            text += f": got {str(self.value)!r}; {self.expected}"
        else:
            text += f": {self.expected}"
        return text
