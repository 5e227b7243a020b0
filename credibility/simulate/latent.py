"""Simulate signal data and true latent credibility of one dimension: :func:`simulate`.

:func:`simulate` draws every parameter from the priors of a spec, builds latent
credibility exactly as :mod:`credibility.measurement` does (same sum-to-zero
effects, same unit-variance AR(1) / random-walk paths in each unit's own time) and
draws one observation per (unit, period, signal) from the family's likelihood
(:mod:`credibility.simulate.signals`), then drops a share of them at random to mimic
missing reports. A spec of several dimensions it hands to
:mod:`credibility.simulate.dimensions`. Everything it returns is marked **synthetic**.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from credibility.data.spec import ModelSpec, load_spec
from credibility.simulate.dimensions import _simulate_dimensions
from credibility.simulate.layout import (
    Simulation,
    _draw_groups,
    _layout,
    _paths,
    synthetic_commitments,
)
from credibility.simulate.signals import (
    _signal_parameters,
    _signal_rows,
    _signal_truth,
    _simulated_data,
)


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

    groups = _draw_groups(rng, spec, layout)
    dyn = "persistence" if spec.dynamics == "ar1" else "step"
    rho_a = float(fixed.get(f"{dyn}_alliance", groups.rho_alliance))  # type: ignore[arg-type]
    rho_c = float(fixed.get(f"{dyn}_commitment", groups.rho_commitment))  # type: ignore[arg-type]
    scales = groups.scales
    scales.update({k: float(fixed[k]) for k in scales if k in fixed})  # type: ignore[arg-type]
    za = scales["sd_alliance_mean"] * groups.alliance_mean
    region, type_effect = groups.region, groups.type_effect

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


