"""Fitting: backends, the FitResult's labelled posterior, diagnostics, save/load."""

from __future__ import annotations

import importlib.util
import os
import warnings

import numpy as np
import pytest
from simulations import tiny_simulation

from credibility.analysis.checks import posterior_predictive
from credibility.data.spec import parse_spec
from credibility.errors import FitError, PredictionError
from credibility.inference.diagnostics import ConvergenceWarning
from credibility.results.fitting import CREDIBILITY_COLUMNS, CredibilityModel, FitResult
from credibility.simulate import simulate, synthetic_commitments

pytestmark = pytest.mark.slow


def test_posterior_has_named_dims(tiny_fit):
    post = tiny_fit.posterior["posterior"]
    assert post["credibility"].dims == ("chain", "draw", "commitment", "period")
    assert post["alliance_level"].dims == ("chain", "draw", "alliance", "period")
    assert post["loading"].dims == ("chain", "draw", "signal")
    assert "credibility_cell" not in post
    # Inactive periods are NaN, active ones finite.
    active = post["credibility"].isel(chain=0, draw=0).notnull().values
    com = tiny_fit.data.commitments
    periods = tiny_fit.data.periods
    expected = (periods >= com["start"].to_numpy()[:, None]) & (
        periods <= com["end"].to_numpy()[:, None])
    assert np.array_equal(active, expected)


def test_credibility_frame(tiny_fit):
    frame = tiny_fit.credibility()
    assert tuple(frame.columns) == CREDIBILITY_COLUMNS
    com = tiny_fit.data.commitments
    assert len(frame) == int((com["end"] - com["start"] + 1).sum())
    assert (frame["q05"] <= frame["q50"]).all() and (frame["q50"] <= frame["q95"]).all()
    pct = tiny_fit.credibility(scale="percentile")
    assert ((pct["mean"] > 0) & (pct["mean"] < 100)).all()
    with pytest.raises(FitError, match="unknown scale"):
        tiny_fit.credibility(scale="logit")


def test_short_run_reports_failed_diagnostics(tiny_fit):
    d = tiny_fit.diagnostics
    assert d.draws == 120
    assert not d.ok
    assert any("ESS" in p for p in d.problems())
    assert d.sampling_seconds > 0 and np.isfinite(d.max_rhat)


def test_failed_diagnostics_warn(tiny_fit):
    with pytest.warns(ConvergenceWarning, match="posterior NOT reliable"):
        tiny_fit.diagnostics.warn()


def test_save_and_load_round_trip(tiny_fit, tmp_path):
    paths = tiny_fit.save(tmp_path / "fit")
    assert paths["posterior"].stat().st_size > 0
    loaded = FitResult.load(tmp_path / "fit")
    assert loaded.data == tiny_fit.data
    assert loaded.diagnostics == tiny_fit.diagnostics
    assert loaded.credibility().equals(tiny_fit.credibility())
    assert loaded.settings["backend"] == "nutpie"


def test_parameters_table_lists_loadings(tiny_fit):
    table = tiny_fit.parameters()
    assert any(label.startswith("loading[") for label in table.index)
    assert "r_hat" in table.columns


#: One signal of the default spec, for the tests of ADVI and the other backends: each
#: compiles its own function of the model (no cache hit from a nutpie fit); ADVI took
#: 18 s with this spec against 31 s with all six signals.
ONE_SIGNAL_SPEC = """
[model]
name = "one_signal"

[[signals]]
name = "troops"
family = "amount"
"""


@pytest.mark.parametrize("backend", [
    "pymc",
    pytest.param("numpyro", marks=pytest.mark.skipif(
        importlib.util.find_spec("numpyro") is None, reason="needs the optional JAX extra")),
])
def test_other_backends_sample(backend):
    """Each backend samples a model (one signal of the default spec: the backends compile
    their own functions, 10-20 s each with all six)."""
    sim = simulate("default", synthetic_commitments(4, 2, (2000, 2004), seed=2), seed=2,
                   last_period=2004)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = CredibilityModel(parse_spec(ONE_SIGNAL_SPEC, source="one_signal.toml")).fit(
            sim.data, draws=30, tune=30, chains=2, backend=backend, progress=False,
            until_reliable=False)
    assert fit.settings["backend"] == backend
    assert fit.posterior["posterior"]["credibility"].sizes["draw"] == 30
    assert np.isfinite(fit.diagnostics.max_rhat)


def test_bad_arguments_raise_fit_error(tiny_fit):
    model = CredibilityModel("default")
    with pytest.raises(FitError, match="unknown backend 'stan'"):
        model.fit(tiny_fit.data, backend="stan")
    with pytest.raises(FitError, match="draws must be a positive integer"):
        model.fit(tiny_fit.data, draws=0)


@pytest.mark.skipif(importlib.util.find_spec("numpyro") is not None,
                    reason="numpyro is installed")
def test_numpyro_backend_without_jax_extra_says_how_to_install(tiny_fit):
    with pytest.raises(FitError, match=r"credibility\[jax\]"):
        CredibilityModel("default").fit(tiny_fit.data, backend="numpyro")


def test_advi_fit_is_labelled_approximate(tiny_fit, monkeypatch):
    monkeypatch.setattr("credibility.inference.sampling.ADVI_ITERATIONS", 500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = CredibilityModel(parse_spec(ONE_SIGNAL_SPEC, source="one_signal.toml")).fit(
            tiny_fit.data, draws=50, chains=2, seed=3, method="advi", progress=False)
    assert fit.is_approximate and fit.settings["method"] == "advi"
    post = fit.posterior["posterior"]
    assert post.attrs["method"] == "advi" and post.attrs["advi_iterations"] == 500
    assert post["credibility"].sizes == {"chain": 2, "draw": 50, **{
        d: tiny_fit.posterior["posterior"]["credibility"].sizes[d]
        for d in ("commitment", "period")}}
    # Draws differ across chains (independent draws, not copies of one chain).
    first = post["credibility"].isel(draw=0).stack(cell=("commitment", "period")).dropna("cell")
    assert not np.allclose(first.isel(chain=0), first.isel(chain=1))
    assert not tiny_fit.is_approximate and fit.approximation == "ADVI fit"
    with pytest.raises(PredictionError, match=r"ADVI fit: refit with method='nuts'"):
        posterior_predictive(fit, draws=10)
    with pytest.raises(FitError, match="unknown method 'vi'"):
        CredibilityModel("default").fit(tiny_fit.data, method="vi")


def test_low_rank_mass_matrix_runs_and_is_recorded():
    sim = tiny_simulation()  # tiny_fit's model: its compiled code is in the cache
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = CredibilityModel("default").fit(sim.data, draws=40, tune=40, chains=2, seed=1,
                                              progress=False, mass_matrix="low_rank",
                                              until_reliable=False)
    assert fit.settings["mass_matrix"] == "low_rank"
    assert fit.settings["max_treedepth"] == 10
    assert fit.posterior["posterior"]["credibility"].sizes["draw"] == 40
    with pytest.raises(FitError, match="needs the nutpie backend"):
        CredibilityModel("default").fit(sim.data, backend="pymc", mass_matrix="low_rank")
    with pytest.raises(FitError, match="unknown mass matrix 'full'"):
        CredibilityModel("default").fit(sim.data, mass_matrix="full")
    with pytest.raises(FitError, match="max_treedepth must be an integer"):
        CredibilityModel("default").fit(sim.data, max_treedepth=0)


def test_a_compiled_model_is_for_nutpie_only():
    import pymc as pm

    from credibility.inference.sampling import sample_model

    with pm.Model() as model:
        pm.Normal("mu")
    with pytest.raises(FitError, match="only be sampled by nutpie, not 'pymc'"):
        sample_model(model, backend="pymc", compiled=object(), progress=False)


@pytest.mark.skipif(importlib.util.find_spec("numpyro") is None,
                    reason="needs the optional JAX extra")
def test_choosing_the_chain_method_leaves_jax_several_cpu_devices():
    """Asking JAX for its backend first must not cost numpyro its parallel CPU chains."""
    import subprocess
    import sys

    code = ("from credibility.inference.sampling import jax_chain_method; import jax; "
            "print(jax_chain_method(), jax.local_device_count())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "JAX_PLATFORMS": "cpu"}, check=True)
    method, devices = done.stdout.split()
    assert method == "parallel"
    assert int(devices) >= 2
