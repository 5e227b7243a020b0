"""Reading a source file as text and parsing its columns with errors that name the cell.

Every loader in :mod:`credibility.sources` reads the user's file with
:func:`read_source`: all cells as stripped strings, header names lower-cased (the
original releases spell ``stateA``, the staged copies ``ccode1``), gzip-compressed
files (``.csv.gz``) decompressed on the fly. The loader then picks the file's layout
with :meth:`SourceTable.layout` and parses the columns it needs with
:meth:`SourceTable.integers`, :meth:`SourceTable.numbers` or :meth:`SourceTable.codes`.
A bad file raises :class:`~credibility.errors.CredibilityDataError` naming the file,
the data row (1 = first row after the header), the column and what was expected,
never a pandas traceback.

Examples
--------
>>> path = example_file("years.csv", "ccode,Year", "2,1990", "20,19x1")
>>> table = read_source(path, "example source")
>>> table.columns
('ccode', 'year')
>>> table.integers("year")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
credibility.errors.CredibilityDataError: ...years.csv (example source), row 2 (line 3), \
column 'year': got '19x1'; expected a year (an integer such as 1990)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from credibility.errors import CredibilityDataError

__all__ = ["MISSING_CODE", "PathLike", "SourceTable", "example_file", "read_source"]

PathLike = str | os.PathLike[str]

#: The Correlates of War projects' code for a missing value (e.g. in the NMC release).
MISSING_CODE = "-9"

# R writes whole doubles as "1990" but some exports give "1990.0": both are integers.
_WHOLE = r"[+-]?[0-9]{1,15}(?:\.0*)?"
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
# Years a source can plausibly hold; anything else is a typo or a shifted column.
_FIRST_YEAR, _LAST_YEAR = 1000, 2999


@dataclass(frozen=True)
class SourceTable:
    """One source file as stripped text cells, indexed by data row (1 = first row).

    ``name`` is the file as the user gave it and ``source`` what the file should
    hold (e.g. ``"ATOP"``); both appear in error messages.
    """

    name: str
    source: str
    frame: pd.DataFrame

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names, lower-cased, in file order."""
        return tuple(self.frame.columns)

    @property
    def label(self) -> str:
        """The file and what it should hold, as error messages name it."""
        return f"{self.name} ({self.source})"

    def fail(self, expected: str, *, row: int | None = None, column: str | None = None,
             value: object = None) -> CredibilityDataError:
        """The error to raise for a problem with this file."""
        return CredibilityDataError(expected, file=self.label, row=row, column=column,
                                    value=value)

    def fail_first(self, bad: pd.Series, column: str,
                   expected: str | Callable[[int], str]) -> None:
        """Raise for the first row where ``bad`` holds."""
        if bad.any():
            row = int(bad.idxmax())
            raise self.fail(expected(row) if callable(expected) else expected, row=row,
                            column=column, value=self.frame.at[row, column])

    def layout(self, layouts: Mapping[str, Sequence[str]]) -> str:
        """The first layout (name -> required columns) whose columns the file has.

        Without a match, the error names the first column the first (preferred)
        layout misses and lists every layout's columns.
        """
        for name, required in layouts.items():
            if all(column in self.frame for column in required):
                return name
        preferred = next(iter(layouts.values()))
        missing = next(column for column in preferred if column not in self.frame)
        described = "; or ".join(
            f"{name}: {', '.join(required)}" for name, required in layouts.items()
        )
        raise self.fail(f"missing column; expected the columns of a known layout ({described})",
                        column=missing)

    def integers(self, column: str, *, missing: Collection[str] = (),
                 what: str = "an integer") -> pd.Series:
        """Parse whole numbers (``1990`` or ``1990.0``); cells in ``missing`` become <NA>.

        Returns a nullable ``Int64`` series when ``missing`` is given, else ``int64``.
        ``column="year"`` (or ``what="a year"``) also checks 1000..2999.
        """
        cells = self.frame[column]
        absent = cells.isin(list(missing)) if missing else pd.Series(False, index=cells.index)
        is_year = what == "a year" or column == "year"
        if is_year:
            what = "a year (an integer such as 1990)"
        self.fail_first(~(cells.str.fullmatch(_WHOLE) | absent), column, f"expected {what}")
        whole = cells.where(~absent, "0").str.replace(r"\.0*$", "", regex=True)
        values = whole.astype(np.int64)
        if is_year:
            self.fail_first(((values < _FIRST_YEAR) | (values > _LAST_YEAR)) & ~absent, column,
                            f"expected {what}")
        if missing:
            return values.astype("Int64").mask(absent)
        return values

    def numbers(self, column: str, *, missing: Collection[str] = ("",)) -> pd.Series:
        """Parse finite decimal numbers; cells in ``missing`` become NaN."""
        cells = self.frame[column]
        absent = cells.isin(list(missing))
        self.fail_first(~(cells.str.fullmatch(_NUMBER) | absent), column,
                        "expected a number (or an empty cell for a missing value)")
        values = cells.where(~absent, "nan").astype(np.float64)
        self.fail_first(np.isinf(values), column, "expected a finite number")
        return values

    def codes(self, column: str, allowed: Collection[int], *, meaning: str) -> pd.Series:
        """Parse an integer code column whose values must lie in ``allowed``."""
        values = self.integers(column, what=f"an integer code ({meaning})")
        allowed = sorted(allowed)
        self.fail_first(~values.isin(allowed), column,
                        f"expected one of {', '.join(map(str, allowed))} ({meaning})")
        return values

    def state_codes(self, column: str, *, missing: Collection[str] = ()) -> pd.Series:
        """Parse Correlates of War (or Gleditsch-Ward) state codes, integers 1..999."""
        what = "a state code (an integer from 1 to 999, e.g. 2 for the USA)"
        values = self.integers(column, missing=missing, what=what)
        self.fail_first(((values < 1) | (values > 999)).fillna(False), column,
                        f"expected {what}")
        return values

    def unique(self, keys: Sequence[str], what: str) -> None:
        """Raise at the first row that repeats the key columns of an earlier row."""
        repeated = self.frame.duplicated(list(keys), keep="first")
        if repeated.any():
            row = int(repeated.idxmax())
            key = ", ".join(f"{k}={self.frame.at[row, k]}" for k in keys)
            raise self.fail(f"duplicate {what} ({key}); expected one row per {what}",
                            row=row, column=keys[-1], value=self.frame.at[row, keys[-1]])


def read_source(path: PathLike, source: str) -> SourceTable:
    """Read a CSV (or ``.csv.gz``) file as text cells, with lower-cased header names.

    Raises :class:`CredibilityDataError` for a missing, unreadable, empty or
    malformed file, an empty or repeated column name, or a file without data rows.
    """
    name = os.fspath(path)
    label = f"{name} ({source})"
    try:
        cells = pd.read_csv(Path(path), dtype=str, keep_default_na=False, header=None,
                            encoding="utf-8-sig")
    except FileNotFoundError:
        raise CredibilityDataError("no such file", file=label) from None
    except UnicodeDecodeError as exc:
        raise CredibilityDataError(f"not UTF-8 text (byte {exc.start})", file=label) from None
    except pd.errors.EmptyDataError:
        raise CredibilityDataError("the file is empty; expected a header row",
                                   file=label) from None
    except pd.errors.ParserError as exc:
        detail = str(exc).replace("Error tokenizing data. C error: ", "").strip()
        raise CredibilityDataError(f"not a valid CSV table ({detail})", file=label) from None
    except (OSError, EOFError) as exc:
        # A corrupt .gz raises gzip.BadGzipFile (an OSError) or EOFError.
        raise CredibilityDataError(f"cannot read the file ({exc})", file=label) from None
    header = [str(h).strip().lower() for h in cells.iloc[0].tolist()]
    for position, column in enumerate(header, start=1):
        if not column:
            raise CredibilityDataError(f"header field {position} is empty", file=label)
        if header.index(column) + 1 != position:
            raise CredibilityDataError(
                f"column appears twice in the header (fields {header.index(column) + 1} and "
                f"{position})", file=label, column=column)
    body = cells.iloc[1:].fillna("")
    if body.empty:
        raise CredibilityDataError("no data rows after the header", file=label)
    frame = pd.DataFrame({column: body.iloc[:, i].str.strip().to_numpy()
                          for i, column in enumerate(header)},
                         index=pd.RangeIndex(1, len(body) + 1))
    return SourceTable(name=name, source=source, frame=frame)


def example_file(name: str, *lines: str) -> Path:
    """Write ``lines`` to a new temporary file called ``name`` (for examples and tests).

    Examples
    --------
    >>> example_file("tiny.csv", "a,b", "1,2").read_text()
    'a,b\\n1,2\\n'
    """
    path = Path(tempfile.mkdtemp(prefix="credibility-")) / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path
