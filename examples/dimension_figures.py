"""Capability and willingness: figures of a model of two dimensions
==================================================================

Draw the figures of a model of several dimensions from a small SYNTHETIC fit::

    python examples/dimension_figures.py                 # docs/figures/dimensions/
    python examples/dimension_figures.py --draws 100     # a quick look (diagnostics will say so)

Simulates 12 commitments in 3 alliances over 2000-2012 from
``models/capability_willingness.toml`` (credibility.simulate: every value is
SYNTHETIC), fits its measurement model and writes dimension_trajectories.png,
dimension_map.png and loadings.png (docs/model.md, "Several dimensions").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import credibility as cr
from credibility.analysis.plots import (
    plot_dimension_map,
    plot_dimension_trajectories,
    plot_loadings,
)

FIGURES = Path("docs/figures/dimensions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--out", type=Path, default=FIGURES)
    args = parser.parse_args()

    commitments = cr.synthetic_commitments(12, 3, (2000, 2012), seed=7)
    sim = cr.simulate("capability_willingness", commitments, seed=7, last_period=2012)
    fit = cr.CredibilityModel("capability_willingness").fit(
        sim.data, draws=args.draws, tune=args.tune, chains=2, seed=0, outcome="none",
        progress=False, until_reliable=False)
    for check, value, verdict in fit.diagnostics.lines():
        print(f"{check:>22}: {value:>10}  {verdict}")

    args.out.mkdir(parents=True, exist_ok=True)
    plot_dimension_trajectories(fit, path=args.out / "dimension_trajectories.png")
    plot_dimension_map(fit, path=args.out / "dimension_map.png")
    plot_loadings(fit, path=args.out / "loadings.png")
    print(f"Written to {args.out}/")


if __name__ == "__main__":
    main()
