"""Figures of a fit of several dimensions (docs/model.md, "Several dimensions"): each
dimension's trajectories, a map of two dimensions, and the loadings on each dimension.
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
from matplotlib.patches import Ellipse, Patch

from credibility.analysis.plot_base import (
    PlotError,
    _alliance_colors,
    _choose_commitments,
    _dimension_color,
    _figure_for,
    _finish,
    _new_figure,
    _style,
    _summaries,
)
from credibility.results.fitting import FitResult


def _plot_dimension_loadings(fit: FitResult, draws: xr.DataArray, path: str | Path | None,
                             ax: Axes | None) -> Figure:
    """:func:`plot_loadings` of a fit of several dimensions: per signal row, one
    interval per dimension it loads on and a cross at 0 for each fixed entry."""
    dimensions = [str(d) for d in draws["dimension"].values]
    summary = _summaries(draws, "z").isel(signal=slice(None, None, -1))
    signals = [str(s) for s in summary["signal"].values]
    family = {s.name: s.family for s in fit.spec.signals}
    labels = [f"{s} ({family[s]})" if s in family else s for s in signals]
    # The spec fixes the zero pattern; entries outside it are exactly 0 in every draw.
    free = np.array([[d in fit.spec.signal_dimensions(s) for d in dimensions]
                     for s in signals])

    n, k = len(signals), len(dimensions)
    step = 0.7 / k
    fig, ax, owned = _figure_for(ax, 7.5, 2.2 + 0.2 * n * k + 0.15 * n)
    for j, dimension in enumerate(dimensions):
        color = _dimension_color(j)
        cell = summary.sel(dimension=dimension)
        y = np.arange(n) + ((k - 1) / 2 - j) * step  # the first dimension on top in a row
        on = free[:, j]
        ax.hlines(y[on], cell["q05"].values[on], cell["q95"].values[on], colors=color,
                  linewidth=1.2)
        ax.hlines(y[on], cell["q25"].values[on], cell["q75"].values[on], colors=color,
                  linewidth=4.0)
        ax.scatter(cell["mean"].values[on], y[on], s=22, color="white", edgecolors=color,
                   linewidths=1.2, zorder=3)
        ax.scatter(np.zeros(int((~on).sum())), y[~on], marker="x", s=20, color="0.6",
                   linewidths=1.0, zorder=3)
    ax.set_yticks(np.arange(n), labels, fontsize=8.5)
    ax.set_ylim(-0.7, n - 0.3)
    _style(ax)
    ax.grid(False, axis="y")
    ax.axvline(0.0, color="0.55", linewidth=0.8, linestyle=":")
    ax.set_xlabel("loading (change in the signal's linear predictor per 1 sd of the dimension)")
    handles = [Line2D([], [], color=_dimension_color(j), linewidth=4, label=d)
               for j, d in enumerate(dimensions)]
    handles.append(Line2D([], [], linestyle="none", marker="x", markersize=5, color="0.6",
                          label="fixed at 0 (does not load)"))
    ax.legend(handles=handles, title="dimension", loc="best", fontsize=8, title_fontsize=8,
              frameon=True, framealpha=0.9)
    title = "Signal loadings on each dimension (mean, 50 % and 90 % intervals)"
    return _finish(fig, fit, title, owned=owned, path=path, ax=ax, mark_synthetic=False)


def _dimension_draws(fit: FitResult, figure: str) -> xr.DataArray:
    """``dimension_credibility`` of a fit of several dimensions, else a :class:`PlotError`."""
    posterior = fit.posterior["posterior"]
    if "dimension_credibility" not in posterior or posterior.sizes.get("dimension", 0) < 2:
        raise PlotError(
            f"{figure} needs a fit of several dimensions; this fit has one "
            f"({', '.join(fit.spec.dimensions)}). Fit a spec with [model] dimensions, e.g. "
            "--spec capability_willingness (docs/model.md, 'Several dimensions')"
        )
    return posterior["dimension_credibility"]


def plot_dimension_trajectories(
    fit: FitResult,
    commitments: Sequence[str] | None = None,
    *,
    path: str | Path | None = None,
) -> Figure:
    """Each dimension's credibility over time, one panel per dimension (shared axes).

    Every panel shows the same commitments in the same colours: the posterior mean
    (line) and the 90 % interval (band) over each commitment's active periods, on the
    z scale of the dimension (each dimension standardised over the active cells in
    every draw, docs/model.md, "Several dimensions"). ``commitments`` defaults to the
    commitments :func:`plot_trajectories` picks: up to six spread over the ranking of
    the composite credibility in each commitment's last active period. The function
    lays out its own row of panels, so, like :func:`plot_trajectories`, it takes no
    ``ax``.

    Parameters
    ----------
    fit : FitResult
        A fit of several dimensions.
    commitments : sequence of str, optional
        Commitment ids to show (default: up to six, as above).
    path : str or Path, optional
        Also write the figure there (format from the suffix).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per dimension, titled by the dimension's name, in the spec's order.

    Raises
    ------
    PlotError
        If the fit has one dimension, or a named commitment is not in the fit.

    Examples
    --------
    >>> fig = plot_dimension_trajectories(fit, ["C001", "C002"])  # doctest: +SKIP
    >>> [ax.get_title() for ax in fig.axes]  # doctest: +SKIP
    ['capability', 'willingness']
    """
    draws = _dimension_draws(fit, "plot_dimension_trajectories")
    dimensions = [str(d) for d in draws["dimension"].values]
    composite = _summaries(fit.posterior["posterior"]["credibility"], "z")
    chosen = _choose_commitments(composite, commitments)
    summary = _summaries(draws.sel(commitment=chosen), "z")
    color_of = {c: f"C{i % 10}" for i, c in enumerate(chosen)}

    fig = _new_figure(4.0 * len(dimensions) + 0.8, 4.4)
    axes = fig.subplots(1, len(dimensions), sharex=True, sharey=True, squeeze=False)[0]
    periods = summary["period"].values
    for ax, dimension in zip(axes, dimensions, strict=True):
        for commitment in chosen:
            cell = summary.sel(dimension=dimension, commitment=commitment)
            active = ~np.isnan(cell["mean"].values)
            x = periods[active]
            ax.fill_between(x, cell["q05"].values[active], cell["q95"].values[active],
                            color=color_of[commitment], alpha=0.15, linewidth=0)
            ax.plot(x, cell["mean"].values[active], color=color_of[commitment], linewidth=1.8)
        ax.axhline(0.0, color="0.55", linewidth=0.8, linestyle=":")
        ax.set_title(dimension, fontsize=10)
        ax.set_xlabel("period")
        _style(ax)
    axes[0].set_ylabel("z (each dimension standardised)")

    handles = [Line2D([], [], color=color_of[c], linewidth=1.8, label=c) for c in chosen]
    handles.append(Patch(color="0.5", alpha=0.3, label="90 % interval"))
    ncols = min(len(handles), 7)
    fig.legend(handles=handles, loc="lower center", ncols=ncols, frameon=False, fontsize=9)
    title = "Credibility by dimension (posterior mean and 90 % interval, z scale)"
    return _finish(fig, fit, title, owned=True, path=path,
                   legend_rows=math.ceil(len(handles) / ncols))


def _default_map_period(fit: FitResult, periods: list[int]) -> int:
    """The fit's last period with signal data (the period `credibility demo` ranks
    commitments in); the periods after it, if any, are forecasts without data."""
    last_data = int(fit.data.signals["period"].max())
    return max((p for p in periods if p <= last_data), default=periods[-1])


def _ellipse(centre: np.ndarray, covariance: np.ndarray, level: float,
             **style: object) -> Ellipse:
    """The ``level`` region of a bivariate normal with this centre and covariance."""
    values, vectors = np.linalg.eigh(covariance)
    values = np.clip(values, 0.0, None)
    radius = math.sqrt(-2.0 * math.log(1.0 - level))  # sqrt of the chi-square(2) quantile
    angle = math.degrees(math.atan2(vectors[1, 1], vectors[0, 1]))  # the larger axis
    return Ellipse(tuple(centre), 2 * radius * math.sqrt(values[1]),
                   2 * radius * math.sqrt(values[0]), angle=angle, **style)


def plot_dimension_map(
    fit: FitResult,
    period: int | None = None,
    *,
    x: str = "capability",
    y: str = "willingness",
    commitments: Sequence[str] | None = None,
    ax: Axes | None = None,
    path: str | Path | None = None,
) -> Figure:
    """The commitments on a map of two dimensions (default: capability against
    willingness) in one period.

    Each commitment is a point at its posterior means, labelled by its id and
    coloured by alliance, inside its 50 % (filled) and 90 % (outlined) posterior
    regions: ellipses of the normal with the mean and covariance of its draws of the
    two dimensions (the draws are correlated within a commitment, so the region is
    tilted rather than a box of two intervals). Dotted lines at 0 split the map into
    quadrants (above or below the average commitment-period on each dimension).

    Parameters
    ----------
    fit : FitResult
        A fit of several dimensions.
    period : int, optional
        The period to map (default: the last period with signal data, as
        ``credibility demo`` ranks commitments).
    x, y : str
        The dimensions on the horizontal and vertical axes.
    commitments : sequence of str, optional
        Commitment ids to show (default: every commitment active in ``period``).
    ax : matplotlib.axes.Axes, optional
        Draw on these axes instead of a new figure.
    path : str or Path, optional
        Also write the figure there (format from the suffix).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on, its axes labelled by the two dimensions' names.

    Raises
    ------
    PlotError
        If the fit has one dimension, ``x`` or ``y`` is not one of its dimensions (or
        both are the same), ``period`` is outside the fit's periods, or a named
        commitment is unknown or not active in ``period``.

    Examples
    --------
    >>> fig = plot_dimension_map(fit, 2025, path="dimension_map.png")  # doctest: +SKIP
    >>> fig.axes[0].get_xlabel()  # doctest: +SKIP
    'capability (z, each dimension standardised)'
    """
    draws = _dimension_draws(fit, "plot_dimension_map")
    chosen_period, ids, xs, ys, chosen = _map_cells(fit, draws, period, x, y, commitments)

    alliance_of, color_of = _alliance_colors(fit, chosen)

    fig, ax, owned = _figure_for(ax, 7.2, 6.6)
    for commitment in chosen:
        row = ids.index(commitment)
        _draw_regions(ax, commitment, np.vstack([xs[row], ys[row]]),
                      color_of[alliance_of[commitment]])
    ax.axhline(0.0, color="0.55", linewidth=0.8, linestyle=":")
    ax.axvline(0.0, color="0.55", linewidth=0.8, linestyle=":")
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ax.set_xlabel(f"{x} (z, each dimension standardised)")
    ax.set_ylabel(f"{y} (z, each dimension standardised)")
    _style(ax)
    handles = [Patch(facecolor="0.4", alpha=0.22, edgecolor="none", label="50 % region"),
               Patch(facecolor="none", edgecolor="0.4", linewidth=0.9, label="90 % region")]
    if len(color_of) > 1:
        handles += [Line2D([], [], linestyle="none", marker="o", color=color, label=a)
                    for a, color in color_of.items()]
    ax.legend(handles=handles, loc="best", fontsize=8, frameon=True, framealpha=0.9)
    title = f"{y} against {x} in {chosen_period} (posterior means, 50 % and 90 % regions)"
    return _finish(fig, fit, title, owned=owned, path=path, ax=ax)


def _map_cells(
    fit: FitResult, draws: xr.DataArray, period: int | None, x: str, y: str,
    commitments: Sequence[str] | None,
) -> tuple[int, list[str], np.ndarray, np.ndarray, list[str]]:
    """What :func:`plot_dimension_map` maps, checked: the period, every commitment's id
    and its draws of ``x`` and ``y`` in it (``(commitment, sample)``), and the
    commitments to show."""
    dimensions = [str(d) for d in draws["dimension"].values]
    unknown = [name for name in (x, y) if name not in dimensions]
    if unknown:
        raise PlotError(f"unknown dimension(s) {', '.join(map(repr, unknown))}; the fit has "
                        f"{', '.join(dimensions)}")
    if x == y:
        raise PlotError(f"x and y are both {x!r}; name two different dimensions of "
                        f"{', '.join(dimensions)}")
    periods = [int(p) for p in draws["period"].values]
    chosen_period = _default_map_period(fit, periods) if period is None else int(period)
    if chosen_period not in periods:
        raise PlotError(
            f"period {chosen_period} is outside the fit's periods {periods[0]}..{periods[-1]}"
        )
    cell = draws.sel(period=chosen_period).stack(sample=("chain", "draw"))
    xs = cell.sel(dimension=x).transpose("commitment", "sample").values
    ys = cell.sel(dimension=y).transpose("commitment", "sample").values
    ids = [str(c) for c in cell["commitment"].values]
    active = [c for c, row in zip(ids, xs, strict=True) if not np.isnan(row).all()]
    if commitments is None:
        chosen = active
    else:
        chosen = list(dict.fromkeys(commitments))
        unknown = [c for c in chosen if c not in ids]
        if unknown:
            raise PlotError(f"unknown commitment(s) {', '.join(map(repr, unknown))}")
        inactive = [c for c in chosen if c not in active]
        if inactive:
            raise PlotError(f"commitment(s) {', '.join(map(repr, inactive))} not active in "
                            f"period {chosen_period}")
    if not chosen:
        raise PlotError(f"no commitment is active in period {chosen_period}")

    return chosen_period, ids, xs, ys, chosen


def _draw_regions(ax: Axes, commitment: str, points: np.ndarray, color: str) -> None:
    """One commitment on the map: its 50 % region filled and its 90 % region outlined
    (legible where they overlap), its posterior means as a labelled point."""
    centre = points.mean(axis=1)
    covariance = np.cov(points)
    ax.add_patch(_ellipse(centre, covariance, 0.5, facecolor=color, alpha=0.22,
                          edgecolor="none"))
    ax.add_patch(_ellipse(centre, covariance, 0.9, facecolor="none", edgecolor=color,
                          alpha=0.7, linewidth=0.9))
    ax.scatter([centre[0]], [centre[1]], s=24, color=color, edgecolors="white",
               linewidths=0.8, zorder=3)
    ax.annotate(commitment, tuple(centre), xytext=(4, 3), textcoords="offset points",
                fontsize=7.5, zorder=4)
