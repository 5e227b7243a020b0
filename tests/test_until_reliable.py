"""Running until reliable: ``SamplerConfig`` and ``run`` (credibility.inference.sampling).

A run checks its diagnostics at checkpoints and keeps the first ``n`` draws of every
chain for the first checkpoint ``n`` that passes; those are the draws a fixed-length
run of ``n`` draws gives for the same seed (nutpie's first draws do not depend on how
many follow). The statistical content is the diagnostics' own (tests/test_diagnostics.py);
here: where a run stops, what it keeps and what it says.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings

import numpy as np
import pymc as pm
import pytest
from simulations import tiny_simulation

from credibility.analysis.updating import update_fit
from credibility.errors import FitError
from credibility.inference.diagnostics import ConvergenceWarning, Diagnostics
from credibility.inference.sampling import (
    RunRecord,
    SamplerConfig,
    compile_nutpie,
    posterior_diagnostics,
    run,
    sample_model,
)
from credibility.results.fitting import CredibilityModel, FitResult

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def normal():
    """A normal mean and scale from 20 observations: well-behaved, ~0.6 ESS per draw."""
    with pm.Model() as model:
        mu = pm.Normal("mu")
        sd = pm.HalfNormal("sd")
        pm.Normal("y", mu, sd, observed=np.random.default_rng(0).normal(size=20))
    return model, compile_nutpie(model)


def failing(tree) -> Diagnostics:
    """A check that never passes (its R-hat is the real one plus 1)."""
    d = posterior_diagnostics(tree)
    return dataclasses.replace(d, max_rhat=d.max_rhat + 1.0)


@pytest.mark.parametrize("backend", ["nutpie", "pymc"])
def test_stops_at_the_first_checkpoint_that_passes_with_a_fixed_runs_draws(normal, backend):
    model, compiled = normal
    heard = []
    config = SamplerConfig(draws=100, tune=200, chains=2, seed=5, backend=backend,
                           max_draws=800)
    tree, record = run(model, config, progress=False,
                       compiled=compiled if backend == "nutpie" else None,
                       on_check=lambda n, d, more: heard.append((n, d.ok, more)))
    # 2 x 100 draws cannot reach a bulk ESS of 400: the run went on, and stopped at
    # the first checkpoint that passed.
    assert record.stopped_by == "reliable" and record.draws > 100
    assert [n for n, _, _ in heard] == [c[0] for c in record.checks]
    assert [ok for _, ok, _ in heard] == [False] * (len(heard) - 1) + [True]
    assert [more for _, _, more in heard] == ["sample on"] * (len(heard) - 1) + ["stop"]
    assert record.draws in config.checkpoints()
    assert tree["posterior"]["mu"].shape == (2, record.draws)
    assert posterior_diagnostics(tree).ok
    if backend == "nutpie":
        fixed = sample_model(model, compiled=compiled, draws=record.draws, tune=200, chains=2,
                             seed=5, progress=False)
        np.testing.assert_array_equal(fixed["posterior"]["mu"].to_numpy(),
                                      tree["posterior"]["mu"].to_numpy())
        np.testing.assert_array_equal(fixed["sample_stats"]["diverging"].to_numpy(),
                                      tree["sample_stats"]["diverging"].to_numpy())


def test_a_run_with_more_chains_than_cores_samples_every_chain_at_once(normal, monkeypatch):
    """nutpie runs ``cores`` chains to their end before it starts the next, and a
    checkpoint needs every chain: an until-reliable run asks for all chains at once
    (decision 64), and its draws are still those of a fixed-length run, which runs
    ``min(chains, cpu_count)`` at once."""
    import nutpie

    model, compiled = normal
    chains = (os.cpu_count() or 1) + 1  # one more than the cores
    asked = []
    sample = nutpie.sample
    monkeypatch.setattr(nutpie, "sample", lambda *a, **k: asked.append(k["cores"])
                        or sample(*a, **k))
    config = SamplerConfig(draws=30, tune=200, chains=chains, seed=4, max_draws=60)
    tree, record = run(model, config, progress=False, compiled=compiled, check=failing)
    assert asked == [chains] and record.draws == 60
    fixed = sample_model(model, compiled=compiled, draws=60, tune=200, chains=chains, seed=4,
                         progress=False)
    assert asked[1:] == [min(chains, os.cpu_count() or 1)]
    np.testing.assert_array_equal(fixed["posterior"]["mu"].to_numpy(),
                                  tree["posterior"]["mu"].to_numpy())


def test_a_run_that_never_passes_stops_at_the_draw_limit(normal):
    model, compiled = normal
    config = SamplerConfig(draws=50, tune=100, chains=2, seed=1, max_draws=120)
    assert config.checkpoints() == (50, 75, 100, 120)
    tree, record = run(model, config, progress=False, compiled=compiled, check=failing)
    assert record.stopped_by == "draw limit" and record.draws == 120
    assert [c[0] for c in record.checks] == [50, 75, 100, 120]
    assert tree["posterior"]["mu"].sizes["draw"] == 120
    assert "still failing at the draw limit, 120 draws per chain" in record.describe()


def test_a_run_stopped_by_its_time_budget_says_so(normal):
    model, compiled = normal
    # The budget has run out at the first checkpoint: the run stops at the second wait.
    config = SamplerConfig(draws=50, tune=100, chains=2, seed=1, budget_seconds=1e-6)
    tree, record = run(model, config, progress=False, compiled=compiled, check=failing)
    assert record.stopped_by == "time budget"
    assert 50 <= record.draws <= 75 and tree["posterior"]["mu"].sizes["draw"] == record.draws
    assert np.isfinite(tree["posterior"]["mu"].to_numpy()).all()
    assert record.describe().startswith("stopped by the time budget")
    assert RunRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record


def diverging_first(calls: int = 1):
    """A check that reports 2 divergences at its first ``calls`` calls, then the truth."""
    seen = []

    def check(tree) -> Diagnostics:
        seen.append(1)
        d = posterior_diagnostics(tree)
        return dataclasses.replace(d, divergences=2) if len(seen) <= calls else d
    return check


@pytest.mark.parametrize("backend", ["nutpie", "pymc"])
def test_a_run_with_divergences_restarts_at_a_higher_target_acceptance(normal, backend):
    model, compiled = normal
    compiled = compiled if backend == "nutpie" else None
    heard = []
    config = SamplerConfig(draws=300, tune=200, chains=2, seed=5, backend=backend,
                           max_draws=600)
    tree, record = run(model, config, progress=False, compiled=compiled,
                       check=diverging_first(), on_check=lambda n, d, more: heard.append(more))
    # The first check saw divergences: that run was given up at once and the next one,
    # at 0.95, was kept; it alone made the draws.
    assert record.restarts == ((0.9, 300, 2),) and record.target_accept == 0.95
    assert record.stopped_by == "reliable" and heard[0] == "restart" and heard[-1] == "stop"
    assert record.checks[0][4] == 2 and record.checks[-1][4] == 0
    assert record.describe().startswith("restarted at target acceptance 0.95 (2 divergences")
    assert RunRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    kept = sample_model(model, compiled=compiled, backend=backend, draws=record.draws,
                        tune=200, chains=2, seed=5, target_accept=0.95, progress=False)
    np.testing.assert_array_equal(kept["posterior"]["mu"].to_numpy(),
                                  tree["posterior"]["mu"].to_numpy())


def test_a_run_that_keeps_diverging_ends_at_the_highest_target(normal):
    model, compiled = normal
    config = SamplerConfig(draws=50, tune=100, chains=2, seed=1, max_draws=75)
    tree, record = run(model, config, progress=False, compiled=compiled,
                       check=diverging_first(calls=100))
    # Given up at the first check at 0.9 and 0.95; at 0.99 it runs to its draw limit
    # and is reported as failing (divergences), not restarted again.
    assert record.restarts == ((0.9, 50, 2), (0.95, 50, 2))
    assert record.target_accept == 0.99 and record.stopped_by == "draw limit"
    assert [c[0] for c in record.checks] == [50, 50, 50, 75]
    assert tree["posterior"]["mu"].sizes["draw"] == 75
    # A config that asks for 0.99 itself has nothing higher to restart with.
    _, alone = run(model, config.replace(target_accept=0.99), progress=False,
                   compiled=compiled, check=diverging_first(calls=100))
    assert alone.restarts == () and alone.stopped_by == "draw limit"


def test_fixed_length_and_advi_runs_take_exactly_their_draws(normal):
    model, compiled = normal
    tree, record = run(model, SamplerConfig(draws=30, tune=50, chains=2, until_reliable=False),
                       progress=False, compiled=compiled)
    assert record.stopped_by == "fixed length" and tree["posterior"]["mu"].sizes["draw"] == 30
    assert not SamplerConfig(method="advi").extends
    assert SamplerConfig(method="advi").draw_limit == 1000


@pytest.mark.parametrize(("changes", "message"), [
    ({"draws": 0}, "draws must be a positive integer"),
    ({"max_draws": 10, "draws": 20}, r"max_draws must be an integer >= draws \(20\)"),
    ({"budget_seconds": 0}, "budget_seconds must be a positive number"),
    ({"target_accept": 1.0}, "target_accept must be between 0 and 1"),
    ({"backend": "stan"}, "unknown backend 'stan'"),
    ({"mass_matrix": "low_rank", "backend": "pymc"}, "needs the nutpie backend"),
    ({"seed": -1}, "seed must be an integer >= 0"),
])
def test_bad_settings_are_fit_errors(changes, message):
    with pytest.raises(FitError, match=message):
        SamplerConfig(**changes)


def test_records_without_until_reliable_had_a_fixed_length():
    old = {"draws": 500, "tune": 500, "chains": 2, "seed": 7, "backend": "nutpie",
           "target_accept": 0.9, "outcome": "none", "unused_signals": []}
    config = SamplerConfig.from_dict(old)
    assert not config.until_reliable and config.draw_limit == 500 and config.draws == 500


def test_a_fit_stopped_by_the_budget_says_so_and_its_config_round_trips(tmp_path, monkeypatch):
    data = tiny_simulation().data  # tiny_fit's model: its compiled code is in the cache
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fit = CredibilityModel("default").fit(data, draws=20, tune=60, chains=2, seed=2,
                                              progress=False, budget_seconds=1e-6,
                                              max_draws=200)
    assert fit.run_record.stopped_by == "time budget"
    assert fit.diagnostics.run.startswith("stopped by the time budget")
    assert not fit.diagnostics.ok
    message = str(next(w.message for w in caught if w.category is ConvergenceWarning))
    assert "stopped by the time budget" in message
    assert ("run", fit.diagnostics.run, "info") in fit.diagnostics.lines()
    draws = fit.run_record.draws
    assert fit.posterior["posterior"]["credibility"].sizes["draw"] == draws
    assert fit.diagnostics.draws == 2 * draws
    # The config round-trips through save and load, and an update reuses it.
    expected = SamplerConfig(draws=20, tune=60, chains=2, seed=2, budget_seconds=1e-6,
                             max_draws=200)
    assert fit.sampler_config == expected
    fit.save(tmp_path / "fit")
    loaded = FitResult.load(tmp_path / "fit")
    assert loaded.sampler_config == expected and loaded.run_record == fit.run_record
    seen = []

    def stand_in(self, data, **kwargs):
        seen.append(kwargs)
        return loaded

    monkeypatch.setattr(CredibilityModel, "fit", stand_in)
    rows = data.signals[data.signals["period"] == 2006].assign(period=2007)
    rows = rows.assign(alliance=rows["alliance"].where(rows["level"] == "alliance", ""))
    update_fit(loaded, rows[["commitment_id", "alliance", "period", "signal", "value"]],
               progress=False)
    assert seen[0]["sampler"] == expected


def test_a_run_given_up_for_other_coordinates_says_so(normal):
    """``switch`` is asked once, at the first check when it fails; saying yes stops the
    run there (decision 33). With more than half the time budget spent it is not asked."""
    model, compiled = normal
    asked, heard = [], []

    def switch(tree, found):
        asked.append(tree["posterior"]["mu"].sizes["draw"])
        return True

    config = SamplerConfig(draws=100, tune=100, chains=2, seed=3, max_draws=300)
    _tree, record = run(model, config, progress=False, compiled=compiled, check=failing,
                       on_check=lambda n, d, more: heard.append(more), switch=switch)
    assert asked == [100] and heard == ["switch"]
    assert record.stopped_by == "new coordinates" and record.draws == 100
    assert record.describe().startswith("given up at 100 draws per chain for other coordinates")
    # A passing first check is kept, and a switch that says no lets the run go on.
    def passing(tree) -> Diagnostics:
        return dataclasses.replace(posterior_diagnostics(tree), max_rhat=1.0,
                                   min_ess_bulk=1e4, min_ess_tail=1e4, divergences=0)

    _, passed = run(model, config, progress=False, compiled=compiled, check=passing,
                    switch=switch)
    assert passed.stopped_by == "reliable" and asked == [100]
    _, declined = run(model, config, progress=False, compiled=compiled, check=failing,
                      switch=lambda tree, found: False)
    assert declined.stopped_by == "draw limit"
    _, late = run(model, config.replace(budget_seconds=1e-6), progress=False,
                  compiled=compiled, check=failing, switch=switch)
    assert late.stopped_by != "new coordinates" and asked == [100]
    # The kept run of a fit that switched names its coordinates.
    switched = RunRecord(300, "reliable", ((100, 1.2, 20.0, 20.0, 0, 1.0),
                                           (300, 1.004, 500.0, 500.0, 0, 3.0)),
                         coordinates="non-centred commitment states")
    assert switched.describe().startswith(
        "sampled again with non-centred commitment states; passed")
    assert RunRecord.from_dict(json.loads(json.dumps(switched.to_dict()))) == switched


def test_a_fit_whose_first_check_fails_samples_again_in_adapted_coordinates(monkeypatch,
                                                                            tmp_path):
    """With ``adapt_coordinates`` (the default) a fit whose first check fails samples
    again in the coordinates :func:`adapted_coordinates` picks from that check's
    posterior (decision 33): here a stand-in that picks a signal's residuals (the
    choice itself is tested in tests/test_measurement.py)."""
    import credibility.results.fitting as fitting

    data = tiny_simulation().data
    asked = []

    def choose(posterior, index, spec):
        asked.append(posterior["noise"].sizes["draw"])
        return (dataclasses.replace(spec, residual_signal="spending_ratio"),
                "spending_ratio's residuals as coordinates", "it carries 90% of the information")

    monkeypatch.setattr(fitting, "adapted_coordinates", choose)
    stages = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = CredibilityModel("default").fit(data, draws=20, tune=60, chains=2, seed=2,
                                              progress=False, max_draws=40,
                                              on_stage=stages.append)
    assert asked == [20]
    record = fit.run_record
    assert record.coordinates == "spending_ratio's residuals as coordinates"
    assert record.checks[0][0] == 20 and len(record.checks) >= 2  # both runs' checks
    assert fit.diagnostics.run.startswith("sampled again with spending_ratio's residuals")
    assert "commitment_state_residual" in fit.posterior["posterior"]
    assert any(s == "sampling again with spending_ratio's residuals as coordinates (it carries "
               "90% of the information)" for s in stages)
    # The spec of the sampled coordinates survives save and load (consumers rebuild the
    # model from it to read the posterior's free variables).
    assert fit.spec.residual_signal is None
    assert fit.sampled_spec.residual_signal == "spending_ratio"
    fit.save(tmp_path / "fit")
    assert FitResult.load(tmp_path / "fit").sampled_spec == fit.sampled_spec


# Full tier (a model in spectral states compiled for 17-34 s of the suite's time): the
# fast tier checks the choice of coordinates (tests/test_measurement.py) and the rerun
# in adapted coordinates above.
@pytest.mark.full
def test_a_fit_of_large_data_starts_in_spectral_states(monkeypatch, tmp_path):
    """From SPECTRAL_CELLS commitment-periods on, a fit that adapts its coordinates
    samples spectral states from the start (decision 57; the choice is tested in
    tests/test_measurement.py): here the threshold is lowered to the tiny data's size.
    The run says so, and the sampled spec survives save and load."""
    from credibility.model import coordinates as model_coordinates

    data = tiny_simulation().data
    monkeypatch.setattr(model_coordinates, "SPECTRAL_CELLS", 1)
    stages = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = CredibilityModel("default").fit(data, draws=20, tune=40, chains=2, seed=2,
                                              progress=False, until_reliable=False,
                                              outcome="none", on_stage=stages.append)
    cells = fit.index.cells.size
    assert stages[1] == f"starting in spectral states ({cells:,} commitment-periods, at least 1)"
    assert fit.diagnostics.run == f"started in spectral states ({cells:,} commitment-periods, " \
        "at least 1)"
    assert not fit.spec.spectral_states and fit.sampled_spec.spectral_states
    assert "commitment_spectral" in fit.posterior["posterior"]
    fit.save(tmp_path / "fit")
    assert FitResult.load(tmp_path / "fit").sampled_spec == fit.sampled_spec


def test_a_run_on_disk_waits_for_the_draws_of_each_checkpoint(tmp_path, monkeypatch):
    """nutpie writes a zarr trace in chunks of 16 draws per chain, so when a run pauses
    at a checkpoint its last few draws may not be on disk yet; the run keeps sampling
    until they are. Without that, a slow model (a draw of the size M benchmark takes
    about as long as nutpie's progress reports are apart) failed with "nutpie stopped
    after 992 of 1000 draws per chain"; this one, whose draws are slow for the same
    reason, failed with "stopped after 16 of 20". Checkpoints 20 and 30 are inside a
    chunk."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    with pm.Model() as model:
        x = pm.Normal("x", shape=20)
        grid = pm.math.constant(np.linspace(0.0, 1.0, 50_000))
        pm.Potential("slow", 1e-3 * pm.math.cos(x[:, None] * grid[None, :]).sum())
    config = SamplerConfig(draws=20, tune=10, chains=2, seed=1, max_draws=40)
    tree, record = run(model, config, progress=False, trace_storage="disk", check=failing)
    assert [c[0] for c in record.checks] == list(config.checkpoints()) == [20, 30, 40]
    assert record.stopped_by == "draw limit"
    assert tree["posterior"]["x"].shape == (2, 40, 20)
    assert np.isfinite(tree["posterior"]["x"].to_numpy()).all()
    assert not list(tmp_path.glob("credibility-trace-*"))  # the temporary store is gone
