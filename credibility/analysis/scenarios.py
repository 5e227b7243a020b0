"""Counterfactual scenarios: what if some signals had other values?

A scenario is a table of signal rows in the signals format (``commitment_id`` or
``alliance``, ``period``, ``signal``, ``value``): a row with the key of a stored
row replaces its value, a new key adds an observation (e.g. troops in a period
that has no report yet). The counterfactual posterior is

    p(theta | y_scenario)  proportional to  p(theta | y) * p(y_new | theta) / p(y_old | theta)

so it is obtained by importance-reweighting the fitted posterior with the
likelihood ratio of the changed rows (``method="reweight"``, the default: seconds)
with Pareto-smoothed weights, whose Pareto k says whether the reweighting can
be trusted (k <= 0.7). When it cannot -- a scenario far from the data -- use
``method="refit"``, which samples the counterfactual data from scratch with the
fit's settings.

Scenario rows must lie inside the fitted period grid: the model has no state
after ``data.last_period``. To ask about a future period, add cases to predict in
that period to the data before fitting (they extend every ongoing commitment's
window), then give scenario rows for it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from credibility.analysis.checks import PARETO_K_MAX
from credibility.analysis.compare import signal_log_likelihood
from credibility.analysis.updating import merge_signals
from credibility.errors import PredictionError
from credibility.results.fitting import CredibilityModel, FitResult

if TYPE_CHECKING:
    import xarray as xr

    from credibility.data.container import CredibilityData

#: Ways of computing a counterfactual posterior.
SCENARIO_METHODS: tuple[str, ...] = ("reweight", "refit")


class ScenarioWarning(UserWarning):
    """A reweighted scenario posterior is unreliable (Pareto k > 0.7)."""


@dataclass(frozen=True)
class ScenarioResult:
    """Baseline and counterfactual credibility and P(success), side by side.

    ``changes`` is the ledger of the scenario rows that change the data (``added``
    or ``revised``, old and new values). ``credibility`` has one row per
    commitment-period of every commitment the scenario touches (directly, or
    through its alliance's signals), ``predictions`` one row per case. Differences and their 90 %
    intervals are over independent draws of the two posteriors, and ``p_up`` is the
    probability that the counterfactual value exceeds the baseline one.
    ``pareto_k`` and ``ess`` describe the importance weights (reweight only).
    """

    method: str
    changes: pd.DataFrame
    credibility: pd.DataFrame
    predictions: pd.DataFrame | None
    pareto_k: float
    ess: float

    @property
    def reliable(self) -> bool:
        """False when the reweighting's Pareto k exceeds 0.7 (refit instead)."""
        return self.method == "refit" or self.pareto_k <= PARETO_K_MAX


def _signal_rows(signals: pd.DataFrame, ledger: pd.DataFrame) -> np.ndarray:
    """Rows of ``signals`` that hold the ledger's keys."""
    key = ["level", "commitment_id", "alliance", "period", "signal"]
    position = signals[key].reset_index().merge(ledger[key], on=key, how="inner")
    return position["index"].to_numpy(np.int64)


def affected_rows(signals: pd.DataFrame, ledger: pd.DataFrame,
                  autocorrelated: tuple[str, ...] = ()) -> np.ndarray:
    """Rows of ``signals`` whose likelihood terms the ledger's changes alter.

    The ledger's own rows, and every row of each series (unit and signal) the
    ledger touches among the ``autocorrelated`` signals (``residual_persistence``:
    each row there is conditioned on its predecessor, so a change moves the terms of
    the rows after it).

    Examples
    --------
    >>> signals = pd.DataFrame({"level": "commitment", "commitment_id": ["A", "A", "B"],
    ...                         "alliance": "", "period": [1, 2, 1], "signal": "troops"})
    >>> affected_rows(signals, signals.iloc[[0]]).tolist()
    [0]
    >>> affected_rows(signals, signals.iloc[[0]], ("troops",)).tolist()
    [0, 1]
    """
    rows = _signal_rows(signals, ledger)
    touched = ledger[ledger["signal"].isin(autocorrelated)]
    if touched.empty:
        return rows
    key = ["level", "commitment_id", "alliance", "signal"]
    series = signals[key].reset_index().merge(touched[key].drop_duplicates(), on=key,
                                              how="inner")
    return np.union1d(rows, series["index"].to_numpy(np.int64))


def _resample(log_weights: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Systematic resampling: indices of ``size`` draws with the given weights."""
    weights = np.exp(log_weights - log_weights.max())
    cumulative = np.cumsum(weights / weights.sum())
    cumulative[-1] = 1.0
    start = np.random.default_rng(seed).uniform(0.0, 1.0 / size)
    return np.searchsorted(cumulative, start + np.arange(size) / size)


def _compare(labels: pd.DataFrame, base: np.ndarray, scenario: np.ndarray,
             prefix: str, seed: int) -> pd.DataFrame:
    """Side-by-side summary of ``(sample, item)`` draws and their difference."""
    rng = np.random.default_rng(seed)
    paired = base[rng.permutation(base.shape[0])]
    # Independent draws paired at random; a refit that ran until reliable may have more
    # (or fewer) draws than the baseline: then as many as the shorter set has.
    n = min(base.shape[0], scenario.shape[0])
    diff = scenario[:n] - paired[:n]
    frame = labels.reset_index(drop=True).copy()
    for name, draws in (("baseline", base), ("scenario", scenario)):
        frame[f"{name}_{prefix}mean"] = draws.mean(axis=0)
        frame[f"{name}_{prefix}q05"] = np.quantile(draws, 0.05, axis=0)
        frame[f"{name}_{prefix}q95"] = np.quantile(draws, 0.95, axis=0)
    frame["diff_mean"] = scenario.mean(axis=0) - base.mean(axis=0)
    frame["diff_q05"] = np.quantile(diff, 0.05, axis=0)
    frame["diff_q95"] = np.quantile(diff, 0.95, axis=0)
    frame["p_up"] = (diff > 0).mean(axis=0)
    return frame


def run_scenario(
    fit: FitResult,
    changes: pd.DataFrame | str | Path,
    *,
    cases: pd.DataFrame | str | Path | None = None,
    method: str = "reweight",
    seed: int = 0,
    progress: bool = False,
) -> ScenarioResult:
    """Counterfactual credibility and P(success) under changed signal rows.

    ``changes`` are signal rows (signals format, a DataFrame or CSV path);
    ``cases`` (default: the fitted data's cases, when it has an outcome model)
    are the cases whose P(success) is compared. See the module docstring for
    the two methods. A :class:`ScenarioWarning` is issued when reweighting is
    unreliable.

    Examples
    --------
    >>> rows = pd.DataFrame({"commitment_id": ["US-POL"], "period": [2026],
    ...                      "signal": ["troops"], "value": [15000]})
    >>> result = run_scenario(fit, rows)  # doctest: +SKIP
    >>> result.predictions[["case_id", "diff_mean", "p_up"]]  # doctest: +SKIP
    """
    if fit.is_approximate:
        raise PredictionError(f"scenarios need an exact posterior; {fit.exact_hint}")
    if method not in SCENARIO_METHODS:
        raise PredictionError(f"unknown scenario method {method!r}; expected one of "
                              f"{', '.join(SCENARIO_METHODS)}")
    data, changed = _scenario_data(fit, changes)
    base_credibility = fit.posterior["posterior"]["credibility"]
    case_frame = _scenario_cases(fit, cases)
    base_p = fit.probability_draws(case_frame) if case_frame is not None else None
    samples = base_credibility.sizes["chain"] * base_credibility.sizes["draw"]
    if method == "reweight":
        pick, pareto_k, ess = _reweight(fit, data, changed, samples, seed)
        scen_credibility = base_credibility.stack(sample=("chain", "draw")).transpose(
            "sample", ...).values[pick]
        scen_p = None if base_p is None else base_p[pick]
    else:
        refit = CredibilityModel(fit.spec).fit(data, progress=progress,
                                               sampler=fit.sampler_config,
                                               outcome=fit.outcome_mode or "none")
        scen_credibility = refit.posterior["posterior"]["credibility"].stack(
            sample=("chain", "draw")).transpose("sample", ...).values
        scen_p = None if case_frame is None else refit.probability_draws(case_frame)
        pareto_k, ess = float("nan"), float(scen_credibility.shape[0])
    comparison = _compare_credibility(base_credibility, scen_credibility, seed)
    keep = comparison["commitment_id"].isin(_touched(fit, changed)).to_numpy()
    predictions = None
    if base_p is not None and scen_p is not None:
        predictions = _compare(case_frame[["case_id"]], base_p, scen_p, "p_", seed + 1)
    return ScenarioResult(method=method, changes=changed.reset_index(drop=True),
                          credibility=comparison[keep].reset_index(drop=True),
                          predictions=predictions, pareto_k=pareto_k, ess=ess)


def _scenario_data(fit: FitResult, changes: pd.DataFrame | str | Path
                   ) -> tuple[CredibilityData, pd.DataFrame]:
    """The fitted data with the scenario's rows, and the ledger of the rows that change
    them; a row outside the fitted period grid, or a scenario that changes nothing, is
    a :class:`PredictionError`."""
    merged = merge_signals(fit.data, changes, revise=True)
    data, ledger = merged.data, merged.ledger
    if merged.added_commitments or data.last_period != fit.data.last_period or (
            data.first_period != fit.data.first_period):
        late = ledger[(ledger["period"] > fit.data.last_period)
                      | (ledger["period"] < fit.data.first_period)]
        row = int(late["row"].iloc[0]) if len(late) else 1
        raise PredictionError(
            f"scenario row {row}: period outside the fitted grid "
            f"{fit.data.first_period}..{fit.data.last_period}; the model has no state there. "
            "Add cases to predict in that period to the data and refit to extend the grid"
        )
    if not merged.changed:
        raise PredictionError("the scenario changes no signal value of the fitted data")
    return data, ledger[ledger["action"] != "unchanged"]


def _scenario_cases(fit: FitResult, cases: pd.DataFrame | str | Path | None
                    ) -> pd.DataFrame | None:
    """The cases whose P(success) is compared: ``cases``, validated, or by default the
    fitted data's cases when the fit has an outcome model; ``None`` when there are none."""
    if cases is None and fit.outcome_mode is not None and fit.data.cases is not None:
        return fit.data.cases
    if cases is not None:
        return fit.validated_cases(cases)
    return None


def _reweight(fit: FitResult, data: CredibilityData, changed: pd.DataFrame, samples: int,
              seed: int) -> tuple[np.ndarray, float, float]:
    """Resample the fitted posterior by the changed rows' likelihood ratio
    (Pareto-smoothed weights): the draws picked, the Pareto k and the weights' ESS. A
    :class:`ScenarioWarning` says when the reweighting is unreliable."""
    autocorrelated = tuple(s.name for s in fit.spec.signals if s.residual_persistence)
    new_rows = affected_rows(data.signals, changed, autocorrelated)
    # Added rows have no row in the fitted data: there only revised rows (and the
    # series they or the added rows belong to) have old terms.
    old_rows = affected_rows(fit.data.signals, changed, autocorrelated)
    log_ratio = signal_log_likelihood(fit, data=data, rows=new_rows).sum("row")
    if old_rows.size:
        log_ratio = log_ratio - signal_log_likelihood(fit, rows=old_rows).sum("row")
    # arviz_stats' psislw takes a log-likelihood and weights by its negative
    # (leave-one-out); our weights are the likelihood ratio itself.
    log_w, k = (-log_ratio).azstats.psislw()
    log_w = log_w.values.reshape(-1)
    weights = np.exp(log_w - log_w.max())
    ess = float(weights.sum() ** 2 / (weights**2).sum())
    pareto_k = float(k)
    pick = _resample(log_w, samples, seed)
    if pareto_k > PARETO_K_MAX:
        # stacklevel 3: the warning points at run_scenario's caller.
        warnings.warn(
            f"the scenario is far from the fitted data (Pareto k = {pareto_k:.2f} > "
            f"{PARETO_K_MAX}): the reweighted posterior is unreliable; use method='refit'",
            ScenarioWarning, stacklevel=3)
    return pick, pareto_k, ess


def _compare_credibility(base: xr.DataArray, scenario: np.ndarray, seed: int
                         ) -> pd.DataFrame:
    """:func:`_compare` of every active commitment-period's credibility draws."""
    grid = base.stack(sample=("chain", "draw")).transpose("sample", ...).values
    commitments = base["commitment"].values
    periods = base["period"].values
    unit, period = np.nonzero(~np.isnan(grid[0]))
    labels = pd.DataFrame({"commitment_id": commitments[unit],
                           "period": periods[period].astype(np.int64)})
    return _compare(labels, grid[:, unit, period], scenario[:, unit, period], "", seed)


def _touched(fit: FitResult, changed: pd.DataFrame) -> set[str]:
    """The commitments whose signal rows the scenario changes, directly or through
    their alliance's rows."""
    commitments_of = fit.data.commitments.groupby("alliance")["commitment_id"].agg(list)
    touched = set(changed.loc[changed["level"] == "commitment", "commitment_id"])
    for alliance in changed.loc[changed["level"] == "alliance", "alliance"]:
        touched.update(commitments_of[alliance])
    return touched
