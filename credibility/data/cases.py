"""The deterrence cases table, read with the data or later against fitted data."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from credibility.data.periods import _check_periods
from credibility.data.spec import ModelSpec
from credibility.data.tables import (
    _DEFAULT_NAMES,
    CASE_COLUMNS,
    PathLike,
    _check_columns,
    _frame_table,
    _read_csv,
    _Table,
)
from credibility.errors import CredibilityDataError

if TYPE_CHECKING:
    from credibility.data.container import CredibilityData

__all__ = ["read_cases"]

_REQUIRED_CASE = CASE_COLUMNS[:-1]


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
    >>> from credibility.data.container import _example_data
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

