"""Recovery of known latent credibility from simulated (SYNTHETIC) data.

Criteria from issue #3: correlation between posterior mean and truth >= 0.85 and
90 % intervals covering the truth for about 90 % of commitment-periods. How far the
coverage of one data set may stray from 90 % depends on how correlated its cells'
errors are, which the posterior itself tells: under a correct model the truth is, given
the data, distributed like a posterior draw, so the coverage of the truth is distributed
like the share of cells whose interval covers a posterior draw. The band is 90 % +- 3.29
sd of that share (two-sided, 1 in 1,000 under a normal approximation; its Monte Carlo
error, from 800 draws, is small beside it). The second test shows the check fails on a
broken model (every loading sign flipped).
"""

from __future__ import annotations

from dataclasses import replace

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from seeding import seed

from credibility.results.fitting import CredibilityModel, FitResult
from credibility.simulate import Simulation, simulate, synthetic_commitments

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::credibility.inference.diagnostics.ConvergenceWarning"),
]


@pytest.fixture(scope="module")
def recovery_simulation() -> Simulation:
    """SYNTHETIC: 16 commitments in 4 alliances over 2000-2013 (default spec)."""
    structure = synthetic_commitments(16, 4, (2000, 2013), seed=seed(5))
    return simulate("default", structure, seed=seed(5), last_period=2013)


#: Two-sided normal quantile for a false failure rate of 1 in 1,000.
Z = 3.29


def recovery_metrics(fit: FitResult, truth) -> tuple[float, float, int, tuple[float, float]]:
    """Correlation of posterior means with truth, 90 % coverage, number of cells, and the
    band the coverage lies in with probability 0.999 if the model is right."""
    frame = truth["credibility"].to_dataframe().dropna().reset_index()
    frame = frame.rename(columns={"commitment": "commitment_id", "credibility": "true"})
    merged = fit.credibility().merge(frame, on=["commitment_id", "period"])
    corr = float(np.corrcoef(merged["mean"], merged["true"])[0, 1])
    covered = (merged["q05"] <= merged["true"]) & (merged["true"] <= merged["q95"])
    # Each posterior draw in the truth's place: (draw, cell) covered or not.
    draws = fit.posterior["posterior"]["credibility"].stack(sample=("chain", "draw"))
    draws = draws.sel(commitment=xr.DataArray(merged["commitment_id"].to_numpy()),
                      period=xr.DataArray(merged["period"].to_numpy())).transpose("sample", ...)
    draws = draws.values
    share = ((merged["q05"].to_numpy() <= draws) & (draws <= merged["q95"].to_numpy())).mean(1)
    band = (0.90 - Z * share.std(), 0.90 + Z * share.std())
    return corr, float(covered.mean()), len(merged), band


def _fit(sim: Simulation, spec) -> FitResult:
    return CredibilityModel(spec).fit(sim.data, draws=400, tune=400, chains=2, seed=seed(5),
                                      progress=False, until_reliable=False)


def test_posterior_recovers_true_credibility(recovery_simulation):
    fit = _fit(recovery_simulation, recovery_simulation.data.spec)
    corr, coverage, cells, (low, high) = recovery_metrics(fit, recovery_simulation.truth)
    assert cells == int(recovery_simulation.truth["credibility"].notnull().sum())
    assert corr >= 0.85, f"correlation {corr:.3f}"
    assert low <= coverage <= high, f"90% coverage {coverage:.3f} outside {low:.3f}-{high:.3f}"
    assert fit.diagnostics.divergences == 0


# Full tier: the check's power (the fast tier runs the check itself above).
@pytest.mark.full
def test_recovery_check_fails_on_a_broken_model(recovery_simulation):
    """Flipping every signal's direction in the fitted model must fail the check."""
    spec = recovery_simulation.data.spec
    broken = replace(spec, signals=tuple(replace(s, direction=-s.direction)
                                         for s in spec.signals))
    fit = _fit(recovery_simulation, broken)
    corr, coverage, _, (low, high) = recovery_metrics(fit, recovery_simulation.truth)
    assert corr < 0.85 or not low <= coverage <= high


def test_all_families_recover(small_simulation):
    """Every likelihood family together (incl. proportion, binomial, two ordinals)."""
    fit = _fit(small_simulation, small_simulation.data.spec)
    corr, coverage, _, (low, high) = recovery_metrics(fit, small_simulation.truth)
    assert corr >= 0.85, f"correlation {corr:.3f}"
    assert low <= coverage <= high, f"90% coverage {coverage:.3f} outside {low:.3f}-{high:.3f}"
    summit = fit.posterior["posterior"]["loading"].sel(signal="summit")
    # The direction = -1 ordinal signal must come out with a negative loading: its mean
    # below zero by more than 3.09 Monte Carlo s.e. (one-sided, 1 in 1,000).
    mcse = float(az.mcse(summit.to_dataset(name="x"), method="mean")["x"])
    assert float(summit.mean()) < -3.09 * mcse, (float(summit.mean()), mcse)
    assert isinstance(fit.credibility(), pd.DataFrame)
