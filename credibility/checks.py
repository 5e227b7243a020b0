"""The old import path of :mod:`credibility.analysis.checks`, kept for compatibility.

The module is now :mod:`credibility.analysis.checks` (docs/decisions.md, decision 58). This
module re-exports its public names, so that ``from credibility.checks import ...`` in scripts
written before the move still works; new code imports from :mod:`credibility.analysis.checks`.
Setting a name here (e.g. with ``monkeypatch``) does not change the module that uses it.
"""

from __future__ import annotations

from credibility.analysis.checks import (
    PARETO_K_MAX,
    OutcomeChecks,
    brier_score,
    calibration_table,
    outcome_checks,
    outcome_log_likelihood,
    posterior_predictive,
    ppc_summary,
)

__all__ = [
    "PARETO_K_MAX",
    "OutcomeChecks",
    "brier_score",
    "calibration_table",
    "outcome_checks",
    "outcome_log_likelihood",
    "posterior_predictive",
    "ppc_summary",
]
