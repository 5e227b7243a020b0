"""The validated input data: :class:`CredibilityData`.

Three long-format tables -- commitments (one row per directed commitment),
signals (one row per observed signal value of a commitment or an alliance in a
period) and optional deterrence cases -- are read as text, checked against the
data contract and the model specification, and held in one frozen object.
Everything downstream trusts it and never re-validates.

Every cell is read as a string and parsed here, so bad input always raises
:class:`~credibility.errors.CredibilityDataError` naming the file, the data row
(1 = first row after the header), the column, the value and what was expected,
never a pandas or numpy traceback.

Examples
--------
>>> import pandas as pd
>>> commitments = pd.DataFrame({
...     "commitment_id": ["US-POL", "US-EST"], "guarantor": ["USA", "USA"],
...     "protege": ["POL", "EST"], "alliance": ["NATO", "NATO"],
...     "region": ["Europe", "Europe"], "type": ["defense_pact", "defense_pact"],
...     "start": [1999, 2004], "end": [None, None],
... })
>>> signals = pd.DataFrame({
...     "commitment_id": ["US-POL", "US-EST", None], "alliance": [None, None, "NATO"],
...     "period": [2004, 2005, 2005], "signal": ["troops", "joint_exercises", "alliance_exercises"],
...     "value": [4500.0, 3, 12],
... })
>>> data = CredibilityData.from_frames(commitments, signals)
>>> data.commitment_ids, (data.first_period, data.last_period)
(('US-POL', 'US-EST'), (1999, 2005))
>>> data.signals[["commitment_id", "alliance", "level", "value"]]
  commitment_id alliance       level   value
0        US-POL     NATO  commitment  4500.0
1        US-EST     NATO  commitment     3.0
2                   NATO    alliance    12.0
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from credibility.errors import CredibilityDataError
from credibility.spec import ModelSpec, SignalSpec, load_spec, parse_spec

__all__ = [
    "CASE_ACTIONS",
    "CASE_COLUMNS",
    "COMMITMENT_COLUMNS",
    "LEDGER_ACTIONS",
    "MAX_PERIODS",
    "SIGNAL_COLUMNS",
    "CredibilityData",
    "action_counts",
    "row_actions",
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

_REQUIRED_COMMITMENT = COMMITMENT_COLUMNS[:-1]
_REQUIRED_SIGNAL = ("period", "signal", "value")
_REQUIRED_CASE = CASE_COLUMNS[:-1]
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


@dataclass(frozen=True, eq=False, repr=False)
class CredibilityData:
    """The three validated input tables, the model spec and the period grid.

    Build it with :meth:`from_csv` or :meth:`from_frames`; the constructor itself
    does not validate. Treat the frames as read-only.

    Attributes
    ----------
    commitments
        ``commitment_id, guarantor, protege, alliance, region, type`` (str),
        ``start``, ``end`` (int64; an ongoing commitment ends at ``last_period``)
        and ``ongoing`` (bool), in file order.
    signals
        ``commitment_id`` (str, ``""`` on alliance rows), ``alliance`` (str: the
        named alliance, or the commitment's alliance on commitment rows),
        ``level`` (``"commitment"`` | ``"alliance"``), ``period`` (int64),
        ``signal`` (str), ``value`` (float64), ``trials`` (float64, NaN when
        absent), ``exposure`` (float64, 1.0 when absent), ``source`` (str).
    cases
        ``None`` without a cases table, else ``case_id, commitment_id`` (str),
        ``period`` (int64), ``outcome`` (float64: 1.0 held, 0.0 failed, NaN to
        predict), every covariate of ``spec.covariates`` (float64), then any
        other columns as str.
    spec
        The model specification the signals were checked against.
    first_period, last_period
        The inclusive period window.
    sources
        Table name -> file path as given, or ``"<DataFrame>"``; provenance only,
        so it is ignored by ``==``.
    """

    commitments: pd.DataFrame
    signals: pd.DataFrame
    cases: pd.DataFrame | None
    spec: ModelSpec
    first_period: int
    last_period: int
    sources: Mapping[str, str]

    # Frames have no single truth value, so the generated __eq__ cannot be used;
    # defining __eq__ makes instances unhashable, which suits mutable frames.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CredibilityData):
            return NotImplemented
        if (self.cases is None) != (other.cases is None):
            return False
        return (
            self.spec == other.spec
            and (self.first_period, self.last_period) == (other.first_period, other.last_period)
            and self.commitments.equals(other.commitments)
            and self.signals.equals(other.signals)
            and (self.cases is None or self.cases.equals(other.cases))
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        cases = "no cases" if self.cases is None else f"{len(self.cases)} cases"
        return (
            f"CredibilityData({len(self.commitments)} commitments, {len(self.alliances)} "
            f"alliances, periods {self.first_period}..{self.last_period}, "
            f"{len(self.signals)} signal rows, {cases}, spec {self.spec.name!r})"
        )

    @classmethod
    def from_csv(
        cls,
        commitments: PathLike,
        signals: PathLike,
        cases: PathLike | None = None,
        *,
        spec: ModelSpec | str | Path = "default",
        periods: tuple[int, int] | None = None,
    ) -> CredibilityData:
        """Read and validate the CSV files (UTF-8, header row required).

        Cells are stripped of surrounding whitespace; an empty cell is missing;
        blank lines are ignored (row numbers in errors still count them).

        ``spec`` is a :class:`~credibility.spec.ModelSpec` or a name or path for
        :func:`~credibility.spec.load_spec`. ``periods=(first, last)`` restricts
        the data to that inclusive window: commitments are clipped to it, those
        wholly outside it are dropped, and signal and case rows outside it (or
        outside their unit's clipped window) are dropped. Every row is validated
        before anything is dropped.

        Examples
        --------
        >>> import tempfile
        >>> data = _example_data()
        >>> paths = data.to_csv(tempfile.mkdtemp())
        >>> again = CredibilityData.from_csv(
        ...     paths["commitments"], paths["signals"], paths["cases"], spec=data.spec
        ... )
        >>> again == data, again.sources["signals"].endswith("signals.csv")
        (True, True)
        """
        tables = {"commitments": commitments, "signals": signals, "cases": cases}
        raw = {key: _read_csv(path) for key, path in tables.items() if path is not None}
        sources = {key: os.fspath(path) for key, path in tables.items() if path is not None}
        return _build(raw, spec, periods, sources)

    @classmethod
    def from_frames(
        cls,
        commitments: pd.DataFrame,
        signals: pd.DataFrame,
        cases: pd.DataFrame | None = None,
        *,
        spec: ModelSpec | str | Path = "default",
        periods: tuple[int, int] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> CredibilityData:
        """Validate tables given as DataFrames in the CSV contract format.

        Each cell is turned into the text a CSV would hold (missing -> ``""``,
        whole floats such as ``2004.0`` -> ``"2004"``, booleans -> ``"1"``/``"0"``)
        and goes through the same parser as :meth:`from_csv`, so the errors are
        the same. ``names`` maps ``"commitments"``, ``"signals"``, ``"cases"`` to
        the names used in error messages and :attr:`sources` (default
        ``"commitments table"`` etc. in messages and ``"<DataFrame>"`` in sources).
        See :meth:`from_csv` for ``spec`` and ``periods``.

        Examples
        --------
        >>> import pandas as pd
        >>> commitments = pd.DataFrame({
        ...     "commitment_id": ["US-JPN"], "guarantor": ["USA"], "protege": ["JPN"],
        ...     "alliance": ["US-Japan"], "region": ["Asia"], "type": ["defense_pact"],
        ...     "start": [1960], "end": [float("nan")],
        ... })
        >>> signals = pd.DataFrame({
        ...     "commitment_id": ["US-JPN", "US-JPN"], "period": [2001, 2002],
        ...     "signal": ["joint_exercises", "joint_exercises"], "value": [4, -1],
        ... })
        >>> CredibilityData.from_frames(commitments, signals)
        Traceback (most recent call last):
        ...
        credibility.errors.CredibilityDataError: signals table, row 2 (line 3), column 'value': \
got '-1'; signal 'joint_exercises' has family count: expected an integer >= 0
        """
        frames = {"commitments": commitments, "signals": signals, "cases": cases}
        given = dict(names or {})
        unknown = sorted(set(given) - set(frames))
        if unknown:
            raise ValueError(
                f"names: unknown table(s) {', '.join(unknown)}; expected commitments, "
                "signals or cases"
            )
        labels = {**_DEFAULT_NAMES, **given}
        raw = {
            key: _frame_table(frame, labels[key])
            for key, frame in frames.items()
            if frame is not None
        }
        sources = {key: given.get(key, _FRAME_SOURCE) for key in raw}
        return _build(raw, spec, periods, sources)

    @property
    def commitment_ids(self) -> tuple[str, ...]:
        """Commitment ids in file order.

        Examples
        --------
        >>> _example_data().commitment_ids
        ('US-POL', 'US-EST', 'US-KOR')
        """
        return tuple(self.commitments["commitment_id"])

    @property
    def alliances(self) -> tuple[str, ...]:
        """Alliances in order of first appearance in the commitments table.

        Examples
        --------
        >>> _example_data().alliances
        ('NATO', 'US-ROK')
        """
        return _unique(self.commitments["alliance"])

    @property
    def regions(self) -> tuple[str, ...]:
        """Regions in order of first appearance in the commitments table.

        Examples
        --------
        >>> _example_data().regions
        ('Europe', 'Asia')
        """
        return _unique(self.commitments["region"])

    @property
    def types(self) -> tuple[str, ...]:
        """Commitment types in order of first appearance in the commitments table.

        Examples
        --------
        >>> _example_data().types
        ('defense_pact',)
        """
        return _unique(self.commitments["type"])

    @property
    def periods(self) -> np.ndarray:
        """Every period of the window, ``first_period`` to ``last_period`` inclusive.

        Examples
        --------
        >>> _example_data().periods
        array([2000, 2001, 2002])
        """
        return np.arange(self.first_period, self.last_period + 1, dtype=np.int64)

    @property
    def alliance_windows(self) -> pd.DataFrame:
        """Active window of each alliance: earliest start and latest end of its commitments.

        Examples
        --------
        >>> _example_data().alliance_windows
          alliance  start   end
        0     NATO   2000  2002
        1   US-ROK   2000  2001
        """
        return _alliance_windows(self.commitments).reset_index()

    def with_cases(
        self, cases: pd.DataFrame | PathLike, *, name: str | None = None
    ) -> CredibilityData:
        """A copy of the data with ``cases`` (validated by :func:`read_cases`) as its cases.

        Examples
        --------
        >>> data = _example_data()
        >>> new = data.with_cases(pd.DataFrame({"case_id": ["k1"], "commitment_id": ["US-EST"],
        ...                                     "period": [2002], "outcome": [0]}))
        >>> new.cases[["case_id", "outcome"]], data.cases.shape[0]
        (  case_id  outcome
        0      k1      0.0, 2)
        """
        parsed = read_cases(cases, self, name=name)
        source = name or (_FRAME_SOURCE if isinstance(cases, pd.DataFrame) else os.fspath(cases))
        return replace(self, cases=parsed, sources={**self.sources, "cases": source})

    def to_csv(self, folder: PathLike) -> dict[str, Path]:
        """Write the tables as ``commitments.csv``, ``signals.csv`` (and ``cases.csv``).

        The files follow the data contract (an ongoing commitment has an empty
        ``end``), so ``from_csv`` with the same ``spec`` (and the same
        ``periods``, if a window was given) returns an equal object.

        Examples
        --------
        >>> import tempfile
        >>> paths = _example_data().to_csv(tempfile.mkdtemp())
        >>> print(paths["commitments"].read_text().splitlines()[1])
        US-POL,USA,POL,NATO,Europe,defense_pact,2000,
        """
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        paths = {}
        for table, text in self.csv_texts().items():
            path = target / f"{table}.csv"
            path.write_text(text, encoding="utf-8", newline="")
            paths[table] = path
        return paths

    def sha256(self) -> str:
        """SHA-256 of the canonical CSV text of the tables and the period window.

        It depends on the data only (not on the spec or where the data came
        from) and is the same across runs and machines.

        Examples
        --------
        >>> digest = _example_data().sha256()
        >>> len(digest), digest == _example_data().sha256()
        (64, True)
        """
        digest = hashlib.sha256(f"periods,{self.first_period},{self.last_period}\n".encode())
        for table, text in self.csv_texts().items():
            digest.update(f"# {table}\n".encode())
            digest.update(text.encode("utf-8"))
        return digest.hexdigest()

    def summary(self) -> str:
        """A few lines for humans: units, periods, rows per signal and missing share.

        The missing share of a signal is the fraction of active unit-periods
        (commitment- or alliance-periods, by the signal's level) up to the last
        period with any signal row that have no row of it.

        Examples
        --------
        >>> print(_example_data().summary())
        3 commitments in 2 alliances (NATO, US-ROK), periods 2000..2002 (3)
        signals: 4 rows
          joint_exercises (count, commitment): 3 rows, 57% missing
          alliance_exercises (count, alliance): 1 row, 80% missing
        cases: 2 (1 to predict)
        """
        n_alliances = len(self.alliances)
        lines = [
            f"{len(self.commitments)} commitments in {n_alliances} "
            f"{'alliance' if n_alliances == 1 else 'alliances'} ({_listing(self.alliances)}), "
            f"periods {self.first_period}..{self.last_period} ({len(self.periods)})",
            f"signals: {_rows(len(self.signals))}",
        ]
        # Periods after the last signal (reached only by cases to predict) are forecasts,
        # not gaps in the reporting.
        reported = int(self.signals["period"].max()) if len(self.signals) else self.last_period
        windows = _alliance_windows(self.commitments)

        def active(start: pd.Series, end: pd.Series) -> int:
            return int((end.clip(upper=reported) - start + 1).clip(lower=0).sum())

        unit_periods = {
            "commitment": active(self.commitments["start"], self.commitments["end"]),
            "alliance": active(windows["start"], windows["end"]),
        }
        counts = self.signals["signal"].value_counts()
        for signal in self.spec.signals:
            n = int(counts.get(signal.name, 0))
            missing = 1 - n / unit_periods[signal.level]
            lines.append(
                f"  {signal.name} ({signal.family}, {signal.level}): "
                f"{_rows(n)}, {missing:.0%} missing"
            )
        if reported < self.last_period:
            span = (f"period {self.last_period}" if reported + 1 == self.last_period
                    else f"periods {reported + 1}..{self.last_period}")
            lines.append(f"{span}: no signals (forecast only)")
        if self.cases is not None:
            to_predict = int(self.cases["outcome"].isna().sum())
            lines.append(f"cases: {len(self.cases)} ({to_predict} to predict)")
        return "\n".join(lines)

    def csv_texts(self) -> dict[str, str]:
        """The tables as contract-format CSV text (what ``to_csv`` writes), in memory.

        Returns
        -------
        dict of str to str
            ``commitments``, ``signals`` (and ``cases``): each table's CSV text.

        Examples
        --------
        >>> print(_example_data().csv_texts()["commitments"].splitlines()[1])
        US-POL,USA,POL,NATO,Europe,defense_pact,2000,
        """
        commitments = self.commitments[list(COMMITMENT_COLUMNS)].astype({"start": str, "end": str})
        commitments.loc[self.commitments["ongoing"], "end"] = ""
        signals = self.signals
        texts = {
            "commitments": _csv_text(commitments),
            "signals": _csv_text(
                pd.DataFrame(
                    {
                        "commitment_id": signals["commitment_id"],
                        # A row names exactly one unit, so commitment rows leave it empty.
                        "alliance": signals["alliance"].where(signals["level"] == "alliance", ""),
                        "period": signals["period"].astype(str),
                        "signal": signals["signal"],
                        "value": _float_column(signals["value"]),
                        "trials": _float_column(signals["trials"]),
                        "exposure": _float_column(
                            signals["exposure"].where(signals["exposure"] != 1.0)
                        ),
                        "source": signals["source"],
                    }
                )
            ),
        }
        if self.cases is not None:
            cases = self.cases.astype({"period": str})
            for column in ["outcome", *self.spec.covariates]:
                cases[column] = _float_column(cases[column])
            texts["cases"] = _csv_text(cases)
        return texts


# --------------------------------------------------------------------------- input


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


# --------------------------------------------------------------------------- parsing


def _parse_commitments(table: _Table) -> pd.DataFrame:
    _check_columns(table, _REQUIRED_COMMITMENT, COMMITMENT_COLUMNS)
    cells = table.frame
    if "end" not in cells:
        cells = cells.assign(end="")
    table = _Table(table.name, cells)
    table.require_cells(_REQUIRED_COMMITMENT)
    start = table.integers("start")
    end = table.integers("end", optional=True)
    ongoing = cells["end"] == ""
    table.fail_first(
        ~ongoing & (end < start),
        "end",
        lambda row: f"expected an end period >= start ({start[row]})",
    )
    table.duplicates(cells["commitment_id"], "commitment_id", "commitment_id")
    table.fail_first(
        cells["guarantor"] == cells["protege"],
        "protege",
        "the protege must differ from the guarantor",
    )
    return pd.DataFrame(
        {
            **{column: cells[column] for column in _REQUIRED_COMMITMENT[:-1]},
            "start": start,
            "end": end,
            "ongoing": ongoing,
        }
    )


def _parse_signals(
    table: _Table, spec: ModelSpec, commitments: pd.DataFrame, commitments_name: str
) -> pd.DataFrame:
    columns = list(table.frame.columns)
    if "commitment_id" not in columns and "alliance" not in columns:
        raise CredibilityDataError(
            "missing required column; every row names its unit in a 'commitment_id' or an "
            f"'alliance' column (or both); the header has {', '.join(columns)}",
            file=table.name,
            column="commitment_id",
        )
    _check_columns(table, _REQUIRED_SIGNAL, SIGNAL_COLUMNS)
    defaults = {c: "" for c in SIGNAL_COLUMNS if c not in columns}
    table = _Table(table.name, table.frame.assign(**defaults))
    cells = table.frame
    table.require_cells(_REQUIRED_SIGNAL)

    commitment, alliance = cells["commitment_id"], cells["alliance"]
    table.fail_first(
        (commitment == "") & (alliance == ""),
        "commitment_id",
        "each row names one unit: expected a commitment_id or an alliance",
    )
    table.fail_first(
        (commitment != "") & (alliance != ""),
        "alliance",
        lambda row: (
            f"each row names exactly one unit: expected an empty alliance on a row "
            f"for commitment {commitment[row]!r}"
        ),
    )
    is_alliance = commitment == ""
    known_ids = set(commitments["commitment_id"])
    table.fail_first(
        ~is_alliance & ~commitment.isin(known_ids),
        "commitment_id",
        f"unknown commitment: expected a commitment_id of {commitments_name}",
    )
    known_alliances = _unique(commitments["alliance"])
    table.fail_first(
        is_alliance & ~alliance.isin(known_alliances),
        "alliance",
        f"unknown alliance: expected one of {_listing(known_alliances)} "
        f"(the alliances of {commitments_name})",
    )

    declared = {s.name: s for s in spec.signals}
    name = cells["signal"]
    table.fail_first(
        ~name.isin(declared),
        "signal",
        f"unknown signal: expected one declared in spec {spec.name!r} "
        f"({_listing(spec.signal_names)})",
    )
    level = name.map({s.name: s.level for s in spec.signals})
    table.fail_first(
        level != np.where(is_alliance, "alliance", "commitment"),
        "signal",
        lambda row: (
            f"signal {name[row]!r} is {level[row]}-level: expected a row naming "
            f"{'an alliance' if level[row] == 'alliance' else 'a commitment_id'}"
        ),
    )

    period = table.integers("period")
    value = table.numbers("value")
    trials = table.numbers("trials", optional=True)
    exposure = table.numbers("exposure", optional=True)
    for signal in spec.signals:
        _check_family(table, signal, name == signal.name, value, trials, exposure)

    unit = commitment.where(~is_alliance, alliance)
    table.duplicates(
        pd.DataFrame({"level": level, "unit": unit, "period": period, "signal": name}),
        "signal",
        lambda row: (
            f"row for {level[row]} {unit[row]!r}, period {period[row]}, signal {name[row]!r}"
        ),
    )
    alliance_of = commitments.set_index("commitment_id")["alliance"]
    return pd.DataFrame(
        {
            "commitment_id": commitment,
            "alliance": alliance.where(is_alliance, commitment.map(alliance_of)).astype(str),
            "level": level.astype(str),
            "period": period,
            "signal": name,
            "value": value,
            "trials": trials,
            "exposure": exposure.fillna(1.0),
            "source": cells["source"],
        }
    )


def _check_family(
    table: _Table,
    signal: SignalSpec,
    rows: pd.Series,
    value: pd.Series,
    trials: pd.Series,
    exposure: pd.Series,
) -> None:
    """Check one signal's rows against the support of its family."""
    about = f"signal {signal.name!r} has family {signal.family}"
    if signal.family == "binomial":
        table.fail_first(
            rows & ~(_is_whole(trials) & (trials >= 1)),
            "trials",
            f"{about}: expected trials, an integer >= 1",
        )
    else:
        table.fail_first(
            rows & trials.notna(), "trials", f"{about}: expected no trials (binomial only)"
        )
    if signal.family == "count":
        table.fail_first(
            rows & ~(exposure > 0) & exposure.notna(),
            "exposure",
            f"{about}: expected an exposure > 0",
        )
    else:
        table.fail_first(
            rows & exposure.notna(), "exposure", f"{about}: expected no exposure (count only)"
        )

    whole = _is_whole(value)
    support: dict[str, tuple[pd.Series, str]] = {
        "count": (whole & (value >= 0), "an integer >= 0"),
        "amount": (value > 0, "a number > 0"),
        "ratio": (value > 0, "a number > 0"),
        "proportion": ((value > 0) & (value < 1), "a number strictly between 0 and 1"),
        "binary": (value.isin([0.0, 1.0]), "0 or 1"),
        "binomial": (whole & (value >= 0) & (value <= trials), "an integer from 0 to trials"),
        "ordinal": (
            whole & (value >= 1) & (value <= (signal.levels or 0)),
            f"an integer from 1 to {signal.levels}",
        ),
    }
    ok, expected = support[signal.family]
    table.fail_first(rows & ~ok, "value", f"{about}: expected {expected}")


def _parse_cases(
    table: _Table, spec: ModelSpec, commitments: pd.DataFrame, commitments_name: str
) -> pd.DataFrame:
    _check_columns(table, _REQUIRED_CASE, None)
    for covariate in spec.covariates:
        if covariate in CASE_COLUMNS:
            raise CredibilityDataError(
                f"spec {spec.name!r} names {covariate!r} as a covariate, but it is a "
                "reserved column of the cases table: expected another covariate name",
                file=table.name,
                column=covariate,
            )
        if covariate not in table.frame:
            raise CredibilityDataError(
                f"missing column: spec {spec.name!r} names it as a covariate",
                file=table.name,
                column=covariate,
            )
    cells = table.frame
    if "outcome" not in cells:
        cells = cells.assign(outcome="")
    table = _Table(table.name, cells)
    table.require_cells(_REQUIRED_CASE)
    table.duplicates(cells["case_id"], "case_id", "case_id")
    table.fail_first(
        ~cells["commitment_id"].isin(set(commitments["commitment_id"])),
        "commitment_id",
        f"unknown commitment: expected a commitment_id of {commitments_name}",
    )
    period = table.integers("period")
    outcome_ok = cells["outcome"].isin(["", "0", "1"])
    table.fail_first(
        ~outcome_ok,
        "outcome",
        "expected 1 (deterrence held), 0 (it failed) or empty (a case to predict)",
    )
    # A case to predict needs its covariates as much as a fitted one does.
    covariates = {c: table.numbers(c) for c in spec.covariates}
    extras = [c for c in cells.columns if c not in CASE_COLUMNS and c not in covariates]
    return pd.DataFrame(
        {
            "case_id": cells["case_id"],
            "commitment_id": cells["commitment_id"],
            "period": period,
            "outcome": cells["outcome"].replace("", "nan").astype(np.float64),
            **covariates,
            **{c: cells[c] for c in extras},
        }
    )


def read_cases(
    cases: pd.DataFrame | PathLike, data: CredibilityData, *, name: str | None = None
) -> pd.DataFrame:
    """Validate a cases table against data that are already validated (for prediction).

    ``cases`` is a CSV path or a DataFrame in the cases contract (``outcome`` may
    be absent; it is ignored for prediction). Each case must name a commitment of
    ``data`` and a period in its active window, which for an ongoing commitment
    ends at ``data.last_period``: the model has no state beyond it. Errors name
    the file (``name``, default the path or ``"cases table"``), row and column.

    Examples
    --------
    >>> data = _example_data()
    >>> read_cases(pd.DataFrame({"case_id": ["c9"], "commitment_id": ["US-POL"],
    ...                          "period": [2002]}), data)[["case_id", "period"]]
      case_id  period
    0      c9    2002
    >>> read_cases(pd.DataFrame({"case_id": ["c9"], "commitment_id": ["US-POL"],
    ...                          "period": [2031]}), data)
    Traceback (most recent call last):
    ...
    credibility.errors.CredibilityDataError: cases table, row 1 (line 2), column 'period': \
got '2031'; expected a period in the active window of commitment 'US-POL' (2000..2002, ongoing)
    """
    if isinstance(cases, pd.DataFrame):
        table = _frame_table(cases, name or _DEFAULT_NAMES["cases"])
    else:
        table = _read_csv(cases)
    if name is not None:
        table = _Table(name, table.frame)
    parsed = _parse_cases(table, data.spec, data.commitments, "the fitted data's commitments")
    _check_periods(table, parsed, data.commitments)
    return parsed.reset_index(drop=True)


# --------------------------------------------------------------------------- assembly


def _build(
    tables: Mapping[str, _Table],
    spec: ModelSpec | str | Path,
    periods: tuple[int, int] | None,
    sources: dict[str, str],
) -> CredibilityData:
    model = spec if isinstance(spec, ModelSpec) else load_spec(spec)
    window = _window_argument(periods)
    commitments_table = tables["commitments"]
    commitments = _parse_commitments(commitments_table)
    signals = _parse_signals(tables["signals"], model, commitments, commitments_table.name)
    cases_table = tables.get("cases")
    cases = (
        None
        if cases_table is None
        else _parse_cases(cases_table, model, commitments, commitments_table.name)
    )

    first = int(commitments["start"].min())
    latest = [commitments["start"], commitments["end"][~commitments["ongoing"]], signals["period"]]
    if cases is not None:
        latest.append(cases["period"])
    last = int(max(s.max() for s in latest if len(s)))
    _check_span(first, last, commitments, signals, cases, tables)

    commitments["end"] = commitments["end"].where(~commitments["ongoing"], last)
    _check_periods(tables["signals"], signals, commitments)
    if cases is not None:
        _check_periods(tables["cases"], cases, commitments)

    if window is not None:
        first, last = window
        commitments, signals, cases = _clip(commitments, signals, cases, first, last)
        if commitments.empty:
            raise CredibilityDataError(
                f"no commitment is active in the window {first}..{last}", file="periods"
            )

    return CredibilityData(
        commitments=commitments.reset_index(drop=True),
        signals=signals.reset_index(drop=True),
        cases=None if cases is None else cases.reset_index(drop=True),
        spec=model,
        first_period=first,
        last_period=last,
        sources=dict(sources),
    )


def _window_argument(periods: tuple[int, int] | None) -> tuple[int, int] | None:
    if periods is None:
        return None
    if (
        not isinstance(periods, tuple | list)
        or len(periods) != 2
        or not all(isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in periods)
    ):
        raise CredibilityDataError(
            "expected (first, last), two integer periods", file="periods", value=periods
        )
    first, last = int(periods[0]), int(periods[1])
    if first > last:
        raise CredibilityDataError(
            "expected (first, last) with first <= last", file="periods", value=periods
        )
    if last - first + 1 > MAX_PERIODS:
        raise CredibilityDataError(
            f"expected a window of at most {MAX_PERIODS} periods", file="periods", value=periods
        )
    return first, last


def _check_span(
    first: int,
    last: int,
    commitments: pd.DataFrame,
    signals: pd.DataFrame,
    cases: pd.DataFrame | None,
    tables: Mapping[str, _Table],
) -> None:
    """Reject a period span too long to be real, pointing at the likelier typo."""
    if last - first + 1 <= MAX_PERIODS:
        return
    median = float(commitments["start"].median())
    culprit = last if last - median >= median - first else first
    candidates = [
        ("commitments", "start", commitments["start"]),
        ("commitments", "end", commitments["end"].where(~commitments["ongoing"])),
        ("signals", "period", signals["period"]),
    ]
    if cases is not None:
        candidates.append(("cases", "period", cases["period"]))
    table, column, values = next((t, c, v) for t, c, v in candidates if (v == culprit).any())
    tables[table].fail_first(
        values == culprit,
        column,
        f"the data would span periods {first}..{last} ({last - first + 1}); expected at "
        f"most {MAX_PERIODS} (a typo?)",
    )


def _unit_windows(rows: pd.DataFrame, commitments: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Active window (start, end) of the unit each row names (float64, NaN if unknown).

    ``rows`` are signal rows, or case rows, which have no ``level`` and always
    name a commitment.
    """
    by_id = commitments.set_index("commitment_id")
    is_alliance = rows["level"] == "alliance" if "level" in rows else pd.Series(False, rows.index)
    windows = _alliance_windows(commitments)
    start = rows["commitment_id"].map(by_id["start"]).astype(np.float64)
    end = rows["commitment_id"].map(by_id["end"]).astype(np.float64)
    if is_alliance.any():
        named = rows["alliance"][is_alliance]
        start[is_alliance] = named.map(windows["start"]).astype(np.float64)
        end[is_alliance] = named.map(windows["end"]).astype(np.float64)
    return start, end


def _check_periods(table: _Table, rows: pd.DataFrame, commitments: pd.DataFrame) -> None:
    start, end = _unit_windows(rows, commitments)
    ongoing = rows["commitment_id"].map(commitments.set_index("commitment_id")["ongoing"])

    def expected(row: int) -> str:
        if rows.at[row, "commitment_id"]:
            unit = f"commitment {rows.at[row, 'commitment_id']!r}"
            note = ", ongoing" if ongoing[row] else ""
        else:
            unit = f"alliance {rows.at[row, 'alliance']!r}"
            note = ", the span of its commitments"
        return (
            f"expected a period in the active window of {unit} "
            f"({int(start[row])}..{int(end[row])}{note})"
        )

    table.fail_first((rows["period"] < start) | (rows["period"] > end), "period", expected)


def _clip(
    commitments: pd.DataFrame,
    signals: pd.DataFrame,
    cases: pd.DataFrame | None,
    first: int,
    last: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Restrict everything to the window ``first..last`` (see ``from_csv``)."""
    end = commitments["end"].where(~commitments["ongoing"], last)
    inside = (commitments["start"] <= last) & (end >= first)
    commitments = commitments[inside].assign(
        start=commitments["start"][inside].clip(lower=first),
        end=end[inside].clip(upper=last),
    )

    def keep(rows: pd.DataFrame) -> pd.DataFrame:
        start, stop = _unit_windows(rows, commitments)
        return rows[(rows["period"] >= start) & (rows["period"] <= stop)]

    return commitments, keep(signals), None if cases is None else keep(cases)


def _alliance_windows(commitments: pd.DataFrame) -> pd.DataFrame:
    grouped = commitments.groupby("alliance", sort=False)
    return pd.DataFrame({"start": grouped["start"].min(), "end": grouped["end"].max()})


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


#: What can happen to an incoming signal row.
LEDGER_ACTIONS = ("added", "unchanged", "revised")
#: What can happen to an incoming deterrence case: ``resolved`` is an open case (no
#: outcome stored) that now has its outcome.
CASE_ACTIONS = ("added", "unchanged", "resolved", "revised")


def action_counts(ledger: pd.DataFrame, actions: tuple[str, ...]) -> dict[str, int]:
    """How many rows of a ledger have each of ``actions`` (every one present, 0 or more).

    Examples
    --------
    >>> action_counts(pd.DataFrame({"action": ["added", "added"]}), LEDGER_ACTIONS)
    {'added': 2, 'unchanged': 0, 'revised': 0}
    """
    return {action: int((ledger["action"] == action).sum()) for action in actions}


#: The columns of a signal row's observation, and its key among stored rows (the unit
#: is ``commitment_id``, or ``alliance`` for an alliance-level signal).
_OBSERVATION = ("value", "trials", "exposure")
_KEY = ("level", "unit", "period", "signal")


def _units(signals: pd.DataFrame) -> pd.Series:
    return signals["commitment_id"].where(signals["level"] == "commitment", signals["alliance"])


def row_actions(stored: pd.DataFrame, incoming: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per incoming signal row (validated signals tables), its action against the stored
    rows and the position of the stored row with its key (-1: none).

    The key is the row's unit (``commitment_id``, or ``alliance`` for an alliance-level
    signal), ``period`` and ``signal``; ``"added"`` for a new key, ``"unchanged"`` when
    ``value``, ``trials`` and ``exposure`` are the stored ones (two missing cells count as
    equal), ``"revised"`` otherwise.

    Examples
    --------
    >>> stored = _example_data().signals
    >>> incoming = stored.iloc[[1, 0]].assign(value=[0.0, 3.0])
    >>> actions, positions = row_actions(stored, incoming)
    >>> actions.tolist(), positions.tolist()
    (['unchanged', 'revised'], [1, 0])
    """
    old = stored.assign(unit=_units(stored), position=np.arange(len(stored)))
    new = incoming.assign(unit=_units(incoming))
    matched = new.merge(old[[*_KEY, *_OBSERVATION, "position"]], on=list(_KEY), how="left",
                        suffixes=("", "_old"), validate="one_to_one")
    found = matched["position"].notna().to_numpy()
    same = np.ones(len(matched), dtype=bool)
    for column in _OBSERVATION:
        a, b = matched[column].to_numpy(), matched[f"{column}_old"].to_numpy()
        same &= (a == b) | (np.isnan(a) & np.isnan(b))
    action = np.select([~found, same], ["added", "unchanged"], "revised")
    return action, matched["position"].fillna(-1).to_numpy(np.int64)


def _example_data() -> CredibilityData:
    """A three-commitment data set for the examples in this module's docstrings."""
    spec = parse_spec(
        '[model]\nname = "example"\n'
        '[[signals]]\nname = "joint_exercises"\nfamily = "count"\n'
        '[[signals]]\nname = "alliance_exercises"\nfamily = "count"\nlevel = "alliance"\n'
    )
    commitments = pd.DataFrame(
        {
            "commitment_id": ["US-POL", "US-EST", "US-KOR"],
            "guarantor": ["USA", "USA", "USA"],
            "protege": ["POL", "EST", "KOR"],
            "alliance": ["NATO", "NATO", "US-ROK"],
            "region": ["Europe", "Europe", "Asia"],
            "type": ["defense_pact"] * 3,
            "start": [2000, 2001, 2000],
            "end": [None, None, 2001],
        }
    )
    signals = pd.DataFrame(
        {
            "commitment_id": ["US-POL", "US-EST", "US-KOR", ""],
            "alliance": ["", "", "", "NATO"],
            "period": [2000, 2002, 2001, 2001],
            "signal": ["joint_exercises"] * 3 + ["alliance_exercises"],
            "value": [2, 0, 5, 11],
        }
    )
    cases = pd.DataFrame(
        {
            "case_id": ["c1", "c2"],
            "commitment_id": ["US-POL", "US-KOR"],
            "period": [2001, 2001],
            "outcome": [1, None],
        }
    )
    return CredibilityData.from_frames(commitments, signals, cases, spec=spec)
