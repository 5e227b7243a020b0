"""The old import path of :mod:`credibility.analysis.scenarios`, kept for compatibility.

The module is now :mod:`credibility.analysis.scenarios` (docs/decisions.md, decision 58). This
module re-exports its public names, so that ``from credibility.scenarios import ...`` in scripts
written before the move still works; new code imports from :mod:`credibility.analysis.scenarios`.
Setting a name here (e.g. with ``monkeypatch``) does not change the module that uses it.
"""

from __future__ import annotations

from credibility.analysis.scenarios import (
    SCENARIO_METHODS,
    ScenarioResult,
    ScenarioWarning,
    affected_rows,
    run_scenario,
)

__all__ = [
    "SCENARIO_METHODS",
    "ScenarioResult",
    "ScenarioWarning",
    "affected_rows",
    "run_scenario",
]
