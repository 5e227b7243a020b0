"""Time to a reliable posterior with the package's defaults (issue #26), on SYNTHETIC data.

``CredibilityModel("default").fit(data)`` exactly as a user calls it: until reliable,
with the first check's adapted coordinates (decision 33) and restarts at a higher
target acceptance (decision 32), on the data of one of ``benchmarks/performance.py``'s
sizes, for several sampler seeds. ``performance.py --until-reliable`` times the
sampler's run on a fixed model instead (the same coordinates throughout), which is
what it compares with the naive model; this script is what a user waits for.

Reports per seed: pass or fail of the fit's own diagnostics, the whole call's wall
time (build, compile, every sampling run, diagnostics), max R-hat, min bulk ESS,
divergences, the slowest parameter and what the run did. Prints a table and writes
JSON. Example::

    python benchmarks/default_fit.py --size S --seeds 0 1 2 \\
        --out benchmarks/results/default_fit_S.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

from performance import SIZES, simulated

from credibility.data.spec import load_spec
from credibility.inference.diagnostics import ConvergenceWarning
from credibility.results.fitting import CredibilityModel

HERE = Path(__file__).resolve().parent


def fit_once(size: str, seed: int, spectral: bool = False) -> dict:
    """One default fit of the ``size`` data with sampler seed ``seed``.

    ``spectral`` starts from spectral states instead of the default spec's centred ones.
    """
    data = simulated(size).data
    spec = load_spec("default")
    if spectral:
        spec = dataclasses.replace(spec, spectral_states=True)
    started = time.perf_counter()

    def stage(text: str) -> None:
        # Each stage and check as it happens, on stderr: a long run killed before its
        # end still says how far it got.
        print(f"  [seed {seed}, {time.perf_counter() - started:.0f} s] {text}",
              file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = CredibilityModel(spec).fit(data, seed=seed, progress=False, outcome="none",
                                         on_stage=stage)
    seconds = time.perf_counter() - started
    d = fit.diagnostics
    return {"seed": seed, "passed": d.ok, "seconds": round(seconds, 1),
            "max_rhat": round(d.max_rhat, 4), "min_ess_bulk": round(d.min_ess_bulk),
            "divergences": d.divergences, "slowest": d.worst_rhat, "run": d.run,
            "coordinates": fit.settings.get("coordinates")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--size", choices=list(SIZES), default="S")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--spectral", action="store_true",
                        help="start from spectral states (the default spec otherwise)")
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                            capture_output=True, text=True).stdout.strip() or None
    rows = []
    print(f"size {args.size} {SIZES[args.size]} (SYNTHETIC), CredibilityModel.fit defaults")
    print(f"{'seed':>4} {'passed':>6} {'seconds':>8} {'R-hat':>7} {'ESS':>6} {'div':>4}  run")
    for seed in args.seeds:
        row = fit_once(args.size, seed, args.spectral)
        rows.append(row)
        print(f"{seed:>4} {row['passed']!s:>6} {row['seconds']:>8.1f} {row['max_rhat']:>7.4f} "
              f"{row['min_ess_bulk']:>6} {row['divergences']:>4}  {row['run']}", flush=True)
    passed = sum(row["passed"] for row in rows)
    print(f"{passed} of {len(rows)} passed")
    if args.out:
        args.out.write_text(json.dumps({"synthetic": True, "size": args.size,
                                        "commitments_periods": SIZES[args.size],
                                        "spectral_states": args.spectral, "commit": commit,
                                        "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
