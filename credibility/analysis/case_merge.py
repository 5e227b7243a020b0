"""Merge incoming deterrence cases, and outcomes of open cases, into validated data:
:func:`merge_cases`, with its own ledger (``added``, ``unchanged``, ``resolved``,
``revised``). A stored case is never changed silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from credibility.analysis.signal_merge import (
    Table,
    _contract_tables,
    _data_rows,
    _is_blank,
    _Merge,
    _number,
    _read_table,
)
from credibility.data.cases import read_cases
from credibility.data.container import CredibilityData
from credibility.data.ledger import (
    CASE_ACTIONS,
)
from credibility.errors import CredibilityDataError

#: Columns of :attr:`CaseMerge.ledger`; ``row`` is the row number in the incoming table.
CASE_LEDGER_COLUMNS = ("row", "action", "case_id", "commitment_id", "period", "old_outcome",
                       "new_outcome")


@dataclass(frozen=True, eq=False)
class CaseMerge(_Merge):
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

    Examples
    --------
    >>> from credibility.analysis.signal_merge import _example_data
    >>> merged = merge_cases(_example_data(), _example_cases())
    >>> merged.counts(), merged.changed
    ({'added': 1, 'unchanged': 0, 'resolved': 1, 'revised': 0}, True)
    """

    actions: ClassVar[tuple[str, ...]] = CASE_ACTIONS


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
    >>> from credibility.analysis.signal_merge import _example_data
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
    actions, old_outcomes = _case_actions(fresh, rows, old, compared, revise, name)
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


def _case_actions(fresh: pd.DataFrame, rows: np.ndarray, old: pd.DataFrame,
                  compared: list[str], revise: bool, name: str
                  ) -> tuple[list[str], list[float]]:
    """Each incoming case's action and its stored outcome (NaN when added); a changed
    stored case is an error naming the first column that differs, unless ``revise``."""
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
    return actions, old_outcomes


def _same_cell(a: Any, b: Any) -> bool:
    """Equal cells of a parsed cases table, two missing numbers counting as equal."""
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
        return a == b or (np.isnan(a) and np.isnan(b))
    return bool(a == b)


def _example_cases() -> pd.DataFrame:
    """The open case of :func:`_example_data` resolved, and a new open case."""
    return pd.DataFrame({"case_id": ["K2", "K3"], "commitment_id": ["US-EST", "US-POL"],
                         "period": [2004, 2004], "outcome": [0, None],
                         "capability_ratio": [0.8, 1.5], "challenger_nuclear": [1, 0]})
