"""Simulation-based calibration (``credibility.validation``) and ``credibility validate``.

The fast tests check the statistics on known distributions. The slow ones run
tiny SBC runs (SYNTHETIC data) on dask ``LocalCluster``s: the machinery (files,
shapes, resume, the CLI against a running scheduler) and a statistical check that
the uniformity test flags a fit whose loading prior is ten times too narrow for
one signal, but not the correctly specified fit, at 10 simulations each (the
wrong prior pushes that loading's ranks to the top in nearly every simulation; a
by-hand run at this size gave Holm-adjusted p = 0.007 for it and no flag, smallest
raw p = 0.09, for the correct fit).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from simulations import (
    CONSULTATION_WILLINGNESS,
    STRONG_PRIORS,
    TROOPS_CAPABILITY,
    signal_table,
    spec_head,
)
from typer.testing import CliRunner

from credibility.cli import app
from credibility.data.spec import load_spec, parse_spec
from credibility.kernels import DATA_PREFIX
from credibility.measurement import build_measurement_model
from credibility.validation import (
    SBCSettings,
    ValidationError,
    load_simulations,
    run_sbc,
    simulation_seed,
)
from credibility.validation.plots import plot_coverage, plot_rank_ecdf, plot_recovery
from credibility.validation.ranks import (
    COVERAGE_LEVELS,
    _example_simulations,
    coverage_table,
    ecdf_band,
    ecdf_uniformity_test,
    fractional_rank,
    holm,
    rank_statistics,
    recovery_table,
    thinned_rank,
    uniformity_table,
)
from credibility.validation.sbc import _check_settings, _client
from credibility.validation.simulation import (
    _comparable_latents,
    _design,
    _latent_metrics,
    _model_data,
    _quantities,
    _shared_model,
    _simulate,
)

AUTO_SPEC = """
[model]
name = "auto_priors"

[[signals]]
name = "troops"
family = "amount"
"""

# ----------------------------------------------------------------------------- statistics


def test_thinned_rank_counts_kept_draws_below_truth():
    draws = np.arange(20.0).reshape(2, 10)
    assert thinned_rank(draws, -1.0, keep=5) == 0
    assert thinned_rank(draws, 100.0, keep=5) == 5
    # Kept draws are 0, 4, 8, 12, 16: three of them are below 9.
    assert thinned_rank(draws, 9.0, keep=5) == 3
    assert thinned_rank(draws, 9.0, keep=1000) == 9  # at most every draw is kept


def test_fractional_ranks_of_uniform_ranks_are_uniform():
    rng = np.random.default_rng(0)
    keep = rng.integers(1, 30, 5000)
    rank = rng.integers(0, keep + 1)
    u = fractional_rank(rank, keep, rng.uniform(size=keep.size))
    assert 0 < u.min() and u.max() < 1
    assert ecdf_uniformity_test(u[:500]) > 0.05
    assert np.histogram(u, bins=10, range=(0, 1))[0].min() > 400


def test_ecdf_test_is_calibrated_and_has_power():
    rng = np.random.default_rng(3)
    p_null = np.array([ecdf_uniformity_test(rng.uniform(size=30)) for _ in range(300)])
    assert 0.02 <= np.mean(p_null < 0.05) <= 0.09
    # A posterior twice too narrow (ranks pile up at both ends) and a biased one.
    narrow = stats_cdf(rng.normal(scale=2.0, size=100))
    biased = stats_cdf(rng.normal(loc=0.6, size=100))
    assert ecdf_uniformity_test(narrow) < 0.01
    assert ecdf_uniformity_test(biased) < 0.01


def stats_cdf(x: np.ndarray) -> np.ndarray:
    from scipy.stats import norm

    return norm.cdf(x)


def test_ecdf_band_holds_simultaneously_at_its_level():
    n, rng = 40, np.random.default_rng(4)
    z, lower, upper = ecdf_band(n, alpha=0.1)
    inside = []
    for _ in range(400):
        u = np.sort(rng.uniform(size=n))
        ecdf = np.searchsorted(u, z, side="right") / n
        inside.append(bool(np.all((lower <= ecdf) & (ecdf <= upper))))
    assert 0.85 <= np.mean(inside) <= 0.95


def test_holm_matches_the_step_down_definition():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    adjusted = holm(p)
    np.testing.assert_allclose(adjusted[:4], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adjusted[4])


def test_rank_statistics_thins_to_the_effective_sample_size():
    rng = np.random.default_rng(1)
    independent = rng.normal(size=(2, 400, 1))
    sticky = np.repeat(rng.normal(size=(2, 20, 1)), 20, axis=1)  # ESS about 40
    table = rank_statistics(np.concatenate([independent, sticky], axis=2), np.zeros(2),
                            max_rank=100, rng=rng)
    assert table.loc[0, "keep"] == 100
    assert table.loc[1, "keep"] < 80
    assert ((table["rank"] >= 0) & (table["rank"] <= table["keep"])).all()


def test_tables_and_plots_on_calibrated_stand_in(tmp_path):
    sims = _example_simulations()
    uniformity = uniformity_table(sims)
    assert not uniformity["flagged"].any()
    coverage = coverage_table(sims)
    row = coverage.set_index("group").loc["dynamics"]
    for level in COVERAGE_LEVELS:
        assert abs(row[f"{round(100 * level)}%"] - level) < 0.15
    recovery = recovery_table(sims).set_index("quantity")
    assert recovery.loc["persistence_commitment", "correlation"] > 0.8
    assert abs(recovery.loc["persistence_commitment", "z_mean"]) < 0.4
    for plot, name in ((plot_rank_ecdf, "ecdf.png"), (plot_coverage, "coverage.png"),
                       (plot_recovery, "recovery.png")):
        plot(sims, path=tmp_path / name)
        assert (tmp_path / name).stat().st_size > 1000


def test_miscalibrated_intervals_show_in_coverage():
    sims = _example_simulations(n=200)
    narrow = sims.assign(lower=sims["mean"] + (sims["lower"] - sims["mean"]) / 2,
                         upper=sims["mean"] + (sims["upper"] - sims["mean"]) / 2)
    assert coverage_table(narrow).set_index("group").loc["dynamics", "90%"] < 0.75


# ----------------------------------------------------------------------------- settings


def test_settings_need_explicit_priors():
    with pytest.raises(ValidationError, match="auto"):
        SBCSettings(parse_spec(AUTO_SPEC, source="auto.toml"))


def test_settings_reject_bad_sizes():
    with pytest.raises(ValidationError, match="draws"):
        SBCSettings("default", draws=0)
    with pytest.raises(ValidationError, match="missing"):
        SBCSettings("default", missing=1.0)


def test_settings_record_sees_a_changed_prior():
    spec = load_spec("default")
    wrong = replace(spec, priors=replace(spec.priors, alliance_mean_sd=9.0))
    same = SBCSettings(spec).to_dict()
    assert same["spec"] == same["fit_spec"]
    changed = SBCSettings(spec, fit_spec=wrong).to_dict()
    assert changed["fit_spec"]["content_sha256"] != changed["spec"]["content_sha256"]


def test_resume_refuses_other_settings(tmp_path):
    _check_settings(tmp_path, SBCSettings("default", seed=1))
    _check_settings(tmp_path, SBCSettings("default", seed=1))
    with pytest.raises(ValidationError, match="seed"):
        _check_settings(tmp_path, SBCSettings("default", seed=2))
    with pytest.raises(ValidationError, match="no finished simulations"):
        load_simulations(tmp_path)


def test_simulation_seeds_differ():
    seeds = {simulation_seed(0, i) for i in range(100)}
    assert len(seeds) == 100


def test_cli_reports_a_spec_it_cannot_calibrate(tmp_path):
    spec = tmp_path / "auto.toml"
    spec.write_text(AUTO_SPEC, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", "sbc", "--spec", str(spec), "--n-sims", "2",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "auto" in result.stderr and "Traceback" not in result.output


# ----------------------------------------------------------------------------- slow: SBC runs


@pytest.mark.slow
def test_without_a_scheduler_the_run_gets_a_local_cluster_of_its_own(monkeypatch):
    """No client, scheduler or ``DASK_SCHEDULER_ADDRESS``: a ``LocalCluster`` of
    single-threaded worker processes, one per ``chains`` cores (the tests below sample
    on a module-wide LocalCluster of worker processes instead: starting one per run
    cost about 20 s, a new process compiling the model again)."""
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    with _client(None, None, SBCSettings("default", chains=2)) as client:
        workers = client.scheduler_info()["workers"].values()
        assert len(workers) == 2 and {w["nthreads"] for w in workers} == {1}
        assert all(w["host"] for w in workers)
        assert client.cluster.processes
    with _client(None, 1, SBCSettings("default")) as client:
        assert len(client.scheduler_info()["workers"]) == 1


#: The SBC design of the uniformity test (and of the CLI test, which compiles its model
#: first on the module's dask worker).
UNIFORMITY_DESIGN = {"commitments": 5, "alliances": 2, "periods": 7, "seed": 11}


def test_a_compiled_sbc_model_takes_another_simulations_data_by_name(python_mode,
                                                                     all_families_spec):
    """SBC compiles the fused measurement model once per layout and swaps each
    simulation's data in by name: the observed data and the fused kernels' named data
    constants (every family's values, the ordinal rows' order by level, the data-only
    terms). Swapped so, the model has the density of one built from the new data;
    swapping the observed data alone (as when the kernels' data were unnamed) does not."""
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.traversal import ancestors

    # Every family, fused or in graph form, but binomial: its trials are simulated
    # anew each time and are part of the layout (SBC's key), not data swapped in.
    spec = replace(all_families_spec, signals=tuple(
        s for s in all_families_spec.signals if s.family != "binomial"))
    settings = SBCSettings(spec, **UNIFORMITY_DESIGN, missing=0.2)
    design = _design(settings)
    sims = [_simulate(settings, design, simulation_seed(settings.seed, i)) for i in (0, 1)]
    first, second = (build_measurement_model(s.data, spec, fused=True) for s in sims)
    new = _model_data(second)
    assert {f"{DATA_PREFIX}{f}:{n}" for f, n in [
        ("count", "value"), ("amount", "log_value"), ("ratio", "log_value"), ("binary", "value"),
        ("ordinal", "level"), ("ordinal", "row_latent"), ("count", "constant")]} <= set(new)
    assert "obs_proportion_data" in new  # a family in graph form: observed data
    assert any(not np.array_equal(v, _model_data(first)[k]) for k, v in new.items()
               if k.startswith(DATA_PREFIX))
    point = {k: v + 0.3 * np.random.default_rng(4).standard_normal(np.shape(v))
             for k, v in second.initial_point().items()}
    expected = second.compile_logp()(point)
    for swap_kernel_data in (True, False):
        shared = _shared_model(first, {})
        observed = [shared.rvs_to_values[rv] for rv in shared.observed_RVs]
        variables = {v.name: v for v in ancestors([*shared.potentials, *observed])
                     if isinstance(v, SharedVariable)}
        assert set(new) <= set(variables)
        for name, value in new.items():
            if swap_kernel_data or not name.startswith(DATA_PREFIX):
                variables[name].set_value(value)
        logp = shared.compile_logp()(point)
        if swap_kernel_data:
            np.testing.assert_allclose(logp, expected, rtol=1e-12)
        else:
            assert abs(logp - expected) > 1.0


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": ":0"},
                      silence_logs=logging.ERROR) as local:
        yield local


@pytest.mark.slow
def test_cli_sbc_runs_on_a_scheduler_and_resumes(cluster, tmp_path):
    """The CLI against a running scheduler: files, shapes, and a resumed run."""
    out = tmp_path / "sbc"
    # The design of the uniformity test below (UNIFORMITY_DESIGN), which runs after this
    # one on the same worker and so samples the measurement model compiled here.
    # Fixed-length fits: this test is about the machinery, not convergence.
    design = ["--commitments", "5", "--alliances", "2", "--periods", "7", "--seed", "11",
              "--draws", "100", "--tune", "100", "--cases", "30", "--fixed-length"]
    args = ["validate", "sbc", "--out", str(out), *design, "--quiet",
            "--scheduler", cluster.scheduler_address]
    first = CliRunner().invoke(app, [*args, "--n-sims", "2"])
    assert first.exit_code == 0, first.output
    assert sorted(p.name for p in (out / "sims").iterdir()) == ["sim-00000.nc", "sim-00001.nc"]
    second = CliRunner().invoke(app, [*args, "--n-sims", "3"])
    assert second.exit_code == 0, second.output
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "this call computed 1, reused 2" in summary
    assert "credibility validate sbc --spec default --n-sims 3" in summary
    assert summary.split("credibility validate sbc")[1].split("\n")[0].endswith(
        "--fixed-length")
    assert json.loads((out / "settings.json").read_text())["until_reliable"] is False
    for name in ("uniformity.csv", "rank_ecdf.png", "coverage.csv", "coverage.png",
                 "recovery.csv", "recovery.png", "settings.json"):
        assert (out / name).exists(), name
    sims = xr.open_dataset(out / "simulations.nc", engine="h5netcdf").load()
    assert sims.sizes["simulation"] == 3
    assert sims["lower"].dims == ("simulation", "quantity", "level")
    quantities = set(sims["quantity"].values)
    assert {"persistence_commitment", "loading[troops]", "outcome_credibility",
            "outcome_covariate[capability_ratio]"} <= quantities
    assert int((sims["group"] == "credibility cell").sum()) == 6  # latent_sample default
    assert ((sims["rank"] >= 0) & (sims["rank"] <= sims["keep"])).all()
    assert (sims["latent_cells"].sel(latent="credibility") > 0).all()
    assert len({int(s) for s in sims["seed"].values}) == 3
    changed = CliRunner().invoke(app, [*args, "--n-sims", "3", "--seed", "5"])
    assert changed.exit_code == 2 and "other settings" in changed.stderr
    # The same design as the SBC run: the worker samples the model it compiled for it.
    recovery = CliRunner().invoke(app, ["validate", "recovery", "--out", str(tmp_path / "rec"),
                                        "--n-sims", "1", *design, "--quiet",
                                        "--scheduler", cluster.scheduler_address])
    assert recovery.exit_code == 0, recovery.output
    assert (tmp_path / "rec" / "recovery.png").exists()


@pytest.mark.slow
def test_uniformity_flags_a_misspecified_prior_but_not_the_right_one(cluster, tmp_path):
    spec = load_spec("default")
    too_narrow = replace(spec, signals=tuple(
        replace(s, loading_sd=s.loading_sd * 0.1) if s.name == "troops" else s
        for s in spec.signals))
    # Fixed-length fits, as when the test was calibrated (the p-values quoted above).
    settings = {**UNIFORMITY_DESIGN, "draws": 200, "tune": 200, "until_reliable": False}
    from distributed import Client

    with Client(cluster) as client:
        right = run_sbc(SBCSettings(spec, **settings), tmp_path / "right", 10, client=client,
                        progress=False)
        wrong = run_sbc(SBCSettings(spec, fit_spec=too_narrow, **settings), tmp_path / "wrong",
                        10, client=client, progress=False)
    right_table, wrong_table = right.uniformity(), wrong.uniformity()
    assert right.computed == 10 and not right.failed
    assert not right_table["flagged"].any(), right_table.sort_values("p_value").head()
    flagged = set(wrong_table.loc[wrong_table["flagged"], "quantity"])
    assert "loading[troops]" in flagged, wrong_table.sort_values("p_value").head()
    # Its true loading sits above nearly all posterior draws.
    assert wrong_table.set_index("quantity").loc["loading[troops]", "mean_fraction"] > 0.85
    assert isinstance(wrong.coverage(), pd.DataFrame)
    assert json.loads((tmp_path / "wrong" / "settings.json").read_text())["fit_spec"][
        "content_sha256"] != json.loads((tmp_path / "right" / "settings.json").read_text())[
        "spec"]["content_sha256"]


# ------------------------------------------------------------------- several dimensions

#: A small spec of two dimensions for SBC: one pure commitment signal per dimension, one
#: cross-loaded, one alliance-level; explicit priors, as SBC needs.
TWO_DIMENSIONS_SPEC = (spec_head("sbc_two_dimensions",
                                 priors=STRONG_PRIORS + "dimension_correlation_eta = 2.0\n")
                       + TROOPS_CAPABILITY + CONSULTATION_WILLINGNESS
                       + signal_table("exercises", "count", dimension="willingness",
                                      also=["capability"], intercept={"mu": 1.0, "sigma": 0.5},
                                      loading=1.0, noise=0.3)
                       + signal_table("alliance_exercises", "amount", level="alliance",
                                      dimension="willingness",
                                      intercept={"mu": 2.0, "sigma": 0.5}, loading=0.5,
                                      noise=0.3))
#: The SBC design of the two-dimension tests.
TWO_DIMENSIONS_DESIGN = {"commitments": 5, "alliances": 2, "periods": 6, "seed": 5,
                         "latent_sample": 3, "alliance_sample": 1}


def _two_dimensions_spec():
    return parse_spec(TWO_DIMENSIONS_SPEC, source="sbc_two_dimensions.toml")


def test_two_dimension_quantities_pair_truth_and_posterior_element_by_element():
    """Without sampling: a posterior whose draws all lie just below (above) the truth,
    element by element, ranks every quantity at the top (bottom). So each ranked name
    reads the same element of truth and posterior: per dimension the persistences,
    scales and group effects, the declared loadings only, the correlation above the
    diagonal, and each dimension's standardised cells (not the composite); and the
    cells' intervals cover the truth in every dimension."""
    settings = SBCSettings(_two_dimensions_spec(), **TWO_DIMENSIONS_DESIGN)
    design = _design(settings)
    sim = _simulate(settings, design, simulation_seed(settings.seed, 0))
    truth = sim.truth
    assert len(design.cells) == 3 and all(len(cell) == 2 for cell in design.cells)
    rng = np.random.default_rng(0)

    def posterior(shift: float) -> xr.Dataset:
        noise = 0.01 * rng.uniform(size=(2, 50))

        def draws(array: xr.DataArray) -> xr.DataArray:
            return (array + shift * (1.0 + xr.DataArray(noise, dims=("chain", "draw")))
                    ).transpose("chain", "draw", ...)

        labelled = xr.Dataset({var: draws(truth[var]) for var in truth.data_vars
                               if var not in ("loads", "credibility")})
        # The composite is no truth's: a posterior ranked by it would not pair.
        composite = truth["credibility"].sel(dimension="capability") + 5.0
        return labelled.assign(dimension_credibility=draws(truth["credibility"]),
                               credibility=draws(composite))

    for shift, expected in ((-1.0, "keep"), (1.0, "zero")):
        names, groups, values, samples = _quantities(posterior(shift), None, truth, settings,
                                                     design)
        below = (samples < values).all(axis=(0, 1))
        assert below.all() if expected == "keep" else not below.any(), names
    assert {"persistence_commitment[capability]", "persistence_commitment[willingness]",
            "latent_sd[willingness]", "loading[troops,capability]",
            "loading[exercises,capability]", "loading[exercises,willingness]",
            "dimension_correlation[capability,willingness]"} <= set(names), names
    assert "loading[troops,willingness]" not in names
    assert "dimension_correlation[willingness,capability]" not in names
    assert groups.count("credibility cell") == 2 * 3 and groups.count("alliance cell") == 2
    assert groups.count("correlation") == 1
    latent = _latent_metrics(_comparable_latents(posterior(0.0)), truth)
    np.testing.assert_array_equal(latent["latent_covered"][0], latent["latent_cells"][0])
    assert latent["latent_cells"][0] == int(truth["credibility"].notnull().sum())
    with pytest.raises(ValidationError, match="cases with 2 dimensions"):
        SBCSettings(_two_dimensions_spec(), cases=10)


@pytest.mark.full
def test_sbc_of_two_dimensions_runs_and_its_ranks_are_not_far_from_uniform(cluster,
                                                                             tmp_path):
    """A small SBC of the model of two dimensions on the dask worker (fixed-length fits
    of 2 x 100 draws, SYNTHETIC), in the ``full`` tier: 29 s with a warm compile cache
    on two lightly loaded cores, but 104 s warm and 225 s on an empty cache under a
    load of about 10, mostly compiling the model: over the fast tier's budget.
    Every simulation ranks each dimension's quantities,
    and a loose uniformity bound: no quantity is flagged after Holm's correction, and
    the fractional ranks of the correlation and the dimension cells, pooled over
    quantities and simulations, pass the ECDF test at 1 in 1,000 (pooled, they are not
    independent within a simulation, so the bound is loose). With the dimensions
    swapped between truth and posterior the pooled test fails (decision 46)."""
    settings = SBCSettings(_two_dimensions_spec(), **TWO_DIMENSIONS_DESIGN, draws=100,
                           tune=100, until_reliable=False)
    from distributed import Client

    with Client(cluster) as client:
        result = run_sbc(settings, tmp_path / "two", 4, client=client, progress=False)
    assert result.computed == 4 and not result.failed
    sims = result.simulations
    assert ((sims["rank"] >= 0) & (sims["rank"] <= sims["keep"])).all()
    assert (sims["latent_cells"].sel(latent="credibility") > 0).all()
    table = result.uniformity()
    assert not table["flagged"].any(), table.sort_values("p_value").head()
    groups = sims["group"].values.astype(str)
    pooled = sims["fraction"].isel(quantity=np.flatnonzero(np.isin(
        groups, ["correlation", "credibility cell"]))).values.reshape(-1)
    assert pooled.size == 4 * (1 + 2 * 3)
    assert ecdf_uniformity_test(pooled) > 0.001, np.sort(pooled)
    coverage = result.coverage().set_index("group")
    assert {"correlation", "credibility (all cells)"} <= set(coverage.index)
