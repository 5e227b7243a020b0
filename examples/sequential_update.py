"""A year of updates as data arrive
=================================

Updates on the SYNTHETIC demo data, its year 2025 playing "now"::

    python examples/sequential_update.py --quick        # a fast look (diagnostics will say so)
    python examples/sequential_update.py --store fits/demo --out sequential.png

The flow a user follows through a year, with the demo's 2025 as the year that arrives:

1. **Start of the year.** Fit the signals to 2024 with a window to 2025, so that 2025 is
   a forecast period (no signals yet); the 2025 deterrence cases are open (their
   outcomes are not known yet) and get predictions.
2. **Early reports.** The 2025 rows of the event signals (exercises, consultations,
   intelligence sharing) arrive: an *approximate* update, which samples only the
   periods after the last one with data, here the forecast year.
3. **Annual reports.** The 2025 troop and spending rows arrive: another approximate
   update.
4. **Year end.** The 2025 cases are resolved (their outcomes become known): an *exact*
   update refits everything on all the data, the outcome model included.

Each step is stored as a version of a ``PosteriorStore`` (a temporary folder unless
--store is given) with its parent and ledgers. The figure shows, for a few
commitments, what each version says about their 2025 credibility, and the
predictions of the 2025 cases before and after the year.
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
from credibility.analysis.updating import update_fit

#: The year that arrives, and the first year of the data.
YEAR = 2025
FIRST = 2000
#: Signals reported during the year; the others (troops, spending) come in annual reports.
EARLY_SIGNALS = ("joint_exercises", "consultation", "intel_sharing", "alliance_exercises")
HIGHLIGHTS = ("USA-EST", "USA-POL", "USA-JPN", "USA-KOR")


def _table(path: Path) -> pd.DataFrame:
    """A CSV table as text cells, exactly as written (what the parser reads)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def run_year(store: cr.PosteriorStore, *, draws: int, tune: int, chains: int
             ) -> list[tuple[str, str]]:
    """Store the start-of-year fit and the year's three updates; return (version, step)."""
    info = cr.dataset_info("demo")
    commitments = _table(info.path / "commitments.csv")
    signals = _table(info.path / "signals.csv")
    cases = _table(info.path / "cases.csv")
    period = signals["period"].astype(int)
    case_period = cases["period"].astype(int)
    this_year = cases[case_period == YEAR]
    known = cases[case_period < YEAR]
    open_cases = this_year.assign(outcome="")

    data = cr.CredibilityData.from_frames(
        commitments, signals[period < YEAR], pd.concat([known, open_cases]), spec=info.spec,
        periods=(FIRST, YEAR),
        names={"signals": f"demo signals to {YEAR - 1}", "cases": "demo cases"})
    print(data.summary())
    fit = cr.CredibilityModel(info.spec).fit(data, draws=draws, tune=tune, chains=chains,
                                             seed=0, progress=False)
    steps = [(store.save(fit, note=f"start of {YEAR}: signals to {YEAR - 1}, {YEAR} a "
                                   "forecast"), "start of year (forecast)")]
    _report(steps[-1], fit)

    early = signals[(period == YEAR) & signals["signal"].isin(EARLY_SIGNALS)]
    annual = signals[(period == YEAR) & ~signals["signal"].isin(EARLY_SIGNALS)]
    for rows, step in ((early, "early reports (approximate)"),
                       (annual, "annual reports (approximate)")):
        result = update_fit(fit, rows, method="approximate", progress=False)
        fit = result.fit
        steps.append((store.save(fit, parent=steps[-1][0], method=result.method,
                                 ledger=result.ledger, note=f"{YEAR}: {step}"), step))
        print(f"{step}: {result.merge.counts()}")
        _report(steps[-1], fit)

    result = update_fit(fit, new_cases=this_year, method="exact", progress=False)
    fit = result.fit
    steps.append((store.save(fit, parent=steps[-1][0], method=result.method,
                             cases_ledger=result.cases.ledger,
                             note=f"{YEAR}: year end, cases resolved (exact)"),
                  "year end (exact)"))
    print(f"year end: cases {result.cases.counts()}")
    _report(steps[-1], fit)
    return steps


def _report(step: tuple[str, str], fit: cr.FitResult) -> None:
    d = fit.diagnostics
    verdict = "ok" if d.ok else "NOT reliable: " + "; ".join(d.problems())
    label = " (APPROXIMATE)" if fit.is_approximate else ""
    print(f"  {step[0]}{label}: max R-hat {d.max_rhat:.3f}, min bulk ESS "
          f"{d.min_ess_bulk:.0f}, {d.sampling_seconds:.0f} s sampling; {verdict}")


def plot_year(store: cr.PosteriorStore, steps: list[tuple[str, str]],
              commitments: tuple[str, ...], path: Path) -> Path:
    """One panel per commitment: its 2025 credibility in each version (90 % intervals),
    and a last panel with the 2025 cases' predictions at the start and the end."""
    fits = [store.load(version) for version, _ in steps]
    fig = Figure(figsize=(3.4 * (len(commitments) + 1), 3.8), dpi=100)
    axes = fig.subplots(1, len(commitments) + 1, squeeze=False)[0]
    x = np.arange(len(steps))
    for ax, commitment in zip(axes, commitments, strict=False):
        for i, fit in enumerate(fits):
            table = fit.credibility()
            row = table[(table["commitment_id"] == commitment) & (table["period"] == YEAR)]
            if row.empty:
                continue
            color = "#b35900" if fit.is_approximate else "#1f5a99"
            ax.errorbar(x[i], row["mean"], yerr=[row["mean"] - row["q05"],
                                                 row["q95"] - row["mean"]],
                        fmt="o", color=color, capsize=3)
        ax.set_title(f"{commitment}, {YEAR}")
        ax.set_xticks(x, [f"{version}\n{step.split(' (')[0]}" for version, step in steps],
                      fontsize=7)
        ax.grid(True, color="0.9")
    axes[0].set_ylabel("credibility (z scale); orange: approximate")
    ax = axes[-1]
    before = fits[0].predict().set_index("case_id")
    after = fits[-1].predict().set_index("case_id")
    ids = fits[-1].data.cases.query("period == @YEAR")["case_id"].tolist()
    outcome = fits[-1].data.cases.set_index("case_id").loc[ids, "outcome"]
    for i, case_id in enumerate(ids):
        for table, dx, color in ((before, -0.15, "0.55"), (after, 0.15, "#1f5a99")):
            p = table.loc[case_id]
            ax.errorbar(i + dx, p["p_mean"], yerr=[[p["p_mean"] - p["p_q05"]],
                                                   [p["p_q95"] - p["p_mean"]]],
                        fmt="o", color=color, capsize=2)
        ax.text(i, 1.02, "held" if outcome[case_id] == 1 else "failed", ha="center",
                fontsize=6, rotation=90, va="bottom")
    ax.set_xticks(range(len(ids)), ids, rotation=90, fontsize=6)
    ax.set_ylim(0, 1.15)
    ax.set_title(f"{YEAR} cases: P(success)\nstart of year (grey), year end (blue)", fontsize=9)
    fig.suptitle(f"A year of updates: {YEAR} as it arrives (SYNTHETIC demo data)")
    failed = [v for (v, _), fit in zip(steps, fits, strict=True) if not fit.diagnostics.ok]
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
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain")
    parser.add_argument("--tune", type=int, default=1000, help="tuning iterations per chain")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--quick", action="store_true",
                        help="100 draws and 100 tuning iterations on 2 chains: fast, unreliable")
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
        steps = run_year(store, draws=draws, tune=tune, chains=chains)
        print(store.history()[["version", "parent", "method", "rows_added", "cases_resolved",
                               "max_rhat", "min_ess_bulk", "note"]].to_string(index=False))
        print(f"figure: {plot_year(store, steps, HIGHLIGHTS, args.out)}")


if __name__ == "__main__":
    main()
