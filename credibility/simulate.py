"""Simulate signal data and true latent credibility from the measurement model.

:func:`simulate` draws every parameter from the priors of a spec, builds latent
credibility exactly as :mod:`credibility.measurement` does (same sum-to-zero
effects, same unit-variance AR(1) / random-walk paths in each unit's own time) and
draws one observation per (unit, period, signal) from the family's likelihood,
then drops a share of them at random to mimic missing reports. Everything it
returns is marked **synthetic**.

Signals whose spec leaves a prior on ``"auto"`` have no data to scale it from, so
the simulator uses the fixed fallbacks in :data:`SIMULATION_FALLBACKS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from credibility.measurement import (
    NOISE_SHAPE,
    RESIDUAL_PERSISTENCE_PRIOR,
    draw_autocorrelated_lognormal,
    previous_rows,
)
from credibility.schema import CredibilityData
from credibility.spec import LOG_FAMILIES, ModelSpec, SignalSpec, load_spec

#: (intercept mu, intercept sigma, loading sd, noise mean) used for "auto" priors.
SIMULATION_FALLBACKS: dict[str, tuple[float, float, float, float]] = {
    "count": (1.0, 0.5, 0.7, 0.5),
    "amount": (6.0, 1.0, 1.0, 0.5),
    "ratio": (0.0, 0.5, 0.3, 0.2),
    "proportion": (0.0, 1.0, 1.0, 1.0),
    "binary": (0.0, 1.0, 1.5, 1.0),
    "binomial": (0.0, 1.0, 1.0, 1.0),
    "ordinal": (0.0, 1.0, 1.5, 1.0),
}

_REGIONS = ("europe", "indo_pacific", "americas", "middle_east")
_TYPES = ("defense_pact", "bilateral_guarantee", "nuclear_umbrella", "consultation_pact")


@dataclass(frozen=True)
class Simulation:
    """Simulated data together with the true values that generated it."""

    data: CredibilityData
    truth: xr.Dataset
    seed: int


def synthetic_commitments(
    n_commitments: int = 12,
    n_alliances: int = 3,
    periods: tuple[int, int] = (2000, 2015),
    *,
    seed: int = 0,
    staggered: bool = True,
) -> pd.DataFrame:
    """A synthetic commitments table: guarantors ``G#``, protégés ``P#``, alliances ``A#``.

    With ``staggered=True`` about a third of the commitments start late or end
    early, so windows differ.

    Examples
    --------
    >>> table = synthetic_commitments(6, 2, (2000, 2009), seed=1)
    >>> list(table.columns)
    ['commitment_id', 'guarantor', 'protege', 'alliance', 'region', 'type', 'start', 'end']
    >>> len(table)
    6
    """
    rng = np.random.default_rng(seed)
    first, last = periods
    alliance = np.arange(n_commitments) % n_alliances
    starts = np.full(n_commitments, first)
    ends = np.full(n_commitments, last)
    if staggered and last - first >= 4:
        span = last - first
        late = rng.random(n_commitments) < 0.25
        early = rng.random(n_commitments) < 0.15
        starts[late] = first + rng.integers(1, span // 2 + 1, late.sum())
        ends[early] = last - rng.integers(1, span // 3 + 1, early.sum())
    return pd.DataFrame(
        {
            "commitment_id": [f"C{i + 1:03d}" for i in range(n_commitments)],
            "guarantor": [f"G{a + 1}" for a in alliance],
            "protege": [f"P{i + 1:03d}" for i in range(n_commitments)],
            "alliance": [f"A{a + 1}" for a in alliance],
            "region": [_REGIONS[a % len(_REGIONS)] for a in alliance],
            "type": [_TYPES[i % 2] for i in range(n_commitments)],
            "start": starts,
            "end": [str(e) if e < last else "" for e in ends],
        }
    )


def _zero_sum(rng: np.random.Generator, sigma: float, n: int) -> np.ndarray:
    if n < 2:
        return np.zeros(n)
    draws = rng.normal(0.0, sigma, n)
    return draws - draws.mean()


def _paths(
    rng: np.random.Generator, unit: np.ndarray, local: np.ndarray, n_units: int,
    rho: float, dynamics: str,
) -> np.ndarray:
    length = int(local.max()) + 1
    innovations = rng.normal(size=(n_units, length))
    path = np.empty_like(innovations)
    path[:, 0] = innovations[:, 0]
    for t in range(1, length):
        if dynamics == "ar1":
            path[:, t] = rho * path[:, t - 1] + np.sqrt(1.0 - rho**2) * innovations[:, t]
        else:
            path[:, t] = path[:, t - 1] + rho * innovations[:, t]
    return path[unit, local]


def _signal_parameters(
    rng: np.random.Generator, spec: SignalSpec, priors: ModelSpec
) -> dict[str, float | np.ndarray]:
    mu, sigma, loading_sd, noise_mean = SIMULATION_FALLBACKS[spec.family]
    if spec.intercept is not None:
        mu, sigma = spec.intercept.mu, spec.intercept.sigma
    loading_sd = spec.loading_sd or loading_sd
    noise_mean = spec.noise_mean or noise_mean
    params: dict[str, float | np.ndarray] = {
        "loading": spec.direction * abs(rng.normal(0.0, loading_sd)),
    }
    if spec.family != "ordinal":
        params["intercept"] = rng.normal(mu, sigma)
    if spec.family in ("count", *LOG_FAMILIES):
        params["noise"] = rng.gamma(NOISE_SHAPE, noise_mean / NOISE_SHAPE)
    if spec.residual_persistence:
        params["residual_persistence"] = rng.beta(*RESIDUAL_PERSISTENCE_PRIOR)
    if spec.family == "proportion":
        p = priors.priors
        params["precision"] = rng.gamma(p.proportion_precision_alpha,
                                        1.0 / p.proportion_precision_beta)
    if spec.family == "ordinal":
        levels = int(spec.levels or 2)
        first = rng.normal(-(levels - 2) / 2.0, priors.priors.cutpoint_sd)
        gaps = np.exp(rng.normal(0.0, priors.priors.cutpoint_gap_sd, levels - 2))
        params["cutpoints"] = np.concatenate([[first], first + np.cumsum(gaps)])
    return params


def _draw_values(
    rng: np.random.Generator, spec: SignalSpec, params: Mapping[str, float | np.ndarray],
    state: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Observations (and binomial trials) for latent values ``state``."""
    n = state.size
    trials = np.full(n, np.nan)
    if spec.family == "ordinal":
        cut = np.asarray(params["cutpoints"])
        eta = float(params["loading"]) * state
        below = 1.0 / (1.0 + np.exp(-(cut[None, :] - eta[:, None])))
        return 1 + (rng.random(n)[:, None] > below).sum(axis=1).astype(np.float64), trials
    eta = float(params["intercept"]) + float(params["loading"]) * state
    if spec.family == "count":
        alpha = 1.0 / max(float(params["noise"]), 1e-6)
        rate = rng.gamma(alpha, np.exp(eta) / alpha)
        return rng.poisson(rate).astype(np.float64), trials
    if spec.family in LOG_FAMILIES:
        return spec.target * np.exp(eta + float(params["noise"]) * rng.normal(size=n)), trials
    mean = 1.0 / (1.0 + np.exp(-eta))
    if spec.family == "proportion":
        phi = float(params["precision"])
        return np.clip(rng.beta(mean * phi, (1.0 - mean) * phi), 1e-4, 1.0 - 1e-4), trials
    if spec.family == "binary":
        return (rng.random(n) < mean).astype(np.float64), trials
    trials = rng.integers(5, 21, n).astype(np.float64)
    return rng.binomial(trials.astype(np.int64), mean).astype(np.float64), trials


def simulate(
    spec: ModelSpec | str = "default",
    commitments: pd.DataFrame | None = None,
    *,
    seed: int = 0,
    missing: float | Mapping[str, float] = 0.2,
    last_period: int | None = None,
    fixed: Mapping[str, float | Mapping[str, float]] | None = None,
) -> Simulation:
    """Draw parameters from the spec's priors, then latent credibility and signal data.

    ``commitments`` is a commitments table in the data contract's layout (default:
    :func:`synthetic_commitments` with 12 commitments in 3 alliances, 2000-2015).
    ``missing`` is the share of (unit, period, signal) observations dropped at
    random, overall or per signal name. Ongoing commitments (empty ``end``) run to
    ``last_period`` (default: the latest start or end in the table).

    ``fixed`` replaces prior draws by given values (everything else is still drawn,
    in the same order, so the seed means the same thing): top-level keys
    ``persistence_alliance``, ``persistence_commitment`` (or ``step_*`` for a random
    walk), ``sd_alliance_mean``, ``sd_alliance_dynamics``,
    and one mapping per signal name with ``loading`` (raw model scale, signed),
    ``intercept`` or ``noise``.

    Examples
    --------
    >>> sim = simulate("default", seed=3)
    >>> sim.truth.attrs["synthetic"]
    'true'
    >>> sim.truth["credibility"].dims
    ('commitment', 'period')
    >>> len(sim.data.signals) > 0
    True
    """
    spec = load_spec(spec) if isinstance(spec, str) else spec
    rng = np.random.default_rng(seed)
    if commitments is None:
        commitments = synthetic_commitments(seed=seed)
        last_period = 2015 if last_period is None else last_period
    frame = commitments.copy()
    frame["start"] = frame["start"].astype(int)
    ends = pd.to_numeric(frame["end"], errors="coerce")
    last = int(last_period if last_period is not None
               else np.nanmax([frame["start"].max(), ends.max()]))
    first = int(frame["start"].min())
    end = ends.fillna(last).astype(int).to_numpy()
    start = frame["start"].to_numpy()
    periods = np.arange(first, last + 1)

    alliances = list(dict.fromkeys(frame["alliance"]))
    regions = list(dict.fromkeys(frame["region"]))
    types = list(dict.fromkeys(frame["type"]))
    c_alliance = frame["alliance"].map({a: k for k, a in enumerate(alliances)}).to_numpy()
    c_region = frame["region"].map({r: k for k, r in enumerate(regions)}).to_numpy()
    c_type = frame["type"].map({y: k for k, y in enumerate(types)}).to_numpy()
    a_start = np.array([start[c_alliance == k].min() for k in range(len(alliances))])
    a_end = np.array([end[c_alliance == k].max() for k in range(len(alliances))])

    p = spec.priors
    if spec.dynamics == "ar1":
        rho_a = rng.beta(p.persistence_alpha, p.persistence_beta)
        rho_c = rng.beta(p.persistence_alpha, p.persistence_beta)
    else:
        rho_a = abs(rng.normal(0.0, p.random_walk_step_sd))
        rho_c = abs(rng.normal(0.0, p.random_walk_step_sd))
    fixed = fixed or {}
    dyn = "persistence" if spec.dynamics == "ar1" else "step"
    rho_a = float(fixed.get(f"{dyn}_alliance", rho_a))  # type: ignore[arg-type]
    rho_c = float(fixed.get(f"{dyn}_commitment", rho_c))  # type: ignore[arg-type]
    scales = {
        "sd_alliance_mean": abs(rng.normal(0.0, p.alliance_mean_sd)),
        "sd_alliance_dynamics": abs(rng.normal(0.0, p.alliance_dynamics_sd)),
    }
    scales.update({k: float(fixed[k]) for k in scales if k in fixed})  # type: ignore[arg-type]
    za = scales["sd_alliance_mean"] * _zero_sum(rng, 1.0, len(alliances))
    region = _zero_sum(rng, p.region_sd, len(regions)) if spec.region_effects else np.zeros(
        len(regions))
    type_effect = _zero_sum(rng, p.type_sd, len(types)) if spec.type_effects else np.zeros(
        len(types))

    a_len = a_end - a_start + 1
    a_unit = np.repeat(np.arange(len(alliances)), a_len)
    a_local = np.arange(a_unit.size) - np.repeat(np.cumsum(a_len) - a_len, a_len)
    a_period = a_start[a_unit] + a_local
    a_level = za[a_unit] + scales["sd_alliance_dynamics"] * _paths(
        rng, a_unit, a_local, len(alliances), rho_a, spec.dynamics)
    a_grid = np.full((len(alliances), periods.size), np.nan)
    a_grid[a_unit, a_period - first] = a_level

    c_len = end - start + 1
    c_unit = np.repeat(np.arange(len(frame)), c_len)
    c_local = np.arange(c_unit.size) - np.repeat(np.cumsum(c_len) - c_len, c_len)
    c_period = start[c_unit] + c_local
    x = (
        a_grid[c_alliance[c_unit], c_period - first]
        + _paths(rng, c_unit, c_local, len(frame), rho_c, spec.dynamics)
        * (1.0 / np.sqrt(1.0 - rho_c**2) if spec.dynamics == "ar1" else 1.0)
        + region[c_region[c_unit]]
        + type_effect[c_type[c_unit]]
    )
    # The model's anchors: mean 0 over active cells (signals see the centred raw
    # scale); reported credibility is standardised to sd 1 over active cells.
    level = x.mean()
    x, a_level = x - level, a_level - level
    spread = x.std()
    x_grid = np.full((len(frame), periods.size), np.nan)
    x_grid[c_unit, c_period - first] = x / spread
    a_grid = np.full((len(alliances), periods.size), np.nan)
    a_grid[a_unit, a_period - first] = a_level / spread

    ids = frame["commitment_id"].astype(str).to_numpy()
    rows = []
    parameters = {}
    for s in spec.signals:
        params = _signal_parameters(rng, s, spec)
        params.update(fixed.get(s.name, {}))  # type: ignore[arg-type]
        parameters[s.name] = params
        if s.level == "commitment":
            state, unit_col = x, {"commitment_id": ids[c_unit], "alliance": ""}
            period = c_period
        else:
            state = a_level
            unit_col = {"commitment_id": "", "alliance": np.array(alliances)[a_unit]}
            period = a_period
        values, trials = _draw_values(rng, s, params, state)
        if s.residual_persistence:  # AR(1) log residuals per unit (decision 19)
            unit = c_unit if s.level == "commitment" else a_unit
            previous, gap = previous_rows(unit, np.zeros(unit.size, dtype=np.int64), period)
            values = s.target * draw_autocorrelated_lognormal(
                float(params["intercept"]) + float(params["loading"]) * state,
                float(params["noise"]), float(params["residual_persistence"]), previous, gap,
                rng=rng)
        share_missing = missing.get(s.name, 0.0) if isinstance(missing, Mapping) else missing
        keep = rng.random(values.size) >= share_missing
        table = pd.DataFrame({**unit_col, "period": period, "signal": s.name, "value": values,
                              "trials": trials, "exposure": np.nan})
        rows.append(table[keep])
    signals = pd.concat(rows, ignore_index=True)
    if not (signals["trials"].notna().any()):
        signals = signals.drop(columns="trials")
    signals = signals.drop(columns="exposure")

    data = CredibilityData.from_frames(
        frame, signals, spec=spec, periods=(first, last),
        names={"commitments": "simulated commitments", "signals": "simulated signals"},
    )
    truth = _truth_dataset(spec, ids, alliances, regions, types, periods, x_grid, a_grid,
                           scales, spread, rho_a, rho_c, region, type_effect, parameters)
    return Simulation(data=data, truth=truth, seed=seed)


def _truth_dataset(
    spec: ModelSpec, ids: np.ndarray, alliances: list[str], regions: list[str],
    types: list[str], periods: np.ndarray, x_grid: np.ndarray, a_grid: np.ndarray,
    scales: Mapping[str, float], spread: float, rho_a: float, rho_c: float,
    region: np.ndarray,
    type_effect: np.ndarray, parameters: Mapping[str, Mapping[str, float | np.ndarray]],
) -> xr.Dataset:
    names = [s.name for s in spec.signals]
    dyn = "persistence" if spec.dynamics == "ar1" else "step"
    intercepts = {n: float(v["intercept"]) for n, v in parameters.items() if "intercept" in v}
    noises = {n: float(v["noise"]) for n, v in parameters.items() if "noise" in v}
    residual = {n: float(v["residual_persistence"]) for n, v in parameters.items()
                if "residual_persistence" in v}
    truth = xr.Dataset(
        {
            "credibility": (("commitment", "period"), x_grid),
            "alliance_level": (("alliance", "period"), a_grid),
            **{name: ((), value) for name, value in scales.items()},
            "latent_sd": ((), spread),
            f"{dyn}_alliance": ((), rho_a),
            f"{dyn}_commitment": ((), rho_c),
            "region_effect": (("region",), region),
            "type_effect": (("type",), type_effect),
            "loading": (("signal",), spread * np.array([float(parameters[n]["loading"])
                                                        for n in names])),
            "intercept": (("signal_intercept",), np.array(list(intercepts.values()))),
            "noise": (("signal_noise",), np.array(list(noises.values()))),
            **({"residual_persistence": (("signal_residual",),
                                         np.array(list(residual.values())))}
               if residual else {}),
        },
        coords={
            "commitment": ids,
            "alliance": alliances,
            "period": periods,
            "region": regions,
            "type": types,
            "signal": names,
            "signal_intercept": list(intercepts),
            "signal_noise": list(noises),
            **({"signal_residual": list(residual)} if residual else {}),
        },
        attrs={"synthetic": "true", "note": "SYNTHETIC: simulated by credibility.simulate"},
    )
    return truth


def simulate_cases(
    simulation: Simulation,
    cases: pd.DataFrame | int = 100,
    *,
    seed: int = 0,
    intercept: float = 0.5,
    credibility: float = 1.0,
    covariates: Mapping[str, float] | None = None,
    region_sd: float = 0.0,
    hold_out: float = 0.0,
) -> Simulation:
    """Add synthetic deterrence cases whose outcomes follow the outcome model.

    ``logit P(success) = intercept + credibility * x + sum_j covariates[j] * z_j
    + u[region]``, with ``x`` the *true* standardised credibility of the case's
    cell, ``z`` the covariates standardised over all cases (as the model does)
    and ``u`` sum-to-zero region effects with sd ``region_sd``.

    ``cases`` is a number of cases on random active cells (covariates drawn
    N(0, 1)), or a table ``case_id, commitment_id, period`` plus the spec's
    covariate columns. A share ``hold_out`` of the cases (exactly
    ``round(hold_out * n)``) gets an empty outcome: cases to predict.
    ``truth["case_outcome"]`` keeps every simulated outcome and
    ``truth["case_probability"]`` the true P(success). Marked synthetic.

    Examples
    --------
    >>> sim = simulate_cases(simulate("default", seed=3), 40, seed=1, hold_out=0.25)
    >>> int(sim.data.cases["outcome"].isna().sum()), float(sim.truth["outcome_credibility"])
    (10, 1.0)
    """
    data = simulation.data
    spec = data.spec
    rng = np.random.default_rng(seed)
    x_grid = simulation.truth["credibility"]
    effects = dict(covariates or {})
    unknown = sorted(set(effects) - set(spec.covariates))
    if unknown:
        raise ValueError(f"covariates {unknown} are not in the spec's [outcome] covariates "
                         f"{list(spec.covariates)}")
    if isinstance(cases, int):
        active = x_grid.to_series().dropna().index.to_frame(index=False)
        pick = rng.choice(len(active), size=cases, replace=cases > len(active))
        table = pd.DataFrame({
            "case_id": [f"SIM{k + 1:04d}" for k in range(cases)],
            "commitment_id": active["commitment"].to_numpy()[pick],
            "period": active["period"].to_numpy()[pick].astype(np.int64),
            **{name: rng.normal(size=cases) for name in spec.covariates},
        })
    else:
        table = cases.copy()
    x = x_grid.sel(commitment=xr.DataArray(table["commitment_id"].to_numpy(), dims="case"),
                   period=xr.DataArray(table["period"].to_numpy(), dims="case")).to_numpy()
    raw = table[list(spec.covariates)].to_numpy(np.float64).reshape(len(table), -1)
    z = (raw - raw.mean(axis=0)) / np.where(raw.std(axis=0) > 0, raw.std(axis=0), 1.0)
    gamma = np.array([effects.get(name, 0.0) for name in spec.covariates])
    regions = list(data.regions)
    region_effect = _zero_sum(rng, region_sd, len(regions)) if region_sd > 0 else np.zeros(
        len(regions))
    region = table["commitment_id"].map(data.commitments.set_index("commitment_id")["region"])
    u = region_effect[region.map({r: j for j, r in enumerate(regions)}).to_numpy(np.int64)]
    probability = 1.0 / (1.0 + np.exp(-(intercept + credibility * x + z @ gamma + u)))
    outcome = (rng.random(len(table)) < probability).astype(np.int64)
    held = np.zeros(len(table), dtype=bool)
    held[rng.permutation(len(table))[: round(hold_out * len(table))]] = True
    table["outcome"] = np.where(held, np.nan, outcome)
    cased = data.with_cases(table, name="simulated cases")
    truth = simulation.truth.assign(
        outcome_intercept=((), intercept),
        outcome_credibility=((), credibility),
        outcome_covariate=(("covariate",), gamma),
        outcome_region=(("region",), region_effect),
        case_probability=(("case",), probability),
        case_outcome=(("case",), outcome),
        case_held_out=(("case",), held),
    ).assign_coords(case=table["case_id"].to_numpy(), covariate=list(spec.covariates))
    return Simulation(data=cased, truth=truth, seed=simulation.seed)
