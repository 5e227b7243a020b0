"""The hierarchical, dynamic measurement model (equations in docs/model.md).

Latent credibility of commitment *i* in period *t* of its active window is built
from sum-to-zero group effects and two AR(1) (or random-walk) processes, one per
alliance and one per commitment::

    a[k, t] = sd_am * za[k] + sd_ad * ea[k, t]                       (alliance level)
    x[i, t] = region[r(i)] + type[y(i)] + a[k(i), t] + ec[i, t]

``za`` is ``ZeroSumNormal(1)``; the paths run in each unit's *own* time, so a
commitment that starts in 2010 starts from the stationary distribution in 2010. A
commitment's persistent departure from its pooled mean is carried by its AR(1)
path (a separate commitment constant was confounded with it: docs/decisions.md).
Identification: commitment paths have sd 1 (scale), ``x`` and ``a`` are centred on
the mean over all active commitment-periods (location), and
``loading[s] = direction[s] * |loading[s]|`` (sign). Reported credibility is
standardised per draw to mean 0 and sd 1 over the active cells.

Alliance paths are non-centred, a lower-triangular matrix product of innovations
(no ``scan``); commitment paths are centred by default (``centred_states``), or
partially non-centred by frequency with ``spectral_states`` (DCT coefficients).
Each observed row enters one likelihood term per family with linear predictor
``eta = intercept[s] + loading[s] * latent``. Everything here is a pure function of
the data and the spec; :mod:`credibility.results.fitting` samples the model.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from pymc.distributions.transforms import ZeroSumTransform
from pytensor.compile.builders import OpFromGraph

from credibility.data.container import CredibilityData
from credibility.data.spec import LOG_FAMILIES, ModelSpec, SignalSpec
from credibility.errors import SpecError
from credibility.kernels import DATA_PREFIX, spectral_states
from credibility.model.dynamics import dynamics_matrix
from credibility.model.index import (
    _NOISE_FAMILIES,
    ModelIndex,
    UnitCells,
    build_index,
    model_coords,
    warn_unused_signals,
)
from credibility.model.likelihoods import add_likelihoods, per_row
from credibility.model.parameters import signal_parameters, signal_priors

#: Families whose commitment-level signals carry the latent's scale coordinate
#: (decision 31): each row pins loading x latent closely.
SCALE_FAMILIES = ("count", "amount", "ratio", "proportion")


def _paths(
    innovations: pt.TensorVariable, cells: UnitCells, rho: pt.TensorVariable, dynamics: str
) -> pt.TensorVariable:
    """Unit-variance dynamic paths for every active cell (flat, same order as ``cells``)."""
    padded = pt.zeros((cells.n_units, cells.max_length))
    padded = padded[cells.unit, cells.local].set(innovations)
    paths = padded @ dynamics_matrix(rho, cells.max_length, dynamics).T
    return paths[cells.unit, cells.local]


def _dynamic_component(
    name: str, dim: str, cells: UnitCells, rho: pt.TensorVariable, scale: pt.TensorVariable,
    dynamics: str, centred: bool,
) -> pt.TensorVariable:
    """``scale * path`` for every active cell, non-centred or centred.

    Non-centred: standard-normal innovations ``{name}_innovation`` mapped through
    ``L(rho)``. Centred: the states ``{name}_state`` themselves, with the AR(1) /
    random-walk density added as a potential; better when every state is strongly
    informed by data, because rho and the scale then stop dragging all states along
    (docs/model.md, "Parameterisation").
    """
    if not centred:
        innovations = pm.Normal(f"{name}_innovation", 0.0, 1.0, dims=dim)
        return scale * _paths(innovations, cells, rho, dynamics)
    states = pm.Flat(f"{name}_state", dims=dim)
    _path_prior(name, states, cells, rho, scale, dynamics)
    return states


def _path_prior(
    name: str, path: pt.TensorVariable, cells: UnitCells, rho: pt.TensorVariable,
    scale: pt.TensorVariable, dynamics: str,
) -> None:
    """The AR(1) / random-walk density of centred ``path`` values, as potential ``{name}_prior``."""
    first = cells.local == 0
    previous = np.where(first, 0, np.arange(cells.size) - 1)
    if dynamics == "ar1":
        mean = pt.where(first, 0.0, rho * path[previous])
        sd = pt.where(first, scale, scale * pt.sqrt(1.0 - rho**2))
    else:
        mean = pt.where(first, 0.0, path[previous])
        sd = pt.where(first, scale, scale * rho)
    pm.Potential(f"{name}_prior", pm.logp(pm.Normal.dist(mean, sd), path).sum())


def dct_basis(length: int) -> np.ndarray:
    """Orthonormal DCT-II basis of ``length`` periods, one basis vector per row.

    Examples
    --------
    >>> basis = dct_basis(5)
    >>> bool(np.allclose(basis @ basis.T, np.eye(5)))
    True
    """
    t = np.arange(length)
    basis = np.cos(np.pi * np.arange(length)[:, None] * (t[None, :] + 0.5) / length)
    basis *= np.sqrt(2.0 / length)
    basis[0] /= np.sqrt(2.0)
    return basis


def dct_lag_weights(basis: np.ndarray) -> np.ndarray:
    """``C`` with ``diag(B R(rho) B') = C @ rho**d``, ``d = 0 .. T-1``.

    ``R(rho)[t, s] = rho**|t - s|`` is the correlation of a stationary AR(1) and ``B`` a
    basis (:func:`dct_basis`): the variance of each basis coefficient is a polynomial
    in ``rho``, so the model computes it with one small matrix-vector product.

    Examples
    --------
    >>> basis, rho = dct_basis(6), 0.7
    >>> lag = np.abs(np.subtract.outer(np.arange(6), np.arange(6)))
    >>> exact = np.diag(basis @ rho**lag @ basis.T)
    >>> bool(np.allclose(dct_lag_weights(basis) @ rho ** np.arange(6), exact))
    True
    """
    length = basis.shape[1]
    lag = np.abs(np.subtract.outer(np.arange(length), np.arange(length)))
    products = basis[:, :, None] * basis[:, None, :]
    return np.stack([(products * (lag == d)).sum(axis=(1, 2)) for d in range(length)], axis=1)


def spectral_weights(length: int, rho: float, precision: float) -> np.ndarray:
    """Non-centring weight of each DCT coefficient: ``1 / (1 + lambda_k(rho) * precision)``.

    ``lambda_k`` is coefficient ``k``'s prior variance (stationary AR(1), unit marginal
    variance) and ``precision`` the data's precision per commitment-period in the
    same units: the weight of a Gaussian partially non-centred parameterisation
    (Papaspiliopoulos, Roberts & Sköld 2007), near 0 (centred) for the slow
    components the data pin down, near 1 (non-centred) for the fast ones the prior
    does. Fixed numbers: any weights give the same model, only its geometry.

    Examples
    --------
    >>> w = spectral_weights(30, 0.8, 1.0)
    >>> bool(w[0] < 0.2 and w[-1] > 0.8)
    True
    """
    lam = dct_lag_weights(dct_basis(length)) @ rho ** np.arange(length, dtype=np.float64)
    return 1.0 / (1.0 + lam * precision)


def _spectral_states(
    cells: UnitCells, group_std: pt.TensorVariable, rho: pt.TensorVariable, weights: np.ndarray,
    marker_scale: pt.TensorVariable | None = None, fused: bool = False,
) -> pt.TensorVariable:
    """Commitment states (stationary-sd units) from partially non-centred DCT coefficients.

    Each commitment's window is padded at its end to the longest window (the padded
    periods have no data; a stationary AR(1) extended forward leaves the density of
    the earlier periods unchanged, so the padding integrates out exactly). With
    ``B`` the DCT basis, ``lambda(rho)`` the coefficients' prior variances, ``w``
    the fixed ``weights`` and ``gamma`` the coefficients of the group mean, the free
    variable ``commitment_spectral`` (``z``) maps to the states by::

        s = (lambda**(w/2) * z + w * gamma) @ B

    so coefficient ``k`` is centred (``w = 0``: the state itself) or non-centred
    (``w = 1``: the prior's standardised coefficient) or in between. The AR(1)
    density of ``s - group mean`` (:func:`_path_prior` on the padded grid, potential
    ``commitment_prior``) and the Jacobian ``sum(w/2 * log lambda)`` per commitment
    (``commitment_spectral_jacobian``) are added: the model is the centred one's, in
    other coordinates (docs/decisions.md 17).

    With ``marker_scale`` (``m``, the marker signal's loading on the stationary-sd
    latent: ``[model] marker_signal``, decision 18) the coefficients are those of the
    marker-scaled states ``u = m * s``, which the marker's data pin down directly::

        s = ((m**2 * lambda)**(w/2) * z + w * m * gamma) @ B / m

    with the Jacobian ``sum(w/2 * log(m**2 * lambda)) - T * log(m)`` per commitment;
    ``m = 1`` is the form above.

    With ``fused`` (and no marker) the states, the prior and the Jacobian come from one
    kernel (:func:`credibility.kernels.spectral_states`) as the potential
    ``commitment_prior`` (Jacobian included): the same density, fewer passes.
    """
    n, length = cells.n_units, cells.max_length
    basis = dct_basis(length)
    last = np.zeros(n, dtype=np.int64)
    last[cells.unit] = np.arange(cells.size)  # the last write is each unit's last cell
    padded = np.repeat(last[:, None], length, axis=1)
    padded[cells.unit, cells.local] = np.arange(cells.size)
    free = pm.Flat("commitment_spectral", shape=(n, length))
    if fused and marker_scale is None:
        states, log_prior = spectral_states(
            free, rho, group_std, basis=basis, weights=weights,
            lag_weights=dct_lag_weights(basis), padded=padded, unit=cells.unit,
            local=cells.local)
        pm.Potential("commitment_prior", log_prior)
        return states
    lam = pt.dot(dct_lag_weights(basis), rho ** np.arange(length, dtype=np.float64))
    group_full = group_std[padded]
    # (w * gamma) @ B = group_full @ (B' diag(w) B): the group mean's part in one product.
    group_part = _constant_product(group_full, basis.T @ (weights[:, None] * basis))
    if marker_scale is None:
        states = _constant_product(lam ** (weights / 2.0) * free, basis) + group_part
        log_jacobian = n * (weights / 2.0 * pt.log(lam)).sum()
    else:
        variance = marker_scale**2 * lam
        states = (_constant_product(variance ** (weights / 2.0) * free, basis) / marker_scale
                  + group_part)
        log_jacobian = n * ((weights / 2.0 * pt.log(variance)).sum()
                            - length * pt.log(marker_scale))
    grid = UnitCells(unit=np.repeat(np.arange(n), length), period=np.tile(np.arange(length), n),
                     local=np.tile(np.arange(length), n), n_units=n)
    _path_prior("commitment", (states - group_full).ravel(), grid, rho, 1.0, "ar1")
    pm.Potential("commitment_spectral_jacobian", log_jacobian)
    return states[cells.unit, cells.local]


def _constant_product(x: pt.TensorVariable, matrix: np.ndarray) -> pt.TensorVariable:
    """``x @ matrix`` for a constant ``matrix``, as one node PyMC's rewrites cannot see into.

    With a plain product, PyMC's log-density rewrites lift each likelihood family's
    gather of the states (``states[unit, period][rows]``) into the product, so every
    family computed its own ``rows x T`` product and the gradient pulled back through
    the basis once per family. Behind this boundary the families gather from one
    ``n x T`` result: at size M one log density + gradient took 2.4 instead of 4.0 ms
    (numba, one thread; the centred parameterisation's: 2.1 ms). Same values.

    Examples
    --------
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> bool(np.allclose(_constant_product(pt.as_tensor(x), np.eye(3) * 2).eval(), 2 * x))
    True
    """
    inner = pt.matrix("x")
    return OpFromGraph([inner], [pt.dot(inner, pt.constant(matrix))], inline=False)(x)


def _half_normal_in_units(
    name: str, sigma: float | np.ndarray, factor: pt.TensorVariable, dims: str | None = None,
) -> pt.TensorVariable:
    """A HalfNormal(sigma) parameter sampled as ``{name}_stationary = value / factor``.

    The model keeps the HalfNormal prior of ``value`` (the potential ``{name}_prior``
    holds it and the Jacobian); ``value`` is returned and recorded as the
    deterministic ``name``, in the units the spec's priors are written in.
    """
    shape = np.shape(sigma)
    free = pm.HalfFlat(f"{name}_stationary", dims=dims, shape=shape if dims is None else None)
    value = free * factor
    n = int(np.prod(shape)) if shape else 1
    pm.Potential(f"{name}_prior",
                 pm.logp(pm.HalfNormal.dist(sigma=sigma), value).sum() + n * pt.log(factor))
    return pm.Deterministic(name, value, dims=dims)


def _marker_loadings(
    sigma: np.ndarray, anchor: pt.TensorVariable, marker: int,
) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Loading magnitudes sampled as the marker's and every other's ratio to it.

    The model is :func:`_half_normal_in_units`'s (HalfNormal(``sigma``) on each
    magnitude, the returned deterministic ``loading_magnitude``); the free variables
    are ``loading_marker_stationary`` (``m``, the marker signal's loading on the
    stationary-sd latent, also returned) and ``loading_ratio`` (dim
    ``signal_ratio``: every other signal's loading divided by ``m``), which the data
    pin down without the latent's scale (decision 18). The potential
    ``loading_magnitude_prior`` holds the prior and the Jacobian.
    """
    n = len(sigma)
    marker_value = pm.HalfFlat("loading_marker_stationary")
    ratio = pm.HalfFlat("loading_ratio", dims="signal_ratio")
    others = ratio * marker_value
    stationary = pt.concatenate([others[:marker], marker_value[None], others[marker:]])
    value = stationary / anchor
    pm.Potential("loading_magnitude_prior",
                 pm.logp(pm.HalfNormal.dist(sigma=sigma), value).sum()
                 - n * pt.log(anchor) + (n - 1) * pt.log(marker_value))
    return pm.Deterministic("loading_magnitude", value, dims="signal"), marker_value


def scale_signals(signals: tuple[SignalSpec, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Which signals carry the latent's scale coordinate (decision 31): masks over
    ``signals`` of the reference signals (the commitment-level signals of
    :data:`SCALE_FAMILIES`, or every commitment-level signal when none is) and of the
    other commitment-level signals, whose loadings are ratios to the reference scale.

    Examples
    --------
    >>> from credibility.data.spec import load_spec
    >>> reference, relative = scale_signals(load_spec("default").signals)
    >>> reference.tolist(), relative.tolist()
    ([True, True, True, False, False, False], [False, False, False, True, True, False])
    """
    on_commitment = np.array([s.level == "commitment" for s in signals])
    reference = on_commitment & np.array([s.family in SCALE_FAMILIES for s in signals])
    if not reference.any():
        reference = on_commitment
    return reference, on_commitment & ~reference


def uses_scale_coordinate(spec: ModelSpec) -> bool:
    """Whether ``spec``'s model samples the latent's scale as one coordinate (decision 31:
    ``scale_coordinate`` with centred commitment states, not spectral ones).

    Examples
    --------
    >>> from credibility.data.spec import load_spec
    >>> uses_scale_coordinate(load_spec("default"))
    True
    """
    return (spec.scale_coordinate and not spec.spectral_states
            and "commitment" in spec.centred_states)


def _scaled_loadings(
    sigma: np.ndarray, anchor: pt.TensorVariable, scale_log: pt.TensorVariable,
    reference: np.ndarray, relative: np.ndarray,
) -> pt.TensorVariable:
    """Loading magnitudes whose commitment signals share the latent's scale coordinate.

    The model is :func:`_half_normal_in_units`'s (HalfNormal(``sigma``) on each
    magnitude, the returned deterministic ``loading_magnitude``, and
    ``loading_magnitude_stationary`` on the stationary-sd latent). The sampler's
    coordinates differ (decision 31). The stationary magnitudes of the ``reference``
    signals are ``exp(scale_log) * sqrt(n * softmax(loading_offset))``: ``scale_log``
    (the free ``latent_scale_log``) is the log of their root mean square and
    ``loading_offset`` (sum to zero, dim ``signal_offset``; absent with one reference
    signal) their shares of it. The log magnitudes of the ``relative`` signals are
    ``scale_log`` plus ``loading_log_ratio`` (dim ``signal_relative``); the others
    (alliance-level) keep ``loading_alliance_stationary`` (dim ``signal_alliance``). The potential
    ``loading_magnitude_prior`` holds the prior and every Jacobian but that of
    ``loading_alliance_stationary``'s log transform, which PyMC adds.
    """
    n = len(sigma)
    stationary = pt.zeros(n)
    n_reference = int(reference.sum())
    log_reference = scale_log * pt.ones(n_reference)
    if n_reference > 1:
        # Magnitudes exp(g) * sqrt(n * softmax(offset)): g is the log root mean square
        # of the reference magnitudes, so one whose loading is near zero (a long left
        # tail in log scale) moves only its own offset, not the scale or the others.
        # The map (g, offset) -> log magnitudes has a constant Jacobian.
        offset = pm.Flat("loading_offset", dims="signal_offset",
                         default_transform=ZeroSumTransform([-1]))
        log_reference = log_reference + 0.5 * (np.log(n_reference) + offset
                                               - pt.logsumexp(offset))
    stationary = pt.set_subtensor(stationary[np.flatnonzero(reference)], pt.exp(log_reference))
    log_magnitudes = log_reference.sum()
    if relative.any():
        log_relative = scale_log + pm.Flat("loading_log_ratio", dims="signal_relative")
        stationary = pt.set_subtensor(stationary[np.flatnonzero(relative)], pt.exp(log_relative))
        log_magnitudes = log_magnitudes + log_relative.sum()
    others = ~(reference | relative)
    if others.any():
        alliance = pm.HalfFlat("loading_alliance_stationary", dims="signal_alliance")
        stationary = pt.set_subtensor(stationary[np.flatnonzero(others)], alliance)
    stationary = pm.Deterministic("loading_magnitude_stationary", stationary, dims="signal")
    value = stationary / anchor
    pm.Potential("loading_magnitude_prior",
                 pm.logp(pm.HalfNormal.dist(sigma=sigma), value).sum() - n * pt.log(anchor)
                 + log_magnitudes)
    return pm.Deterministic("loading_magnitude", value, dims="signal")


def residual_states(
    free: pt.TensorVariable, cells: pt.TensorVariable, value: pt.TensorVariable,
    intercept: pt.TensorVariable, slope: pt.TensorVariable, noise: pt.TensorVariable,
) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Sum-to-zero states whose ``cells`` are sampled as one signal's standardised residuals.

    ``free`` is the sampler's sum-to-zero vector (one entry per cell). At the ``cells``
    a Gaussian signal observes (``value`` on its log scale, one row per cell) the
    state is ``(value - intercept) / slope + (noise / slope) * free``: the signal's
    residual is ``noise`` times the coordinate, so a change of ``noise`` moves every
    state it pins at once instead of leaving each to follow (decision 33). The other
    cells' states are ``free`` itself; the result is centred to sum to zero.
    Returns the states and the log Jacobian of ``free -> states`` on the
    sum-to-zero subspace: with ``m`` of ``n`` cells scaled by ``b = noise / |slope|``
    it is ``m log b + log((n - m + m / b) / n)`` (the determinant of ``D = diag(b)``
    restricted to that subspace is ``det(D) * mean(1 / diag(D))``).

    Examples
    --------
    >>> import numpy as np
    >>> free = pt.as_tensor(np.array([0.5, -0.5, 0.0]))
    >>> states, log_jacobian = residual_states(
    ...     free, pt.as_tensor(np.array([0, 1])), pt.as_tensor(np.array([1.0, -1.0])),
    ...     pt.as_tensor(0.0), pt.as_tensor(2.0), pt.as_tensor(0.2))
    >>> np.round(states.eval(), 3).tolist(), bool(np.isclose(states.eval().sum(), 0))
    ([0.55, -0.55, 0.0], True)
    """
    n, m = free.shape[0], cells.shape[0]
    log_b = pt.log(noise) - pt.log(pt.abs(slope))
    pinned = (value - intercept) / slope + pt.exp(log_b) * free[cells]
    states = pt.set_subtensor(free[cells], pinned)
    log_jacobian = m * log_b + pt.log((n - m + m * pt.exp(-log_b)) / n)
    return states - states.mean(), log_jacobian


#: A fit that adapts its coordinates (``[model] adapt_coordinates``, decision 33) samples
#: the states a signal observes as its residuals when that signal carries at least
#: this share of the information on them ...
RESIDUAL_SHARE = 0.5
#: ... and samples the commitment states non-centred when the data carry less than this
#: share of the information on the states (the AR(1) prior the rest).
DATA_SHARE = 0.25
#: A fit that adapts its coordinates starts in spectral states (decision 17) when its
#: data hold at least this many commitment-periods (decision 57).
SPECTRAL_CELLS = 5_000


def summary_posterior(
    index: ModelIndex, *, loading: float | dict[str, float], noise: float | dict[str, float],
    persistence: float, intercept: float | dict[str, float] = 0.0,
) -> xr.Dataset:
    """A one-draw posterior of the quantities :func:`state_information` reads, with the
    given values (one for all signals, or per signal name, the others then 1 for
    loadings and noises, 0 for intercepts): for asking which coordinates a fit would
    choose at such values.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> index = build_index(load_dataset("demo"))
    >>> posterior = summary_posterior(index, loading=1.0, noise={"troops": 0.1}, persistence=0.8)
    >>> posterior["noise"].sel(signal_noise="troops").values.ravel().tolist()
    [0.1]
    """
    def values(value: float | dict[str, float], names: list[str], other: float) -> np.ndarray:
        if isinstance(value, dict):
            return np.array([float(value.get(n, other)) for n in names])
        return np.full(len(names), float(value))

    names = [s.name for s in index.signals]
    noisy = [s.name for s in index.signals if s.family in _NOISE_FAMILIES]
    with_intercept = [s.name for s in index.signals if s.family != "ordinal"]
    return xr.Dataset(
        {"loading_magnitude_stationary": (("chain", "draw", "signal"),
                                          values(loading, names, 1.0)[None, None]),
         "noise": (("chain", "draw", "signal_noise"), values(noise, noisy, 1.0)[None, None]),
         "intercept": (("chain", "draw", "signal_intercept"),
                       values(intercept, with_intercept, 0.0)[None, None]),
         "persistence_commitment": (("chain", "draw"), np.full((1, 1), float(persistence)))},
        coords={"signal": names, "signal_noise": noisy, "signal_intercept": with_intercept})


def state_information(posterior: xr.Dataset, index: ModelIndex
                      ) -> tuple[float, dict[str, tuple[float, float]]]:
    """The Fisher information on one commitment state (stationary-sd units) from its
    prior, and from each commitment-level signal with the share of states it observes.

    From the posterior means of a scale-coordinate fit (the loadings on the
    stationary-sd latent, noises, intercepts and persistence): ``(loading / noise)^2``
    for an amount or ratio signal, ``loading^2 mu / (1 + noise mu)`` for counts (``mu =
    exp(intercept)``), ``loading^2 / 4`` for the logistic families (times the mean
    trials of a binomial one), and ``(1 + rho^2) / (1 - rho^2)`` from an interior
    state's AR(1) neighbours (``2 / step^2`` for a random walk). Rough, as it needs to
    be: it tells a signal that pins the states from one that does not, and data that
    pin them from a prior that does.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> data = load_dataset("demo")
    >>> index = build_index(data)
    >>> posterior = summary_posterior(index, loading=1.0, noise=0.5, persistence=0.8)
    >>> prior, signals = state_information(posterior, index)
    >>> round(prior, 2), round(signals["troops"][0], 2)
    (4.56, 4.0)
    """
    def mean(name: str) -> xr.DataArray:
        return posterior[name].mean([d for d in ("chain", "draw") if d in posterior[name].dims])

    loading = mean("loading_magnitude_stationary")
    noise = mean("noise") if "noise" in posterior else None
    intercept = mean("intercept") if "intercept" in posterior else None
    if "persistence_commitment" in posterior:
        rho = float(mean("persistence_commitment"))
        prior = (1.0 + rho**2) / max(1.0 - rho**2, 1e-6)
    else:
        prior = 2.0 / max(float(mean("step_commitment")) ** 2, 1e-12)
    signals = {}
    for position, signal in enumerate(index.signals):
        if signal.level != "commitment":
            continue
        observations = index.families[signal.family]
        rows = observations.signal == position
        observed = np.unique(observations.latent[rows]).size / index.cells.size
        value = float(loading.sel(signal=signal.name)) ** 2
        if signal.family in LOG_FAMILIES:
            value /= float(noise.sel(signal_noise=signal.name)) ** 2
        elif signal.family == "count":
            mu = float(np.exp(intercept.sel(signal_intercept=signal.name)))
            value *= mu / (1.0 + float(noise.sel(signal_noise=signal.name)) * mu)
        else:
            trials = observations.trials[rows]
            value *= 0.25 * (float(trials.mean()) if signal.family == "binomial" else 1.0)
        signals[signal.name] = (value, observed)
    return prior, signals


def information_shares(posterior: xr.Dataset, index: ModelIndex) -> dict[str, float]:
    """Each residual-signal candidate's share of the information on the states it observes.

    Candidates are the commitment-level ``amount`` and ``ratio`` signals without
    residual persistence; the other signals count with the share of states they observe
    (:func:`state_information`).

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> data = load_dataset("demo")
    >>> index = build_index(data)
    >>> posterior = summary_posterior(index, loading=1.0, noise=0.5, persistence=0.8)
    >>> {k: round(v, 2) for k, v in information_shares(posterior, index).items()}
    {'troops': 0.31, 'spending_ratio': 0.32}
    """
    prior, signals = state_information(posterior, index)
    total = prior + sum(value * observed for value, observed in signals.values())
    return {s.name: signals[s.name][0] / (total + signals[s.name][0] * (1 - signals[s.name][1]))
            for s in index.signals if s.name in signals and s.family in LOG_FAMILIES
            and not s.residual_persistence}


def adapted_coordinates(posterior: xr.Dataset, index: ModelIndex, spec: ModelSpec
                        ) -> tuple[ModelSpec, str, str] | None:
    """The spec in the coordinates a failing first check's posterior asks for, what they
    are and why.

    When one signal carries at least :data:`RESIDUAL_SHARE` of the information on the
    states it observes: its residuals as their coordinates (``residual_signal``). Else
    when the data carry less than :data:`DATA_SHARE` of the information on the states:
    non-centred commitment states. ``None``: keep the coordinates (also for a spec
    without the scale coordinate, or one that chose a residual signal itself).

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> data = load_dataset("demo")
    >>> index = build_index(data)
    >>> posterior = summary_posterior(index, loading=0.1, noise=0.5, persistence=0.8)
    >>> spec, coordinates, why = adapted_coordinates(posterior, index, data.spec)
    >>> spec.centred_states, coordinates, why
    ((), 'non-centred commitment states', 'the data carry 2% of the information on them')
    """
    if not uses_scale_coordinate(spec) or spec.residual_signal is not None:
        return None
    shares = information_shares(posterior, index)
    best = max(shares, key=shares.__getitem__, default=None)
    if best is not None and shares[best] >= RESIDUAL_SHARE:
        return (dataclasses.replace(spec, residual_signal=best),
                f"{best}'s residuals as coordinates",
                f"it carries {shares[best]:.0%} of the information on the states it observes")
    prior, signals = state_information(posterior, index)
    data = sum(value * observed for value, observed in signals.values())
    if data / (data + prior) < DATA_SHARE:
        centred = tuple(level for level in spec.centred_states if level != "commitment")
        return (dataclasses.replace(spec, centred_states=centred),
                "non-centred commitment states",
                f"the data carry {data / (data + prior):.0%} of the information on them")
    return None


def starting_coordinates(index: ModelIndex, spec: ModelSpec
                         ) -> tuple[ModelSpec, str, str] | None:
    """The spec in the coordinates a fit starts in, what they are and why.

    A fit that adapts its coordinates (``[model] adapt_coordinates``) of a spec with
    plain centred commitment states (one dimension, AR(1), no residual or marker
    signal) starts in spectral states (decision 17) when the data hold at least
    :data:`SPECTRAL_CELLS` commitment-periods: with many transitions per commitment the
    persistence of centred states is pinned by the states while its posterior is
    wide, and the sampler crawls along that ridge (decision 57). ``None``: the spec's
    own coordinates.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> data = load_dataset("demo")
    >>> starting_coordinates(build_index(data), data.spec) is None  # small enough
    True
    """
    plain = (spec.adapt_coordinates and len(spec.dimensions) == 1 and spec.dynamics == "ar1"
             and not spec.spectral_states and spec.residual_signal is None
             and spec.marker_signal is None and "commitment" in spec.centred_states)
    cells = index.cells.size
    if not plain or cells < SPECTRAL_CELLS:
        return None
    return (dataclasses.replace(spec, spectral_states=True), "spectral states",
            f"{cells:,} commitment-periods, at least {SPECTRAL_CELLS:,}")


def _residual_rows(index: ModelIndex, name: str) -> tuple[int, np.ndarray, np.ndarray]:
    """Position of ``[model] residual_signal`` among the fitted signals, the cells it
    observes and its values on the log scale of its likelihood."""
    names = [s.name for s in index.signals]
    position = names.index(name)
    signal = index.signals[position]
    observations = index.families[signal.family]
    rows = observations.signal == position
    cells = observations.latent[rows]
    if np.unique(cells).size != cells.size:
        raise SpecError(f"[model] residual_signal = {name!r}: the data have more than one "
                        "row of it for some commitment-period; expected at most one")
    return position, cells, np.log(observations.value[rows] / signal.target)


def _zero_sum(name: str, sigma: float, dim: str, n: int) -> pt.TensorVariable:
    """A sum-to-zero group effect; a single group has nothing to pool and is 0."""
    if n < 2:
        return pt.zeros(n)
    return pm.ZeroSumNormal(name, sigma=sigma, dims=dim)


def _marker_position(spec: ModelSpec, signals: tuple[SignalSpec, ...]) -> int:
    """Position of ``[model] marker_signal`` among the fitted signals, checked."""
    names = [s.name for s in signals]
    if spec.marker_signal not in names:
        raise SpecError(f"{spec.source}: [model] marker_signal = {spec.marker_signal!r} is not "
                        f"among the signals in the data ({', '.join(names)})")
    return names.index(spec.marker_signal)


def build_measurement_model(
    data: CredibilityData, spec: ModelSpec | None = None, *, index: ModelIndex | None = None,
    one_hot: bool = False, fused: bool = False,
) -> pm.Model:
    """Build the PyMC measurement model for validated data.

    ``spec`` defaults to the spec the data were validated against; ``index`` is
    ``build_index(data, spec)`` when the caller already has it. The model has
    the deterministic ``credibility_cell`` (dim ``cell``: every active
    commitment-period) and ``alliance_cell_level`` (dim ``alliance_cell``), which
    :mod:`credibility.results.fitting` reshapes into ``(commitment, period)`` and
    ``(alliance, period)`` arrays. A spec of several ``[model] dimensions`` is built
    by :func:`credibility.dimensions.build_dimensional_model` (``fused`` is then
    refused with a :class:`SpecError`). ``one_hot`` gathers per-signal, region and type
    parameters by one-hot products (:func:`per_row`; for GPUs, where the same model
    otherwise spends its time in scatter-adds). ``fused`` computes the likelihood of
    counts, amounts, ratios, binary and ordinal signals with fused kernels
    (:mod:`credibility.kernels`; with spectral states the states and their prior too):
    the same posterior, 1.7-2x faster per gradient with numba or PyMC's NUTS
    (decision 23), but the signals are then potentials, without pointwise
    log-likelihoods or posterior predictive draws, and JAX cannot compile it
    (:func:`credibility.inference.config.fused_likelihood` says when a fit uses it).

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> model = build_measurement_model(load_dataset("demo"))
    >>> "credibility_cell" in model.named_vars
    True
    """
    spec = spec or data.spec
    if len(spec.dimensions) > 1:
        if fused:
            raise SpecError(f"{spec.source}: the model of {len(spec.dimensions)} dimensions "
                            "has no fused likelihood kernels; build it with fused=False")
        from credibility.dimensions import build_dimensional_model

        return build_dimensional_model(data, spec, index=index, one_hot=one_hot)
    if spec.spectral_states and spec.dynamics != "ar1":
        raise SpecError(f"{spec.source}: spectral_states needs dynamics = 'ar1' "
                        f"(got {spec.dynamics!r})")
    index = index or build_index(data, spec)
    warn_unused_signals(index)
    priors = signal_priors(data, spec, index=index)
    signals = index.signals
    names = [s.name for s in signals]
    coords = model_coords(index)
    # The latent's scale as one sampler coordinate (decision 31): centred states only.
    reference, relative = scale_signals(signals)
    on_commitment = reference | relative
    scale_coordinate = uses_scale_coordinate(spec) and on_commitment.any()
    residual_signal = (spec.residual_signal if scale_coordinate
                       and spec.residual_signal in names else None)
    if scale_coordinate:
        for dim, mask in (("signal_offset", reference), ("signal_relative", relative),
                          ("signal_alliance", ~on_commitment)):
            coords[dim] = [n for n, c in zip(names, mask, strict=True) if c]
    marker = None
    if spec.marker_signal is not None:
        marker = _marker_position(spec, signals)
        coords["signal_ratio"] = [n for n in names if n != spec.marker_signal]
    p = spec.priors
    with pm.Model(coords=coords) as model:
        if spec.dynamics == "ar1":
            rho_alliance = pm.Beta("persistence_alliance", p.persistence_alpha, p.persistence_beta)
            rho_commitment = pm.Beta("persistence_commitment", p.persistence_alpha,
                                     p.persistence_beta)
        else:
            rho_alliance = pm.HalfNormal("step_alliance", p.random_walk_step_sd)
            rho_commitment = pm.HalfNormal("step_commitment", p.random_walk_step_sd)
        # Scale anchor: commitment paths have innovation sd 1 (ar1; the stationary sd
        # is then 1 / sqrt(1 - rho^2)) or sd 1 in their first period (random walk).
        # Year-to-year changes identify an innovation scale far better than the
        # variance of a persistent path does (docs/decisions.md 1).
        anchor = (1.0 / pt.sqrt(1.0 - rho_commitment**2) if spec.dynamics == "ar1"
                  else pt.as_tensor(1.0))
        # Every scale of the latent is sampled in units of that stationary sd
        # (decision 16): the likelihood sees latent / anchor with loadings * anchor,
        # so it does not change when persistence does: persistence no longer drags
        # every state, loading and alliance scale along (it is still the slowest
        # parameter: docs/performance.md).
        sd_alliance_mean = _half_normal_in_units("sd_alliance_mean", p.alliance_mean_sd, anchor)
        sd_alliance_dynamics = _half_normal_in_units("sd_alliance_dynamics",
                                                     p.alliance_dynamics_sd, anchor)

        alliance_mean = _zero_sum("alliance_effect_raw", 1.0, "alliance", len(index.alliances))
        ac = index.alliance_cells
        alliance_level = sd_alliance_mean * alliance_mean[ac.unit] + _dynamic_component(
            "alliance", "alliance_cell", ac, rho_alliance, sd_alliance_dynamics, spec.dynamics,
            centred="alliance" in spec.centred_states,
        )
        cells = index.cells
        group_mean = alliance_level[index.cell_alliance_cell]
        if spec.region_effects and len(index.regions) > 1:
            region = _zero_sum("region_effect", p.region_sd, "region", len(index.regions))
            group_mean = group_mean + per_row(region, index.commitment_region[cells.unit],
                                              len(index.regions), one_hot=one_hot)
        if spec.type_effects and len(index.types) > 1:
            type_effect = _zero_sum("type_effect", p.type_sd, "type", len(index.types))
            group_mean = group_mean + per_row(type_effect, index.commitment_type[cells.unit],
                                              len(index.types), one_hot=one_hot)
        # Location anchor: the mean over all active commitment-periods is 0 in every
        # draw. Sum-to-zero effects alone would leave the level of a large group
        # (NATO, Europe) to the priors of a few small groups, trading off against
        # every intercept (docs/model.md, "Identification").
        if spec.spectral_states:
            # Partially non-centred in the frequency domain (decision 17): the slow
            # components of each path centred, the fast ones non-centred, so that
            # persistence no longer has to drag ~15,000 states along.
            weights = spectral_weights(
                cells.max_length, p.persistence_alpha / (p.persistence_alpha + p.persistence_beta),
                spec.spectral_data_precision)
            marker_scale = None
            if marker is not None:
                # The latent's scale carried by one signal's loading (decision 18).
                magnitude, marker_scale = _marker_loadings(
                    priors.loc[names, "loading_sd"].to_numpy(), anchor, marker)
            states = _spectral_states(cells, group_mean / anchor, rho_commitment, weights,
                                      marker_scale, fused=fused)
            level_std = states.mean()
            state = states - level_std
        elif "commitment" in spec.centred_states:
            # Centred states are sampled as the latent itself (hierarchical centring:
            # the group effects are the mean of the paths' prior), split into its
            # sum-to-zero part and its mean. The likelihood sees only the former, so
            # the mean, which only the prior pins down, is a coordinate of its own
            # instead of a direction through every state (docs/decisions.md 15). Both
            # are in stationary-sd units (decision 16); the Jacobian of the scaling
            # (cells - 1 sum-to-zero dimensions and the level) keeps the density.
            if scale_coordinate:
                # The states in the data's units, times the root mean square of the
                # reference signals' loadings: moving along the ridge (c x, lambda / c)
                # that only the states' prior pins down is then one coordinate,
                # latent_scale_log, instead of every state and loading at once
                # (decision 31). The Jacobian of the scaling of the cells - 1
                # sum-to-zero dimensions is in the potential.
                scale_log = pm.Flat("latent_scale_log")
                if residual_signal:
                    # One signal's residuals as coordinates (decision 33): the states
                    # follow once its intercept, loading and noise exist (below).
                    residual_free = pm.Flat("commitment_state_residual", dims="cell",
                                            default_transform=ZeroSumTransform([-1]))
                    state = None
                else:
                    scaled = pm.Flat("commitment_state_scaled", dims="cell",
                                     default_transform=ZeroSumTransform([-1]))
                    state = pm.Deterministic("commitment_state", scaled * pt.exp(-scale_log),
                                             dims="cell")
                    pm.Potential("commitment_state_scale_jacobian",
                                 -(cells.size - 1) * scale_log)
            else:
                state = pm.Flat("commitment_state", dims="cell",
                                default_transform=ZeroSumTransform([-1]))
            level_std = pm.Flat("commitment_level")
            if state is not None:
                _path_prior("commitment", anchor * (state + level_std) - group_mean, cells,
                            rho_commitment, anchor, spec.dynamics)
            if spec.dynamics == "ar1":
                pm.Potential("commitment_state_jacobian", cells.size * pt.log(anchor))
        else:
            x = group_mean + _dynamic_component("commitment", "cell", cells, rho_commitment,
                                                anchor, spec.dynamics, centred=False)
            level_std = x.mean() / anchor
            state = x / anchor - level_std
        if scale_coordinate:
            magnitude = _scaled_loadings(priors.loc[names, "loading_sd"].to_numpy(), anchor,
                                         scale_log, reference, relative)
        elif marker is None:
            magnitude = _half_normal_in_units("loading_magnitude",
                                              priors.loc[names, "loading_sd"].to_numpy(),
                                              1.0 / anchor, dims="signal")
        direction = np.array([s.direction for s in signals], dtype=np.float64)
        loading = direction * magnitude * anchor
        # The likelihood's alliance latent, in stationary-sd units.
        alliance_std = alliance_level / anchor - level_std
        parameters = signal_parameters(index, spec, priors, loading, alliance_std)
        intercept, noise = parameters.intercept, parameters.noise

        if residual_signal:
            position, observed, value = _residual_rows(index, residual_signal)
            scaled, log_jacobian = residual_states(
                residual_free, pt.constant(observed, name=f"{DATA_PREFIX}residual:cells"),
                pt.constant(value, name=f"{DATA_PREFIX}residual:value"),
                intercept[parameters.intercept_position[position]],
                loading[position] * pt.exp(-scale_log),
                noise[parameters.noise_position[position]])
            pm.Deterministic("commitment_state_scaled", scaled, dims="cell")
            state = pm.Deterministic("commitment_state", scaled * pt.exp(-scale_log), dims="cell")
            pm.Potential("commitment_state_scale_jacobian",
                         log_jacobian - (cells.size - 1) * scale_log)
            _path_prior("commitment", anchor * (state + level_std) - group_mean, cells,
                        rho_commitment, anchor, spec.dynamics)
        # The likelihood's latent, in stationary-sd units.
        latent = pt.concatenate([state, alliance_std])
        # Reported scale: standardised per draw (mean 0, sd 1 over active cells).
        spread = state.std()
        pm.Deterministic("credibility_cell", state / spread, dims="cell")
        pm.Deterministic("alliance_cell_level", alliance_std / spread, dims="alliance_cell")
        pm.Deterministic("latent_sd", anchor * spread)

        pm.Deterministic("loading", loading * spread, dims="signal")
        add_likelihoods(index.families, signals, latent, loading, **parameters.arguments(),
                        one_hot=one_hot, fused=fused)
    return model
