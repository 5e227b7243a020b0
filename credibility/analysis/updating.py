"""Update a fit as new signal data arrive: merge, refit, compare.

Three steps, each a function:

1. :func:`merge_signals` checks the incoming rows with the same parser as the stored
   data and merges them into it, recording in a *ledger* what happened to every
   incoming row: ``added`` (a new observation), ``unchanged`` (already stored with
   the same value) or ``revised`` (a correction, only with ``revise=True``). A stored
   value is never overwritten silently.
2. :func:`update_fit` refits on the merged data. ``method="exact"`` samples the full
   posterior again, with the spec and sampler settings of the previous fit, so its
   result is a from-scratch fit of the merged data (agreeing with one within Monte
   Carlo error). ``method="approximate"`` (rows in later periods only) uses the
   previous posterior as a moment-matched prior and samples only the new periods
   (:mod:`credibility.analysis.approximate`); it is labelled approximate wherever shown.
3. :func:`credibility_diff` compares the credibility of two fits (say, two versions
   in a :class:`~credibility.results.store.PosteriorStore`) commitment by commitment.

New deterrence cases, and outcomes of open cases as they become known, are merged by
:func:`merge_cases` (its own ledger: ``added``, ``unchanged``, ``resolved``,
``revised``); :func:`update_fit` then refits the outcome model (:func:`refit_outcome`).

:func:`warm_start_values` computes initial values for the new fit from the previous
posterior (docs/updating.md, "Warm start").
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from credibility import predictor
from credibility.data.cases import read_cases
from credibility.data.container import CredibilityData
from credibility.data.ledger import (
    _OBSERVATION,
    CASE_ACTIONS,
    LEDGER_ACTIONS,
    action_counts,
    row_actions,
)
from credibility.data.tables import read_text_cells
from credibility.errors import CredibilityDataError, CredibilityError
from credibility.inference.sampling import SamplerConfig
from credibility.measurement import build_measurement_model
from credibility.model.index import UnitCells, build_index
from credibility.results.fitting import CredibilityModel, FitResult

__all__ = [
    "CASE_LEDGER_COLUMNS",
    "DIFF_COLUMNS",
    "FIT_SETTINGS",
    "LEDGER_COLUMNS",
    "UPDATE_METHODS",
    "CaseMerge",
    "MergeResult",
    "UpdateError",
    "UpdateResult",
    "credibility_diff",
    "merge_cases",
    "merge_signals",
    "refit_outcome",
    "refit_settings",
    "update_fit",
    "warm_start_values",
]

#: Update methods: a full refit, or the fast filter of :mod:`credibility.analysis.approximate`.
UPDATE_METHODS = ("exact", "approximate")
#: Columns of :attr:`MergeResult.ledger`; ``row`` is the row number in the incoming table.
LEDGER_COLUMNS = ("row", "action", "level", "commitment_id", "alliance", "period", "signal",
                  "old_value", "new_value")
#: Columns of :attr:`CaseMerge.ledger`; ``row`` is the row number in the incoming table.
CASE_LEDGER_COLUMNS = ("row", "action", "case_id", "commitment_id", "period", "old_outcome",
                       "new_outcome")
#: Columns of :func:`credibility_diff`.
DIFF_COLUMNS = ("commitment_id", "period", "mean_a", "mean_b", "change", "change_q05",
                "change_q95", "p_up")
#: Settings of a fit that a refit reuses: the sampler configuration
#: (:class:`~credibility.inference.config.SamplerConfig`) and the outcome mode.
FIT_SETTINGS = (*(f.name for f in dataclasses.fields(SamplerConfig)), "outcome")

#: Commitment columns that must agree when a new commitments table repeats a stored one.
_COMMITMENT_FIELDS = ("guarantor", "protege", "alliance", "region", "type", "start", "end")

#: A table given as a DataFrame in the CSV contract layout, or as the path of a CSV file.
Table = pd.DataFrame | str | os.PathLike[str]


class UpdateError(CredibilityError):
    """An update cannot be done as asked (unknown method, nothing new, nothing to compare)."""


@dataclass(frozen=True, eq=False)
class MergeResult:
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

    data: CredibilityData
    ledger: pd.DataFrame
    added_commitments: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        """Number of incoming rows per action, every action present.

        Examples
        --------
        >>> merged = merge_signals(_example_data(), _example_rows())
        >>> merged.counts()
        {'added': 1, 'unchanged': 1, 'revised': 0}
        """
        return action_counts(self.ledger, LEDGER_ACTIONS)

    @property
    def changed(self) -> bool:
        """Whether the merged data differ from the stored data.

        Examples
        --------
        >>> merge_signals(_example_data(), _example_rows()).changed
        True
        """
        counts = self.counts()
        return bool(counts["added"] or counts["revised"] or self.added_commitments)


@dataclass(frozen=True, eq=False)
class CaseMerge:
    """Data with incoming deterrence cases merged in, and the ledger of those cases.

    Attributes
    ----------
    data
        The merged, re-validated data.
    ledger
        One row per incoming case, columns :data:`CASE_LEDGER_COLUMNS`: its row number
        in the incoming table, the ``action`` (one of
        :data:`~credibility.data.ledger.CASE_ACTIONS`), the case's id, commitment and
        period, and its stored (``old_outcome``; NaN when added or open) and incoming
        (``new_outcome``; NaN when open) outcome.
    """

    data: CredibilityData
    ledger: pd.DataFrame

    def counts(self) -> dict[str, int]:
        """Number of incoming cases per action, every action present.

        Examples
        --------
        >>> merge_cases(_example_data(), _example_cases()).counts()
        {'added': 1, 'unchanged': 0, 'resolved': 1, 'revised': 0}
        """
        return action_counts(self.ledger, CASE_ACTIONS)

    @property
    def changed(self) -> bool:
        """Whether the merged cases differ from the stored ones.

        Examples
        --------
        >>> merge_cases(_example_data(), _example_cases()).changed
        True
        """
        return bool((self.ledger["action"] != "unchanged").any())


@dataclass(frozen=True, eq=False)
class UpdateResult:
    """An updated fit, the merges it was fitted on, and how it was updated.

    ``cases`` is the merge of incoming deterrence cases (``None`` when the update had
    none); ``merge`` that of the signal rows (an empty ledger when it had none).
    """

    fit: FitResult
    merge: MergeResult
    method: str
    cases: CaseMerge | None = None

    @property
    def ledger(self) -> pd.DataFrame:
        """The merge's ledger (see :class:`MergeResult`)."""
        return self.merge.ledger


# --------------------------------------------------------------------------- merging


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
    try:
        fresh = CredibilityData.from_frames(
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
    added_ids = _check_repeated_commitments(data, fresh, commitments_name, commitment_rows)

    rows = _data_rows(incoming)
    ledger, positions = _ledger(data.signals, fresh.signals, rows)
    revised = ledger["action"] == "revised"
    if revised.any() and not revise:
        _raise_conflict(data.signals, fresh.signals, ledger, positions, signals_name)

    new = _contract_tables(fresh)
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
    return MergeResult(data=merged, ledger=ledger, added_commitments=added_ids)


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


def merge_cases(data: CredibilityData, new_cases: Table, *, revise: bool = False) -> CaseMerge:
    """Merge incoming deterrence cases into validated data.

    The incoming cases are validated like a cases table for prediction
    (:func:`~credibility.data.cases.read_cases`: known commitments, periods in their
    active windows, the spec's covariates, outcomes 1, 0 or empty); a bad one raises
    :class:`~credibility.errors.CredibilityDataError` naming the incoming file, its
    row and column. Each case is keyed by its ``case_id``:

    - a new id is appended (``"added"``; with or without an outcome);
    - a stored open case (empty outcome) that now has an outcome, everything else
      equal, takes it (``"resolved"``: the way outcomes arrive);
    - a stored case given again with the same cells changes nothing (``"unchanged"``);
    - any other change (a different outcome, commitment, period or covariate) is an
      error naming the row, the column and both values, unless ``revise=True``: then
      the incoming case replaces the stored one (``"revised"``).

    Examples
    --------
    >>> merged = merge_cases(_example_data(), _example_cases())
    >>> merged.ledger[["row", "action", "case_id", "old_outcome", "new_outcome"]]
       row    action case_id  old_outcome  new_outcome
    0    1  resolved      K2          NaN          0.0
    1    2     added      K3          NaN          NaN
    >>> merged.data.cases[["case_id", "outcome"]]
      case_id  outcome
    0      K1      1.0
    1      K2      0.0
    2      K3      NaN
    >>> merge_cases(merged.data, _example_cases().assign(outcome=[1, None]))
    Traceback (most recent call last):
    ...
    credibility.errors.CredibilityDataError: new cases table, row 1 (line 2), column 'outcome': \
got '1'; the stored outcome of case 'K2' is 0; a stored case is never changed silently: pass \
revise=True (--revise) if this is a correction
    """
    incoming, name = _read_table(new_cases, "new cases table")
    fresh = read_cases(incoming, data, name=name)
    rows = _data_rows(incoming)
    stored = data.cases if data.cases is not None else fresh.iloc[:0]
    old = stored.set_index("case_id")
    compared = ["commitment_id", "period", *data.spec.covariates]
    actions, old_outcomes = [], []
    for (_, case), row in zip(fresh.iterrows(), rows, strict=True):
        if case["case_id"] not in old.index:
            actions.append("added")
            old_outcomes.append(np.nan)
            continue
        before = old.loc[case["case_id"]]
        old_outcomes.append(float(before["outcome"]))
        differs = [c for c in [*compared, "outcome"] if not _same_cell(before[c], case[c])]
        if not differs:
            actions.append("unchanged")
        elif differs == ["outcome"] and np.isnan(before["outcome"]):
            actions.append("resolved")
        elif revise:
            actions.append("revised")
        else:
            shown = {side: ("empty" if _is_blank(value) else _number(value)
                            if isinstance(value, float) else str(value))
                     for side, value in (("old", before[differs[0]]), ("new", case[differs[0]]))}
            raise CredibilityDataError(
                f"the stored {differs[0]} of case {case['case_id']!r} is {shown['old']}; a "
                "stored case is never changed silently: pass revise=True (--revise) if this is "
                "a correction", file=name, row=int(row), column=differs[0], value=shown["new"])
    ledger = pd.DataFrame({
        "row": rows.astype(np.int64),
        "action": actions,
        "case_id": fresh["case_id"],
        "commitment_id": fresh["commitment_id"],
        "period": fresh["period"].astype(np.int64),
        "old_outcome": np.asarray(old_outcomes, dtype=np.float64),
        "new_outcome": fresh["outcome"].astype(np.float64),
    })
    # Replaced cases keep their place; added ones follow, in the order given.
    replaced = fresh[ledger["action"].isin(["resolved", "revised"]).to_numpy()]
    kept = stored[~stored["case_id"].isin(set(replaced["case_id"]))]
    order = {case_id: position for position, case_id in enumerate(stored["case_id"])}
    cases = pd.concat([kept, replaced], ignore_index=True)
    cases = cases.iloc[np.argsort(cases["case_id"].map(order).to_numpy(), kind="stable")]
    added = fresh[(ledger["action"] == "added").to_numpy()]
    cases = pd.concat([cases, added], ignore_index=True)
    tables = _contract_tables(data)
    sources = dict(data.sources)
    merged = CredibilityData.from_frames(
        tables["commitments"], tables["signals"], cases, spec=data.spec,
        periods=(data.first_period, data.last_period),
        names={"commitments": sources.get("commitments", "stored commitments"),
               "signals": sources.get("signals", "stored signals"),
               "cases": f"{sources.get('cases', 'stored cases')} + {name}"},
    )
    return CaseMerge(data=merged, ledger=ledger)


def _same_cell(a: Any, b: Any) -> bool:
    """Equal cells of a parsed cases table, two missing numbers counting as equal."""
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
        return a == b or (np.isnan(a) and np.isnan(b))
    return bool(a == b)


# --------------------------------------------------------------------------- refitting


def refit_settings(settings: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """Sampler settings for a refit: those of the previous fit, except where overridden.

    ``settings`` is a :attr:`FitResult.settings` dict; only the keys of
    :data:`FIT_SETTINGS` are taken (it also records e.g. ``unused_signals``).
    A setting it lacks takes :class:`~credibility.inference.config.SamplerConfig`'s default
    (:meth:`~credibility.inference.config.SamplerConfig.from_dict`: a fit recorded before
    runs could continue until reliable had a fixed length, and its refit too);
    an override of ``None`` keeps the previous value.

    Examples
    --------
    >>> previous = {"draws": 500, "tune": 500, "chains": 2, "seed": 7, "backend": "nutpie",
    ...             "target_accept": 0.9, "outcome": "two_stage", "unused_signals": [],
    ...             "until_reliable": True}
    >>> chosen = refit_settings(previous, draws=1000, seed=None)
    >>> chosen["draws"], chosen["seed"], chosen["outcome"], chosen["until_reliable"]
    (1000, 7, 'two_stage', True)
    >>> refit_settings({})["until_reliable"]
    False
    """
    unknown = sorted(set(overrides) - set(FIT_SETTINGS))
    if unknown:
        raise UpdateError(f"unknown sampler setting(s) {', '.join(unknown)}; expected "
                          f"{', '.join(FIT_SETTINGS)}")
    chosen = {**SamplerConfig.from_dict(settings).to_dict(),
              "outcome": settings.get("outcome", "auto")}
    chosen.update({name: value for name, value in overrides.items() if value is not None})
    return chosen


def update_fit(
    fit: FitResult,
    new_signals: Table | None = None,
    *,
    new_cases: Table | None = None,
    method: str = "exact",
    revise: bool = False,
    new_commitments: Table | None = None,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    seed: int | None = None,
    progress: bool = True,
    on_stage: Callable[[str], None] | None = None,
) -> UpdateResult:
    """Merge new signal rows and deterrence cases into a fit's data and refit.

    ``method="exact"`` refits the full posterior on all the merged data with the
    previous fit's spec and sampler settings (draws, tune, chains, seed, backend,
    target_accept; the first four can be overridden here): the result is a
    from-scratch fit of the merged data. ``method="approximate"`` samples only the
    periods after the last one with data (:mod:`credibility.analysis.approximate`). See
    :func:`merge_signals` for ``revise`` and ``new_commitments``; ``progress`` and
    ``on_stage`` go to :meth:`CredibilityModel.fit`.

    ``new_cases`` (the cases table layout) adds deterrence cases and outcomes of open
    cases (:func:`merge_cases`; ``revise`` applies to them too), and the outcome model
    is refitted on the merged cases (:func:`refit_outcome`). A two-stage fit's
    measurement posterior does not depend on the cases, so an update that brings
    cases and no signal rows keeps it and refits only the outcome model: what a fit
    from scratch of the merged data would do. A joint fit, or an exact update of an
    approximate fit, is refitted in full. A fit fitted without an outcome model
    (``outcome="none"``) gets one when the merged cases have outcomes.

    Raises :class:`UpdateError` for an unknown method or when nothing incoming
    changes the data.

    Examples
    --------
    >>> result = update_fit(fit, "signals_2026.csv")  # doctest: +SKIP
    >>> result.merge.counts(), result.fit.diagnostics.ok  # doctest: +SKIP
    ({'added': 180, 'unchanged': 0, 'revised': 0}, True)
    >>> update_fit(fit, "signals_2026.csv", method="approximate").fit.is_approximate
    ... # doctest: +SKIP
    True
    >>> update_fit(fit, new_cases="outcomes_2026.csv").cases.counts()  # doctest: +SKIP
    {'added': 2, 'unchanged': 0, 'resolved': 3, 'revised': 0}
    """
    if method not in UPDATE_METHODS:
        raise UpdateError(f"unknown update method {method!r}; expected one of: "
                          f"{', '.join(UPDATE_METHODS)}")
    if new_signals is None and new_cases is None:
        raise UpdateError("nothing to update: give new signal rows, new cases or both")
    if new_signals is None and new_commitments is not None:
        raise UpdateError("new commitments come with their signal rows: give those too")
    merge = (merge_signals(fit.data, new_signals, revise=revise, new_commitments=new_commitments)
             if new_signals is not None else MergeResult(
                 data=fit.data, ledger=_ledger(fit.data.signals, fit.data.signals.iloc[:0],
                                               np.zeros(0, dtype=np.int64))[0]))
    cases = None if new_cases is None else merge_cases(merge.data, new_cases, revise=revise)
    if not merge.changed and (cases is None or not cases.changed):
        incoming = [f"{len(merge.ledger)} incoming rows"] if new_signals is not None else []
        incoming += [f"{len(cases.ledger)} incoming cases"] if cases is not None else []
        raise UpdateError(f"nothing to update: all {' and '.join(incoming)} are already "
                          "stored with the same values")
    data = merge.data if cases is None else cases.data
    mode = fit.settings.get("outcome", "auto")
    if cases is not None and mode == "none":
        mode = "auto"
    if not merge.changed and mode != "joint" and not (method == "exact" and fit.is_approximate):
        refit = refit_outcome(dataclasses.replace(fit, data=data), progress=progress,
                              on_stage=on_stage)
        return UpdateResult(fit=refit, merge=merge, cases=cases,
                            method="approximate" if refit.is_approximate else "exact")
    if method == "approximate":
        if cases is not None and mode == "joint":
            raise UpdateError("a joint fit's outcome model is part of its measurement model, "
                              "so new cases need the exact update")
        updated = _approximate(fit, merge, data, seed=seed, progress=progress,
                               on_stage=on_stage)
        if cases is not None:
            updated = refit_outcome(updated, progress=progress, on_stage=on_stage)
        return UpdateResult(fit=updated, merge=merge, cases=cases, method=method)
    settings = refit_settings(fit.settings, draws=draws, tune=tune, chains=chains, seed=seed)
    settings.pop("outcome")
    refit = CredibilityModel(fit.spec).fit(
        data, sampler=SamplerConfig.from_dict(settings), outcome=mode,
        progress=progress, on_stage=on_stage,
    )
    return UpdateResult(fit=refit, merge=merge, cases=cases, method=method)


def refit_outcome(fit: FitResult, *, progress: bool = True,
                  on_stage: Callable[[str], None] | None = None) -> FitResult:
    """``fit`` with its two-stage outcome model sampled again on the cases of ``fit.data``.

    The measurement posterior is kept; stage 2 is sampled as
    :meth:`CredibilityModel.fit` samples it (the fit's sampler settings, seed + 1, as
    many chains and draws as the measurement posterior holds), so for an exact fit the
    result is the two-stage fit of ``fit.data`` from scratch. Without a case with an
    observed outcome the result has no outcome model. A joint fit is refused (its
    outcome model is part of the measurement model: refit it).

    Examples
    --------
    >>> merged = merge_cases(fit.data, "outcomes_2026.csv")  # doctest: +SKIP
    >>> refit_outcome(dataclasses.replace(fit, data=merged.data)).predict()  # doctest: +SKIP
    """
    if fit.outcome_mode == "joint":
        raise UpdateError("a joint fit's outcome model is part of its measurement model: "
                          "refit it (the exact update) instead of refitting the outcome model")
    data = fit.data
    tree = fit.posterior.copy()
    has_outcomes = data.cases is not None and bool(data.cases["outcome"].notna().any())
    if not has_outcomes:
        if "outcome" in tree.children:
            del tree["outcome"]
        return dataclasses.replace(fit, posterior=tree, outcome_diagnostics=None,
                                   settings={**fit.settings, "outcome": "none"})
    index = fit.index
    design = predictor.outcome_design(data, index)
    credibility = predictor.outcome_latent(fit.posterior["posterior"].to_dataset())
    if on_stage is not None:
        on_stage(f"sampling the outcome model ({len(design.case_ids)} cases, two-stage)")
    group, diagnostics = predictor.fit_two_stage(
        credibility, index, design, fit.spec.outcome,
        sampler=predictor.stage_two_sampler(fit.sampler_config, credibility), progress=progress)
    tree["outcome"] = xr.DataTree(group)
    diagnostics.warn("outcome model (stage 2) posterior")
    return dataclasses.replace(fit, posterior=tree, outcome_diagnostics=diagnostics,
                               settings={**fit.settings, "outcome": "two_stage"})


def _approximate(fit: FitResult, merge: MergeResult, data: CredibilityData, *,
                 seed: int | None, progress: bool,
                 on_stage: Callable[[str], None] | None) -> FitResult:
    """The approximate update of ``fit`` to ``data``, after checking the merge only adds
    rows in the last periods with data (the smoothed ones) or later, and no commitments."""
    from credibility.analysis.approximate import (
        SMOOTHED_PERIODS,
        ApproximateUpdateError,
        approximate_update,
        observed_until,
    )

    ledger = merge.ledger
    last = observed_until(fit.data)
    earliest = max(last - SMOOTHED_PERIODS + 1, fit.data.first_period)
    revised = ledger[ledger["action"] == "revised"]
    early = ledger[(ledger["action"] == "added") & (ledger["period"] < earliest)]
    if len(revised):
        raise ApproximateUpdateError(
            f"row {int(revised['row'].iloc[0])} revises a stored value; the approximate update "
            "cannot take back what a stored row said: use the exact update for corrections")
    if len(early) or merge.added_commitments:
        what = (f"row {int(early['row'].iloc[0])} is for period {int(early['period'].iloc[0])}"
                if len(early) else "new commitments are added")
        raise ApproximateUpdateError(
            f"{what}; the approximate update only adds rows from {earliest} on (the last "
            f"{SMOOTHED_PERIODS} periods with data, to {last}, and later ones) for the fitted "
            "commitments: use the exact update")
    if on_stage is not None:
        on_stage("sampling the new periods (approximate update)")
    return approximate_update(fit, data, seed=seed, progress=progress)


def warm_start_values(fit: FitResult, data: CredibilityData) -> dict[str, np.ndarray]:
    """Initial values for the free variables of ``data``'s model, from ``fit``'s posterior.

    Each free variable the previous posterior holds starts at its posterior mean,
    aligned by label: by coordinate (signal, alliance, region, type) and, for the
    per-cell states and innovations, by (unit, period). Cells the previous fit did
    not have (new periods, new commitments) take the unit's last known value, or
    0 for a new unit; a new label of a per-label variable takes the mean of the
    known ones. Spectral state coefficients (``commitment_spectral``) are kept only
    when the commitments and the longest window are unchanged: a new period changes
    the basis they are coefficients of. Variables that cannot be aligned are left
    out (the sampler's default initialisation applies). The values are on the variables'
    own (constrained) scale, the form ``nutpie.compile_pymc_model(initial_points=...)``
    and ``pm.sample(initvals=...)`` take.

    Examples
    --------
    >>> values = warm_start_values(fit, merged.data)  # doctest: +SKIP
    >>> sorted(values)[:3]  # doctest: +SKIP
    ['alliance_effect_raw', 'alliance_innovation', 'commitment_state']
    """
    model = build_measurement_model(data, fit.spec)
    shapes = model.eval_rv_shapes()
    posterior = fit.posterior["posterior"].to_dataset()
    old_index, new_index = fit.index, build_index(data, fit.spec)
    cell_dims = {"cell": (old_index.cells, new_index.cells, old_index.commitments,
                          new_index.commitments),
                 "alliance_cell": (old_index.alliance_cells, new_index.alliance_cells,
                                   old_index.alliances, new_index.alliances)}
    values = {}
    for rv in model.free_RVs:
        name = rv.name
        if name not in posterior:
            continue
        mean = posterior[name].mean(("chain", "draw"))
        dims = model.named_vars_to_dims.get(name) or ()
        shape = tuple(int(s) for s in shapes[name])
        if name == "commitment_spectral":
            # DCT coefficients of each commitment's padded window (decision 17): they
            # mean the same only for the same commitments and the same longest window.
            same = (old_index.commitments == new_index.commitments
                    and old_index.cells.max_length == new_index.cells.max_length)
            if not same:
                continue
            value = mean.to_numpy()
        elif len(dims) == 1 and dims[0] in cell_dims:
            old_cells, new_cells, old_units, new_units = cell_dims[dims[0]]
            value = _align_cells(mean.to_numpy(), old_cells, new_cells, old_units, new_units,
                                 fit.data.first_period, data.first_period)
        elif dims and all(d in model.coords for d in dims) and set(dims) <= set(mean.dims):
            aligned = mean.transpose(*dims).reindex({d: list(model.coords[d]) for d in dims})
            value = aligned.to_numpy()
            if np.isnan(value).all():
                continue
            value = np.where(np.isnan(value), np.nanmean(value), value)
        else:
            value = mean.to_numpy()
        if value.shape != shape:
            continue
        values[name] = np.asarray(value, dtype=np.float64)
    return values


def _align_cells(
    old_values: np.ndarray, old: UnitCells, new: UnitCells, old_units: tuple[str, ...],
    new_units: tuple[str, ...], old_first: int, new_first: int,
) -> np.ndarray:
    """Per-cell values moved from the old cell order to the new one, by (unit, period)."""
    old_key = pd.MultiIndex.from_arrays([np.asarray(old_units)[old.unit], old.period + old_first])
    known = pd.Series(old_values, index=old_key)
    new_key = pd.MultiIndex.from_arrays([np.asarray(new_units)[new.unit], new.period + new_first])
    moved = pd.Series(known.reindex(new_key).to_numpy(), index=new.unit)
    # New cells continue their unit's last known value; a new unit starts at 0.
    return moved.groupby(level=0).ffill().fillna(0.0).to_numpy()


# --------------------------------------------------------------------------- comparing


def credibility_diff(
    fit_a: FitResult, fit_b: FitResult, period: int | None = None, *, seed: int = 0
) -> pd.DataFrame:
    """Per commitment, how credibility in one period changed from fit A to fit B.

    ``period`` defaults to the last period in which some commitment is active in
    both fits. For each commitment active then in both, the columns
    :data:`DIFF_COLUMNS` give the posterior means in A and B (z scale), the mean
    change B - A with its 90 % interval, and ``p_up``, the share of draws in which
    B > A. The two posteriors are treated as independent: their draws are paired
    by index after flattening chain x draw, and when their numbers differ the
    shorter set is resampled with replacement (``seed``) to the longer's size.
    ``p_up`` is therefore the probability that B's credibility exceeds A's
    *under independent posteriors*, not a paired within-model probability.

    Examples
    --------
    >>> diff = credibility_diff(store.load("v0001"), store.load("v0002"))  # doctest: +SKIP
    >>> list(diff.columns)  # doctest: +SKIP
    ['commitment_id', 'period', 'mean_a', 'mean_b', 'change', 'change_q05', 'change_q95', 'p_up']
    """
    a = fit_a.posterior["posterior"]["credibility"]
    b = fit_b.posterior["posterior"]["credibility"]
    active_a, active_b = _active(a), _active(b)
    common = np.intersect1d(a["period"].to_numpy(), b["period"].to_numpy())
    if period is None:
        shared = [p for p in common
                  if _both_active(active_a, active_b, int(p)).any()]
        if not shared:
            raise UpdateError("the two fits have no period in which a commitment is active in "
                              "both; nothing to compare")
        period = int(shared[-1])
    elif period not in common:
        raise UpdateError(
            f"period {period} is not in both fits (A: {int(a['period'].min())}.."
            f"{int(a['period'].max())}, B: {int(b['period'].min())}..{int(b['period'].max())})"
        )
    both = _both_active(active_a, active_b, int(period))
    commitments = list(both.index[both.to_numpy()])
    if not commitments:
        raise UpdateError(f"no commitment is active in period {period} in both fits")
    draws_a = _flat_draws(a.sel(period=period, commitment=commitments))
    draws_b = _flat_draws(b.sel(period=period, commitment=commitments))
    draws_a, draws_b = _match_sizes(draws_a, draws_b, seed)
    change = draws_b - draws_a
    q05, q95 = np.quantile(change, [0.05, 0.95], axis=0)
    return pd.DataFrame({
        "commitment_id": commitments,
        "period": np.int64(period),
        "mean_a": draws_a.mean(axis=0),
        "mean_b": draws_b.mean(axis=0),
        "change": change.mean(axis=0),
        "change_q05": q05,
        "change_q95": q95,
        "p_up": (change > 0).mean(axis=0),
    }, columns=list(DIFF_COLUMNS))


def _active(credibility: xr.DataArray) -> pd.DataFrame:
    """``commitment x period`` table of active cells (the same in every draw)."""
    first = credibility.isel(chain=0, draw=0).transpose("commitment", "period")
    return pd.DataFrame(first.notnull().to_numpy(), index=first["commitment"].to_numpy(),
                        columns=first["period"].to_numpy())


def _both_active(active_a: pd.DataFrame, active_b: pd.DataFrame, period: int) -> pd.Series:
    """Commitments of A (in A's order) active in ``period`` in both fits."""
    in_b = active_b[period].reindex(active_a.index, fill_value=False)
    return active_a[period] & in_b


def _flat_draws(values: xr.DataArray) -> np.ndarray:
    return values.stack(sample=("chain", "draw")).transpose("sample", "commitment").to_numpy()


def _match_sizes(a: np.ndarray, b: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Resample the shorter draw set with replacement to the longer one's size."""
    if len(a) == len(b):
        return a, b
    rng = np.random.default_rng(seed)
    if len(a) < len(b):
        return a[rng.integers(0, len(a), size=len(b))], b
    return a, b[rng.integers(0, len(b), size=len(a))]


# --------------------------------------------------------------------------- examples


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


def _example_cases() -> pd.DataFrame:
    """The open case of :func:`_example_data` resolved, and a new open case."""
    return pd.DataFrame({"case_id": ["K2", "K3"], "commitment_id": ["US-EST", "US-POL"],
                         "period": [2004, 2004], "outcome": [0, None],
                         "capability_ratio": [0.8, 1.5], "challenger_nuclear": [1, 0]})


def _example_rows() -> pd.DataFrame:
    """One repeated and one new row for :func:`_example_data`."""
    return pd.DataFrame({"commitment_id": ["US-POL", "US-EST"], "period": [2004, 2005],
                         "signal": ["troops", "troops"], "value": [4500.0, 300.0]})
