"""Approximate posterior update: the previous posterior as a prior, only new periods sampled.

When new signal rows arrive for periods after the last one with data (periods the
fit holds as forecasts, or periods after its window), or late for one of the last
:data:`SMOOTHED_PERIODS` periods with data, the exact update refits everything. The
approximate update (docs/updating.md) instead

1. summarises the previous posterior by a multivariate normal on an unconstrained
   vector: the persistences (logit), the alliance-path scale and the latent sd
   (log), every signal's loading magnitude, intercept, noise, precision and
   cutpoints, the type and region effects, and the *state of the world in the
   last period with data* -- each alliance's mean and level and each commitment's
   AR(1) path value, on the previous fit's centred raw scale;
2. samples a small model: that normal as the prior, the AR(1) dynamics carried
   forward from that period into the later ones (the fit's forecast periods and any
   new ones), and the likelihood of the new rows only (a late row observes the state
   of its period in the normal summary).

The states of the last :data:`SMOOTHED_PERIODS` periods with data are part of the
normal summary, so the new rows revise them through its correlations (a Gaussian
fixed-lag smoother); earlier periods keep the previous draws. The new periods are
reported on the previous fit's location and scale. The normal summary drops the
posterior's non-Gaussian shape. A benchmark compares it
with the exact update (``benchmarks/update_approximate.py``). Only AR(1) specs,
and only added rows (no corrections) in the smoothed or later periods for units
active in the last period with data, can be updated this way; anything else needs
the exact update.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy.special import logit

from credibility.data.container import CredibilityData
from credibility.data.ledger import row_actions
from credibility.errors import CredibilityError
from credibility.inference.diagnostics import compute_diagnostics
from credibility.inference.sampling import SamplerConfig, fused_likelihood, run
from credibility.model.index import FamilyObservations, ModelIndex, build_index
from credibility.model.likelihoods import add_likelihoods, cutpoint_matrix

#: Periods at the end of the previous fit whose credibility the new rows revise
#: (T, T-1, ...): their states enter the normal prior jointly, so what the new
#: periods say about period T reaches back through the posterior correlations.
SMOOTHED_PERIODS = 6

#: Posterior variables kept by an approximate update, besides credibility and levels.
_CARRIED = ("persistence_alliance", "persistence_commitment", "sd_alliance_dynamics",
            "latent_sd", "loading", "intercept", "noise", "precision", "cutpoint_first",
            "cutpoint_log_gap", "type_effect", "region_effect", "alliance_mean")


class ApproximateUpdateError(CredibilityError):
    """The new data cannot be added by an approximate update (use the exact one)."""


@dataclass(frozen=True)
class _Block:
    """One named piece of the packed unconstrained vector."""

    name: str
    start: int
    size: int
    transform: str  # "identity" | "log" | "logit"

    def unpack(self, z: pt.TensorVariable) -> pt.TensorVariable:
        piece = z[self.start:self.start + self.size]
        if self.transform == "log":
            return pt.exp(piece)
        if self.transform == "logit":
            return pt.sigmoid(piece)
        return piece


def _flat(values: xr.DataArray) -> np.ndarray:
    return values.stack(sample=("chain", "draw")).transpose("sample", ...).values


def _alliance_paths(post: xr.Dataset, index: ModelIndex, rho: np.ndarray,
                    scale: np.ndarray) -> np.ndarray:
    """``scale * path`` of each alliance in each active cell, ``(sample, alliance_cell)``."""
    cells = index.alliance_cells
    if "alliance_state" in post:
        return _flat(post["alliance_state"])
    innovation = _flat(post["alliance_innovation"])
    padded = np.zeros((innovation.shape[0], cells.n_units, cells.max_length))
    padded[:, cells.unit, cells.local] = innovation
    path = np.empty_like(padded)
    path[:, :, 0] = padded[:, :, 0]
    shrink = np.sqrt(1.0 - rho**2)[:, None]
    for t in range(1, cells.max_length):
        path[:, :, t] = rho[:, None] * path[:, :, t - 1] + shrink * padded[:, :, t]
    return scale[:, None] * path[:, cells.unit, cells.local]


def observed_until(data: CredibilityData) -> int:
    """The last period with a signal row (the window's first when there is none): an
    approximate update samples every later period anew.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> data = load_dataset("demo")
    >>> observed_until(data), data.last_period
    (2025, 2026)
    """
    return int(data.signals["period"].max()) if len(data.signals) else data.first_period


def previous_state(fit, index: ModelIndex, last: int | None = None
                   ) -> tuple[np.ndarray, list[_Block], dict]:
    """The previous posterior as ``(sample, coordinate)`` unconstrained draws and their layout.

    ``index`` is the previous fit's model index and ``last`` the position in its
    periods of the state carried forward (default: the last). Returns the draws, the
    blocks and, under ``"alliances"`` / ``"commitments"``, the units active in that
    period (positions in the index), whose states are part of the vector.
    """
    post = fit.posterior["posterior"].to_dataset()
    last = index.periods.size - 1 if last is None else last
    spread = _flat(post["latent_sd"])
    rho_a = _flat(post["persistence_alliance"])
    scale_a = _flat(post["sd_alliance_dynamics"])
    columns: list[np.ndarray] = []
    blocks: list[_Block] = []

    def add(name: str, values: np.ndarray, transform: str) -> None:
        values = values.reshape(values.shape[0], -1)
        start = sum(b.size for b in blocks)
        blocks.append(_Block(name, start, values.shape[1], transform))
        columns.append({"log": np.log, "logit": logit}.get(transform, lambda v: v)(values))

    add("persistence_alliance", rho_a, "logit")
    add("persistence_commitment", _flat(post["persistence_commitment"]), "logit")
    add("sd_alliance_dynamics", scale_a, "log")
    add("latent_sd", spread, "log")
    magnitude = _flat(post["loading"]) / spread[:, None]
    add("loading_magnitude", np.abs(magnitude), "log")
    for name, transform in (("intercept", "identity"), ("noise", "log"),
                            ("precision", "log"), ("cutpoint_first", "identity"),
                            ("cutpoint_log_gap", "identity"), ("type_effect", "identity"),
                            ("region_effect", "identity")):
        if name in post:
            add(name, _flat(post[name]), transform)

    a_cells = index.alliance_cells
    alliances = np.flatnonzero(np.isin(np.arange(a_cells.n_units),
                                       a_cells.unit[a_cells.period == last]))
    level = _flat(post["alliance_level"].isel(period=last)) * spread[:, None]
    level = level[:, alliances]
    if "alliance_mean" in post:
        mean = _flat(post["alliance_mean"])[:, alliances]
    else:
        paths = _alliance_paths(post, index, rho_a, scale_a)
        at_last = [int(np.flatnonzero((a_cells.unit == k) & (a_cells.period == last))[0])
                   for k in alliances]
        mean = level - paths[:, at_last]
    add("alliance_mean", mean, "identity")
    add("alliance_last", level, "identity")

    cells = index.cells
    commitments = np.flatnonzero(np.isin(np.arange(cells.n_units),
                                         cells.unit[cells.period == last]))
    x = _flat(post["credibility"].isel(period=last))[:, commitments] * spread[:, None]
    add("commitment_last", _own_paths(post, index, x, level, alliances, commitments),
        "identity")
    units = {"alliances": alliances, "commitments": commitments, "lags": []}
    for lag in range(1, min(SMOOTHED_PERIODS, last + 1)):
        period = last - lag
        a_held = alliances[np.isin(alliances, a_cells.unit[a_cells.period == period])]
        c_held = commitments[np.isin(commitments, cells.unit[cells.period == period])]
        level_lag = _flat(post["alliance_level"].isel(period=period))[:, a_held] * spread[
            :, None]
        x_lag = _flat(post["credibility"].isel(period=period))[:, c_held] * spread[:, None]
        path_lag = _own_paths(post, index, x_lag, level_lag, a_held, c_held)
        add(f"alliance_level_lag{lag}", level_lag, "identity")
        add(f"commitment_path_lag{lag}", path_lag, "identity")
        units["lags"].append((lag, a_held, c_held))
    return np.concatenate(columns, axis=1), blocks, units


def _own_paths(post: xr.Dataset, index: ModelIndex, x: np.ndarray, level: np.ndarray,
               alliances: np.ndarray, commitments: np.ndarray) -> np.ndarray:
    """The ``commitments``' own paths in one period, ``(sample, commitment)``: their latent
    ``x`` less their alliance's ``level`` (columns: ``alliances``) and their type and
    region effects."""
    where = {int(k): j for j, k in enumerate(alliances)}
    path = x - level[:, [where[int(k)] for k in index.commitment_alliance[commitments]]]
    if "type_effect" in post:
        path -= _flat(post["type_effect"])[:, index.commitment_type[commitments]]
    if "region_effect" in post:
        path -= _flat(post["region_effect"])[:, index.commitment_region[commitments]]
    return path


def _normal(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and Cholesky factor of the draws' normal (sum-to-zero directions jittered)."""
    mean = draws.mean(axis=0)
    cov = np.cov(draws, rowvar=False)
    cov[np.diag_indices_from(cov)] += 1e-8 * np.maximum(np.diag(cov), 1e-8)
    return mean, np.linalg.cholesky(cov)


def _check_new_rows(old: CredibilityData, new: CredibilityData, old_index: ModelIndex,
                    new_index: ModelIndex, position: int) -> np.ndarray:
    """Refuse what the approximate update cannot do; ``position`` is the period (in the
    old index) after which it samples anew. Returns :func:`added_rows`' mask."""
    last = int(old_index.periods[position])
    if old.spec.dynamics != "ar1":
        raise ApproximateUpdateError("the approximate update supports ar1 dynamics only; "
                                     "use the exact update")
    autocorrelated = [s.name for s in old_index.signals if s.residual_persistence]
    if autocorrelated:
        raise ApproximateUpdateError(
            "the approximate update does not carry autocorrelated residuals forward "
            f"(residual_persistence = true: {', '.join(autocorrelated)}); use the exact update")
    if [s.name for s in new_index.signals] != [s.name for s in old_index.signals]:
        raise ApproximateUpdateError("the new rows add a signal the fit has not seen; use the "
                                     "exact update")
    if new_index.commitments != old_index.commitments or (
            new_index.alliances != old_index.alliances):
        raise ApproximateUpdateError("the new rows add commitments or alliances; use the exact "
                                     "update")
    added = added_rows(old, new)
    if not added.any():
        raise ApproximateUpdateError("the new data add no signal row; nothing to update")
    earliest = int(old_index.periods[max(position - SMOOTHED_PERIODS + 1, 0)])
    late = added & (new.signals["period"].to_numpy() < earliest)
    if late.any():
        row = new.signals[late].iloc[0]
        raise ApproximateUpdateError(
            f"a new row is for period {int(row['period'])}, before {earliest}: the approximate "
            f"update only adds rows in the last {SMOOTHED_PERIODS} periods with data and later "
            "ones (use the exact update)")
    for name, cells in (("commitment", new_index.cells), ("alliance", new_index.alliance_cells)):
        new_cells = cells.period > position
        fresh = new_cells & (cells.local == 0)
        if fresh.any():
            unit = int(cells.unit[fresh][0])
            label = (new_index.commitments if name == "commitment" else new_index.alliances)[unit]
            raise ApproximateUpdateError(
                f"{name} {label!r} has no state in {last}; the approximate update can only "
                "carry forward units active in the last period with data (use the exact "
                "update)")
    return added


def added_rows(old: CredibilityData, new: CredibilityData) -> np.ndarray:
    """Which rows of ``new.signals`` ``old`` does not have, as a boolean mask.

    A row of ``old`` missing from ``new``, or one with another value, trials or exposure
    (a correction), is an :class:`ApproximateUpdateError`: the previous posterior
    already holds what that row said, and the approximate update cannot take it out.

    Examples
    --------
    >>> from credibility.data.datasets import load_dataset
    >>> data = load_dataset("demo")
    >>> int(added_rows(data, data).sum())
    0
    """
    actions, positions = row_actions(old.signals, new.signals)
    found = positions >= 0
    if int(found.sum()) != len(old.signals):
        raise ApproximateUpdateError("some stored rows are missing from the new data; use the "
                                     "exact update")
    revised = actions == "revised"
    if revised.any():
        row = new.signals[revised].iloc[0]
        raise ApproximateUpdateError(
            f"the value, trials or exposure of signal {row['signal']!r} in "
            f"{int(row['period'])} is revised; the approximate update cannot take back what a "
            "stored row said (use the exact update for corrections)")
    return ~found


def _new_family_rows(families: dict[str, FamilyObservations], new_signal_rows: np.ndarray,
                     latent_map: np.ndarray) -> dict[str, FamilyObservations]:
    """The observations of the new periods, their latent indices mapped to the new cells."""
    out = {}
    for family, obs in families.items():
        keep = np.isin(obs.row, new_signal_rows)
        if keep.any():
            out[family] = FamilyObservations(
                family=family, row=obs.row[keep], latent=latent_map[obs.latent[keep]],
                signal=obs.signal[keep], value=obs.value[keep], trials=obs.trials[keep],
                exposure=obs.exposure[keep])
    return out


def build_approximate_model(fit, data: CredibilityData) -> tuple[pm.Model, dict]:
    """The update model for ``data`` (the fit's data plus rows in periods after the last
    with data, forecast periods of the fit or later ones, and rows the fit lacked in the
    last :data:`SMOOTHED_PERIODS` periods with data).

    Returns the model and what :func:`approximate_update` needs to assemble the
    posterior (the new cells and the previous fit's index).
    """
    spec = fit.spec
    if len(spec.dimensions) > 1:
        raise ApproximateUpdateError(
            f"the approximate update of a model of several dimensions "
            f"({', '.join(spec.dimensions)}) is not built yet; use the exact update")
    old_index = fit.index
    new_index = build_index(data, spec)
    boundary = observed_until(fit.data)
    last = int(np.searchsorted(old_index.periods, boundary))
    added = _check_new_rows(fit.data, data, old_index, new_index, last)
    draws, blocks, units = previous_state(fit, old_index, last)
    mean, chol = _normal(draws)
    cells, a_cells = new_index.cells, new_index.alliance_cells
    new_c = np.flatnonzero(cells.period > last)
    new_a = np.flatnonzero(a_cells.period > last)
    latent_map = _latent_map(new_index, new_c, new_a, units, last)
    families = _new_family_rows(new_index.families, np.flatnonzero(added), latent_map)
    _check_carried(families, data, boundary)
    signals = new_index.signals
    coords = _approximate_coords(new_index, mean.size, new_c.size, new_a.size)
    with pm.Model(coords=coords) as model:
        u = pm.Normal("prior_innovation", 0.0, 1.0, dims="prior_coordinate")
        z = pt.as_tensor(mean) + pt.dot(pt.as_tensor(chol), u)
        part = {b.name: b.unpack(z) for b in blocks}
        spread = part["latent_sd"][0]
        for name in ("persistence_alliance", "persistence_commitment", "sd_alliance_dynamics",
                     "latent_sd"):
            pm.Deterministic(name, part[name][0])
        x, alliance_new = _new_states(part, units, new_index, new_c, new_a, last)
        pm.Deterministic("credibility_new", x / spread, dims="new_cell")
        pm.Deterministic("alliance_level_new", alliance_new / spread, dims="new_alliance_cell")
        lagged = _revised_states(part, units, new_index, spread)
        direction = np.array([s.direction for s in signals], dtype=np.float64)
        loading = direction * part["loading_magnitude"]
        pm.Deterministic("loading", loading * spread, dims="signal")
        add_likelihoods(families, signals, pt.concatenate([x, alliance_new, *lagged]), loading,
                        **_signal_arguments(part, signals, coords),
                        fused=fused_likelihood(fit.sampler_config.backend))
    return model, {"index": new_index, "old_index": old_index, "new_cells": new_c,
                   "new_alliance_cells": new_a, "last": last, **units}


def _latent_map(index: ModelIndex, new_c: np.ndarray, new_a: np.ndarray, units: dict,
                last: int) -> np.ndarray:
    """Each cell's entry in the update model's latent (-1 where it has none): the new
    commitment cells, the new alliance cells, then the smoothed periods' states."""
    cells, a_cells = index.cells, index.alliance_cells
    latent_map = np.full(cells.size + a_cells.size, -1, dtype=np.int64)
    latent_map[new_c] = np.arange(new_c.size)
    latent_map[cells.size + new_a] = new_c.size + np.arange(new_a.size)
    # Rows added in the smoothed periods observe the revised states (after the new
    # cells in the latent vector: each lag's commitment states, then its alliance levels).
    offset = new_c.size + new_a.size
    for lag, a_held, c_held in [(0, units["alliances"], units["commitments"]),
                                *units["lags"]]:
        for held, unit_cells, base in ((c_held, cells, 0), (a_held, a_cells, cells.size)):
            at = np.flatnonzero(unit_cells.period == last - lag)
            position = np.searchsorted(held, unit_cells.unit[at])
            inside = position < held.size
            inside[inside] = held[position[inside]] == unit_cells.unit[at][inside]
            latent_map[base + at[inside]] = offset + position[inside]
            offset += held.size
    return latent_map


def _check_carried(families: dict[str, FamilyObservations], data: CredibilityData,
                   boundary: int) -> None:
    """Refuse a new row whose state the update does not carry (no latent entry)."""
    unmapped = [obs.row[obs.latent < 0] for obs in families.values()]
    unmapped = np.concatenate(unmapped) if unmapped else np.zeros(0, dtype=np.int64)
    if unmapped.size:
        row = data.signals.iloc[int(unmapped.min())]
        unit = row["commitment_id"] if row["level"] == "commitment" else row["alliance"]
        raise ApproximateUpdateError(
            f"a new row for {unit!r} in {int(row['period'])} observes a state the approximate "
            f"update does not carry ({unit!r} is not active in {boundary}, the last period "
            "with data); use the exact update")


def _approximate_coords(index: ModelIndex, n_prior: int, n_new: int, n_new_alliance: int
                        ) -> dict[str, list]:
    """The update model's coordinates."""
    signals = index.signals
    return {"prior_coordinate": np.arange(n_prior), "new_cell": np.arange(n_new),
            "new_alliance_cell": np.arange(n_new_alliance),
            "signal": [s.name for s in signals], "alliance": list(index.alliances),
            "signal_intercept": [s.name for s in signals if s.family != "ordinal"],
            "signal_noise": [s.name for s in signals if s.family in ("count", "amount",
                                                                     "ratio")],
            "signal_proportion": [s.name for s in signals if s.family == "proportion"],
            "signal_ordinal": [s.name for s in signals if s.family == "ordinal"],
            "type": list(index.types), "region": list(index.regions)}


def _new_states(part: dict, units: dict, index: ModelIndex, new_c: np.ndarray,
                new_a: np.ndarray, last: int) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """The latent of the new commitment cells and the new alliance levels, carried
    forward from the last period with data by the AR(1) dynamics (in the model in
    context; raw scale)."""
    cells, a_cells = index.cells, index.alliance_cells
    rho_a = part["persistence_alliance"][0]
    rho_c = part["persistence_commitment"][0]
    scale_a = part["sd_alliance_dynamics"][0]
    a_pos = np.full(a_cells.n_units, -1)
    a_pos[units["alliances"]] = np.arange(units["alliances"].size)
    a_unit, a_step = a_cells.unit[new_a], a_cells.period[new_a] - last
    steps = int(max(a_step.max(initial=0), (cells.period[new_c] - last).max(initial=0)))
    e_a = pm.Normal("new_alliance_innovation", 0.0, 1.0, dims="new_alliance_cell")
    mean_a = part["alliance_mean"][a_pos[a_unit]]
    last_a = part["alliance_last"][a_pos[a_unit]]
    alliance_new = mean_a + rho_a**a_step * (last_a - mean_a) + scale_a * pt.sqrt(
        1.0 - rho_a**2) * _accumulate(e_a, a_unit, a_step, rho_a, steps)
    alliance_mean = pt.zeros(len(index.alliances))[units["alliances"]].set(
        part["alliance_mean"])
    pm.Deterministic("alliance_mean", alliance_mean, dims="alliance")

    c_pos = np.full(cells.n_units, -1)
    c_pos[units["commitments"]] = np.arange(units["commitments"].size)
    c_unit, c_step = cells.unit[new_c], cells.period[new_c] - last
    e_c = pm.Normal("new_commitment_innovation", 0.0, 1.0, dims="new_cell")
    path = rho_c**c_step * part["commitment_last"][c_pos[c_unit]] + _accumulate(
        e_c, c_unit, c_step, rho_c, steps)
    lookup = np.full((a_cells.n_units, index.periods.size), -1, dtype=np.int64)
    lookup[a_unit, a_cells.period[new_a]] = np.arange(new_a.size)
    x = alliance_new[lookup[index.commitment_alliance[c_unit], cells.period[new_c]]] + path
    if "type_effect" in part:
        type_effect = pm.Deterministic("type_effect", part["type_effect"], dims="type")
        x = x + type_effect[index.commitment_type[c_unit]]
    if "region_effect" in part:
        region = pm.Deterministic("region_effect", part["region_effect"], dims="region")
        x = x + region[index.commitment_region[c_unit]]
    return x, alliance_new


def _revised_states(part: dict, units: dict, index: ModelIndex, spread: pt.TensorVariable
                    ) -> list[pt.TensorVariable]:
    """The last SMOOTHED_PERIODS fitted periods, revised by what the new rows say about
    them through the prior's correlations (earlier periods keep their draws): per lag
    the commitments' latent and the alliance levels, reported per latent sd."""
    revised = [(0, units["alliances"], units["commitments"], part["alliance_last"],
                part["commitment_last"])]
    revised += [(lag, a_held, c_held, part[f"alliance_level_lag{lag}"],
                 part[f"commitment_path_lag{lag}"])
                for lag, a_held, c_held in units["lags"]]
    lagged = []
    for lag, a_held, c_held, level, path_lag in revised:
        where = np.full(len(index.alliances), -1)
        where[a_held] = np.arange(a_held.size)
        x_lag = level[where[index.commitment_alliance[c_held]]] + path_lag
        if "type_effect" in part:
            x_lag = x_lag + part["type_effect"][index.commitment_type[c_held]]
        if "region_effect" in part:
            x_lag = x_lag + part["region_effect"][index.commitment_region[c_held]]
        pm.Deterministic(f"credibility_lag{lag}", x_lag / spread)
        pm.Deterministic(f"alliance_level_lag{lag}", level / spread)
        lagged += [x_lag, level]
    return lagged


def _signal_arguments(part: dict, signals: tuple, coords: dict) -> dict:
    """The per-signal parameters of :func:`add_likelihoods`, as deterministics of the
    normal prior's parts (in the model in context), with each signal's position."""
    names = [s.name for s in signals]
    values = {}
    for name, dim in (("intercept", "signal_intercept"), ("noise", "signal_noise"),
                      ("precision", "signal_proportion"),
                      ("cutpoint_first", "signal_ordinal")):
        if name in part:
            values[name] = pm.Deterministic(name, part[name], dims=dim)
    if "cutpoint_log_gap" in part:
        values["cutpoint_log_gap"] = pm.Deterministic("cutpoint_log_gap",
                                                      part["cutpoint_log_gap"])
    positions = {}
    for name, members in (("intercept", coords["signal_intercept"]),
                          ("noise", coords["signal_noise"]),
                          ("precision", coords["signal_proportion"]),
                          ("ordinal", coords["signal_ordinal"])):
        position = np.full(len(signals), -1)
        position[[names.index(n) for n in members]] = np.arange(len(members))
        positions[name] = position
    ordinals = tuple(s for s in signals if s.family == "ordinal")
    cutpoints = (cutpoint_matrix(ordinals, values["cutpoint_first"],
                                 values.get("cutpoint_log_gap")) if ordinals else None)
    return {"intercept": values.get("intercept"), "intercept_position": positions["intercept"],
            "noise": values.get("noise"), "noise_position": positions["noise"],
            "precision": values.get("precision"), "precision_position": positions["precision"],
            "cutpoints": cutpoints, "ordinal_position": positions["ordinal"]}


def _accumulate(innovations: pt.TensorVariable, unit: np.ndarray, step: np.ndarray,
                rho: pt.TensorVariable, steps: int) -> pt.TensorVariable:
    """``sum_{j<=k} rho**(k-j) * e_j`` for each new cell at ``k = step`` of its unit."""
    n_units = int(unit.max(initial=-1)) + 1
    padded = pt.zeros((max(n_units, 1), steps))[unit, step - 1].set(innovations)
    k = np.arange(1, steps + 1)
    lag = k[:, None] - k[None, :]
    weights = pt.where(lag >= 0, rho ** np.maximum(lag, 0).astype(np.float64), 0.0)
    return (padded @ weights.T)[unit, step - 1]


def approximate_update(fit, data: CredibilityData, *, seed: int | None = None,
                       progress: bool = True):
    """Fit ``data`` (the fit's data plus rows in later or smoothed periods) approximately.

    Uses the previous fit's backend, chains, draws, tuning and target acceptance
    (so its credibility draws for earlier periods pair with the new ones by
    position). Returns a :class:`~credibility.results.fitting.FitResult` whose settings
    and posterior attributes say ``update_method = "approximate"``.

    Examples
    --------
    >>> new_fit = approximate_update(fit, merged_data)  # doctest: +SKIP
    >>> new_fit.is_approximate  # doctest: +SKIP
    True
    """
    from credibility.results.fitting import FitResult

    started = time.perf_counter()
    model, parts = build_approximate_model(fit, data)
    built = time.perf_counter()
    previous = fit.posterior["posterior"]
    chains, draws = previous.sizes["chain"], previous.sizes["draw"]
    settings = dict(fit.settings)
    # Exactly the previous fit's chains and draws (its draws pair with these by position).
    previous_config = SamplerConfig.from_dict(settings)
    config = previous_config.replace(
        draws=draws, chains=chains, method="nuts", until_reliable=False, max_draws=None,
        seed=previous_config.seed + 1 if seed is None else seed)
    tree, _ = run(model, config, progress=progress)
    sampled = time.perf_counter()
    raw = tree["posterior"].to_dataset()
    free = [v.name for v in model.free_RVs]
    timing = {"build_seconds": built - started, "sampling_seconds": sampled - built}
    diagnostics = compute_diagnostics(raw[[*free, "credibility_new"]],
                                      tree["sample_stats"].to_dataset(),
                                      sampling_seconds=sampled - built,
                                      build_seconds=built - started)
    index = parts["index"]
    periods = index.periods
    credibility = np.full((chains, draws, len(index.commitments), periods.size), np.nan)
    old_credibility = previous["credibility"].values
    credibility[:, :, :old_credibility.shape[2], :old_credibility.shape[3]] = old_credibility
    c = index.cells
    new_c = parts["new_cells"]
    credibility[:, :, c.unit[new_c], c.period[new_c]] = raw["credibility_new"].values
    revised = [(0, parts["alliances"], parts["commitments"]), *parts["lags"]]
    for lag, _, c_held in revised:
        credibility[:, :, c_held, parts["last"] - lag] = raw[f"credibility_lag{lag}"].values
    alliance = np.full((chains, draws, len(index.alliances), periods.size), np.nan)
    old_alliance = previous["alliance_level"].values
    alliance[:, :, :, :old_alliance.shape[3]] = old_alliance
    a = index.alliance_cells
    new_a = parts["new_alliance_cells"]
    alliance[:, :, a.unit[new_a], a.period[new_a]] = raw["alliance_level_new"].values
    for lag, a_held, _ in revised:
        alliance[:, :, a_held, parts["last"] - lag] = raw[f"alliance_level_lag{lag}"].values
    carried = raw[[v for v in _CARRIED if v in raw]]
    posterior = carried.assign(
        credibility=(("chain", "draw", "commitment", "period"), credibility),
        alliance_level=(("chain", "draw", "alliance", "period"), alliance),
    ).assign_coords(commitment=list(index.commitments), alliance=list(index.alliances),
                    period=periods)
    posterior.attrs.update({"update_method": "approximate"})
    out = xr.DataTree()
    out["posterior"] = xr.DataTree(posterior)
    out["sample_stats"] = tree["sample_stats"]
    if "outcome" in fit.posterior.children:
        out["outcome"] = fit.posterior["outcome"]
    out.attrs.update(fit.posterior.attrs)
    out.attrs["update_method"] = "approximate"
    diagnostics.warn("approximate update posterior")
    result = FitResult(posterior=out, data=data, spec=fit.spec, diagnostics=diagnostics,
                       settings={**settings, "update_method": "approximate", **timing},
                       outcome_diagnostics=fit.outcome_diagnostics)
    vars(result)["index"] = index  # the new data's index, built above (FitResult.index)
    return result
