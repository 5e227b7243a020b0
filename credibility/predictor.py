"""The deterrence-success predictor (equations in docs/model.md).

For a deterrence case ``c`` -- a challenge to commitment ``i(c)`` in period
``t(c)`` -- the outcome model is::

    logit P(success_c) = b0 + b_x * x[i(c), t(c)] + z_c . gamma + u[region(c)]

``x`` is the commitment's credibility on the reported (standardised) scale, so
``b_x`` is the change in log-odds per posterior-sd of credibility across all
commitment-periods; ``z_c`` are the spec's covariates standardised over the
fitted cases; ``u`` are sum-to-zero region effects with a half-normal scale.

Two ways to fit it:

``joint``
    the outcome likelihood is added to the measurement model and everything is
    sampled at once; the outcomes inform credibility too.
``two_stage``
    the outcome model is fitted after the measurement model, with the credibility
    of the fitted cases' cells as latent variables whose prior is the stage-1
    posterior (a multivariate normal matched to its draws). The measurement
    uncertainty is carried into the coefficients (errors-in-variables) but the
    outcomes cannot move the measurement posterior.

A spec of two ``[model] dimensions`` (capability and willingness, say) has the
predictor of two dimensions, in both modes::

    logit P(success_c) = b0 + b_1 * x1_c + b_2 * x2_c + b_int * x1_c * x2_c
                         + z_c . gamma + u[region(c)]

with ``x1``, ``x2`` each dimension standardised per draw (``dimension_credibility``),
the slopes ``outcome_dimension`` (dim ``dimension``) and the interaction
``outcome_interaction``. In two-stage fits stage 1's uncertainty is carried as a
normal matched to the draws of the pairs ``(x1, x2)`` at the cases' cells, so each
case's two values keep their posterior correlation; joint fits take the model's own
``dimension_cell``. More than two dimensions are refused
(:func:`check_outcome_dimensions`).

Predictions for any case at a commitment-period of the data combine posterior
draws of the coefficients with draws of the stage-1 (two-stage) or joint
posterior credibility at that cell. Everything here is a pure function of
arrays, datasets and the spec; :mod:`credibility.results.fitting` runs the workflow.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy.special import expit

from credibility.data.container import CredibilityData
from credibility.data.spec import ModelSpec, OutcomeSpec
from credibility.errors import FitError, PredictionError
from credibility.inference.diagnostics import Diagnostics, compute_diagnostics
from credibility.inference.sampling import SamplerConfig, run
from credibility.measurement import build_measurement_model
from credibility.model.index import ModelIndex, build_index

#: Ways of fitting the outcome model.
OUTCOME_MODES: tuple[str, ...] = ("joint", "two_stage")

#: Columns of a prediction table (docs/data.md).
PREDICTION_COLUMNS = ("case_id", "p_mean", "p_sd", "p_q05", "p_q50", "p_q95")

#: Distinct case cells above which the stage-1 normal is block-diagonal by commitment:
#: a dense factor costs cells**2 per gradient (1,800 real-data cells: minutes per
#: 1,000 draws), blocks cost the sum of squared block sizes.
DENSE_CELLS_MAX = 400

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


def stage_one_normal(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and Cholesky factor of a normal matched to ``(sample, cell)`` draws.

    The sample covariance is shrunk towards its diagonal by ``m / S`` (``m`` cells,
    ``S`` draws): negligible when draws far outnumber cells, and it keeps the
    factorisation defined when they do not.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> mean, chol = stage_one_normal(rng.normal(size=(4000, 2)) @ [[1.0, 0.5], [0.0, 1.0]])
    >>> np.round(chol @ chol.T, 1)
    array([[1. , 0.5],
           [0.5, 1.2]])
    """
    draws = np.asarray(draws, dtype=np.float64)
    samples, cells = draws.shape
    if samples < 2:
        raise PredictionError("the stage-1 posterior needs at least two draws")
    mean = draws.mean(axis=0)
    cov = np.atleast_2d(np.cov(draws, rowvar=False))
    shrink = min(1.0, cells / samples)
    cov = (1.0 - shrink) * cov + shrink * np.diag(np.diag(cov))
    cov[np.diag_indices(cells)] += 1e-9 * max(float(np.mean(np.diag(cov))), 1e-12)
    return mean, np.linalg.cholesky(cov)


@dataclass(frozen=True)
class BlockCholesky:
    """Cholesky factors of a block-diagonal covariance, padded to the largest block.

    ``factors[b]`` is block ``b``'s lower-triangular factor (zero-padded) and
    ``positions[b, j]`` the row of its ``j``-th member in the full vector (-1: padding).
    """

    factors: np.ndarray
    positions: np.ndarray


def stage_one_blocks(draws: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, BlockCholesky]:
    """Like :func:`stage_one_normal`, but only correlations within each group are kept.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> mean, blocks = stage_one_blocks(rng.normal(size=(4000, 3)), np.array([0, 1, 0]))
    >>> blocks.factors.shape, blocks.positions.tolist()
    ((2, 2, 2), [[0, 2], [1, -1]])
    """
    draws = np.asarray(draws, dtype=np.float64)
    labels, members = np.unique(groups, return_inverse=True)
    size = int(np.bincount(members).max())
    factors = np.zeros((labels.size, size, size))
    positions = np.full((labels.size, size), -1, dtype=np.int64)
    for b in range(labels.size):
        rows = np.flatnonzero(members == b)
        _, factors[b, :rows.size, :rows.size] = stage_one_normal(draws[:, rows])
        positions[b, :rows.size] = rows
    return draws.mean(axis=0), BlockCholesky(factors, positions)


def build_two_stage_model(
    design: OutcomeDesign, mean: np.ndarray, chol: np.ndarray | BlockCholesky | None,
    outcome: OutcomeSpec, *, unique_cell: np.ndarray | None = None,
    dimensions: tuple[str, ...] | None = None,
) -> pm.Model:
    """The stage-2 outcome model; credibility at the cases' cells is latent.

    With two ``dimensions``, ``mean`` and ``chol`` describe the stage-1 posterior of
    the cells' dimensions flattened cell by cell (``(cell, dimension)`` in C order:
    :func:`stage_one_draws` of ``dimension_credibility``), so a cell's two values are
    neighbours and keep their correlation; :func:`add_outcome_model` gets them as
    ``(case, dimension)``.

    ``mean`` and ``chol`` describe the stage-1 posterior of the distinct case
    cells (:func:`stage_one_normal`); ``unique_cell[c]`` maps case ``c`` to its
    row there (default: one row per case); ``chol`` may be a :class:`BlockCholesky`
    (:func:`stage_one_blocks`). ``chol=None`` fixes credibility at
    ``mean``: the *plug-in* model that ignores measurement uncertainty, kept only
    to show what that omission costs (tests and benchmarks); never use it for
    inference.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> design = outcome_design(load_dataset("demo"))
    >>> model = build_two_stage_model(design, np.zeros(design.size), np.eye(design.size),
    ...                               load_dataset("demo").spec.outcome)
    >>> sorted(v.name for v in model.free_RVs)[:3]
    ['case_cell_innovation', 'outcome_covariate', 'outcome_credibility']
    """
    mapping = np.arange(design.size) if unique_cell is None else np.asarray(unique_cell)
    with pm.Model() as model:
        if chol is None:
            x = pt.as_tensor(np.asarray(mean, dtype=np.float64))
        else:
            model.add_coord("case_cell", np.arange(len(mean)))
            z = pm.Normal("case_cell_innovation", 0.0, 1.0, dims="case_cell")
            if isinstance(chol, BlockCholesky):
                valid = chol.positions >= 0
                padded = pt.zeros(chol.positions.shape)[np.nonzero(valid)].set(
                    z[chol.positions[valid]])
                within = (pt.as_tensor(chol.factors) * padded[:, None, :]).sum(axis=-1)
                x = pt.as_tensor(mean) + pt.zeros(len(mean))[chol.positions[valid]].set(
                    within[np.nonzero(valid)])
            else:
                x = pt.as_tensor(mean) + pt.dot(pt.as_tensor(chol), z)
        if dimensions is not None:
            x = x.reshape((-1, len(dimensions)))
        add_outcome_model(design, x[mapping], outcome, dimensions)
    return model


def stage_one_draws(
    credibility: xr.DataArray, index: ModelIndex, cells: np.ndarray
) -> np.ndarray:
    """``(sample, cell)`` draws of the labelled credibility posterior at index cells.

    For ``dimension_credibility`` (with a ``dimension`` dim) the draws are
    ``(sample, cell * dimension)``, the dimensions of each cell next to each other.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> index = build_index(load_dataset("demo"))
    >>> grid = xr.DataArray(np.zeros((1, 3, 2, len(index.commitments), index.periods.size)),
    ...                     dims=("chain", "draw", "dimension", "commitment", "period"))
    >>> stage_one_draws(grid, index, np.arange(4)).shape
    (3, 8)
    """
    unit = index.cells.unit[cells]
    period = index.cells.period[cells]
    draws = _flat(_dimension_last(credibility))[:, unit, period]
    return draws.reshape(draws.shape[0], -1)


def stage_two_sampler(config: SamplerConfig, credibility: xr.DataArray) -> SamplerConfig:
    """Stage 2's sampler for the stage-1 posterior ``credibility``: ``config`` with seed
    + 1, stage 1's chains and draws and a fixed length, so that the two posteriors pair
    draw by draw, and stage 2 sampled again on a kept stage 1 repeats a fit's.

    Examples
    --------
    >>> draws = xr.DataArray(np.zeros((2, 300, 1, 1)),
    ...                      dims=("chain", "draw", "commitment", "period"))
    >>> sampler = stage_two_sampler(SamplerConfig(seed=4), draws)
    >>> sampler.seed, sampler.chains, sampler.draws, sampler.until_reliable
    (5, 2, 300, False)
    """
    return config.replace(seed=config.seed + 1, chains=credibility.sizes["chain"],
                          draws=credibility.sizes["draw"], until_reliable=False,
                          max_draws=None)


def fit_two_stage(
    credibility: xr.DataArray,
    index: ModelIndex,
    design: OutcomeDesign,
    outcome: OutcomeSpec,
    *,
    plug_in: bool = False,
    sampler: SamplerConfig | None = None,
    progress: bool = True,
) -> tuple[xr.Dataset, Diagnostics]:
    """Stage 2: sample the outcome model on the stage-1 credibility posterior.

    ``credibility`` is the labelled ``(chain, draw, commitment, period)`` stage-1
    posterior, or ``dimension_credibility`` ``(chain, draw, dimension, commitment,
    period)`` of two dimensions (:func:`outcome_latent`): the model of two dimensions,
    whose stage-1 normal is over each case cell's pair of dimensions. Cases that share
    a cell share its latent credibility. ``sampler``
    (default: ``SamplerConfig(until_reliable=False)``) should have as many chains
    and draws as stage 1 and a fixed length, so that predictions can pair the two
    posteriors draw by draw. ``plug_in=True`` fixes credibility at its posterior means
    (:func:`build_two_stage_model`); it is for comparisons only.
    """
    sampler = sampler if sampler is not None else SamplerConfig(until_reliable=False)
    started = time.perf_counter()
    dimensions = (tuple(str(d) for d in credibility["dimension"].values)
                  if "dimension" in credibility.dims else None)
    if dimensions is not None:
        check_outcome_dimensions(dimensions, "two_stage")
    per_cell = 1 if dimensions is None else len(dimensions)
    unique, mapping = np.unique(design.cell, return_inverse=True)
    draws_at_cells = stage_one_draws(credibility, index, unique)
    if unique.size * per_cell > DENSE_CELLS_MAX:
        mean, chol = stage_one_blocks(draws_at_cells,
                                      np.repeat(index.cells.unit[unique], per_cell))
    else:
        mean, chol = stage_one_normal(draws_at_cells)
    model = build_two_stage_model(design, mean, None if plug_in else chol, outcome,
                                  unique_cell=mapping, dimensions=dimensions)
    built = time.perf_counter()
    tree, _ = run(model, sampler, progress=progress)
    sampled = time.perf_counter()
    raw = tree["posterior"].to_dataset()
    free = [v.name for v in model.free_RVs]
    latent = "case_credibility" if dimensions is None else "case_dimension"
    diagnostics = compute_diagnostics(raw[[*free, latent]] if not plug_in
                                      else raw[free], tree["sample_stats"].to_dataset(),
                                      sampling_seconds=sampled - built,
                                      build_seconds=built - started)
    mode = "plug_in" if plug_in else "two_stage"
    return outcome_posterior(raw, design, mode), diagnostics


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


def _dimension_last(values: xr.DataArray) -> xr.DataArray:
    """``values`` with a ``dimension`` dim (if any) moved last."""
    return values.transpose(..., "dimension") if "dimension" in values.dims else values


def _flat(values: xr.DataArray) -> np.ndarray:
    """``(chain, draw, ...)`` -> ``(sample, ...)``."""
    stacked = values.stack(sample=("chain", "draw")).transpose("sample", ...)
    return stacked.values


def linear_predictor(
    outcome: xr.Dataset, x: np.ndarray, covariates: np.ndarray, region: np.ndarray
) -> np.ndarray:
    """Per-draw log-odds of success, ``(sample, case)``.

    ``x`` is ``(sample, case)`` credibility paired draw by draw with ``outcome``
    (for the model of two dimensions, ``(sample, case, dimension)``);
    ``covariates`` are raw (``(case, covariate)``; standardised here with the
    fitted cases' centre and scale) and ``region`` the cases' region positions.

    Examples
    --------
    >>> outcome = xr.Dataset(
    ...     {"outcome_intercept": (("chain", "draw"), [[0.5]]),
    ...      "outcome_dimension": (("chain", "draw", "dimension"), [[[1.0, 2.0]]]),
    ...      "outcome_interaction": (("chain", "draw"), [[0.8]])},
    ...     attrs={"covariate_center": "[]", "covariate_scale": "[]"})
    >>> linear_predictor(outcome, np.array([[[1.0, -1.0]]]), np.zeros((1, 0)),
    ...                  np.zeros(1, dtype=int))
    array([[-1.3]])
    """
    center = np.asarray(json.loads(outcome.attrs["covariate_center"]), dtype=np.float64)
    scale = np.asarray(json.loads(outcome.attrs["covariate_scale"]), dtype=np.float64)
    eta = _flat(outcome["outcome_intercept"])[:, None]
    if "outcome_dimension" in outcome:
        slopes = _flat(outcome["outcome_dimension"].transpose("chain", "draw", "dimension"))
        eta = (eta + np.einsum("scd,sd->sc", x, slopes)
               + _flat(outcome["outcome_interaction"])[:, None] * x[..., 0] * x[..., 1])
    else:
        eta = eta + _flat(outcome["outcome_credibility"])[:, None] * x
    if center.size:
        z = (np.asarray(covariates, dtype=np.float64) - center) / scale
        eta = eta + _flat(outcome["outcome_covariate"]) @ z.T
    if "outcome_region" in outcome:
        eta = eta + _flat(outcome["outcome_region"])[:, region]
    return eta


def predict_probabilities(
    credibility: xr.DataArray, outcome: xr.Dataset, cases: pd.DataFrame, regions: pd.Series,
) -> np.ndarray:
    """Draws of P(success), ``(sample, case)``, for validated ``cases``.

    ``credibility`` is the ``(chain, draw, commitment, period)`` posterior (for the
    model of two dimensions ``dimension_credibility``, :func:`outcome_latent`);
    ``regions`` maps commitment_id to region. Its draws are paired with the
    outcome draws by position, which must match in number: the joint posterior
    (same draws) or a stage-2 run with as many draws as stage 1 (independent
    chains, so pairing by position samples the product of the two posteriors).
    """
    if ("dimension" in credibility.dims) != ("outcome_dimension" in outcome):
        raise PredictionError(
            "the credibility posterior and the outcome model differ in their dimensions; "
            "expected dimension_credibility for an outcome model of several dimensions and "
            "credibility for one of one dimension")
    x_all = _flat(_dimension_last(credibility))
    params = _flat(outcome["outcome_intercept"])
    if x_all.shape[0] != params.shape[0]:
        raise PredictionError(
            f"the credibility posterior has {x_all.shape[0]} draws and the outcome posterior "
            f"{params.shape[0]}; expected the same number (refit the outcome model)"
        )
    commitments = list(credibility["commitment"].values)
    periods = [int(p) for p in credibility["period"].values]
    unit = cases["commitment_id"].map({c: i for i, c in enumerate(commitments)}).to_numpy()
    period = cases["period"].map({p: j for j, p in enumerate(periods)}).to_numpy()
    x = x_all[:, unit.astype(np.int64), period.astype(np.int64)]
    if np.isnan(x).any():
        bad = int(np.flatnonzero(np.isnan(x.reshape(x.shape[0], x.shape[1], -1)).any(
            axis=(0, 2)))[0])
        raise PredictionError(
            f"case {cases['case_id'].iloc[bad]!r}: no credibility posterior for "
            f"{cases['commitment_id'].iloc[bad]!r} in {int(cases['period'].iloc[bad])}"
        )
    covariates, region = _case_arrays(outcome, cases, regions)
    return expit(linear_predictor(outcome, x, covariates, region))


def summarise_probabilities(case_ids: pd.Series, draws: np.ndarray) -> pd.DataFrame:
    """``case_id, p_mean, p_sd, p_q05, p_q50, p_q95`` from ``(sample, case)`` draws.

    Examples
    --------
    >>> draws = np.random.default_rng(0).uniform(size=(1000, 2))
    >>> summarise_probabilities(pd.Series(["a", "b"]), draws).columns.tolist()
    ['case_id', 'p_mean', 'p_sd', 'p_q05', 'p_q50', 'p_q95']
    """
    q05, q50, q95 = np.quantile(draws, [0.05, 0.5, 0.95], axis=0)
    return pd.DataFrame({
        "case_id": list(case_ids),
        "p_mean": draws.mean(axis=0),
        "p_sd": draws.std(axis=0, ddof=1),
        "p_q05": q05,
        "p_q50": q50,
        "p_q95": q95,
    })


def fitted_log_likelihood(
    outcome: xr.Dataset, fitted: pd.DataFrame, regions: pd.Series
) -> xr.DataArray:
    """Pointwise log-likelihood ``(chain, draw, case)`` of the fitted outcomes.

    ``fitted`` are the cases with an observed outcome, in the order they were
    fitted (``data.cases`` rows with an outcome). The fitted cases' credibility in
    the same draws (``case_credibility``) is used, so this is the model's own
    likelihood term in both modes.
    """
    x = outcome["case_dimension" if "case_dimension" in outcome else "case_credibility"]
    covariates, region = _case_arrays(outcome, fitted, regions)
    eta = linear_predictor(outcome, _flat(_dimension_last(x)), covariates, region)
    y = fitted["outcome"].to_numpy(np.float64)
    log_lik = -(y * np.logaddexp(0.0, -eta) + (1.0 - y) * np.logaddexp(0.0, eta))
    return xr.DataArray(log_lik.reshape(x.sizes["chain"], x.sizes["draw"], y.size),
                        dims=("chain", "draw", "case"),
                        coords={"chain": x["chain"], "draw": x["draw"], "case": x["case"]})


def _case_arrays(
    outcome: xr.Dataset, cases: pd.DataFrame, regions: pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """Raw covariates ``(case, covariate)`` and region positions of validated cases."""
    names = json.loads(outcome.attrs["covariate_names"])
    region_names = json.loads(outcome.attrs["regions"])
    region = cases["commitment_id"].map(regions).map(
        {r: j for j, r in enumerate(region_names)}).to_numpy(np.int64)
    covariates = cases[names].to_numpy(np.float64).reshape(len(cases), len(names))
    return covariates, region
