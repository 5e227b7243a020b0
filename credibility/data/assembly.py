"""The commitments table, then the signals and cases against it: the validated fields.

:func:`_assemble` is what :meth:`~credibility.data.container.CredibilityData.from_csv`
and :meth:`~credibility.data.container.CredibilityData.from_frames` run on the tables
read as text; it returns the container's fields, so that this module does not need
the container.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from credibility.data.cases import _parse_cases
from credibility.data.periods import _check_periods, _check_span, _clip, _window_argument
from credibility.data.signals import _parse_signals
from credibility.data.spec import ModelSpec, load_spec
from credibility.data.tables import COMMITMENT_COLUMNS, _check_columns, _Table
from credibility.errors import CredibilityDataError

_REQUIRED_COMMITMENT = COMMITMENT_COLUMNS[:-1]


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


def _assemble(
    tables: Mapping[str, _Table],
    spec: ModelSpec | str | Path,
    periods: tuple[int, int] | None,
    sources: dict[str, str],
) -> dict[str, Any]:
    """The fields of :class:`~credibility.data.container.CredibilityData`, validated."""
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

    return {
        "commitments": commitments.reset_index(drop=True),
        "signals": signals.reset_index(drop=True),
        "cases": None if cases is None else cases.reset_index(drop=True),
        "spec": model,
        "first_period": first,
        "last_period": last,
        "sources": dict(sources),
    }

