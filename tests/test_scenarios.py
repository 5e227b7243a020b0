"""Counterfactual scenarios: importance reweighting checked against refitting."""

from __future__ import annotations

import dataclasses
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

from credibility.diagnostics import ConvergenceWarning
from credibility.errors import PredictionError
from credibility.fitting import CredibilityModel
from credibility.scenarios import affected_rows, run_scenario
from credibility.simulate import simulate, synthetic_commitments
from credibility.spec import load_spec
from credibility.updating import merge_signals

pytestmark = pytest.mark.slow


def scaled_troops(fit, commitment: str, factor: float, since: int) -> pd.DataFrame:
    signals = fit.data.signals
    rows = signals[(signals["commitment_id"] == commitment) & (signals["signal"] == "troops")
                   & (signals["period"] >= since)]
    return rows[["commitment_id", "period", "signal"]].assign(value=rows["value"] * factor)


def test_more_troops_raise_credibility_and_fewer_lower_it(outcome_fit):
    up = run_scenario(outcome_fit, scaled_troops(outcome_fit, "C001", 1.5, 2006))
    down = outcome_fit.scenario(scaled_troops(outcome_fit, "C001", 1 / 1.5, 2006))
    assert up.reliable and down.reliable
    assert set(up.changes["action"]) == {"revised"}
    touched = up.credibility[(up.credibility["commitment_id"] == "C001")
                             & (up.credibility["period"] >= 2006)]
    assert len(touched) and (touched["diff_mean"] > 0).all() and (touched["p_up"] > 0.5).all()
    touched = down.credibility[(down.credibility["commitment_id"] == "C001")
                               & (down.credibility["period"] >= 2006)]
    assert (touched["diff_mean"] < 0).all()
    # The fitted slope is positive, so P(success) of C001's cases moves with credibility.
    cases = outcome_fit.data.cases
    on_c001 = cases["case_id"][(cases["commitment_id"] == "C001") & (cases["period"] >= 2006)]
    moved = up.predictions.set_index("case_id").loc[on_c001]
    # Each case moves by ~0.01 or less, the size of its Monte Carlo error: the average
    # must move up and most cases with it.
    assert moved["diff_mean"].mean() > 0 and (moved["p_up"] > 0.5).mean() >= 0.75


def assert_agrees_with_refit(reweighted, base, refit, commitment: str) -> None:
    """Each scenario mean of ``commitment`` lies within 4 Monte Carlo s.e. of the refit's."""
    cells = reweighted.credibility[reweighted.credibility["commitment_id"] == commitment]
    periods = cells["period"].values
    draws = refit.posterior["posterior"]["credibility"].sel(commitment=commitment, period=periods)
    base_draws = base.posterior["posterior"]["credibility"].sel(commitment=commitment,
                                                                period=periods)
    refit_ess = az.ess(draws.to_dataset(name="x"))["x"].values
    base_ess = az.ess(base_draws.to_dataset(name="x"))["x"].values
    # Importance-sampling ESS, discounted for the autocorrelation of the base chains.
    is_ess = reweighted.ess * base_ess / (base_draws.sizes["chain"] * base_draws.sizes["draw"])
    mcse = draws.std(("chain", "draw")).values * np.sqrt(1.0 / is_ess + 1.0 / refit_ess)
    gap = np.abs(cells["scenario_mean"].to_numpy() - draws.mean(("chain", "draw")).values)
    assert (gap <= 4 * mcse).all(), (gap, mcse)


def test_reweighting_agrees_with_refitting_within_monte_carlo_error(outcome_fit):
    rows = scaled_troops(outcome_fit, "C002", 1.5, 2000)
    reweighted = run_scenario(outcome_fit, rows, seed=1)
    data = merge_signals(outcome_fit.data, rows, revise=True).data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        refit = CredibilityModel(outcome_fit.spec).fit(data, draws=1000, tune=500, chains=2,
                                                       seed=5, outcome="none", progress=False)
    assert_agrees_with_refit(reweighted, outcome_fit, refit, "C002")


def test_scenarios_outside_the_grid_or_without_change_are_refused(outcome_fit):
    rows = scaled_troops(outcome_fit, "C001", 1.5, 2000).head(1)
    with pytest.raises(PredictionError, match=r"outside the fitted grid 2000\.\.2011"):
        run_scenario(outcome_fit, rows.assign(period=2012))
    same = outcome_fit.data.signals.head(1)[["commitment_id", "period", "signal", "value"]]
    with pytest.raises(PredictionError, match="changes no signal value"):
        run_scenario(outcome_fit, same)
    with pytest.raises(PredictionError, match="unknown scenario method"):
        run_scenario(outcome_fit, rows, method="guess")


def test_affected_rows_cover_whole_autocorrelated_series():
    """With autocorrelated residuals a change (revision or an added period) moves the
    terms of later rows of the same series: reweighting must sum over the whole
    series, under the new data and under the fitted data."""
    old = pd.DataFrame({"level": "commitment", "commitment_id": ["A", "A", "A", "B"],
                        "alliance": "", "period": [1, 2, 4, 1],
                        "signal": ["troops", "troops", "troops", "troops"]})
    new = pd.concat([old, old.iloc[[0]].assign(period=3)], ignore_index=True)
    added = new.iloc[[4]].assign(action="added")
    assert affected_rows(new, added).tolist() == [4]
    assert affected_rows(new, added, ("troops",)).tolist() == [0, 1, 2, 4]
    assert affected_rows(old, added).tolist() == []
    assert affected_rows(old, added, ("troops",)).tolist() == [0, 1, 2]
    assert affected_rows(old, added, ("spending",)).tolist() == []


def test_reweighting_with_autocorrelated_residuals_agrees_with_refitting():
    """SYNTHETIC: troops with autocorrelated residuals; one mid-series row revised, so
    the next row's term (conditioned on it) changes too. Reweighting over the whole
    series agrees with a refit within Monte Carlo error."""
    spec = load_spec("default")
    spec = dataclasses.replace(spec, signals=tuple(
        dataclasses.replace(s, residual_persistence=s.name == "troops") for s in spec.signals))
    sim = simulate(spec, synthetic_commitments(6, 2, (2000, 2009), seed=4), seed=4,
                   last_period=2009, fixed={"troops": {"residual_persistence": 0.8}},
                   missing=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        base = CredibilityModel(spec).fit(sim.data, draws=1000, tune=1000, chains=2, seed=1,
                                          outcome="none", progress=False)
    signals = base.data.signals
    row = signals[(signals["commitment_id"] == "C002") & (signals["signal"] == "troops")
                  & (signals["period"] == 2004)]
    rows = row[["commitment_id", "period", "signal"]].assign(value=row["value"] * 3.0)
    reweighted = run_scenario(base, rows, seed=1)
    assert reweighted.reliable
    data = merge_signals(base.data, rows, revise=True).data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        refit = CredibilityModel(spec).fit(data, draws=1000, tune=1000, chains=2, seed=5,
                                           outcome="none", progress=False)
    assert_agrees_with_refit(reweighted, base, refit, "C002")
