"""Approximate vs exact update on the demo-sized case, measured side by side.

Fits the SYNTHETIC demo data for 2000..LAST-1 (signals only), then adds the
signal rows of LAST with ``update_fit(method="exact")`` and
``update_fit(method="approximate")`` from the same previous fit, and reports:

- wall time of each update (merge, build/compile and sampling) and their ratio;
- per commitment-period, the difference of posterior means in units of the
  exact update's posterior sd: the maximum over all cells, over the new period and
  over the last previously fitted period, and the share of cells within 0.25 sd;
- the diagnostics of each fit.

Prints a table and writes JSON (``--out``). Example::

    python benchmarks/update_approximate.py --draws 2500
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

from credibility.datasets import dataset_info
from credibility.diagnostics import ConvergenceWarning
from credibility.fitting import CredibilityModel
from credibility.schema import CredibilityData
from credibility.updating import update_fit

SIGNAL_COLUMNS = ["commitment_id", "alliance", "period", "signal", "value"]


def run(args: argparse.Namespace) -> dict:
    folder = dataset_info("demo").path
    previous = CredibilityData.from_csv(folder / "commitments.csv", folder / "signals.csv",
                                        periods=(2000, args.last - 1))
    full = CredibilityData.from_csv(folder / "commitments.csv", folder / "signals.csv",
                                    periods=(2000, args.last))
    rows = full.signals[full.signals["period"] == args.last]
    rows = rows.assign(alliance=rows["alliance"].where(rows["level"] == "alliance", ""))
    rows = rows[SIGNAL_COLUMNS]
    settings = {"draws": args.draws, "tune": args.tune, "chains": args.chains, "seed": args.seed}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        base = CredibilityModel("default").fit(previous, progress=False, outcome="none",
                                               **settings)
        base_seconds = time.perf_counter() - started
        timings, fits = {}, {}
        for method in ("exact", "approximate"):
            started = time.perf_counter()
            fits[method] = update_fit(base, rows, method=method, progress=False).fit
            timings[method] = time.perf_counter() - started
    exact = fits["exact"].credibility()
    approx = fits["approximate"].credibility()
    merged = exact.merge(approx, on=["commitment_id", "period"], suffixes=("_exact", "_approx"))
    merged["z"] = (merged["mean_approx"] - merged["mean_exact"]) / merged["sd_exact"]
    merged["abs_z"] = merged["z"].abs()
    new = merged["period"] == args.last
    last_fitted = merged["period"] == args.last - 1
    return {
        "synthetic": True,
        "settings": {**settings, "last": args.last, "cells": len(merged),
                     "new_rows": len(rows)},
        "seconds": {"base_fit": base_seconds, **timings},
        "speedup_exact_over_approximate": timings["exact"] / timings["approximate"],
        "max_abs_z": {"all": float(merged["abs_z"].max()),
                      "new_period": float(merged.loc[new, "abs_z"].max()),
                      "last_fitted_period": float(merged.loc[last_fitted, "abs_z"].max()),
                      "earlier": float(merged.loc[~new & ~last_fitted, "abs_z"].max())},
        "share_within_0.25_sd": float((merged["abs_z"] <= 0.25).mean()),
        "sd_ratio_new_period": float((merged.loc[new, "sd_approx"]
                                      / merged.loc[new, "sd_exact"]).mean()),
        "diagnostics": {"base": base.diagnostics.to_dict(),
                        **{m: f.diagnostics.to_dict() for m, f in fits.items()}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--last", type=int, default=2025, help="the period to add")
    parser.add_argument("--draws", type=int, default=2500)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path,
                        default=Path("benchmarks/results/update_approximate.json"))
    args = parser.parse_args()
    result = run(args)
    seconds = result["seconds"]
    print("SYNTHETIC demo data: approximate vs exact update (same previous fit, same run)")
    print(f"  cells {result['settings']['cells']}, new rows {result['settings']['new_rows']}, "
          f"{args.chains} chains x {args.draws} draws")
    print(f"  wall time: base fit {seconds['base_fit']:.0f} s, exact update "
          f"{seconds['exact']:.0f} s, approximate update {seconds['approximate']:.0f} s "
          f"-> exact/approximate = {result['speedup_exact_over_approximate']:.1f}x")
    z = result["max_abs_z"]
    print(f"  max |mean difference| / exact sd: all cells {z['all']:.3f}, new period "
          f"{z['new_period']:.3f}, last fitted period {z['last_fitted_period']:.3f}, earlier "
          f"{z['earlier']:.3f}; share within 0.25 sd {result['share_within_0.25_sd']:.3f}")
    for name, d in result["diagnostics"].items():
        verdict = "ok" if d["ok"] else "FAILED"
        print(f"  diagnostics {name}: {verdict} (max R-hat {d['max_rhat']:.3f}, min bulk ESS "
              f"{d['min_ess_bulk']:.0f}, divergences {d['divergences']})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
