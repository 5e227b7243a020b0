"""Simulated latent credibility of several dimensions (docs/model.md, "Several dimensions").

Each dimension has its own group effects, alliance paths and commitment paths; the
commitment paths' innovations are correlated across dimensions (correlation drawn by
:func:`lkj_correlation`), and each signal's linear predictor is the sum of its loadings
times the dimensions it loads on. Between-within dimensions split each commitment's latent
into a lasting level and a within path. :mod:`credibility.dimensions` builds the PyMC model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr

from credibility.data.spec import ModelSpec, SignalSpec
from credibility.simulate.layout import Simulation, _draw_groups, _Layout, _paths
from credibility.simulate.signals import (
    SIMULATION_FALLBACKS,
    _signal_parameters,
    _signal_rows,
    _signal_truth,
    _simulated_data,
)


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
    groups = [_draw_groups(rng, spec, layout) for _ in dims]
    rho_a = np.array([g.rho_alliance for g in groups])
    rho_c = np.array([g.rho_commitment for g in groups])
    scales = {key: np.array([g.scales[key] for g in groups]) for key in groups[0].scales}
    za = np.stack([g.alliance_mean for g in groups])
    region = np.stack([g.region for g in groups])
    type_effect = np.stack([g.type_effect for g in groups])
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
        params = _dimension_signal_parameters(rng, spec, s, fixed.get(s.name, {}), split)
        parameters[s.name] = params
        loaded = _loaded(spec, s, params, x, a_level, split, c_unit)
        rows.append(_signal_rows(rng, s, params, loaded, layout, missing))
    data = _simulated_data(spec, layout, rows)
    truth = _truth_dimensions(spec, layout, x_grid, a_grid, scales, spread, rho_a, rho_c,
                              region, type_effect, correlation, parameters, split)
    return Simulation(data=data, truth=truth, seed=seed)


def _dimension_signal_parameters(
    rng: np.random.Generator, spec: ModelSpec, s: SignalSpec, fixed: object,
    split: _Split | None,
) -> dict[str, float | np.ndarray]:
    """A signal's parameters with several dimensions: those of one dimension, then its
    cross-loadings (``loading_also``) and, with between-within dimensions, its
    between loadings; ``fixed`` is the signal's mapping of given values."""
    params = _signal_parameters(rng, s, spec)
    loading_sd = s.loading_sd or SIMULATION_FALLBACKS[s.family][2]
    drawn_also = s.direction * np.abs(rng.normal(0.0, loading_sd, len(s.also)))
    given = dict(fixed)  # type: ignore[call-overload]
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
        params["loading_between"] = _between_loadings(rng, spec, s, given_between, loading_sd)
    return params


def _loaded(
    spec: ModelSpec, s: SignalSpec, params: Mapping[str, object], x: np.ndarray,
    a_level: np.ndarray, split: _Split | None, c_unit: np.ndarray,
) -> np.ndarray:
    """The latent part of a signal's linear predictor: its loadings times the
    dimensions it loads on (the within paths and the lasting levels of between-within
    dimensions)."""
    dims = spec.dimensions
    state = x if s.level == "commitment" else a_level
    if split is not None:
        state = split.within if s.level == "commitment" else split.alliance_within
    loaded = float(params["loading"]) * state[dims.index(s.dimension or dims[0])]
    for a, value in zip(s.also, params["loading_also"], strict=True):  # type: ignore[call-overload]
        loaded = loaded + float(value) * state[dims.index(a)]
    if split is not None:
        between = (split.between[:, c_unit] if s.level == "commitment"
                   else split.alliance_between)
        for a, value in params["loading_between"].items():  # type: ignore[attr-defined]
            loaded = loaded + value * between[spec.between_within.index(a)]
    return loaded


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
