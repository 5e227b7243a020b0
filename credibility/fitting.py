"""The old import path of :mod:`credibility.results.fitting`, kept for compatibility.

The module is now :mod:`credibility.results.fitting` (docs/decisions.md, decision 58). This
module re-exports its public names, so that ``from credibility.fitting import ...`` in scripts
written before the move still works; new code imports from :mod:`credibility.results.fitting`.
Setting a name here (e.g. with ``monkeypatch``) does not change the module that uses it.
"""

from __future__ import annotations

from credibility.results.fitting import (
    CREDIBILITY_COLUMNS,
    DIMENSION_COLUMNS,
    CredibilityModel,
    FitResult,
    OutcomeMode,
    label_posterior,
    measurement_check,
    summarise_draws,
)

__all__ = [
    "CREDIBILITY_COLUMNS",
    "DIMENSION_COLUMNS",
    "CredibilityModel",
    "FitResult",
    "OutcomeMode",
    "label_posterior",
    "measurement_check",
    "summarise_draws",
]
