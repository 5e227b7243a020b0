"""Run NUTS on a built PyMC model with one of the supported backends.

Every place that samples (the measurement fit, the two-stage outcome model, updates,
scenario refits, SBC, the benchmarks) goes through :func:`run` with one frozen
:class:`SamplerConfig`, which a fit stores and an update reuses. By default a run
continues until its posterior passes its diagnostics, within a draw limit and an
optional time budget (``until_reliable``; docs/decisions.md, decision 30).
:func:`sample_model` is the fixed-length sampler underneath. The config and the run
record live in :mod:`credibility.inference.config` and are re-exported here; nutpie's
trace on disk in :mod:`credibility.inference.traces`.
"""

from __future__ import annotations

import math
import os
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import replace as _replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pymc as pm
import xarray as xr

from credibility.errors import FitError
from credibility.inference.config import (  # noqa: F401 - re-exported: the sampling API
    BACKENDS,
    DRAW_LIMIT_FACTOR,
    MASS_MATRICES,
    MAX_TREEDEPTH,
    METHODS,
    STOPS,
    Backend,
    RunRecord,
    SamplerConfig,
    check_backend,
    check_max_treedepth,
    fused_likelihood,
    jax_chain_method,
    one_hot_gathers,
)
from credibility.inference.diagnostics import Diagnostics, compute_diagnostics
from credibility.inference.traces import (
    checkpoint_draws,
    read_trace,
    stored_draws,
    trace_folder,
)

if TYPE_CHECKING:
    from nutpie.compile_pymc import CompiledPyMCModel

#: Default number of ADVI optimisation steps.
ADVI_ITERATIONS = 20_000
#: Where nutpie keeps the draws while it samples: in memory, in a temporary zarr store
#: on disk, or ``"auto"``: on disk when they would take more than :data:`DISK_TRACE_BYTES`.
TRACE_STORAGES: tuple[str, ...] = ("auto", "memory", "disk")
#: In memory nutpie holds every draw of every stored variable, warm-up included, and
#: converting them to xarray allocated the warm-up's and the posterior's arrays again:
#: a peak of about twice these bytes (13.1 GiB at size L; decision 22). Above this
#: many bytes of draws (warm-up included) they go to disk and only the posterior is
#: read back (5.6 GiB at L), for about 7 % more sampling time (measured at size M).
#: 4 x (1,000 + 1,000) draws of size M (1.9 GiB) stay in memory, those of L (6.2) not.
DISK_TRACE_BYTES = 2 * 2**30
#: Target acceptance rates an until-reliable run restarts with, in turn, when its
#: chains diverge (those above the config's own): divergent transitions mean the
#: sampler missed part of the posterior, which more draws at the same step size do
#: not mend, and a smaller step usually does (docs/decisions.md 32).
DIVERGENCE_TARGETS: tuple[float, ...] = (0.95, 0.99)


#: ``check(tree) -> Diagnostics``: the diagnostics a run must pass to stop early.
Check = Callable[[xr.DataTree], Diagnostics]
#: ``on_check(draws per chain, diagnostics, next)``: called after each check, with what
#: the run does next: ``"sample on"``, ``"restart"`` (at a higher target acceptance,
#: for divergences), ``"switch"`` (given up for other coordinates) or ``"stop"``.
OnCheck = Callable[[int, Diagnostics, str], None]
#: ``switch(tree, diagnostics)``: asked at a run's first check when it fails; ``True``
#: gives the run up there (``stopped_by == "new coordinates"``), for the caller to
#: sample the model in other coordinates.
Switch = Callable[[xr.DataTree, Diagnostics], bool]


def posterior_diagnostics(tree: xr.DataTree) -> Diagnostics:
    """Diagnostics of every variable of ``tree``'s posterior (the default check of :func:`run`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> tree = xr.DataTree.from_dict({
    ...     "posterior": xr.Dataset({"mu": (("chain", "draw"), rng.normal(size=(2, 300)))}),
    ...     "sample_stats": xr.Dataset({"diverging": (("chain", "draw"),
    ...                                               np.zeros((2, 300), bool))})})
    >>> posterior_diagnostics(tree).ok
    True
    """
    return compute_diagnostics(tree["posterior"].to_dataset(),
                               tree["sample_stats"].to_dataset(), sampling_seconds=0.0)


def run(
    model: pm.Model,
    config: SamplerConfig,
    *,
    progress: bool = True,
    compiled: CompiledPyMCModel | None = None,
    trace_storage: str = "auto",
    progress_callback: Callable[[list], None] | None = None,
    check: Check | None = None,
    on_check: OnCheck | None = None,
    switch: Switch | None = None,
) -> tuple[xr.DataTree, RunRecord]:
    """Sample ``model`` as ``config`` says; returns the draws and a :class:`RunRecord`.

    ``check`` computes the diagnostics an until-reliable run must pass to stop
    (default :func:`posterior_diagnostics`, every posterior variable); ``on_check``
    hears each result (the CLI's status line); ``switch`` may give the run up at its
    first check (:data:`Switch`). With nutpie the chains run on while
    they are checked, and the run stops at the first checkpoint that passes; other
    backends sample again from the start with the checkpoint's number of draws (same
    seed, so their first draws repeat). The other arguments are
    :func:`sample_model`'s.

    Examples
    --------
    >>> with pm.Model() as model:
    ...     mu = pm.Normal("mu")
    >>> tree, record = run(model, SamplerConfig(draws=300, tune=300, chains=2),
    ...                    progress=False)
    >>> record.stopped_by, tree["posterior"]["mu"].sizes["draw"] == record.draws
    ('reliable', True)
    """
    check = check or posterior_diagnostics
    started = time.perf_counter()
    if not config.extends:
        tree = sample_model(model, draws=config.draws, compiled=compiled,
                            **_sample_options(config, progress, trace_storage,
                                              progress_callback))
        return tree, RunRecord(config.draws, "fixed length",
                               seconds=time.perf_counter() - started)
    if config.backend == "nutpie" and compiled is None:
        compiled = compile_nutpie(model)  # once for every restart
    targets = [config.target_accept, *(t for t in DIVERGENCE_TARGETS if t > config.target_accept)]
    checks: list[tuple[int, float, float, float, int, float]] = []
    restarts: list[tuple[float, int, int]] = []
    for i, target in enumerate(targets):
        attempt = _replace(config, target_accept=target)
        spent = time.perf_counter() - started
        # A restart is tried only while it has time left in the budget.
        retry = i < len(targets) - 1 and (config.budget_seconds is None
                                          or spent < config.budget_seconds / 2)
        if config.backend == "nutpie":
            tree, record = _run_nutpie(model, attempt, compiled=compiled, progress=progress,
                                       trace_storage=trace_storage,
                                       progress_callback=progress_callback, check=check,
                                       on_check=on_check, spent=spent, retry=retry,
                                       switch=switch)
        else:
            tree, record = _run_checkpoints(model, attempt, progress, trace_storage,
                                            progress_callback, check, on_check,
                                            spent=spent, retry=retry, switch=switch)
        checks.extend(record.checks)
        if record.stopped_by != "divergences":
            return tree, _replace(record, checks=tuple(checks), restarts=tuple(restarts),
                                  target_accept=target,
                                  seconds=time.perf_counter() - started)
        restarts.append((target, record.draws, record.checks[-1][4]))
    raise AssertionError("unreachable")  # pragma: no cover


def _sample_options(config: SamplerConfig, progress: bool, trace_storage: str,
                    progress_callback: Callable[[list], None] | None) -> dict[str, Any]:
    """:func:`sample_model`'s arguments from ``config`` (all but ``draws``)."""
    return {"backend": config.backend, "tune": config.tune, "chains": config.chains,
            "seed": config.seed, "target_accept": config.target_accept,
            "progress": progress, "mass_matrix": config.mass_matrix,
            "method": config.method, "advi_iterations": config.advi_iterations,
            "trace_storage": trace_storage, "progress_callback": progress_callback,
            "max_treedepth": config.max_treedepth}


def _stop(diagnostics: Diagnostics, *, last: bool, out_of_time: bool, retry: bool,
          switch: bool = False) -> str | None:
    """Why a run stops at a check (``None``: it goes on). ``"divergences"`` (only with
    ``retry``) gives the run up, to be restarted at a higher target acceptance;
    ``switch`` (the caller's :data:`Switch` said so) gives it up for other coordinates."""
    if out_of_time:
        return "time budget"
    if switch:
        return "new coordinates"
    if retry and diagnostics.divergences > 0:
        return "divergences"
    if diagnostics.ok:
        return "reliable"
    return "draw limit" if last else None


def _switching(switch: Switch | None, check: int, tree: xr.DataTree, diagnostics: Diagnostics,
               config: SamplerConfig, elapsed: float) -> bool:
    """Whether ``switch`` gives a run up at its ``check``-th check: only the first, when
    it fails and less than half of the time budget (if any) is spent."""
    return (switch is not None and check == 0 and not diagnostics.ok
            and (config.budget_seconds is None or elapsed < config.budget_seconds / 2)
            and switch(tree, diagnostics))


def _next_step(stop: str | None) -> str:
    """What a run does after a check that gave ``stop`` (:data:`OnCheck`'s third argument)."""
    return ("sample on" if stop is None else "restart" if stop == "divergences"
            else "switch" if stop == "new coordinates" else "stop")


def _run_checkpoints(
    model: pm.Model, config: SamplerConfig, progress: bool, trace_storage: str,
    progress_callback: Callable[[list], None] | None, check: Check,
    on_check: OnCheck | None, *, spent: float, retry: bool, switch: Switch | None = None,
) -> tuple[xr.DataTree, RunRecord]:
    """Until reliable with a backend that cannot pause: each checkpoint samples again
    from the start (same seed, so the first draws repeat). ``spent``: seconds of the
    run before this one (restarts), counted in the checks' times and the budget."""
    options = _sample_options(config, progress, trace_storage, progress_callback)
    started = time.perf_counter() - spent
    checks: list[tuple[int, float, float, float, int, float]] = []
    points = config.checkpoints()
    for i, draws in enumerate(points):
        tree = sample_model(model, draws=draws, **options)
        elapsed = time.perf_counter() - started
        diagnostics = check(tree)
        checks.append(_check_row(draws, diagnostics, elapsed))
        out_of_time = config.budget_seconds is not None and elapsed > config.budget_seconds
        stop = _stop(diagnostics, last=i == len(points) - 1, out_of_time=out_of_time,
                     retry=retry,
                     switch=_switching(switch, i, tree, diagnostics, config, elapsed))
        if on_check is not None:
            on_check(draws, diagnostics, _next_step(stop))
        if stop is not None:
            return tree, RunRecord(draws, stop, tuple(checks), elapsed)
    raise AssertionError("unreachable")  # pragma: no cover


def _check_row(draws: int, d: Diagnostics, seconds: float
               ) -> tuple[int, float, float, float, int, float]:
    return (int(draws), float(d.max_rhat), float(d.min_ess_bulk), float(d.min_ess_tail),
            int(d.divergences), float(seconds))


def _finished(sampler: Any) -> bool:
    """Whether a background nutpie sampler is done (it raises ``TimeoutError`` when
    asked while its chains hold their lock: then it is not)."""
    try:
        return bool(sampler.is_finished)
    except TimeoutError:
        return False


def _run_nutpie(
    model: pm.Model, config: SamplerConfig, *, compiled: CompiledPyMCModel | None,
    progress: bool, trace_storage: str, progress_callback: Callable[[list], None] | None,
    check: Check, on_check: OnCheck | None, spent: float = 0.0, retry: bool = False,
    switch: Switch | None = None,
) -> tuple[xr.DataTree, RunRecord]:
    """Until reliable with nutpie: one run of up to ``draw_limit`` draws per chain,
    paused at each checkpoint that every chain has reached, stopped at the first that
    passes (or, with ``retry``, the first with a divergence). ``spent``: seconds of
    the run before this one (restarts), counted in the checks' times and the budget."""
    import nutpie
    from threadpoolctl import threadpool_limits

    if trace_storage not in TRACE_STORAGES:
        raise FitError(f"unknown trace storage {trace_storage!r}; expected one of "
                       f"{', '.join(TRACE_STORAGES)}")
    if compiled is None:
        compiled = compile_nutpie(model)
    progressed = _ChainProgress(config, progress_callback)
    nbytes = _trace_bytes(compiled, config.chains * (config.draw_limit + config.tune))
    on_disk = trace_storage == "disk" or (trace_storage == "auto" and nbytes > DISK_TRACE_BYTES)
    trace = trace_folder() if on_disk else None
    folder = None if trace is None else trace.name
    settings = _nutpie_settings(config, progress, progressed, folder)
    checks: list[tuple[int, float, float, float, int, float]] = []
    started = time.perf_counter() - spent
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            try:
                sampler = nutpie.sample(compiled, **settings)
            except (ValueError, RuntimeError, OSError) as exc:
                raise FitError(f"sampling with backend 'nutpie' failed: {exc}") from exc
            points = config.checkpoints()
            for i, target in enumerate(points):
                # The budget is checked from the second checkpoint on: a run keeps at
                # least its ``draws``.
                deadline = (started + config.budget_seconds
                            if config.budget_seconds is not None and i > 0 else None)
                out_of_time = _wait_for_checkpoint(sampler, progressed, target, folder, deadline)
                finished = _finished(sampler)
                if not finished:
                    sampler.pause()
                tree, draws = checkpoint_draws(sampler, folder, compiled.reparameterized_names,
                                               target, out_of_time)
                try:
                    diagnostics = check(tree)
                    checks.append(_check_row(draws, diagnostics,
                                             time.perf_counter() - started))
                    stop = _stop(diagnostics, last=i == len(points) - 1,
                                 out_of_time=out_of_time, retry=retry,
                                 switch=_switching(switch, i, tree, diagnostics, config,
                                                   time.perf_counter() - started))
                    if on_check is not None:
                        on_check(draws, diagnostics, _next_step(stop))
                    if stop is not None:
                        kept = tree if folder is None else read_trace(
                            folder, compiled.reparameterized_names, draws)
                        if not finished:
                            sampler.cancel()
                        return kept, RunRecord(draws, stop, tuple(checks),
                                               time.perf_counter() - started)
                finally:
                    tree.close()
                sampler.resume()
    finally:
        if trace is not None:
            trace.cleanup()
    raise AssertionError("unreachable")  # pragma: no cover


class _ChainProgress:
    """Each chain's draws after tuning, as nutpie's progress callback (:meth:`observe`,
    from its thread) reports them; passes them on to ``callback``."""

    def __init__(self, config: SamplerConfig, callback: Callable[[list], None] | None) -> None:
        self.tune = config.tune
        self.done = [0] * config.chains
        self.callback = callback
        self.lock = threading.Lock()

    def observe(self, chains: list) -> None:
        """Record the draws of ``chains`` (one ``nutpie.ChainProgress`` each)."""
        with self.lock:
            for i, chain in enumerate(chains[:len(self.done)]):
                self.done[i] = 0 if chain.tuning else max(chain.finished_draws - self.tune, 0)
        if self.callback is not None:
            self.callback(chains)

    def reached(self, target: int) -> bool:
        """Whether every chain has ``target`` draws."""
        with self.lock:
            return min(self.done) >= target


def _nutpie_settings(config: SamplerConfig, progress: bool, progressed: _ChainProgress,
                     folder: str | None) -> dict[str, Any]:
    """``nutpie.sample``'s arguments for an until-reliable run (draws in ``folder`` or memory)."""
    import nutpie

    # Every chain at once, even on fewer cores: nutpie runs ``cores`` chains to their end
    # before it starts the next, and a checkpoint needs every chain, so with 4 chains on
    # 2 cores the first two ran to the draw limit before the others began (decision 64).
    settings = dict(draws=config.draw_limit, tune=config.tune, chains=config.chains,
                    cores=config.chains, seed=config.seed,
                    save_warmup=False, progress_bar=progress,
                    target_accept=config.target_accept, adaptation=config.mass_matrix,
                    progress_callback=progressed.observe, progress_rate=200,
                    maxdepth=config.max_treedepth, blocking=False)
    if folder is not None:
        settings["zarr_store"] = nutpie.zarr_store.LocalStore(folder)
    return settings


def _wait_for_checkpoint(sampler: Any, progressed: _ChainProgress, target: int,
                         folder: str | None, deadline: float | None) -> bool:
    """Wait until every chain has ``target`` draws (or the sampler has finished); ``True``
    when the ``deadline`` (``time.perf_counter()``; ``None``: none) passed first."""
    while True:
        if deadline is not None and time.perf_counter() > deadline:
            return True
        reached = progressed.reached(target)
        # On disk, nutpie writes each chain's draws in chunks: the last few
        # before a checkpoint reach the store only when their chunk is full.
        if reached and (folder is None or stored_draws(folder) >= target):
            return False
        if _finished(sampler):
            return False
        time.sleep(0.2 if reached else 0.05)


def sample_model(
    model: pm.Model,
    *,
    backend: Backend = "nutpie",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    target_accept: float = 0.9,
    progress: bool = True,
    mass_matrix: str = "diag",
    method: str = "nuts",
    advi_iterations: int | None = None,
    compiled: CompiledPyMCModel | None = None,
    trace_storage: str = "auto",
    progress_callback: Callable[[list], None] | None = None,
    max_treedepth: int = MAX_TREEDEPTH,
) -> xr.DataTree:
    """Sample ``model`` with NUTS; returns the DataTree with ``posterior`` and ``sample_stats``.

    Chains run in parallel on up to ``os.cpu_count()`` cores. ``mass_matrix``
    (:data:`MASS_MATRICES`) other than ``"diag"`` needs the nutpie backend.
    ``method="advi"`` fits mean-field ADVI for ``advi_iterations`` steps (default
    :data:`ADVI_ITERATIONS`) instead and
    draws ``chains x draws`` independent draws from it (``backend`` is then unused);
    the posterior's attributes record ``method`` and the ELBO trace summary.
    ``compiled`` is ``model`` as :func:`compile_nutpie` returned it (or a
    ``with_data`` copy of that), sampled instead of compiling again (nutpie only).
    ``trace_storage`` (:data:`TRACE_STORAGES`, nutpie only) says where the draws are
    kept while sampling: ``"disk"`` is a zarr store in the temporary folder (``TMPDIR``;
    it holds the warm-up's draws beside the posterior's and is deleted afterwards).
    The result is the same either way (the same draws for the same seed), in memory.
    ``progress_callback`` (nutpie only) is called about once a second from a
    background thread with one ``nutpie.ChainProgress`` per chain (draws done,
    whether it is still tuning, leapfrog steps, run time).
    ``max_treedepth`` caps each NUTS trajectory at ``2**max_treedepth - 1`` leapfrog
    steps (every backend's default: 10). A lower cap still samples the posterior, but
    its draws are more autocorrelated: at size L a cap of 5 halved the sampling time
    and cut the smallest ESS 6.5x (decision 25), so it is for experiments, not speed.
    Sampler failures are raised as :class:`FitError`.

    Examples
    --------
    >>> with pm.Model() as model:
    ...     mu = pm.Normal("mu")
    >>> tree = sample_model(model, backend="pymc", draws=20, tune=20, chains=1, progress=False)
    >>> tree["posterior"]["mu"].shape
    (1, 20)
    """
    check_backend(backend)
    if method not in METHODS:
        raise FitError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if method == "advi":
        return _fit_advi(model, draws=draws, chains=chains, seed=seed, progress=progress,
                         iterations=advi_iterations or ADVI_ITERATIONS)
    _check_nuts_arguments(backend, mass_matrix, compiled, progress_callback, trace_storage,
                          max_treedepth)
    cores = min(chains, os.cpu_count() or 1)
    try:
        if backend == "nutpie":
            return _sample_nutpie(model, draws=draws, tune=tune, chains=chains, cores=cores,
                                  seed=seed, target_accept=target_accept, progress=progress,
                                  adaptation=mass_matrix, compiled=compiled,
                                  trace_storage=trace_storage,
                                  progress_callback=progress_callback,
                                  max_treedepth=max_treedepth)
        nuts = _nuts_options(backend, target_accept, max_treedepth)
        with model, warnings.catch_warnings():
            # Our Diagnostics report convergence; PyMC's summary would repeat it.
            warnings.filterwarnings("ignore", message=".*(rhat|R-hat|effective sample).*")
            return pm.sample(
                draws=draws, tune=tune, chains=chains, cores=cores, random_seed=seed,
                nuts_sampler=backend, progressbar=progress,
                compute_convergence_checks=False, nuts=nuts,
            )
    except (ValueError, RuntimeError, OSError) as exc:
        # OSError: a trace kept on disk (trace_storage) that the disk could not hold.
        raise FitError(f"sampling with backend {backend!r} failed: {exc}") from exc


def _check_nuts_arguments(backend: Backend, mass_matrix: str, compiled: Any,
                          progress_callback: Any, trace_storage: str, max_treedepth: int) -> None:
    """Refuse :func:`sample_model`'s NUTS options that ``backend`` cannot take."""
    if mass_matrix not in MASS_MATRICES:
        raise FitError(f"unknown mass matrix {mass_matrix!r}; expected one of "
                       f"{', '.join(MASS_MATRICES)}")
    if mass_matrix != "diag" and backend != "nutpie":
        raise FitError(f"mass_matrix={mass_matrix!r} needs the nutpie backend")
    if compiled is not None and backend != "nutpie":
        raise FitError(f"a compiled model can only be sampled by nutpie, not {backend!r}")
    if progress_callback is not None and backend != "nutpie":
        raise FitError(f"progress_callback needs the nutpie backend, not {backend!r}")
    if trace_storage not in TRACE_STORAGES:
        raise FitError(f"unknown trace storage {trace_storage!r}; expected one of "
                       f"{', '.join(TRACE_STORAGES)}")
    check_max_treedepth(max_treedepth)


def _nuts_options(backend: Backend, target_accept: float, max_treedepth: int) -> dict:
    """``pm.sample``'s ``nuts`` options: numpyro names the tree depth its own way."""
    if backend == "numpyro":
        return {"target_accept": target_accept, "chain_method": jax_chain_method(),
                "max_tree_depth": max_treedepth}
    return {"target_accept": target_accept, "max_treedepth": max_treedepth}


def compile_nutpie(model: pm.Model) -> CompiledPyMCModel:
    """The model compiled by nutpie with numba (what the nutpie backend samples).

    Exposed so that benchmarks can time compilation apart from sampling.

    PyTensor's numba code is compiled without fast-math (decision 27): with it, the
    same seed gave other draws when PyTensor's compile cache was empty than when it
    was warm, because a function compiled in this process can be inlined into nutpie's
    entry point and re-associated there, while one loaded from the cache cannot.
    Strict IEEE arithmetic gives the same numbers either way (about 9 % more time per
    gradient on the demo model); the fused kernels keep their own flags, which do not
    re-associate.

    Examples
    --------
    >>> with pm.Model() as model:
    ...     x = pm.Normal("x", shape=3)
    >>> int(compile_nutpie(model).n_dim)
    3
    """
    import nutpie
    import pytensor

    with pytensor.config.change_flags(numba__fastmath=False):
        return nutpie.compile_pymc_model(model, backend="numba")


def _sample_nutpie(
    model: pm.Model, *, draws: int, tune: int, chains: int, cores: int, seed: int,
    target_accept: float, progress: bool, adaptation: str = "diag",
    compiled: CompiledPyMCModel | None = None, trace_storage: str = "auto",
    progress_callback: Callable[[list], None] | None = None,
    max_treedepth: int = MAX_TREEDEPTH,
) -> xr.DataTree:
    """Compile with numba and sample with nutpie directly.

    ``pm.sample(nuts_sampler="nutpie")`` reports progress through a Python callback
    on every draw; on the demo that held the GIL and serialised the chains (one core
    busy of two; about 5x slower than calling nutpie itself).
    """
    import nutpie
    from threadpoolctl import threadpool_limits

    if compiled is None:
        compiled = compile_nutpie(model)
    settings = dict(draws=draws, tune=tune, chains=chains, cores=cores, seed=seed,
                    save_warmup=False, progress_bar=progress, target_accept=target_accept,
                    adaptation=adaptation, progress_callback=progress_callback,
                    progress_rate=1000, maxdepth=max_treedepth)
    nbytes = _trace_bytes(compiled, chains * (draws + tune))
    on_disk = trace_storage == "disk" or (trace_storage == "auto" and nbytes > DISK_TRACE_BYTES)
    # One BLAS thread per chain: nutpie runs the chains in parallel threads already,
    # and OpenBLAS's own threads on top of them (the matrix products of the dynamic
    # paths) oversubscribe the cores: 2.3x slower at size M on 2 cores (decision 17).
    with threadpool_limits(limits=1, user_api="blas"):
        if not on_disk:
            return nutpie.sample(compiled, **settings)
        with trace_folder() as folder:
            nutpie.sample(compiled, zarr_store=nutpie.zarr_store.LocalStore(folder), **settings)
            return read_trace(folder, dropped=compiled.reparameterized_names)


def _trace_bytes(compiled: CompiledPyMCModel, iterations: int) -> int:
    """Bytes of ``iterations`` draws (all chains, warm-up included) of every variable
    nutpie stores for ``compiled`` (free variables, their unconstrained forms and the
    deterministics, as float64)."""
    shapes = compiled.shape_info[2]
    return int(8 * iterations * sum(math.prod(shape) for shape in shapes))


def _fit_advi(
    model: pm.Model, *, draws: int, chains: int, seed: int, progress: bool, iterations: int
) -> xr.DataTree:
    """Mean-field ADVI, then ``chains x draws`` draws shaped like a NUTS result.

    The draws are independent, so R-hat and ESS computed on them describe only
    the Monte Carlo error of the draws, not the approximation's error. The
    posterior's attributes hold ``method="advi"``, the number of steps and the
    relative change of the mean loss over the last 10 % of them (``advi_drift``;
    above 0.01 the optimisation had not settled).
    """
    if iterations < 100:
        raise FitError(f"advi_iterations must be at least 100, got {iterations!r}")
    try:
        with model:
            approx = pm.fit(n=iterations, method="advi", random_seed=seed, progressbar=progress)
            tree = approx.sample(draws * chains, random_seed=seed)
    except (ValueError, RuntimeError, FloatingPointError) as exc:
        raise FitError(f"ADVI failed: {exc}") from exc
    loss = np.asarray(approx.hist, dtype=float)
    tail = max(len(loss) // 10, 1)
    last, before = loss[-tail:].mean(), loss[-2 * tail:-tail].mean()
    drift = float(abs(before - last) / max(abs(last), 1.0))
    posterior = tree["posterior"].to_dataset()
    reshaped = posterior.isel(chain=0, drop=True).rename(draw="sample")
    reshaped = reshaped.assign_coords(
        chain=("sample", np.repeat(np.arange(chains), draws)),
        draw=("sample", np.tile(np.arange(draws), chains)),
    ).set_index(sample=("chain", "draw")).unstack("sample")
    reshaped = reshaped.transpose("chain", "draw", ...)
    reshaped.attrs.update({"method": "advi", "advi_iterations": iterations,
                           "advi_final_loss": float(last), "advi_drift": drift})
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((chains, draws), bool))},
                       coords={"chain": np.arange(chains), "draw": np.arange(draws)})
    return xr.DataTree.from_dict({"posterior": reshaped, "sample_stats": stats})
