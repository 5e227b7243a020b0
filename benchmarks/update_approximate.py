"""Approximate vs exact update on the demo-sized case, measured side by side.

Fits the SYNTHETIC demo data (or, with ``--synthetic NxT``, data simulated from the
default spec for N commitments over T periods from 2000) with signals up to LAST-1
(signals only), then adds the signal rows of LAST with ``update_fit(method="exact")``
and ``update_fit(method="approximate")`` from the same previous fit, and reports:

- wall time of each update (merge, build/compile and sampling) and their ratio;
- per commitment-period, the difference of posterior means in units of the
  exact update's posterior sd: the maximum over all cells, over the new period and
  over the last previously fitted period, and the share of cells within 0.25 sd;
- the same differences between the exact update and a second exact update with
  another seed: the Monte Carlo noise floor of such comparisons;
- the diagnostics of each fit.

The previous fit's window runs to ``--window-end`` (default: the demo's, 2026), so
LAST and the periods after it are forecast periods of that fit, as they are when a
user fits the demo and adds the next year's rows as they arrive; ``--window-end
LAST-1`` gives a window that the new rows extend instead.

Prints a table and writes JSON (``--out``). Example::

    python benchmarks/update_approximate.py --draws 2500
    python benchmarks/update_approximate.py --synthetic 50x30 --draws 1000 \
        --out benchmarks/results/update_approximate_50x30.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

from credibility.analysis.updating import update_fit
from credibility.data.container import CredibilityData
from credibility.data.datasets import dataset_info
from credibility.inference.diagnostics import ConvergenceWarning
from credibility.results.fitting import CredibilityModel
from credibility.simulate import simulate, synthetic_commitments

SIGNAL_COLUMNS = ["commitment_id", "alliance", "period", "signal", "value"]


def synthetic_folder(size: str, seed: int) -> tuple[Path, int]:
    """SYNTHETIC data of ``size`` ("NxT": N commitments in 6 alliances over T periods
    from 2000), simulated from the default spec and written to a temporary folder;
    returns the folder and the last period."""
    n, t = (int(part) for part in size.lower().split("x"))
    last = 2000 + t - 1
    sim = simulate("default", synthetic_commitments(n, 6, (2000, last), seed=seed),
                   seed=seed, last_period=last)
    folder = Path(tempfile.mkdtemp())
    sim.data.to_csv(folder)
    return folder, last


def run(args: argparse.Namespace) -> dict:
    if args.synthetic:
        folder, last = synthetic_folder(args.synthetic, args.seed)
        args.last = last if args.last is None else args.last
        args.window_end = args.last + 1 if args.window_end is None else args.window_end
    else:
        folder = dataset_info("demo").path
        args.last = 2025 if args.last is None else args.last
        args.window_end = 2026 if args.window_end is None else args.window_end
    full = CredibilityData.from_csv(folder / "commitments.csv", folder / "signals.csv",
                                    periods=(2000, max(args.last, args.window_end)))
    earlier = Path(tempfile.mkdtemp()) / "signals.csv"
    signals = full.signals[full.signals["period"] < args.last]
    signals.assign(alliance=signals["alliance"].where(signals["level"] == "alliance", ""))[
        SIGNAL_COLUMNS].to_csv(earlier, index=False)
    previous = CredibilityData.from_csv(folder / "commitments.csv", earlier,
                                        periods=(2000, args.window_end))
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
        fits["exact_again"] = update_fit(base, rows, method="exact", seed=args.seed + 100,
                                         progress=False).fit
    exact = fits["exact"].credibility()

    def compare(other: str) -> dict:
        table = exact.merge(fits[other].credibility(), on=["commitment_id", "period"],
                            suffixes=("_exact", "_other"))
        z = ((table["mean_other"] - table["mean_exact"]) / table["sd_exact"]).abs()
        new = table["period"] == args.last
        last_fitted = table["period"] == args.last - 1
        worst = table.assign(abs_z=z).nlargest(5, "abs_z")
        return {"max_abs_z": {"all": float(z.max()), "new_period": float(z[new].max()),
                              "last_fitted_period": float(z[last_fitted].max()),
                              "earlier": float(z[~new & ~last_fitted].max())},
                "share_within_0.25_sd": float((z <= 0.25).mean()),
                "sd_ratio_new_period": float((table.loc[new, "sd_other"]
                                              / table.loc[new, "sd_exact"]).mean()),
                "worst_cells": worst[["commitment_id", "period", "mean_exact", "mean_other",
                                      "sd_exact", "abs_z"]].to_dict(orient="records")}

    approximate, floor = compare("approximate"), compare("exact_again")
    return {
        "synthetic": True,
        "settings": {**settings, "data": args.synthetic or "demo", "last": args.last,
                     "window_end": args.window_end,
                     "cells": len(exact),
                     "new_rows": len(rows)},
        "seconds": {"base_fit": base_seconds, **timings},
        "speedup_exact_over_approximate": timings["exact"] / timings["approximate"],
        "approximate_vs_exact": approximate,
        "exact_vs_exact_other_seed": floor,
        "diagnostics": {"base": base.diagnostics.to_dict(),
                        **{m: f.diagnostics.to_dict() for m, f in fits.items()}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--last", type=int, default=None,
                        help="the period to add (default: the demo's 2025, or the synthetic "
                        "data's last period)")
    parser.add_argument("--window-end", type=int, default=None,
                        help="last period of the previous fit's window (default: the demo's "
                        "2026, or the period after the synthetic data's last)")
    parser.add_argument("--synthetic", default=None, metavar="NxT",
                        help="simulated data of N commitments over T periods instead of the "
                        "demo data, e.g. 50x30")
    parser.add_argument("--draws", type=int, default=2500)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path,
                        default=Path("benchmarks/results/update_approximate.json"))
    args = parser.parse_args()
    result = run(args)
    seconds = result["seconds"]
    data = f"{args.synthetic} simulated" if args.synthetic else "demo"
    print(f"SYNTHETIC {data} data: approximate vs exact update (same previous fit, same run)")
    print(f"  cells {result['settings']['cells']}, new rows {result['settings']['new_rows']}, "
          f"{args.chains} chains x {args.draws} draws")
    print(f"  wall time: base fit {seconds['base_fit']:.0f} s, exact update "
          f"{seconds['exact']:.0f} s, approximate update {seconds['approximate']:.0f} s "
          f"-> exact/approximate = {result['speedup_exact_over_approximate']:.1f}x")
    print("  max |mean difference| / exact posterior sd, per group of cells:")
    for label, key in (("approximate vs exact", "approximate_vs_exact"),
                       ("exact vs exact (other seed: noise floor)", "exact_vs_exact_other_seed")):
        z = result[key]["max_abs_z"]
        print(f"    {label}: all {z['all']:.3f}, new period {z['new_period']:.3f}, last "
              f"fitted {z['last_fitted_period']:.3f}, earlier {z['earlier']:.3f}; share within "
              f"0.25 sd {result[key]['share_within_0.25_sd']:.3f}")
    for name, d in result["diagnostics"].items():
        verdict = "ok" if d["ok"] else "FAILED"
        print(f"  diagnostics {name}: {verdict} (max R-hat {d['max_rhat']:.3f}, min bulk ESS "
              f"{d['min_ess_bulk']:.0f}, divergences {d['divergences']})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
