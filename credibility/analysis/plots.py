"""Figures of a fitted model: credibility trajectories, a forest of commitments, loadings,
predicted P(deterrence success), a calibration curve and posterior predictive checks;
for a model of several dimensions also each dimension's trajectories and a map of two
dimensions (docs/model.md, "Several dimensions").

Every function takes a :class:`~credibility.results.fitting.FitResult`, returns a
:class:`matplotlib.figure.Figure` and, given ``path``, also writes it (the format
follows the file suffix, e.g. ``.png`` or ``.pdf``). Figures are built without
``pyplot``, on matplotlib's non-interactive Agg canvas, so plotting works on servers
and in tests and leaves no global figure state behind.

Intervals are equal-tailed posterior intervals: a thin line or light band for the
90 % interval, a thick line or darker band for the 50 % interval. When the fit's
convergence diagnostics fail, each figure carries a red note saying so: a posterior
the sampler could not explore is never shown as if it were sound.

Examples
--------
>>> from credibility.analysis.plots import plot_forest, plot_trajectories
>>> fig = plot_trajectories(fit, ["USA-EST", "USA-POL"], path="traj.png")  # doctest: +SKIP
>>> fig = plot_forest(fit, period=2025, scale="percentile")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse, Patch
from matplotlib.ticker import NullFormatter
from scipy.special import ndtr

from credibility.analysis.checks import OutcomeChecks, outcome_checks, posterior_predictive
from credibility.errors import CredibilityError, FitError
from credibility.results.fitting import FitResult

__all__ = ["PlotError", "plot_calibration", "plot_dimension_map", "plot_dimension_trajectories",
           "plot_forest", "plot_loadings", "plot_ppc", "plot_predictions", "plot_trajectories"]

#: Most panels :func:`plot_trajectories` picks when no commitments are named.
DEFAULT_PANELS = 6

_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_BLUE = "#1f5a99"
_WARNING_RED = "#c00000"
#: Colours of the dimensions (loadings of a fit of several dimensions).
_DIMENSION_COLORS = (_BLUE, "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e")
_SCALE_NAMES = {
    "z": "z scale: 0 = population mean, 1 = one sd",
    "percentile": "percentile scale: 100·Φ(z)",
}


class PlotError(CredibilityError):
    """A figure cannot be drawn as asked (wrong kind of fit, unknown name, period outside
    the fit)."""


def _check_scale(scale: str) -> None:
    if scale not in _SCALE_NAMES:
        raise FitError(f"unknown scale {scale!r}; expected 'z' or 'percentile'")


def _on_scale(values: xr.DataArray, scale: str) -> xr.DataArray:
    """``values`` on the reporting scale (the percentile map is applied per draw)."""
    _check_scale(scale)
    return values if scale == "z" else 100.0 * xr.apply_ufunc(ndtr, values)


def _summaries(draws: xr.DataArray, scale: str) -> xr.Dataset:
    """Posterior mean and the 5/25/50/75/95 % quantiles over chains and draws."""
    on_scale = _on_scale(draws, scale)
    # Inactive cells are NaN in every draw; skipna=False keeps them NaN without warnings.
    quantiles = on_scale.quantile(list(_QUANTILES), dim=("chain", "draw"), skipna=False)
    out = {f"q{round(100 * q):02d}": quantiles.sel(quantile=q, drop=True) for q in _QUANTILES}
    return xr.Dataset({"mean": on_scale.mean(("chain", "draw"), skipna=False), **out})


def _is_synthetic(fit: FitResult) -> bool:
    return str(fit.posterior.attrs.get("synthetic_data", "")).lower() == "true"


def _problem_note(fit: FitResult, width: int, outcome: bool = False) -> str | None:
    """The red note for a fit whose diagnostics fail (``None`` when they pass).

    ``outcome=True`` (figures of the outcome model) also checks the stage-2 sampler.
    """
    problems = list(fit.diagnostics.problems())
    if outcome and fit.outcome_diagnostics is not None:
        problems += [f"outcome model: {p}" for p in fit.outcome_diagnostics.problems()]
    if not problems:
        return None
    text = "diagnostics failed: " + "; ".join(problems) + " - posterior NOT reliable"
    return "\n".join(textwrap.wrap(text, width=width))


def _new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=100)


def _figure_for(ax: Axes | None, width: float, height: float) -> tuple[Figure, Axes, bool]:
    """The caller's axes and their figure, or a new figure of this size (``owned``)."""
    if ax is not None:
        return ax.figure, ax, False
    fig = _new_figure(width, height)
    return fig, fig.add_subplot(), True


def _style(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)


def _finish(fig: Figure, fit: FitResult, title: str, owned: bool, path: str | Path | None,
            legend_rows: int = 0, outcome: bool = False, ax: Axes | None = None,
            mark_synthetic: bool = True) -> Figure:
    """Title (with the SYNTHETIC and APPROXIMATE labels), the diagnostics note, layout
    (for figures we created) and saving. On a caller's axes the title goes on ``ax``.
    """
    if mark_synthetic and _is_synthetic(fit):
        title += " - SYNTHETIC data"
    if fit.is_approximate:
        title += f" - APPROXIMATE {fit.approximation}"
    if not owned and ax is not None:
        ax.set_title(title, fontsize=10)
    width_in = fig.get_figwidth()
    note = _problem_note(fit, width=max(40, int(width_in * 11)), outcome=outcome)
    height_in = fig.get_figheight()
    if owned:
        fig.suptitle(title, y=1 - 0.08 / height_in, va="top", fontsize=12, fontweight="bold")
        top_in = 0.3
        if note is not None:
            fig.text(0.5, 1 - 0.36 / height_in, note, color=_WARNING_RED, ha="center",
                     va="top", fontsize=9.5, fontweight="bold")
            top_in = 0.32 + 0.16 * (note.count("\n") + 1)
        bottom_in = 0.35 * legend_rows
        fig.tight_layout(rect=(0, bottom_in / height_in, 1, 1 - top_in / height_in))
    elif note is not None:
        fig.text(0.5, 0.995, note, color=_WARNING_RED, ha="center", va="top", fontsize=9.5,
                 fontweight="bold")
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=150, bbox_inches="tight", facecolor="white")
    return fig


def _last_active_means(summary: xr.Dataset) -> dict[str, float]:
    """Posterior mean of each commitment in its own last active period."""
    means = summary["mean"].transpose("commitment", "period").values
    out = {}
    for commitment, row in zip(summary["commitment"].values, means, strict=True):
        active = np.flatnonzero(~np.isnan(row))
        if active.size:
            out[str(commitment)] = float(row[active[-1]])
    return out


def _spread_choice(means: dict[str, float], k: int) -> list[str]:
    """``k`` commitments spread evenly over the ranking of ``means`` (both extremes kept)."""
    ranked = sorted(means, key=means.__getitem__, reverse=True)
    if len(ranked) <= k:
        return ranked
    picks = np.unique(np.round(np.linspace(0, len(ranked) - 1, k)).astype(int))
    return [ranked[i] for i in picks]


def _choose_commitments(summary: xr.Dataset, commitments: Sequence[str] | None) -> list[str]:
    """The named commitments (checked), or up to :data:`DEFAULT_PANELS` spread over the
    ranking of the commitments' means in their last active period."""
    if commitments is None:
        return _spread_choice(_last_active_means(summary), DEFAULT_PANELS)
    available = [str(c) for c in summary["commitment"].values]
    chosen = list(dict.fromkeys(commitments))
    unknown = [c for c in chosen if c not in available]
    if unknown:
        raise PlotError(
            f"unknown commitment(s) {', '.join(map(repr, unknown))}; the fit has "
            f"{', '.join(available[:12])}{' ...' if len(available) > 12 else ''}"
        )
    if not chosen:
        raise PlotError("no commitments to plot; name at least one")
    return chosen


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


def _interval_rows(ax: Axes, summary: xr.Dataset, labels: Sequence[str],
                   colors: Sequence[str] | str = _BLUE) -> None:
    """One row per label, bottom to top: 90 % line, 50 % thick line, mean dot."""
    y = np.arange(len(labels))
    ax.hlines(y, summary["q05"].values, summary["q95"].values, colors=colors, linewidth=1.2)
    ax.hlines(y, summary["q25"].values, summary["q75"].values, colors=colors, linewidth=4.0)
    ax.scatter(summary["mean"].values, y, s=22, color="white", edgecolors=colors,
               linewidths=1.2, zorder=3)
    ax.set_yticks(y, labels, fontsize=8.5)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    _style(ax)
    ax.grid(False, axis="y")


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

    alliance_of = dict(zip(fit.data.commitments["commitment_id"],
                           fit.data.commitments["alliance"], strict=True))
    alliances = list(dict.fromkeys(alliance_of[c] for c in reversed(labels)))
    palette = [f"C{i % 10}" for i in range(len(alliances))]
    color_of = dict(zip(alliances, palette, strict=True))
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


def _dimension_color(index: int) -> str:
    return _DIMENSION_COLORS[index % len(_DIMENSION_COLORS)]


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


def plot_predictions(
    fit: FitResult,
    cases: pd.DataFrame | str | Path | None = None,
    path: str | Path | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Predicted P(deterrence success) per case: 90 % and 50 % intervals and mean.

    ``cases`` defaults to the fitted data's cases without an outcome (the cases to
    predict), or every case when all have one.

    Examples
    --------
    >>> fig = plot_predictions(fit, path="predictions.png")  # doctest: +SKIP
    """
    if cases is None and fit.data.cases is not None:
        open_cases = fit.data.cases[fit.data.cases["outcome"].isna()]
        cases = open_cases if len(open_cases) else fit.data.cases
    frame = fit.validated_cases(cases)
    draws = fit.probability_draws(frame)
    q = np.quantile(draws, list(_QUANTILES), axis=0)
    order = np.argsort(draws.mean(axis=0))
    labels = [f"{frame['case_id'].iloc[i]} ({frame['commitment_id'].iloc[i]}, "
              f"{int(frame['period'].iloc[i])})" for i in order]
    summary = xr.Dataset({
        "mean": ("case", draws.mean(axis=0)[order]),
        **{f"q{round(100 * p):02d}": ("case", q[k][order]) for k, p in enumerate(_QUANTILES)},
    })
    fig, ax, owned = _figure_for(ax, 8.0, 1.9 + 0.32 * len(labels))
    _interval_rows(ax, summary, labels)
    ax.set_xlim(0, 1)
    ax.axvline(0.5, color="0.55", linewidth=0.8, linestyle=":")
    ax.set_xlabel("P(deterrence holds)")
    title = f"Predicted deterrence success ({fit.outcome_mode}; mean, 50 % and 90 % intervals)"
    return _finish(fig, fit, title, owned=owned, path=path, outcome=True, ax=ax)


def plot_calibration(
    fit: FitResult,
    checks: OutcomeChecks | None = None,
    bins: int = 5,
    path: str | Path | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Reliability curve of the outcome model's leave-one-out probabilities.

    Fitted cases are grouped into ``bins`` equal-count bins of their PSIS-LOO
    probability of success; each bin's observed share of successes (with a 90 %
    Jeffreys interval) is plotted against its mean predicted probability. A
    well-calibrated model follows the diagonal. The legend gives the LOO Brier
    score next to the base-rate predictor's.

    Examples
    --------
    >>> fig = plot_calibration(fit, path="calibration.png")  # doctest: +SKIP
    """
    checks = checks or outcome_checks(fit)
    table = checks.calibration(bins)
    fig, ax, owned = _figure_for(ax, 5.6, 5.4)
    ax.plot([0, 1], [0, 1], color="0.55", linewidth=0.9, linestyle=":",
            label="perfect calibration")
    ax.errorbar(table["p_mean"], table["observed"],
                yerr=[table["observed"] - table["observed_q05"],
                      table["observed_q95"] - table["observed"]],
                fmt="o", color=_BLUE, capsize=3,
                label=f"observed share, 90 % interval ({bins} bins)")
    ax.plot(checks.p_loo, np.where(checks.outcome == 1, 1.02, -0.02), linestyle="none",
            marker="|", color="0.35", markersize=7, label="cases (top: held, bottom: failed)")
    ax.set_xlim(-0.04, 1.04)
    ax.set_ylim(-0.06, 1.06)
    ax.set_xlabel("predicted P(deterrence holds), leave-one-out")
    ax.set_ylabel("observed share of successes")
    ax.legend(loc="upper left", fontsize=8, frameon=False,
              title=f"Brier (LOO) {checks.brier_loo:.3f} vs base rate "
                    f"{checks.brier_base_rate:.3f}", title_fontsize=8)
    _style(ax)
    title = f"Calibration of the outcome model ({checks.mode}, {len(checks.case_ids)} cases)"
    return _finish(fig, fit, title, owned=owned, path=path, outcome=True, ax=ax)


def plot_ppc(
    fit: FitResult,
    ppc: xr.Dataset | None = None,
    draws: int = 100,
    seed: int = 0,
    path: str | Path | None = None,
) -> Figure:
    """Posterior predictive check: observed vs replicated distribution of each signal.

    One panel per signal: the empirical CDF of the observed values (black) over
    those of ``draws`` replicated data sets (blue, thin); amounts and ratios on a
    log axis. Observed curves outside the replicated bundle point to misfit.

    Examples
    --------
    >>> fig = plot_ppc(fit, path="ppc.png")  # doctest: +SKIP
    """
    ppc = ppc if ppc is not None else posterior_predictive(fit, draws, seed)
    signals = [s for s in fit.spec.signals
               if ((ppc["signal"] == s.name).values
                   & ~np.isnan(ppc["replicated"].values[0])).any()]
    ncols = min(3, len(signals))
    nrows = math.ceil(len(signals) / ncols)
    fig = _new_figure(4.0 * ncols + 0.4, 3.0 * nrows + 1.0)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, signal in zip(axes, signals, strict=False):
        mask = (ppc["signal"] == signal.name).values
        observed = np.sort(ppc["observed"].values[mask])
        replicated = ppc["replicated"].values[:, mask]
        heights = np.arange(1, observed.size + 1) / observed.size
        for rep in replicated[: min(len(replicated), 100)]:
            ax.step(np.sort(rep), heights, where="post", color=_BLUE, alpha=0.08, linewidth=0.8)
        ax.step(observed, heights, where="post", color="black", linewidth=1.6)
        if signal.family in ("amount", "ratio"):
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
        elif signal.family == "count":
            # A few replicated draws reach far into the tail; show the bulk.
            ax.set_xlim(-0.5, max(observed.max(), np.quantile(replicated, 0.995)) * 1.05)
        ax.set_title(f"{signal.name} ({signal.family})", fontsize=10)
        ax.set_ylim(0, 1.02)
        _style(ax)
    for ax in axes[len(signals):]:
        fig.delaxes(ax)
    for ax in axes[::ncols]:
        ax.set_ylabel("cumulative share")
    fig.legend(handles=[Line2D([], [], color="black", linewidth=1.6, label="observed"),
                        Line2D([], [], color=_BLUE, alpha=0.5, label="replicated (posterior)")],
               loc="lower center", ncols=2, frameon=False, fontsize=9)
    title = "Posterior predictive check of every signal (empirical CDFs)"
    return _finish(fig, fit, title, owned=True, path=path, legend_rows=1)


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

    alliance_of = dict(zip(fit.data.commitments["commitment_id"],
                           fit.data.commitments["alliance"], strict=True))
    alliances = list(dict.fromkeys(alliance_of[c] for c in chosen))
    color_of = {a: f"C{i % 10}" for i, a in enumerate(alliances)}

    fig, ax, owned = _figure_for(ax, 7.2, 6.6)
    for commitment in chosen:
        row = ids.index(commitment)
        points = np.vstack([xs[row], ys[row]])
        centre = points.mean(axis=1)
        covariance = np.cov(points)
        color = color_of[alliance_of[commitment]]
        # The 50 % region filled, the 90 % region outlined: legible where they overlap.
        ax.add_patch(_ellipse(centre, covariance, 0.5, facecolor=color, alpha=0.22,
                              edgecolor="none"))
        ax.add_patch(_ellipse(centre, covariance, 0.9, facecolor="none", edgecolor=color,
                              alpha=0.7, linewidth=0.9))
        ax.scatter([centre[0]], [centre[1]], s=24, color=color, edgecolors="white",
                   linewidths=0.8, zorder=3)
        ax.annotate(commitment, tuple(centre), xytext=(4, 3), textcoords="offset points",
                    fontsize=7.5, zorder=4)
    ax.axhline(0.0, color="0.55", linewidth=0.8, linestyle=":")
    ax.axvline(0.0, color="0.55", linewidth=0.8, linestyle=":")
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ax.set_xlabel(f"{x} (z, each dimension standardised)")
    ax.set_ylabel(f"{y} (z, each dimension standardised)")
    _style(ax)
    handles = [Patch(facecolor="0.4", alpha=0.22, edgecolor="none", label="50 % region"),
               Patch(facecolor="none", edgecolor="0.4", linewidth=0.9, label="90 % region")]
    if len(alliances) > 1:
        handles += [Line2D([], [], linestyle="none", marker="o", color=color_of[a], label=a)
                    for a in alliances]
    ax.legend(handles=handles, loc="best", fontsize=8, frameon=True, framealpha=0.9)
    title = f"{y} against {x} in {chosen_period} (posterior means, 50 % and 90 % regions)"
    return _finish(fig, fit, title, owned=owned, path=path, ax=ax)
