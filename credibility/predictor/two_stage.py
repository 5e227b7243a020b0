"""The two-stage fit of the outcome model: stage 2 on the stage-1 credibility posterior.

The credibility of the fitted cases' cells enters the outcome model as latent
variables whose prior is the stage-1 posterior, a multivariate normal matched to its
draws (:func:`stage_one_normal`; block-diagonal by commitment for many cells,
:func:`stage_one_blocks`). The measurement uncertainty is carried into the
coefficients (errors-in-variables), but the outcomes cannot move the measurement
posterior. :func:`fit_two_stage` samples it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from credibility.data.spec import OutcomeSpec
from credibility.errors import PredictionError
from credibility.inference.diagnostics import Diagnostics, compute_diagnostics
from credibility.inference.sampling import SamplerConfig, run
from credibility.model.index import ModelIndex
from credibility.predictor.outcome import (
    OutcomeDesign,
    add_outcome_model,
    check_outcome_dimensions,
    outcome_posterior,
)
from credibility.predictor.prediction import _dimension_last, _flat

#: Distinct case cells above which the stage-1 normal is block-diagonal by commitment:
#: a dense factor costs cells**2 per gradient (1,800 real-data cells: minutes per
#: 1,000 draws), blocks cost the sum of squared block sizes.
DENSE_CELLS_MAX = 400


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
    >>> from credibility.predictor import outcome_design
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
    >>> from credibility.model.index import build_index
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
