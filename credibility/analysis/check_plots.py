"""Figures that set the model against the data: predicted P(deterrence success) per case,
the calibration of the outcome model, and the posterior predictive check of the signals.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from credibility.analysis.checks import OutcomeChecks, outcome_checks, posterior_predictive
from credibility.analysis.plot_base import (
    _BLUE,
    _QUANTILES,
    _figure_for,
    _finish,
    _interval_rows,
    _new_figure,
    _style,
)
from credibility.results.fitting import FitResult


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
