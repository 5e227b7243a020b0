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

The figures are modules of their own (docs/decisions.md, decision 59):
:mod:`~credibility.analysis.measurement_plots` (trajectories, forest, loadings),
:mod:`~credibility.analysis.check_plots` (predictions, calibration, PPC),
:mod:`~credibility.analysis.dimension_plots` (several dimensions), on
:mod:`~credibility.analysis.plot_base`; their public names are importable from here.

Examples
--------
>>> from credibility.analysis.plots import plot_forest, plot_trajectories
>>> fig = plot_trajectories(fit, ["USA-EST", "USA-POL"], path="traj.png")  # doctest: +SKIP
>>> fig = plot_forest(fit, period=2025, scale="percentile")  # doctest: +SKIP
"""

from __future__ import annotations

from credibility.analysis.check_plots import plot_calibration, plot_ppc, plot_predictions
from credibility.analysis.dimension_plots import plot_dimension_map, plot_dimension_trajectories
from credibility.analysis.measurement_plots import plot_forest, plot_loadings, plot_trajectories
from credibility.analysis.plot_base import DEFAULT_PANELS, PlotError

__all__ = ["DEFAULT_PANELS", "PlotError", "plot_calibration", "plot_dimension_map",
           "plot_dimension_trajectories", "plot_forest", "plot_loadings", "plot_ppc",
           "plot_predictions", "plot_trajectories"]
