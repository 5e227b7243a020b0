"""Shared fixtures: small simulated data sets (synthetic, seeded).

Fits for statistical tests have a fixed length (``until_reliable=False``): their bounds
come from each fit's own Monte Carlo error, whatever its length, and a fixed length
keeps the suite's time predictable. Running until reliable is tested in
tests/test_until_reliable.py and by the CLI's default fit (tests/test_cli.py).

Their seeds go through :func:`seeding.seed`, so that ``CREDIBILITY_TEST_SEED`` runs the
statistical tests on other draws.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import pytensor
import pytest
from filelock import FileLock
from python_mode import PYTHON_MODE
from seeding import seed
from simulations import (
    TWO_DIMENSION_OUTCOME_SPEC,
    tiny_simulation,
    two_dimension_outcome_simulation,
)

from credibility.data.spec import ModelSpec, parse_spec
from credibility.inference.diagnostics import ConvergenceWarning
from credibility.results.fitting import CredibilityModel, FitResult
from credibility.simulate import Simulation, simulate, simulate_cases, synthetic_commitments

ALL_FAMILIES_SPEC = """
[model]
name = "all_families"
dynamics = "ar1"

[[signals]]
name = "exercises"
family = "count"
intercept = { mu = 1.0, sigma = 0.5 }
loading = 0.7
noise = 0.3

[[signals]]
name = "troops"
family = "amount"
intercept = { mu = 6.0, sigma = 1.0 }
loading = 1.0
noise = 0.4

[[signals]]
name = "spending"
family = "ratio"
target = 2.0
intercept = { mu = 0.0, sigma = 0.5 }
loading = 0.3
noise = 0.2

[[signals]]
name = "readiness"
family = "proportion"
intercept = { mu = 0.0, sigma = 1.0 }
loading = 1.0

[[signals]]
name = "intel_sharing"
family = "binary"
intercept = { mu = 0.0, sigma = 1.0 }
loading = 1.5

[[signals]]
name = "visits"
family = "binomial"
intercept = { mu = 0.0, sigma = 1.0 }
loading = 1.0

[[signals]]
name = "consultation"
family = "ordinal"
levels = 4
loading = 1.5

[[signals]]
name = "summit"
family = "ordinal"
levels = 3
direction = -1
loading = 1.0

[[signals]]
name = "alliance_exercises"
family = "count"
level = "alliance"
intercept = { mu = 2.0, sigma = 0.5 }
loading = 0.5
noise = 0.3
"""


#: Modules that take most of a minute or more (SBC on a dask worker, benchmark scripts
#: in subprocesses, several fits each), longest first by their time on an empty compile
#: cache (seconds at c73829b: 114, 76, 69, 66, 64, 62, 57, 53, 50, 47). Under
#: ``--dist loadscope --no-loadscope-reorder`` (the Makefile) a module runs whole on one
#: worker, in collection order; longest first leaves the short modules to fill the end,
#: instead of a long one that keeps a worker busy after the other has finished.
#: test_dimensions_predictor.py (three fits) took about 80 s with a warm cache.
LONG_MODULES = ("test_validation.py", "test_benchmarks.py", "test_dimensions_model.py",
                "test_approximate.py", "test_predictor.py", "test_scenarios.py",
                "test_dimensions_predictor.py", "test_fitting.py", "test_cli.py",
                "test_compare.py", "test_kernels.py", "test_recovery.py", "test_updating.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the tests of :data:`LONG_MODULES` first, in that order (stable otherwise)."""
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONG_MODULES.index(name) if name in LONG_MODULES else len(LONG_MODULES)

    items.sort(key=rank)


@pytest.fixture
def python_mode():
    """Functions compiled without a named mode use :data:`PYTHON_MODE`: for tests that
    check a log density's value, not a compiler.

    Compiling a measurement model with numba (PyTensor's default) took 10-40 s per model
    on an empty compile cache; evaluated once or a few times, the Python implementations
    need no compilation. The numba path is checked in tests/test_kernels.py (mode
    "NUMBA") and by every nutpie fit.
    """
    with pytensor.config.change_flags(mode=PYTHON_MODE):
        yield


@pytest.fixture(scope="session")
def all_families_spec() -> ModelSpec:
    """A spec with every family, two ordinal signals of different sizes, one alliance signal."""
    return parse_spec(ALL_FAMILIES_SPEC, source="all_families.toml")


@pytest.fixture(scope="session")
def small_simulation(all_families_spec: ModelSpec) -> Simulation:
    """SYNTHETIC: 8 commitments in 2 alliances over 2000-2009, every family."""
    structure = synthetic_commitments(8, 2, (2000, 2009), seed=seed(11))
    return simulate(all_families_spec, structure, seed=seed(11), last_period=2009)


def shared_folder(factory: pytest.TempPathFactory, name: str,
                  build: Callable[[Path], None]) -> Path:
    """A folder that ``build`` fills, built once per test run and shared by every
    pytest-xdist worker that asks for it (under the run's shared temporary folder, a
    file lock around building it; a marker file written once ``build`` returns tells
    the others it is complete)."""
    # Under pytest-xdist each worker's base folder lies in the run's own folder, which
    # the workers share; without xdist the base folder is the run's own (its parent
    # outlives the run, and a folder built there by older code would be used again).
    base = Path(factory.getbasetemp())
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = root / f"shared-{name}-seed{seed(0)}"
    with FileLock(str(folder) + ".lock"):
        if not (folder / ".built").exists():
            folder.mkdir(parents=True, exist_ok=True)
            build(folder)
            (folder / ".built").touch()
    return folder


def shared_fit(factory: pytest.TempPathFactory, name: str,
               build: Callable[[], FitResult]) -> FitResult:
    """The fit ``build`` returns, built once per test run and loaded by every other
    pytest-xdist worker that asks for it (:func:`shared_folder`)."""
    folder = shared_folder(factory, f"fit-{name}", lambda path: build().save(path / "fit"))
    # Every worker, the builder included, gets the saved fit: the same object.
    return FitResult.load(folder / "fit")


@pytest.fixture(scope="session")
def two_dimension_fit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Simulation, Path]:
    """SYNTHETIC: ``credibility fit`` of :func:`two_dimension_outcome_simulation` (20
    commitments over 2000-2011, two dimensions, 300 cases; the spec written to a file),
    4 chains x 500 draws and the two-stage outcome model, run once per test run; the
    simulation and the fit's folder. Read it only.

    One fit of two dimensions serves the command line's round trip, the report's
    figures, the recovery of each dimension, of their correlation and loadings
    (tests/test_dimensions_model.py), and of the outcome's slopes
    (tests/test_dimensions_predictor.py): each fit of two dimensions compiled for 20 to
    60 s of the suite's time.
    """
    from cli_helpers import invoke

    sim = two_dimension_outcome_simulation()

    def build(folder: Path) -> None:
        tables = sim.data.to_csv(folder / "tables")
        spec_file = folder / "two_dimensions_outcome.toml"
        spec_file.write_text(TWO_DIMENSION_OUTCOME_SPEC, encoding="utf-8")
        result = invoke("fit", "--commitments", tables["commitments"], "--signals",
                        tables["signals"], "--cases", tables["cases"], "--spec", spec_file,
                        "--out", folder / "fit", "--draws", "500", "--tune", "500",
                        "--chains", "4", "--seed", str(seed(3)), "--fixed-length",
                        "--outcome", "two_stage", "--quiet")
        assert result.exit_code == 0, result.output

    return sim, shared_folder(tmp_path_factory, "two-dimension-fit", build) / "fit"


@pytest.fixture(scope="session")
def tiny_fit(tmp_path_factory: pytest.TempPathFactory) -> FitResult:
    """SYNTHETIC: a deliberately short nutpie run (its diagnostics are expected to fail).

    Shared by every test that needs some real fit but not a good one.
    """
    def build() -> FitResult:
        sim = tiny_simulation()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return CredibilityModel("default").fit(sim.data, draws=60, tune=60, chains=2,
                                                   seed=seed(1), progress=False,
                                                   until_reliable=False)

    return shared_fit(tmp_path_factory, "tiny", build)


@pytest.fixture(scope="session")
def outcome_simulation() -> Simulation:
    """SYNTHETIC: 12 commitments over 2000-2011 and 200 deterrence cases (50 held out).

    True outcome model: intercept 0.3, 1.5 log-odds per sd of credibility,
    covariate effects -0.6 (capability_ratio) and -0.3 (challenger_nuclear).
    """
    sim = simulate("default", synthetic_commitments(12, 3, (2000, 2011), seed=seed(5)),
                   seed=seed(5), last_period=2011)
    return simulate_cases(sim, 200, seed=seed(2), intercept=0.3, credibility=1.5,
                          covariates={"capability_ratio": -0.6, "challenger_nuclear": -0.3},
                          hold_out=0.25)


@pytest.fixture(scope="session")
def outcome_fit(outcome_simulation: Simulation,
                tmp_path_factory: pytest.TempPathFactory) -> FitResult:
    """Two-stage fit of :func:`outcome_simulation` (2 chains x 1000 draws).

    Long enough for the tests that compare it with a refit within Monte Carlo error:
    at 2 x 400 draws persistence had R-hat ~1.04, and such a fit's ESS, hence its
    Monte Carlo error, is overestimated.
    """
    def build() -> FitResult:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return CredibilityModel("default").fit(outcome_simulation.data, draws=1000,
                                                   tune=1000, chains=2, seed=seed(1),
                                                   progress=False, outcome="two_stage",
                                                   until_reliable=False)

    return shared_fit(tmp_path_factory, "outcome", build)
