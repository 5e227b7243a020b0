"""The measurement model of several latent dimensions (docs/model.md, "Several dimensions").

With ``[model] dimensions = ["capability", "willingness"]`` the latent of every
commitment-period is a vector of *D* dimensions. Each dimension *d* has the structure
of the one-dimension model (:mod:`credibility.measurement`), with its own priors drawn
independently::

    a_d[k, t] = sd_am[d] * za_d[k] + sd_ad[d] * ea_d[k, t]            (alliance level)
    x_d[i, t] = region_d[r(i)] + type_d[y(i)] + a_d[k(i), t] + ec_d[i, t]

and the commitment paths of the dimensions are one process whose innovations are
correlated: ``e[i, t] = ec[i, t] - rho * ec[i, t - 1] ~ MvNormal(0, R)`` (``ar1``,
first period from the joint stationary covariance ``R[d, d'] / (1 - rho_d rho_d')``)
or ``(ec[i, t] - ec[i, t - 1]) / step ~ MvNormal(0, R)`` (``random_walk``, first
period ``MvNormal(0, R)``), with ``R ~ LKJCorr(dimension_correlation_eta)``. Signal
``s`` has the linear predictor ``intercept[s] + sum over d of loading[s, d] * x_d``,
``loading[s, d]`` its ``direction`` times a HalfNormal magnitude on its own dimension
and its ``also`` dimensions, exactly zero elsewhere (the zero pattern pins the
rotation). Identification per dimension: location by centring, scale by the unit
innovation sds (``diag R = 1``), sign by each dimension's pure commitment-level signal.

A dimension in ``[model] between_within`` (docs/model.md, "Between and within") is
split into each commitment's lasting level ``B[i] = group mean + b[i]``, ``b[i] ~ N(0,
1)``, and its within path ``W[i, t]``: the alliance path plus the commitment's own AR(1)
path, less the commitment's own mean of them. Each signal on it has a between and a
within loading, ``lambda_B[s] * B[i] + lambda_W[s] * W[i, t]``.

Parameterisation, kept simple: the commitment states of every dimension are sampled
centred in the latent's own units (``commitment_state``, sum to zero over the cells
in each dimension, plus a free mean ``commitment_level`` per dimension), their
correlated AR(1) or random-walk density added as one vectorised potential; alliance
paths are non-centred; the sampler coordinates of the one-dimension model (scale
coordinate, adapted coordinates, spectral states, marker and residual signals,
decisions 16-18, 31, 33) are not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.transforms import ZeroSumTransform

from credibility.data.container import CredibilityData
from credibility.data.spec import ModelSpec, SignalSpec
from credibility.errors import SpecError
from credibility.model.dynamics import dynamics_matrix
from credibility.model.index import (
    ModelIndex,
    UnitCells,
    build_index,
    model_coords,
    warn_unused_signals,
)
from credibility.model.likelihoods import add_likelihoods
from credibility.model.parameters import signal_parameters, signal_priors

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["build_dimensional_model", "check_dimensional_spec", "loading_pattern"]


def loading_pattern(signals: tuple[SignalSpec, ...], dimensions: tuple[str, ...]) -> np.ndarray:
    """Which dimensions each signal loads on: its own ``dimension`` and its ``also``.

    Parameters
    ----------
    signals : tuple of SignalSpec
        The fitted signals (rows of the result).
    dimensions : tuple of str
        The spec's dimensions (columns of the result).

    Returns
    -------
    numpy.ndarray
        Boolean ``(signal, dimension)`` mask of the free loadings; every other entry
        of the loading matrix is exactly zero.

    Examples
    --------
    >>> from credibility.data.spec import load_spec
    >>> spec = load_spec("capability_willingness")
    >>> loading_pattern(spec.signals[:2], spec.dimensions).tolist()
    [[True, True], [True, False]]
    """
    pattern = np.zeros((len(signals), len(dimensions)), dtype=bool)
    for row, signal in enumerate(signals):
        for dimension in (signal.dimension or dimensions[0], *signal.also):
            pattern[row, dimensions.index(dimension)] = True
    return pattern


def check_dimensional_spec(spec: ModelSpec) -> None:
    """Refuse what the model of several dimensions does not support.

    Parameters
    ----------
    spec : ModelSpec
        A spec of several dimensions.

    Raises
    ------
    SpecError
        If the spec has one dimension, asks for non-centred commitment states or
        centred alliance paths, or for the one-latent sampler coordinates
        (``spectral_states``, ``marker_signal``, ``residual_signal``).

    Examples
    --------
    >>> import dataclasses
    >>> from credibility.data.spec import load_spec
    >>> spec = load_spec("capability_willingness")
    >>> check_dimensional_spec(spec)
    >>> try:
    ...     check_dimensional_spec(dataclasses.replace(spec, centred_states=()))
    ... except SpecError as error:
    ...     print("centred_states must include 'commitment'" in str(error))
    True
    """
    where = spec.source
    if len(spec.dimensions) < 2:
        raise SpecError(f"{where}: the model of several dimensions needs at least two "
                        f"[model] dimensions (got {list(spec.dimensions)})")
    if "commitment" not in spec.centred_states:
        raise SpecError(f"{where}: the model of several dimensions samples the commitment "
                        "states centred: centred_states must include 'commitment' (got "
                        f"{list(spec.centred_states)})")
    if "alliance" in spec.centred_states:
        raise SpecError(f"{where}: the model of several dimensions has non-centred alliance "
                        "paths only: remove 'alliance' from centred_states")
    one_latent = [key for key in ("spectral_states", "marker_signal", "residual_signal")
                  if getattr(spec, key) not in (False, None)]
    if one_latent:
        raise SpecError(f"{where}: [model] {', '.join(one_latent)} cannot be combined with "
                        f"{len(spec.dimensions)} dimensions: their coordinates are defined "
                        "for one latent")


def _zero_sum(name: str, sigma: float, dim: str, n: int, n_dims: int) -> pt.TensorVariable:
    """A sum-to-zero group effect per dimension, ``(dimension, dim)``; a single group
    has nothing to pool and is 0."""
    if n < 2:
        return pt.zeros((n_dims, n))
    return pm.ZeroSumNormal(name, sigma=sigma, dims=("dimension", dim), n_zerosum_axes=1)


def _alliance_paths(cells: UnitCells, rho: pt.TensorVariable, n_dims: int,
                    dynamics: str) -> pt.TensorVariable:
    """Non-centred unit-variance alliance paths of every dimension, ``(dimension, cell)``.

    The standard-normal ``alliance_innovation`` of each dimension, scattered into a
    padded ``(dimension, alliance, longest window)`` array and mapped through that
    dimension's ``L(rho_d)`` (:func:`credibility.model.dynamics.dynamics_matrix`) in one
    batched product.
    """
    innovations = pm.Normal("alliance_innovation", 0.0, 1.0, dims=("dimension", "alliance_cell"))
    padded = pt.zeros((n_dims, cells.n_units, cells.max_length))
    padded = padded[:, cells.unit, cells.local].set(innovations)
    matrix = dynamics_matrix(rho[:, None, None], cells.max_length, dynamics)
    paths = pt.matmul(padded, matrix.transpose(0, 2, 1))
    return paths[:, cells.unit, cells.local]


def _correlated_path_prior(
    paths: pt.TensorVariable, cells: UnitCells, rho: pt.TensorVariable,
    correlation: pt.TensorVariable, cholesky: pt.TensorVariable, dynamics: str,
    demeaned: np.ndarray | None = None,
) -> None:
    """The density of centred commitment paths ``(dimension, cell)`` whose innovations
    are ``MvNormal(0, correlation)``, as the potential ``commitment_prior``.

    ``ar1``: ``paths[:, t] - rho * paths[:, t - 1]`` are the innovations, and a
    commitment's first cell has the joint stationary covariance
    ``correlation[d, d'] / (1 - rho_d rho_d')``. ``random_walk``: the innovations are
    ``(paths[:, t] - paths[:, t - 1]) / rho`` (``rho`` the step sds; the Jacobian
    ``-log prod(rho)`` per step is added) and a first cell is ``MvNormal(0,
    correlation)``. Cells are ordered by commitment, then period, so a cell's
    predecessor is the one before it.

    ``demeaned`` (``(dimension, k)``, the unit columns of the between-within
    dimensions; ``ar1`` only) picks the rows that hold each commitment's path less its
    own mean over its periods: their density is the AR(1) density integrated over that
    mean (:func:`_mean_integral`).
    """
    first = np.flatnonzero(cells.local == 0)
    later = np.flatnonzero(cells.local > 0)
    values = paths.T
    mean = pt.zeros_like(rho)
    if dynamics == "ar1":
        innovations = values[later] - rho * values[later - 1]
        start_covariance = correlation / (1.0 - rho[:, None] * rho[None, :])
        start = pm.logp(pm.MvNormal.dist(mu=mean, cov=start_covariance), values[first]).sum()
        log_jacobian = 0.0
    else:
        innovations = (values[later] - values[later - 1]) / rho
        start = pm.logp(pm.MvNormal.dist(mu=mean, chol=cholesky), values[first]).sum()
        log_jacobian = -later.size * pt.log(rho).sum()
    steps = pm.logp(pm.MvNormal.dist(mu=mean, chol=cholesky), innovations).sum()
    if demeaned is not None:
        log_jacobian = _mean_integral(innovations, values[first], cells, later, rho,
                                      correlation, start_covariance, demeaned)
    pm.Potential("commitment_prior", start + steps + log_jacobian)


def _mean_integral(
    innovations: pt.TensorVariable, starts: pt.TensorVariable, cells: UnitCells,
    later: np.ndarray, rho: pt.TensorVariable, correlation: pt.TensorVariable,
    start_covariance: pt.TensorVariable, columns: np.ndarray,
) -> pt.TensorVariable:
    """What integrating each commitment's own mean ``c`` (one per demeaned row) out of
    the AR(1) density adds to it: ``g' H^-1 g / 2 + k log(2 pi) / 2 - log det H / 2`` per
    commitment, the Gaussian integral of ``exp(log p(v + E c))`` over ``c``.

    Shifting the demeaned rows by ``c`` moves a later cell's innovation by ``M c``
    (``M = diag(1 - rho) E``, ``E = columns`` the unit columns of those rows) and the first cell
    by ``E c``, so ``g = -(M' R^-1 sum of innovations + E' S^-1 first cell)`` is the
    gradient at ``c = 0`` and ``H = (T_i - 1) M' R^-1 M + E' S^-1 E`` the negative
    Hessian (``S`` the stationary covariance, ``T_i`` the commitment's periods).
    """
    n_dims, k = columns.shape
    shift = (1.0 - rho)[:, None] * columns
    inverse = pt.linalg.inv(correlation)
    start_inverse = pt.linalg.inv(start_covariance)
    totals = pt.zeros((cells.n_units, n_dims))[cells.unit[later]].inc(innovations)
    gradient = -(totals @ inverse @ shift + starts @ start_inverse @ columns)
    periods = np.bincount(cells.unit, minlength=cells.n_units).astype(np.float64)
    hessian = ((periods - 1.0)[:, None, None] * (shift.T @ inverse @ shift)[None]
               + (columns.T @ start_inverse @ columns)[None])
    solved = pt.linalg.solve(hessian, gradient[:, :, None], b_ndim=2)[:, :, 0]
    return (0.5 * (gradient * solved).sum()
            + 0.5 * cells.n_units * k * np.log(2.0 * np.pi)
            - 0.5 * pt.log(pt.linalg.det(hessian)).sum())


def build_dimensional_model(
    data: CredibilityData, spec: ModelSpec | None = None, *, index: ModelIndex | None = None,
    one_hot: bool = False,
) -> pm.Model:
    """Build the PyMC measurement model of several dimensions (docs/model.md).

    Per dimension: persistences (or steps), alliance scales, sum-to-zero alliance,
    region and type effects and non-centred alliance paths as in the one-dimension
    model; centred commitment states ``commitment_state`` (``(dimension, cell)``, sum
    to zero over the cells of each dimension: the location anchor) plus a free mean
    ``commitment_level`` per dimension, whose innovations have unit sd (the scale
    anchor) and correlation ``R`` (``dimension_correlation``, LKJ prior with
    ``[priors] dimension_correlation_eta``; the free variable is its Cholesky factor
    ``dimension_correlation_cholesky``). Loadings: ``loading_magnitude`` (dim
    ``loading_entry``, one per signal and dimension it loads on, ``HalfNormal`` with the
    signal's loading sd) times the signal's direction; zero elsewhere.

    ``[model] scale_coordinate`` and ``adapt_coordinates`` are ignored: they choose
    sampler coordinates defined for one latent, and this model has its own.

    The deterministics:

    - ``dimension_cell`` (``dimension, cell``): each dimension standardised per draw
      (mean 0, sd 1 over the active commitment-periods);
    - ``credibility_cell`` (``cell``): the **measurement-only composite**, the mean of
      the standardised dimensions re-standardised per draw (mean 0, sd 1). It weighs
      the dimensions equally; when the outcome model takes the dimensions, its
      weights are to replace it;
    - ``alliance_cell_level`` (``dimension, alliance_cell``): the alliance levels,
      centred as the commitment states and divided by each dimension's sd;
    - ``latent_sd`` (``dimension``): each dimension's sd over the active cells in the
      model's units;
    - ``loading`` (``signal, dimension``): the change in a signal's linear predictor
      per sd of each dimension (zero where it does not load);
    - ``dimension_correlation`` (``dimension, with_dimension``): ``R``;
    - with ``[model] between_within``: ``between_level`` (``between_dimension,
      commitment``, each commitment's lasting level standardised over the commitments),
      ``within_cell`` (``between_dimension, cell``, the within path standardised over
      the cells), ``between_sd``, ``within_sd``, and ``loading_between`` and
      ``loading_within`` (``signal, between_dimension``) per sd of each; the dimension
      (``dimension_cell``) is their sum in the model's units, and its ``loading`` the
      within loading. Free variables: ``between_state``, ``between_mean``,
      ``within_state`` and ``loading_between_magnitude``.

    Parameters
    ----------
    data : CredibilityData
        Validated data.
    spec : ModelSpec, optional
        A spec of several dimensions (default: the spec the data were validated against).
    index : ModelIndex, optional
        ``build_index(data, spec)`` when the caller already has it.
    one_hot : bool
        Gather the per-signal parameters of the likelihood by one-hot products
        (:func:`credibility.model.likelihoods.per_row`).

    Returns
    -------
    pymc.Model
        The model; every likelihood family is an observed variable ``obs_<family>``.

    Raises
    ------
    SpecError
        If the spec asks for what this model does not support
        (:func:`check_dimensional_spec`).

    Examples
    --------
    >>> from credibility.simulate import simulate, synthetic_commitments
    >>> sim = simulate("capability_willingness", synthetic_commitments(4, 2, (2000, 2004)),
    ...                seed=0, last_period=2004)
    >>> model = build_dimensional_model(sim.data)
    >>> model.named_vars_to_dims["dimension_cell"]
    ('dimension', 'cell')
    >>> model.named_vars_to_dims["loading"]
    ('signal', 'dimension')
    """
    spec = spec or data.spec
    check_dimensional_spec(spec)
    index = index or build_index(data, spec)
    warn_unused_signals(index)
    priors = signal_priors(data, spec, index=index)
    signals, cells = index.signals, index.cells
    n_dims = len(spec.dimensions)
    pattern = loading_pattern(signals, spec.dimensions)
    split_rows = spec.between_within_rows
    with pm.Model(coords=_dimension_coords(index, spec, pattern)) as model:
        rho_alliance, rho_commitment = _dynamics_priors(spec)
        groups = _group_levels(index, spec, rho_alliance)
        # Correlated innovations of the commitment paths: R ~ LKJ(eta), unit sds.
        cholesky = pm.LKJCorr("dimension_correlation_cholesky", n=n_dims,
                              eta=spec.priors.dimension_correlation_eta,
                              dims=("dimension", "with_dimension"))
        correlation = pm.Deterministic("dimension_correlation", cholesky @ cholesky.T,
                                       dims=("dimension", "with_dimension"))
        state, level = _commitment_states(cells, n_dims, split_rows)
        _correlated_path_prior(state + level[:, None] - groups.group_mean, cells,
                               rho_commitment, correlation, cholesky, spec.dynamics,
                               np.eye(n_dims)[:, split_rows] if split_rows else None)
        direction = np.array([s.direction for s in signals], dtype=np.float64)
        loading = _pattern_loadings("loading_magnitude", "loading_entry", pattern, signals,
                                    priors, direction)
        # The likelihood's alliance latent: alliance levels less the states' mean.
        alliance_latent = groups.alliance_level - level[:, None]
        split = None
        if split_rows:
            split = _between_within(split_rows, signals, pattern, priors, groups.lasting_mean,
                                    groups.alliance_lasting, groups.alliance_moving,
                                    direction)
            alliance_latent = pt.set_subtensor(alliance_latent[split_rows],
                                               split.alliance_within)
        columns_latent, alliance_columns, loading_columns = _likelihood_columns(
            state, alliance_latent, loading, cells, split)
        parameters = signal_parameters(index, spec, priors, loading_columns,
                                       alliance_columns.T)
        _report(state, alliance_latent, loading, cells, split, split_rows)
        latent = pt.concatenate([columns_latent.T, alliance_columns.T], axis=0)
        add_likelihoods(index.families, signals, latent, loading_columns,
                        **parameters.arguments(), one_hot=one_hot)
    return model


def _dimension_coords(index: ModelIndex, spec: ModelSpec, pattern: np.ndarray
                      ) -> dict[str, list]:
    """The model's coordinates: the index's, the dimensions and the free loadings, and
    with ``[model] between_within`` the between-within dimensions' own."""
    signals, dimensions = index.signals, spec.dimensions
    rows, columns = np.nonzero(pattern)
    coords = {
        **model_coords(index),
        "dimension": list(dimensions),
        "with_dimension": list(dimensions),
        "loading_entry": [f"{signals[r].name}:{dimensions[c]}"
                          for r, c in zip(rows, columns, strict=True)],
    }
    if spec.between_within_rows:
        between_rows, between_columns = np.nonzero(pattern[:, spec.between_within_rows])
        coords["between_dimension"] = list(spec.between_within)
        coords["level_dimension"] = [d for d in dimensions if d not in spec.between_within]
        coords["within_coordinate"] = np.arange(index.cells.size - index.cells.n_units)
        coords["loading_between_entry"] = [
            f"{signals[r].name}:{spec.between_within[c]}"
            for r, c in zip(between_rows, between_columns, strict=True)]
    return coords


def _dynamics_priors(spec: ModelSpec) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Each dimension's alliance and commitment persistences (``ar1``) or step sds
    (``random_walk``), in the model in context."""
    p = spec.priors
    if spec.dynamics == "ar1":
        return (pm.Beta("persistence_alliance", p.persistence_alpha, p.persistence_beta,
                        dims="dimension"),
                pm.Beta("persistence_commitment", p.persistence_alpha, p.persistence_beta,
                        dims="dimension"))
    return (pm.HalfNormal("step_alliance", p.random_walk_step_sd, dims="dimension"),
            pm.HalfNormal("step_commitment", p.random_walk_step_sd, dims="dimension"))


@dataclass(frozen=True)
class _Groups:
    """The alliance levels, ``(dimension, alliance_cell)``, in a lasting and a moving
    part, and the commitments' group means: per cell (``group_mean``, the commitment
    paths' mean) and per commitment (``lasting_mean``, the between levels' mean)."""

    alliance_lasting: pt.TensorVariable
    alliance_moving: pt.TensorVariable
    alliance_level: pt.TensorVariable
    group_mean: pt.TensorVariable
    lasting_mean: pt.TensorVariable


def _group_levels(index: ModelIndex, spec: ModelSpec, rho_alliance: pt.TensorVariable
                  ) -> _Groups:
    """Alliance scales, effects and paths, and region and type effects, of every
    dimension, in the model in context."""
    p, n_dims, cells = spec.priors, len(spec.dimensions), index.cells
    sd_alliance_mean = pm.HalfNormal("sd_alliance_mean", p.alliance_mean_sd, dims="dimension")
    sd_alliance_dynamics = pm.HalfNormal("sd_alliance_dynamics", p.alliance_dynamics_sd,
                                         dims="dimension")
    alliance_mean = _zero_sum("alliance_effect_raw", 1.0, "alliance", len(index.alliances),
                              n_dims)
    ac = index.alliance_cells
    alliance_lasting = sd_alliance_mean[:, None] * alliance_mean[:, ac.unit]
    alliance_moving = (sd_alliance_dynamics[:, None]
                       * _alliance_paths(ac, rho_alliance, n_dims, spec.dynamics))
    alliance_level = alliance_lasting + alliance_moving
    group_mean = alliance_level[:, index.cell_alliance_cell]
    # Each commitment's constant group mean: the between levels' prior mean. (A
    # between-within dimension's within path keeps group_mean: its density is
    # integrated over each commitment's own mean, so constants drop out of it.)
    lasting_mean = sd_alliance_mean[:, None] * alliance_mean[:, index.commitment_alliance]
    if spec.region_effects and len(index.regions) > 1:
        region = _zero_sum("region_effect", p.region_sd, "region", len(index.regions), n_dims)
        group_mean = group_mean + region[:, index.commitment_region[cells.unit]]
        lasting_mean = lasting_mean + region[:, index.commitment_region]
    if spec.type_effects and len(index.types) > 1:
        type_effect = _zero_sum("type_effect", p.type_sd, "type", len(index.types), n_dims)
        group_mean = group_mean + type_effect[:, index.commitment_type[cells.unit]]
        lasting_mean = lasting_mean + type_effect[:, index.commitment_type]
    return _Groups(alliance_lasting=alliance_lasting, alliance_moving=alliance_moving,
                   alliance_level=alliance_level, group_mean=group_mean,
                   lasting_mean=lasting_mean)


def _commitment_states(cells: UnitCells, n_dims: int, split_rows: list[int]
                       ) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Centred commitment states ``(dimension, cell)``, each dimension's sum-to-zero
    part (what the likelihood sees: the location anchor), and their means
    ``(dimension,)``, which only the prior pins down, in the model in context."""
    if not split_rows:
        return (pm.Flat("commitment_state", dims=("dimension", "cell"),
                        default_transform=ZeroSumTransform([-1])),
                pm.Flat("commitment_level", dims="dimension"))
    # A between-within dimension's within path is each commitment's path less its own
    # mean: it has no level (decision 47).
    kept = [d for d in range(n_dims) if d not in split_rows]
    state = pt.zeros((n_dims, cells.size))[kept].set(
        pm.Flat("commitment_state", dims=("level_dimension", "cell"),
                default_transform=ZeroSumTransform([-1])))
    state = state[split_rows].set(_within_paths(cells, len(split_rows)))
    level = pt.zeros(n_dims)[kept].set(pm.Flat("commitment_level", dims="level_dimension"))
    return state, level


def _likelihood_columns(
    state: pt.TensorVariable, alliance_latent: pt.TensorVariable, loading: pt.TensorVariable,
    cells: UnitCells, split: _Split | None,
) -> tuple[pt.TensorVariable, pt.TensorVariable, pt.TensorVariable]:
    """The latent, alliance latent and loadings the likelihood sees: one column per
    dimension (a between-within dimension's within path) and one per between-within
    dimension (its lasting level)."""
    if split is None:
        return state, alliance_latent, loading
    return (pt.concatenate([state, split.between[:, cells.unit]]),
            pt.concatenate([alliance_latent, split.alliance_between]),
            pt.concatenate([loading, split.loading], axis=1))


@dataclass(frozen=True)
class _Split:
    """The between-within dimensions' part of the model (:func:`_between_within`):
    centred lasting levels ``(between_dimension, commitment)``, the between loadings
    ``(signal, between_dimension)``, and the alliance latent's two parts ``(between
    dimension, alliance_cell)``."""

    between: pt.TensorVariable
    loading: pt.TensorVariable
    alliance_between: pt.TensorVariable
    alliance_within: pt.TensorVariable


def _between_within(
    split_rows: list[int], signals: tuple[SignalSpec, ...], pattern: np.ndarray,
    priors: pd.DataFrame, lasting_mean: pt.TensorVariable, alliance_lasting: pt.TensorVariable,
    alliance_moving: pt.TensorVariable, direction: np.ndarray,
) -> _Split:
    """The lasting levels and between loadings of the between-within dimensions.

    ``between_state`` (``between_dimension, commitment``, sum to zero over the
    commitments: the location anchor) plus ``between_mean`` are each commitment's
    level; its density is ``N(group mean, 1)`` (the scale anchor), added as the
    potential ``between_prior``. ``loading_between_magnitude`` (dim
    ``loading_between_entry``) times the signal's direction is a signal's between
    loading on each between-within dimension it loads on.
    """
    between = pm.Flat("between_state", dims=("between_dimension", "commitment"),
                      default_transform=ZeroSumTransform([-1]))
    mean = pm.Flat("between_mean", dims="between_dimension")
    pm.Potential("between_prior", pm.logp(pm.Normal.dist(0.0, 1.0),
                                          between + mean[:, None]
                                          - lasting_mean[split_rows]).sum())
    loading = _pattern_loadings("loading_between_magnitude", "loading_between_entry",
                                pattern[:, split_rows], signals, priors, direction)
    return _Split(between=between, loading=loading,
                  alliance_between=alliance_lasting[split_rows] - mean[:, None],
                  alliance_within=alliance_moving[split_rows])


def _pattern_loadings(
    name: str, entries: str, pattern: np.ndarray, signals: tuple[SignalSpec, ...],
    priors: pd.DataFrame, direction: np.ndarray,
) -> pt.TensorVariable:
    """A ``(signal, column)`` loading matrix: where ``pattern`` is true, the signal's
    direction times a HalfNormal magnitude (the free variable ``name``, dim ``entries``,
    sd the signal's ``loading_sd``); exactly zero elsewhere."""
    rows, columns = np.nonzero(pattern)
    loading_sd = priors.loc[[signals[r].name for r in rows], "loading_sd"].to_numpy()
    magnitude = pm.HalfNormal(name, sigma=loading_sd, dims=entries)
    return pt.zeros(pattern.shape)[rows, columns].set(direction[rows] * magnitude)


def _within_paths(cells: UnitCells, k: int) -> pt.TensorVariable:
    """``k`` paths over the cells, ``(k, cell)``, each with mean zero over every
    commitment's cells, from the free variable ``within_state`` (``between_dimension,
    within_coordinate``, one value fewer per commitment than it has cells).

    Per commitment of ``n`` cells this is PyMC's ``ZeroSumTransform`` (an isometry from
    ``n - 1`` coordinates onto the vectors summing to zero), applied to every commitment
    at once: the ``n - 1`` values ``y`` fill its cells but the last, the last gets
    ``norm - sum(y) / sqrt(n)`` and every cell then loses ``norm = sum(y) / (n + sqrt(n))``.
    """
    last = np.r_[np.flatnonzero(np.diff(cells.unit)), cells.size - 1]
    free = np.setdiff1d(np.arange(cells.size), last)
    counts = np.bincount(cells.unit, minlength=cells.n_units).astype(np.float64)
    values = pm.Flat("within_state", dims=("between_dimension", "within_coordinate"))
    sums = pt.zeros((k, cells.n_units))[:, cells.unit[free]].inc(values)
    norm = sums / (counts + np.sqrt(counts))
    paths = pt.zeros((k, cells.size))[:, free].set(values)
    paths = paths[:, last].set(norm - sums / np.sqrt(counts))
    return paths - norm[:, cells.unit]


def _report(state: pt.TensorVariable, alliance_latent: pt.TensorVariable,
            loading: pt.TensorVariable, cells: UnitCells, split: _Split | None,
            split_rows: list[int]) -> None:
    """The reported deterministics (:func:`build_dimensional_model`): each dimension
    standardised per draw over the active cells, their equal-weight composite, the
    alliance levels, the sds and the loadings per sd; for a between-within dimension
    the dimension is its lasting level plus its within path, and its lasting level,
    within path and both loadings are reported on their own as well."""
    if split is None:
        dimension, alliance = state, alliance_latent
    else:
        within = state[split_rows]
        dimension = pt.set_subtensor(within, within + split.between[:, cells.unit])
        alliance = pt.set_subtensor(alliance_latent[split_rows],
                                    alliance_latent[split_rows] + split.alliance_between)
        # Only the between-within dimensions move: their levels are not zero-sum over cells.
        shift = dimension.mean(axis=1)
        dimension, alliance = dimension - shift[:, None], alliance - shift[:, None]
    spread = dimension.std(axis=1)
    standardised = dimension / spread[:, None]
    pm.Deterministic("dimension_cell", standardised, dims=("dimension", "cell"))
    composite = standardised.mean(axis=0)
    pm.Deterministic("credibility_cell", composite / composite.std(), dims="cell")
    pm.Deterministic("alliance_cell_level", alliance / spread[:, None],
                     dims=("dimension", "alliance_cell"))
    pm.Deterministic("latent_sd", spread, dims="dimension")
    if split is None:
        pm.Deterministic("loading", loading * spread[None, :], dims=("signal", "dimension"))
        return
    between_sd = split.between.std(axis=1)
    within_sd = state[split_rows].std(axis=1)
    pm.Deterministic("loading", loading * pt.set_subtensor(spread[split_rows],
                                                           within_sd)[None, :],
                     dims=("signal", "dimension"))
    pm.Deterministic("between_level", split.between / between_sd[:, None],
                     dims=("between_dimension", "commitment"))
    pm.Deterministic("within_cell", state[split_rows] / within_sd[:, None],
                     dims=("between_dimension", "cell"))
    pm.Deterministic("between_sd", between_sd, dims="between_dimension")
    pm.Deterministic("within_sd", within_sd, dims="between_dimension")
    pm.Deterministic("loading_between", split.loading * between_sd[None, :],
                     dims=("signal", "between_dimension"))
    pm.Deterministic("loading_within", loading[:, split_rows] * within_sd[None, :],
                     dims=("signal", "between_dimension"))
