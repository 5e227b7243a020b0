"""The data contract's columns, and input tables read as text cells.

Every cell of the commitments, signals and cases tables is read as a stripped string
(from a CSV file, or from a DataFrame turned into the text a CSV would hold) into a
:class:`_Table`, whose methods parse columns and raise
:class:`~credibility.errors.CredibilityDataError` naming the file, the data row
(1 = first row after the header), the column, the value and what was expected. The
functions at the end write the validated tables back as contract-format CSV text.

Examples
--------
>>> read_text_cells("no/such.csv")
Traceback (most recent call last):
...
credibility.errors.CredibilityDataError: no/such.csv: no such file
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from credibility.errors import CredibilityDataError

__all__ = [
    "CASE_COLUMNS",
    "COMMITMENT_COLUMNS",
    "MAX_PERIODS",
    "SIGNAL_COLUMNS",
    "PathLike",
    "read_text_cells",
]

#: Columns of the commitments table; all but ``end`` are required.
COMMITMENT_COLUMNS = (
    "commitment_id",
    "guarantor",
    "protege",
    "alliance",
    "region",
    "type",
    "start",
    "end",
)
#: Columns of the signals table; a row names a ``commitment_id`` or an ``alliance``.
SIGNAL_COLUMNS = (
    "commitment_id",
    "alliance",
    "period",
    "signal",
    "value",
    "trials",
    "exposure",
    "source",
)
#: Named columns of the cases table (``outcome`` optional); other columns are extras.
CASE_COLUMNS = ("case_id", "commitment_id", "period", "outcome")
#: Longest span of periods accepted. A longer one is almost always a typo such as
#: ``20004`` for ``2004``, which would otherwise silently stretch every ongoing
#: commitment (and the latent state grid) over thousands of periods.
MAX_PERIODS = 10_000

# ASCII digits only: Python's int()/float() also accept other scripts' digits and
# underscores, which are typos in a CSV rather than numbers. Fifteen digits keep
# every period exact in int64 and float64.
_INTEGER = r"[+-]?[0-9]{1,15}"
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_DEFAULT_NAMES = {
    "commitments": "commitments table",
    "signals": "signals table",
    "cases": "cases table",
}
_FRAME_SOURCE = "<DataFrame>"

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class _Table:
    """One input table as stripped text cells, indexed by 1-based data-row number."""

    name: str
    frame: pd.DataFrame

    def fail_first(self, bad: pd.Series, column: str, expected: str | Callable[[int], str]) -> None:
        """Raise for the first row where ``bad`` holds (``expected`` may depend on the row)."""
        if bad.any():
            row = int(bad.idxmax())
            raise CredibilityDataError(
                expected(row) if callable(expected) else expected,
                file=self.name,
                row=row,
                column=column,
                value=self.frame.at[row, column],
            )

    def require_cells(self, columns: tuple[str, ...]) -> None:
        for column in columns:
            self.fail_first(self.frame[column] == "", column, "a value is required")

    def integers(self, column: str, *, optional: bool = False) -> pd.Series:
        """Parse integer periods; empty cells (if ``optional``) become 0."""
        cells = self.frame[column]
        empty = cells == ""
        ok = cells.str.fullmatch(_INTEGER) | (empty & optional)
        self.fail_first(~ok, column, "expected an integer period (e.g. 2004)")
        return cells.where(~empty, "0").astype(np.int64)

    def numbers(self, column: str, *, optional: bool = False) -> pd.Series:
        """Parse finite decimal numbers; empty cells (if ``optional``) become NaN."""
        cells = self.frame[column]
        empty = cells == ""
        ok = cells.str.fullmatch(_NUMBER) | (empty & optional)
        self.fail_first(~ok, column, "expected a finite number")
        values = cells.where(~empty, "nan").astype(np.float64)
        # Overflowing text such as 1e309 parses to inf.
        self.fail_first(np.isinf(values), column, "expected a finite number")
        return values

    def duplicates(
        self, keys: pd.DataFrame | pd.Series, column: str, what: str | Callable[[int], str]
    ) -> None:
        """Raise at the first repeated key, naming the row where it was first seen."""
        repeated = keys.duplicated(keep="first")
        if repeated.any():
            frame = keys.to_frame() if isinstance(keys, pd.Series) else keys
            first = frame.drop_duplicates(keep="first")
            first_row = dict(zip(map(tuple, first.to_numpy().tolist()), first.index, strict=True))

            def expected(row: int) -> str:
                earlier = first_row[tuple(frame.loc[row].tolist())]
                return (
                    f"duplicate {what(row) if callable(what) else what} "
                    f"(first seen in row {earlier})"
                )

            self.fail_first(repeated, column, expected)


def read_text_cells(path: PathLike) -> pd.DataFrame:
    """Every cell of a CSV file as text; row 0 is the header, blank lines are kept.

    Problems reading the file (missing, not UTF-8, empty, ragged) raise
    :class:`CredibilityDataError` naming it. Keeping the header as a row lets
    repeated column names be reported, and keeping blank lines keeps row numbers
    equal to the file's.

    Examples
    --------
    >>> read_text_cells("no/such.csv")
    Traceback (most recent call last):
    ...
    credibility.errors.CredibilityDataError: no/such.csv: no such file
    """
    name = os.fspath(path)
    try:
        # The header is read as a data row so that repeated column names can be
        # reported (pandas would silently rename them), and blank lines are kept
        # so that row numbers in messages match the file. "utf-8-sig" is UTF-8
        # that also drops the byte-order mark spreadsheet programs write.
        cells = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            header=None,
            skip_blank_lines=False,
        )
    except FileNotFoundError:
        raise CredibilityDataError("no such file", file=name) from None
    except UnicodeDecodeError as exc:
        raise CredibilityDataError(
            f"not UTF-8 text (byte {exc.start}); save the table as UTF-8 CSV", file=name
        ) from None
    except pd.errors.EmptyDataError:
        raise CredibilityDataError(
            "the file is empty; expected a header row naming the columns", file=name
        ) from None
    except pd.errors.ParserError as exc:
        detail = str(exc).replace("Error tokenizing data. C error: ", "").strip()
        raise CredibilityDataError(
            f"not a valid CSV table ({detail}); every line needs as many comma-separated "
            "fields as the header, and quotes must be closed",
            file=name,
        ) from None
    except OSError as exc:
        raise CredibilityDataError(f"cannot read the file ({exc})", file=name) from None
    return cells


def _read_csv(path: PathLike) -> _Table:
    cells = read_text_cells(path)
    return _make_table(os.fspath(path), cells.iloc[0].tolist(), cells.iloc[1:])


def _frame_table(frame: pd.DataFrame, name: str) -> _Table:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name}: expected a pandas DataFrame, got {type(frame).__name__}")
    header = [_cell_text(column) for column in frame.columns]
    # By position: a filtered frame's index (e.g. 2, 7, 9) must not realign the rows.
    body = pd.DataFrame(
        {i: _text_column(frame.iloc[:, i]).to_numpy() for i in range(frame.shape[1])},
        index=pd.RangeIndex(len(frame)),
    )
    return _make_table(name, header, body)


def _make_table(name: str, header: list[Any], body: pd.DataFrame) -> _Table:
    names = ["" if pd.isna(h) else str(h).strip() for h in header]
    for position, column in enumerate(names, start=1):
        if not column:
            raise CredibilityDataError(
                f"header field {position} is empty; every column needs a name", file=name
            )
        if names.index(column) + 1 != position:
            raise CredibilityDataError(
                f"column appears twice in the header (fields {names.index(column) + 1} and "
                f"{position})",
                file=name,
                column=column,
            )
    text = body.fillna("").astype(str)
    cells = pd.DataFrame(
        {column: text.iloc[:, i].str.strip().to_numpy() for i, column in enumerate(names)},
        index=pd.RangeIndex(1, len(text) + 1),
        dtype=str,
    )
    return _Table(name, cells[(cells != "").any(axis=1)])


def _check_columns(
    table: _Table, required: tuple[str, ...], allowed: tuple[str, ...] | None
) -> None:
    """Unknown columns first (a typo shows up as one), then missing ones."""
    present = list(table.frame.columns)
    if allowed is not None:
        for column in present:
            if column not in allowed:
                raise CredibilityDataError(
                    f"unknown column; the allowed columns are {', '.join(allowed)}",
                    file=table.name,
                    column=column,
                )
    for column in required:
        if column not in present:
            raise CredibilityDataError(
                f"missing required column; the header has {', '.join(present)}",
                file=table.name,
                column=column,
            )
    if table.frame.empty:
        raise CredibilityDataError("the table has no data rows", file=table.name)


# --------------------------------------------------------------------------- helpers


def _is_whole(values: pd.Series) -> pd.Series:
    return np.isfinite(values) & (values == np.floor(values))


def _unique(values: pd.Series) -> tuple[str, ...]:
    return tuple(pd.unique(values))


def _listing(names: tuple[str, ...], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names)} in all)"


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _float_text(value: float) -> str:
    """Shortest text that reads back as the same float; whole numbers without '.0'."""
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _cell_text(value: Any) -> str:
    """The text a CSV cell would hold for one DataFrame value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return "" if math.isnan(value) else _float_text(float(value))
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    return str(value)


def _text_column(values: pd.Series) -> pd.Series:
    # Only plain numpy integers convert directly: nullable Int64 would print "<NA>".
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":
        return values.astype(str)
    return values.astype(object).map(_cell_text).astype(str)


def _float_column(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "" if math.isnan(v) else _float_text(v)).astype(str)


def _csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")

