"""Model checking: PSIS-LOO, Brier scores and calibration of the outcome model,
posterior predictive checks of every signal.

* :func:`outcome_checks` -- PSIS-LOO-CV (ArviZ) of the deterrence outcomes, the
  Brier score of in-sample and leave-one-out predictions against the base-rate
  predictor, and the LOO probabilities behind a calibration (reliability) curve.
* :func:`posterior_predictive` / :func:`ppc_summary` -- replicated signal data
  from the fitted measurement model (PyMC's own likelihoods) and, per signal,
  posterior predictive p-values of its mean and sd.

Pure functions of a :class:`~credibility.results.fitting.FitResult`; the plots are in
:mod:`credibility.analysis.plots`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from credibility.errors import PredictionError
from credibility.measurement import build_measurement_model
from credibility.predictor import CASE_LATENTS, fitted_log_likelihood
from credibility.results.fitting import FitResult

#: Pareto k above which a PSIS-LOO term is unreliable (Vehtari et al. 2024, S >= 2000).
PARETO_K_MAX = 0.7


def brier_score(probability: np.ndarray, outcome: np.ndarray) -> float:
    """Mean squared difference between predicted probabilities and 0/1 outcomes.

    Examples
    --------
    >>> brier_score(np.array([0.9, 0.2]), np.array([1, 0]))
    0.025
    """
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.float64)
    return float(np.round(np.mean((p - y) ** 2), 12))


def calibration_table(
    probability: np.ndarray, outcome: np.ndarray, bins: int = 5
) -> pd.DataFrame:
    """Reliability table: cases binned by predicted probability (equal-count bins).

    Columns ``bin, n, p_mean`` (mean prediction), ``observed`` (share of
    successes) and ``observed_q05``, ``observed_q95`` (Jeffreys 90 % interval).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=2000)
    >>> table = calibration_table(p, rng.uniform(size=2000) < p, bins=4)
    >>> bool(np.allclose(table["p_mean"], table["observed"], atol=0.05))
    True
    """
    from scipy.stats import beta

    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    groups = np.array_split(order, min(bins, p.size))
    rows = []
    for k, members in enumerate(groups):
        n, hits = members.size, float(y[members].sum())
        rows.append({
            "bin": k + 1,
            "n": n,
            "p_mean": float(p[members].mean()),
            "observed": hits / n,
            "observed_q05": float(beta.ppf(0.05, hits + 0.5, n - hits + 0.5)),
            "observed_q95": float(beta.ppf(0.95, hits + 0.5, n - hits + 0.5)),
        })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class OutcomeChecks:
    """How well the outcome model predicts the fitted cases.

    ``brier`` uses in-sample posterior-mean probabilities (optimistic);
    ``brier_loo`` uses PSIS-LOO probabilities ``P(y_c = 1 | y_-c)`` and
    ``brier_base_rate`` the leave-one-out base rate, its honest baseline.
    """

    mode: str
    case_ids: tuple[str, ...]
    outcome: np.ndarray
    p_in_sample: np.ndarray
    p_loo: np.ndarray
    pareto_k: np.ndarray
    elpd_loo: float
    elpd_loo_se: float
    p_loo_effective: float
    brier: float
    brier_loo: float
    brier_base_rate: float

    @property
    def n_high_k(self) -> int:
        """Number of cases whose PSIS-LOO term is unreliable (Pareto k > 0.7)."""
        return int((self.pareto_k > PARETO_K_MAX).sum())

    def calibration(self, bins: int = 5) -> pd.DataFrame:
        """Reliability table of the LOO probabilities (:func:`calibration_table`)."""
        return calibration_table(self.p_loo, self.outcome, bins)

    def lines(self) -> list[tuple[str, str, str]]:
        """``(label, value, status)`` rows for printing; status ``ok``/``FAIL``/``info``."""
        k_status = "ok" if self.n_high_k == 0 else "FAIL"
        skill = "ok" if self.brier_loo < self.brier_base_rate else "FAIL"
        return [
            ("outcome model", f"{self.mode}, {len(self.case_ids)} fitted cases", "info"),
            ("elpd LOO", f"{self.elpd_loo:.1f} (se {self.elpd_loo_se:.1f}, "
                         f"p_loo {self.p_loo_effective:.1f})", "info"),
            ("Pareto k > 0.7", f"{self.n_high_k} of {len(self.case_ids)}", k_status),
            ("Brier LOO", f"{self.brier_loo:.3f} (base rate {self.brier_base_rate:.3f})", skill),
            ("Brier in-sample", f"{self.brier:.3f}", "info"),
        ]


def outcome_log_likelihood(fit: FitResult) -> xr.DataArray:
    """Pointwise log-likelihood ``(chain, draw, case)`` of the fitted outcomes."""
    outcome = fit.outcome_posterior()
    fitted = fit.data.cases[fit.data.cases["outcome"].notna()]
    return fitted_log_likelihood(outcome, fitted,
                                 fit.data.commitments.set_index("commitment_id")["region"])


def outcome_checks(fit: FitResult) -> OutcomeChecks:
    """PSIS-LOO, Brier scores and LOO probabilities of a fit's outcome model.

    Examples
    --------
    >>> checks = outcome_checks(fit)  # doctest: +SKIP
    >>> checks.brier_loo < checks.brier_base_rate  # doctest: +SKIP
    True
    """
    outcome = fit.outcome_posterior()
    log_lik = outcome_log_likelihood(fit)
    params = [v for v in outcome.data_vars if v not in CASE_LATENTS]
    tree = xr.DataTree.from_dict({
        "posterior": outcome[params],
        "log_likelihood": xr.Dataset({"obs_outcome": log_lik}),
    })
    with warnings.catch_warnings():
        # Reported as OutcomeChecks.n_high_k (and in every printed check) instead.
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        loo = az.loo(tree, pointwise=True, var_name="obs_outcome")
    y = fit.data.cases.loc[fit.data.cases["outcome"].notna(), "outcome"].to_numpy(np.float64)
    density = np.exp(np.asarray(loo.elpd_i, dtype=np.float64))
    p_loo = np.where(y == 1.0, density, 1.0 - density)
    p_in = np.exp(log_lik).mean(("chain", "draw")).to_numpy()
    p_in = np.where(y == 1.0, p_in, 1.0 - p_in)
    n = y.size
    base_loo = (y.sum() - y) / (n - 1)
    return OutcomeChecks(
        mode=str(outcome.attrs["mode"]),
        case_ids=tuple(str(c) for c in log_lik["case"].values),
        outcome=y,
        p_in_sample=p_in,
        p_loo=p_loo,
        pareto_k=np.asarray(loo.pareto_k, dtype=np.float64),
        elpd_loo=float(loo.elpd),
        elpd_loo_se=float(loo.se),
        p_loo_effective=float(loo.p),
        brier=brier_score(p_in, y),
        brier_loo=brier_score(p_loo, y),
        brier_base_rate=brier_score(base_loo, y),
    )


def _thinned(posterior: xr.Dataset, draws: int, seed: int) -> xr.Dataset:
    stacked = posterior.stack(sample=("chain", "draw"))
    size = stacked.sizes["sample"]
    pick = np.sort(np.random.default_rng(seed).choice(size, size=min(draws, size),
                                                      replace=False))
    thin = stacked.isel(sample=pick).drop_vars(["sample", "chain", "draw"])
    return thin.rename({"sample": "draw"}).expand_dims("chain").assign_coords(
        chain=[0], draw=np.arange(pick.size)).transpose("chain", "draw", ...)


def posterior_predictive(fit: FitResult, draws: int = 200, seed: int = 0) -> xr.Dataset:
    """Replicated signal data: ``replicated (sample, row)`` and ``observed (row)``.

    ``row`` is the row of ``fit.data.signals``; rows of signals the fitted spec
    leaves out are NaN. ``draws`` posterior draws (a random subset) each give one
    replicated data set, drawn with the model's own likelihood terms.

    Examples
    --------
    >>> ppc = posterior_predictive(fit, draws=100)  # doctest: +SKIP
    >>> ppc["replicated"].dims  # doctest: +SKIP
    ('sample', 'row')
    """
    if fit.is_approximate:
        raise PredictionError(f"posterior predictive checks need an exact posterior; "
                              f"{fit.exact_hint}")
    index = fit.index
    model = build_measurement_model(fit.data, fit.sampled_spec, index=index)
    free = [v.name for v in model.free_RVs]
    post = _thinned(fit.posterior["posterior"].to_dataset()[free], draws, seed)
    names = [f"obs_{family}" for family in index.families]
    with model, warnings.catch_warnings():
        # Every free variable comes from the posterior (frozen), so the AR potential of
        # centred states, which PyMC warns it cannot apply when resampling, is not needed.
        warnings.filterwarnings("ignore", message="The effect of Potentials")
        predictive = pm.sample_posterior_predictive(
            xr.DataTree.from_dict({"posterior": post}), var_names=names, freeze_vars=free,
            random_seed=seed, progressbar=False)
    replicated = np.full((post.sizes["draw"], len(fit.data.signals)), np.nan)
    targets = np.array([s.target for s in index.signals])
    for family, obs in index.families.items():
        values = predictive["posterior_predictive"][f"obs_{family}"].values[0]
        if family == "ordinal":
            values = values + 1.0
        elif family in ("amount", "ratio"):
            values = values * targets[obs.signal]
        replicated[:, obs.row] = values
    signals = fit.data.signals
    return xr.Dataset(
        {"replicated": (("sample", "row"), replicated),
         "observed": (("row",), signals["value"].to_numpy(np.float64))},
        coords={"row": np.arange(len(signals)), "signal": ("row", signals["signal"].to_numpy())},
    )


def ppc_summary(fit: FitResult, draws: int = 200, seed: int = 0,
                ppc: xr.Dataset | None = None) -> pd.DataFrame:
    """Posterior predictive check of every signal's mean and sd.

    For amounts and ratios the statistics are taken on the log scale (the
    likelihood's). Columns ``signal, family, statistic, observed, replicated_mean,
    replicated_q05, replicated_q95, p_value`` with ``p_value = P(T_rep >= T_obs)``;
    values near 0 or 1 flag a misfit.

    Examples
    --------
    >>> ppc_summary(fit).head()  # doctest: +SKIP
    """
    ppc = ppc if ppc is not None else posterior_predictive(fit, draws, seed)
    rows = []
    for spec in fit.spec.signals:
        mask = (ppc["signal"] == spec.name).values & ~np.isnan(ppc["replicated"].values[0])
        if not mask.any():
            continue
        observed = ppc["observed"].values[mask]
        replicated = ppc["replicated"].values[:, mask]
        if spec.family in ("amount", "ratio"):
            observed, replicated = np.log(observed), np.log(replicated)
        for statistic, fn in (("mean", np.mean), ("sd", np.std)):
            t_obs = float(fn(observed))
            t_rep = fn(replicated, axis=1)
            rows.append({
                "signal": spec.name, "family": spec.family, "statistic": statistic,
                "observed": t_obs, "replicated_mean": float(t_rep.mean()),
                "replicated_q05": float(np.quantile(t_rep, 0.05)),
                "replicated_q95": float(np.quantile(t_rep, 0.95)),
                "p_value": float(np.mean(t_rep >= t_obs)),
            })
    if not rows:
        raise PredictionError("no signal of the fitted spec has observations to check")
    return pd.DataFrame(rows)
