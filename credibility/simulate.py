"""Simulate signal data and true latent credibility from the measurement model.

:func:`simulate` draws every parameter from the priors of a spec, builds latent
credibility exactly as :mod:`credibility.measurement` does (same sum-to-zero
effects, same unit-variance AR(1) / random-walk paths in each unit's own time) and
draws one observation per (unit, period, signal) from the family's likelihood,
then drops a share of them at random to mimic missing reports. Everything it
returns is marked **synthetic**.

A spec of several dimensions (``[model] dimensions``) is simulated as the model of
``docs/model.md`` ("Several dimensions") states it: each dimension its own group
effects, alliance paths and commitment paths, the commitment paths' innovations
correlated across dimensions (correlation drawn by :func:`lkj_correlation`), and
each signal's linear predictor the sum of its loadings times the dimensions it
loads on. :mod:`credibility.dimensions` builds its PyMC model.

Signals whose spec leaves a prior on ``"auto"`` have no data to scale it from, so
the simulator uses the fixed fallbacks in :data:`SIMULATION_FALLBACKS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from credibility.data.container import CredibilityData
from credibility.data.spec import LOG_FAMILIES, ModelSpec, SignalSpec, load_spec
from credibility.errors import SpecError
from credibility.model.index import previous_rows
from credibility.model.likelihoods import draw_autocorrelated_lognormal
from credibility.model.parameters import NOISE_SHAPE, RESIDUAL_PERSISTENCE_PRIOR

#: (intercept mu, intercept sigma, loading sd, noise mean) used for "auto" priors.
SIMULATION_FALLBACKS: dict[str, tuple[float, float, float, float]] = {
    "count": (1.0, 0.5, 0.7, 0.5),
    "amount": (6.0, 1.0, 1.0, 0.5),
    "ratio": (0.0, 0.5, 0.3, 0.2),
    "proportion": (0.0, 1.0, 1.0, 1.0),
    "binary": (0.0, 1.0, 1.5, 1.0),
    "binomial": (0.0, 1.0, 1.0, 1.0),
    "ordinal": (0.0, 1.0, 1.5, 1.0),
}

_REGIONS = ("europe", "indo_pacific", "americas", "middle_east")
_TYPES = ("defense_pact", "bilateral_guarantee", "nuclear_umbrella", "consultation_pact")


@dataclass(frozen=True)
class Simulation:
    """Simulated data together with the true values that generated it."""

    data: CredibilityData
    truth: xr.Dataset
    seed: int


def synthetic_commitments(
    n_commitments: int = 12,
    n_alliances: int = 3,
    periods: tuple[int, int] = (2000, 2015),
    *,
    seed: int = 0,
    staggered: bool = True,
) -> pd.DataFrame:
    """A synthetic commitments table: guarantors ``G#``, protégés ``P#``, alliances ``A#``.

    With ``staggered=True`` about a third of the commitments start late or end
    early, so windows differ.

    Examples
    --------
    >>> table = synthetic_commitments(6, 2, (2000, 2009), seed=1)
    >>> list(table.columns)
    ['commitment_id', 'guarantor', 'protege', 'alliance', 'region', 'type', 'start', 'end']
    >>> len(table)
    6
    """
    rng = np.random.default_rng(seed)
    first, last = periods
    alliance = np.arange(n_commitments) % n_alliances
    starts = np.full(n_commitments, first)
    ends = np.full(n_commitments, last)
    if staggered and last - first >= 4:
        span = last - first
        late = rng.random(n_commitments) < 0.25
        early = rng.random(n_commitments) < 0.15
        starts[late] = first + rng.integers(1, span // 2 + 1, late.sum())
        ends[early] = last - rng.integers(1, span // 3 + 1, early.sum())
    return pd.DataFrame(
        {
            "commitment_id": [f"C{i + 1:03d}" for i in range(n_commitments)],
            "guarantor": [f"G{a + 1}" for a in alliance],
            "protege": [f"P{i + 1:03d}" for i in range(n_commitments)],
            "alliance": [f"A{a + 1}" for a in alliance],
            "region": [_REGIONS[a % len(_REGIONS)] for a in alliance],
            "type": [_TYPES[i % 2] for i in range(n_commitments)],
            "start": starts,
            "end": [str(e) if e < last else "" for e in ends],
        }
    )


@dataclass(frozen=True)
class _Layout:
    """Units and cells of a commitments table: every active alliance- and
    commitment-period, each unit's own time, and group indices. Draws nothing."""

    frame: pd.DataFrame
    ids: np.ndarray
    first: int
    last: int
    periods: np.ndarray
    alliances: list[str]
    regions: list[str]
    types: list[str]
    c_alliance: np.ndarray
    c_region: np.ndarray
    c_type: np.ndarray
    a_unit: np.ndarray
    a_local: np.ndarray
    a_period: np.ndarray
    c_unit: np.ndarray
    c_local: np.ndarray
    c_period: np.ndarray


def _layout(commitments: pd.DataFrame, last_period: int | None) -> _Layout:
    frame = commitments.copy()
    frame["start"] = frame["start"].astype(int)
    ends = pd.to_numeric(frame["end"], errors="coerce")
    last = int(last_period if last_period is not None
               else np.nanmax([frame["start"].max(), ends.max()]))
    first = int(frame["start"].min())
    end = ends.fillna(last).astype(int).to_numpy()
    start = frame["start"].to_numpy()

    alliances = list(dict.fromkeys(frame["alliance"]))
    regions = list(dict.fromkeys(frame["region"]))
    types = list(dict.fromkeys(frame["type"]))
    c_alliance = frame["alliance"].map({a: k for k, a in enumerate(alliances)}).to_numpy()
    a_start = np.array([start[c_alliance == k].min() for k in range(len(alliances))])
    a_end = np.array([end[c_alliance == k].max() for k in range(len(alliances))])

    a_len = a_end - a_start + 1
    a_unit = np.repeat(np.arange(len(alliances)), a_len)
    a_local = np.arange(a_unit.size) - np.repeat(np.cumsum(a_len) - a_len, a_len)
    c_len = end - start + 1
    c_unit = np.repeat(np.arange(len(frame)), c_len)
    c_local = np.arange(c_unit.size) - np.repeat(np.cumsum(c_len) - c_len, c_len)
    return _Layout(
        frame=frame,
        ids=frame["commitment_id"].astype(str).to_numpy(),
        first=first,
        last=last,
        periods=np.arange(first, last + 1),
        alliances=alliances,
        regions=regions,
        types=types,
        c_alliance=c_alliance,
        c_region=frame["region"].map({r: k for k, r in enumerate(regions)}).to_numpy(),
        c_type=frame["type"].map({y: k for k, y in enumerate(types)}).to_numpy(),
        a_unit=a_unit,
        a_local=a_local,
        a_period=a_start[a_unit] + a_local,
        c_unit=c_unit,
        c_local=c_local,
        c_period=start[c_unit] + c_local,
    )


def _zero_sum(rng: np.random.Generator, sigma: float, n: int) -> np.ndarray:
    if n < 2:
        return np.zeros(n)
    draws = rng.normal(0.0, sigma, n)
    return draws - draws.mean()


def _paths(
    rng: np.random.Generator, unit: np.ndarray, local: np.ndarray, n_units: int,
    rho: float, dynamics: str,
) -> np.ndarray:
    length = int(local.max()) + 1
    innovations = rng.normal(size=(n_units, length))
    path = np.empty_like(innovations)
    path[:, 0] = innovations[:, 0]
    for t in range(1, length):
        if dynamics == "ar1":
            path[:, t] = rho * path[:, t - 1] + np.sqrt(1.0 - rho**2) * innovations[:, t]
        else:
            path[:, t] = path[:, t - 1] + rho * innovations[:, t]
    return path[unit, local]


def _signal_parameters(
    rng: np.random.Generator, spec: SignalSpec, priors: ModelSpec
) -> dict[str, float | np.ndarray]:
    mu, sigma, loading_sd, noise_mean = SIMULATION_FALLBACKS[spec.family]
    if spec.intercept is not None:
        mu, sigma = spec.intercept.mu, spec.intercept.sigma
    loading_sd = spec.loading_sd or loading_sd
    noise_mean = spec.noise_mean or noise_mean
    params: dict[str, float | np.ndarray] = {
        "loading": spec.direction * abs(rng.normal(0.0, loading_sd)),
    }
    if spec.family != "ordinal":
        params["intercept"] = rng.normal(mu, sigma)
    if spec.family in ("count", *LOG_FAMILIES):
        params["noise"] = rng.gamma(NOISE_SHAPE, noise_mean / NOISE_SHAPE)
    if spec.residual_persistence:
        params["residual_persistence"] = rng.beta(*RESIDUAL_PERSISTENCE_PRIOR)
    if spec.family == "proportion":
        p = priors.priors
        params["precision"] = rng.gamma(p.proportion_precision_alpha,
                                        1.0 / p.proportion_precision_beta)
    if spec.family == "ordinal":
        levels = int(spec.levels or 2)
        first = rng.normal(-(levels - 2) / 2.0, priors.priors.cutpoint_sd)
        gaps = np.exp(rng.normal(0.0, priors.priors.cutpoint_gap_sd, levels - 2))
        params["cutpoints"] = np.concatenate([[first], first + np.cumsum(gaps)])
    return params


def _draw_values(
    rng: np.random.Generator, spec: SignalSpec, params: Mapping[str, float | np.ndarray],
    loaded: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Observations (and binomial trials) for the latent part ``loaded`` of the
    linear predictor (loading times latent, summed over the dimensions loaded on)."""
    n = loaded.size
    trials = np.full(n, np.nan)
    if spec.family == "ordinal":
        cut = np.asarray(params["cutpoints"])
        eta = loaded
        below = 1.0 / (1.0 + np.exp(-(cut[None, :] - eta[:, None])))
        return 1 + (rng.random(n)[:, None] > below).sum(axis=1).astype(np.float64), trials
    eta = float(params["intercept"]) + loaded
    if spec.family == "count":
        alpha = 1.0 / max(float(params["noise"]), 1e-6)
        rate = rng.gamma(alpha, np.exp(eta) / alpha)
        return rng.poisson(rate).astype(np.float64), trials
    if spec.family in LOG_FAMILIES:
        return spec.target * np.exp(eta + float(params["noise"]) * rng.normal(size=n)), trials
    mean = 1.0 / (1.0 + np.exp(-eta))
    if spec.family == "proportion":
        phi = float(params["precision"])
        return np.clip(rng.beta(mean * phi, (1.0 - mean) * phi), 1e-4, 1.0 - 1e-4), trials
    if spec.family == "binary":
        return (rng.random(n) < mean).astype(np.float64), trials
    trials = rng.integers(5, 21, n).astype(np.float64)
    return rng.binomial(trials.astype(np.int64), mean).astype(np.float64), trials


def simulate(
    spec: ModelSpec | str = "default",
    commitments: pd.DataFrame | None = None,
    *,
    seed: int = 0,
    missing: float | Mapping[str, float] = 0.2,
    last_period: int | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> Simulation:
    """Draw parameters from the spec's priors, then latent credibility and signal data.

    ``fixed`` replaces prior draws by given values (everything else is still drawn,
    in the same order, so the seed means the same thing): top-level keys
    ``persistence_alliance``, ``persistence_commitment`` (or ``step_*`` for a random
    walk), ``sd_alliance_mean``, ``sd_alliance_dynamics``,
    and one mapping per signal name with ``loading`` (raw model scale, signed),
    ``intercept`` or ``noise``.

    A spec of several dimensions (``[model] dimensions``) draws, per dimension in
    spec order, the persistences (or steps), scales and group effects as above,
    then the correlation of the dimensions' commitment innovations from
    LKJ(``[priors] dimension_correlation_eta``) (:func:`lkj_correlation`), the
    alliance paths of each dimension, the commitment paths of all dimensions
    together, and each signal's parameters followed by its cross-loadings (the
    signal's ``direction`` times a half-normal with its ``loading`` sd). A signal's
    linear predictor is ``intercept + loading * x[dimension] + sum over also a of
    loading_also[a] * x[a]``. Then the top-level keys of ``fixed`` take a number
    (every dimension) or a mapping from dimension name to number,
    ``dimension_correlation`` takes the correlation matrix (dimensions in spec
    order), and a signal's mapping may hold ``loading_also``, a mapping from each of
    its ``also`` dimensions to its raw loading. The truth then has a leading
    ``dimension`` on every latent quantity (``credibility`` is ``(dimension,
    commitment, period)``), ``loading`` is a ``(signal, dimension)`` matrix on the
    reported scale with zeros where a signal does not load, ``loads`` its pattern,
    and ``dimension_correlation`` is ``(dimension, with_dimension)``.

    Parameters
    ----------
    spec : ModelSpec or str
        The specification, or the name or path of one (:func:`credibility.data.spec.load_spec`).
    commitments : pandas.DataFrame, optional
        A commitments table in the data contract's layout (default:
        :func:`synthetic_commitments` with 12 commitments in 3 alliances, 2000-2015).
    seed : int
        Seed of every draw: the same seed gives the same data and truth.
    missing : float or Mapping[str, float]
        Share of (unit, period, signal) observations dropped at random, overall or
        per signal name.
    last_period : int, optional
        The period ongoing commitments (empty ``end``) run to (default: the latest
        start or end in the table).
    fixed : Mapping[str, Any], optional
        Values that replace prior draws (above).

    Returns
    -------
    Simulation
        The data (validated against ``spec``) and the true values, marked synthetic.

    Raises
    ------
    ValueError
        If ``fixed`` gives a correlation that is not a correlation matrix of the
        spec's dimensions, or names a dimension the spec (or signal) lacks.

    Examples
    --------
    >>> sim = simulate("default", seed=3)
    >>> sim.truth.attrs["synthetic"]
    'true'
    >>> sim.truth["credibility"].dims
    ('commitment', 'period')
    >>> len(sim.data.signals) > 0
    True
    >>> two = simulate("capability_willingness", seed=3)
    >>> two.truth["credibility"].dims
    ('dimension', 'commitment', 'period')
    >>> two.truth["dimension_correlation"].shape
    (2, 2)
    """
    spec = load_spec(spec) if isinstance(spec, str) else spec
    rng = np.random.default_rng(seed)
    if commitments is None:
        commitments = synthetic_commitments(seed=seed)
        last_period = 2015 if last_period is None else last_period
    layout = _layout(commitments, last_period)
    fixed = fixed or {}
    if len(spec.dimensions) > 1:
        return _simulate_dimensions(spec, layout, rng, seed, missing, fixed)
    first, periods = layout.first, layout.periods
    alliances, regions, types = layout.alliances, layout.regions, layout.types
    a_unit, a_local, a_period = layout.a_unit, layout.a_local, layout.a_period
    c_unit, c_local, c_period = layout.c_unit, layout.c_local, layout.c_period

    p = spec.priors
    if spec.dynamics == "ar1":
        rho_a = rng.beta(p.persistence_alpha, p.persistence_beta)
        rho_c = rng.beta(p.persistence_alpha, p.persistence_beta)
    else:
        rho_a = abs(rng.normal(0.0, p.random_walk_step_sd))
        rho_c = abs(rng.normal(0.0, p.random_walk_step_sd))
    dyn = "persistence" if spec.dynamics == "ar1" else "step"
    rho_a = float(fixed.get(f"{dyn}_alliance", rho_a))  # type: ignore[arg-type]
    rho_c = float(fixed.get(f"{dyn}_commitment", rho_c))  # type: ignore[arg-type]
    scales = {
        "sd_alliance_mean": abs(rng.normal(0.0, p.alliance_mean_sd)),
        "sd_alliance_dynamics": abs(rng.normal(0.0, p.alliance_dynamics_sd)),
    }
    scales.update({k: float(fixed[k]) for k in scales if k in fixed})  # type: ignore[arg-type]
    za = scales["sd_alliance_mean"] * _zero_sum(rng, 1.0, len(alliances))
    region = _zero_sum(rng, p.region_sd, len(regions)) if spec.region_effects else np.zeros(
        len(regions))
    type_effect = _zero_sum(rng, p.type_sd, len(types)) if spec.type_effects else np.zeros(
        len(types))

    a_level = za[a_unit] + scales["sd_alliance_dynamics"] * _paths(
        rng, a_unit, a_local, len(alliances), rho_a, spec.dynamics)
    a_grid = np.full((len(alliances), periods.size), np.nan)
    a_grid[a_unit, a_period - first] = a_level

    x = (
        a_grid[layout.c_alliance[c_unit], c_period - first]
        + _paths(rng, c_unit, c_local, len(layout.frame), rho_c, spec.dynamics)
        * (1.0 / np.sqrt(1.0 - rho_c**2) if spec.dynamics == "ar1" else 1.0)
        + region[layout.c_region[c_unit]]
        + type_effect[layout.c_type[c_unit]]
    )
    # The model's anchors: mean 0 over active cells (signals see the centred raw
    # scale); reported credibility is standardised to sd 1 over active cells.
    level = x.mean()
    x, a_level = x - level, a_level - level
    spread = x.std()
    x_grid = np.full((len(layout.frame), periods.size), np.nan)
    x_grid[c_unit, c_period - first] = x / spread
    a_grid = np.full((len(alliances), periods.size), np.nan)
    a_grid[a_unit, a_period - first] = a_level / spread

    rows = []
    parameters = {}
    for s in spec.signals:
        params = _signal_parameters(rng, s, spec)
        params.update(fixed.get(s.name, {}))  # type: ignore[arg-type]
        parameters[s.name] = params
        state = x if s.level == "commitment" else a_level
        rows.append(_signal_rows(rng, s, params, float(params["loading"]) * state,
                                 layout, missing))
    data = _simulated_data(spec, layout, rows)
    truth = _truth_dataset(spec, layout.ids, alliances, regions, types, periods, x_grid, a_grid,
                           scales, spread, rho_a, rho_c, region, type_effect, parameters)
    return Simulation(data=data, truth=truth, seed=seed)


def lkj_correlation(n: int, eta: float, rng: np.random.Generator) -> np.ndarray:
    """Draw an ``n x n`` correlation matrix from the LKJ(``eta``) distribution.

    The C-vine method of Lewandowski, Kurowicka and Joe (2009, section 2.4): partial
    correlations of the vine are drawn from scaled Beta distributions and turned
    into correlations. With ``eta = 1`` every correlation matrix is equally likely;
    larger ``eta`` pulls towards the identity. Each off-diagonal element has the
    marginal ``2 Beta(b, b) - 1`` with ``b = eta - 1 + n / 2``.

    Parameters
    ----------
    n : int
        Size of the matrix (the number of dimensions), at least 1.
    eta : float
        LKJ shape, positive (``[priors] dimension_correlation_eta``).
    rng : numpy.random.Generator
        Source of the random draws.

    Returns
    -------
    numpy.ndarray
        A symmetric positive-definite ``(n, n)`` matrix with unit diagonal.

    Raises
    ------
    ValueError
        If ``n < 1`` or ``eta <= 0``.

    Examples
    --------
    >>> r = lkj_correlation(3, 2.0, np.random.default_rng(0))
    >>> r.shape, bool(np.allclose(np.diag(r), 1.0)), bool(np.allclose(r, r.T))
    ((3, 3), True, True)
    >>> bool(np.all(np.linalg.eigvalsh(r) > 0))
    True
    """
    if n < 1 or not eta > 0:
        raise ValueError(f"lkj_correlation needs n >= 1 and eta > 0 (got n={n}, eta={eta})")
    beta = eta + (n - 1) / 2.0
    partial = np.zeros((n, n))
    correlation = np.eye(n)
    for k in range(n - 1):
        beta -= 0.5
        for i in range(k + 1, n):
            partial[k, i] = 2.0 * rng.beta(beta, beta) - 1.0
            r = partial[k, i]
            # From the partial correlation given variables 0..k-1 to the correlation.
            for m in range(k - 1, -1, -1):
                r = (r * np.sqrt((1.0 - partial[m, i] ** 2) * (1.0 - partial[m, k] ** 2))
                     + partial[m, i] * partial[m, k])
            correlation[k, i] = correlation[i, k] = r
    return correlation


def _correlated_paths(
    rng: np.random.Generator, unit: np.ndarray, local: np.ndarray, n_units: int,
    rho: np.ndarray, correlation: np.ndarray, dynamics: str,
) -> np.ndarray:
    """Commitment paths of several dimensions, ``(dimension, cell)``, with innovations
    ``N(0, correlation)`` (unit sd per dimension, the scale anchor).

    ``ar1``: ``e[t] = rho * e[t-1] + innovation``, started from the joint stationary
    distribution (covariance ``R / (1 - rho rho')``); ``random_walk``: ``e[0] ~ N(0, R)``
    and ``e[t] = e[t-1] + rho * innovation`` (``rho`` the step sd per dimension).
    """
    length = int(local.max()) + 1
    chol = np.linalg.cholesky(correlation)
    z = rng.normal(size=(n_units, length, rho.size))
    innovations = z @ chol.T
    path = np.empty_like(innovations)
    if dynamics == "ar1":
        stationary = correlation / (1.0 - np.outer(rho, rho))
        path[:, 0] = z[:, 0] @ np.linalg.cholesky(stationary).T
        for t in range(1, length):
            path[:, t] = rho * path[:, t - 1] + innovations[:, t]
    else:
        path[:, 0] = innovations[:, 0]
        for t in range(1, length):
            path[:, t] = path[:, t - 1] + rho * innovations[:, t]
    return path[unit, local].T


def _per_dimension(value: object, dimensions: tuple[str, ...], drawn: np.ndarray,
                   key: str) -> np.ndarray:
    """A ``fixed`` value for every dimension (a number) or some (a mapping by name)."""
    if value is None:
        return drawn
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(dimensions))
        if unknown:
            raise ValueError(f"fixed[{key!r}] names unknown dimension(s) {unknown}; "
                             f"dimensions are {list(dimensions)}")
        return np.array([float(value.get(d, v)) for d, v in zip(dimensions, drawn,
                                                                  strict=True)])
    return np.full(len(dimensions), float(value))  # type: ignore[arg-type]


def _checked_correlation(value: object, n: int) -> np.ndarray:
    """``fixed["dimension_correlation"]`` as an ``(n, n)`` correlation matrix."""
    matrix = np.asarray(value, dtype=np.float64)
    if (matrix.shape != (n, n) or not np.allclose(matrix, matrix.T)
            or not np.allclose(np.diag(matrix), 1.0)
            or np.any(np.linalg.eigvalsh((matrix + matrix.T) / 2.0) <= 0)):
        raise ValueError(f"fixed['dimension_correlation'] must be a symmetric positive-definite "
                         f"{n} x {n} matrix with unit diagonal (got {matrix.tolist()})")
    return matrix


def _simulate_dimensions(
    spec: ModelSpec, layout: _Layout, rng: np.random.Generator, seed: int,
    missing: float | Mapping[str, float], fixed: Mapping[str, object],
) -> Simulation:
    """:func:`simulate` for a spec of several dimensions (docs/model.md)."""
    dims = spec.dimensions
    n_dims = len(dims)
    p = spec.priors
    first, periods = layout.first, layout.periods
    n_alliances, n_commitments = len(layout.alliances), len(layout.frame)
    dyn = "persistence" if spec.dynamics == "ar1" else "step"

    # Per dimension, the one-dimension draws in the same order.
    rho_a, rho_c = np.empty(n_dims), np.empty(n_dims)
    scales = {"sd_alliance_mean": np.empty(n_dims), "sd_alliance_dynamics": np.empty(n_dims)}
    za = np.empty((n_dims, n_alliances))
    region = np.zeros((n_dims, len(layout.regions)))
    type_effect = np.zeros((n_dims, len(layout.types)))
    for d in range(n_dims):
        if spec.dynamics == "ar1":
            rho_a[d] = rng.beta(p.persistence_alpha, p.persistence_beta)
            rho_c[d] = rng.beta(p.persistence_alpha, p.persistence_beta)
        else:
            rho_a[d] = abs(rng.normal(0.0, p.random_walk_step_sd))
            rho_c[d] = abs(rng.normal(0.0, p.random_walk_step_sd))
        scales["sd_alliance_mean"][d] = abs(rng.normal(0.0, p.alliance_mean_sd))
        scales["sd_alliance_dynamics"][d] = abs(rng.normal(0.0, p.alliance_dynamics_sd))
        za[d] = _zero_sum(rng, 1.0, n_alliances)
        if spec.region_effects:
            region[d] = _zero_sum(rng, p.region_sd, len(layout.regions))
        if spec.type_effects:
            type_effect[d] = _zero_sum(rng, p.type_sd, len(layout.types))
    correlation = lkj_correlation(n_dims, p.dimension_correlation_eta, rng)
    if "dimension_correlation" in fixed:
        correlation = _checked_correlation(fixed["dimension_correlation"], n_dims)
    rho_a = _per_dimension(fixed.get(f"{dyn}_alliance"), dims, rho_a, f"{dyn}_alliance")
    rho_c = _per_dimension(fixed.get(f"{dyn}_commitment"), dims, rho_c, f"{dyn}_commitment")
    for key in scales:
        scales[key] = _per_dimension(fixed.get(key), dims, scales[key], key)
    za = scales["sd_alliance_mean"][:, None] * za

    a_moving = np.stack([
        scales["sd_alliance_dynamics"][d] * _paths(
            rng, layout.a_unit, layout.a_local, n_alliances, rho_a[d], spec.dynamics)
        for d in range(n_dims)])
    a_lasting = za[:, layout.a_unit]
    a_level = a_lasting + a_moving
    a_raw = np.full((n_dims, n_alliances, periods.size), np.nan)
    a_raw[:, layout.a_unit, layout.a_period - first] = a_level
    c_unit, c_period = layout.c_unit, layout.c_period
    own_paths = _correlated_paths(rng, c_unit, layout.c_local, n_commitments, rho_c,
                                  correlation, spec.dynamics)
    x = (
        a_raw[:, layout.c_alliance[c_unit], c_period - first]
        + own_paths
        + region[:, layout.c_region[c_unit]]
        + type_effect[:, layout.c_type[c_unit]]
    )
    # Each commitment's constant part (alliance mean, region and type effects) and
    # moving part (alliance path and own path), for the between-within dimensions.
    lasting = (za[:, layout.c_alliance] + region[:, layout.c_region]
               + type_effect[:, layout.c_type])
    a_raw[:, layout.a_unit, layout.a_period - first] = a_moving
    moving = a_raw[:, layout.c_alliance[c_unit], c_period - first] + own_paths
    split = _between_within(spec, rng, lasting, moving, a_lasting, a_moving, c_unit)
    if split is not None:  # the reported dimension: lasting level plus within path
        split_rows = spec.between_within_rows
        x[split_rows] = split.between[:, c_unit] + split.within[split_rows]
        a_level[split_rows] = split.alliance_between + split.alliance_within[split_rows]
    # Each dimension's anchors, as for one: mean 0 over active cells, reported sd 1.
    level = x.mean(axis=1, keepdims=True)
    x, a_level = x - level, a_level - level
    spread = x.std(axis=1)
    x_grid = np.full((n_dims, n_commitments, periods.size), np.nan)
    x_grid[:, c_unit, c_period - first] = x / spread[:, None]
    a_grid = np.full((n_dims, n_alliances, periods.size), np.nan)
    a_grid[:, layout.a_unit, layout.a_period - first] = a_level / spread[:, None]

    rows = []
    parameters = {}
    for s in spec.signals:
        params = _signal_parameters(rng, s, spec)
        loading_sd = s.loading_sd or SIMULATION_FALLBACKS[s.family][2]
        drawn_also = s.direction * np.abs(rng.normal(0.0, loading_sd, len(s.also)))
        given = dict(fixed.get(s.name, {}))  # type: ignore[call-overload]
        given_also = given.pop("loading_also", {})
        unknown = sorted(set(given_also) - set(s.also))
        if unknown:
            raise ValueError(f"fixed[{s.name!r}]['loading_also'] names {unknown}, not in the "
                             f"signal's also {list(s.also)}")
        given_between = given.pop("loading_between", {})
        params.update(given)
        params["loading_also"] = np.array([float(given_also.get(a, v))
                                           for a, v in zip(s.also, drawn_also, strict=True)])
        if split is not None:
            params["loading_between"] = _between_loadings(rng, spec, s, given_between,
                                                          loading_sd)
        parameters[s.name] = params
        state = x if s.level == "commitment" else a_level
        if split is not None:
            state = split.within if s.level == "commitment" else split.alliance_within
        loaded = float(params["loading"]) * state[dims.index(s.dimension or dims[0])]
        for a, value in zip(s.also, params["loading_also"], strict=True):
            loaded = loaded + float(value) * state[dims.index(a)]
        if split is not None:
            between = (split.between[:, c_unit] if s.level == "commitment"
                       else split.alliance_between)
            for a, value in params["loading_between"].items():
                loaded = loaded + value * between[spec.between_within.index(a)]
        rows.append(_signal_rows(rng, s, params, loaded, layout, missing))
    data = _simulated_data(spec, layout, rows)
    truth = _truth_dimensions(spec, layout, x_grid, a_grid, scales, spread, rho_a, rho_c,
                              region, type_effect, correlation, parameters, split)
    return Simulation(data=data, truth=truth, seed=seed)


@dataclass(frozen=True)
class _Split:
    """The latent of the between-within dimensions (spec order), on the model's
    centred scale: ``between`` ``(between_dimension, commitment)`` each commitment's
    lasting level less its mean over the commitments, ``within`` ``(dimension, cell)``
    the moving part less its mean over the cells (for the other dimensions: their whole
    centred latent), and the alliance latent's two parts, ``(.., alliance cell)``."""

    between: np.ndarray
    within: np.ndarray
    alliance_between: np.ndarray
    alliance_within: np.ndarray


def _between_within(
    spec: ModelSpec, rng: np.random.Generator, lasting: np.ndarray, moving: np.ndarray,
    a_lasting: np.ndarray, a_moving: np.ndarray, c_unit: np.ndarray,
) -> _Split | None:
    """Each between-within dimension's lasting level, ``lasting + b`` with ``b ~ N(0,
    1)`` per commitment (the scale anchor of the level), and its within path, the moving
    part less each commitment's own mean of it (docs/model.md, "Between and within");
    ``None`` without such dimensions."""
    if not spec.between_within:
        return None
    rows = spec.between_within_rows
    level = lasting[rows] + rng.normal(size=(len(rows), lasting.shape[1]))
    level_mean = level.mean(axis=1, keepdims=True)
    whole = lasting[:, c_unit] + moving
    within = whole - whole.mean(axis=1, keepdims=True)
    a_within = a_lasting + a_moving - whole.mean(axis=1, keepdims=True)
    # Each commitment's moving part less its own mean: the within path has no level.
    counts = np.bincount(c_unit, minlength=lasting.shape[1])
    means = np.stack([np.bincount(c_unit, weights=row, minlength=lasting.shape[1])
                      for row in moving[rows]]) / counts
    within[rows] = moving[rows] - means[:, c_unit]
    a_within[rows] = a_moving[rows]
    return _Split(between=level - level_mean, within=within,
                  alliance_between=a_lasting[rows] - level_mean, alliance_within=a_within)


def _between_loadings(
    rng: np.random.Generator, spec: ModelSpec, s: SignalSpec, given: object, loading_sd: float,
) -> dict[str, float]:
    """Signal ``s``'s raw between loadings, one per between-within dimension it loads on:
    its ``direction`` times a half-normal with its loading sd, or ``given`` (a number for
    its own dimension, or a mapping by dimension)."""
    loaded = [d for d in spec.signal_dimensions(s.name) if d in spec.between_within]
    drawn = s.direction * np.abs(rng.normal(0.0, loading_sd, len(loaded)))
    if not isinstance(given, Mapping):
        given = {} if given in (None, {}) else {s.dimension or spec.dimensions[0]: given}
    unknown = sorted(set(given) - set(loaded))
    if unknown:
        raise ValueError(f"fixed[{s.name!r}]['loading_between'] names {unknown}, not among "
                         f"the between-within dimensions it loads on {loaded}")
    return {d: float(given.get(d, v)) for d, v in zip(loaded, drawn, strict=True)}


def _signal_rows(
    rng: np.random.Generator, s: SignalSpec, params: Mapping[str, float | np.ndarray],
    loaded: np.ndarray, layout: _Layout, missing: float | Mapping[str, float],
) -> pd.DataFrame:
    """The kept rows of signal ``s`` given the latent part ``loaded`` of its predictor."""
    if s.level == "commitment":
        unit_col = {"commitment_id": layout.ids[layout.c_unit], "alliance": ""}
        unit, period = layout.c_unit, layout.c_period
    else:
        unit_col = {"commitment_id": "", "alliance": np.array(layout.alliances)[layout.a_unit]}
        unit, period = layout.a_unit, layout.a_period
    values, trials = _draw_values(rng, s, params, loaded)
    if s.residual_persistence:  # AR(1) log residuals per unit (decision 19)
        previous, gap = previous_rows(unit, np.zeros(unit.size, dtype=np.int64), period)
        values = s.target * draw_autocorrelated_lognormal(
            float(params["intercept"]) + loaded,
            float(params["noise"]), float(params["residual_persistence"]), previous, gap,
            rng=rng)
    share_missing = missing.get(s.name, 0.0) if isinstance(missing, Mapping) else missing
    keep = rng.random(values.size) >= share_missing
    table = pd.DataFrame({**unit_col, "period": period, "signal": s.name, "value": values,
                          "trials": trials, "exposure": np.nan})
    return table[keep]


def _simulated_data(spec: ModelSpec, layout: _Layout, rows: list[pd.DataFrame]
                    ) -> CredibilityData:
    signals = pd.concat(rows, ignore_index=True)
    if not (signals["trials"].notna().any()):
        signals = signals.drop(columns="trials")
    signals = signals.drop(columns="exposure")
    return CredibilityData.from_frames(
        layout.frame, signals, spec=spec, periods=(layout.first, layout.last),
        names={"commitments": "simulated commitments", "signals": "simulated signals"},
    )


def _signal_truth(
    parameters: Mapping[str, Mapping[str, float | np.ndarray]],
) -> tuple[dict[str, tuple], dict[str, list[str]]]:
    """The truth of the signals' own parameters, as data variables and coordinates:
    ``intercept`` and ``noise`` over the signals that have one (``signal_intercept``,
    ``signal_noise``), and ``residual_persistence`` (``signal_residual``) where any
    signal has autocorrelated residuals."""
    intercepts = {n: float(v["intercept"]) for n, v in parameters.items() if "intercept" in v}
    noises = {n: float(v["noise"]) for n, v in parameters.items() if "noise" in v}
    residual = {n: float(v["residual_persistence"]) for n, v in parameters.items()
                if "residual_persistence" in v}
    data = {"intercept": (("signal_intercept",), np.array(list(intercepts.values()))),
            "noise": (("signal_noise",), np.array(list(noises.values())))}
    coords = {"signal_intercept": list(intercepts), "signal_noise": list(noises)}
    if residual:
        data["residual_persistence"] = (("signal_residual",), np.array(list(residual.values())))
        coords["signal_residual"] = list(residual)
    return data, coords


def _truth_dataset(
    spec: ModelSpec, ids: np.ndarray, alliances: list[str], regions: list[str],
    types: list[str], periods: np.ndarray, x_grid: np.ndarray, a_grid: np.ndarray,
    scales: Mapping[str, float], spread: float, rho_a: float, rho_c: float,
    region: np.ndarray,
    type_effect: np.ndarray, parameters: Mapping[str, Mapping[str, float | np.ndarray]],
) -> xr.Dataset:
    names = [s.name for s in spec.signals]
    dyn = "persistence" if spec.dynamics == "ar1" else "step"
    signal_vars, signal_coords = _signal_truth(parameters)
    truth = xr.Dataset(
        {
            "credibility": (("commitment", "period"), x_grid),
            "alliance_level": (("alliance", "period"), a_grid),
            **{name: ((), value) for name, value in scales.items()},
            "latent_sd": ((), spread),
            f"{dyn}_alliance": ((), rho_a),
            f"{dyn}_commitment": ((), rho_c),
            "region_effect": (("region",), region),
            "type_effect": (("type",), type_effect),
            "loading": (("signal",), spread * np.array([float(parameters[n]["loading"])
                                                        for n in names])),
            **signal_vars,
        },
        coords={
            "commitment": ids,
            "alliance": alliances,
            "period": periods,
            "region": regions,
            "type": types,
            "signal": names,
            **signal_coords,
        },
        attrs={"synthetic": "true", "note": "SYNTHETIC: simulated by credibility.simulate"},
    )
    return truth


def _truth_dimensions(
    spec: ModelSpec, layout: _Layout, x_grid: np.ndarray, a_grid: np.ndarray,
    scales: Mapping[str, np.ndarray], spread: np.ndarray, rho_a: np.ndarray,
    rho_c: np.ndarray, region: np.ndarray, type_effect: np.ndarray, correlation: np.ndarray,
    parameters: Mapping[str, Mapping[str, float | np.ndarray]], split: _Split | None = None,
) -> xr.Dataset:
    """The truth of several dimensions: as :func:`_truth_dataset`, with a leading
    ``dimension`` on every latent quantity, ``loading`` as a (signal, dimension)
    matrix on the reported scale (zero where a signal does not load), ``loads``
    its declared pattern, and ``dimension_correlation``; with between-within
    dimensions also :func:`_truth_between_within`."""
    dims = list(spec.dimensions)
    names = [s.name for s in spec.signals]
    dyn = "persistence" if spec.dynamics == "ar1" else "step"
    loads = np.zeros((len(names), len(dims)), dtype=bool)
    loading = np.zeros((len(names), len(dims)))
    for j, s in enumerate(spec.signals):
        own = dims.index(s.dimension or dims[0])
        loads[j, own] = True
        loading[j, own] = float(parameters[s.name]["loading"])
        for a, value in zip(s.also, np.asarray(parameters[s.name]["loading_also"]),
                            strict=True):
            loads[j, dims.index(a)] = True
            loading[j, dims.index(a)] = float(value)
    split_vars, split_coords = {}, {}
    if split is not None:
        split_vars, split_coords = _truth_between_within(spec, layout, split, parameters)
        split_rows = spec.between_within_rows
        loading[:, split_rows] *= (split.within[split_rows].std(axis=1)
                                   / spread[split_rows])[None, :]
    signal_vars, signal_coords = _signal_truth(parameters)
    return xr.Dataset(
        {
            "credibility": (("dimension", "commitment", "period"), x_grid),
            "alliance_level": (("dimension", "alliance", "period"), a_grid),
            **{name: (("dimension",), np.asarray(value)) for name, value in scales.items()},
            "latent_sd": (("dimension",), spread),
            f"{dyn}_alliance": (("dimension",), rho_a),
            f"{dyn}_commitment": (("dimension",), rho_c),
            "region_effect": (("dimension", "region"), region),
            "type_effect": (("dimension", "type"), type_effect),
            "dimension_correlation": (("dimension", "with_dimension"), correlation),
            "loading": (("signal", "dimension"), loading * spread[None, :]),
            "loads": (("signal", "dimension"), loads),
            **split_vars,
            **signal_vars,
        },
        coords={
            "dimension": dims,
            "with_dimension": dims,
            **split_coords,
            "commitment": layout.ids,
            "alliance": layout.alliances,
            "period": layout.periods,
            "region": layout.regions,
            "type": layout.types,
            "signal": names,
            **signal_coords,
        },
        attrs={"synthetic": "true", "note": "SYNTHETIC: simulated by credibility.simulate"},
    )


def _truth_between_within(
    spec: ModelSpec, layout: _Layout, split: _Split,
    parameters: Mapping[str, Mapping[str, float | np.ndarray]],
) -> tuple[dict[str, tuple], dict[str, list[str]]]:
    """The truth of the between-within dimensions (docs/model.md, "Between and within"):
    ``between_level`` ``(between_dimension, commitment)``, the lasting levels
    standardised over the commitments; ``within`` ``(between_dimension, commitment,
    period)``, the within paths standardised over the active cells; ``between_sd`` and
    ``within_sd``, the sds they were divided by; ``loading_between`` and
    ``loading_within`` ``(signal, between_dimension)``, the signed loadings per sd of
    each (zero where a signal does not load on the dimension). ``loading`` of such a
    dimension is its within loading (:func:`_truth_dimensions`)."""
    dims, split_dims = spec.dimensions, spec.between_within
    split_rows = spec.between_within_rows
    between_sd = split.between.std(axis=1)
    within_sd = split.within[split_rows].std(axis=1)
    within = np.full((len(split_dims), len(layout.frame), layout.periods.size), np.nan)
    within[:, layout.c_unit, layout.c_period - layout.first] = (
        split.within[split_rows] / within_sd[:, None])
    names = [s.name for s in spec.signals]
    between_loading = np.zeros((len(names), len(split_dims)))
    within_loading = np.zeros((len(names), len(split_dims)))
    for j, s in enumerate(spec.signals):
        own = s.dimension or dims[0]
        raw = dict(zip(s.also, np.asarray(parameters[s.name]["loading_also"]), strict=True))
        raw[own] = float(parameters[s.name]["loading"])
        for d, value in dict(parameters[s.name]["loading_between"]).items():
            k = split_dims.index(d)
            between_loading[j, k] = value * between_sd[k]
            within_loading[j, k] = float(raw[d]) * within_sd[k]
    variables = {
        "between_level": (("between_dimension", "commitment"),
                          split.between / between_sd[:, None]),
        "within": (("between_dimension", "commitment", "period"), within),
        "between_sd": (("between_dimension",), between_sd),
        "within_sd": (("between_dimension",), within_sd),
        "loading_between": (("signal", "between_dimension"), between_loading),
        "loading_within": (("signal", "between_dimension"), within_loading),
    }
    return variables, {"between_dimension": list(split_dims)}


def simulate_cases(
    simulation: Simulation,
    cases: pd.DataFrame | int = 100,
    *,
    seed: int = 0,
    intercept: float = 0.5,
    credibility: float = 1.0,
    covariates: Mapping[str, float] | None = None,
    region_sd: float = 0.0,
    hold_out: float = 0.0,
    dimensions: Mapping[str, float] | None = None,
    interaction: float = 0.0,
) -> Simulation:
    """Add synthetic deterrence cases whose outcomes follow the outcome model.

    ``logit P(success) = intercept + credibility * x + sum_j covariates[j] * z_j
    + u[region]``, with ``x`` the *true* standardised credibility of the case's
    cell, ``z`` the covariates standardised over all cases (as the model does)
    and ``u`` sum-to-zero region effects with sd ``region_sd``.

    ``cases`` is a number of cases on random active cells (covariates drawn
    N(0, 1)), or a table ``case_id, commitment_id, period`` plus the spec's
    covariate columns. A share ``hold_out`` of the cases (exactly
    ``round(hold_out * n)``) gets an empty outcome: cases to predict.
    ``truth["case_outcome"]`` keeps every simulated outcome and
    ``truth["case_probability"]`` the true P(success). Marked synthetic.

    A simulation of two dimensions follows the outcome model of two dimensions
    (:mod:`credibility.predictor`): ``logit P(success) = intercept + b_1 * x1 + b_2 *
    x2 + interaction * x1 * x2 + ...`` with ``x1``, ``x2`` the true standardised
    dimensions of the case's cell and ``b_d`` from ``dimensions`` (a mapping from
    dimension name to slope; a dimension not named gets ``credibility``). The truth
    then has ``outcome_dimension`` (dim ``dimension``) and ``outcome_interaction``
    instead of ``outcome_credibility``.

    Parameters
    ----------
    simulation : Simulation
        A simulation of one or two dimensions (:func:`simulate`).
    cases : pandas.DataFrame or int
        A number of cases, or their table.
    seed : int
        Seed of the cases' draws.
    intercept, credibility : float
        The true intercept and (one dimension) slope.
    covariates : Mapping[str, float], optional
        True effects of the spec's covariates (default 0).
    region_sd : float
        Sd of the true region effects.
    hold_out : float
        Share of the cases without an outcome.
    dimensions : Mapping[str, float], optional
        Two dimensions only: the true slope of each dimension.
    interaction : float
        Two dimensions only: the true interaction of the two dimensions.

    Returns
    -------
    Simulation
        The simulation with the cases and the outcome model's truth.

    Raises
    ------
    SpecError
        If the simulation has more than two dimensions, or one dimension and
        ``dimensions`` or ``interaction`` are given.
    ValueError
        If ``covariates`` or ``dimensions`` name what the spec lacks.

    Examples
    --------
    >>> sim = simulate_cases(simulate("default", seed=3), 40, seed=1, hold_out=0.25)
    >>> int(sim.data.cases["outcome"].isna().sum()), float(sim.truth["outcome_credibility"])
    (10, 1.0)
    >>> two = simulate_cases(simulate("capability_willingness", seed=3), 40, seed=1,
    ...                      dimensions={"capability": 1.0, "willingness": 0.5},
    ...                      interaction=0.8)
    >>> two.truth["outcome_dimension"].values.tolist(), float(two.truth["outcome_interaction"])
    ([1.0, 0.5], 0.8)
    """
    data = simulation.data
    spec = data.spec
    several = len(spec.dimensions) > 1
    if len(spec.dimensions) > 2:
        raise SpecError(f"{spec.source}: simulate_cases takes one or two dimensions; the "
                        f"spec has {len(spec.dimensions)} ({', '.join(spec.dimensions)})")
    if not several and (dimensions is not None or interaction != 0.0):
        raise SpecError(f"{spec.source}: dimensions and interaction are for a simulation of "
                        "two dimensions; this spec has one (use credibility=)")
    slopes = dict(dimensions or {})
    unknown_dimensions = sorted(set(slopes) - set(spec.dimensions))
    if several and unknown_dimensions:
        raise ValueError(f"dimensions {unknown_dimensions} are not the spec's dimensions "
                         f"{list(spec.dimensions)}")
    rng = np.random.default_rng(seed)
    x_grid = simulation.truth["credibility"]
    effects = dict(covariates or {})
    unknown = sorted(set(effects) - set(spec.covariates))
    if unknown:
        raise ValueError(f"covariates {unknown} are not in the spec's [outcome] covariates "
                         f"{list(spec.covariates)}")
    if isinstance(cases, int):
        active = x_grid.to_series().dropna().index.to_frame(index=False)
        pick = rng.choice(len(active), size=cases, replace=cases > len(active))
        table = pd.DataFrame({
            "case_id": [f"SIM{k + 1:04d}" for k in range(cases)],
            "commitment_id": active["commitment"].to_numpy()[pick],
            "period": active["period"].to_numpy()[pick].astype(np.int64),
            **{name: rng.normal(size=cases) for name in spec.covariates},
        })
    else:
        table = cases.copy()
    x = x_grid.sel(commitment=xr.DataArray(table["commitment_id"].to_numpy(), dims="case"),
                   period=xr.DataArray(table["period"].to_numpy(), dims="case"))
    if several:
        b = np.array([float(slopes.get(d, credibility)) for d in spec.dimensions])
        x = x.transpose("case", "dimension").to_numpy()
        signal = x @ b + interaction * x[:, 0] * x[:, 1]
    else:
        x = x.to_numpy()
        signal = credibility * x
    raw = table[list(spec.covariates)].to_numpy(np.float64).reshape(len(table), -1)
    z = (raw - raw.mean(axis=0)) / np.where(raw.std(axis=0) > 0, raw.std(axis=0), 1.0)
    gamma = np.array([effects.get(name, 0.0) for name in spec.covariates])
    regions = list(data.regions)
    region_effect = _zero_sum(rng, region_sd, len(regions)) if region_sd > 0 else np.zeros(
        len(regions))
    region = table["commitment_id"].map(data.commitments.set_index("commitment_id")["region"])
    u = region_effect[region.map({r: j for j, r in enumerate(regions)}).to_numpy(np.int64)]
    probability = 1.0 / (1.0 + np.exp(-(intercept + signal + z @ gamma + u)))
    outcome = (rng.random(len(table)) < probability).astype(np.int64)
    held = np.zeros(len(table), dtype=bool)
    held[rng.permutation(len(table))[: round(hold_out * len(table))]] = True
    table["outcome"] = np.where(held, np.nan, outcome)
    cased = data.with_cases(table, name="simulated cases")
    slope_truth = (
        {"outcome_dimension": (("dimension",), b), "outcome_interaction": ((), interaction)}
        if several else {"outcome_credibility": ((), credibility)})
    truth = simulation.truth.assign(
        outcome_intercept=((), intercept),
        **slope_truth,
        outcome_covariate=(("covariate",), gamma),
        outcome_region=(("region",), region_effect),
        case_probability=(("case",), probability),
        case_outcome=(("case",), outcome),
        case_held_out=(("case",), held),
    ).assign_coords(case=table["case_id"].to_numpy(), covariate=list(spec.covariates))
    return Simulation(data=cased, truth=truth, seed=simulation.seed)
