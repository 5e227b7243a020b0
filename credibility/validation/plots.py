"""Figures of a simulation-based calibration run (:mod:`credibility.validation`).

- :func:`plot_rank_ecdf`: one panel per ranked quantity, the ECDF of its fractional
  ranks minus the uniform CDF inside the simultaneous band (Säilynoja, Bürkner and
  Vehtari 2022); a curve that leaves the band is not uniform.
- :func:`plot_coverage`: empirical against nominal coverage of central intervals.
- :func:`plot_recovery`: posterior means (with 90 % intervals) against the truth.

Like :mod:`credibility.analysis.plots`, every function returns a matplotlib ``Figure`` built
on the Agg canvas without ``pyplot`` and, given ``path``, writes it.

Examples
--------
>>> from credibility.validation.ranks import _example_simulations
>>> fig = plot_rank_ecdf(_example_simulations())
>>> len(fig.axes)
1
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from credibility.validation.ranks import coverage_table, ecdf_band, uniformity_table

__all__ = ["plot_coverage", "plot_rank_ecdf", "plot_recovery"]

_BLUE = "#1f5a99"
_RED = "#c00000"
_SYNTHETIC = "SYNTHETIC simulations"


def _style(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)


def _save(fig: Figure, title: str, path: str | Path | None) -> Figure:
    fig.suptitle(f"{title} ({_SYNTHETIC})", fontsize=12, fontweight="bold")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight", facecolor="white")
    return fig


def _grid(n: int, ncols: int, width: float, height: float) -> tuple[Figure, list[Axes]]:
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig = Figure(figsize=(width * ncols + 0.4, height * nrows + 0.6), dpi=100)
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[n:]:
        fig.delaxes(ax)
    return fig, axes[:n]


def plot_rank_ecdf(
    simulations: xr.Dataset,
    *,
    uniformity: pd.DataFrame | None = None,
    alpha: float = 0.05,
    path: str | Path | None = None,
) -> Figure:
    """ECDF-difference plot of every ranked quantity, with its simultaneous ``1 - alpha`` band.

    ``uniformity`` is :func:`~credibility.validation.ranks.uniformity_table` of the same
    simulations (computed when omitted); quantities it flags are drawn in red.

    Examples
    --------
    >>> from credibility.validation.ranks import _example_simulations
    >>> plot_rank_ecdf(_example_simulations()).axes[0].get_title()
    'persistence_commitment\\np = 0.69'
    """
    table = uniformity if uniformity is not None else uniformity_table(simulations, alpha=alpha)
    fractions = simulations["fraction"].transpose("quantity", "simulation").values
    fig, axes = _grid(len(table), 6, 2.4, 1.9)
    for ax, (q, row) in zip(axes, table.iterrows(), strict=True):
        u = np.sort(fractions[q][~np.isnan(fractions[q])])
        if u.size:
            # Drawn at the points the test evaluates (i / n), where the band holds.
            z, lower, upper = ecdf_band(u.size, alpha=alpha)
            z, lower, upper = (np.concatenate([[0.0], a, [1.0]]) for a in (z, lower, upper))
            ax.fill_between(z, lower - z, upper - z, color="0.85", linewidth=0)
            ecdf = np.searchsorted(u, z, side="right") / u.size
            ax.plot(z, ecdf - z, color=_RED if row["flagged"] else _BLUE, linewidth=1.3)
        ax.axhline(0, color="0.4", linewidth=0.6)
        ax.set_xlim(0, 1)
        ax.set_title(f"{row['quantity']}\np = {row['p_value']:.2f}", fontsize=8,
                     color=_RED if row["flagged"] else "black")
        ax.tick_params(labelsize=7)
        _style(ax)
    title = f"Rank ECDF - uniform CDF, {100 * (1 - alpha):.0f}% simultaneous bands"
    return _save(fig, title, path)


def plot_coverage(coverage: pd.DataFrame | xr.Dataset, *, path: str | Path | None = None
                  ) -> Figure:
    """Empirical against nominal coverage, one line per group of quantities.

    ``coverage`` is :func:`~credibility.validation.ranks.coverage_table` (or the
    simulations, from which it is computed). Points on the diagonal are calibrated.

    Examples
    --------
    >>> from credibility.validation.ranks import _example_simulations
    >>> plot_coverage(_example_simulations()).axes[0].get_xlabel()
    'nominal coverage'
    """
    table = coverage_table(coverage) if isinstance(coverage, xr.Dataset) else coverage
    levels = [c for c in table.columns if c.endswith("%") and not c.startswith("se")]
    nominal = np.array([float(c.rstrip("%")) / 100 for c in levels])
    fig = Figure(figsize=(6.4, 4.6), dpi=100)
    ax = fig.add_subplot()
    ax.plot([0.4, 1.0], [0.4, 1.0], color="0.5", linestyle="--", linewidth=0.8)
    for _, row in table.iterrows():
        ax.plot(nominal, row[levels].to_numpy(np.float64), marker="o", markersize=3.5,
                linewidth=1.1, label=f"{row['group']} (n = {row['n']})")
    ax.set_xlabel("nominal coverage")
    ax.set_ylabel("empirical coverage")
    ax.set_xlim(0.4, 1.0)
    ax.set_ylim(0.3, 1.02)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    _style(ax)
    return _save(fig, "Coverage of central posterior intervals", path)


def plot_recovery(simulations: xr.Dataset, *, path: str | Path | None = None) -> Figure:
    """Posterior mean and 90 % interval against the true value, one panel per quantity.

    Examples
    --------
    >>> from credibility.validation.ranks import _example_simulations
    >>> plot_recovery(_example_simulations()).axes[0].get_xlabel()
    'truth'
    """
    names = simulations["quantity"].values.astype(str)
    fig, axes = _grid(len(names), 6, 2.4, 2.2)
    ninety = simulations["lower"]["level"].values.tolist().index(0.9)
    for q, (ax, name) in enumerate(zip(axes, names, strict=True)):
        sel = simulations.isel(quantity=q)
        truth, mean = sel["truth"].values, sel["mean"].values
        low = sel["lower"].isel(level=ninety).values
        high = sel["upper"].isel(level=ninety).values
        ok = ~np.isnan(truth) & ~np.isnan(mean)
        if ok.any():
            inside = (low <= truth) & (truth <= high)
            ax.errorbar(truth[ok], mean[ok], yerr=[mean[ok] - low[ok], high[ok] - mean[ok]],
                        fmt="none", ecolor="0.75", linewidth=0.6)
            ax.scatter(truth[ok], mean[ok], s=6, c=np.where(inside[ok], _BLUE, _RED), zorder=3)
            span = [np.nanmin([truth[ok].min(), mean[ok].min()]),
                    np.nanmax([truth[ok].max(), mean[ok].max()])]
            ax.plot(span, span, color="0.4", linewidth=0.7, linestyle="--")
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
        _style(ax)
    for ax in axes[::6]:
        ax.set_ylabel("posterior mean", fontsize=8)
    for ax in axes:
        ax.set_xlabel("truth", fontsize=8)
    return _save(fig, "Recovery: posterior mean (90% interval) vs truth; red = not covered", path)
