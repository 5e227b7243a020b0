"""The outcome model: the deterrence cases as arrays, the outcome likelihood, the joint
model and the outcome posterior (equations in :mod:`credibility.predictor` and
docs/model.md).

:func:`outcome_design` makes the fitted cases an :class:`OutcomeDesign`;
:func:`add_outcome_model` adds the outcome parameters and likelihood to a PyMC model,
:func:`build_joint_model` to the measurement model (``joint`` mode), and
:func:`outcome_posterior` keeps the outcome parameters of a sampled model with what
predictions need.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from credibility.data.container import CredibilityData
from credibility.data.spec import ModelSpec, OutcomeSpec
from credibility.errors import FitError, PredictionError
from credibility.measurement import build_measurement_model
from credibility.model.index import ModelIndex, build_index

#: Ways of fitting the outcome model.
OUTCOME_MODES: tuple[str, ...] = ("joint", "two_stage")


#: Free parameters of the outcome model (and derived region effects), as stored.
OUTCOME_PARAMETERS = ("outcome_intercept", "outcome_credibility", "outcome_dimension",
                      "outcome_interaction", "outcome_covariate", "outcome_region_sd",
                      "outcome_region")

#: The fitted cases' latent values in the same draws, as stored (one dimension; several).
CASE_LATENTS = ("case_credibility", "case_dimension")


def check_outcome_dimensions(dimensions: tuple[str, ...], mode: str) -> None:
    """Refuse the outcome models of several dimensions that are not built: those of
    more than two dimensions (pairwise or higher interactions are not specified).

    Parameters
    ----------
    dimensions : tuple of str
        The spec's ``[model] dimensions``.
    mode : str
        ``"joint"`` or ``"two_stage"``.

    Raises
    ------
    FitError
        With more than two dimensions.

    Examples
    --------
    >>> check_outcome_dimensions(("capability", "willingness"), "joint")
    >>> try:
    ...     check_outcome_dimensions(("capability", "willingness", "resolve"), "two_stage")
    ... except FitError as error:
    ...     print("one or two dimensions" in str(error))
    True
    """
    if len(dimensions) > 2:
        raise FitError(
            f"the deterrence-success predictor takes one or two dimensions; the spec has "
            f"{len(dimensions)} ({', '.join(dimensions)}): fit the measurement model alone "
            "with outcome='none' (--outcome none)")


def outcome_latent(posterior: xr.Dataset) -> xr.DataArray:
    """The labelled latent the outcome model takes: ``dimension_credibility``
    ``(chain, draw, dimension, commitment, period)`` for a model of several dimensions,
    else ``credibility`` ``(chain, draw, commitment, period)``.

    Parameters
    ----------
    posterior : xarray.Dataset
        A labelled measurement posterior (``label_posterior``).

    Returns
    -------
    xarray.DataArray
        The latent, standardised per draw.

    Examples
    --------
    >>> post = xr.Dataset({"credibility": (("chain", "draw", "commitment", "period"),
    ...                                    np.zeros((1, 2, 1, 1)))})
    >>> outcome_latent(post).name
    'credibility'
    """
    if "dimension_credibility" in posterior:
        return posterior["dimension_credibility"]
    return posterior["credibility"]


@dataclass(frozen=True)
class OutcomeDesign:
    """The fitted cases (observed outcome) as arrays for the outcome model.

    ``cell[c]`` is the case's position among the active commitment-periods of the
    :class:`~credibility.model.index.ModelIndex`; ``covariates`` are standardised
    with ``center`` and ``scale`` (per covariate, over the fitted cases), which
    predictions reuse.
    """

    case_ids: tuple[str, ...]
    cell: np.ndarray
    outcome: np.ndarray
    covariates: np.ndarray
    covariate_names: tuple[str, ...]
    center: np.ndarray
    scale: np.ndarray
    region: np.ndarray
    regions: tuple[str, ...]

    @property
    def size(self) -> int:
        """Number of fitted cases."""
        return len(self.case_ids)


def case_cells(index: ModelIndex, commitment_ids: pd.Series, periods: pd.Series) -> np.ndarray:
    """Position of each (commitment, period) among the index's active cells.

    Raises :class:`PredictionError` for a pair outside every active window.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> index = build_index(load_dataset("demo"))
    >>> cell = case_cells(index, pd.Series(["USA-EST"]), pd.Series([2010]))
    >>> int(index.periods[index.cells.period[cell[0]]])
    2010
    """
    position = {c: i for i, c in enumerate(index.commitments)}
    units = commitment_ids.map(position)
    offsets = np.asarray(periods, dtype=np.int64) - int(index.periods[0])
    lookup = np.full((index.cells.n_units, index.periods.size), -1, dtype=np.int64)
    lookup[index.cells.unit, index.cells.period] = np.arange(index.cells.size)
    inside = units.notna().to_numpy() & (offsets >= 0) & (offsets < index.periods.size)
    cells = np.full(len(units), -1, dtype=np.int64)
    cells[inside] = lookup[units[inside].to_numpy(np.int64), offsets[inside]]
    if units.isna().any():
        bad = int(np.flatnonzero(units.isna().to_numpy())[0])
        raise PredictionError(f"case {bad + 1}: unknown commitment {commitment_ids.iloc[bad]!r}; "
                              "expected a commitment_id of the fitted data")
    if (cells < 0).any():
        bad = int(np.flatnonzero(cells < 0)[0])
        raise PredictionError(
            f"case {bad + 1}: commitment {commitment_ids.iloc[bad]!r} in period "
            f"{int(np.asarray(periods)[bad])} is not an active commitment-period of the fitted "
            "data; expected a period inside the commitment's window"
        )
    return cells


def outcome_design(data: CredibilityData, index: ModelIndex | None = None) -> OutcomeDesign:
    """The fitted cases of ``data`` as an :class:`OutcomeDesign`.

    Raises :class:`PredictionError` when there is no case with an observed outcome,
    when all outcomes are equal (nothing to learn a slope from) or a covariate is
    constant over the fitted cases.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> design = outcome_design(load_dataset("demo"))
    >>> design.size > 50, design.covariate_names
    (True, ('capability_ratio', 'challenger_nuclear'))
    """
    index = index or build_index(data)
    cases = data.cases
    if cases is None or cases["outcome"].notna().sum() == 0:
        raise PredictionError(
            "the data have no deterrence case with an observed outcome; expected a cases "
            "table with outcome 1 (held) or 0 (failed) in some rows"
        )
    fitted = cases[cases["outcome"].notna()]
    outcome = fitted["outcome"].to_numpy(np.int64)
    if outcome.min() == outcome.max():
        raise PredictionError(
            f"every fitted case has outcome {outcome[0]}; expected both successes (1) and "
            "failures (0) to estimate the outcome model"
        )
    names = tuple(data.spec.covariates)
    raw = fitted[list(names)].to_numpy(np.float64).reshape(len(fitted), len(names))
    center = raw.mean(axis=0)
    scale = raw.std(axis=0)
    for name, sd in zip(names, scale, strict=True):
        if not sd > 0:
            raise PredictionError(
                f"covariate {name!r} is constant over the fitted cases; expected it to vary "
                "(drop it from [outcome] covariates)"
            )
    region_of = data.commitments.set_index("commitment_id")["region"]
    regions = tuple(index.regions)
    return OutcomeDesign(
        case_ids=tuple(fitted["case_id"]),
        cell=case_cells(index, fitted["commitment_id"], fitted["period"]),
        outcome=outcome,
        covariates=(raw - center) / scale,
        covariate_names=names,
        center=center,
        scale=scale,
        region=fitted["commitment_id"].map(region_of).map(
            {r: j for j, r in enumerate(regions)}).to_numpy(np.int64),
        regions=regions,
    )


def add_outcome_model(
    design: OutcomeDesign, x: pt.TensorVariable, outcome: OutcomeSpec,
    dimensions: tuple[str, ...] | None = None,
) -> None:
    """Add the outcome parameters and likelihood to the PyMC model in context.

    Adds the coordinates ``case``, ``covariate``, (with region effects) ``region``
    and (with ``dimensions``) ``dimension``.

    Parameters
    ----------
    design : OutcomeDesign
        The fitted cases.
    x : pytensor.tensor.TensorVariable
        The credibility of each fitted case (reported scale), ``(case,)``; with
        ``dimensions``, each case's standardised dimensions, ``(case, dimension)``.
    outcome : OutcomeSpec
        The spec's ``[outcome]``: the priors.
    dimensions : tuple of str, optional
        Two dimension names: the model of two dimensions, with slopes
        ``outcome_dimension`` (dim ``dimension``, prior sd ``credibility_sd``) and the
        interaction ``outcome_interaction`` (prior sd ``credibility_sd``) in place of
        ``outcome_credibility``.

    Raises
    ------
    FitError
        If ``dimensions`` names other than two dimensions.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> data = load_dataset("demo")
    >>> design = outcome_design(data)
    >>> with pm.Model() as model:
    ...     add_outcome_model(design, pt.zeros((design.size, 2)), data.spec.outcome,
    ...                       ("capability", "willingness"))
    >>> "outcome_interaction" in model.named_vars
    True
    """
    model = pm.modelcontext(None)
    model.add_coords({"case": list(design.case_ids),
                      "covariate": list(design.covariate_names)})
    eta = pm.Normal("outcome_intercept", 0.0, outcome.intercept_sd)
    if dimensions is None:
        eta = eta + pm.Normal("outcome_credibility", 0.0, outcome.credibility_sd) * x
    else:
        if len(dimensions) != 2:
            raise FitError(f"the outcome model of several dimensions takes two; got "
                           f"{len(dimensions)} ({', '.join(dimensions)})")
        if "dimension" not in model.coords:
            model.add_coord("dimension", list(dimensions))
        slopes = pm.Normal("outcome_dimension", 0.0, outcome.credibility_sd, dims="dimension")
        interaction = pm.Normal("outcome_interaction", 0.0, outcome.credibility_sd)
        eta = eta + pt.dot(x, slopes) + interaction * x[:, 0] * x[:, 1]
    if design.covariate_names:
        gamma = pm.Normal("outcome_covariate", 0.0, outcome.covariate_sd, dims="covariate")
        eta = eta + pt.dot(design.covariates, gamma)
    if outcome.region and len(design.regions) > 1:
        if "region" not in model.coords:
            model.add_coord("region", list(design.regions))
        sd = pm.HalfNormal("outcome_region_sd", outcome.region_sd)
        raw = pm.ZeroSumNormal("outcome_region_raw", sigma=1.0, dims="region")
        region = pm.Deterministic("outcome_region", sd * raw, dims="region")
        eta = eta + region[design.region]
    if dimensions is None:
        pm.Deterministic("case_credibility", x, dims="case")
    else:
        pm.Deterministic("case_dimension", x, dims=("case", "dimension"))
    pm.Bernoulli("obs_outcome", logit_p=eta, observed=design.outcome, dims="case")


def build_joint_model(
    data: CredibilityData, spec: ModelSpec | None = None, *, index: ModelIndex | None = None,
    design: OutcomeDesign | None = None, one_hot: bool = False, fused: bool = False,
) -> pm.Model:
    """Measurement model and outcome model in one PyMC model (``joint`` mode).

    ``one_hot`` and ``fused`` as in :func:`credibility.measurement.build_measurement_model`.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> model = build_joint_model(load_dataset("demo"))
    >>> "outcome_credibility" in model.named_vars and "obs_outcome" in model.named_vars
    True
    """
    spec = spec or data.spec
    index = index or build_index(data, spec)
    design = design or outcome_design(data, index)
    model = build_measurement_model(data, spec, index=index, one_hot=one_hot, fused=fused)
    with model:
        if len(spec.dimensions) > 1:
            check_outcome_dimensions(spec.dimensions, "joint")
            add_outcome_model(design, model["dimension_cell"].T[design.cell], spec.outcome,
                              spec.dimensions)
        else:
            add_outcome_model(design, model["credibility_cell"][design.cell], spec.outcome)
    return model


def outcome_posterior(
    posterior: xr.Dataset, design: OutcomeDesign, mode: str
) -> xr.Dataset:
    """The outcome parameters of a sampled model, with what predictions need in ``attrs``.

    Variables: ``outcome_intercept``, ``outcome_credibility``, ``outcome_covariate``
    (dim ``covariate``), ``outcome_region`` and ``outcome_region_sd`` (when the spec
    has region effects) and ``case_credibility`` (dim ``case``: the fitted cases'
    credibility in the same draws, for the pointwise log-likelihood). The model of two
    dimensions has ``outcome_dimension`` (dim ``dimension``) and
    ``outcome_interaction`` instead of ``outcome_credibility``, and ``case_dimension``
    (dims ``case, dimension``) instead of ``case_credibility``.
    """
    names = [v for v in (*OUTCOME_PARAMETERS, *CASE_LATENTS) if v in posterior]
    out = posterior[names]
    drop = [c for c in out.coords
            if c not in ("chain", "draw", "case", "covariate", "region", "dimension")]
    out = out.drop_vars(drop)
    out = out.assign_coords(case=list(design.case_ids))
    if "covariate" in out.dims:
        out = out.assign_coords(covariate=list(design.covariate_names))
    out.attrs = {
        "mode": mode,
        "covariate_names": json.dumps(list(design.covariate_names)),
        "covariate_center": json.dumps(design.center.tolist()),
        "covariate_scale": json.dumps(design.scale.tolist()),
        "regions": json.dumps(list(design.regions)),
    }
    return out


