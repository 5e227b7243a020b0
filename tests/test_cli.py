"""The `credibility` command line: every command, its manual, and its errors.

Error tests need no sampling. Tests marked `slow` share one tiny fit (the data of `tiny_fit`,
50 draws, 2 chains), made once per module by `credibility fit` itself; `demo` and
`fit --strict` reuse it through a stand-in for `CredibilityModel.fit`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, invoke
from simulations import tiny_simulation
from typer.testing import Result

from credibility.data.datasets import DatasetInfo
from credibility.results.fitting import CREDIBILITY_COLUMNS, CredibilityModel, FitResult
from credibility.simulate import Simulation

TINY_RUN = ["--draws", "50", "--tune", "50", "--chains", "2", "--seed", "1"]
tiny_sampling = pytest.mark.filterwarnings(
    "ignore::credibility.inference.diagnostics.ConvergenceWarning")


@pytest.fixture(scope="module")
def sim() -> Simulation:
    """SYNTHETIC: the data of `tiny_fit` (5 commitments in 2 alliances, 2000-2006)."""
    return tiny_simulation()


@pytest.fixture(scope="module")
def tables(sim: Simulation, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return sim.data.to_csv(tmp_path_factory.mktemp("tables"))


# -- manuals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [
    ["demo"], ["fit"], ["export"], ["datasets", "list"], ["datasets", "show"],
])
def test_every_command_help_is_a_manual(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert f"credibility {' '.join(command)}" in " ".join(result.stdout.split())


@pytest.mark.parametrize("command", [["demo"], ["fit"], ["export"]])
def test_help_says_what_is_read_and_written(command: list[str]) -> None:
    text = invoke(*command, "--help").stdout
    assert "Reads" in text and "Writes" in text


def test_top_level_help_and_version() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("demo", "fit", "export", "datasets"):
        assert command in result.stdout
    version = invoke("--version")
    assert version.exit_code == 0 and version.stdout.startswith("credibility ")


# -- datasets ---------------------------------------------------------------------------------


def test_datasets_list() -> None:
    result = invoke("datasets", "list")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "│ demo" in line)
    assert "yes" in row


def test_datasets_show() -> None:
    result = invoke("datasets", "show", "demo")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "synthetic: yes" in text
    assert "41 commitments in 7 alliances" in text
    assert "joint_exercises (count, commitment)" in text


def test_datasets_show_unknown_name() -> None:
    assert_one_line_error(invoke("datasets", "show", "atlantis"), "'atlantis'", "demo")


# -- input errors -----------------------------------------------------------------------------


def test_fit_missing_file(tables: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    result = invoke("fit", "--commitments", missing, "--signals", tables["signals"],
                    "--out", tmp_path / "fit")
    assert_one_line_error(result, str(missing), "no such file")
    assert not (tmp_path / "fit").exists()


def test_fit_negative_count(tables: dict[str, Path], tmp_path: Path) -> None:
    signals = pd.read_csv(tables["signals"], dtype=str, keep_default_na=False)
    row = int(np.flatnonzero(signals["signal"] == "joint_exercises")[0])
    signals.loc[row, "value"] = "-3"
    corrupt = tmp_path / "signals.csv"
    signals.to_csv(corrupt, index=False)
    result = invoke("fit", "--commitments", tables["commitments"], "--signals", corrupt,
                    "--out", tmp_path / "fit")
    assert_one_line_error(result, str(corrupt), f"row {row + 1}", "'value'", "'-3'")


def test_fit_unknown_spec(tables: dict[str, Path], tmp_path: Path) -> None:
    result = invoke("fit", "--commitments", tables["commitments"], "--signals",
                    tables["signals"], "--out", tmp_path, "--spec", "imaginary")
    assert_one_line_error(result, "imaginary", "default")


@pytest.mark.parametrize("command", ["fit", "demo"])
def test_unknown_backend(command: str, tables: dict[str, Path], tmp_path: Path) -> None:
    args = ["--commitments", tables["commitments"], "--signals", tables["signals"]]
    result = invoke(command, *(args if command == "fit" else []), "--out", tmp_path,
                    "--backend", "stan")
    assert_one_line_error(result, "--backend", "'stan'", "nutpie")


def test_unwritable_output_fails_before_sampling(tables: dict[str, Path],
                                                 tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    result = invoke("fit", "--commitments", tables["commitments"], "--signals",
                    tables["signals"], "--out", taken / "fit")
    assert_one_line_error(result, str(taken / "fit"))
    assert "sampling" not in result.stdout


def test_usage_errors_exit_2(tables: dict[str, Path], tmp_path: Path) -> None:
    result = invoke("fit", "--commitments", tables["commitments"])
    assert result.exit_code == 2
    assert "--signals" in result.output
    result = invoke("fit", "--commitments", tables["commitments"], "--signals",
                    tables["signals"], "--out", tmp_path, "--draws", "0")
    assert result.exit_code == 2
    assert "--draws" in result.output


def test_export_missing_folder(tmp_path: Path) -> None:
    assert_one_line_error(invoke("export", "--fit", tmp_path / "nofit"), "nofit",
                          "no such folder")


def test_export_folder_without_a_fit(tmp_path: Path) -> None:
    assert_one_line_error(invoke("export", "--fit", tmp_path), "spec.toml")


@pytest.mark.parametrize(("options", "words"), [
    (["--what", "everything"], ["--what", "'everything'", "alliances"]),
    (["--scale", "logit"], ["--scale", "'logit'", "percentile"]),
    (["--what", "parameters", "--scale", "percentile"], ["--scale", "parameters"]),
])
def test_export_bad_options(options: list[str], words: list[str], tmp_path: Path) -> None:
    assert_one_line_error(invoke("export", "--fit", tmp_path, *options), *words)


# -- a real (tiny) fit ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(tables: dict[str, Path], tmp_path_factory: pytest.TempPathFactory,
           tiny_fit: FitResult) -> tuple[Result, Path]:
    """`credibility fit` of `tiny_fit`'s data, after `tiny_fit`: the model's compiled code
    is then in the compile cache (6 s to load against 30 s to compile)."""
    out = tmp_path_factory.mktemp("fit") / "fit"
    result = invoke("fit", "--commitments", tables["commitments"], "--signals",
                    tables["signals"], "--out", out, *TINY_RUN)
    return result, out


@pytest.fixture(scope="module")
def loaded(fitted: tuple[Result, Path]) -> FitResult:
    return FitResult.load(fitted[1])


@pytest.mark.slow
@tiny_sampling
def test_fit_writes_the_fit_and_prints_diagnostics(fitted: tuple[Result, Path],
                                                   sim: Simulation) -> None:
    result, out = fitted
    assert result.exit_code == 0, result.output
    for name in ("posterior.nc", "credibility.csv", "fit.json", "spec.toml",
                 "data/commitments.csv", "data/signals.csv"):
        assert (out / name).is_file(), name
    text = result.stdout
    assert "5 commitments in 2 alliances" in text
    assert "✓ building model" in text
    # Until reliable by default: 2 x 50 draws cannot pass, so it goes on to the draw limit.
    assert "✓ sampling (nutpie, 2 chains x 50 draws, up to 200 until reliable)" in text
    assert re.search(r"✓ 50 draws per chain: R-hat \d\.\d{3}, ESS \d+/\d+.*: sampling on", text)
    assert re.search(r"✓ 200 draws per chain: .*: FAIL", text)
    assert "Sampler diagnostics" in text and "max R-hat" in text
    ok = json.loads((out / "fit.json").read_text())["diagnostics"]["ok"]
    assert ("posterior NOT reliable" in text) == (not ok)
    assert str(out / "posterior.nc") in " ".join(text.split())


@pytest.mark.slow
@tiny_sampling
def test_export_credibility_to_stdout(fitted: tuple[Result, Path], loaded: FitResult) -> None:
    result = invoke("export", "--fit", fitted[1])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert tuple(frame.columns) == CREDIBILITY_COLUMNS
    n_active = int(loaded.posterior["posterior"]["credibility"].isel(chain=0, draw=0)
                   .notnull().sum())
    assert len(frame) == n_active
    assert (frame["q05"] <= frame["q50"]).all() and (frame["q50"] <= frame["q95"]).all()
    if not loaded.diagnostics.ok:
        assert result.stderr.startswith("warning: this fit failed its diagnostics")


@pytest.mark.slow
@tiny_sampling
def test_export_percentile_to_a_file(fitted: tuple[Result, Path], tmp_path: Path) -> None:
    target = tmp_path / "deep" / "pct.csv"
    result = invoke("export", "--fit", fitted[1], "--scale", "percentile", "--out", target)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(target)
    assert tuple(frame.columns) == CREDIBILITY_COLUMNS
    assert frame[["mean", "q05", "q95"]].stack().between(0, 100).all()
    assert f"wrote {len(frame)} rows" in result.stdout


@pytest.mark.slow
@tiny_sampling
@pytest.mark.parametrize(("what", "first_column"), [
    ("alliances", "alliance"), ("parameters", "parameter"),
])
def test_export_alliances_and_parameters(fitted: tuple[Result, Path], loaded: FitResult,
                                         what: str, first_column: str) -> None:
    result = invoke("export", "--fit", fitted[1], "--what", what)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert frame.columns[0] == first_column
    assert "mean" in frame.columns
    if what == "alliances":
        levels = loaded.posterior["posterior"]["alliance_level"].isel(chain=0, draw=0)
        assert len(frame) == int(levels.notnull().sum())
    else:
        assert frame["parameter"].str.startswith("loading[").sum() == 6
        assert "r_hat" in frame.columns


def _stand_in_fit(monkeypatch: pytest.MonkeyPatch, fit: FitResult) -> list[dict]:
    """Replace sampling by returning ``fit``; returns the recorded keyword arguments."""
    calls: list[dict] = []

    def fake_fit(self: CredibilityModel, data: object, **kwargs: object) -> FitResult:
        calls.append(kwargs)
        on_stage: Callable[[str], None] = kwargs["on_stage"]  # type: ignore[assignment]
        on_stage("building model")
        on_stage("sampling (stand-in)")
        return fit

    monkeypatch.setattr(CredibilityModel, "fit", fake_fit)
    return calls


@pytest.mark.slow
@tiny_sampling
@pytest.mark.parametrize("passing", [True, False])
def test_fit_strict_exits_1_only_when_diagnostics_fail(
    monkeypatch: pytest.MonkeyPatch, loaded: FitResult, tables: dict[str, Path],
    tmp_path: Path, passing: bool,
) -> None:
    diagnostics = dataclasses.replace(loaded.diagnostics, max_rhat=1.001 if passing else 1.3,
                                      min_ess_bulk=1000.0, min_ess_tail=1000.0, divergences=0,
                                      worst_rhat="loading[troops]")
    calls = _stand_in_fit(monkeypatch, dataclasses.replace(loaded, diagnostics=diagnostics))
    result = invoke("fit", "--commitments", tables["commitments"], "--signals",
                    tables["signals"], "--out", tmp_path, "--strict", "--quiet", *TINY_RUN)
    assert result.exit_code == (0 if passing else 1), result.output
    assert ("posterior NOT reliable" in result.stdout) != passing
    # Variable names with brackets are shown as they are, not eaten as Rich markup.
    assert ("max R-hat 1.300 > 1.01 (loading[troops])" in result.stdout) != passing
    assert "✓" not in result.stdout  # --quiet: no status lines
    assert calls[0]["progress"] is False
    assert {k: calls[0][k] for k in ("draws", "tune", "chains", "seed", "backend")} == {
        "draws": 50, "tune": 50, "chains": 2, "seed": 1, "backend": "nutpie"}


@pytest.mark.slow
@tiny_sampling
def test_demo_writes_figures_tables_and_the_fit(
    monkeypatch: pytest.MonkeyPatch, loaded: FitResult, sim: Simulation, tmp_path: Path,
) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    truth = sim.truth["credibility"].to_dataframe().dropna().reset_index()
    truth.rename(columns={"commitment": "commitment_id", "credibility": "true_credibility"}
                 ).to_csv(bundle / "truth.csv", index=False)
    info = DatasetInfo(name="demo", title="tiny", description="", synthetic=True,
                       spec="default", path=bundle)
    monkeypatch.setattr("credibility.data.datasets.dataset_info", lambda name: info)
    monkeypatch.setattr("credibility.data.datasets.load_dataset", lambda name: loaded.data)
    # A copy: the demo marks the posterior as synthetic, which must not leak into `loaded`.
    calls = _stand_in_fit(monkeypatch, dataclasses.replace(loaded,
                                                           posterior=loaded.posterior.copy()))
    out = tmp_path / "demo_output"

    result = invoke("demo", "--out", out, "--draws", "20", "--chains", "1")
    assert result.exit_code == 0, result.output
    assert calls[0]["draws"] == 20 and calls[0]["progress"] is True
    text = result.stdout
    assert "SYNTHETIC" in text
    last = loaded.data.last_period
    assert f"Most and least credible commitments in {last} (SYNTHETIC data)" in text
    assert "Sampler diagnostics" in text
    assert ("posterior NOT reliable" in text) == (not loaded.diagnostics.ok)
    for name in ("trajectories.png", "forest.png", "loadings.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    frame = pd.read_csv(out / "credibility.csv")
    assert tuple(frame.columns) == CREDIBILITY_COLUMNS
    again = FitResult.load(out / "fit")
    assert again.posterior.attrs["synthetic_data"] == "true"
    assert loaded.posterior.attrs.get("synthetic_data") != "true"
    for path in ("trajectories.png", "credibility.csv", "fit"):
        assert str(out / path) in " ".join(text.split())


# -- update, history, diff (the sampled end-to-end runs are in tests/test_updating.py) ---------


@pytest.mark.parametrize("command", ["update", "history", "diff"])
def test_store_commands_help_is_a_manual(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "Example" in text and f"credibility {command} --store" in text
    assert "Reads" in text and "Prints" in text
    assert command in invoke("--help").stdout


def test_export_help_names_the_store_options() -> None:
    text = " ".join(invoke("export", "--help").stdout.split())
    assert "--store" in text and "--version" in text
    assert "credibility export --store fits --version v0002" in text


@pytest.mark.parametrize("command", [["history"], ["diff", "v0001", "v0002"],
                                     ["update", "--signals", "new.csv"], ["export"]])
def test_store_commands_need_an_existing_store(command: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "nostore"
    result = invoke(*command[:1], "--store", missing, *command[1:])
    assert_one_line_error(result, str(missing), "no such folder")
    assert not missing.exists()


def test_update_empty_store_and_unknown_method(tmp_path: Path) -> None:
    assert_one_line_error(invoke("update", "--store", tmp_path, "--signals", "new.csv"),
                          "holds no versions")
    assert_one_line_error(invoke("update", "--store", tmp_path, "--signals", "new.csv",
                                 "--method", "guess"), "--method", "'guess'", "exact")


def test_export_needs_exactly_one_source(tmp_path: Path) -> None:
    assert_one_line_error(invoke("export"), "--fit", "--store")
    assert_one_line_error(invoke("export", "--fit", tmp_path, "--version", "v0001"),
                          "--version", "--store")


def test_history_of_an_empty_store(tmp_path: Path) -> None:
    result = invoke("history", "--store", tmp_path)
    assert result.exit_code == 0, result.output
    assert "holds no versions yet" in result.stdout
