"""Sampling: where nutpie keeps the draws (memory or a temporary zarr store on disk), and
the same draws for the same seed whatever the state of the compile caches."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pymc as pm
import pytest
import xarray as xr

from credibility.errors import FitError
from credibility.inference import sampling, traces
from credibility.inference.sampling import compile_nutpie, sample_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def funnel():
    """Neal's funnel with labelled dims: it diverges, so some chunks of ``diverging``
    hold a True and others only the fill value."""
    with pm.Model(coords={"item": ["a", "b", "c"]}) as model:
        log_scale = pm.Normal("log_scale", 0.0, 3.0)
        pm.Normal("x", 0.0, pm.math.exp(log_scale / 2), dims="item")
        pm.Deterministic("scale", pm.math.exp(log_scale))
        pm.HalfNormal("positive", shape=(2, 2))
    return model, compile_nutpie(model)


def _sample(funnel, storage):
    model, compiled = funnel
    return sample_model(model, compiled=compiled, draws=200, tune=100, chains=2, seed=5,
                        progress=False, target_accept=0.6, trace_storage=storage)


def test_disk_and_memory_storage_give_the_same_result(funnel, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    memory, disk = _sample(funnel, "memory"), _sample(funnel, "disk")
    assert disk["sample_stats"].attrs["trace_storage"] == "disk"
    assert "trace_storage" not in memory["sample_stats"].attrs
    posterior, read = memory["posterior"].to_dataset(), disk["posterior"].to_dataset()
    assert set(read.data_vars) == set(posterior.data_vars) == {"log_scale", "x", "scale",
                                                               "positive"}
    posterior.attrs = read.attrs  # ArviZ's creation stamps are not the draws
    xr.testing.assert_identical(read, posterior)
    assert read["x"].coords["item"].dtype == object
    stats, disk_stats = memory["sample_stats"], disk["sample_stats"]
    for name in ("diverging", "n_steps", "maxdepth_reached", "step_size", "energy"):
        np.testing.assert_array_equal(disk_stats[name].to_numpy(), stats[name].to_numpy())
    assert 0 < int(disk_stats["diverging"].sum()) < 400
    assert os.listdir(tmp_path) == []  # the temporary store is gone


def test_auto_storage_goes_to_disk_above_the_threshold(funnel, monkeypatch):
    compiled = funnel[1]
    per_draw = 8 * (1 + 3 + 1 + 4 + 4)  # every variable, and positive's log-transformed copy
    assert sampling._trace_bytes(compiled, 10) == 10 * per_draw
    monkeypatch.setattr(sampling, "DISK_TRACE_BYTES", 600 * per_draw - 1)
    assert _sample(funnel, "auto")["sample_stats"].attrs["trace_storage"] == "disk"
    monkeypatch.setattr(sampling, "DISK_TRACE_BYTES", 600 * per_draw)
    assert "trace_storage" not in _sample(funnel, "auto")["sample_stats"].attrs


def test_unknown_trace_storage_is_a_fit_error(funnel):
    with pytest.raises(FitError, match="unknown trace storage 'cloud'"):
        _sample(funnel, "cloud")


def test_progress_callback_hears_every_chain(funnel):
    model, compiled = funnel
    heard = []
    sample_model(model, compiled=compiled, draws=50, tune=50, chains=2, progress=False,
                 progress_callback=heard.append)
    assert heard and len(heard[-1]) == 2
    with pytest.raises(FitError, match="progress_callback needs the nutpie backend"):
        sample_model(model, backend="pymc", progress_callback=heard.append)


@pytest.mark.parametrize("backend", ["nutpie", "pymc"])
def test_max_treedepth_caps_every_trajectory(funnel, backend):
    """The funnel's trajectories run past 3 leapfrog steps; with ``max_treedepth=2`` none
    does, and the sampler says it hit the cap."""
    model, compiled = funnel
    kwargs = dict(backend=backend, draws=100, tune=100, chains=1, seed=2, progress=False,
                  compiled=compiled if backend == "nutpie" else None)
    free = sample_model(model, **kwargs)["sample_stats"]
    capped = sample_model(model, max_treedepth=2, **kwargs)["sample_stats"]
    hit = "maxdepth_reached" if backend == "nutpie" else "reached_max_treedepth"
    assert int(free["n_steps"].max()) > 3
    assert int(capped["n_steps"].max()) <= 3
    assert int(capped[hit].sum()) > 0


@pytest.mark.parametrize("bad", [0, 21, 2.5, True])
def test_a_bad_max_treedepth_is_a_fit_error(funnel, bad):
    with pytest.raises(FitError, match="max_treedepth must be an integer from 1 to 20"):
        sample_model(funnel[0], compiled=funnel[1], max_treedepth=bad, progress=False)


DRAWS_SCRIPT = """
import hashlib
import numpy as np
import pymc as pm
from credibility.inference.sampling import sample_model
y = np.random.default_rng(0).normal(1.0, 2.0, size=(8, 20))
with pm.Model() as model:
    mu = pm.Normal("mu", 0, 5)
    tau = pm.HalfNormal("tau", 2)
    z = pm.Normal("z", 0, 1, shape=8)
    theta = pm.Deterministic("theta", mu + tau * z)
    pm.StudentT("y", nu=5, mu=theta[:, None], sigma=pm.HalfNormal("sigma", 2), observed=y)
posterior = sample_model(model, draws=200, tune=200, chains=1, seed=1, progress=False)["posterior"]
digest = hashlib.sha256()
for name in sorted(posterior.data_vars):
    digest.update(np.ascontiguousarray(posterior[name].values).tobytes())
print(digest.hexdigest())
"""


def test_the_same_seed_gives_the_same_draws_with_an_empty_or_a_warm_compile_cache(tmp_path):
    """SYNTHETIC: one nutpie fit (through :func:`sample_model`, as every fit of the
    package) in a fresh process with PyTensor's compile cache empty, then again with
    the cache it left. With numba fast-math in PyTensor's code the two gave other
    draws from the ~10th decimal on (inlined in one, loaded in the other), which grew
    into other posteriors: the digests of this small hierarchical model (a sum of 160
    Student-t terms, 200 iterations) differed then, as did those of a measurement
    model of 6 commitments x 8 periods (a minute of compilation more)."""
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'pytensor'}"}
    digests = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", DRAWS_SCRIPT], env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        digests.append(done.stdout.strip().splitlines()[-1])
    assert (tmp_path / "pytensor" / "numba").is_dir()  # the second run had a warm cache
    assert digests[0] == digests[1]


def test_stale_trace_folders_of_dead_processes_are_removed(tmp_path):
    """A run killed outright leaves its trace folder; the next run on disk removes the
    folders whose process is gone and keeps those of running processes."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead = tmp_path / f"{traces.TRACE_PREFIX}{int(finished.stdout)}-abc"
    alive = tmp_path / f"{traces.TRACE_PREFIX}{os.getpid()}-def"
    unnamed = tmp_path / f"{traces.TRACE_PREFIX}xyz"
    for folder in (dead, alive, unnamed):
        (folder / "posterior").mkdir(parents=True)
    assert traces.remove_stale_traces(str(tmp_path)) == [str(dead)]
    assert not dead.exists() and alive.exists() and unnamed.exists()
