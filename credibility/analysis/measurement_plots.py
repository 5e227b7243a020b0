"""Figures of the measurement posterior: credibility trajectories, a forest of the
commitments in one period, and the signals' loadings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from credibility.analysis.dimension_plots import _plot_dimension_loadings
from credibility.analysis.plot_base import (
    _BLUE,
    _SCALE_NAMES,
    _alliance_colors,
    _choose_commitments,
    _figure_for,
    _finish,
    _interval_rows,
    _new_figure,
    _on_scale,
    _style,
    _summaries,
)
from credibility.errors import CredibilityError
from credibility.results.fitting import FitResult


def plot_trajectories(
    fit: FitResult,
    commitments: Sequence[str] | None = None,
    scale: str = "z",
    truth: xr.DataArray | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Credibility over time, one panel per commitment (shared axes).

    Each panel shows the posterior mean and the 50 % and 90 % intervals over the
    commitment's active periods. ``commitments`` defaults to up to six spread over
    the ranking of the commitments' posterior means in their last active period
    (from the most to the least credible). ``truth`` (dims ``commitment, period``,
    on the z scale) adds true values as points, as when the data were simulated.
    ``scale`` is ``"z"`` or ``"percentile"``. The function lays out its own grid of
    panels, so unlike the single-panel plots it takes no ``ax``.

    Examples
    --------
    >>> fig = plot_trajectories(fit, ["USA-EST", "USA-JPN"], truth=truth)  # doctest: +SKIP
    >>> len(fig.axes)  # doctest: +SKIP
    2
    """
    draws = fit.posterior["posterior"]["credibility"]
    summary = _summaries(draws, scale)
    chosen = _choose_commitments(summary, commitments)
    true_values = None if truth is None else _on_scale(truth, scale)

    n = len(chosen)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig = _new_figure(3.9 * ncols + 0.6, 2.7 * nrows + 1.4)
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    periods = summary["period"].values
    reference = 0.0 if scale == "z" else 50.0
    for ax, commitment in zip(axes, chosen, strict=False):
        cell = summary.sel(commitment=commitment)
        active = ~np.isnan(cell["mean"].values)
        x = periods[active]
        ax.fill_between(x, cell["q05"].values[active], cell["q95"].values[active],
                        color=_BLUE, alpha=0.18, linewidth=0)
        ax.fill_between(x, cell["q25"].values[active], cell["q75"].values[active],
                        color=_BLUE, alpha=0.35, linewidth=0)
        ax.axhline(reference, color="0.55", linewidth=0.8, linestyle=":")
        ax.plot(x, cell["mean"].values[active], color=_BLUE, linewidth=1.8)
        if true_values is not None and commitment in true_values["commitment"].values:
            true_cell = true_values.sel(commitment=commitment).reindex(period=x)
            ax.plot(x, true_cell.values, linestyle="none", marker="o", markersize=3.5,
                    color="black")
        ax.set_title(commitment, fontsize=10)
        _style(ax)
    if scale == "percentile":
        axes[0].set_ylim(0, 100)
    for ax in axes[n:]:
        fig.delaxes(ax)
    for column in range(ncols):
        # The lowest visible panel of each column carries the period axis.
        lowest = axes[max(i for i in range(column, n, ncols))]
        lowest.tick_params(labelbottom=True)
        lowest.set_xlabel("period")
    for ax in axes[::ncols]:
        ax.set_ylabel("z" if scale == "z" else "percentile")

    handles = [
        Line2D([], [], color=_BLUE, linewidth=1.8, label="posterior mean"),
        Patch(color=_BLUE, alpha=0.5, label="50 % interval"),
        Patch(color=_BLUE, alpha=0.18, label="90 % interval"),
    ]
    if true_values is not None:
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=4,
                              color="black", label="true (synthetic)"))
    fig.legend(handles=handles, loc="lower center", ncols=len(handles), frameon=False,
               fontsize=9)
    title = f"Credibility trajectories ({_SCALE_NAMES[scale]})"
    return _finish(fig, fit, title, owned=True, path=path, legend_rows=1)


def plot_forest(
    fit: FitResult,
    period: int | None = None,
    scale: str = "z",
    path: str | Path | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Every commitment active in ``period`` (default: the last), sorted by posterior mean.

    Rows show the 90 % interval (thin line), the 50 % interval (thick line) and the
    posterior mean (dot), most credible at the top, coloured by alliance.

    Examples
    --------
    >>> fig = plot_forest(fit, period=2025, path="forest.png")  # doctest: +SKIP
    """
    draws = fit.posterior["posterior"]["credibility"]
    periods = [int(p) for p in draws["period"].values]
    chosen = periods[-1] if period is None else int(period)
    if chosen not in periods:
        raise CredibilityError(
            f"period {chosen} is outside the fit's periods {periods[0]}..{periods[-1]}"
        )
    summary = _summaries(draws.sel(period=chosen), scale)
    summary = summary.isel(commitment=np.flatnonzero(~np.isnan(summary["mean"].values)))
    summary = summary.sortby("mean")
    labels = [str(c) for c in summary["commitment"].values]
    if not labels:
        raise CredibilityError(f"no commitment is active in period {chosen}")

    alliance_of, color_of = _alliance_colors(fit, reversed(labels))
    alliances = list(color_of)
    colors = [color_of[alliance_of[c]] for c in labels]

    fig, ax, owned = _figure_for(ax, 7.5, 1.9 + 0.24 * len(labels))
    _interval_rows(ax, summary, labels, colors)
    ax.axvline(0.0 if scale == "z" else 50.0, color="0.55", linewidth=0.8, linestyle=":")
    ax.set_xlabel(f"credibility ({_SCALE_NAMES[scale]})")
    if len(alliances) > 1:
        ax.legend(handles=[Line2D([], [], color=color_of[a], linewidth=4, label=a)
                           for a in alliances],
                  title="alliance", loc="lower right", fontsize=8, title_fontsize=8,
                  frameon=True, framealpha=0.9)
    title = f"Credibility of commitments in {chosen} (mean, 50 % and 90 % intervals)"
    return _finish(fig, fit, title, owned=owned, path=path, ax=ax)


def plot_loadings(
    fit: FitResult,
    path: str | Path | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Posterior of each signal's loading (how strongly the signal tracks credibility).

    One row per signal (in the spec's order, top to bottom) with its 90 % and 50 %
    intervals and mean. Loadings act on each family's own link scale (log, logit,
    ordinal logit), so compare them within a family rather than across families.

    For a fit of several dimensions each signal's row holds one interval per
    dimension it loads on (its ``dimension`` and its ``also``), coloured by dimension;
    the entries fixed at exactly zero (dimensions the signal does not load on) are
    marked by a grey cross at 0, not drawn as estimates.

    Parameters
    ----------
    fit : FitResult
        A fit of one or of several dimensions.
    path : str or Path, optional
        Also write the figure there (format from the suffix).
    ax : matplotlib.axes.Axes, optional
        Draw on these axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.

    Examples
    --------
    >>> fig = plot_loadings(fit, path="loadings.png")  # doctest: +SKIP
    """
    draws = fit.posterior["posterior"]["loading"]
    if "dimension" in draws.dims:
        return _plot_dimension_loadings(fit, draws, path, ax)
    summary = _summaries(draws, "z")
    summary = summary.isel(signal=slice(None, None, -1))
    signals = [str(s) for s in summary["signal"].values]
    family = {s.name: s.family for s in fit.spec.signals}
    labels = [f"{s} ({family[s]})" if s in family else s for s in signals]

    fig, ax, owned = _figure_for(ax, 7.0, 1.9 + 0.4 * len(labels))
    _interval_rows(ax, summary, labels)
    ax.axvline(0.0, color="0.55", linewidth=0.8, linestyle=":")
    ax.set_xlabel("loading (change in the signal's linear predictor per 1 sd of credibility)")
    title = "Signal loadings (mean, 50 % and 90 % intervals)"
    return _finish(fig, fit, title, owned=owned, path=path, ax=ax, mark_synthetic=False)
