"""Simulated signals: each signal's parameters drawn from its priors, and its observations.

A signal's linear predictor is its intercept plus the loaded latent credibility (one
dimension or several); its observations follow the family's likelihood, and a share of
them is dropped at random to mimic missing reports. Signals whose spec leaves a prior on
``"auto"`` have no data to scale it from, so the simulator uses the fixed fallbacks in
:data:`SIMULATION_FALLBACKS`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from credibility.data.container import CredibilityData
from credibility.data.spec import LOG_FAMILIES, ModelSpec, SignalSpec
from credibility.model.index import previous_rows
from credibility.model.likelihoods import draw_autocorrelated_lognormal
from credibility.model.parameters import NOISE_SHAPE, RESIDUAL_PERSISTENCE_PRIOR
from credibility.simulate.layout import _Layout

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
    loaded: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Observations (and binomial trials) for the latent part ``loaded`` of the
    linear predictor (loading times latent, summed over the dimensions loaded on)."""
    n = loaded.size
    trials = np.full(n, np.nan)
    if spec.family == "ordinal":
        cut = np.asarray(params["cutpoints"])
        eta = loaded
        below = 1.0 / (1.0 + np.exp(-(cut[None, :] - eta[:, None])))
        return 1 + (rng.random(n)[:, None] > below).sum(axis=1).astype(np.float64), trials
    eta = float(params["intercept"]) + loaded
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


def _signal_rows(
    rng: np.random.Generator, s: SignalSpec, params: Mapping[str, float | np.ndarray],
    loaded: np.ndarray, layout: _Layout, missing: float | Mapping[str, float],
) -> pd.DataFrame:
    """The kept rows of signal ``s`` given the latent part ``loaded`` of its predictor."""
    if s.level == "commitment":
        unit_col = {"commitment_id": layout.ids[layout.c_unit], "alliance": ""}
        unit, period = layout.c_unit, layout.c_period
    else:
        unit_col = {"commitment_id": "", "alliance": np.array(layout.alliances)[layout.a_unit]}
        unit, period = layout.a_unit, layout.a_period
    values, trials = _draw_values(rng, s, params, loaded)
    if s.residual_persistence:  # AR(1) log residuals per unit (decision 19)
        previous, gap = previous_rows(unit, np.zeros(unit.size, dtype=np.int64), period)
        values = s.target * draw_autocorrelated_lognormal(
            float(params["intercept"]) + loaded,
            float(params["noise"]), float(params["residual_persistence"]), previous, gap,
            rng=rng)
    share_missing = missing.get(s.name, 0.0) if isinstance(missing, Mapping) else missing
    keep = rng.random(values.size) >= share_missing
    table = pd.DataFrame({**unit_col, "period": period, "signal": s.name, "value": values,
                          "trials": trials, "exposure": np.nan})
    return table[keep]


def _simulated_data(spec: ModelSpec, layout: _Layout, rows: list[pd.DataFrame]
                    ) -> CredibilityData:
    signals = pd.concat(rows, ignore_index=True)
    if not (signals["trials"].notna().any()):
        signals = signals.drop(columns="trials")
    signals = signals.drop(columns="exposure")
    return CredibilityData.from_frames(
        layout.frame, signals, spec=spec, periods=(layout.first, layout.last),
        names={"commitments": "simulated commitments", "signals": "simulated signals"},
    )


def _signal_truth(
    parameters: Mapping[str, Mapping[str, float | np.ndarray]],
) -> tuple[dict[str, tuple], dict[str, list[str]]]:
    """The truth of the signals' own parameters, as data variables and coordinates:
    ``intercept`` and ``noise`` over the signals that have one (``signal_intercept``,
    ``signal_noise``), and ``residual_persistence`` (``signal_residual``) where any
    signal has autocorrelated residuals."""
    intercepts = {n: float(v["intercept"]) for n, v in parameters.items() if "intercept" in v}
    noises = {n: float(v["noise"]) for n, v in parameters.items() if "noise" in v}
    residual = {n: float(v["residual_persistence"]) for n, v in parameters.items()
                if "residual_persistence" in v}
    data = {"intercept": (("signal_intercept",), np.array(list(intercepts.values()))),
            "noise": (("signal_noise",), np.array(list(noises.values())))}
    coords = {"signal_intercept": list(intercepts), "signal_noise": list(noises)}
    if residual:
        data["residual_persistence"] = (("signal_residual",), np.array(list(residual.values())))
        coords["signal_residual"] = list(residual)
    return data, coords
