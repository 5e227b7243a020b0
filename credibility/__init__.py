"""credibility: probabilistic estimation of the credibility of alliance commitments.

Examples
--------
>>> import credibility as cr
>>> data = cr.load_dataset("demo")
>>> len(data.commitment_ids) > 30
True
"""

from credibility.datasets import dataset_info, list_datasets, load_dataset
from credibility.diagnostics import ConvergenceWarning, Diagnostics
from credibility.errors import CredibilityDataError, CredibilityError, FitError, SpecError
from credibility.fitting import CredibilityModel, FitResult
from credibility.measurement import build_measurement_model
from credibility.schema import CredibilityData
from credibility.simulate import Simulation, simulate, synthetic_commitments
from credibility.spec import ModelSpec, SignalSpec, load_spec, parse_spec
from credibility.store import PosteriorStore, StoreError

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "CredibilityData",
    "CredibilityDataError",
    "CredibilityError",
    "CredibilityModel",
    "Diagnostics",
    "FitError",
    "FitResult",
    "ModelSpec",
    "PosteriorStore",
    "SignalSpec",
    "Simulation",
    "SpecError",
    "StoreError",
    "__version__",
    "build_measurement_model",
    "dataset_info",
    "list_datasets",
    "load_dataset",
    "load_spec",
    "parse_spec",
    "simulate",
    "synthetic_commitments",
]
