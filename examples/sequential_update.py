"""Fit the SYNTHETIC demo data up to 2020, then add 2021-2025 one year at a time.

    python examples/sequential_update.py --quick        # a fast look (diagnostics will say so)
    python examples/sequential_update.py --draws 1000 --store fits/demo --out sequential.png
    python examples/sequential_update.py --quick --approximate

Every year's signal rows (and the commitments that start that year, e.g. AUKUS in 2021)
go through ``credibility.updating.update_fit`` with the exact method (with
``--approximate``: the approximate method in years without new commitments, which it
cannot add, and the exact one otherwise), and each result is
stored as a new version of a ``PosteriorStore`` (a temporary folder unless --store is
given), with the previous version as its parent and the merge ledger saved with it.
The figure shows, for a few commitments, the credibility estimated each year for that
year (a "nowcast", with its 90 % interval) against the trajectory the last version
estimates with all the data in hand.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import credibility as cr
from credibility.updating import update_fit

FIRST_YEARS = (2000, 2020)
NEW_YEARS = range(2021, 2026)
HIGHLIGHTS = ("USA-EST", "USA-POL", "USA-JPN", "USA-KOR")


def _table(path: Path) -> pd.DataFrame:
    """A CSV table as text cells, exactly as written (what the parser reads)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def run_updates(store: cr.PosteriorStore, *, draws: int, tune: int, chains: int,
                approximate: bool = False) -> list[str]:
    """Store a fit of 2000-2020 and one update per new year; return the versions."""
    info = cr.dataset_info("demo")
    commitments = _table(info.path / "commitments.csv")
    signals = _table(info.path / "signals.csv")
    periods = signals["period"].astype(int)
    starts = commitments["start"].astype(int)

    data = cr.CredibilityData.from_csv(info.path / "commitments.csv", info.path / "signals.csv",
                                       spec=info.spec, periods=FIRST_YEARS)
    print(data.summary())
    fit = cr.CredibilityModel(info.spec).fit(data, draws=draws, tune=tune, chains=chains,
                                             seed=0, progress=False)
    versions = [store.save(fit, note=f"demo {FIRST_YEARS[0]}-{FIRST_YEARS[1]}")]
    _report(versions[-1], fit)
    for year in NEW_YEARS:
        starting = commitments[starts == year]
        method = "approximate" if approximate and not len(starting) else "exact"
        result = update_fit(fit, signals[periods == year], method=method,
                            new_commitments=starting if len(starting) else None, progress=False)
        fit = result.fit
        versions.append(store.save(fit, parent=versions[-1], method=result.method,
                                   ledger=result.ledger, note=f"signals of {year}"))
        added = ", ".join(result.merge.added_commitments) or "none"
        print(f"{year} ({method}): {result.merge.counts()}; new commitments: {added}")
        _report(versions[-1], fit)
    return versions


def _report(version: str, fit: cr.FitResult) -> None:
    d = fit.diagnostics
    verdict = "ok" if d.ok else "NOT reliable: " + "; ".join(d.problems())
    print(f"  {version}: periods ..{fit.data.last_period}, max R-hat {d.max_rhat:.3f}, "
          f"min bulk ESS {d.min_ess_bulk:.0f}, {d.sampling_seconds:.0f} s sampling; {verdict}")


def plot_nowcasts(store: cr.PosteriorStore, versions: list[str], commitments: tuple[str, ...],
                  path: Path) -> Path:
    """One panel per commitment: each version's estimate of its own last year vs hindsight."""
    fits = [store.load(v) for v in versions]
    final = fits[-1].credibility()
    fig = Figure(figsize=(4.2 * len(commitments), 3.6), dpi=100)
    axes = fig.subplots(1, len(commitments), sharey=True, squeeze=False)[0]
    for ax, commitment in zip(axes, commitments, strict=True):
        path_final = final[final["commitment_id"] == commitment]
        ax.fill_between(path_final["period"], path_final["q05"], path_final["q95"],
                        color="0.85", label="last version, 90 % interval")
        ax.plot(path_final["period"], path_final["mean"], color="0.4",
                label="last version, mean")
        for fit, version in zip(fits, versions, strict=True):
            table = fit.credibility()
            now = table[(table["commitment_id"] == commitment)
                        & (table["period"] == fit.data.last_period)]
            if now.empty:
                continue
            ax.errorbar(now["period"], now["mean"],
                        yerr=np.vstack([now["mean"] - now["q05"], now["q95"] - now["mean"]]),
                        fmt="o", color="#1f5a99", capsize=3,
                        label="nowcast of each version (90 %)" if version == versions[0]
                        else None)
        ax.set_title(commitment)
        ax.set_xlim(FIRST_YEARS[1] - 6, NEW_YEARS[-1] + 0.5)
        ax.set_xlabel("period")
        ax.grid(True, color="0.9")
    axes[0].set_ylabel("credibility (z scale)")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle("Credibility as each year's signals arrive (SYNTHETIC demo data)")
    failed = [v for v, fit in zip(versions, fits, strict=True) if not fit.diagnostics.ok]
    top = 1.0
    if failed:
        # A posterior the sampler could not explore is never shown as if it were sound.
        fig.text(0.5, 0.9, f"diagnostics failed ({', '.join(failed)}): NOT reliable",
                 color="#c00000", ha="center", fontweight="bold")
        top = 0.88
    fig.tight_layout(rect=(0, 0, 1, top))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, facecolor="white")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain")
    parser.add_argument("--tune", type=int, default=1000, help="tuning iterations per chain")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--quick", action="store_true",
                        help="100 draws and 100 tuning iterations on 2 chains: fast, unreliable")
    parser.add_argument("--approximate", action="store_true",
                        help="approximate updates in years without new commitments")
    parser.add_argument("--store", type=Path, default=None,
                        help="posterior store folder (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=Path("sequential_update.png"),
                        help="PNG file for the figure")
    args = parser.parse_args()
    draws, tune, chains = (100, 100, 2) if args.quick else (args.draws, args.tune, args.chains)

    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        # Each version's diagnostics are printed; a short run is expected to fail them.
        warnings.simplefilter("ignore", cr.ConvergenceWarning)
        store = cr.PosteriorStore(args.store or Path(scratch) / "store")
        versions = run_updates(store, draws=draws, tune=tune, chains=chains,
                               approximate=args.approximate)
        print(store.history()[["version", "parent", "method", "rows_added", "max_rhat",
                               "min_ess_bulk", "note"]].to_string(index=False))
        print(f"figure: {plot_nowcasts(store, versions, HIGHLIGHTS, args.out)}")


if __name__ == "__main__":
    main()
