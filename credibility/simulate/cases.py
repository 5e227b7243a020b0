"""Simulated deterrence cases whose outcomes follow the outcome model.

The outcome model is :mod:`credibility.predictor`'s: :func:`simulate_cases` adds cases to a
simulation of one or two dimensions, with outcomes drawn from the true latent credibility.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from credibility.errors import SpecError
from credibility.simulate.layout import Simulation, _zero_sum


def simulate_cases(
    simulation: Simulation,
    cases: pd.DataFrame | int = 100,
    *,
    seed: int = 0,
    intercept: float = 0.5,
    credibility: float = 1.0,
    covariates: Mapping[str, float] | None = None,
    region_sd: float = 0.0,
    hold_out: float = 0.0,
    dimensions: Mapping[str, float] | None = None,
    interaction: float = 0.0,
) -> Simulation:
    """Add synthetic deterrence cases whose outcomes follow the outcome model.

    ``logit P(success) = intercept + credibility * x + sum_j covariates[j] * z_j
    + u[region]``, with ``x`` the *true* standardised credibility of the case's
    cell, ``z`` the covariates standardised over all cases (as the model does)
    and ``u`` sum-to-zero region effects with sd ``region_sd``.

    ``cases`` is a number of cases on random active cells (covariates drawn
    N(0, 1)), or a table ``case_id, commitment_id, period`` plus the spec's
    covariate columns. A share ``hold_out`` of the cases (exactly
    ``round(hold_out * n)``) gets an empty outcome: cases to predict.
    ``truth["case_outcome"]`` keeps every simulated outcome and
    ``truth["case_probability"]`` the true P(success). Marked synthetic.

    A simulation of two dimensions follows the outcome model of two dimensions
    (:mod:`credibility.predictor`): ``logit P(success) = intercept + b_1 * x1 + b_2 *
    x2 + interaction * x1 * x2 + ...`` with ``x1``, ``x2`` the true standardised
    dimensions of the case's cell and ``b_d`` from ``dimensions`` (a mapping from
    dimension name to slope; a dimension not named gets ``credibility``). The truth
    then has ``outcome_dimension`` (dim ``dimension``) and ``outcome_interaction``
    instead of ``outcome_credibility``.

    Parameters
    ----------
    simulation : Simulation
        A simulation of one or two dimensions (:func:`simulate`).
    cases : pandas.DataFrame or int
        A number of cases, or their table.
    seed : int
        Seed of the cases' draws.
    intercept, credibility : float
        The true intercept and (one dimension) slope.
    covariates : Mapping[str, float], optional
        True effects of the spec's covariates (default 0).
    region_sd : float
        Sd of the true region effects.
    hold_out : float
        Share of the cases without an outcome.
    dimensions : Mapping[str, float], optional
        Two dimensions only: the true slope of each dimension.
    interaction : float
        Two dimensions only: the true interaction of the two dimensions.

    Returns
    -------
    Simulation
        The simulation with the cases and the outcome model's truth.

    Raises
    ------
    SpecError
        If the simulation has more than two dimensions, or one dimension and
        ``dimensions`` or ``interaction`` are given.
    ValueError
        If ``covariates`` or ``dimensions`` name what the spec lacks.

    Examples
    --------
    >>> from credibility.simulate import simulate
    >>> sim = simulate_cases(simulate("default", seed=3), 40, seed=1, hold_out=0.25)
    >>> int(sim.data.cases["outcome"].isna().sum()), float(sim.truth["outcome_credibility"])
    (10, 1.0)
    >>> two = simulate_cases(simulate("capability_willingness", seed=3), 40, seed=1,
    ...                      dimensions={"capability": 1.0, "willingness": 0.5},
    ...                      interaction=0.8)
    >>> two.truth["outcome_dimension"].values.tolist(), float(two.truth["outcome_interaction"])
    ([1.0, 0.5], 0.8)
    """
    data = simulation.data
    spec = data.spec
    several = len(spec.dimensions) > 1
    if len(spec.dimensions) > 2:
        raise SpecError(f"{spec.source}: simulate_cases takes one or two dimensions; the "
                        f"spec has {len(spec.dimensions)} ({', '.join(spec.dimensions)})")
    if not several and (dimensions is not None or interaction != 0.0):
        raise SpecError(f"{spec.source}: dimensions and interaction are for a simulation of "
                        "two dimensions; this spec has one (use credibility=)")
    slopes = dict(dimensions or {})
    unknown_dimensions = sorted(set(slopes) - set(spec.dimensions))
    if several and unknown_dimensions:
        raise ValueError(f"dimensions {unknown_dimensions} are not the spec's dimensions "
                         f"{list(spec.dimensions)}")
    rng = np.random.default_rng(seed)
    x_grid = simulation.truth["credibility"]
    effects = dict(covariates or {})
    unknown = sorted(set(effects) - set(spec.covariates))
    if unknown:
        raise ValueError(f"covariates {unknown} are not in the spec's [outcome] covariates "
                         f"{list(spec.covariates)}")
    if isinstance(cases, int):
        active = x_grid.to_series().dropna().index.to_frame(index=False)
        pick = rng.choice(len(active), size=cases, replace=cases > len(active))
        table = pd.DataFrame({
            "case_id": [f"SIM{k + 1:04d}" for k in range(cases)],
            "commitment_id": active["commitment"].to_numpy()[pick],
            "period": active["period"].to_numpy()[pick].astype(np.int64),
            **{name: rng.normal(size=cases) for name in spec.covariates},
        })
    else:
        table = cases.copy()
    x = x_grid.sel(commitment=xr.DataArray(table["commitment_id"].to_numpy(), dims="case"),
                   period=xr.DataArray(table["period"].to_numpy(), dims="case"))
    if several:
        b = np.array([float(slopes.get(d, credibility)) for d in spec.dimensions])
        x = x.transpose("case", "dimension").to_numpy()
        signal = x @ b + interaction * x[:, 0] * x[:, 1]
    else:
        x = x.to_numpy()
        signal = credibility * x
    raw = table[list(spec.covariates)].to_numpy(np.float64).reshape(len(table), -1)
    z = (raw - raw.mean(axis=0)) / np.where(raw.std(axis=0) > 0, raw.std(axis=0), 1.0)
    gamma = np.array([effects.get(name, 0.0) for name in spec.covariates])
    regions = list(data.regions)
    region_effect = _zero_sum(rng, region_sd, len(regions)) if region_sd > 0 else np.zeros(
        len(regions))
    region = table["commitment_id"].map(data.commitments.set_index("commitment_id")["region"])
    u = region_effect[region.map({r: j for j, r in enumerate(regions)}).to_numpy(np.int64)]
    probability = 1.0 / (1.0 + np.exp(-(intercept + signal + z @ gamma + u)))
    outcome = (rng.random(len(table)) < probability).astype(np.int64)
    held = np.zeros(len(table), dtype=bool)
    held[rng.permutation(len(table))[: round(hold_out * len(table))]] = True
    table["outcome"] = np.where(held, np.nan, outcome)
    cased = data.with_cases(table, name="simulated cases")
    slope_truth = (
        {"outcome_dimension": (("dimension",), b), "outcome_interaction": ((), interaction)}
        if several else {"outcome_credibility": ((), credibility)})
    truth = simulation.truth.assign(
        outcome_intercept=((), intercept),
        **slope_truth,
        outcome_covariate=(("covariate",), gamma),
        outcome_region=(("region",), region_effect),
        case_probability=(("case",), probability),
        case_outcome=(("case",), outcome),
        case_held_out=(("case",), held),
    ).assign_coords(case=table["case_id"].to_numpy(), covariate=list(spec.covariates))
    return Simulation(data=cased, truth=truth, seed=simulation.seed)
