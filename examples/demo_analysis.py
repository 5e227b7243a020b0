"""The demo data set: fit, rank, and check against the synthetic truth
=====================================================================

Fit the measurement model to the bundled SYNTHETIC demo data and look at the result::

    python examples/demo_analysis.py                 # the full run `credibility demo` does
    python examples/demo_analysis.py --draws 200     # a quick look (diagnostics will say so)

Writes figures and the credibility table to ``examples_output/``.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import pandas as pd

import credibility as cr
from credibility.analysis.plots import plot_forest, plot_loadings, plot_trajectories


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--draws", type=int, default=2500)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("examples_output"))
    args = parser.parse_args()

    data = cr.load_dataset("demo")  # SYNTHETIC values on a realistic alliance structure
    print(data.summary())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", cr.ConvergenceWarning)
        fit = cr.CredibilityModel("default").fit(data, draws=args.draws, tune=args.tune,
                                                 chains=4, seed=0)
    for warning in caught:
        print("WARNING:", warning.message)
    for check, value, verdict in fit.diagnostics.lines():
        print(f"{check:>22}: {value:>10}  {verdict}")

    table = fit.credibility()
    last = table[table["period"] == data.last_period].sort_values("mean", ascending=False)
    print(f"\nMost and least credible commitments in {data.last_period} (z scale, 90 % interval):")
    print(pd.concat([last.head(3), last.tail(3)]).to_string(index=False))

    truth = pd.read_csv(cr.dataset_info("demo").path / "truth.csv")
    merged = table.merge(truth, on=["commitment_id", "period"])
    covered = merged["true_credibility"].between(merged["q05"], merged["q95"]).mean()
    print(f"\nRecovery of the synthetic truth: correlation "
          f"{merged['mean'].corr(merged['true_credibility']):.3f}, 90 % coverage {covered:.3f}")

    args.out.mkdir(parents=True, exist_ok=True)
    truth_grid = truth.set_index(["commitment_id", "period"])["true_credibility"].to_xarray()
    truth_grid = truth_grid.rename({"commitment_id": "commitment"})
    plot_trajectories(fit, ["USA-EST", "USA-POL", "USA-JPN", "USA-KOR"], truth=truth_grid,
                      path=args.out / "trajectories.png")
    plot_forest(fit, path=args.out / "forest.png")
    plot_loadings(fit, path=args.out / "loadings.png")
    table.to_csv(args.out / "credibility.csv", index=False)
    print(f"\nWritten to {args.out}/")


if __name__ == "__main__":
    main()
