"""Fit the measurement model: ``CredibilityModel(spec).fit(data) -> FitResult``.

The class is a thin workflow layer: it builds the model with
:func:`credibility.measurement.build_measurement_model`, samples it with the chosen
backend, reshapes the per-cell deterministics into labelled ``(commitment, period)``
arrays (:func:`~credibility.results.fit_result.label_posterior`) and attaches
:class:`~credibility.inference.diagnostics.Diagnostics`, which warn when the sampler says
the posterior is not to be trusted. The result, :class:`FitResult`, is a module of its own
(:mod:`credibility.results.fit_result`, decision 59); its names stay importable from here.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pymc as pm
import xarray as xr

from credibility import predictor
from credibility.data.container import CredibilityData
from credibility.data.spec import ModelSpec, load_spec
from credibility.errors import FitError
from credibility.inference.diagnostics import Diagnostics, compute_diagnostics
from credibility.inference.sampling import (
    BACKENDS,
    MAX_TREEDEPTH,
    Backend,
    Check,
    RunRecord,
    SamplerConfig,
    check_backend,
    fused_likelihood,
    one_hot_gathers,
    run,
)
from credibility.measurement import build_measurement_model
from credibility.model.coordinates import adapted_coordinates, starting_coordinates
from credibility.model.index import ModelIndex, build_index
from credibility.results.fit_result import (
    CREDIBILITY_COLUMNS,
    DIMENSION_COLUMNS,
    FitResult,
    label_posterior,
    summarise_draws,
)

__all__ = ["BACKENDS", "CREDIBILITY_COLUMNS", "DIMENSION_COLUMNS", "CredibilityModel", "FitResult",
           "OutcomeMode", "check_backend", "label_posterior", "measurement_check",
           "summarise_draws"]

OutcomeMode = Literal["auto", "joint", "two_stage", "none"]


class CredibilityModel:
    """The user's handle on a measurement model specification.

    Examples
    --------
    >>> model = CredibilityModel("default")
    >>> model.spec.name
    'default'
    """

    def __init__(self, spec: ModelSpec | str | Path = "default") -> None:
        self.spec = spec if isinstance(spec, ModelSpec) else load_spec(spec)

    def build(self, data: CredibilityData) -> pm.Model:
        """The PyMC model for ``data`` (for inspection or custom sampling)."""
        return build_measurement_model(data, self.spec)

    def fit(
        self,
        data: CredibilityData,
        *,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        seed: int = 0,
        backend: Backend = "nutpie",
        target_accept: float = 0.9,
        outcome: OutcomeMode = "auto",
        mass_matrix: str = "diag",
        method: str = "nuts",
        progress: bool = True,
        on_stage: Callable[[str], None] | None = None,
        trace_storage: str = "auto",
        max_treedepth: int = MAX_TREEDEPTH,
        until_reliable: bool = True,
        max_draws: int | None = None,
        budget_seconds: float | None = None,
        sampler: SamplerConfig | None = None,
    ) -> FitResult:
        """Sample the posterior and check it.

        ``outcome`` chooses the deterrence-success model (docs/model.md):
        ``"two_stage"`` fits it on the measurement posterior, ``"joint"`` in one
        model with it, ``"none"`` skips it; ``"auto"`` (default) is ``"two_stage"``
        when the data have cases with observed outcomes and ``"none"`` otherwise.
        ``mass_matrix="low_rank"`` uses nutpie's low-rank mass-matrix adaptation
        (for posteriors with a few strongly correlated directions). ``method="advi"``
        replaces NUTS by mean-field ADVI
        (:data:`~credibility.inference.config.METHODS`): fast, for exploration only;
        it understates uncertainty and the result is labelled approximate
        (:attr:`FitResult.is_approximate`). ``trace_storage`` says where nutpie keeps
        the draws while it samples
        (:func:`~credibility.inference.sampling.sample_model`; ``"auto"`` spills them
        to a temporary folder on disk above
        :data:`~credibility.inference.sampling.DISK_TRACE_BYTES`, e.g. 1,000
        commitments x 50 periods; the result is the same). ``max_treedepth`` caps NUTS
        trajectories at ``2**max_treedepth - 1`` leapfrog steps (default 10; recorded in
        :attr:`FitResult.settings` and reused by updates; a lower cap makes draws
        cheaper but more autocorrelated, and did not pay at size L: decision 25).
        ``until_reliable`` (default) continues sampling while the diagnostics fail, in
        steps of ``draws // 2`` per chain, up to ``max_draws`` (default 4 x ``draws``)
        or ``budget_seconds`` of sampling
        (:class:`~credibility.inference.config.SamplerConfig`);
        ``until_reliable=False`` samples exactly ``draws``. With the spec's
        ``adapt_coordinates`` (the default), a run whose first check fails may be given
        up and the model sampled again in coordinates that suit its posterior
        (:func:`~credibility.model.coordinates.adapted_coordinates`: a pinning signal's
        residuals, or non-centred states; decision 33; the run record says which).
        A spec of two ``[model] dimensions`` (docs/model.md, "Several dimensions")
        fits the predictor of two dimensions on them (slopes per dimension and their
        interaction, :mod:`credibility.predictor`), two-stage or joint; outcomes with
        more than two dimensions raise a :class:`~credibility.errors.FitError` (fit
        those with ``outcome="none"``). Its coordinates are not adapted and its
        likelihood is not fused. ``sampler``, when given, is the whole sampler
        configuration and replaces ``draws`` ... ``budget_seconds``
        (an update passes the previous fit's). The configuration and what the run did
        are recorded in :attr:`FitResult.settings` (``sampler_config``, ``run``).
        ``on_stage`` (optional) is called with a short description as each stage
        starts and after each convergence check; the CLI uses it for its status line. A
        :class:`~credibility.inference.diagnostics.ConvergenceWarning` is issued when R-hat,
        ESS or divergences fail their thresholds.

        Examples
        --------
        >>> from credibility.data.datasets import load_dataset
        >>> fit = CredibilityModel("default").fit(load_dataset("demo"))  # doctest: +SKIP
        >>> fit.diagnostics.ok  # doctest: +SKIP
        True
        """
        config = sampler if sampler is not None else SamplerConfig(
            draws=draws, tune=tune, chains=chains, seed=seed, backend=backend,
            target_accept=target_accept, mass_matrix=mass_matrix,
            max_treedepth=max_treedepth, method=method, until_reliable=until_reliable,
            max_draws=max_draws, budget_seconds=budget_seconds)
        several = len(self.spec.dimensions) > 1
        mode = _outcome_mode(outcome, data)
        if several and mode is not None:
            predictor.check_outcome_dimensions(self.spec.dimensions, mode)
        stage = on_stage or (lambda _: None)
        started = time.perf_counter()
        stage("building model")
        index = build_index(data, self.spec)
        design = None if mode is None else predictor.outcome_design(data, index)
        # The model to sample: the likelihood's fused kernels where the backend can run
        # them (the same posterior, ~1.65x faster sampling; docs/decisions.md 23).
        # The model of several dimensions has no fused kernels.
        options = {"one_hot": one_hot_gathers(config.backend),
                   "fused": fused_likelihood(config.backend) and not several}
        build = functools.partial(_build, data, index=index, design=design, mode=mode,
                                  options=options)
        # Large data start in spectral states (decision 57); the choice is the spec's.
        start = starting_coordinates(index, self.spec)
        spec = self.spec if start is None else start[0]
        if start is not None:
            stage(f"starting in {start[1]} ({start[2]})")
        model = build(spec)
        built = time.perf_counter()
        stage(_sampling_stage(config))
        checked: dict[int, Diagnostics] = {}

        def heard(draws: int, found: Diagnostics, next_step: str) -> None:
            checked[draws] = found
            stage(_check_message(draws, found, next_step))

        # Adapted coordinates are defined for one latent (decision 33), so a model of
        # several dimensions keeps its own.
        idata, record, spec, check = _sample(
            model, build, spec, index, config, adapt=self.spec.adapt_coordinates and not several,
            stage=stage, on_check=heard, progress=progress, trace_storage=trace_storage)
        sampled = time.perf_counter()
        stage("checking convergence")
        raw = idata["posterior"].to_dataset()
        # An until-reliable run checked the draws it kept already (at size L that
        # takes about half a minute): those diagnostics are the fit's.
        described = record.describe() if record.stopped_by != "fixed length" else ""
        if start is not None:
            described = f"started in {start[1]} ({start[2]}); {described}".rstrip("; ")
        diagnostics = dataclasses.replace(
            checked.get(record.draws) or check(idata), sampling_seconds=sampled - built,
            build_seconds=built - started, run=described)
        labelled, outcome_group, outcome_diagnostics = _outcome(
            raw, index, design, mode, self.spec, config, stage=stage, progress=progress)
        result = FitResult(
            posterior=_posterior_tree(idata, labelled, raw.attrs, outcome_group, data),
            data=data,
            spec=self.spec,
            diagnostics=diagnostics,
            settings=_settings(config, mode, index, record, spec, self.spec),
            outcome_diagnostics=outcome_diagnostics,
        )
        # The index this fit was built from is the fit's own (FitResult.index): stored in
        # the cached property's slot, so that no post-fit step builds it again.
        vars(result)["index"] = index
        diagnostics.warn()
        if outcome_diagnostics is not None:
            outcome_diagnostics.warn("outcome model (stage 2) posterior")
        return result


def _sampling_stage(config: SamplerConfig) -> str:
    """The status line as sampling starts."""
    if config.method != "nuts":
        return f"fitting ADVI (APPROXIMATE), then {config.chains} x {config.draws} draws"
    if config.extends:
        return (f"sampling ({config.backend}, {config.chains} chains x {config.draws} draws, "
                f"up to {config.draw_limit} until reliable)")
    return f"sampling ({config.backend}, {config.chains} chains x {config.draws} draws)"


def _check_message(draws: int, found: Diagnostics, next_step: str) -> str:
    """The status line after a convergence check at ``draws`` per chain."""
    verdict = ("restarting at a higher target acceptance" if next_step == "restart"
               else "ok" if found.ok else "sampling on" if next_step == "sample on"
               else "FAIL")
    divergent = f", {found.divergences} divergent" if found.divergences else ""
    return (f"{draws} draws per chain: R-hat {found.max_rhat:.3f}, ESS "
            f"{found.min_ess_bulk:.0f}/{found.min_ess_tail:.0f}{divergent}: {verdict}")


def _sample(
    model: pm.Model, build: Callable[[ModelSpec], pm.Model], spec: ModelSpec,
    index: ModelIndex, config: SamplerConfig, *, adapt: bool, stage: Callable[[str], None],
    on_check: Callable[[int, Diagnostics, str], None], progress: bool, trace_storage: str,
) -> tuple[xr.DataTree, RunRecord, ModelSpec, Check]:
    """Sample ``model``, built from ``spec``; with ``adapt``, a run whose first check
    fails may be given up and ``build`` 's model of adapted coordinates sampled instead
    (decision 33), its record then covering both runs. Returns the draws, the run
    record, the spec of the model sampled last and that model's check."""
    check = measurement_check(model)
    adapted: list[tuple[ModelSpec, str, str]] = []

    def switch(tree: xr.DataTree, found: Diagnostics) -> bool:
        # Coordinates chosen from the failing first check's posterior.
        if not adapt:
            return False
        choice = adapted_coordinates(tree["posterior"].to_dataset(), index, spec)
        if choice is not None:
            adapted.append(choice)
            stage(f"sampling again with {choice[1]} ({choice[2]})")
        return choice is not None

    idata, record = run(model, config, progress=progress, trace_storage=trace_storage,
                        check=check, on_check=on_check, switch=switch)
    if record.stopped_by != "new coordinates":
        return idata, record, spec, check
    spec, coordinates, _ = adapted[0]
    model = build(spec)
    check = measurement_check(model)
    first = record
    idata, record = run(model, config, progress=progress, trace_storage=trace_storage,
                        check=check, on_check=on_check)
    record = dataclasses.replace(record, checks=first.checks + record.checks,
                                 coordinates=coordinates, seconds=first.seconds + record.seconds)
    return idata, record, spec, check


def _outcome(
    raw: xr.Dataset, index: ModelIndex, design: Any, mode: str | None, spec: ModelSpec,
    config: SamplerConfig, *, stage: Callable[[str], None], progress: bool,
) -> tuple[xr.Dataset, xr.Dataset | None, Diagnostics | None]:
    """The labelled measurement posterior (:func:`label_posterior`) and the outcome
    model's posterior and diagnostics: taken out of the joint model's draws, or
    sampled on the measurement posterior (two-stage); ``None`` without an outcome
    model (and for the diagnostics of a joint one, which are the fit's)."""
    outcome_group, outcome_diagnostics = None, None
    if mode == "joint":
        outcome_group = predictor.outcome_posterior(raw, design, "joint")
        raw = raw.drop_vars([*outcome_group.data_vars, "outcome_region_raw"], errors="ignore")
    labelled = label_posterior(raw, index)
    if mode == "two_stage":
        stage(f"sampling the outcome model ({len(design.case_ids)} cases, two-stage)")
        latent = predictor.outcome_latent(labelled)
        outcome_group, outcome_diagnostics = predictor.fit_two_stage(
            latent, index, design, spec.outcome,
            sampler=predictor.stage_two_sampler(config, latent), progress=progress)
    return labelled, outcome_group, outcome_diagnostics


def _posterior_tree(idata: xr.DataTree, labelled: xr.Dataset, attrs: dict,
                    outcome_group: xr.Dataset | None, data: CredibilityData) -> xr.DataTree:
    """The fit's DataTree: the sampler's groups, the labelled posterior in place of the
    raw one (keeping its attributes) and the outcome posterior as ``outcome``."""
    tree = idata.copy()
    tree["posterior"] = xr.DataTree(labelled)
    tree["posterior"].attrs.update(attrs)
    if outcome_group is not None:
        tree["outcome"] = xr.DataTree(outcome_group)
    tree.attrs.update({"synthetic_data": str(_is_synthetic(data)).lower()})
    return tree


def _settings(config: SamplerConfig, mode: str | None, index: ModelIndex, record: RunRecord,
              spec: ModelSpec, fitted: ModelSpec) -> dict[str, Any]:
    """:attr:`FitResult.settings`: the sampler configuration, the outcome mode, the
    signals left out, the run record and, when ``spec`` (the spec sampled last) is not
    the ``fitted`` one, its coordinates."""
    return {**config.to_dict(), "outcome": mode or "none",
            "unused_signals": list(index.unused_signals),
            "run": record.to_dict(),
            **({"coordinates": {"centred_states": list(spec.centred_states),
                                "residual_signal": spec.residual_signal,
                                "spectral_states": spec.spectral_states}}
               if spec is not fitted else {})}


def _build(data: CredibilityData, spec: ModelSpec, index: ModelIndex, design: Any,
           mode: str | None, options: dict[str, bool]) -> pm.Model:
    """The model a fit samples: the joint model or the measurement model alone."""
    if mode == "joint":
        return predictor.build_joint_model(data, spec, index=index, design=design, **options)
    return build_measurement_model(data, spec, index=index, **options)


def measurement_check(model: pm.Model) -> Check:
    """The diagnostics a measurement fit of ``model`` reports and must pass: R-hat and
    ESS of its free variables and latent credibility cells (and each dimension's cells in
    a model of several dimensions, with the lasting levels and within paths of its
    between-within dimensions), and divergences (for
    :func:`~credibility.inference.sampling.run`'s ``check``).

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> check = measurement_check(build_measurement_model(load_dataset("demo")))
    >>> callable(check)
    True
    """
    names = [*(v.name for v in model.free_RVs), "credibility_cell",
             *(name for name in ("dimension_cell", "between_level", "within_cell")
               if name in model.named_vars)]

    def check(tree: xr.DataTree) -> Diagnostics:
        return compute_diagnostics(tree["posterior"].to_dataset()[names],
                                   tree["sample_stats"].to_dataset(), sampling_seconds=0.0)

    return check


def _outcome_mode(outcome: str, data: CredibilityData) -> str | None:
    """Resolve ``fit(outcome=...)`` against the data; ``None`` means no outcome model."""
    choices = ("auto", *predictor.OUTCOME_MODES, "none")
    if outcome not in choices:
        raise FitError(f"unknown outcome mode {outcome!r}; expected one of {', '.join(choices)}")
    has_outcomes = data.cases is not None and bool(data.cases["outcome"].notna().any())
    if outcome == "auto":
        return "two_stage" if has_outcomes else None
    if outcome == "none":
        return None
    if not has_outcomes:
        raise FitError(
            f"outcome={outcome!r} needs deterrence cases with observed outcomes; the data have "
            f"{'no cases table' if data.cases is None else 'none'}"
        )
    return outcome


def _is_synthetic(data: CredibilityData) -> bool:
    """Simulated in this Python process, or every signal row's source says SYNTHETIC."""
    simulated = any("simulated" in name for name in data.sources.values())
    labelled = bool(data.signals["source"].str.contains("SYNTHETIC").all())
    return simulated or labelled
