"""Smoke tests of benchmarks/performance.py and benchmarks/kernels.py.

The fast tier (CI) runs the performance benchmark at size XS with the configuration
that no other test samples (the naive baseline) and the one its ratios need
(ours/nutpie); the other backends and ADVI are fitted by tests/test_fitting.py. The
full tier (``make test-full``) runs every configuration at size S, ADVI's error
against NUTS included."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "performance.py"
CONFIGS = {"ours/nutpie", "ours/pymc", "ours/numpyro", "ours/advi", "spectral/nutpie",
           "naive/default", "naive/pymc"}
FIGURES = ("build_s", "sample_s", "min_bulk_ess", "median_bulk_ess", "min_loading_ess",
           "ess_per_s", "max_rhat", "peak_memory_gib", "persistence_ess", "persistence_rhat")


def run_benchmark(tmp_path, size: str, configs: set[str]) -> tuple[dict, str]:
    """``benchmarks/performance.py`` at ``size`` with ``configs`` and 30 draws after 30
    tuning steps: its JSON result and what it printed."""
    out = tmp_path / "perf.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", size, "--configs", *sorted(configs),
         "--draws", "30", "--tune", "30", "--chains", "2", "--advi-iterations", "500",
         "--timeout", "600", "--out", str(out), "--work", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(out.read_text()), done.stdout


def check_rows(result: dict, stdout: str, size: str, configs: set[str], cells: int) -> dict:
    """Every configuration's row has finite, positive figures; the shared ones agree."""
    assert result["synthetic"] is True
    rows = {row["name"]: row for row in result["results"]}
    assert set(rows) == configs
    for name, row in rows.items():
        assert "error" not in row, f"{name}: {row.get('error')}"
        assert row["size"] == size and row["cells"] > cells
        for figure in FIGURES:
            assert math.isfinite(row[figure]) and row[figure] > 0, (name, figure, row[figure])
    for name in {"ours/nutpie", "spectral/nutpie", "naive/default"} & configs:
        assert rows[name]["compile_s"] > 0, name  # compile timed apart
    assert not rows["ours/nutpie"]["approximate"]
    assert all(row["target_accept"] == 0.8 for row in rows.values())  # the naive's, pm.sample's
    assert rows["ours/nutpie"]["median_bulk_ess"] >= rows["ours/nutpie"]["min_bulk_ess"]
    for name in configs - {"naive/pymc"}:
        assert math.isfinite(rows[name]["ess_per_s_ratio_vs_naive_pymc"])
    if "ours/advi" in configs:
        assert rows["ours/advi"]["approximate"]
        error = rows["ours/advi"]["error_vs_nuts"]
        assert all(math.isfinite(v) for v in error.values())
    assert "ours/nutpie" in stdout and "ESS/s" in stdout
    return rows


# Full tier (about 40 s: two compiles in a fresh process); the kernel benchmark below stays
# in the fast tier.
@pytest.mark.full
def test_performance_benchmark_runs_the_naive_baseline_and_reports(tmp_path):
    configs = {"ours/nutpie", "naive/pymc"}
    result, stdout = run_benchmark(tmp_path, "XS", configs)
    check_rows(result, stdout, "XS", configs, cells=60)


@pytest.mark.full
def test_performance_benchmark_reports_every_configuration(tmp_path):
    pytest.importorskip("numpyro", reason="the benchmark compares the numpyro backend too")
    result, stdout = run_benchmark(tmp_path, "S", CONFIGS)
    check_rows(result, stdout, "S", CONFIGS, cells=500)


def test_kernel_benchmark_times_every_kernel_against_a_revision(tmp_path):
    """benchmarks/kernels.py at size S against this checkout's own HEAD: a row per
    kernel with finite times, and the same numbers from both (the same code: any
    difference would be the comparison's own error)."""
    out = tmp_path / "kernels.json"
    script = SCRIPT.parent / "kernels.py"
    done = subprocess.run(
        [sys.executable, str(script), "--baseline", "HEAD", "--size", "S", "--repeat", "3",
         "--json", str(out)], capture_output=True, text=True, timeout=600,
        cwd=SCRIPT.parent.parent,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert [row["kernel"] for row in result["kernels"]] == ["count", "binary", "ordinal"]
    for row in result["kernels"]:
        assert row["rows"] > 0
        assert math.isfinite(row["baseline_ms"]) and row["baseline_ms"] > 0
        assert math.isfinite(row["ours_ms"]) and row["ours_ms"] > 0
        assert row["max_relative_difference"] <= 1e-12
