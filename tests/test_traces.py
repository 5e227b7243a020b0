"""nutpie's trace on disk (credibility.inference.traces): a check computed on the store
opened lazily gives exactly the numbers of the trace in memory without loading it, and
an until-reliable run on disk reads its draws into memory once, when it stops."""

from __future__ import annotations

import dataclasses

import numpy as np
import pymc as pm
import pytest
import xarray as xr

from credibility.inference import diagnostics, sampling, traces
from credibility.inference.diagnostics import Diagnostics
from credibility.inference.sampling import (
    SamplerConfig,
    compile_nutpie,
    posterior_diagnostics,
    run,
    sample_model,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model():
    """Labelled and unlabelled dims, a 2-D variable, a transformed one (stored twice, its
    unconstrained copy dropped) and a deterministic."""
    with pm.Model(coords={"item": ["a", "b", "c"]}) as built:
        mu = pm.Normal("mu", 0.0, 1.0, dims="item")
        sd = pm.HalfNormal("sd", 1.0)
        grid = pm.Normal("grid", 0.0, 1.0, shape=(6, 4))
        pm.Deterministic("shifted", grid + mu[0])
        pm.Normal("y", mu, sd, observed=np.array([0.3, -0.2, 1.1]))
    return built, compile_nutpie(built)


@pytest.fixture(scope="module")
def store(model, tmp_path_factory):
    """A zarr trace of 2 chains x 120 draws written by nutpie itself."""
    import nutpie

    folder = str(tmp_path_factory.mktemp("trace"))
    nutpie.sample(model[1], draws=120, tune=100, chains=2, seed=3, progress_bar=False,
                  zarr_store=nutpie.zarr_store.LocalStore(folder))
    return folder, model[1].reparameterized_names


def test_a_check_on_the_lazy_store_equals_the_check_in_memory(store, monkeypatch):
    folder, dropped = store
    loaded = traces.read_trace(folder, dropped, draws=90)
    expected = posterior_diagnostics(loaded)
    monkeypatch.setattr(diagnostics, "DIAGNOSTIC_SLAB_BYTES", 1)  # one row at a time
    lazy = traces.open_trace(folder, dropped, draws=90)
    try:
        streamed = posterior_diagnostics(lazy)
        posterior = lazy["posterior"].to_dataset()
        assert not any(posterior[name].variable._in_memory for name in posterior.data_vars)
    finally:
        lazy.close()
    assert streamed == expected
    assert expected.draws == 2 * 90 and expected.worst_rhat and expected.worst_ess
    assert set(loaded["posterior"].data_vars) == {"mu", "sd", "grid", "shifted"}
    assert loaded["posterior"]["mu"].coords["item"].dtype == object
    whole = traces.read_trace(folder, dropped)
    assert whole["posterior"].sizes["draw"] == 120
    xr.testing.assert_identical(traces.first_draws(whole, 90)["posterior"].to_dataset(),
                                loaded["posterior"].to_dataset())


def test_a_run_on_disk_reads_its_draws_once_and_keeps_those_of_memory(model, tmp_path,
                                                                      monkeypatch):
    """Three checks that fail, then the draw limit: the store is opened at every check and
    read into memory once; the draws are those of the same run in memory."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    reads = []
    read_trace = traces.read_trace

    def counted(*args, **kwargs):
        reads.append(args)
        return read_trace(*args, **kwargs)

    monkeypatch.setattr(sampling, "read_trace", counted)

    def failing(tree: xr.DataTree) -> Diagnostics:
        assert not tree["posterior"]["grid"].variable._in_memory or storage == "memory"
        found = posterior_diagnostics(tree)
        return dataclasses.replace(found, max_rhat=found.max_rhat + 1.0)

    # At the highest target acceptance a divergence does not restart the run.
    config = SamplerConfig(draws=40, tune=100, chains=2, seed=7, max_draws=80,
                           target_accept=0.99)
    kept = {}
    for storage in ("disk", "memory"):
        tree, record = run(model[0], config, progress=False, compiled=model[1],
                           trace_storage=storage, check=failing)
        assert [c[0] for c in record.checks] == [40, 60, 80]
        kept[storage] = (tree, record)
    assert len(reads) == 1
    disk, memory = kept["disk"][0]["posterior"], kept["memory"][0]["posterior"]
    for name in memory.data_vars:
        np.testing.assert_array_equal(disk[name].to_numpy(), memory[name].to_numpy())
    assert [c[1:5] for c in kept["disk"][1].checks] == [c[1:5] for c in kept["memory"][1].checks]
    fixed = sample_model(model[0], compiled=model[1], draws=80, tune=100, chains=2, seed=7,
                         target_accept=0.99, progress=False)
    np.testing.assert_array_equal(disk["grid"].to_numpy(), fixed["posterior"]["grid"].to_numpy())
    assert not list(tmp_path.glob(f"{traces.TRACE_PREFIX}*"))


def test_stored_draws_of_a_folder_nutpie_has_not_written_yet_are_none(tmp_path):
    assert traces.stored_draws(str(tmp_path / "absent")) == 0
