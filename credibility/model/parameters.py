"""The signals' parameters: priors from the spec and the data (:func:`signal_priors`)
and the intercepts, noises, precisions, cutpoints and residual persistences a model
samples (:func:`signal_parameters`), shared by the models of one and of several
dimensions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from credibility.data.container import CredibilityData
from credibility.data.spec import LOG_FAMILIES, ModelSpec
from credibility.kernels import DATA_PREFIX
from credibility.model.index import _NOISE_FAMILIES, ModelIndex, build_index
from credibility.model.likelihoods import _ordinal_cutpoints

#: Shape of the Gamma prior of every noise / overdispersion parameter (mean from the spec).
NOISE_SHAPE = 4.0


#: Beta prior of each signal's residual persistence (``residual_persistence = true``).
RESIDUAL_PERSISTENCE_PRIOR = (2.0, 2.0)


def signal_priors(
    data: CredibilityData, spec: ModelSpec | None = None, *, index: ModelIndex | None = None
) -> pd.DataFrame:
    """Prior hyper-parameters of each signal, with ``"auto"`` entries scaled to the data.

    Returns one row per signal present in the data with columns ``family,
    intercept_mu, intercept_sigma, loading_sd, noise_mean`` (NaN where a family has no
    such parameter). Auto rules (docs/model.md): the intercept is centred on the
    link-scale mean of the observations; log-scale families scale the loading and
    noise by the standard deviation of the log values. ``index`` is
    ``build_index(data, spec)`` when the caller already has it.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> priors = signal_priors(load_dataset("demo"))
    >>> float(priors.loc["troops", "intercept_mu"])
    6.5
    """
    sig = data.signals
    rows = []
    for signal in (index or build_index(data, spec)).signals:
        values = sig.loc[sig["signal"] == signal.name]
        y = values["value"].to_numpy(np.float64)
        if signal.family == "count":
            center = float(np.log((y.sum() + 0.5) / values["exposure"].sum()))
            spread = 1.0
        elif signal.family in LOG_FAMILIES:
            logs = np.log(y / signal.target)
            center = float(logs.mean())
            spread = float(max(logs.std(), 0.1))
        elif signal.family in ("binary", "binomial", "proportion"):
            trials = values["trials"].to_numpy(np.float64) if signal.family == "binomial" else 1.0
            share = float(np.clip(np.mean(y / trials), 0.02, 0.98))
            center = float(np.log(share / (1 - share)))
            spread = 1.0
        else:
            center, spread = np.nan, 1.0
        intercept_mu = signal.intercept.mu if signal.intercept else center
        intercept_sigma = signal.intercept.sigma if signal.intercept else 2.0 * spread
        loading_default = spread if signal.family in LOG_FAMILIES else 1.0
        noise_default = spread if signal.family in LOG_FAMILIES else 1.0
        rows.append(
            {
                "signal": signal.name,
                "family": signal.family,
                "intercept_mu": np.nan if signal.family == "ordinal" else intercept_mu,
                "intercept_sigma": np.nan if signal.family == "ordinal" else intercept_sigma,
                "loading_sd": signal.loading_sd or loading_default,
                "noise_mean": (signal.noise_mean or noise_default)
                if signal.family in _NOISE_FAMILIES
                else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("signal")


def alliance_intercept_weights(index: ModelIndex, with_intercept: list[str]) -> np.ndarray | None:
    """Weights that average the alliance latent over each alliance signal's observed rows.

    Row ``j`` of the ``(len(with_intercept), alliance cells)`` result averages the
    alliance cells of the observed rows of ``with_intercept[j]`` (zeros for a
    commitment-level signal); ``None`` when no alliance-level signal has rows.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> data = load_dataset("demo")
    >>> index = build_index(data, data.spec)
    >>> names = [s.name for s in index.signals if s.family != "ordinal"]
    >>> weights = alliance_intercept_weights(index, names)
    >>> bool(np.allclose(weights.sum(axis=1)[weights.sum(axis=1) > 0], 1.0))
    True
    """
    names = [s.name for s in index.signals]
    weights = np.zeros((len(with_intercept), index.alliance_cells.size))
    first = index.cells.size
    for obs in index.families.values():
        on_alliance = obs.latent >= first
        for signal, cell in zip(obs.signal[on_alliance], obs.latent[on_alliance] - first,
                                strict=True):
            name = names[int(signal)]
            if name in with_intercept:
                weights[with_intercept.index(name), cell] += 1.0
    totals = weights.sum(axis=1)
    if not totals.any():
        return None
    weights[totals > 0] /= totals[totals > 0, None]
    return weights


def _intercepts(mu: np.ndarray, sigma: np.ndarray, weights: np.ndarray | None,
                loading: pt.TensorVariable, alliance_std: pt.TensorVariable,
                ) -> pt.TensorVariable:
    """Each signal's intercept, ``Normal(mu, sigma)``, as the model's ``intercept``.

    Without ``weights`` it is sampled directly. With them, an alliance signal's
    intercept is sampled as its linear predictor at the mean alliance latent of its
    rows, ``intercept_centred = intercept + loading * mean latent`` (a shift by other
    parameters: unit Jacobian): the alliance paths' common level then moves without
    dragging the intercept along the ridge the data leave open (decision 40).
    ``intercept_centred`` is a Normal(mu, sigma) variable, so that it starts where
    the intercept would; the potential ``intercept_prior`` swaps that density for
    the intercept's own, so the prior stays on ``intercept`` and the model is the
    same. Commitment signals see zero-sum states: their shift, and their part of
    the potential, are zero. With several dimensions ``loading`` is ``(signal,
    dimension)`` and ``alliance_std`` ``(alliance cell, dimension)``; the shift is
    summed over the dimensions.
    """
    if weights is None:
        return pm.Normal("intercept", mu=mu, sigma=sigma, dims="signal_intercept")
    centred = pm.Normal("intercept_centred", mu=mu, sigma=sigma, dims="signal_intercept")
    # Named as the fused kernels' data are, so that a model compiled once per data
    # layout (simulation-based calibration) takes each data set's weights with its rows.
    mean_latent = pt.dot(pt.constant(weights, name=f"{DATA_PREFIX}alliance_intercept_weights"),
                         alliance_std)
    shift = loading * mean_latent
    if shift.ndim == 2:  # several dimensions: (signal, dimension), summed over them
        shift = shift.sum(axis=1)
    intercept = pm.Deterministic("intercept", centred - shift, dims="signal_intercept")
    prior = pm.Normal.dist(mu=mu, sigma=sigma)
    pm.Potential("intercept_prior", (pm.logp(prior, intercept) - pm.logp(prior, centred)).sum())
    return intercept


@dataclass(frozen=True)
class SignalParameters:
    """The likelihood's per-signal parameters other than the loadings, as
    :func:`add_likelihoods` takes them: each tensor (``None`` when no signal has it)
    with every signal's position in it (``-1`` where the signal has none)."""

    intercept: pt.TensorVariable | None
    intercept_position: np.ndarray
    noise: pt.TensorVariable | None
    noise_position: np.ndarray
    precision: pt.TensorVariable | None
    precision_position: np.ndarray
    cutpoints: pt.TensorVariable | None
    ordinal_position: np.ndarray
    residual: pt.TensorVariable | None
    residual_position: np.ndarray

    def arguments(self) -> dict[str, pt.TensorVariable | np.ndarray | None]:
        """The fields as keyword arguments of :func:`add_likelihoods`."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def signal_parameters(
    index: ModelIndex, spec: ModelSpec, priors: pd.DataFrame, loading: pt.TensorVariable,
    alliance_latent: pt.TensorVariable,
) -> SignalParameters:
    """Intercepts, noises, precisions, ordinal cutpoints and residual persistences of
    the signals in ``index``, with their priors, in the PyMC model in context.

    Parameters
    ----------
    index : ModelIndex
        The model's index (:func:`build_index`).
    spec : ModelSpec
        The fitted spec (priors of cutpoints and precisions, ``centred_alliance_intercepts``).
    priors : pandas.DataFrame
        :func:`signal_priors` of the data.
    loading : TensorVariable
        Signed loadings on the likelihood's latent: one per signal, or ``(signal,
        dimension)`` with several dimensions (used by the alliance signals' centred
        intercepts, :func:`_intercepts`).
    alliance_latent : TensorVariable
        The likelihood's alliance latent: one per alliance cell, or ``(alliance cell,
        dimension)``.

    Returns
    -------
    SignalParameters
        The parameters and each signal's position in them.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> data = load_dataset("demo")
    >>> from credibility.model.index import model_coords
    >>> index = build_index(data)
    >>> with pm.Model(coords=model_coords(index)):
    ...     found = signal_parameters(index, data.spec, signal_priors(data, index=index),
    ...                               pt.ones(len(index.signals)),
    ...                               pt.zeros(index.alliance_cells.size))
    >>> found.ordinal_position.tolist()
    [-1, -1, -1, 0, -1, -1]
    """
    signals = index.signals
    names = [s.name for s in signals]
    with_intercept = [s.name for s in signals if s.family != "ordinal"]
    with_noise = [s.name for s in signals if s.family in _NOISE_FAMILIES]
    proportions = [s.name for s in signals if s.family == "proportion"]
    ordinals = [s for s in signals if s.family == "ordinal"]
    with_residual = [s.name for s in signals if s.residual_persistence]
    p = spec.priors
    intercept = noise = precision = cutpoints = residual = None
    if with_intercept:
        intercept = _intercepts(
            priors.loc[with_intercept, "intercept_mu"].to_numpy(),
            priors.loc[with_intercept, "intercept_sigma"].to_numpy(),
            alliance_intercept_weights(index, with_intercept)
            if spec.centred_alliance_intercepts else None,
            loading[[names.index(n) for n in with_intercept]], alliance_latent)
    if with_noise:
        # Gamma(4, 4 / mean): no real signal is measured without noise, and a prior
        # with mass at zero lets near-deterministic fits pin the states (docs/model.md).
        noise_mean = priors.loc[with_noise, "noise_mean"].to_numpy()
        noise = pm.Gamma("noise", alpha=NOISE_SHAPE, beta=NOISE_SHAPE / noise_mean,
                         dims="signal_noise")
    if proportions:
        precision = pm.Gamma("precision", alpha=p.proportion_precision_alpha,
                             beta=p.proportion_precision_beta, dims="signal_proportion")
    if ordinals:
        cutpoints = _ordinal_cutpoints(tuple(ordinals), spec)
    if with_residual:
        # Each such signal's own persistent deviations from the latent (decision 19).
        residual = pm.Beta("residual_persistence", *RESIDUAL_PERSISTENCE_PRIOR,
                           dims="signal_residual")
    return SignalParameters(
        intercept=intercept, intercept_position=_positions(names, with_intercept),
        noise=noise, noise_position=_positions(names, with_noise), precision=precision,
        precision_position=_positions(names, proportions), cutpoints=cutpoints,
        ordinal_position=_positions(names, [s.name for s in ordinals]), residual=residual,
        residual_position=_positions(names, with_residual))


def _positions(names: list[str], members: list[str]) -> np.ndarray:
    """Each of ``names``' position among ``members`` (-1 where it is not one of them)."""
    position = np.full(len(names), -1)
    position[[names.index(n) for n in members]] = np.arange(len(members))
    return position
