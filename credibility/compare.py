"""The old import path of :mod:`credibility.analysis.compare`, kept for compatibility.

The module is now :mod:`credibility.analysis.compare` (docs/decisions.md, decision 58). This
module re-exports its public names, so that ``from credibility.compare import ...`` in scripts
written before the move still works; new code imports from :mod:`credibility.analysis.compare`.
Setting a name here (e.g. with ``monkeypatch``) does not change the module that uses it.
"""

from __future__ import annotations

from credibility.analysis.compare import (
    CHUNK_VALUES,
    COMPARE_COLUMNS,
    CompareWarning,
    compare,
    observed_log_density,
    signal_log_likelihood,
    signal_loo,
)

__all__ = [
    "CHUNK_VALUES",
    "COMPARE_COLUMNS",
    "CompareWarning",
    "compare",
    "observed_log_density",
    "signal_log_likelihood",
    "signal_loo",
]
