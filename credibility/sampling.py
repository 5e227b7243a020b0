"""Run NUTS on a built PyMC model with one of the supported backends.

One function, :func:`sample_model`, shared by the measurement fit and the
second stage of the deterrence predictor, so that both report the same sampler
statistics and honour the same settings.
"""

from __future__ import annotations

import importlib.util
import math
import os
import tempfile
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import numpy as np
import pymc as pm
import xarray as xr

from credibility.errors import FitError

if TYPE_CHECKING:
    from nutpie.compile_pymc import CompiledPyMCModel

Backend = Literal["nutpie", "pymc", "numpyro"]
BACKENDS: tuple[str, ...] = ("nutpie", "pymc", "numpyro")
#: Mass-matrix adaptations: diagonal, or nutpie's low-rank correction (helps when a few
#: directions -- e.g. a common level of all states -- are strongly correlated).
MASS_MATRICES: tuple[str, ...] = ("diag", "low_rank")
#: Inference methods: NUTS (the default; the posterior) or mean-field ADVI (a fast,
#: approximate posterior for exploration: it understates uncertainty; every result
#: of it is labelled APPROXIMATE, docs/performance.md gives its error against NUTS).
METHODS: tuple[str, ...] = ("nuts", "advi")
#: Longest NUTS trajectory by default: ``2**10 - 1`` leapfrog steps (every backend's own).
MAX_TREEDEPTH = 10
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


def check_backend(backend: str) -> None:
    """Raise :class:`FitError` unless ``backend`` is known and installed.

    Examples
    --------
    >>> check_backend("nutpie")
    >>> check_backend("stan")
    Traceback (most recent call last):
    ...
    credibility.errors.FitError: unknown backend 'stan'; expected one of nutpie, pymc, numpyro
    """
    if backend not in BACKENDS:
        raise FitError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend == "numpyro" and importlib.util.find_spec("numpyro") is None:
        raise FitError(
            "backend 'numpyro' needs the optional JAX extra: pip install 'credibility[jax]'"
        )


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
    cores = min(chains, os.cpu_count() or 1)
    try:
        if backend == "nutpie":
            return _sample_nutpie(model, draws=draws, tune=tune, chains=chains, cores=cores,
                                  seed=seed, target_accept=target_accept, progress=progress,
                                  adaptation=mass_matrix, compiled=compiled,
                                  trace_storage=trace_storage,
                                  progress_callback=progress_callback,
                                  max_treedepth=max_treedepth)
        nuts: dict = {"target_accept": target_accept}
        if backend == "numpyro":
            nuts["chain_method"] = jax_chain_method()
            nuts["max_tree_depth"] = max_treedepth
        else:
            nuts["max_treedepth"] = max_treedepth
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


def check_max_treedepth(max_treedepth: int) -> None:
    """Raise :class:`FitError` unless ``max_treedepth`` is an integer from 1 to 20.

    Examples
    --------
    >>> check_max_treedepth(5)
    >>> check_max_treedepth(0)
    Traceback (most recent call last):
    ...
    credibility.errors.FitError: max_treedepth must be an integer from 1 to 20, not 0
    """
    if isinstance(max_treedepth, bool) or not isinstance(max_treedepth, int) or not (
            1 <= max_treedepth <= 20):
        raise FitError(f"max_treedepth must be an integer from 1 to 20, not {max_treedepth!r}")


def jax_chain_method() -> str:
    """How the numpyro backend runs its chains on JAX's default device.

    On a GPU (or other accelerator) all chains run as one vectorised program on
    the one device (``"vectorized"``); on the CPU each chain gets its own host
    device (``"parallel"``; PyMC makes JAX expose several).

    Examples
    --------
    >>> jax_chain_method() in ("parallel", "vectorized")
    True
    """
    # PyMC's JAX module asks JAX for several host devices (XLA_FLAGS); it must be
    # imported before JAX first picks its devices, or CPU chains run one by one.
    import jax
    import pymc.sampling.jax  # noqa: F401

    return "parallel" if jax.default_backend() == "cpu" else "vectorized"


def one_hot_gathers(backend: str) -> bool:
    """Whether a model sampled by ``backend`` should gather its per-signal parameters by
    one-hot products (``build_measurement_model(one_hot=...)``).

    True for the numpyro backend on an accelerator, where the scatter-adds of
    indexing's gradient are slow (docs/performance.md, "numpyro on a GPU"); on the
    CPU indexing is faster.

    Examples
    --------
    >>> one_hot_gathers("nutpie")
    False
    """
    return backend == "numpyro" and jax_chain_method() == "vectorized"


def fused_likelihood(backend: str) -> bool:
    """Whether a model sampled by ``backend`` should compute its likelihood with the fused
    kernels of :mod:`credibility.kernels` (``build_measurement_model(fused=...)``).

    True for nutpie (numba) and PyMC's own samplers; the numpyro backend compiles the
    model with JAX, for which the kernels have no implementation.

    Examples
    --------
    >>> fused_likelihood("nutpie"), fused_likelihood("numpyro")
    (True, False)
    """
    return backend in ("nutpie", "pymc")


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
        with tempfile.TemporaryDirectory(prefix="credibility-trace-") as folder:
            nutpie.sample(compiled, zarr_store=nutpie.zarr_store.LocalStore(folder), **settings)
            return _read_nutpie_zarr(folder, dropped=compiled.reparameterized_names)


def _trace_bytes(compiled: CompiledPyMCModel, iterations: int) -> int:
    """Bytes of ``iterations`` draws (all chains, warm-up included) of every variable
    nutpie stores for ``compiled`` (free variables, their unconstrained forms and the
    deterministics, as float64)."""
    shapes = compiled.shape_info[2]
    return int(8 * iterations * sum(math.prod(shape) for shape in shapes))


def _read_nutpie_zarr(folder: str, dropped: list[str] | tuple[str, ...] = ()) -> xr.DataTree:
    """The posterior and the per-draw sampler statistics of a nutpie zarr trace, in memory.

    Shaped like nutpie's in-memory result: integer coordinates on unlabelled dimensions
    (``chain`` and ``draw`` among them), text coordinates as Python strings, without
    the unconstrained copies of the variables (``dropped``: the compiled model's
    ``reparameterized_names``) and without the per-draw vectors nutpie stores only on
    request (gradients, mass matrices, divergence details), which a zarr trace lists
    but leaves empty. The warm-up is not read.
    """
    import nutpie

    lazy = xr.open_datatree(folder, engine="zarr", consolidated=False)
    try:
        posterior = lazy["posterior"].to_dataset()
        posterior = xr.Dataset({name: posterior[name] for name in posterior.data_vars
                                if name not in dropped})
        stats = lazy["sample_stats"].to_dataset()
        stats = xr.Dataset({name: stats[name] for name in stats.data_vars
                            if stats[name].dims == ("chain", "draw")})
        groups = {"posterior": posterior.load(), "sample_stats": stats.load()}
    finally:
        lazy.close()
    for name, group in groups.items():
        text = {c: group[c].astype(object) for c in group.coords if group[c].dtype.kind == "T"}
        # Dimensions without labels get 0, 1, ... as ArviZ gives them (chain, draw too).
        bare = {d: np.arange(n) for d, n in group.sizes.items() if d not in group.coords}
        group = group.assign_coords(text).assign_coords(bare)
        group.attrs = {"sample_dims": ["chain", "draw"]}
        groups[name] = group
    groups["sample_stats"].attrs.update({"inference_library": "nutpie",
                                         "inference_library_version": nutpie.__version__,
                                         "trace_storage": "disk"})
    return xr.DataTree.from_dict(groups)


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
