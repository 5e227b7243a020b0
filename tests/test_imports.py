"""Start-up: `import credibility` and `credibility --help` load no heavy library.

The checks count modules, not seconds, so they do not depend on the machine's load;
decision 42 (docs/decisions.md) has the timings. Each one runs in a fresh interpreter,
as this one has long imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, invoke

from credibility import cli
from credibility.inference import sampling

ROOT = Path(__file__).resolve().parents[1]

#: Libraries that take most of the start-up time; only the commands that use them load them.
HEAVY = ("pymc", "pytensor", "arviz", "arviz_stats", "matplotlib", "nutpie", "dask",
         "distributed", "scipy", "numba", "pandas", "xarray")

#: Commands whose --help the fresh interpreter prints.
HELPS = ([], ["demo"], ["fit"], ["predict"], ["report"], ["compare"], ["export"], ["update"],
         ["history"], ["diff"], ["validate"], ["validate", "sbc"], ["validate", "recovery"],
         ["datasets"], ["datasets", "list"], ["datasets", "show"], ["datasets", "build-real"])


def _fresh(code: str) -> dict:
    """Run ``code`` in a new interpreter that imports this checkout; return its JSON line."""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(result.stdout.strip().splitlines()[-1])


def _heavy_loaded() -> str:
    """Code that prints the heavy libraries in ``sys.modules`` as JSON."""
    return (f"import json, sys; print(json.dumps({{'loaded': sorted({{m.split('.')[0] for m in "
            f"sys.modules}} & set({list(HEAVY)!r}))}}))")


def test_import_loads_no_heavy_library() -> None:
    loaded = _fresh("import credibility; " + _heavy_loaded())["loaded"]
    assert loaded == []


def test_help_of_every_command_loads_no_heavy_library() -> None:
    code = ("from typer.testing import CliRunner\n"
            "from credibility.cli import app\n"
            f"for args in {list(HELPS)!r}:\n"
            "    result = CliRunner().invoke(app, [*args, '--help'])\n"
            "    assert result.exit_code == 0, (args, result.output)\n"
            "    assert 'Usage' in result.output, (args, result.output)\n"
            + _heavy_loaded())
    assert _fresh(code)["loaded"] == []


def test_every_public_name_is_its_modules_object() -> None:
    # In a fresh interpreter: here `credibility.simulate` may be the submodule
    # (credibility/__init__.py says why).
    code = ("import importlib, json, credibility\n"
            "where = {name: credibility._LAZY.get(name, 'credibility.errors')\n"
            "         for name in credibility.__all__ if name != '__version__'}\n"
            "wrong = sorted(name for name, module in where.items() if getattr(credibility, "
            "name) is not getattr(importlib.import_module(module), name))\n"
            "print(json.dumps({'wrong': wrong, 'all': credibility.__all__,\n"
            "                  'undir': sorted(set(credibility.__all__) - set(dir(credibility)))"
            "}))")
    found = _fresh(code)
    assert found["wrong"] == []
    assert found["undir"] == []
    import credibility

    assert found["all"] == credibility.__all__
    assert set(credibility._LAZY) < set(credibility.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    import credibility

    with pytest.raises(AttributeError, match="no attribute 'fit_model'"):
        credibility.fit_model  # noqa: B018


def test_the_clis_treedepth_default_is_the_samplers() -> None:
    assert cli.MAX_TREEDEPTH == sampling.MAX_TREEDEPTH


@pytest.fixture
def no_distributed(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import distributed`` fails, as where the ``distributed`` extra is not installed."""
    monkeypatch.setitem(sys.modules, "distributed", None)


def test_sbc_without_dask_names_the_extra(no_distributed: None, tmp_path: Path) -> None:
    from credibility.validation import SBCSettings, ValidationError, run_sbc

    with pytest.raises(ValidationError, match=r"pip install 'credibility\[distributed\]'"):
        run_sbc(SBCSettings("default"), tmp_path / "sbc", 1, progress=False)


def test_validate_without_dask_is_a_one_line_error(no_distributed: None, tmp_path: Path) -> None:
    result = invoke("validate", "sbc", "--out", tmp_path / "sbc", "--n-sims", "1", "--quiet")
    assert_one_line_error(result, "dask.distributed", "pip install 'credibility[distributed]'")
