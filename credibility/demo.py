"""The synthetic demo data set (``datasets/demo``) and the code that regenerates it.

The *structure* is realistic: US commitments to every other NATO member (with
their accession years), the US treaties with Japan, South Korea, the Philippines
and Australia, AUKUS, and a few non-US guarantors. The *values* are not: every
signal value and every latent credibility score is drawn by
:func:`credibility.simulate.simulate` from ``models/default.toml`` with
:data:`DEMO_SEED`. Regenerate byte-identically with::

    python -m credibility.demo --out datasets/demo
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from credibility.simulate import simulate, simulate_cases

DEMO_SEED = 20261126
FIRST_PERIOD, LAST_PERIOD = 2000, 2025
#: The period of the named contingencies to predict: one past the signal data, so
#: the demo forecasts credibility a year ahead (no signal is observed in it).
FORECAST_PERIOD = 2026
#: Number of synthetic historical deterrence cases (with outcomes).
N_HISTORICAL_CASES = 160

# (ISO3 code, NATO accession year) of every member other than the US. Accession
# years are public facts; members that joined before 2000 enter the window in 2000.
_NATO = (
    ("ALB", 2009), ("BEL", 1949), ("BGR", 2004), ("CAN", 1949), ("HRV", 2009),
    ("CZE", 1999), ("DNK", 1949), ("EST", 2004), ("FIN", 2023), ("FRA", 1949),
    ("DEU", 1955), ("GRC", 1952), ("HUN", 1999), ("ISL", 1949), ("ITA", 1949),
    ("LVA", 2004), ("LTU", 2004), ("LUX", 1949), ("MNE", 2017), ("NLD", 1949),
    ("MKD", 2020), ("NOR", 1949), ("POL", 1999), ("PRT", 1949), ("ROU", 2004),
    ("SVK", 2004), ("SVN", 2004), ("ESP", 1982), ("SWE", 2024), ("TUR", 1952),
    ("GBR", 1949),
)

# Extra commitments: (guarantor, protege, alliance, region, type, start year).
_OTHERS = (
    ("USA", "JPN", "US-Japan", "indo_pacific", "nuclear_umbrella", 1960),
    ("USA", "KOR", "US-ROK", "indo_pacific", "nuclear_umbrella", 1953),
    ("USA", "PHL", "US-Philippines", "indo_pacific", "bilateral_guarantee", 1951),
    ("USA", "AUS", "ANZUS", "indo_pacific", "defense_pact", 1951),
    ("USA", "AUS", "AUKUS", "indo_pacific", "security_partnership", 2021),
    ("GBR", "AUS", "AUKUS", "indo_pacific", "security_partnership", 2021),
    ("GBR", "EST", "NATO", "europe", "defense_pact", 2004),
    ("DEU", "LTU", "NATO", "europe", "defense_pact", 2004),
    ("FRA", "ROU", "NATO", "europe", "defense_pact", 2004),
    ("FRA", "DJI", "France-Djibouti", "africa", "bilateral_guarantee", 1977),
)

# Share of observations dropped at random, per signal (reporting gaps).
_MISSING = {
    "joint_exercises": 0.15,
    "troops": 0.15,
    "spending_ratio": 0.10,
    "consultation": 0.20,
    "intel_sharing": 0.10,
    "alliance_exercises": 0.10,
}


#: The synthetic world the demo is drawn from: fixed "true" values of the
#: structural parameters and of each signal's loading (raw model scale), intercept
#: and noise, chosen so that no single signal dominates. Everything else (group
#: effects, paths, cutpoints, observations, gaps) is drawn with DEMO_SEED.
DEMO_WORLD: dict[str, float | dict[str, float]] = {
    "persistence_commitment": 0.85,
    "persistence_alliance": 0.8,
    "sd_alliance_mean": 1.2,
    "sd_alliance_dynamics": 0.8,
    "joint_exercises": {"loading": 0.2, "intercept": 1.5, "noise": 0.4},
    "troops": {"loading": 0.4, "intercept": 6.5, "noise": 0.6},
    "spending_ratio": {"loading": 0.06, "intercept": -0.2, "noise": 0.2},
    "consultation": {"loading": 0.5},
    "intel_sharing": {"loading": 0.6, "intercept": 0.3},
    "alliance_exercises": {"loading": 0.2, "intercept": 2.0, "noise": 0.3},
}


#: The synthetic outcome model the demo's historical cases are drawn from
#: (:func:`credibility.simulate.simulate_cases`): log-odds per posterior-sd of
#: credibility and per sd of each covariate.
DEMO_OUTCOME: dict[str, float | dict[str, float]] = {
    "intercept": 0.8,
    "credibility": 1.2,
    "covariates": {"capability_ratio": -0.6, "challenger_nuclear": -0.3},
    "region_sd": 0.3,
}

#: Named hypothetical contingencies to predict in FORECAST_PERIOD: (case_id,
#: commitment_id, challenger-to-defender capability ratio, nuclear challenger).
#: The covariate values are invented for the illustration, not estimates.
DEMO_CONTINGENCIES = (
    ("baltic-2026-EST", "USA-EST", 4.0, 1),
    ("baltic-2026-LVA", "USA-LVA", 4.0, 1),
    ("baltic-2026-LTU", "USA-LTU", 4.0, 1),
    ("poland-2026", "USA-POL", 2.0, 1),
    ("taiwan-strait-adjacent-2026-JPN", "USA-JPN", 1.5, 1),
    ("korea-2026", "USA-KOR", 0.8, 1),
    ("south-china-sea-2026-PHL", "USA-PHL", 3.0, 1),
)


def demo_commitments() -> pd.DataFrame:
    """The demo's commitments table (structure only; no values).

    Examples
    --------
    >>> table = demo_commitments()
    >>> len(table), table["alliance"].nunique()
    (41, 7)
    """
    rows = []
    for protege, joined in _NATO:
        region = "americas" if protege == "CAN" else "europe"
        rows.append(("USA", protege, "NATO", region, "defense_pact", joined))
    rows.extend(_OTHERS)
    table = pd.DataFrame(rows, columns=["guarantor", "protege", "alliance", "region", "type",
                                        "joined"])
    suffix = np.where(table["alliance"] == "AUKUS", "-AUKUS", "")
    table.insert(0, "commitment_id", table["guarantor"] + "-" + table["protege"] + suffix)
    table["start"] = table.pop("joined").clip(lower=FIRST_PERIOD)
    table["end"] = ""
    return table


def _format_values(signals: pd.DataFrame) -> pd.Series:
    """Render values as reports would give them (whole troops, spending to 0.01 %)."""
    values = signals["value"].to_numpy(dtype=float)
    text = np.array([f"{round(v)}" for v in values], dtype=object)
    troops = (signals["signal"] == "troops").to_numpy()
    text[troops] = [f"{max(1, round(v))}" for v in values[troops]]
    spending = (signals["signal"] == "spending_ratio").to_numpy()
    text[spending] = [f"{max(0.01, v):.2f}" for v in values[spending]]
    return pd.Series(text, index=signals.index)


def _demo_cases(sim, seed: int) -> pd.DataFrame:
    """Historical cases (outcomes drawn from DEMO_OUTCOME) and the named contingencies.

    The cases use their own random stream (``seed + 1``) so that the signals do
    not depend on them.
    """
    rng = np.random.default_rng(seed + 1)
    active = sim.truth["credibility"].to_series().dropna().index.to_frame(index=False)
    pick = np.sort(rng.choice(len(active), size=N_HISTORICAL_CASES, replace=False))
    historical = pd.DataFrame({
        "case_id": [f"SYN-{k + 1:03d}" for k in range(N_HISTORICAL_CASES)],
        "commitment_id": active["commitment"].to_numpy()[pick],
        "period": active["period"].to_numpy()[pick].astype(np.int64),
        "capability_ratio": np.round(np.exp(rng.normal(0.0, 0.7, N_HISTORICAL_CASES)), 2),
        "challenger_nuclear": (rng.random(N_HISTORICAL_CASES) < 0.4).astype(np.int64),
    })
    outcome = DEMO_OUTCOME
    drawn = simulate_cases(sim, historical, seed=seed + 2, intercept=outcome["intercept"],
                           credibility=outcome["credibility"],
                           covariates=outcome["covariates"], region_sd=outcome["region_sd"])
    cases = drawn.data.cases[["case_id", "commitment_id", "period", "outcome",
                              "capability_ratio", "challenger_nuclear"]].copy()
    cases["outcome"] = cases["outcome"].astype(np.int64).astype(str)
    named = pd.DataFrame(list(DEMO_CONTINGENCIES), columns=["case_id", "commitment_id",
                                                            "capability_ratio",
                                                            "challenger_nuclear"])
    named.insert(2, "period", FORECAST_PERIOD)
    named.insert(3, "outcome", "")
    table = pd.concat([cases, named], ignore_index=True)
    table["capability_ratio"] = table["capability_ratio"].map(lambda v: f"{v:.2f}")
    table["challenger_nuclear"] = table["challenger_nuclear"].astype(np.int64)
    return table


def make_demo_tables(seed: int = DEMO_SEED) -> dict[str, pd.DataFrame]:
    """Simulate the demo tables: ``commitments``, ``signals``, ``truth`` and ``cases``.

    Examples
    --------
    >>> tables = make_demo_tables()
    >>> sorted(tables)
    ['cases', 'commitments', 'signals', 'truth']
    """
    commitments = demo_commitments()
    sim = simulate("default", commitments, seed=seed, missing=_MISSING, last_period=LAST_PERIOD,
                   fixed=DEMO_WORLD)
    signals = sim.data.signals.copy()
    # Intelligence-sharing agreements are not recorded before 2005 in this design.
    signals = signals[~((signals["signal"] == "intel_sharing") & (signals["period"] < 2005))]
    # Non-US guarantors report deployments only from 2017 (forward-presence era).
    guarantor = signals["commitment_id"].str.split("-").str[0]
    signals = signals[~((signals["signal"] == "troops") & (guarantor != "USA")
                        & (signals["period"] < 2017))]
    out = pd.DataFrame({
        "commitment_id": signals["commitment_id"],
        "alliance": np.where(signals["level"] == "alliance", signals["alliance"], ""),
        "period": signals["period"],
        "signal": signals["signal"],
        "value": _format_values(signals),
        "source": f"SYNTHETIC (credibility.simulate, seed {seed})",
    }).sort_values(["signal", "commitment_id", "alliance", "period"], kind="stable")
    truth = (
        sim.truth["credibility"].to_dataframe().dropna().reset_index()
        .rename(columns={"commitment": "commitment_id", "credibility": "true_credibility"})
    )
    truth["true_credibility"] = truth["true_credibility"].map(lambda v: f"{v:.6f}")
    return {"commitments": commitments, "signals": out.reset_index(drop=True), "truth": truth,
            "cases": _demo_cases(sim, seed)}


def write_demo_dataset(folder: str | Path, seed: int = DEMO_SEED) -> list[Path]:
    """Write ``commitments.csv``, ``signals.csv``, ``truth.csv`` and ``cases.csv`` into ``folder``.

    Output is byte-identical for the same seed and package version.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in make_demo_tables(seed).items():
        path = folder / f"{name}.csv"
        table.to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: ``python -m credibility.demo --out DIR``."""
    parser = argparse.ArgumentParser(description="Regenerate the synthetic demo data set.")
    parser.add_argument("--out", default="datasets/demo", help="output folder")
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    args = parser.parse_args(argv)
    for path in write_demo_dataset(args.out, args.seed):
        print(path)


if __name__ == "__main__":
    main()
