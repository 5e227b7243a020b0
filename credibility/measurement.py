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

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.transforms import ZeroSumTransform

from credibility.data.container import CredibilityData
from credibility.data.spec import ModelSpec, SignalSpec
from credibility.errors import SpecError
from credibility.kernels import DATA_PREFIX
from credibility.model.coordinates import (
    DATA_SHARE,
    RESIDUAL_SHARE,
    SPECTRAL_CELLS,
    _residual_rows,
    adapted_coordinates,
    information_shares,
    residual_states,
    starting_coordinates,
    state_information,
    summary_posterior,
)
from credibility.model.dynamics import _dynamic_component, _path_prior
from credibility.model.index import (
    ModelIndex,
    build_index,
    model_coords,
    warn_unused_signals,
)
from credibility.model.likelihoods import add_likelihoods, per_row
from credibility.model.loadings import (
    SCALE_FAMILIES,
    _half_normal_in_units,
    _marker_loadings,
    _marker_position,
    _scaled_loadings,
    scale_signals,
    uses_scale_coordinate,
)
from credibility.model.parameters import SignalParameters, signal_parameters, signal_priors
from credibility.model.spectral import (
    _spectral_states,
    dct_basis,
    dct_lag_weights,
    spectral_weights,
)

# The model's pieces are modules of credibility.model (decision 59); their names stay
# importable from here, as before the split. Setting one here (e.g. SPECTRAL_CELLS
# with monkeypatch) does not change the module that uses it.
__all__ = [
    "DATA_SHARE",
    "RESIDUAL_SHARE",
    "SCALE_FAMILIES",
    "SPECTRAL_CELLS",
    "adapted_coordinates",
    "build_measurement_model",
    "dct_basis",
    "dct_lag_weights",
    "information_shares",
    "residual_states",
    "scale_signals",
    "spectral_weights",
    "starting_coordinates",
    "state_information",
    "summary_posterior",
    "uses_scale_coordinate",
]


def _zero_sum(name: str, sigma: float, dim: str, n: int) -> pt.TensorVariable:
    """A sum-to-zero group effect; a single group has nothing to pool and is 0."""
    if n < 2:
        return pt.zeros(n)
    return pm.ZeroSumNormal(name, sigma=sigma, dims=dim)


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
    loading_sd = priors.loc[names, "loading_sd"].to_numpy()
    coords = model_coords(index)
    scale = _scale_layout(spec, signals, coords)
    with pm.Model(coords=coords) as model:
        rho_alliance, rho_commitment, anchor = _persistences(spec)
        alliance_level, group_mean = _group_mean(index, spec, rho_alliance, anchor, one_hot)
        state, level_std, magnitude, scale_log, residual_free = _commitment(
            index, spec, group_mean, rho_commitment, anchor, loading_sd, scale, fused)
        if scale.coordinate:
            magnitude = _scaled_loadings(loading_sd, anchor, scale_log, scale.reference,
                                         scale.relative)
        elif scale.marker is None:
            magnitude = _half_normal_in_units("loading_magnitude", loading_sd, 1.0 / anchor,
                                              dims="signal")
        direction = np.array([s.direction for s in signals], dtype=np.float64)
        loading = direction * magnitude * anchor
        # The likelihood's alliance latent, in stationary-sd units.
        alliance_std = alliance_level / anchor - level_std
        parameters = signal_parameters(index, spec, priors, loading, alliance_std)
        if scale.residual_signal:
            state = _residual_commitment(index, spec, scale.residual_signal, residual_free,
                                         parameters, loading, scale_log, level_std, group_mean,
                                         rho_commitment, anchor)
        # The likelihood's latent, in stationary-sd units.
        latent = pt.concatenate([state, alliance_std])
        _report(state, alliance_std, anchor, loading)
        add_likelihoods(index.families, signals, latent, loading, **parameters.arguments(),
                        one_hot=one_hot, fused=fused)
    return model


def _commitment(
    index: ModelIndex, spec: ModelSpec, group_mean: pt.TensorVariable,
    rho_commitment: pt.TensorVariable, anchor: pt.TensorVariable, loading_sd: np.ndarray,
    scale: _ScaleLayout, fused: bool,
) -> tuple[pt.TensorVariable | None, pt.TensorVariable, pt.TensorVariable | None,
           pt.TensorVariable | None, pt.TensorVariable | None]:
    """The commitment states (stationary-sd units, centred) in the spec's coordinates and
    their level; the loading magnitudes (spectral states with a marker signal), the
    latent's scale coordinate and the residual signal's free coordinates, or ``None``.

    Location anchor: the mean over all active commitment-periods is 0 in every draw.
    Sum-to-zero effects alone would leave the level of a large group (NATO, Europe) to
    the priors of a few small groups, trading off against every intercept (docs/model.md,
    "Identification")."""
    if spec.spectral_states:
        state, level_std, magnitude = _spectral_commitment(
            index, spec, group_mean, rho_commitment, anchor, loading_sd, scale.marker, fused)
        return state, level_std, magnitude, None, None
    if "commitment" in spec.centred_states:
        state, level_std, scale_log, residual_free = _centred_commitment(
            index, spec, group_mean, rho_commitment, anchor, scale)
        return state, level_std, None, scale_log, residual_free
    x = group_mean + _dynamic_component("commitment", "cell", index.cells, rho_commitment,
                                        anchor, spec.dynamics, centred=False)
    level_std = x.mean() / anchor
    return x / anchor - level_std, level_std, None, None, None


def _report(state: pt.TensorVariable, alliance_std: pt.TensorVariable,
            anchor: pt.TensorVariable, loading: pt.TensorVariable) -> None:
    """The reported scale: the states standardised per draw (mean 0, sd 1 over the active
    cells), as ``credibility_cell`` and ``alliance_cell_level``, with ``latent_sd`` and
    the ``loading`` on that scale."""
    spread = state.std()
    pm.Deterministic("credibility_cell", state / spread, dims="cell")
    pm.Deterministic("alliance_cell_level", alliance_std / spread, dims="alliance_cell")
    pm.Deterministic("latent_sd", anchor * spread)
    pm.Deterministic("loading", loading * spread, dims="signal")


@dataclass(frozen=True)
class _ScaleLayout:
    """Which coordinates carry the latent's scale: the reference and relative signals
    of the scale coordinate (decision 31) and whether the model uses it, the residual
    signal (decision 33, only with the scale coordinate) and the marker signal's
    position (decision 18), or ``None``."""

    reference: np.ndarray
    relative: np.ndarray
    coordinate: bool
    residual_signal: str | None
    marker: int | None


def _scale_layout(spec: ModelSpec, signals: tuple[SignalSpec, ...],
                  coords: dict[str, list]) -> _ScaleLayout:
    """The model's :class:`_ScaleLayout`; adds the signal dims it needs to ``coords``."""
    names = [s.name for s in signals]
    # The latent's scale as one sampler coordinate (decision 31): centred states only.
    reference, relative = scale_signals(signals)
    on_commitment = reference | relative
    coordinate = bool(uses_scale_coordinate(spec) and on_commitment.any())
    residual_signal = (spec.residual_signal if coordinate
                       and spec.residual_signal in names else None)
    if coordinate:
        for dim, mask in (("signal_offset", reference), ("signal_relative", relative),
                          ("signal_alliance", ~on_commitment)):
            coords[dim] = [n for n, c in zip(names, mask, strict=True) if c]
    marker = None
    if spec.marker_signal is not None:
        marker = _marker_position(spec, signals)
        coords["signal_ratio"] = [n for n in names if n != spec.marker_signal]
    return _ScaleLayout(reference, relative, coordinate, residual_signal, marker)


def _persistences(spec: ModelSpec
                  ) -> tuple[pt.TensorVariable, pt.TensorVariable, pt.TensorVariable]:
    """The alliance and commitment paths' persistences (or steps) and the scale anchor."""
    p = spec.priors
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
    return rho_alliance, rho_commitment, anchor


def _group_mean(index: ModelIndex, spec: ModelSpec, rho_alliance: pt.TensorVariable,
                anchor: pt.TensorVariable, one_hot: bool
                ) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """The alliance level of every alliance cell, and every commitment cell's group mean
    (its alliance's level plus its region and type effects)."""
    p = spec.priors
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
    return alliance_level, group_mean


def _spectral_commitment(
    index: ModelIndex, spec: ModelSpec, group_mean: pt.TensorVariable,
    rho_commitment: pt.TensorVariable, anchor: pt.TensorVariable, loading_sd: np.ndarray,
    marker: int | None, fused: bool,
) -> tuple[pt.TensorVariable, pt.TensorVariable, pt.TensorVariable | None]:
    """Spectral commitment states (stationary-sd units, centred), their level, and with a
    marker signal the loading magnitudes (else ``None``).

    Partially non-centred in the frequency domain (decision 17): the slow components of
    each path centred, the fast ones non-centred, so that persistence no longer has to
    drag ~15,000 states along."""
    p = spec.priors
    cells = index.cells
    weights = spectral_weights(
        cells.max_length, p.persistence_alpha / (p.persistence_alpha + p.persistence_beta),
        spec.spectral_data_precision)
    magnitude = marker_scale = None
    if marker is not None:
        # The latent's scale carried by one signal's loading (decision 18).
        magnitude, marker_scale = _marker_loadings(loading_sd, anchor, marker)
    states = _spectral_states(cells, group_mean / anchor, rho_commitment, weights,
                              marker_scale, fused=fused)
    level_std = states.mean()
    return states - level_std, level_std, magnitude


def _centred_commitment(
    index: ModelIndex, spec: ModelSpec, group_mean: pt.TensorVariable,
    rho_commitment: pt.TensorVariable, anchor: pt.TensorVariable, scale: _ScaleLayout,
) -> tuple[pt.TensorVariable | None, pt.TensorVariable, pt.TensorVariable | None,
           pt.TensorVariable | None]:
    """Centred commitment states (stationary-sd units, sum to zero), their level, the
    latent's scale coordinate and the residual signal's free coordinates (each ``None``
    where the model has none; the states too while a residual signal's wait for its
    parameters: :func:`_residual_commitment`).

    Centred states are sampled as the latent itself (hierarchical centring: the group
    effects are the mean of the paths' prior), split into its sum-to-zero part and its
    mean. The likelihood sees only the former, so the mean, which only the prior pins
    down, is a coordinate of its own instead of a direction through every state
    (docs/decisions.md 15). Both are in stationary-sd units (decision 16); the Jacobian
    of the scaling (cells - 1 sum-to-zero dimensions and the level) keeps the density."""
    cells = index.cells
    scale_log = residual_free = None
    if scale.coordinate:
        # The states in the data's units, times the root mean square of the
        # reference signals' loadings: moving along the ridge (c x, lambda / c)
        # that only the states' prior pins down is then one coordinate,
        # latent_scale_log, instead of every state and loading at once
        # (decision 31). The Jacobian of the scaling of the cells - 1
        # sum-to-zero dimensions is in the potential.
        scale_log = pm.Flat("latent_scale_log")
        if scale.residual_signal:
            # One signal's residuals as coordinates (decision 33): the states
            # follow once its intercept, loading and noise exist.
            residual_free = pm.Flat("commitment_state_residual", dims="cell",
                                    default_transform=ZeroSumTransform([-1]))
            state = None
        else:
            scaled = pm.Flat("commitment_state_scaled", dims="cell",
                             default_transform=ZeroSumTransform([-1]))
            state = pm.Deterministic("commitment_state", scaled * pt.exp(-scale_log),
                                     dims="cell")
            pm.Potential("commitment_state_scale_jacobian", -(cells.size - 1) * scale_log)
    else:
        state = pm.Flat("commitment_state", dims="cell",
                        default_transform=ZeroSumTransform([-1]))
    level_std = pm.Flat("commitment_level")
    if state is not None:
        _path_prior("commitment", anchor * (state + level_std) - group_mean, cells,
                    rho_commitment, anchor, spec.dynamics)
    if spec.dynamics == "ar1":
        pm.Potential("commitment_state_jacobian", cells.size * pt.log(anchor))
    return state, level_std, scale_log, residual_free


def _residual_commitment(
    index: ModelIndex, spec: ModelSpec, name: str, residual_free: pt.TensorVariable,
    parameters: SignalParameters, loading: pt.TensorVariable, scale_log: pt.TensorVariable,
    level_std: pt.TensorVariable, group_mean: pt.TensorVariable,
    rho_commitment: pt.TensorVariable, anchor: pt.TensorVariable,
) -> pt.TensorVariable:
    """The commitment states of a model whose residual signal ``name`` gives their
    coordinates (decision 33, :func:`residual_states`), with their path prior."""
    cells = index.cells
    position, observed, value = _residual_rows(index, name)
    scaled, log_jacobian = residual_states(
        residual_free, pt.constant(observed, name=f"{DATA_PREFIX}residual:cells"),
        pt.constant(value, name=f"{DATA_PREFIX}residual:value"),
        parameters.intercept[parameters.intercept_position[position]],
        loading[position] * pt.exp(-scale_log),
        parameters.noise[parameters.noise_position[position]])
    pm.Deterministic("commitment_state_scaled", scaled, dims="cell")
    state = pm.Deterministic("commitment_state", scaled * pt.exp(-scale_log), dims="cell")
    pm.Potential("commitment_state_scale_jacobian", log_jacobian - (cells.size - 1) * scale_log)
    _path_prior("commitment", anchor * (state + level_std) - group_mean, cells,
                rho_commitment, anchor, spec.dynamics)
    return state
