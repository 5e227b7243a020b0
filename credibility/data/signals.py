"""The signals table: each row's unit, its signal, and the value's support by family."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credibility.data.spec import ModelSpec, SignalSpec
from credibility.data.tables import (
    SIGNAL_COLUMNS,
    _check_columns,
    _is_whole,
    _listing,
    _Table,
    _unique,
)
from credibility.errors import CredibilityDataError

_REQUIRED_SIGNAL = ("period", "signal", "value")


def _parse_signals(
    table: _Table, spec: ModelSpec, commitments: pd.DataFrame, commitments_name: str
) -> pd.DataFrame:
    """The signals table, checked against the spec and the parsed commitments."""
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
    is_alliance = _check_units(table, commitments, commitments_name)

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


def _check_units(table: _Table, commitments: pd.DataFrame, commitments_name: str) -> pd.Series:
    """Each row names one known unit, a commitment or an alliance; True for alliance rows."""
    cells = table.frame
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
    return is_alliance


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
