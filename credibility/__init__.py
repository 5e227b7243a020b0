"""credibility: probabilistic estimation of the credibility of alliance commitments.

The public names (``__all__``) are loaded on first use: ``import credibility`` itself
imports no PyMC, PyTensor, ArviZ, matplotlib, SciPy or pandas, so that the command
line (``credibility --help``) and scripts that need one function start in a fraction
of a second instead of seconds (docs/decisions.md, decision 42). ``credibility.X``
and ``from credibility import X`` look ``X`` up in :data:`_LAZY` (name -> module),
import that module and return its ``X`` (PEP 562 module ``__getattr__``); the
``TYPE_CHECKING`` block below names the same objects for type checkers and IDEs.

One name is also a submodule's: ``credibility.simulate`` is the function
:func:`credibility.simulate.simulate` when it, or another name from that module, is
looked up on the package first. Where the submodule is imported before that
(``import credibility.simulate``, or a module that imports from it, such as
:mod:`credibility.validation`), the import system binds the submodule to the name and
``credibility.simulate`` stays the submodule: there, import the function from its module.

Examples
--------
>>> import credibility as cr
>>> data = cr.load_dataset("demo")
>>> len(data.commitment_ids) > 30
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from credibility.errors import (
    CompareError,
    CredibilityDataError,
    CredibilityError,
    FitError,
    PredictionError,
    SpecError,
)

if TYPE_CHECKING:
    from credibility.analysis.case_merge import CaseMerge, merge_cases
    from credibility.analysis.checks import OutcomeChecks, outcome_checks, ppc_summary
    from credibility.analysis.scenarios import ScenarioResult, ScenarioWarning, run_scenario
    from credibility.analysis.signal_merge import MergeResult, merge_signals
    from credibility.analysis.updating import (
        UpdateError,
        UpdateResult,
        credibility_diff,
        update_fit,
    )
    from credibility.data.container import CredibilityData
    from credibility.data.datasets import dataset_info, list_datasets, load_dataset
    from credibility.data.spec import ModelSpec, SignalSpec, load_spec, parse_spec
    from credibility.inference.diagnostics import ConvergenceWarning, Diagnostics
    from credibility.measurement import build_measurement_model
    from credibility.results.fit_result import FitResult
    from credibility.results.fitting import CredibilityModel
    from credibility.results.store import PosteriorStore, StoreError
    from credibility.simulate import Simulation, simulate, simulate_cases, synthetic_commitments

__version__ = "0.2.0"

#: The module that defines each public name loaded on first use.
_LAZY: dict[str, str] = {
    "OutcomeChecks": "credibility.analysis.checks",
    "outcome_checks": "credibility.analysis.checks",
    "ppc_summary": "credibility.analysis.checks",
    "dataset_info": "credibility.data.datasets",
    "list_datasets": "credibility.data.datasets",
    "load_dataset": "credibility.data.datasets",
    "ConvergenceWarning": "credibility.inference.diagnostics",
    "Diagnostics": "credibility.inference.diagnostics",
    "CredibilityModel": "credibility.results.fitting",
    "FitResult": "credibility.results.fit_result",
    "build_measurement_model": "credibility.measurement",
    "ScenarioResult": "credibility.analysis.scenarios",
    "ScenarioWarning": "credibility.analysis.scenarios",
    "run_scenario": "credibility.analysis.scenarios",
    "CredibilityData": "credibility.data.container",
    "Simulation": "credibility.simulate",
    "simulate": "credibility.simulate",
    "simulate_cases": "credibility.simulate",
    "synthetic_commitments": "credibility.simulate",
    "ModelSpec": "credibility.data.spec",
    "SignalSpec": "credibility.data.spec",
    "load_spec": "credibility.data.spec",
    "parse_spec": "credibility.data.spec",
    "PosteriorStore": "credibility.results.store",
    "StoreError": "credibility.results.store",
    "CaseMerge": "credibility.analysis.case_merge",
    "MergeResult": "credibility.analysis.signal_merge",
    "UpdateError": "credibility.analysis.updating",
    "UpdateResult": "credibility.analysis.updating",
    "credibility_diff": "credibility.analysis.updating",
    "merge_cases": "credibility.analysis.case_merge",
    "merge_signals": "credibility.analysis.signal_merge",
    "update_fit": "credibility.analysis.updating",
}


def __getattr__(name: str) -> Any:
    """Import the module that defines the public name ``name`` and return the object.

    The module's public names are then kept in this module's namespace, so the next
    access is an ordinary attribute lookup.

    Raises
    ------
    AttributeError
        ``name`` is not a public name of the package (nor a loaded submodule).
    """
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    loaded = importlib.import_module(module)
    # All of the module's names at once: importing credibility.simulate has just bound
    # the submodule to `simulate` here, which the function replaces.
    for other, where in _LAZY.items():
        if where == module:
            globals()[other] = getattr(loaded, other)
    return globals()[name]


def __dir__() -> list[str]:
    """The module's names, the ones not loaded yet included (for ``dir`` and completion)."""
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CaseMerge",
    "CompareError",
    "ConvergenceWarning",
    "CredibilityData",
    "CredibilityDataError",
    "CredibilityError",
    "CredibilityModel",
    "Diagnostics",
    "FitError",
    "FitResult",
    "MergeResult",
    "ModelSpec",
    "OutcomeChecks",
    "PosteriorStore",
    "PredictionError",
    "ScenarioResult",
    "ScenarioWarning",
    "SignalSpec",
    "Simulation",
    "SpecError",
    "StoreError",
    "UpdateError",
    "UpdateResult",
    "__version__",
    "build_measurement_model",
    "credibility_diff",
    "dataset_info",
    "list_datasets",
    "load_dataset",
    "load_spec",
    "merge_cases",
    "merge_signals",
    "outcome_checks",
    "parse_spec",
    "ppc_summary",
    "run_scenario",
    "simulate",
    "simulate_cases",
    "synthetic_commitments",
    "update_fit",
]
