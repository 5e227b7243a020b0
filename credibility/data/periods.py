"""The period grid: the window argument, the span check, each unit's active window."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd

from credibility.data.tables import MAX_PERIODS, _Table
from credibility.errors import CredibilityDataError


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

