"""What every figure of a fit shares: the reporting scales, posterior summaries, the
style, the choice of commitments to show, interval rows, and the title, diagnostics
note and saving (:func:`_finish`).

Figures are built without ``pyplot``, on matplotlib's non-interactive Agg canvas, so
plotting works on servers and in tests and leaves no global figure state behind. When
the fit's convergence diagnostics fail, each figure carries a red note saying so.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy.special import ndtr

from credibility.errors import CredibilityError, FitError
from credibility.results.fitting import FitResult

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


def _dimension_color(index: int) -> str:
    return _DIMENSION_COLORS[index % len(_DIMENSION_COLORS)]


def _alliance_colors(fit: FitResult, commitments: Iterable[str]
                     ) -> tuple[dict[str, str], dict[str, str]]:
    """Each commitment's alliance, and a colour per alliance (``C0``, ``C1``, ...) in the
    order the alliances first appear among ``commitments``."""
    alliance_of = dict(zip(fit.data.commitments["commitment_id"],
                           fit.data.commitments["alliance"], strict=True))
    alliances = dict.fromkeys(alliance_of[c] for c in commitments)
    return alliance_of, {a: f"C{i % 10}" for i, a in enumerate(alliances)}
