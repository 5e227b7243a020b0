"""Cost of the convergence diagnostics: credibility's R-hat and ESS against ArviZ's.

    python benchmarks/diagnostics.py [--elements 8192] [--chains 4] [--draws 1000]
        [--baseline REV] [--json benchmarks/results/diagnostics.json]

Every fit computes rank-normalised R-hat and bulk and tail ESS of every free
variable and credibility cell: ~30,000 elements at size M and ~100,000 at L, of
4 x 1,000 draws each. On SYNTHETIC draws (AR(1) chains, one element per column,
fixed seed) of that shape this times, side by side in one process, ArviZ's
functions (one element at a time) and ``credibility.inference.diagnostics`` (blocks of
2,048 elements as array operations, ``DIAGNOSTIC_THREADS`` blocks at once, and
again one block at a time), checks that both give the same numbers, and reports
the peak memory each adds (tracemalloc, numpy allocations). The last row is what a
fit computes: all three in one pass (``compute_diagnostics``) against the sum of
ArviZ's three. ``--baseline REV`` times that pass, side by side, with
``credibility/inference/diagnostics.py`` as it was at git revision ``REV`` too (a speed-up of
ours measured against our own earlier code). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np


def synthetic_draws(chains: int, draws: int, elements: int, seed: int = 0):
    """SYNTHETIC AR(1) chains (persistence 0.5 to 0.95 across elements) as a Dataset."""
    import xarray as xr

    rng = np.random.default_rng(seed)
    rho = np.linspace(0.5, 0.95, elements)
    x = np.empty((chains, draws, elements))
    x[:, 0] = rng.normal(size=(chains, elements))
    for t in range(1, draws):
        x[:, t] = rho * x[:, t - 1] + np.sqrt(1 - rho**2) * rng.normal(size=(chains, elements))
    return xr.Dataset({"x": (("chain", "draw", "cell"), x)})


def _measure(function) -> tuple[object, float, float]:
    """Result, seconds and peak traced MiB of ``function()``."""
    tracemalloc.start()
    started = time.perf_counter()
    result = function()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, peak


def module_at(revision: str, name: str = "diagnostics", path: str | None = None):
    """``credibility/<name>.py`` (or the file ``path`` of the repository) as it was at git
    ``revision``, imported on its own (as ``<name>_baseline``; its own imports of
    ``credibility`` are today's package)."""
    path = path or f"credibility/{name}.py"
    source = subprocess.run(["git", "show", f"{revision}:{path}"],
                            check=True, capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1]).stdout
    path = Path(tempfile.mkdtemp()) / f"{name}_baseline.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"{name}_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[f"{name}_baseline"] = module
    spec.loader.exec_module(module)
    return module


def run(elements: int, chains: int, draws: int, baseline: str | None = None) -> dict:
    import arviz as az
    import xarray as xr

    from credibility.inference import diagnostics
    from credibility.inference.diagnostics import ess, rhat

    post = synthetic_draws(chains, draws, elements)
    rhat(post.isel(cell=slice(0, 3)))  # numba's compile (cached after the first run)
    ess(post.isel(cell=slice(0, 3)), "bulk")
    rows = []
    for name, ours, theirs in (
        ("R-hat (rank)", lambda: rhat(post), lambda: az.rhat(post)),
        ("bulk ESS", lambda: ess(post, "bulk"), lambda: az.ess(post, method="bulk")),
        ("tail ESS", lambda: ess(post, "tail"), lambda: az.ess(post, method="tail")),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference, arviz_s, arviz_mib = _measure(theirs)
        result, ours_s, ours_mib = _measure(ours)
        threads = diagnostics.DIAGNOSTIC_THREADS
        diagnostics.DIAGNOSTIC_THREADS = 1
        try:
            single, one_thread_s, _ = _measure(ours)
        finally:
            diagnostics.DIAGNOSTIC_THREADS = threads
        assert np.array_equal(single["x"].to_numpy(), result["x"].to_numpy(), equal_nan=True)
        difference = float(np.max(np.abs(result["x"].to_numpy() - reference["x"].to_numpy())
                                  / np.abs(reference["x"].to_numpy())))
        rows.append({"statistic": name, "arviz_s": arviz_s, "ours_s": ours_s,
                     "speed_up": arviz_s / ours_s, "threads": threads,
                     "ours_one_thread_s": one_thread_s, "arviz_peak_mib": arviz_mib,
                     "ours_peak_mib": ours_mib, "max_relative_difference": difference})
    # A fit's diagnostics: the three statistics in one pass.
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((chains, draws), bool))})
    _, ours_s, ours_mib = _measure(
        lambda: diagnostics.compute_diagnostics(post, stats, sampling_seconds=1.0))
    threads = diagnostics.DIAGNOSTIC_THREADS
    diagnostics.DIAGNOSTIC_THREADS = 1
    try:
        _, one_thread_s, _ = _measure(
            lambda: diagnostics.compute_diagnostics(post, stats, sampling_seconds=1.0))
    finally:
        diagnostics.DIAGNOSTIC_THREADS = threads
    arviz_s = sum(row["arviz_s"] for row in rows)
    rows.append({"statistic": "all three", "arviz_s": arviz_s, "ours_s": ours_s,
                 "speed_up": arviz_s / ours_s, "threads": threads,
                 "ours_one_thread_s": one_thread_s,
                 "arviz_peak_mib": max(row["arviz_peak_mib"] for row in rows),
                 "ours_peak_mib": ours_mib, "max_relative_difference": max(
                     row["max_relative_difference"] for row in rows)})
    compared = None
    if baseline is not None:
        before = module_at(baseline)
        before.rhat(post.isel(cell=slice(0, 3)))  # its numba compile
        # Alternately, twice each: the machine's drift hits both alike.
        seconds = {"baseline": [], "ours": []}
        for _ in range(2):
            for name, module in (("baseline", before), ("ours", diagnostics)):
                started = time.perf_counter()
                result = module.compute_diagnostics(post, stats, sampling_seconds=1.0)
                seconds[name].append(time.perf_counter() - started)
                if name == "baseline":
                    reference = result
        now = diagnostics.compute_diagnostics(post, stats, sampling_seconds=1.0)
        compared = {"revision": baseline, "baseline_s": min(seconds["baseline"]),
                    "ours_s": min(seconds["ours"]),
                    "speed_up": min(seconds["baseline"]) / min(seconds["ours"]),
                    "same_extremes": bool(
                        np.isclose(now.max_rhat, reference.max_rhat, rtol=1e-9)
                        and np.isclose(now.min_ess_bulk, reference.min_ess_bulk, rtol=1e-9)
                        and np.isclose(now.min_ess_tail, reference.min_ess_tail, rtol=1e-9))}
    return {"synthetic": True, "chains": chains, "draws": draws, "elements": elements,
            "draws_mib": post["x"].nbytes / 2**20, "results": rows, "baseline": compared}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--elements", type=int, default=8192)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--baseline", default=None,
                        help="git revision whose diagnostics.py to time side by side")
    parser.add_argument("--json", default="benchmarks/results/diagnostics.json")
    args = parser.parse_args()
    result = run(args.elements, args.chains, args.draws, args.baseline)
    print(f"SYNTHETIC draws: {args.chains} chains x {args.draws} draws x {args.elements} "
          f"elements ({result['draws_mib']:.0f} MiB)")
    print(f"{'statistic':14} {'ArviZ s':>8} {'ours s':>8} {'1 thread':>9} {'speed-up':>9} "
          f"{'ArviZ MiB':>10} {'ours MiB':>9} {'max rel diff':>13}")
    for row in result["results"]:
        print(f"{row['statistic']:14} {row['arviz_s']:8.2f} {row['ours_s']:8.2f} "
              f"{row['ours_one_thread_s']:9.2f} {row['speed_up']:8.1f}x "
              f"{row['arviz_peak_mib']:10.0f} {row['ours_peak_mib']:9.0f} "
              f"{row['max_relative_difference']:13.1e}")
    print(f"ours s: {result['results'][0]['threads']} blocks at once (DIAGNOSTIC_THREADS)")
    if result["baseline"]:
        b = result["baseline"]
        print(f"all three, side by side: {b['revision']} {b['baseline_s']:.2f} s, ours "
              f"{b['ours_s']:.2f} s ({b['speed_up']:.1f}x); same extremes: {b['same_extremes']}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
