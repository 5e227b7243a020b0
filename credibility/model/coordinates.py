"""Which coordinates a fit samples the commitment states in (decision 33).

From a posterior (or :func:`summary_posterior`'s stand-in), the Fisher information on
the states from their prior and from each signal (:func:`state_information`) says
whether one signal pins the states (its residuals as coordinates:
:func:`residual_states`) or the data hardly do (non-centred states):
:func:`adapted_coordinates`. Large data start in spectral states
(:func:`starting_coordinates`, decision 57).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytensor.tensor as pt
import xarray as xr

from credibility.data.spec import LOG_FAMILIES, ModelSpec
from credibility.errors import SpecError
from credibility.model.index import (
    _NOISE_FAMILIES,
    ModelIndex,
)
from credibility.model.loadings import uses_scale_coordinate


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
    >>> from credibility.model.index import build_index
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
    >>> from credibility.model.index import build_index
    >>> index = build_index(load_dataset("demo"))
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
    >>> from credibility.model.index import build_index
    >>> index = build_index(load_dataset("demo"))
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
    >>> from credibility.model.index import build_index
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
    >>> from credibility.model.index import build_index
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
