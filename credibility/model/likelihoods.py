"""One likelihood per signal family: counts, amounts, ratios, proportions, binary,
binomial and ordinal rows (docs/model.md, "Likelihoods").

:func:`add_likelihoods` adds every family's term of a model given the linear
predictor's pieces, as graph distributions or as the fused kernels
(:mod:`credibility.kernels`, decision 23).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from numpy.typing import ArrayLike

from credibility.data.spec import LOG_FAMILIES, ModelSpec, SignalSpec
from credibility.kernels import FUSED_FAMILIES, family_logp
from credibility.model.index import FamilyObservations

#: Cutpoint value used to pad ordinal signals with fewer levels than the largest one:
#: far enough above any linear predictor that the padded categories have probability 0.
_CUTPOINT_PAD = 1.0e4


def _gap_cells(signals: tuple[SignalSpec, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of each free cutpoint gap in the padded ``(signal, gap)`` grid."""
    levels = np.array([s.levels for s in signals], dtype=np.int64)
    width = int(levels.max()) - 1
    return np.nonzero(np.arange(width - 1)[None, :] < (levels - 2)[:, None])


def cutpoint_matrix(
    signals: tuple[SignalSpec, ...], first: pt.TensorVariable, log_gap: pt.TensorVariable | None
) -> pt.TensorVariable:
    """Ordered cutpoints, one row per ordinal signal, padded to the largest ``levels``.

    ``first`` is each signal's first cutpoint, ``log_gap`` the log gaps between
    consecutive cutpoints in the order of :func:`_gap_cells` (``None`` when every
    ordinal signal has two levels).
    """
    levels = np.array([s.levels for s in signals], dtype=np.int64)
    width = int(levels.max()) - 1
    cut = pt.zeros((len(signals), width)) + first[:, None]
    gap_rows, gap_cols = _gap_cells(signals)
    if gap_rows.size:
        gaps = pt.zeros((len(signals), width - 1))[gap_rows, gap_cols].set(pt.exp(log_gap))
        cut = pt.concatenate([cut[:, :1], cut[:, 1:] + pt.cumsum(gaps, axis=1)], axis=1)
    valid = np.arange(width)[None, :] < (levels - 1)[:, None]
    pad = _CUTPOINT_PAD * (1.0 + np.arange(width))[None, :]
    return pt.where(valid, cut, pad)


def _ordinal_cutpoints(signals: tuple[SignalSpec, ...], spec: ModelSpec) -> pt.TensorVariable:
    """The cutpoint priors of the ordinal signals and their :func:`cutpoint_matrix`."""
    levels = np.array([s.levels for s in signals], dtype=np.int64)
    centre = np.array([-(k - 2) / 2.0 for k in levels])
    first = pm.Normal("cutpoint_first", mu=centre, sigma=spec.priors.cutpoint_sd,
                      dims="signal_ordinal")
    gap_rows, _ = _gap_cells(signals)
    log_gap = None
    if gap_rows.size:
        log_gap = pm.Normal("cutpoint_log_gap", mu=0.0, sigma=spec.priors.cutpoint_gap_sd,
                            shape=gap_rows.size)
    return cutpoint_matrix(signals, first, log_gap)


def per_row(
    values: pt.TensorVariable, position: np.ndarray, size: int, *, one_hot: bool = False
) -> pt.TensorVariable:
    """``values[position]`` for a short parameter vector (or matrix, by rows) of ``size`` entries.

    With ``one_hot`` it is written as a product with a constant one-hot ``(rows,
    size)`` matrix: its gradient is then a matrix product, where indexing's is a
    scatter-add that piles thousands of rows onto a handful of addresses
    (per-signal loadings, intercepts, noise scales), which a GPU serialises
    (docs/performance.md, "numpyro on a GPU"). On the CPU indexing is faster. The
    same values either way.

    Examples
    --------
    >>> import numpy as np
    >>> loading = pt.as_tensor(np.array([0.5, -1.0, 2.0]))
    >>> per_row(loading, np.array([2, 0, 0, 1]), 3, one_hot=True).eval()
    array([ 2. ,  0.5,  0.5, -1. ])
    """
    position = np.asarray(position, dtype=np.int64)
    if not one_hot:
        return values[position]
    if position.size and (position.min() < 0 or position.max() >= size):
        raise ValueError(f"per_row: positions must lie in [0, {size}), got "
                         f"[{position.min()}, {position.max()}]")
    matrix = np.zeros((position.size, size))
    matrix[np.arange(position.size), position] = 1.0
    return pt.dot(matrix, values)


def negative_binomial_logp(
    value: pt.TensorVariable, log_mu: pt.TensorVariable, alpha: pt.TensorVariable,
    gammaln_alpha: pt.TensorVariable,
) -> pt.TensorVariable:
    """Pointwise NegativeBinomial(mu = exp(log_mu), alpha) log density, gradient-cheap form.

    The same density as ``pm.NegativeBinomial`` with one ``gammaln`` per observation
    instead of three: ``gammaln(alpha)`` is computed once per signal and passed in
    gathered (``gammaln_alpha``), and ``log(alpha + mu)`` is taken directly. About 3x
    faster with its gradient on 12,000 observations (``benchmarks/likelihood.py``).

    Examples
    --------
    >>> import numpy as np, pymc as pm
    >>> y, log_mu, alpha = np.array([0, 3, 7]), np.log([1.0, 2.5, 4.0]), np.full(3, 2.0)
    >>> ours = negative_binomial_logp(pt.as_tensor(y), log_mu, alpha, pt.gammaln(alpha)).eval()
    >>> theirs = pm.logp(pm.NegativeBinomial.dist(mu=np.exp(log_mu), alpha=alpha), y).eval()
    >>> bool(np.allclose(ours, theirs))
    True
    """
    return (pt.gammaln(value + alpha) - gammaln_alpha - pt.gammaln(value + 1.0)
            + alpha * pt.log(alpha) + value * log_mu
            - (value + alpha) * pt.log(alpha + pt.exp(log_mu)))


def _negative_binomial(
    log_mu: pt.TensorVariable, alpha: pt.TensorVariable, gammaln_alpha: pt.TensorVariable,
    size: pt.TensorVariable,
) -> pt.TensorVariable:
    """Random draws for :func:`negative_binomial_logp` (posterior predictive checks)."""
    return pm.NegativeBinomial.dist(mu=pt.exp(log_mu), alpha=alpha, size=size)


def bernoulli_logit_logp(value: pt.TensorVariable, eta: pt.TensorVariable) -> pt.TensorVariable:
    """Pointwise Bernoulli log density with log-odds ``eta``: ``value * eta - softplus(eta)``.

    The same density as ``pm.Bernoulli(logit_p=eta)``, more accurate for large
    ``|eta|`` and faster with its gradient (1.2x on 10,680 rows:
    ``benchmarks/likelihood.py``).

    Examples
    --------
    >>> import numpy as np, pymc as pm
    >>> y, eta = np.array([0, 1, 1]), np.array([-2.0, 0.3, 4.0])
    >>> ours = bernoulli_logit_logp(pt.as_tensor(y), pt.as_tensor(eta)).eval()
    >>> bool(np.allclose(ours, pm.logp(pm.Bernoulli.dist(logit_p=eta), y).eval()))
    True
    """
    return value * eta - pt.softplus(eta)


def _bernoulli(eta: pt.TensorVariable, size: pt.TensorVariable) -> pt.TensorVariable:
    """Random draws for :func:`bernoulli_logit_logp` (posterior predictive checks)."""
    return pm.Bernoulli.dist(logit_p=eta, size=size)


def count_likelihood(
    name: str, log_mu: pt.TensorVariable, alpha: pt.TensorVariable, position: np.ndarray,
    observed: np.ndarray, size: int, *, one_hot: bool = False,
) -> pt.TensorVariable:
    """Observed negative-binomial counts in the model in context (:func:`negative_binomial_logp`).

    ``alpha`` holds ``size`` dispersions, one per signal with noise, and ``position[o]``
    is row ``o``'s entry in it; ``one_hot`` as in :func:`per_row`.
    """
    return pm.CustomDist(name, log_mu, per_row(alpha, position, size, one_hot=one_hot),
                         per_row(pt.gammaln(alpha), position, size, one_hot=one_hot),
                         dist=_negative_binomial, logp=negative_binomial_logp, observed=observed)


def autocorrelated_lognormal_logp(
    value: pt.TensorVariable, eta: pt.TensorVariable, sigma: pt.TensorVariable,
    phi: pt.TensorVariable, previous: pt.TensorVariable, gap: pt.TensorVariable,
) -> pt.TensorVariable:
    """Log density of positive values whose log residuals ``log(value) - eta`` follow a
    stationary AR(1) per unit and signal: marginal sd ``sigma``, persistence ``phi``.

    Row ``o`` is conditioned on its predecessor ``previous[o]`` (``gap[o]`` periods
    earlier): mean ``phi**gap * r[previous]``, sd ``sigma * sqrt(1 - phi**(2 gap))``;
    a unit's first row (``previous = -1``) has mean 0 and sd ``sigma``. With
    ``phi = 0`` it is the LogNormal density.

    Examples
    --------
    >>> import scipy.stats as st
    >>> y, prev, gap = np.array([2.0, 3.0]), np.array([-1, 0]), np.array([0, 1])
    >>> lp = autocorrelated_lognormal_logp(pt.as_tensor(y), 0.0, 1.0, 0.0, prev, gap).eval()
    >>> bool(np.allclose(lp, st.lognorm(1.0).logpdf(y)))
    True
    """
    residual = pt.log(value) - eta
    has = pt.ge(previous, 0)
    decay = pt.where(has, phi ** pt.maximum(gap, 1), 0.0)
    mean = decay * residual[pt.maximum(previous, 0)]
    sd = sigma * pt.sqrt(1.0 - decay**2)
    return pm.logp(pm.Normal.dist(mean, sd), residual) - pt.log(value)


def draw_autocorrelated_lognormal(
    eta: ArrayLike, sigma: ArrayLike, phi: ArrayLike, previous: np.ndarray, gap: np.ndarray,
    rng: np.random.Generator | None = None, size: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Draws of :func:`autocorrelated_lognormal_logp`, one per row (rows in any order).

    Rows are drawn predecessor first; ``size`` is ignored (PyMC passes the rows' shape).

    Examples
    --------
    >>> y = draw_autocorrelated_lognormal(0.0, 1.0, 0.9, np.array([-1, 0]), np.array([0, 1]),
    ...                                   rng=np.random.default_rng(0))
    >>> y.shape, bool((y > 0).all())
    ((2,), True)
    """
    rng = rng if rng is not None else np.random.default_rng()
    eta, sigma, phi = (np.broadcast_to(np.asarray(a, dtype=np.float64), np.shape(previous))
                       for a in (eta, sigma, phi))
    previous, gap = np.asarray(previous), np.asarray(gap)
    depth = np.where(previous < 0, 0, -1)
    while (depth < 0).any():  # rows whose predecessor has a depth get the next one
        ready = (depth < 0) & (depth[np.maximum(previous, 0)] >= 0)
        depth[ready] = depth[previous[ready]] + 1
    residual = np.zeros(previous.size)
    shocks = rng.normal(size=previous.size)
    for level in range(depth.max() + 1):
        rows = depth == level
        decay = np.where(previous[rows] >= 0, phi[rows] ** np.maximum(gap[rows], 1), 0.0)
        residual[rows] = (decay * residual[np.maximum(previous[rows], 0)]
                          + sigma[rows] * np.sqrt(1.0 - decay**2) * shocks[rows])
    return np.exp(eta + residual)


def binary_likelihood(name: str, eta: pt.TensorVariable, observed: np.ndarray
                      ) -> pt.TensorVariable:
    """Observed 0/1 values with log-odds ``eta`` in the model in context
    (:func:`bernoulli_logit_logp`)."""
    return pm.CustomDist(name, eta, dist=_bernoulli, logp=bernoulli_logit_logp,
                         observed=observed)


def add_likelihoods(
    families: dict[str, FamilyObservations],
    signals: tuple[SignalSpec, ...],
    latent: pt.TensorVariable,
    loading: pt.TensorVariable,
    *,
    intercept: pt.TensorVariable | None,
    intercept_position: np.ndarray,
    noise: pt.TensorVariable | None,
    noise_position: np.ndarray,
    precision: pt.TensorVariable | None,
    precision_position: np.ndarray,
    cutpoints: pt.TensorVariable | None,
    ordinal_position: np.ndarray,
    one_hot: bool = False,
    residual: pt.TensorVariable | None = None,
    residual_position: np.ndarray | None = None,
    fused: bool = False,
) -> None:
    """One likelihood term ``obs_<family>`` per family, in the PyMC model in context.

    ``latent`` is the vector the observations' ``latent`` indices point into and
    ``loading`` the signed loading per signal (raw scale); with several dimensions
    (:mod:`credibility.dimensions`) ``latent`` is a ``(unit, dimension)`` matrix and
    ``loading`` a ``(signal, dimension)`` matrix, and each row's linear predictor is
    ``intercept + sum over d of loading[s, d] * latent[row, d]``. ``*_position[s]`` is
    signal ``s``'s entry in ``intercept`` / ``noise`` / ``precision`` / the rows of
    ``cutpoints`` (-1 where it has none); ``one_hot`` gathers the per-signal
    parameters as in :func:`per_row`. ``residual`` holds the residual persistence
    of the signals with ``residual_persistence = true`` (``residual_position`` as
    above): their rows get :func:`autocorrelated_lognormal_logp`. ``fused`` adds
    the families that have a fused kernel (:mod:`credibility.kernels`) as a potential
    ``obs_<family>`` computed by it instead of an observed variable: the same
    density, 1.7-2x faster with its gradient (decision 23), but without pointwise terms or random
    draws (for sampling only). Shared by the measurement model and the approximate
    update (:mod:`credibility.analysis.approximate`).
    """
    n_intercept, n_noise, n_precision, n_ordinal = (
        int((p >= 0).sum()) for p in (intercept_position, noise_position, precision_position,
                                      ordinal_position))
    for family, obs in families.items():
        autocorrelated = (family in LOG_FAMILIES and residual is not None
                          and bool((residual_position[obs.signal] >= 0).any()))
        if fused and family in FUSED_FAMILIES and not autocorrelated:
            _fused_likelihood(obs, signals, latent, loading, intercept=intercept,
                              intercept_position=intercept_position, noise=noise,
                              noise_position=noise_position, cutpoints=cutpoints,
                              ordinal_position=ordinal_position)
            continue
        slope = _slope(latent, loading, obs, len(signals), one_hot)
        if family == "ordinal":
            pm.OrderedLogistic("obs_ordinal", eta=slope, cutpoints=per_row(
                cutpoints, ordinal_position[obs.signal], n_ordinal, one_hot=one_hot),
                observed=obs.value.astype(np.int64) - 1, compute_p=False)
            continue
        eta = per_row(intercept, intercept_position[obs.signal], n_intercept,
                      one_hot=one_hot) + slope
        name = f"obs_{family}"
        if family == "count":
            count_likelihood(name, np.log(obs.exposure) + eta, 1.0 / noise,
                             noise_position[obs.signal], obs.value.astype(np.int64), n_noise,
                             one_hot=one_hot)
        elif family in LOG_FAMILIES:
            sigma = per_row(noise, noise_position[obs.signal], n_noise, one_hot=one_hot)
            _log_likelihood(name, obs, signals, eta, sigma, residual, residual_position,
                            one_hot=one_hot)
        elif family == "proportion":
            mean = pm.math.invlogit(eta)
            phi = per_row(precision, precision_position[obs.signal], n_precision,
                          one_hot=one_hot)
            pm.Beta(name, alpha=mean * phi, beta=(1.0 - mean) * phi, observed=obs.value)
        elif family == "binary":
            binary_likelihood(name, eta, obs.value.astype(np.int64))
        elif family == "binomial":
            pm.Binomial(name, n=obs.trials.astype(np.int64), logit_p=eta,
                        observed=obs.value.astype(np.int64))


def _slope(latent: pt.TensorVariable, loading: pt.TensorVariable, obs: FamilyObservations,
           n_signals: int, one_hot: bool) -> pt.TensorVariable:
    """Each row's loading times its latent: with several dimensions (loading ``(signal,
    dimension)``, latent ``(unit, dimension)``) summed over the dimensions it loads on."""
    state = latent[obs.latent]
    slope = per_row(loading, obs.signal, n_signals, one_hot=one_hot) * state
    return slope.sum(axis=1) if slope.ndim == 2 else slope


def _log_likelihood(
    name: str, obs: FamilyObservations, signals: tuple[SignalSpec, ...],
    eta: pt.TensorVariable, sigma: pt.TensorVariable, residual: pt.TensorVariable | None,
    residual_position: np.ndarray | None, *, one_hot: bool,
) -> None:
    """Amounts or ratios (as multiples of their targets), log-normal around ``eta``; the
    rows of signals with a residual persistence autocorrelated
    (:func:`autocorrelated_lognormal_logp`). In the model in context."""
    targets = np.array([s.target for s in signals])[obs.signal]
    if residual is None or (residual_position[obs.signal] < 0).all():
        pm.LogNormal(name, mu=eta, sigma=sigma, observed=obs.value / targets)
        return
    position = residual_position[obs.signal]
    phi = pt.where(position >= 0, per_row(residual, np.maximum(position, 0),
                                          int((residual_position >= 0).sum()),
                                          one_hot=one_hot), 0.0)
    pm.CustomDist(name, eta, sigma, phi, obs.previous, obs.gap,
                  logp=autocorrelated_lognormal_logp,
                  random=draw_autocorrelated_lognormal, observed=obs.value / targets)


def _fused_likelihood(
    obs: FamilyObservations, signals: tuple[SignalSpec, ...], latent: pt.TensorVariable,
    loading: pt.TensorVariable, *, intercept: pt.TensorVariable | None,
    intercept_position: np.ndarray, noise: pt.TensorVariable | None, noise_position: np.ndarray,
    cutpoints: pt.TensorVariable | None, ordinal_position: np.ndarray,
) -> None:
    """One family's rows as a potential computed by its fused kernel (in context)."""
    rows = {"row_latent": obs.latent, "row_signal": obs.signal}
    if obs.family == "ordinal":
        levels = np.array([s.levels or 0 for s in signals], dtype=np.int64)
        logp = family_logp("ordinal", latent, loading, **rows,
                           value=obs.value.astype(np.int64) - 1, cutpoints=cutpoints,
                           row_ordinal=ordinal_position[obs.signal],
                           top=levels[obs.signal] - 1)
    else:
        rows.update(intercept=intercept, row_intercept=intercept_position[obs.signal])
        value = obs.value
        if obs.family in LOG_FAMILIES:
            value = obs.value / np.array([s.target for s in signals])[obs.signal]
        if obs.family != "binary":
            rows.update(noise=noise, row_noise=noise_position[obs.signal])
        if obs.family == "count":
            rows.update(offset=np.log(obs.exposure))
        logp = family_logp(obs.family, latent, loading, value=value, **rows)
    pm.Potential(f"obs_{obs.family}", logp)
