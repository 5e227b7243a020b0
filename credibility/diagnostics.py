"""The old import path of :mod:`credibility.inference.diagnostics`, kept for compatibility.

The module is now :mod:`credibility.inference.diagnostics` (docs/decisions.md, decision 58). This
module re-exports its public names, so that ``from credibility.diagnostics import ...`` in scripts
written before the move still works; new code imports from :mod:`credibility.inference.diagnostics`.
Setting a name here (e.g. with ``monkeypatch``) does not change the module that uses it.
"""

from __future__ import annotations

from credibility.inference.diagnostics import (
    DIAGNOSTIC_BLOCK,
    DIAGNOSTIC_THREADS,
    ESS_MIN,
    RHAT_MAX,
    ConvergenceWarning,
    Diagnostics,
    compute_diagnostics,
    ess,
    rhat,
)

__all__ = [
    "DIAGNOSTIC_BLOCK",
    "DIAGNOSTIC_THREADS",
    "ESS_MIN",
    "RHAT_MAX",
    "ConvergenceWarning",
    "Diagnostics",
    "compute_diagnostics",
    "ess",
    "rhat",
]
