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
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from credibility.data.assembly import _assemble
from credibility.data.cases import read_cases
from credibility.data.periods import _alliance_windows
from credibility.data.spec import ModelSpec, parse_spec
from credibility.data.tables import (
    _DEFAULT_NAMES,
    _FRAME_SOURCE,
    COMMITMENT_COLUMNS,
    PathLike,
    _csv_text,
    _float_column,
    _frame_table,
    _listing,
    _read_csv,
    _rows,
    _unique,
)

__all__ = ["CredibilityData"]


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

        ``spec`` is a :class:`~credibility.data.spec.ModelSpec` or a name or path for
        :func:`~credibility.data.spec.load_spec`. ``periods=(first, last)`` restricts
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
        return cls(**_assemble(raw, spec, periods, sources))

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
        return cls(**_assemble(raw, spec, periods, sources))

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
