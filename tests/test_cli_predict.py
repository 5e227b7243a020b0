"""`credibility predict`, `report`, and the demo's deterrence output (SYNTHETIC fits)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from credibility import cli
from credibility.data.datasets import DatasetInfo
from credibility.predictor import PREDICTION_COLUMNS
from credibility.results.fitting import CredibilityModel, FitResult

runner = CliRunner()


def invoke(*args: str | Path) -> Result:
    return runner.invoke(cli.app, [str(a) for a in args])


@pytest.fixture(scope="module")
def fit_dir(outcome_fit: FitResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("outcome") / "fit"
    outcome_fit.save(folder)
    return folder


def test_predict_help_and_bad_method(tmp_path: Path) -> None:
    result = invoke("predict", "--help")
    assert result.exit_code == 0 and "--scenario" in result.stdout
    result = invoke("predict", "--fit", tmp_path, "--method", "guess")
    assert result.exit_code == 2 and "--method: unknown value 'guess'" in result.stderr


def test_predict_without_outcome_model_is_a_clear_error(tiny_fit: FitResult,
                                                        tmp_path: Path) -> None:
    tiny_fit.save(tmp_path / "fit")
    result = invoke("predict", "--fit", tmp_path / "fit")
    assert result.exit_code == 2
    assert "error: " in result.stderr and "Traceback" not in result.output


@pytest.mark.slow
def test_predict_writes_the_prediction_table(fit_dir: Path, outcome_fit: FitResult,
                                             tmp_path: Path) -> None:
    result = invoke("predict", "--fit", fit_dir)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ",".join(PREDICTION_COLUMNS)
    open_cases = outcome_fit.data.cases["outcome"].isna().sum()
    assert len(lines) == 1 + open_cases
    cases = tmp_path / "cases.csv"
    pd.DataFrame({"case_id": ["x1"], "commitment_id": ["C003"], "period": [2011],
                  "capability_ratio": [1.0], "challenger_nuclear": [1]}).to_csv(cases,
                                                                               index=False)
    out = tmp_path / "p.csv"
    result = invoke("predict", "--fit", fit_dir, "--cases", cases, "--out", out)
    assert result.exit_code == 0, result.output
    assert "Predicted deterrence success" in result.stdout
    assert pd.read_csv(out)["case_id"].tolist() == ["x1"]
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"case_id": ["x1"], "commitment_id": ["C003"], "period": [2050],
                  "capability_ratio": [1.0], "challenger_nuclear": [1]}).to_csv(bad, index=False)
    result = invoke("predict", "--fit", fit_dir, "--cases", bad)
    assert result.exit_code == 2 and "row 1" in result.stderr and "'period'" in result.stderr


@pytest.mark.slow
def test_predict_scenario_compares_with_the_baseline(fit_dir: Path, outcome_fit: FitResult,
                                                     tmp_path: Path) -> None:
    signals = outcome_fit.data.signals
    rows = signals[(signals["commitment_id"] == "C001") & (signals["signal"] == "troops")]
    scenario = tmp_path / "scenario.csv"
    rows[["commitment_id", "period", "signal"]].assign(value=rows["value"] * 2).to_csv(
        scenario, index=False)
    out = tmp_path / "scenario_out.csv"
    result = invoke("predict", "--fit", fit_dir, "--scenario", scenario, "--out", out)
    assert result.exit_code == 0, result.output
    assert "Scenario vs baseline" in result.stdout and "Pareto k" in result.stdout
    frame = pd.read_csv(out)
    assert {"baseline_p_mean", "scenario_p_mean", "diff_mean", "diff_q05", "diff_q95",
            "p_up"} <= set(frame.columns)


@pytest.mark.slow
def test_report_writes_checks_and_figures(fit_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = invoke("report", "--fit", fit_dir, "--out", out, "--ppc-draws", "50")
    assert result.exit_code == 0, result.output
    for name in ("trajectories.png", "forest.png", "loadings.png", "ppc.png",
                 "calibration.png", "predictions.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG", name
    summary = (out / "summary.md").read_text()
    assert "Brier LOO" in summary and "elpd LOO" in summary and "| signal |" in summary
    assert len(pd.read_csv(out / "ppc.csv")) == 12  # 6 signals x (mean, sd)
    assert "Outcome model checks" in result.stdout


@pytest.mark.slow
def test_demo_prints_predictions_when_the_data_have_cases(
    monkeypatch: pytest.MonkeyPatch, outcome_fit: FitResult, tmp_path: Path,
) -> None:
    info = DatasetInfo(name="demo", title="tiny", description="", synthetic=True,
                       spec="default", path=tmp_path)
    monkeypatch.setattr("credibility.data.datasets.dataset_info", lambda name: info)
    monkeypatch.setattr("credibility.data.datasets.load_dataset", lambda name: outcome_fit.data)
    copy = dataclasses.replace(outcome_fit, posterior=outcome_fit.posterior.copy())
    monkeypatch.setattr(CredibilityModel, "fit", lambda self, data, **kwargs: copy)
    out = tmp_path / "demo_output"
    result = invoke("demo", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert "Predicted deterrence success (SYNTHETIC data)" in result.stdout
    assert "outcome model" in " ".join(result.stdout.split())
    for name in ("predictions.png", "calibration.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert tuple(pd.read_csv(out / "predictions.csv").columns) == PREDICTION_COLUMNS
