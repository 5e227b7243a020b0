"""The loadings' magnitudes and the coordinates the sampler sees them in.

Every loading magnitude has a HalfNormal prior in the units the spec's priors are
written in, and is sampled on the stationary-sd latent (decision 16): as itself
(:func:`_half_normal_in_units`), as ratios to a marker signal's loading (decision 18,
:func:`_marker_loadings`), or sharing the latent's scale coordinate with the other
commitment-level signals (decision 31, :func:`scale_signals`,
:func:`uses_scale_coordinate`, :func:`_scaled_loadings`).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.transforms import ZeroSumTransform

from credibility.data.spec import ModelSpec, SignalSpec
from credibility.errors import SpecError

#: Families whose commitment-level signals carry the latent's scale coordinate
#: (decision 31): each row pins loading x latent closely.
SCALE_FAMILIES = ("count", "amount", "ratio", "proportion")


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


def _marker_position(spec: ModelSpec, signals: tuple[SignalSpec, ...]) -> int:
    """Position of ``[model] marker_signal`` among the fitted signals, checked."""
    names = [s.name for s in signals]
    if spec.marker_signal not in names:
        raise SpecError(f"{spec.source}: [model] marker_signal = {spec.marker_signal!r} is not "
                        f"among the signals in the data ({', '.join(names)})")
    return names.index(spec.marker_signal)
