"""The commitments a simulation runs on, and the draws every simulation shares.

:func:`synthetic_commitments` makes a commitments table; the layout of a table (its
units, their active cells and each unit's own time) and the sum-to-zero effects and
unit-variance paths drawn on it serve :mod:`credibility.simulate.latent` (one dimension)
and :mod:`credibility.simulate.dimensions` (several) alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from credibility.data.container import CredibilityData
from credibility.data.spec import ModelSpec

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


@dataclass(frozen=True)
class _GroupDraws:
    """One dimension's draws before its paths: persistences (or steps) of the alliance
    and commitment paths, the two alliance scales, the alliance means (sum to zero, sd 1:
    scaled by ``sd_alliance_mean`` once ``fixed`` has spoken) and the group effects."""

    rho_alliance: float
    rho_commitment: float
    scales: dict[str, float]
    alliance_mean: np.ndarray
    region: np.ndarray
    type_effect: np.ndarray


def _draw_groups(rng: np.random.Generator, spec: ModelSpec, layout: _Layout) -> _GroupDraws:
    """A dimension's draws from the priors, in the order that gives a seed its meaning
    (one dimension, and each of several in spec order)."""
    p = spec.priors
    if spec.dynamics == "ar1":
        rho_a = rng.beta(p.persistence_alpha, p.persistence_beta)
        rho_c = rng.beta(p.persistence_alpha, p.persistence_beta)
    else:
        rho_a = abs(rng.normal(0.0, p.random_walk_step_sd))
        rho_c = abs(rng.normal(0.0, p.random_walk_step_sd))
    scales = {
        "sd_alliance_mean": abs(rng.normal(0.0, p.alliance_mean_sd)),
        "sd_alliance_dynamics": abs(rng.normal(0.0, p.alliance_dynamics_sd)),
    }
    alliance_mean = _zero_sum(rng, 1.0, len(layout.alliances))
    n_regions, n_types = len(layout.regions), len(layout.types)
    region = _zero_sum(rng, p.region_sd, n_regions) if spec.region_effects else np.zeros(
        n_regions)
    type_effect = _zero_sum(rng, p.type_sd, n_types) if spec.type_effects else np.zeros(n_types)
    return _GroupDraws(float(rho_a), float(rho_c), scales, alliance_mean, region, type_effect)
