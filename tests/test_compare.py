"""Comparing fits by PSIS-LOO of their signal rows: pointwise terms, the table, errors, CLI.

The comparison's fits are small (6 commitments over 12 periods, 2 chains x 200 draws):
their diagnostics fail, which the table marks without refusing them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from cli_helpers import assert_one_line_error, invoke
from scipy import stats
from scipy.special import logsumexp
from seeding import seed
from simulations import tiny_simulation

from credibility.compare import (
    COMPARE_COLUMNS,
    CompareWarning,
    compare,
    signal_log_likelihood,
    signal_loo,
)
from credibility.diagnostics import ConvergenceWarning, Diagnostics
from credibility.errors import CompareError
from credibility.fitting import CredibilityModel, FitResult
from credibility.simulate import simulate, synthetic_commitments
from credibility.spec import parse_spec

#: Troops with or without autocorrelated residuals; five other signals with strong
#: loadings pin the states, so that the model without them cannot read the troops'
#: drift as credibility instead.
TROOPS_SPEC = """
[model]
name = "troops_{name}"
dynamics = "ar1"

[[signals]]
name = "troops"
family = "amount"
intercept = {{ mu = 6.5, sigma = 1.5 }}
loading = 0.3
noise = 0.6
residual_persistence = {persistence}

[[signals]]
name = "exercises"
family = "count"
intercept = {{ mu = 1.0, sigma = 1.0 }}
loading = 0.7
noise = 0.3

[[signals]]
name = "consultation"
family = "ordinal"
levels = 4
loading = 1.5

[[signals]]
name = "intel_sharing"
family = "binary"
intercept = {{ mu = 0.0, sigma = 1.0 }}
loading = 1.5

[[signals]]
name = "visits"
family = "binomial"
intercept = {{ mu = 0.0, sigma = 1.0 }}
loading = 1.0

[[signals]]
name = "readiness"
family = "proportion"
intercept = {{ mu = 0.0, sigma = 1.0 }}
loading = 1.0
"""


def unsampled(data, **settings) -> FitResult:
    """A fit without draws: enough for the checks compare makes before any LOO."""
    return FitResult(posterior=xr.DataTree(), data=data, spec=data.spec,
                     diagnostics=Diagnostics(1.0, 1000.0, 1000.0, 0, 0, 1000, 1.0, 1.0),
                     settings=settings)


@pytest.fixture(scope="module")
def troops_fits() -> dict[str, FitResult]:
    """SYNTHETIC: troops drawn with residual persistence 0.9 (noise sd 0.6), fitted with
    (``ar``) and without (``plain``) ``residual_persistence``; 6 commitments in 2
    alliances over 2000-2011, 2 chains x 200 draws."""
    specs = {name: parse_spec(TROOPS_SPEC.format(name=name, persistence=persistence),
                              source=f"troops_{name}.toml")
             for name, persistence in (("ar", "true"), ("plain", "false"))}
    sim = simulate(specs["ar"], synthetic_commitments(6, 2, (2000, 2011), seed=seed(5)),
                   seed=seed(5), last_period=2011, missing=0.1,
                   fixed={"troops": {"residual_persistence": 0.9, "noise": 0.6, "loading": 0.2},
                          "exercises": {"loading": 0.7}, "consultation": {"loading": 1.5},
                          "intel_sharing": {"loading": 1.5}, "visits": {"loading": 1.0},
                          "readiness": {"loading": 1.0}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {name: CredibilityModel(spec).fit(sim.data, draws=200, tune=200, chains=2,
                                                 seed=seed(1), progress=False,
                                                 until_reliable=False)
                for name, spec in specs.items()}


@pytest.mark.slow
def test_pointwise_terms_are_each_familys_density(tiny_fit, python_mode):
    """Every row of every family has a term; troops (amount), spending_ratio (ratio with
    target 2) and joint_exercises (negative binomial) rows equal scipy's densities of the
    recorded values at each draw."""
    log_lik = signal_log_likelihood(tiny_fit)
    signals = tiny_fit.data.signals
    assert log_lik.dims == ("chain", "draw", "row") and log_lik.dtype == np.float64
    assert log_lik["row"].values.tolist() == signals.index.tolist()
    assert np.isfinite(log_lik.values).all()
    post = tiny_fit.posterior["posterior"]
    for name in ("troops", "spending_ratio", "joint_exercises"):
        for label, row in signals[signals["signal"] == name].head(2).iterrows():
            state = post["credibility"].sel(commitment=row["commitment_id"],
                                            period=row["period"])
            eta = (post["intercept"].sel(signal_intercept=name)
                   + post["loading"].sel(signal=name) * state).values
            noise = post["noise"].sel(signal_noise=name).values
            if name == "joint_exercises":
                alpha = 1.0 / noise
                mu = row["exposure"] * np.exp(eta)
                expected = stats.nbinom.logpmf(row["value"], alpha, alpha / (alpha + mu))
            else:
                target = tiny_fit.spec.signal(name).target
                expected = stats.lognorm.logpdf(row["value"], noise,
                                                scale=target * np.exp(eta))
            np.testing.assert_allclose(log_lik.sel(row=label).values, expected, rtol=1e-8)
    some = signals.index[[3, 0, 40]].to_numpy()
    part = signal_log_likelihood(tiny_fit, rows=some)
    assert part["row"].values.tolist() == sorted(some.tolist())
    np.testing.assert_array_equal(part.values, log_lik.sel(row=sorted(some)).values)


@pytest.mark.slow
def test_comparison_prefers_the_structure_that_simulated_the_data(troops_fits, python_mode):
    """With troops' residuals drawn persistent (0.9), the fit with ``residual_persistence``
    predicts the rows better by more than 3 standard errors of the difference (measured
    3.9-5.4 on four seeds of this design). Its numbers equal a hand computation:
    ``elpd_diff`` and ``se_diff`` from the paired pointwise elpd, and ``elpd + p_loo`` the
    log pointwise predictive density."""
    with pytest.warns(CompareWarning):  # 2 x 200 draws: the diagnostics fail
        table = compare(troops_fits)
    assert list(table.columns) == list(COMPARE_COLUMNS)
    assert table["name"].tolist() == ["ar", "plain"], table
    loser = table.iloc[1]
    assert loser["elpd_diff"] < -3.0 * loser["se_diff"], table

    loos = {name: signal_loo(fit) for name, fit in troops_fits.items()}
    diff = (loos["plain"].elpd_i - loos["ar"].elpd_i).values
    assert loser["elpd_diff"] == pytest.approx(diff.sum(), rel=1e-12)
    assert loser["se_diff"] == pytest.approx(np.sqrt(diff.size * np.var(diff, ddof=1)),
                                             rel=1e-12)
    assert table.iloc[0][["elpd_diff", "se_diff"]].tolist() == [0.0, 0.0]
    for _, row in table.iterrows():
        log_lik = signal_log_likelihood(troops_fits[row["name"]]).values.reshape(
            -1, diff.size)
        lppd = float((logsumexp(log_lik, axis=0) - np.log(log_lik.shape[0])).sum())
        assert row["elpd_loo"] + row["p_loo"] == pytest.approx(lppd, rel=1e-10)
        assert row["rows"] == diff.size
        assert row["warning"]


@pytest.mark.slow
def test_unreliable_fits_are_compared_and_marked(tiny_fit, python_mode):
    """tiny_fit's diagnostics fail: compared all the same, with a warning in its row."""
    with pytest.warns(CompareWarning, match="its elpd is not reliable"):
        table = compare({"a": tiny_fit, "b": tiny_fit})
    assert table["elpd_diff"].tolist() == [0.0, 0.0]
    assert table["warning"].str.contains("R-hat|ESS|divergent").all()


def test_fits_of_other_data_approximate_fits_and_single_fits_are_refused():
    data = tiny_simulation().data
    other = simulate("default", synthetic_commitments(5, 2, (2000, 2006), seed=seed(4)),
                     seed=seed(4), last_period=2006).data
    with pytest.raises(CompareError, match=r"fits 'a' and 'b' were fitted to different data"):
        compare({"a": unsampled(data), "b": unsampled(other)})
    with pytest.raises(CompareError, match=r"fit 'b' is approximate \(ADVI fit\)"):
        compare({"a": unsampled(data), "b": unsampled(data, method="advi")})
    with pytest.raises(CompareError, match=r"fit 'b' is approximate \(update\)"):
        compare({"a": unsampled(data), "b": unsampled(data, update_method="approximate")})
    with pytest.raises(CompareError, match="at least two fits"):
        compare({"a": unsampled(data)})


@pytest.mark.slow
def test_cli_compare_prints_the_table_and_writes_csv(troops_fits, tiny_fit, tmp_path,
                                                     python_mode):
    folders = {}
    for name, fit in {**troops_fits, "tiny": tiny_fit}.items():
        folders[name] = tmp_path / name
        fit.save(folders[name])
    out = tmp_path / "loo.csv"
    result = invoke("compare", folders["plain"], folders["ar"], "--names", "P,A", "--out", out)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "2 se of the difference is not evidence either way" in text
    assert "warning: fit 'A'" in result.stderr
    written = pd.read_csv(out, keep_default_na=False)
    assert list(written.columns) == list(COMPARE_COLUMNS)
    assert written["name"].tolist() == ["A", "P"]
    assert written["elpd_diff"].iloc[1] < 0

    assert_one_line_error(invoke("compare", folders["tiny"], folders["ar"]),
                          "'tiny' and 'ar' were fitted to different data")


def test_cli_compare_errors_are_one_line(tmp_path):
    assert_one_line_error(invoke("compare", tmp_path / "missing", tmp_path), "no such folder")
    assert_one_line_error(invoke("compare", tmp_path, tmp_path, "--names", "a"),
                          "--names gives 1 names for 2 fits")
    assert_one_line_error(invoke("compare", tmp_path, tmp_path, "--names", "a,a"),
                          "distinct")
    help_text = " ".join(invoke("compare", "--help").stdout.split())
    assert "credibility compare" in help_text and "Example" in help_text

