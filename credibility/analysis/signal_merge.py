"""Merge incoming signal rows (and new commitments) into validated data: :func:`merge_signals`.

The incoming rows are checked with the same parser as the stored data and merged into
it, with a *ledger* of what happened to every incoming row: ``added`` (a new
observation), ``unchanged`` (already stored with the same value) or ``revised`` (a
correction, only with ``revise=True``). A stored value is never overwritten silently.
The helpers that read an incoming table and number its rows serve
:mod:`credibility.analysis.case_merge` too.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from credibility.data.container import CredibilityData
from credibility.data.ledger import (
    _OBSERVATION,
    LEDGER_ACTIONS,
    action_counts,
    row_actions,
)
from credibility.data.tables import read_text_cells
from credibility.errors import CredibilityDataError

#: Columns of :attr:`MergeResult.ledger`; ``row`` is the row number in the incoming table.
LEDGER_COLUMNS = ("row", "action", "level", "commitment_id", "alliance", "period", "signal",
                  "old_value", "new_value")


#: Commitment columns that must agree when a new commitments table repeats a stored one.
_COMMITMENT_FIELDS = ("guarantor", "protege", "alliance", "region", "type", "start", "end")


#: A table given as a DataFrame in the CSV contract layout, or as the path of a CSV file.
Table = pd.DataFrame | str | os.PathLike[str]


@dataclass(frozen=True, eq=False)
class _Merge:
    """Merged data and the ledger of the incoming rows, one action each (one of
    ``actions``): what :class:`MergeResult` and
    :class:`~credibility.analysis.case_merge.CaseMerge` share."""

    data: CredibilityData
    ledger: pd.DataFrame
    #: The actions of the ledger, in the order :meth:`counts` lists them.
    actions: ClassVar[tuple[str, ...]] = ()

    def counts(self) -> dict[str, int]:
        """Number of incoming rows (or cases) per action, every action present.

        Examples
        --------
        >>> merge_signals(_example_data(), _example_rows()).counts()
        {'added': 1, 'unchanged': 1, 'revised': 0}
        """
        return action_counts(self.ledger, self.actions)

    @property
    def changed(self) -> bool:
        """Whether the merged data differ from the stored data: some incoming row (or
        case) is other than ``unchanged``.

        Examples
        --------
        >>> merge_signals(_example_data(), _example_rows()).changed
        True
        """
        return bool((self.ledger["action"] != "unchanged").any())


@dataclass(frozen=True, eq=False)
class MergeResult(_Merge):
    """Stored data merged with incoming rows, and the ledger of what happened to each row.

    Attributes
    ----------
    data
        The merged, re-validated data (same spec as the stored data).
    ledger
        One row per incoming signal row, columns :data:`LEDGER_COLUMNS`: its row
        number in the incoming table, the ``action`` (one of
        :data:`~credibility.data.ledger.LEDGER_ACTIONS`), its key (``level``,
        ``commitment_id``, ``alliance``, ``period``, ``signal``) and the stored
        (``old_value``, NaN when added) and incoming (``new_value``) value.
    added_commitments
        Ids of the commitments the update added, in the order given.
    """

    actions: ClassVar[tuple[str, ...]] = LEDGER_ACTIONS
    added_commitments: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the merged data differ from the stored data (also by a commitment)."""
        return super().changed or bool(self.added_commitments)


def merge_signals(
    data: CredibilityData,
    new_signals: Table,
    *,
    revise: bool = False,
    new_commitments: Table | None = None,
) -> MergeResult:
    """Merge incoming signal rows (and new commitments) into validated data.

    The incoming rows are first validated on their own, with the same parser as
    the stored data, against the stored commitments plus ``new_commitments``; a bad
    row raises :class:`~credibility.errors.CredibilityDataError` naming the
    incoming file, its row and column. Each row's key is its unit (the
    ``commitment_id``, or the ``alliance`` for alliance-level signals), ``period``
    and ``signal``:

    - a new key is appended (``"added"``);
    - a stored key with the same value, trials and exposure changes nothing
      (``"unchanged"``; the stored row, source included, is kept);
    - a stored key with a different value is an error naming the row, the column
      and both values, unless ``revise=True``: then the incoming row replaces the
      stored one (``"revised"``).

    ``new_commitments`` (commitments table layout) adds commitments; a row that
    repeats a stored commitment must match it in every column. A signal row for a
    commitment that is neither stored nor added is an error. The merged period
    window covers the stored window and every incoming row, so nothing incoming is
    dropped. The merged data are validated once more as a whole.

    Examples
    --------
    >>> data = _example_data()
    >>> rows = pd.DataFrame({"commitment_id": ["US-POL", "US-POL"], "period": [2004, 2005],
    ...                      "signal": ["troops", "troops"], "value": [4500, 5200]})
    >>> merged = merge_signals(data, rows)
    >>> merged.ledger[["row", "action", "commitment_id", "period", "old_value", "new_value"]]
       row     action commitment_id  period  old_value  new_value
    0    1  unchanged        US-POL    2004     4500.0     4500.0
    1    2      added        US-POL    2005        NaN     5200.0
    >>> len(data.signals), len(merged.data.signals)
    (2, 3)
    >>> merge_signals(data, rows.assign(value=[4000, 5200]))
    Traceback (most recent call last):
    ...
    credibility.errors.CredibilityDataError: new signals table, row 1 (line 2), column \
'value': got '4000'; the stored value of commitment 'US-POL', period 2004, signal 'troops' \
is 4500; a stored row is never overwritten silently: pass revise=True (--revise) if this is \
a correction
    >>> merge_signals(data, rows.assign(value=[4000, 5200]), revise=True).counts()
    {'added': 1, 'unchanged': 0, 'revised': 1}
    """
    incoming, signals_name = _read_table(new_signals, "new signals table")
    stored = _contract_tables(data)
    commitments, commitments_name, commitment_rows = _combined_commitments(
        stored["commitments"], new_commitments)
    fresh = _fresh_rows(data, commitments, incoming, commitments_name, signals_name)
    added_ids = _check_repeated_commitments(data, fresh, commitments_name, commitment_rows)

    rows = _data_rows(incoming)
    ledger, positions = _ledger(data.signals, fresh.signals, rows)
    revised = ledger["action"] == "revised"
    if revised.any() and not revise:
        _raise_conflict(data.signals, fresh.signals, ledger, positions, signals_name)

    merged = _merged_data(data, stored, fresh, ledger, positions, added_ids,
                          signals_name, commitments_name)
    return MergeResult(data=merged, ledger=ledger, added_commitments=added_ids)


def _merged_data(
    data: CredibilityData, stored: dict[str, pd.DataFrame], fresh: CredibilityData,
    ledger: pd.DataFrame, positions: np.ndarray, added_ids: tuple[str, ...],
    signals_name: str, commitments_name: str,
) -> CredibilityData:
    """The stored tables with the revised rows replaced and the added rows and commitments
    appended, validated as a whole over the stored and the incoming periods."""
    new = _contract_tables(fresh)
    revised = ledger["action"] == "revised"
    signals = stored["signals"].copy()
    signals.iloc[positions[revised.to_numpy()]] = new["signals"][revised.to_numpy()].to_numpy()
    signals = pd.concat([signals, new["signals"][(ledger["action"] == "added").to_numpy()]],
                        ignore_index=True)
    added_rows = new["commitments"][new["commitments"]["commitment_id"].isin(added_ids)]
    merged_commitments = pd.concat([stored["commitments"], added_rows], ignore_index=True)
    sources = dict(data.sources)
    names = {"signals": f"{sources.get('signals', 'stored signals')} + {signals_name}"}
    names["commitments"] = sources.get("commitments", "stored commitments") + (
        f" + {commitments_name}" if added_ids else "")
    if "cases" in stored:
        names["cases"] = sources.get("cases", "stored cases")
    merged = CredibilityData.from_frames(
        merged_commitments, signals, stored.get("cases"), spec=data.spec,
        periods=(min(data.first_period, fresh.first_period),
                 max(data.last_period, fresh.last_period)),
        names=names,
    )
    return merged


def _fresh_rows(data: CredibilityData, commitments: pd.DataFrame, incoming: pd.DataFrame,
                commitments_name: str, signals_name: str) -> CredibilityData:
    """The incoming rows validated on their own, against ``commitments``; a row of an
    unknown commitment is an error that says how to add one."""
    try:
        return CredibilityData.from_frames(
            commitments, incoming, spec=data.spec,
            names={"commitments": commitments_name, "signals": signals_name},
        )
    except CredibilityDataError as exc:
        if (exc.file == signals_name and exc.column == "commitment_id"
                and exc.expected.startswith("unknown commitment")):
            raise CredibilityDataError(
                "unknown commitment: it is neither in the stored data nor among the new "
                "commitments; to add a commitment, give its row in new_commitments "
                "(--commitments)",
                file=exc.file, row=exc.row, column=exc.column, value=exc.value,
            ) from None
        raise


def _read_table(source: Table, default_name: str) -> tuple[pd.DataFrame, str]:
    """The table as text cells (a CSV file) or as given (a DataFrame), and its name.

    Blank lines of a file are kept as empty rows: the parser skips them but counts
    them, so row numbers in messages are those of the file.
    """
    if isinstance(source, pd.DataFrame):
        # Row numbers in messages count from 1 in the order given, whatever the index.
        return source.reset_index(drop=True), default_name
    name = os.fspath(source)
    cells = read_text_cells(name)
    frame = cells.iloc[1:].reset_index(drop=True)
    frame.columns = [str(c).strip() for c in cells.iloc[0]]
    return frame, name


def _is_blank(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _data_rows(frame: pd.DataFrame) -> np.ndarray:
    """1-based numbers of the rows holding data, in order (what the parser numbers them)."""
    blank = frame.map(_is_blank).all(axis=1).to_numpy()
    return np.flatnonzero(~blank) + 1


def _contract_tables(data: CredibilityData) -> dict[str, pd.DataFrame]:
    """The tables as CSV text cells (what ``data.to_csv`` writes), one frame per table;
    parsed from the text in memory, not from files."""
    return {table: pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
            for table, text in data.csv_texts().items()}


def _combined_commitments(
    stored: pd.DataFrame, new_commitments: Table | None
) -> tuple[pd.DataFrame, str, np.ndarray]:
    """Commitments to validate incoming rows against, their name, and the new rows' numbers.

    The new commitment rows come first, so that the parser's row numbers are
    those of the new table; stored commitments they repeat are left out of the rest.
    """
    if new_commitments is None:
        return stored, "the stored commitments", np.zeros(0, dtype=np.int64)
    frame, name = _read_table(new_commitments, "new commitments table")
    header = [str(c) for c in frame.columns]
    for position, column in enumerate(header):
        if header.index(column) != position:
            raise CredibilityDataError(
                f"column appears twice in the header (fields {header.index(column) + 1} and "
                f"{position + 1})", file=name, column=column,
            )
    ids = (frame["commitment_id"].map(lambda v: "" if _is_blank(v) else str(v).strip())
           if "commitment_id" in header else pd.Series(dtype=str))
    others = stored[~stored["commitment_id"].isin(set(ids))]
    return pd.concat([frame, others], ignore_index=True), name, _data_rows(frame)


def _check_repeated_commitments(
    data: CredibilityData, fresh: CredibilityData, name: str, rows: np.ndarray
) -> tuple[str, ...]:
    """Ids of the genuinely new commitments; a repeated stored one must match it exactly."""
    given = fresh.commitments.iloc[: len(rows)]
    stored = data.commitments.set_index("commitment_id")
    for (_, new), row in zip(given.iterrows(), rows, strict=True):
        if new["commitment_id"] not in stored.index:
            continue
        old = stored.loc[new["commitment_id"]]
        for column in _COMMITMENT_FIELDS:
            if column == "end":
                old_text = "" if old["ongoing"] else str(old["end"])
                new_text = "" if new["ongoing"] else str(new["end"])
            else:
                old_text, new_text = str(old[column]), str(new[column])
            if old_text != new_text:
                raise CredibilityDataError(
                    f"commitment {new['commitment_id']!r} is already stored with {column} "
                    f"{old_text or 'empty (ongoing)'}; an update only adds commitments: drop "
                    "this row, or refit from scratch to change a stored commitment",
                    file=name, row=int(row), column=column, value=new_text,
                )
    return tuple(c for c in given["commitment_id"] if c not in stored.index)


def _ledger(
    stored: pd.DataFrame, incoming: pd.DataFrame, rows: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """The ledger of the incoming rows and, per row, the matching stored row (-1: none)."""
    action, positions = row_actions(stored, incoming)
    old_value = np.where(positions >= 0,
                         stored["value"].to_numpy(np.float64)[np.maximum(positions, 0)],
                         np.nan)
    ledger = pd.DataFrame({
        "row": rows.astype(np.int64),
        "action": action,
        "level": incoming["level"].to_numpy(),
        "commitment_id": incoming["commitment_id"].to_numpy(),
        "alliance": incoming["alliance"].to_numpy(),
        "period": incoming["period"].to_numpy(np.int64),
        "signal": incoming["signal"].to_numpy(),
        "old_value": old_value,
        "new_value": incoming["value"].to_numpy(np.float64),
    })
    return ledger, positions


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _raise_conflict(
    stored: pd.DataFrame, incoming: pd.DataFrame, ledger: pd.DataFrame, positions: np.ndarray,
    name: str,
) -> None:
    """Raise for the first revised row, naming the column that differs and both values."""
    first = int(np.flatnonzero((ledger["action"] == "revised").to_numpy())[0])
    old, new = stored.iloc[positions[first]], incoming.iloc[first]
    column = next(c for c in _OBSERVATION
                  if not (old[c] == new[c] or (np.isnan(old[c]) and np.isnan(new[c]))))
    unit = (f"commitment {new['commitment_id']!r}" if new["level"] == "commitment"
            else f"alliance {new['alliance']!r}")

    def shown(value: float) -> str:
        return "empty" if np.isnan(value) else _number(value)

    raise CredibilityDataError(
        f"the stored {column} of {unit}, period {int(new['period'])}, signal "
        f"{new['signal']!r} is {shown(old[column])}; a stored row is never overwritten "
        "silently: pass revise=True (--revise) if this is a correction",
        file=name, row=int(ledger["row"].iloc[first]), column=column, value=shown(new[column]),
    )


def _example_data() -> CredibilityData:
    """Two NATO commitments with two troop rows, for the examples in this module."""
    commitments = pd.DataFrame({
        "commitment_id": ["US-POL", "US-EST"], "guarantor": ["USA", "USA"],
        "protege": ["POL", "EST"], "alliance": ["NATO", "NATO"],
        "region": ["Europe", "Europe"], "type": ["defense_pact", "defense_pact"],
        "start": [1999, 2004], "end": [None, None],
    })
    signals = pd.DataFrame({
        "commitment_id": ["US-POL", "US-EST"], "period": [2004, 2004],
        "signal": ["troops", "troops"], "value": [4500.0, 150.0],
    })
    cases = pd.DataFrame({
        "case_id": ["K1", "K2"], "commitment_id": ["US-POL", "US-EST"], "period": [2004, 2004],
        "outcome": [1, None], "capability_ratio": [1.2, 0.8], "challenger_nuclear": [1, 1],
    })
    return CredibilityData.from_frames(commitments, signals, cases)


def _example_rows() -> pd.DataFrame:
    """One repeated and one new row for :func:`_example_data`."""
    return pd.DataFrame({"commitment_id": ["US-POL", "US-EST"], "period": [2004, 2005],
                         "signal": ["troops", "troops"], "value": [4500.0, 300.0]})
