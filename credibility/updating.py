"""The old import path of :mod:`credibility.analysis.updating`, kept for compatibility.

The module is now :mod:`credibility.analysis.updating` (docs/decisions.md, decision 58). This
module re-exports its public names, so that ``from credibility.updating import ...`` in scripts
written before the move still works; new code imports from :mod:`credibility.analysis.updating`.
Setting a name here (e.g. with ``monkeypatch``) does not change the module that uses it.
"""

from __future__ import annotations

from credibility.analysis.updating import (
    CASE_LEDGER_COLUMNS,
    DIFF_COLUMNS,
    FIT_SETTINGS,
    LEDGER_COLUMNS,
    UPDATE_METHODS,
    CaseMerge,
    MergeResult,
    Table,
    UpdateError,
    UpdateResult,
    credibility_diff,
    merge_cases,
    merge_signals,
    refit_outcome,
    refit_settings,
    update_fit,
    warm_start_values,
)

__all__ = [
    "CASE_LEDGER_COLUMNS",
    "DIFF_COLUMNS",
    "FIT_SETTINGS",
    "LEDGER_COLUMNS",
    "UPDATE_METHODS",
    "CaseMerge",
    "MergeResult",
    "Table",
    "UpdateError",
    "UpdateResult",
    "credibility_diff",
    "merge_cases",
    "merge_signals",
    "refit_outcome",
    "refit_settings",
    "update_fit",
    "warm_start_values",
]
