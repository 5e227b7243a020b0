"""The old import path of :mod:`credibility.analysis.plots`, kept for compatibility.

The module is now :mod:`credibility.analysis.plots` (docs/decisions.md, decision 58). This
module re-exports its public names, so that ``from credibility.plots import ...`` in scripts
written before the move still works; new code imports from :mod:`credibility.analysis.plots`.
Setting a name here (e.g. with ``monkeypatch``) does not change the module that uses it.
"""

from __future__ import annotations

from credibility.analysis.plots import (
    DEFAULT_PANELS,
    PlotError,
    plot_calibration,
    plot_dimension_map,
    plot_dimension_trajectories,
    plot_forest,
    plot_loadings,
    plot_ppc,
    plot_predictions,
    plot_trajectories,
)

__all__ = [
    "DEFAULT_PANELS",
    "PlotError",
    "plot_calibration",
    "plot_dimension_map",
    "plot_dimension_trajectories",
    "plot_forest",
    "plot_loadings",
    "plot_ppc",
    "plot_predictions",
    "plot_trajectories",
]
