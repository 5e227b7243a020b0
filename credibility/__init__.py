"""credibility: probabilistic estimation of the credibility of alliance commitments.

Examples
--------
>>> import credibility as cr
>>> data = cr.load_dataset("demo")
>>> len(data.commitment_ids) > 30
True
"""

from credibility.checks import OutcomeChecks, outcome_checks, ppc_summary
from credibility.datasets import dataset_info, list_datasets, load_dataset
from credibility.diagnostics import ConvergenceWarning, Diagnostics
from credibility.errors import (
    CompareError,
    CredibilityDataError,
    CredibilityError,
    FitError,
    PredictionError,
    SpecError,
)
from credibility.fitting import CredibilityModel, FitResult
from credibility.measurement import build_measurement_model
from credibility.scenarios import ScenarioResult, ScenarioWarning, run_scenario
from credibility.schema import CredibilityData
from credibility.simulate import Simulation, simulate, simulate_cases, synthetic_commitments
from credibility.spec import ModelSpec, SignalSpec, load_spec, parse_spec
from credibility.store import PosteriorStore, StoreError
from credibility.updating import (
    CaseMerge,
    MergeResult,
    UpdateError,
    UpdateResult,
    credibility_diff,
    merge_cases,
    merge_signals,
    update_fit,
)

__version__ = "0.2.0"

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
