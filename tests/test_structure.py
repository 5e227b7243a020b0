"""The package's structure: layers, import cycles, module and function sizes (decision 52).

Every module of ``credibility`` belongs to one layer; a module imports only from its
own layer or lower ones (imports inside functions count: a lazy import is still a
dependency). The layers, lowest first:

0. foundation: errors, resources, the numba kernels (``credibility/kernels/``: base,
   families, spectral; decision 59);
1. data: the validated input data, the specifications and the bundled data sets
   (``credibility/data/``: tables, signals, cases, periods, assembly, container,
   ledger, spec, spec_parts, datasets), the real-data loaders (``sources``), and the
   modules that keep the old import paths ``schema``, ``spec`` and ``datasets``
   (decision 56);
2. inference: the one sampling path and the convergence diagnostics
   (``credibility/inference/``: sampling, config, diagnostics, traces; it runs any PyMC
   model, so it needs no model), and the modules that keep the old import paths ``sampling`` and
   ``diagnostics`` (decision 58);
3. model: its pieces (``credibility/model/``: index, parameters, likelihoods,
   dynamics, spectral, loadings, coordinates), the models built from them
   (measurement, dimensions, ``credibility/predictor/``: outcome, two_stage,
   prediction), the simulator (``credibility/simulate/``: layout, signals, latent,
   dimensions, cases), demo;
4. results: a fit and its store (``credibility/results/``: fit_result, with
   ``FitResult``, fitting, with ``CredibilityModel``, and store), and the modules that
   keep the old import paths ``fitting`` and ``store`` (decision 58);
5. analysis: what is done with a fit (``credibility/analysis/``: checks, compare,
   scenarios, updating, signal_merge, case_merge, approximate, plots, plot_base,
   measurement_plots, check_plots, dimension_plots), and the modules that keep those six old
   import paths (decision 58);
6. validation: SBC, its rank statistics and its figures (``credibility/validation/``:
   settings, simulation, sbc, ranks, report, plots);
7. interface: the CLI (``credibility/cli/``: common, tables, fit, results, store,
   validate, datasets) and the package's lazy namespace.

A folder is one entry of a layer (``kernels``, ``data``, ``inference``, ``model``,
``predictor``, ``simulate``, ``results``, ``analysis``, ``sources``, ``validation``,
``cli``): its modules import each other
freely, and its size limits apply to each of its files.

What breaks these rules today is listed below, each with the reason, as debt: the
tests fail on any *new* upward import, cycle, oversized module or function, and on a
listed one that is gone (so that the lists only shrink).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "credibility"

LAYERS: dict[str, int] = {
    "errors": 0, "resources": 0, "kernels": 0,
    "data": 1, "spec": 1, "schema": 1, "datasets": 1, "sources": 1,
    "inference": 2, "sampling": 2, "diagnostics": 2,
    "model": 3, "measurement": 3, "dimensions": 3, "predictor": 3, "simulate": 3, "demo": 3,
    "results": 4, "fitting": 4, "store": 4,
    "analysis": 5,
    "checks": 5, "compare": 5, "scenarios": 5, "updating": 5, "approximate": 5, "plots": 5,
    "validation": 6,
    "cli": 7, "__init__": 7,
}

#: Imports from a higher layer that exist today, and why (issue #29, item 1): none.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}

#: Import cycles that exist today (modules of one strongly connected component): none.
KNOWN_CYCLES: set[frozenset[str]] = set()

#: Modules over MAX_MODULE_LINES lines today.
LONG_MODULES: set[str] = set()

#: Functions over MAX_FUNCTION_LINES lines today, as ``module:function``.
LONG_FUNCTIONS: set[str] = {
    # Long for their docstrings (50-80 lines of parameters and examples); the bodies
    # are 60-75 lines, one simulation step after another.
    "simulate:simulate", "simulate:simulate_cases",
    # Long for its docstring: 74 lines naming the model's variables and
    # deterministics; the body, 43 lines, is one step after another (decision 66).
    "dimensions:build_dimensional_model",
    # Long for its docstring (50 lines: every option) and signature (22 lines, 17
    # keyword arguments); the body, 68 lines, is the fit's steps, most of them named
    # functions (decision 66).
    "results:fit",
    # Long for its docstring (52 lines: what a row's term is, and for which rows); the
    # body is 36 lines (decision 66).
    "analysis:signal_log_likelihood",
}

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _name(path: Path) -> str:
    """The layer key of a module: its name, or ``sources`` for the sources package."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


@functools.cache
def _modules() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8"))
            for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(tree: ast.Module) -> set[str]:
    """Names of the package's modules ``tree`` imports, at any depth (lazy ones too)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts[0] != "credibility":
                continue
            if len(parts) > 1:
                found.add(parts[1])
            else:  # from credibility import name: a module, or a name of __init__
                # (__version__ is package metadata: the package is imported before any
                # of its modules anyway, so taking its version closes no cycle).
                found.update(a.name if (PACKAGE / f"{a.name}.py").exists()
                             or (PACKAGE / a.name / "__init__.py").exists() else "__init__"
                             for a in node.names if a.name != "__version__")
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names
                         if a.name.startswith("credibility."))
    return found


@functools.cache
def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path, tree in _modules().items():
        name = _name(path)
        graph.setdefault(name, set()).update(_imports(tree) - {name})
    return graph


def _cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.add(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_every_module_has_a_layer():
    assert set(_graph()) - set(LAYERS) == set(), "place the new module in LAYERS"
    assert set(LAYERS) - set(_graph()) == set(), "a module in LAYERS no longer exists"


def test_no_module_imports_from_a_higher_layer():
    upward = {(a, b) for a, targets in _graph().items() for b in targets
              if LAYERS[b] > LAYERS[a]}
    assert upward - set(KNOWN_UPWARD) == set(), "imports from a higher layer"
    assert set(KNOWN_UPWARD) - upward == set(), "gone: remove them from KNOWN_UPWARD"


def test_no_new_import_cycles():
    cycles = _cycles(_graph())
    assert cycles - KNOWN_CYCLES == set(), "new import cycles"
    assert KNOWN_CYCLES - cycles == set(), "changed or gone: update KNOWN_CYCLES"


def test_cycles_are_found():
    """The cycle finder finds a cycle it is given, and none in a chain."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {
        frozenset({"a", "b", "c"})}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == set()


@pytest.mark.parametrize("kind", ["modules", "functions"])
def test_modules_and_functions_stay_short(kind):
    modules, functions = set(), set()
    for path, tree in _modules().items():
        name = _name(path)
        if path.read_text(encoding="utf-8").count("\n") > MAX_MODULE_LINES:
            modules.add(name)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
                    node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES):
                functions.add(f"{name}:{node.name}")
    found, known = ((modules, LONG_MODULES) if kind == "modules"
                    else (functions, LONG_FUNCTIONS))
    assert found - known == set(), f"new {kind} over the limit: split them"
    assert known - found == set(), "now within the limit: remove them from the list"
