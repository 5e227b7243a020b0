"""Simulation-based calibration (SBC) and recovery of the measurement model and predictor.

Each *simulation* draws every parameter from the priors of a spec, simulates data
with :func:`credibility.simulate.simulate` (and, with ``cases``, deterrence outcomes
with :func:`credibility.simulate.simulate_cases`, their coefficients drawn from the
spec's ``[outcome]`` priors), fits the model and compares the fit with the truth
(Talts et al. 2018):

- the **rank** of every true parameter among posterior draws thinned to about
  their effective sample size (hyper-parameters, loadings, intercepts, noise, group
  effects, the outcome coefficients and a fixed sample of latent cells). If the
  fitted model is the simulator's, ranks are uniform; a test per quantity
  (:func:`~credibility.ranks.ecdf_uniformity_test`, simultaneous ECDF bands after
  Säilynoja, Bürkner and Vehtari 2022) with Holm's correction across quantities flags
  those that are not (the statistics are in :mod:`credibility.ranks`);
- **coverage** of central posterior intervals at 50/80/90/95 % (every active
  commitment-period for latent credibility) and **recovery** (truth against
  posterior mean: correlation, bias, contraction).

Only quantities defined identically in ``simulate``'s truth and in the posterior
are ranked: credibility and alliance levels are standardised per draw over the
active cells in both, ``loading`` is on that z-scale in both. Ordinal cutpoints
and proportion precisions are not in the simulator's truth and are not ranked.
A spec of several dimensions ranks every per-dimension parameter per dimension
(``persistence_commitment[capability]``), the declared loadings only
(``loading[troops,capability]``; the fixed zeros are not parameters), the
correlation above the diagonal (``dimension_correlation[capability,willingness]``)
and each dimension's standardised cells (``credibility[capability,C001,2003]``,
the posterior's ``dimension_credibility``: the composite has no counterpart in the
truth); its coverage of latent credibility is over every dimension's cells. The
outcome model of several dimensions is not calibrated (``cases`` must be 0).

:func:`run_sbc` runs the simulations as independent tasks on ``dask.distributed``
(a ``LocalCluster`` by default, or an existing scheduler), writes each finished
simulation to ``OUT/sims/`` at once and skips finished ones when run again, so an
interrupted run resumes (``dask.distributed`` comes with the ``distributed`` extra:
``pip install 'credibility[distributed]'``). Every simulation of a run shares one *design*
(commitments table, pattern of missing reports, case cells and covariates), drawn
once from the run's seed; only parameters and data differ. SBC is conditional on
the design, and a shared design lets each worker compile the model once and swap
the data in (compiling costs 10-30 s, sampling a small model well under one).

Examples
--------
>>> settings = SBCSettings("default", commitments=4, periods=6)
>>> result = run_sbc(settings, "sbc_out", n_sims=20)  # doctest: +SKIP
>>> result.uniformity().head()  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from credibility import predictor
from credibility.datasets import load_dataset
from credibility.errors import CredibilityError, FitError, PredictionError
from credibility.fitting import label_posterior, measurement_check
from credibility.kernels import DATA_PREFIX
from credibility.measurement import build_measurement_model
from credibility.model.index import build_index
from credibility.model.parameters import signal_priors
from credibility.ranks import (
    COVERAGE_LEVELS,
    LATENT_GROUPS,
    coverage_table,
    rank_statistics,
    recovery_table,
    uniformity_table,
)
from credibility.sampling import Check, SamplerConfig, compile_nutpie, fused_likelihood, run
from credibility.simulate import Simulation, simulate, simulate_cases, synthetic_commitments
from credibility.spec import ModelSpec, load_spec

__all__ = ["REPORT_KINDS", "SBCResult", "SBCSettings", "ValidationError", "load_simulations",
           "run_sbc", "run_simulation", "simulation_seed", "summary_markdown", "write_report"]


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

_SIMS = "sims"
_SETTINGS = "settings.json"
_COMBINED = "simulations.nc"


class ValidationError(CredibilityError):
    """A validation run cannot be set up or resumed as asked."""


@dataclass(frozen=True)
class SBCSettings:
    """Everything that defines an SBC / recovery run, apart from the number of simulations.

    ``spec`` is the simulator's spec (name or path, or a :class:`ModelSpec`); every
    signal prior in it must be explicit, so that simulator and model share them.
    ``fit_spec`` (default: ``spec``) is the spec the model is fitted with: a
    different one shows what a mis-specified prior looks like. The design is
    ``commitments`` commitments in ``alliances`` alliances over ``periods`` periods
    from ``first_period`` (:func:`~credibility.simulate.synthetic_commitments`), or
    the commitments table of ``structure`` (a bundled data set name such as
    ``"demo"``, or a commitments CSV). A share ``missing`` of the reports is dropped
    (the same ones in every simulation); ``cases`` > 0 adds that many deterrence
    cases and ranks the two-stage outcome model too. Each quantity is ranked among
    its draws thinned to ``min(ESS, max_rank)`` draws; ``latent_sample`` commitment
    cells and ``alliance_sample`` alliance cells are ranked as latent states. Each
    measurement fit runs until reliable (:class:`~credibility.sampling.SamplerConfig`,
    up to 4 x ``draws``) unless ``until_reliable=False``; the outcome model then takes
    as many draws as the measurement fit kept. A spec of several dimensions is
    calibrated without cases (the module docstring says what is ranked).

    Examples
    --------
    >>> settings = SBCSettings("default", commitments=4, periods=6)
    >>> settings.spec.name, settings.fitted_spec is settings.spec
    ('default', True)
    """

    spec: ModelSpec | str | Path = "default"
    fit_spec: ModelSpec | str | Path | None = None
    commitments: int = 6
    alliances: int = 2
    periods: int = 8
    first_period: int = 2000
    structure: str | None = None
    missing: float = 0.2
    cases: int = 0
    draws: int = 300
    tune: int = 300
    chains: int = 2
    target_accept: float = 0.9
    until_reliable: bool = True
    max_rank: int = 100
    latent_sample: int = 6
    alliance_sample: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("spec", "fit_spec"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, ModelSpec):
                object.__setattr__(self, name, load_spec(value))
        for name in ("commitments", "alliances", "periods", "draws", "tune", "chains",
                     "max_rank"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValidationError(f"{name} must be a positive integer, got {value!r}")
        for name in ("cases", "latent_sample", "alliance_sample"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValidationError(f"{name} must be an integer >= 0, got {value!r}")
        if not 0.0 <= self.missing < 1.0:
            raise ValidationError(f"missing must be in [0, 1), got {self.missing!r}")
        _check_explicit_priors(self.spec)  # type: ignore[arg-type]
        if self.cases and len(self.spec.dimensions) > 1:  # type: ignore[union-attr]
            raise ValidationError(
                f"{self.spec.source}: cases with {len(self.spec.dimensions)} dimensions: "  # type: ignore[union-attr]
                "the SBC of the outcome model of several dimensions is not built; use "
                "cases=0 (--cases 0) to calibrate the measurement model")
        simulated, fitted = self.spec.covariates, self.fitted_spec.covariates  # type: ignore
        if self.cases and simulated != fitted:
            raise ValidationError(
                f"{self.fitted_spec.source}: [outcome] covariates {list(fitted)} differ from "
                f"the simulator's {list(simulated)}; expected the same covariates"
            )

    @property
    def fitted_spec(self) -> ModelSpec:
        """The spec the model is fitted with (``fit_spec``, or the simulator's)."""
        return self.fit_spec if self.fit_spec is not None else self.spec  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly record of the settings; specs by name, source and content hash.

        Examples
        --------
        >>> SBCSettings("default").to_dict()["spec"]["name"]
        'default'
        """
        record = {k: v for k, v in asdict(self).items() if k not in ("spec", "fit_spec")}
        record["spec"] = _spec_record(self.spec)  # type: ignore[arg-type]
        record["fit_spec"] = _spec_record(self.fitted_spec)
        return record


def _spec_record(spec: ModelSpec) -> dict[str, str]:
    # The content hash covers every field (a spec changed with dataclasses.replace keeps
    # its old TOML text, so ModelSpec.sha256 would not see the change).
    content = repr(replace(spec, source="", text=""))
    return {"name": spec.name, "source": spec.source,
            "content_sha256": hashlib.sha256(content.encode("utf-8")).hexdigest()}


def _check_explicit_priors(spec: ModelSpec) -> None:
    for s in spec.signals:
        missing = []
        if s.family != "ordinal" and s.intercept is None:
            missing.append("intercept")
        if s.loading_sd is None:
            missing.append("loading")
        if s.family in ("count", "amount", "ratio") and s.noise_mean is None:
            missing.append("noise")
        if missing:
            raise ValidationError(
                f"{spec.source}: signal {s.name!r} leaves {', '.join(missing)} on \"auto\"; "
                "simulation-based calibration needs explicit priors (the simulator cannot "
                "scale priors to data it has not drawn), e.g. models/default.toml"
            )


def simulation_seed(seed: int, index: int) -> int:
    """Seed of simulation ``index`` of a run with seed ``seed`` (independent streams).

    Examples
    --------
    >>> simulation_seed(0, 1) == simulation_seed(0, 1) != simulation_seed(0, 2)
    True
    """
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


# --------------------------------------------------------------------------- one simulation


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


# --------------------------------------------------------------------------- runs on dask


def _distributed() -> ModuleType:
    """The ``distributed`` package (dask.distributed), which runs the simulations.

    Raises
    ------
    ValidationError
        It is not installed: it comes with the optional ``distributed`` extra.
    """
    try:
        import distributed
    except ImportError as exc:
        raise ValidationError(
            "simulation-based validation runs on dask.distributed, which is not installed; "
            "pip install 'credibility[distributed]'"
        ) from exc
    return distributed


def _sim_path(folder: Path, index: int) -> Path:
    return folder / _SIMS / f"sim-{index:05d}.nc"


def _finished(folder: Path) -> set[int]:
    sims = folder / _SIMS
    if not sims.is_dir():
        return set()
    return {int(p.stem.split("-")[1]) for p in sims.glob("sim-*.nc")}


def _write_simulation(folder: Path, result: xr.Dataset) -> Path:
    """Write atomically, so that an interrupted run never leaves half a file behind."""
    path = _sim_path(folder, int(result["simulation"]))
    partial = path.with_suffix(".partial")
    result.to_netcdf(partial, engine="h5netcdf")
    os.replace(partial, path)
    return path


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    """Settings that decide the simulations (where a spec file lives does not)."""
    return {k: ({n: v for n, v in value.items() if n != "source"} if isinstance(value, dict)
                else value) for k, value in record.items()}


def _check_settings(folder: Path, settings: SBCSettings) -> None:
    record = settings.to_dict()
    path = folder / _SETTINGS
    if path.exists():
        stored = _comparable(json.loads(path.read_text(encoding="utf-8")))
        current = _comparable(json.loads(json.dumps(record, default=str)))
        changed = [k for k in sorted(set(stored) | set(current))
                   if stored.get(k) != current.get(k)]
        if changed:
            key = changed[0]
            raise ValidationError(
                f"{folder}: holds simulations run with other settings ({key} was "
                f"{stored.get(key)!r}, now {current.get(key)!r}); resume with the same "
                "settings or choose another --out"
            )
        return
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")


def load_simulations(folder: str | Path, n_sims: int | None = None) -> xr.Dataset:
    """The finished simulations under ``folder`` (``sims/*.nc``), along dim ``simulation``.

    ``n_sims`` keeps simulations ``0 .. n_sims - 1`` only.

    Examples
    --------
    >>> load_simulations("sbc_out").sizes["simulation"]  # doctest: +SKIP
    200
    """
    folder = Path(folder)
    indices = sorted(i for i in _finished(folder) if n_sims is None or i < n_sims)
    if not indices:
        raise ValidationError(f"{folder}: no finished simulations in {folder / _SIMS}")
    parts = []
    for i in indices:
        with xr.open_dataset(_sim_path(folder, i), engine="h5netcdf") as part:
            parts.append(part.load())
    return xr.concat(parts, dim="simulation", coords="different", compat="equals",
                     join="outer")


@contextmanager
def _client(scheduler: str | None, n_workers: int | None, settings: SBCSettings,
            client: Any = None) -> Iterator[Any]:
    """A dask client: the one given, the scheduler at ``scheduler`` (or
    ``DASK_SCHEDULER_ADDRESS``), or a ``LocalCluster`` of single-threaded workers."""
    if client is not None:
        yield client
        return
    import logging

    distributed = _distributed()
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        try:
            remote = distributed.Client(address, timeout="20s")
        except OSError as exc:
            raise ValidationError(f"cannot reach the dask scheduler at {address}: {exc}"
                                  ) from exc
        with remote:
            yield remote
        return
    workers = n_workers or max(1, (os.cpu_count() or 1) // settings.chains)
    # No dashboard; the scheduler's HTTP routes on a free port, not on 8787 (often taken).
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None,
                                  scheduler_kwargs={"dashboard_address": ":0"},
                                  silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as local:
        yield local


@dataclass
class SBCResult:
    """The simulations of a run and what this call did.

    ``simulations`` is :func:`load_simulations`' dataset; ``computed`` and
    ``reused`` count simulations run now and found finished on disk; ``failed``
    maps simulation index to the error (they are retried on the next run).
    """

    simulations: xr.Dataset
    settings: SBCSettings
    folder: Path
    computed: int = 0
    reused: int = 0
    failed: dict[int, str] = field(default_factory=dict)

    def uniformity(self, alpha: float = 0.05) -> pd.DataFrame:
        """:func:`~credibility.ranks.uniformity_table` of the simulations."""
        return uniformity_table(self.simulations, alpha=alpha)

    def coverage(self) -> pd.DataFrame:
        """:func:`~credibility.ranks.coverage_table` of the simulations."""
        return coverage_table(self.simulations)

    def recovery(self) -> pd.DataFrame:
        """:func:`~credibility.ranks.recovery_table` of the simulations."""
        return recovery_table(self.simulations)


def run_sbc(
    settings: SBCSettings,
    folder: str | Path,
    n_sims: int,
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    client: Any = None,
    progress: bool = True,
) -> SBCResult:
    """Run simulations ``0 .. n_sims - 1`` on dask.distributed, resuming a run in ``folder``.

    Each simulation is one task (:func:`run_simulation`) with its own seed
    (:func:`simulation_seed`); finished ones are written to ``folder/sims/`` as they
    arrive and skipped when the run is repeated with the same settings (other
    settings raise :class:`ValidationError`). The scheduler is ``client``, else
    ``scheduler`` (an address such as ``tcp://127.0.0.1:8786``, default
    ``$DASK_SCHEDULER_ADDRESS``), else a ``LocalCluster`` with ``n_workers``
    single-threaded worker processes (default: cores / chains). Writes the
    combined dataset ``folder/simulations.nc``.

    Examples
    --------
    >>> result = run_sbc(SBCSettings("default"), "sbc_out", n_sims=100)  # doctest: +SKIP
    >>> result.coverage()  # doctest: +SKIP
    """
    if not isinstance(n_sims, int) or n_sims < 1:
        raise ValidationError(f"n_sims must be a positive integer, got {n_sims!r}")
    folder = Path(folder)
    _check_settings(folder, settings)
    (folder / _SIMS).mkdir(exist_ok=True)
    done = _finished(folder)
    todo = [i for i in range(n_sims) if i not in done]
    failed: dict[int, str] = {}
    if todo:
        failed = _run_tasks(settings, folder, todo, scheduler=scheduler, n_workers=n_workers,
                            client=client, progress=progress)
    simulations = load_simulations(folder, n_sims)
    combined = folder / _COMBINED
    simulations.to_netcdf(combined.with_suffix(".partial"), engine="h5netcdf")
    os.replace(combined.with_suffix(".partial"), combined)
    return SBCResult(simulations=simulations, settings=settings, folder=folder,
                     computed=len(todo) - len(failed), reused=n_sims - len(todo), failed=failed)


def _run_tasks(settings: SBCSettings, folder: Path, todo: list[int], *, scheduler: str | None,
               n_workers: int | None, client: Any, progress: bool) -> dict[int, str]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    as_completed = _distributed().as_completed
    failed: dict[int, str] = {}
    columns = (TextColumn("[bold]simulations"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    run = _key(settings.to_dict())[:10]
    with _client(scheduler, n_workers, settings, client) as executor, \
            Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("sbc", total=len(todo))
        futures = {executor.submit(run_simulation, settings, i, key=f"sbc-{run}-{i}"): i
                   for i in todo}
        try:
            for future in as_completed(futures):
                index = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # recorded, and retried on the next run
                    failed[index] = f"{type(exc).__name__}: {exc}"
                else:
                    _write_simulation(folder, result)
                bar.advance(task)
        finally:
            for future in futures:
                future.cancel()
    failures = folder / "failed.json"
    if failed:
        failures.write_text(json.dumps(failed, indent=2) + "\n", encoding="utf-8")
    elif failures.exists():
        failures.unlink()
    if failed and len(failed) == len(todo):
        first = min(failed)
        raise ValidationError(f"every simulation failed; simulation {first}: {failed[first]}")
    return failed


# --------------------------------------------------------------------------- reports


#: What :func:`write_report` writes for each kind of run.
REPORT_KINDS: tuple[str, ...] = ("sbc", "recovery")


def _markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, bool | np.bool_):
            return "FLAGGED" if value else "ok"
        if isinstance(value, float | np.floating):
            return "" if np.isnan(value) else f"{value:.{digits}f}"
        return str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def summary_markdown(result: SBCResult, kind: str = "sbc", *, command: str | None = None,
                     alpha: float = 0.05) -> str:
    """The markdown summary of a run: settings, timing, uniformity, coverage, recovery.

    ``kind="sbc"`` leads with the uniformity tests; ``"recovery"`` with the
    recovery table (and has no uniformity section).
    """
    if kind not in REPORT_KINDS:
        raise ValidationError(f"unknown report kind {kind!r}; expected one of "
                              f"{', '.join(REPORT_KINDS)}")
    sims = result.simulations
    n = sims.sizes["simulation"]
    seconds = sims["seconds"].values
    record = result.settings.to_dict()
    spec, fitted = record.pop("spec"), record.pop("fit_spec")
    if record.get("structure") is not None:
        # The design comes from that table; the synthetic design's sizes are unused.
        for unused in ("commitments", "alliances", "periods", "first_period"):
            record.pop(unused, None)
    title = ("Simulation-based calibration" if kind == "sbc" else "Parameter recovery")
    lines = [f"# {title}: spec `{spec['name']}` (SYNTHETIC simulations)", ""]
    if command:
        lines += ["Regenerate with:", "", "```", command, "```", ""]
    fit_note = ("the same spec" if fitted["content_sha256"] == spec["content_sha256"]
                else f"`{Path(fitted['source']).name}` (content sha256 "
                f"{fitted['content_sha256'][:12]}; a DIFFERENT spec: a mis-specification check)")
    lines += [f"Data simulated from `{Path(spec['source']).name}` (content sha256 "
              f"{spec['content_sha256'][:12]}), fitted with {fit_note}.", "",
              "| setting | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in record.items()]
    divergent = int((sims["divergences"] > 0).sum())
    lines += [
        "",
        f"**Simulations:** {n} finished (this call computed {result.computed}, reused "
        f"{result.reused}; {len(result.failed)} failed).",
        f"**Time per simulation** (worker wall time; the first simulation on each worker "
        f"also compiles the model): median {np.median(seconds):.1f} s, mean "
        f"{np.mean(seconds):.1f} s, total {np.sum(seconds) / 60:.1f} min.",
        f"**Sampler:** {divergent} of {n} fits had divergent transitions; median of the "
        f"smallest bulk ESS {np.median(sims['min_ess_bulk'].values):.0f}, median of the "
        f"largest R-hat {np.median(sims['max_rhat'].values):.3f}. Ranks are taken among "
        "draws thinned to each quantity's bulk ESS (at most max_rank).",
    ]
    if "passed" in sims:
        passed = int(sims["passed"].values.astype(bool).sum())
        lines.append(f"**Own diagnostics:** {passed} of {n} measurement fits passed them "
                     f"(R-hat <= 1.01, bulk and tail ESS >= 400, no divergences); draws kept "
                     f"per chain: median {np.median(sims['draws_kept'].values):.0f}, largest "
                     f"{int(sims['draws_kept'].values.max())}.")
    if "outcome_fitted" in sims and result.settings.cases:
        skipped = int((~sims["outcome_fitted"].values.astype(bool)).sum())
        lines.append(f"**Outcome model:** fitted in {n - skipped} of {n} simulations "
                     "(skipped where every simulated outcome was equal).")
    uniformity = uniformity_table(sims, alpha=alpha)
    coverage = coverage_table(sims)
    recovery = recovery_table(sims)
    sections = {
        "uniformity": [
            "## Uniformity of ranks", "",
            f"ECDF test of each quantity's fractional ranks (Säilynoja et al. 2022), Holm's "
            f"correction over {len(uniformity)} quantities at α = {alpha}: "
            f"**{int(uniformity['flagged'].sum())} flagged**"
            + (" (" + ", ".join(uniformity.loc[uniformity["flagged"], "quantity"]) + ")"
               if uniformity["flagged"].any() else "") + ". Figure: `rank_ecdf.png`.", "",
            _markdown_table(uniformity[["quantity", "group", "n", "mean_fraction", "p_value",
                                        "p_holm", "flagged"]]), ""],
        "coverage": [
            "## Coverage of central posterior intervals", "",
            "Share of true values inside the central 50/80/90/95 % posterior intervals "
            "(all draws). `se_90%` is the standard error of the 90 % coverage from the "
            "spread between simulations. Figure: `coverage.png`.", "",
            _markdown_table(coverage), ""],
        "recovery": [
            "## Recovery", "",
            "Posterior mean against truth across simulations: correlation, bias, RMSE, "
            "contraction (1 - posterior variance / prior variance) and the z-score "
            "(mean - truth) / posterior sd. Figure: `recovery.png`.", "",
            _markdown_table(recovery), ""],
    }
    order = (["uniformity", "coverage", "recovery"] if kind == "sbc"
             else ["recovery", "coverage"])
    lines.append("")
    for name in order:
        lines += sections[name]
    return "\n".join(lines)


def write_report(result: SBCResult, kind: str = "sbc", *, command: str | None = None,
                 alpha: float = 0.05) -> list[Path]:
    """Write ``summary.md``, tables (CSV) and figures (PNG) of a run into its folder.

    Both kinds: ``recovery.csv``, ``recovery.png``, ``coverage.csv``,
    ``coverage.png``; ``kind="sbc"`` adds ``uniformity.csv`` and ``rank_ecdf.png``.
    Returns the paths written.

    Examples
    --------
    >>> write_report(run_sbc(SBCSettings(), "sbc_out", 100), "sbc")  # doctest: +SKIP
    """
    from credibility.validation_plots import plot_coverage, plot_rank_ecdf, plot_recovery

    folder = result.folder
    summary = summary_markdown(result, kind, command=command, alpha=alpha)
    coverage = coverage_table(result.simulations)
    paths = {"summary": folder / "summary.md", "coverage_csv": folder / "coverage.csv",
             "coverage_png": folder / "coverage.png", "recovery_csv": folder / "recovery.csv",
             "recovery_png": folder / "recovery.png"}
    paths["summary"].write_text(summary + "\n", encoding="utf-8")
    coverage.to_csv(paths["coverage_csv"], index=False)
    plot_coverage(coverage, path=paths["coverage_png"])
    recovery_table(result.simulations).to_csv(paths["recovery_csv"], index=False)
    plot_recovery(result.simulations, path=paths["recovery_png"])
    if kind == "sbc":
        uniformity = uniformity_table(result.simulations, alpha=alpha)
        paths["uniformity_csv"] = folder / "uniformity.csv"
        paths["rank_ecdf_png"] = folder / "rank_ecdf.png"
        uniformity.to_csv(paths["uniformity_csv"], index=False)
        plot_rank_ecdf(result.simulations, uniformity=uniformity, alpha=alpha,
                       path=paths["rank_ecdf_png"])
    return list(paths.values())
