"""One simulation of a validation run: parameters from the priors, data, fits, ranks.

Every simulation of a run shares one *design* (:class:`_Design`), drawn once from the run's seed;
a worker compiles the model once per design and swaps each simulation's data in.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from credibility import predictor
from credibility.data.datasets import load_dataset
from credibility.errors import FitError, PredictionError
from credibility.inference.sampling import (
    Check,
    SamplerConfig,
    compile_nutpie,
    fused_likelihood,
    run,
)
from credibility.kernels import DATA_PREFIX
from credibility.measurement import build_measurement_model
from credibility.model.index import build_index
from credibility.model.parameters import signal_priors
from credibility.results.fitting import label_posterior, measurement_check
from credibility.simulate import Simulation, simulate, simulate_cases, synthetic_commitments
from credibility.validation.ranks import (
    COVERAGE_LEVELS,
    LATENT_GROUPS,
    rank_statistics,
)
from credibility.validation.settings import (
    SBCSettings,
    ValidationError,
    _spec_record,
    simulation_seed,
)

__all__ = ["run_simulation"]

#: Ranked scalar parameters and their group.
_SCALARS = {"persistence_alliance": "dynamics", "persistence_commitment": "dynamics",
            "step_alliance": "dynamics", "step_commitment": "dynamics",
            "sd_alliance_mean": "scale", "sd_alliance_dynamics": "scale", "latent_sd": "scale"}
#: Ranked vector parameters: variable -> group (one quantity per element).
_VECTORS = {"loading": "loading", "intercept": "intercept", "noise": "noise",
            "residual_persistence": "noise",
            "type_effect": "group effect", "region_effect": "group effect"}
#: Ranked matrix parameters of several dimensions (the entries above the diagonal).
_MATRICES = {"dimension_correlation": "correlation"}


@dataclass(frozen=True)
class _Design:
    """What every simulation of a run shares (drawn once from the run's seed)."""

    commitments: pd.DataFrame
    last_period: int
    keep: np.ndarray
    cases: pd.DataFrame | None
    cells: tuple[tuple[str, int], ...]
    alliance_cells: tuple[tuple[str, int], ...]
    regions: tuple[str, ...]


def _structure(settings: SBCSettings) -> tuple[pd.DataFrame, int | None]:
    if settings.structure is None:
        last = settings.first_period + settings.periods - 1
        table = synthetic_commitments(settings.commitments, settings.alliances,
                                      (settings.first_period, last), seed=settings.seed)
        return table, last
    path = Path(settings.structure)
    if path.suffix == ".csv":
        if not path.is_file():
            raise ValidationError(f"{path}: no such commitments table")
        return pd.read_csv(path, dtype={"end": "string"}), None
    data = load_dataset(settings.structure)
    table = data.commitments.drop(columns="ongoing")
    table["end"] = np.where(data.commitments["ongoing"], "", table["end"].astype(str))
    return table, int(data.last_period)


@functools.lru_cache(maxsize=8)
def _design(settings: SBCSettings) -> _Design:
    commitments, last = _structure(settings)
    # One simulation at the run's seed fixes the layout of rows, cells and cases;
    # row order does not depend on the drawn values.
    layout = simulate(settings.spec, commitments, seed=settings.seed, missing=0.0,
                      last_period=last)
    rng = np.random.default_rng([settings.seed, 7])
    keep = rng.uniform(size=len(layout.data.signals)) >= settings.missing
    # Cells (and so the ranked sample) are the same in every dimension.
    truth = layout.truth.isel(dimension=0) if "dimension" in layout.truth.dims else layout.truth
    active = truth["credibility"].to_series().dropna().index.to_list()
    alliance_active = truth["alliance_level"].to_series().dropna().index.to_list()
    cells = [active[i] for i in np.sort(rng.choice(len(active), min(settings.latent_sample,
                                                                     len(active)), False))]
    alliance_cells = [alliance_active[i] for i in np.sort(rng.choice(
        len(alliance_active), min(settings.alliance_sample, len(alliance_active)), False))]
    cases = None
    if settings.cases:
        pick = rng.choice(len(active), settings.cases, replace=settings.cases > len(active))
        cases = pd.DataFrame({
            "case_id": [f"SIM{k + 1:04d}" for k in range(settings.cases)],
            "commitment_id": [str(active[i][0]) for i in pick],
            "period": np.array([active[i][1] for i in pick], dtype=np.int64),
            **{name: rng.normal(size=settings.cases) for name in settings.spec.covariates},
        })
    return _Design(commitments=commitments, last_period=int(layout.data.last_period),
                   keep=keep, cases=cases,
                   cells=tuple((str(c), int(p)) for c, p in cells),
                   alliance_cells=tuple((str(a), int(p)) for a, p in alliance_cells),
                   regions=tuple(layout.data.regions))


def _simulate(settings: SBCSettings, design: _Design, seed: int) -> Simulation:
    """Data and truth of one simulation: parameters from the simulator spec's priors."""
    spec = settings.spec
    sim = simulate(spec, design.commitments, seed=seed, missing=0.0,
                   last_period=design.last_period)
    signals = sim.data.signals
    if len(signals) != design.keep.size:
        raise ValidationError(f"simulation {seed}: {len(signals)} signal rows, expected "
                              f"{design.keep.size} (the design's layout)")
    data = replace(sim.data, signals=signals[design.keep].reset_index(drop=True))
    sim = Simulation(data=data, truth=sim.truth, seed=seed)
    if design.cases is None:
        return sim
    o = spec.outcome  # type: ignore[union-attr]
    rng = np.random.default_rng([seed, 1])
    intercept = rng.normal(0.0, o.intercept_sd)
    slope = rng.normal(0.0, o.credibility_sd)
    gamma = rng.normal(0.0, o.covariate_sd, len(o.covariates))
    pooled = o.region and len(data.regions) > 1
    region_sd = abs(rng.normal(0.0, o.region_sd)) if pooled else 0.0
    sim = simulate_cases(sim, design.cases, seed=seed, intercept=intercept, credibility=slope,
                         covariates=dict(zip(o.covariates, gamma, strict=True)),
                         region_sd=region_sd)
    return replace(sim, truth=sim.truth.assign(outcome_region_sd=((), region_sd)))


# Compiled models per worker process, keyed by everything but the data values.
_COMPILED: dict[str, Any] = {}
_COMPILE_LOCK = threading.Lock()


class _NotShareable(Exception):
    """A constant to turn into data was not found exactly once in the model graph."""


def _is_kernel_data(variable: Any) -> bool:
    """Whether ``variable`` is one of the fused kernels' named data constants."""
    from pytensor.graph.basic import Constant

    return isinstance(variable, Constant) and (variable.name or "").startswith(DATA_PREFIX)


def _model_data(model: Any) -> dict[str, np.ndarray]:
    """The data of ``model`` by the names :func:`_shared_model` gives them: observed
    data as ``<name>_data``, the fused kernels' data (constants named
    ``kernels.DATA_PREFIX...``) by their names."""
    from pytensor.graph.traversal import ancestors

    data = {f"{rv.name}_data": model.rvs_to_values[rv].data for rv in model.observed_RVs}
    data.update({v.name: np.asarray(v.data) for v in ancestors(model.potentials)
                 if _is_kernel_data(v)})
    return data


def _shared_model(model: Any, constants: Mapping[str, np.ndarray]) -> Any:
    """A copy of ``model`` whose data and ``constants`` are shared variables.

    Observed data become ``<name>_data``, the fused kernels' data (constants named
    ``kernels.DATA_PREFIX...``) shared variables of their names; each array of
    ``constants`` must appear exactly once as a constant of the graph and becomes a
    shared variable of that name.
    """
    import pytensor
    from pymc.model.fgraph import ModelObservedRV, fgraph_from_model, model_from_fgraph
    from pytensor.graph.basic import Constant

    fgraph, _ = fgraph_from_model(model, inlined_views=True)
    for node in list(fgraph.apply_nodes):
        if isinstance(node.op, ModelObservedRV) and isinstance(node.inputs[1], Constant):
            value = node.inputs[1]
            fgraph.replace(value, pytensor.shared(np.asarray(value.data),
                                                  name=f"{node.op.name}_data"),
                           import_missing=True)
    for value in [v for v in fgraph.variables if _is_kernel_data(v)]:
        fgraph.replace(value, pytensor.shared(np.asarray(value.data), name=value.name),
                       import_missing=True)
    for name, array in constants.items():
        found = [v for v in fgraph.variables if isinstance(v, Constant)
                 and np.shape(v.data) == array.shape and np.array_equal(v.data, array)]
        if len(found) != 1:
            raise _NotShareable(name)
        fgraph.replace(found[0], pytensor.shared(np.asarray(array), name=name),
                       import_missing=True)
    return model_from_fgraph(fgraph, mutate_fgraph=True)


def _sample(model: Any, key: str, settings: SBCSettings, seed: int,
            constants: Mapping[str, np.ndarray] | None = None, *,
            draws: int | None = None, check: Check | None = None) -> xr.DataTree:
    """Sample ``model`` with nutpie, compiling it once per ``key`` and process.

    Later models with the same key differ only in observed data, the fused kernels'
    data and ``constants``, which are swapped into the compiled model
    (``CompiledModel.with_data``).
    Falls back to compiling this model when its data cannot be made shared.
    Without ``draws`` the run is the settings' (until reliable unless
    ``until_reliable=False``, by ``check``); with it, exactly ``draws`` per chain.
    """
    constants = dict(constants or {})
    config = SamplerConfig(draws=draws or settings.draws, tune=settings.tune,
                           chains=settings.chains, seed=seed,
                           target_accept=settings.target_accept,
                           until_reliable=settings.until_reliable and draws is None)
    sampler = {"config": config, "check": check}
    with _COMPILE_LOCK:
        compiled = _COMPILED.get(key)
        if compiled is None:
            try:
                compiled = compile_nutpie(_shared_model(model, constants))
            except _NotShareable:
                compiled = False
            _COMPILED[key] = compiled
    if compiled is False:
        return run(model, progress=False, **sampler)[0]
    try:
        return run(model, progress=False,
                   compiled=compiled.with_data(**_model_data(model), **constants),
                   **sampler)[0]
    except FitError as exc:
        raise FitError(f"simulation {seed}: {exc}") from exc


def _key(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, pd.DataFrame):
            part = part.to_csv(index=False)
        elif isinstance(part, np.ndarray):
            part = f"{part.dtype}{part.shape}".encode() + np.ascontiguousarray(part).tobytes()
        digest.update(part if isinstance(part, bytes) else repr(part).encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _fit_measurement(settings: SBCSettings, sim: Simulation, seed: int
                     ) -> tuple[xr.Dataset, Any, Any]:
    """Labelled measurement posterior, its index and diagnostics."""
    spec = settings.fitted_spec
    data = sim.data
    index = build_index(data, spec)
    # The fused kernels, as a fit samples: their data swap in by name (_shared_model).
    # The model of several dimensions has none (decision 41).
    fused = fused_likelihood("nutpie") and len(spec.dimensions) == 1
    model = build_measurement_model(data, spec, index=index, fused=fused)
    key = _key("measurement", "fused", _spec_record(spec)["content_sha256"], data.commitments,
               data.signals.drop(columns=["value", "source"]), data.first_period,
               data.last_period, signal_priors(data, spec, index=index))
    started = time.perf_counter()
    check = measurement_check(model)
    tree = _sample(model, key, settings, seed, check=check)
    raw = tree["posterior"].to_dataset()
    diagnostics = replace(check(tree),
                                      sampling_seconds=time.perf_counter() - started)
    return label_posterior(raw, index), index, diagnostics


def _fit_outcome(settings: SBCSettings, sim: Simulation, posterior: xr.Dataset, index: Any,
                 seed: int) -> xr.Dataset | None:
    """Two-stage outcome posterior, or ``None`` when these data cannot fit it.

    Skipping depends on the data alone (e.g. every outcome equal), which leaves the
    ranks of the other simulations uniform: SBC holds conditionally on the data.
    """
    try:
        design = predictor.outcome_design(sim.data, index)
    except PredictionError:
        return None
    unique, mapping = np.unique(design.cell, return_inverse=True)
    mean, chol = predictor.stage_one_normal(
        predictor.stage_one_draws(posterior["credibility"], index, unique))
    model = predictor.build_two_stage_model(design, mean, chol, settings.fitted_spec.outcome,
                                            unique_cell=mapping)
    key = _key("outcome", settings.fitted_spec.outcome, design.cell, design.covariates,
               design.region, design.regions, mapping)
    # As many draws as stage 1 kept: the ranks stack both stages' draws.
    tree = _sample(model, key, settings, seed + 1,
                   constants={"stage_one_mean": mean, "stage_one_chol": chol},
                   draws=posterior.sizes["draw"])
    return predictor.outcome_posterior(tree["posterior"].to_dataset(), design, "two_stage")


def _quantities(posterior: xr.Dataset, outcome: xr.Dataset | None, truth: xr.Dataset,
                settings: SBCSettings, design: _Design
                ) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Names, groups, true values and ``(chain, draw, quantity)`` draws of ranked quantities.

    The names depend on the spec and the design only, so every simulation of a run
    has the same ones; the outcome model's are NaN where it was skipped.
    """
    names, groups, values, draws = [], [], [], []

    def add(name: str, group: str, true: Any, draw: xr.DataArray | None) -> None:
        names.append(name)
        groups.append(group)
        if draw is None:
            values.append(np.nan)
            draws.append(np.full((posterior.sizes["chain"], posterior.sizes["draw"]), np.nan))
            return
        values.append(float(true))
        draws.append(draw.transpose("chain", "draw").values)

    for var, group in {**_SCALARS, **_VECTORS, **_MATRICES}.items():
        if var not in posterior or var not in truth:
            continue
        for labels in _entries(truth, var):
            name = f"{var}[{','.join(map(str, labels.values()))}]" if labels else var
            add(name, group, truth[var].sel(labels), posterior[var].sel(labels))
    # A model of several dimensions ranks each dimension's standardised cells (its
    # composite has no counterpart in the truth); one of one dimension its credibility.
    cells = _comparable_latents(posterior)
    by_dimension = [{"dimension": d} for d in truth["dimension"].values] if (
        "dimension" in truth["credibility"].dims) else [{}]
    for commitment, period in design.cells:
        for labels in by_dimension:
            where = {**labels, "commitment": commitment, "period": period}
            add(f"credibility[{','.join(map(str, where.values()))}]", "credibility cell",
                truth["credibility"].sel(where), cells["credibility"].sel(where))
    for alliance, period in design.alliance_cells:
        for labels in by_dimension:
            where = {**labels, "alliance": alliance, "period": period}
            add(f"alliance_level[{','.join(map(str, where.values()))}]", "alliance cell",
                truth["alliance_level"].sel(where), cells["alliance_level"].sel(where))
    if design.cases is not None:
        spec = settings.fitted_spec.outcome
        parameters = [("outcome_intercept", None), ("outcome_credibility", None)]
        parameters += [("outcome_covariate", c) for c in spec.covariates]
        if spec.region and len(design.regions) > 1:
            parameters += [("outcome_region_sd", None)]
            parameters += [("outcome_region", r) for r in design.regions]
        for var, label in parameters:
            name = var if label is None else f"{var}[{label}]"
            if outcome is None:
                add(name, "outcome", None, None)
                continue
            dim = None if label is None else truth[var].dims[0]
            add(name, "outcome", truth[var] if dim is None else truth[var].sel({dim: label}),
                outcome[var] if dim is None else outcome[var].sel({dim: label}))
    return names, groups, np.array(values), np.stack(draws, axis=-1)


def _entries(truth: xr.Dataset, var: str) -> list[dict[str, Any]]:
    """The labels of every ranked element of ``truth[var]``: each element, but of a
    loading matrix only the declared entries (``loads``, several dimensions) and of a
    correlation matrix only those above the diagonal."""
    array = truth[var]
    labels = [dict(zip(array.dims, values, strict=True)) for values in
              np.ndindex(*array.shape)]
    labels = [{dim: array[dim].values[i] for dim, i in where.items()} for where in labels]
    if var == "loading" and "loads" in truth:
        labels = [where for where in labels if bool(truth["loads"].sel(where))]
    if var == "dimension_correlation":
        order = list(array["dimension"].values)
        labels = [where for where in labels
                  if order.index(where["dimension"]) < order.index(where["with_dimension"])]
    return labels


def _comparable_latents(posterior: xr.Dataset) -> xr.Dataset:
    """The posterior's latent arrays defined as the simulator's truth defines them:
    of several dimensions, ``credibility`` is each dimension standardised
    (``dimension_credibility``), not the composite, which the truth does not have."""
    if "dimension_credibility" in posterior:
        return posterior.assign(credibility=posterior["dimension_credibility"])
    return posterior


def _intervals(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(quantity, level)`` lower and upper bounds of central intervals of sample-first draws."""
    probs = np.concatenate([[(1 - lv) / 2 for lv in COVERAGE_LEVELS],
                            [(1 + lv) / 2 for lv in COVERAGE_LEVELS]])
    q = np.quantile(draws, probs, axis=0)
    n = len(COVERAGE_LEVELS)
    return np.moveaxis(q[:n], 0, -1), np.moveaxis(q[n:], 0, -1)


def _latent_metrics(posterior: xr.Dataset, truth: xr.Dataset) -> dict[str, np.ndarray]:
    """Coverage counts, cells, correlation and RMSE over every active cell per latent array."""
    covered, cells, corr, rmse = [], [], [], []
    for latent in LATENT_GROUPS:
        true = truth[latent]
        dims = list(true.dims)
        flat_truth = true.values.reshape(-1)
        active = ~np.isnan(flat_truth)
        aligned = posterior[latent].sel({d: true[d].values for d in dims})
        samples = aligned.stack(sample=("chain", "draw")).transpose(
            "sample", *dims).values.reshape(-1, flat_truth.size)[:, active]
        t = flat_truth[active]
        lower, upper = _intervals(samples)
        covered.append(((lower <= t[:, None]) & (t[:, None] <= upper)).sum(axis=0))
        cells.append(t.size)
        m = samples.mean(axis=0)
        corr.append(np.corrcoef(m, t)[0, 1] if t.size > 2 and t.std() > 0 else np.nan)
        rmse.append(np.sqrt(np.mean((m - t) ** 2)) if t.size else np.nan)
    return {"latent_covered": np.array(covered), "latent_cells": np.array(cells),
            "latent_correlation": np.array(corr), "latent_rmse": np.array(rmse)}


def run_simulation(settings: SBCSettings, index: int) -> xr.Dataset:
    """Simulate, fit and score simulation ``index`` of a run (one dask task).

    Returns a dataset with dim ``quantity`` (coordinate ``group``): ``truth``,
    ``mean``, ``sd``, ``ess``, ``keep``, ``rank``, ``fraction`` (see
    :func:`rank_statistics`), ``lower``/``upper`` (``quantity, level``) of central
    intervals; over every active cell of each ``latent`` array: ``latent_covered``
    (``latent, level``), ``latent_cells``, ``latent_correlation``, ``latent_rmse``;
    and the sampler's ``max_rhat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences``,
    ``passed`` (the measurement fit passed its diagnostics), ``draws_kept`` (per
    chain), ``seconds``, ``outcome_fitted``. The scalar coordinate ``simulation`` is ``index``.

    Examples
    --------
    >>> ds = run_simulation(SBCSettings("default", commitments=4, periods=5), 0)  # doctest: +SKIP
    >>> ds["rank"].dims  # doctest: +SKIP
    ('quantity',)
    """
    started = time.perf_counter()
    seed = simulation_seed(settings.seed, index)
    design = _design(settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = _simulate(settings, design, seed)
        posterior, model_index, diagnostics = _fit_measurement(settings, sim, seed)
        outcome = (_fit_outcome(settings, sim, posterior, model_index, seed)
                   if design.cases is not None else None)
        names, groups, truth, draws = _quantities(posterior, outcome, sim.truth, settings,
                                                  design)
        flat = draws.reshape(-1, truth.size)
        ranks = rank_statistics(np.nan_to_num(draws), truth, max_rank=settings.max_rank,
                                rng=np.random.default_rng([seed, 2]))
        lower, upper = _intervals(flat)
        latent = _latent_metrics(_comparable_latents(posterior), sim.truth)
    missing = np.isnan(truth)
    ranks.loc[missing, ["rank", "fraction"]] = np.nan
    q, lv = ("quantity",), ("quantity", "level")
    return xr.Dataset(
        {
            "truth": (q, truth),
            "mean": (q, np.where(missing, np.nan, flat.mean(axis=0))),
            "sd": (q, np.where(missing, np.nan, flat.std(axis=0, ddof=1))),
            "ess": (q, np.where(missing, np.nan, ranks["ess"].to_numpy())),
            "keep": (q, ranks["keep"].to_numpy()),
            "rank": (q, ranks["rank"].to_numpy(np.float64)),
            "fraction": (q, ranks["fraction"].to_numpy()),
            "lower": (lv, np.where(missing[:, None], np.nan, lower)),
            "upper": (lv, np.where(missing[:, None], np.nan, upper)),
            "latent_covered": (("latent", "level"), latent["latent_covered"]),
            "latent_cells": (("latent",), latent["latent_cells"]),
            "latent_correlation": (("latent",), latent["latent_correlation"]),
            "latent_rmse": (("latent",), latent["latent_rmse"]),
            "max_rhat": ((), diagnostics.max_rhat),
            "min_ess_bulk": ((), diagnostics.min_ess_bulk),
            "min_ess_tail": ((), diagnostics.min_ess_tail),
            "divergences": ((), diagnostics.divergences),
            "passed": ((), diagnostics.ok),
            "draws_kept": ((), int(posterior.sizes["draw"])),
            "outcome_fitted": ((), outcome is not None),
            "seed": ((), seed),
            "seconds": ((), time.perf_counter() - started),
        },
        coords={"quantity": names, "group": (q, groups), "level": list(COVERAGE_LEVELS),
                "latent": list(LATENT_GROUPS), "simulation": index},
        attrs={"synthetic": "true", "note": "SYNTHETIC: simulation-based calibration"},
    )

