"""The old import path of :mod:`credibility.analysis.approximate`, kept for compatibility.

The module is now :mod:`credibility.analysis.approximate` (docs/decisions.md, decision 58). This
module re-exports its public names, so that ``from credibility.approximate import ...`` in scripts
written before the move still works; new code imports from :mod:`credibility.analysis.approximate`.
Setting a name here (e.g. with ``monkeypatch``) does not change the module that uses it.
"""

from __future__ import annotations

from credibility.analysis.approximate import (
    SMOOTHED_PERIODS,
    ApproximateUpdateError,
    added_rows,
    approximate_update,
    build_approximate_model,
    observed_until,
    previous_state,
)

__all__ = [
    "SMOOTHED_PERIODS",
    "ApproximateUpdateError",
    "added_rows",
    "approximate_update",
    "build_approximate_model",
    "observed_until",
    "previous_state",
]
