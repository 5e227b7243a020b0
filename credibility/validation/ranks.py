"""Rank statistics and summaries of simulation-based calibration (Talts et al. 2018).

Pure functions of draws and of the simulations table that
:func:`credibility.validation.load_simulations` returns: the rank of a true value
among thinned posterior draws, a uniformity test of the ranks per quantity with
simultaneous ECDF bands (Säilynoja, Bürkner and Vehtari 2022) and Holm's correction,
and the coverage and recovery tables. :mod:`credibility.validation` runs the
simulations and :mod:`credibility.validation.plots` draws these tables.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

__all__ = ["COVERAGE_LEVELS", "LATENT_GROUPS", "coverage_table", "ecdf_band",
           "ecdf_uniformity_test", "fractional_rank", "holm", "rank_statistics",
           "recovery_table", "thinned_rank", "uniformity_table"]

#: Nominal levels of the central posterior intervals whose coverage is reported.
COVERAGE_LEVELS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)

#: Latent quantities whose coverage is taken over every active cell of every simulation.
LATENT_GROUPS: tuple[str, ...] = ("credibility", "alliance_level")

def thinned_rank(draws: np.ndarray, truth: float, keep: int) -> int:
    """Rank of ``truth`` among ``keep`` evenly spaced draws of ``(chain, draw)`` draws.

    The chains are laid end to end and every ``size / keep``-th draw is kept, so
    the rank is in ``0 .. keep``.

    Examples
    --------
    >>> thinned_rank(np.arange(10.0).reshape(2, 5), 4.5, keep=5)
    3
    """
    flat = np.asarray(draws, dtype=np.float64).reshape(-1)
    keep = int(min(max(keep, 1), flat.size))
    picked = flat[(np.arange(keep) * flat.size) // keep]
    return int(np.sum(picked < truth))


def fractional_rank(rank: np.ndarray, keep: np.ndarray, jitter: np.ndarray) -> np.ndarray:
    """``(rank + jitter) / (keep + 1)``: uniform on (0, 1) when ``rank`` is uniform on 0..keep.

    ``jitter`` are independent uniforms on (0, 1). Spreading each discrete rank
    over its bin makes ranks from different thinnings (``keep`` varies with each
    quantity's ESS) comparable and lets continuous uniformity tests apply exactly.

    Examples
    --------
    >>> fractional_rank(np.array([0, 9]), np.array([9, 9]), np.array([0.5, 0.5]))
    array([0.05, 0.95])
    """
    return (np.asarray(rank, dtype=np.float64) + np.asarray(jitter)) / (
        np.asarray(keep, dtype=np.float64) + 1.0)


def rank_statistics(
    draws: np.ndarray, truth: np.ndarray, *, max_rank: int = 100,
    rng: np.random.Generator | None = None,
) -> pd.DataFrame:
    """Ranks of true values among thinned posterior draws, one row per quantity.

    ``draws`` is ``(chain, draw, quantity)`` and ``truth`` ``(quantity,)``. Each
    quantity is thinned to ``keep = clip(floor(bulk ESS), 1, max_rank)`` draws,
    so that the kept draws are close to independent. Columns: ``ess``, ``keep``,
    ``rank`` (0..keep) and ``fraction`` (:func:`fractional_rank`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> table = rank_statistics(rng.normal(size=(2, 200, 3)), np.zeros(3), max_rank=50, rng=rng)
    >>> list(table.columns), int(table["keep"].max())
    (['ess', 'keep', 'rank', 'fraction'], 50)
    """
    import arviz as az

    draws = np.asarray(draws, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    rng = rng or np.random.default_rng()
    ess = np.asarray(az.ess(xr.DataArray(draws, dims=("chain", "draw", "quantity")),
                            method="bulk").values, dtype=np.float64)
    most = min(max_rank, draws.shape[0] * draws.shape[1])
    keep = np.clip(np.floor(np.nan_to_num(ess, nan=1.0)), 1, most).astype(np.int64)
    rank = np.array([thinned_rank(draws[..., q], truth[q], int(keep[q]))
                     for q in range(truth.size)], dtype=np.int64)
    fraction = fractional_rank(rank, keep, rng.uniform(size=truth.size))
    return pd.DataFrame({"ess": ess, "keep": keep, "rank": rank, "fraction": fraction})


def _pointwise_tails(n: int, z: np.ndarray) -> np.ndarray:
    """``(n + 1, len(z))``: two-sided binomial tail probability of each ECDF count."""
    counts = np.arange(n + 1)[:, None]
    below = stats.binom.cdf(counts, n, z[None, :])
    above = stats.binom.sf(counts - 1, n, z[None, :])
    return np.minimum(1.0, 2.0 * np.minimum(below, above))


def _evaluation_points(n: int) -> np.ndarray:
    k = max(n, 2)
    return np.arange(1, k) / k


def _ecdf_counts(u: np.ndarray, k: int) -> np.ndarray:
    """``(replicate, k - 1)`` counts of ``u <= i / k`` for i = 1 .. k - 1."""
    u = np.atleast_2d(u)
    bins = np.minimum((u * k).astype(np.int64), k - 1)
    rows = np.repeat(np.arange(u.shape[0]), u.shape[1])
    hist = np.bincount(rows * k + bins.ravel(), minlength=u.shape[0] * k).reshape(-1, k)
    return np.cumsum(hist, axis=1)[:, :-1]


@functools.lru_cache(maxsize=64)
def _null_statistics(n: int, n_null: int, seed: int) -> np.ndarray:
    """Smallest pointwise tail probability of ``n_null`` ECDFs of ``n`` true uniforms."""
    z = _evaluation_points(n)
    tails = _pointwise_tails(n, z)
    counts = _ecdf_counts(np.random.default_rng(seed).uniform(size=(n_null, n)), z.size + 1)
    return np.sort(tails[counts, np.arange(z.size)].min(axis=1))


def ecdf_uniformity_test(fractions: np.ndarray, *, n_null: int = 4000, seed: int = 0) -> float:
    """P-value of the simultaneous ECDF test that ``fractions`` are uniform on (0, 1).

    The statistic is the smallest two-sided binomial tail probability of the
    empirical CDF at ``i / n`` (Säilynoja, Bürkner and Vehtari 2022); its null
    distribution is simulated (``n_null`` replicates, fixed ``seed``). The test
    rejects at level α exactly when the ECDF leaves the ``1 - α`` band of
    :func:`ecdf_band`.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> ecdf_uniformity_test(rng.uniform(size=100)) > 0.05
    True
    >>> ecdf_uniformity_test(rng.uniform(size=100) ** 2) < 0.01
    True
    """
    u = np.asarray(fractions, dtype=np.float64)
    u = u[~np.isnan(u)]
    if u.size == 0:
        return float("nan")
    z = _evaluation_points(u.size)
    observed = _pointwise_tails(u.size, z)[_ecdf_counts(u, z.size + 1)[0], np.arange(z.size)]
    null = _null_statistics(u.size, n_null, seed)
    return float((1 + np.searchsorted(null, observed.min(), side="right")) / (n_null + 1))


def ecdf_band(
    n: int, *, alpha: float = 0.05, n_null: int = 4000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simultaneous ``1 - alpha`` band for the ECDF of ``n`` uniforms: ``(z, lower, upper)``.

    ``lower`` and ``upper`` bound the ECDF at the points ``z = i / n``; an ECDF of
    true uniforms stays inside at every point with probability ``1 - alpha``.
    Subtract ``z`` for the ECDF-difference plot.

    Examples
    --------
    >>> z, lower, upper = ecdf_band(50)
    >>> bool(np.all(lower <= z) and np.all(z <= upper))
    True
    """
    z = _evaluation_points(n)
    null = _null_statistics(n, n_null, seed)
    gamma = float(np.quantile(null, alpha))
    lower = stats.binom.ppf(gamma / 2.0, n, z) / n
    upper = stats.binom.ppf(1.0 - gamma / 2.0, n, z) / n
    return z, lower, upper


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of p-values (family-wise error rate; NaN kept).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03])
    array([0.03, 0.06, 0.06])
    """
    p = np.asarray(pvalues, dtype=np.float64)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m = order.size
    steps = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted[order] = np.maximum.accumulate(steps)
    return adjusted


def uniformity_table(simulations: xr.Dataset, *, alpha: float = 0.05) -> pd.DataFrame:
    """Per ranked quantity: ``group, n, p_value, p_holm, flagged`` and the mean rank fraction.

    ``simulations`` is :func:`load_simulations`' dataset. ``p_value`` is the
    :func:`ecdf_uniformity_test` of the quantity's fractional ranks; ``p_holm``
    adjusts it across all quantities; ``flagged`` is ``p_holm < alpha``.

    Examples
    --------
    >>> sims = _example_simulations()
    >>> row = uniformity_table(sims).iloc[0]
    >>> int(row["n"]), bool(row["flagged"]), round(float(row["p_value"]), 2)
    (40, False, 0.69)
    """
    fractions = simulations["fraction"].transpose("quantity", "simulation").values
    p = np.array([ecdf_uniformity_test(row) for row in fractions])
    table = pd.DataFrame({
        "quantity": simulations["quantity"].values.astype(str),
        "group": simulations["group"].values.astype(str),
        "n": (~np.isnan(fractions)).sum(axis=1),
        "mean_fraction": [np.nanmean(row) if np.any(~np.isnan(row)) else np.nan
                          for row in fractions],
        "p_value": p,
    })
    table["p_holm"] = holm(p)
    table["flagged"] = table["p_holm"] < alpha
    return table


def coverage_table(simulations: xr.Dataset) -> pd.DataFrame:
    """Share of true values inside central posterior intervals, per group and level.

    Rows are the groups of ranked quantities plus ``credibility (all cells)`` and
    ``alliance_level (all cells)``, every active cell of every simulation. Columns:
    ``group, n`` (true values), ``n_simulations``, one column per level of
    :data:`COVERAGE_LEVELS` (``"50%"`` ...) and ``se_90%``, the standard error of
    the 90 % coverage from the spread of per-simulation coverage (cells of one
    simulation are correlated, so this is wider than a binomial one).

    Examples
    --------
    >>> coverage_table(_example_simulations())["group"].tolist()
    ['dynamics', 'credibility (all cells)', 'alliance_level (all cells)']
    """
    levels = simulations["level"].values
    rows = []
    truth = simulations["truth"]
    inside = ((simulations["lower"] <= truth) & (truth <= simulations["upper"])).where(
        truth.notnull())
    groups = simulations["group"].values.astype(str)
    for group in dict.fromkeys(groups):
        sel = inside.isel(quantity=np.flatnonzero(groups == group))
        per_sim = sel.mean("quantity")
        row = {"group": group, "n": int(sel.isel(level=0).count()),
               "n_simulations": int(per_sim.isel(level=0).count())}
        row.update(_coverage_columns(levels, sel.mean(("quantity", "simulation")).values,
                                     per_sim.sel(level=0.9, method="nearest").values))
        rows.append(row)
    for latent in LATENT_GROUPS:
        if latent not in simulations["latent"].values:
            continue
        covered = simulations["latent_covered"].sel(latent=latent)
        cells = simulations["latent_cells"].sel(latent=latent)
        if int(cells.sum()) == 0:
            continue
        share = covered.sum("simulation") / cells.sum("simulation")
        per_sim = (covered / cells).sel(level=0.9, method="nearest")
        row = {"group": f"{latent} (all cells)", "n": int(cells.sum()),
               "n_simulations": int(cells.count())}
        row.update(_coverage_columns(levels, share.values, per_sim.values))
        rows.append(row)
    return pd.DataFrame(rows)


def _coverage_columns(levels: np.ndarray, shares: np.ndarray, per_sim_90: np.ndarray
                      ) -> dict[str, float]:
    out = {f"{round(100 * level)}%": float(share) for level, share in zip(levels, shares,
                                                                          strict=True)}
    valid = per_sim_90[~np.isnan(per_sim_90)]
    out["se_90%"] = float(valid.std(ddof=1) / np.sqrt(valid.size)) if valid.size > 1 else np.nan
    return out


def recovery_table(simulations: xr.Dataset) -> pd.DataFrame:
    """Truth against posterior mean, per ranked quantity and for the latent cells.

    Columns: ``quantity, group, n``, ``prior_sd`` (sd of the true values across
    simulations), ``correlation`` (posterior mean vs truth), ``bias`` and ``rmse``
    of the posterior mean, ``posterior_sd`` (mean), ``contraction`` (1 - mean
    posterior variance / prior variance: 0 = nothing learnt, 1 = pinned down) and
    ``z_mean``, ``z_sd`` of ``(mean - truth) / posterior sd`` (about 0 and 1 when
    calibrated). The ``credibility (all cells)`` row averages per-simulation
    correlations and RMSEs over every active cell.

    Examples
    --------
    >>> recovery_table(_example_simulations())["quantity"].tolist()
    ['persistence_commitment', 'credibility (all cells)', 'alliance_level (all cells)']
    """
    truth = simulations["truth"].transpose("quantity", "simulation").values
    mean = simulations["mean"].transpose("quantity", "simulation").values
    sd = simulations["sd"].transpose("quantity", "simulation").values
    rows = []
    for q, name in enumerate(simulations["quantity"].values.astype(str)):
        ok = ~np.isnan(truth[q]) & ~np.isnan(mean[q])
        t, m, s = truth[q][ok], mean[q][ok], sd[q][ok]
        prior_var = t.var(ddof=1) if t.size > 1 else np.nan
        corr = (float(np.corrcoef(t, m)[0, 1]) if t.size > 2 and t.std() > 0 and m.std() > 0
                else np.nan)
        z = (m - t) / np.where(s > 0, s, np.nan)
        rows.append({
            "quantity": name, "group": str(simulations["group"].values[q]), "n": int(ok.sum()),
            "prior_sd": float(np.sqrt(prior_var)), "correlation": corr,
            "bias": float(np.mean(m - t)) if t.size else np.nan,
            "rmse": float(np.sqrt(np.mean((m - t) ** 2))) if t.size else np.nan,
            "posterior_sd": float(np.mean(s)) if t.size else np.nan,
            "contraction": float(1.0 - np.mean(s**2) / prior_var) if t.size > 1 else np.nan,
            "z_mean": float(np.nanmean(z)) if t.size else np.nan,
            "z_sd": float(np.nanstd(z, ddof=1)) if t.size > 1 else np.nan,
        })
    for latent in LATENT_GROUPS:
        if latent not in simulations["latent"].values:
            continue
        cells = simulations["latent_cells"].sel(latent=latent)
        if int(cells.sum()) == 0:
            continue
        corr = simulations["latent_correlation"].sel(latent=latent).values
        rmse = simulations["latent_rmse"].sel(latent=latent).values
        rows.append({"quantity": f"{latent} (all cells)", "group": latent,
                     "n": int(cells.sum()), "correlation": float(np.nanmean(corr)),
                     "rmse": float(np.nanmean(rmse))})
    return pd.DataFrame(rows)


def _example_simulations(n: int = 40, seed: int = 2) -> xr.Dataset:
    """A small calibrated stand-in for :func:`load_simulations` (doctests and tests)."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=(n, 1))
    mean = truth + rng.normal(scale=0.5, size=(n, 1))
    sd = np.full((n, 1), 0.5)
    z = stats.norm.ppf([(1 + lv) / 2 for lv in COVERAGE_LEVELS])
    cells = np.full((n, 2), 50)
    covered = rng.binomial(50, np.array(COVERAGE_LEVELS)[None, None, :], size=(n, 2, 4))
    return xr.Dataset(
        {"truth": (("simulation", "quantity"), truth),
         "mean": (("simulation", "quantity"), mean),
         "sd": (("simulation", "quantity"), sd),
         "fraction": (("simulation", "quantity"), stats.norm.cdf((truth - mean) / sd)),
         "lower": (("simulation", "quantity", "level"), mean[..., None] - z * sd[..., None]),
         "upper": (("simulation", "quantity", "level"), mean[..., None] + z * sd[..., None]),
         "latent_covered": (("simulation", "latent", "level"), covered),
         "latent_cells": (("simulation", "latent"), cells),
         "latent_correlation": (("simulation", "latent"), np.full((n, 2), 0.9)),
         "latent_rmse": (("simulation", "latent"), np.full((n, 2), 0.4))},
        coords={"quantity": ["persistence_commitment"], "group": ("quantity", ["dynamics"]),
                "level": list(COVERAGE_LEVELS), "latent": list(LATENT_GROUPS),
                "simulation": np.arange(n)},
    )
