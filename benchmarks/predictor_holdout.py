"""Held-out calibration of the deterrence-success predictor on SYNTHETIC data.

Simulates a world from the default spec with deterrence cases whose outcomes follow
a known outcome model, hides a share of the outcomes, fits the two-stage (and, with
``--joint``, the joint) model on the rest and scores the hidden cases:

- Brier score of the predicted probabilities against the base-rate predictor
  (the share of successes among the fitted cases), with a paired bootstrap
  interval of the difference;
- a reliability table of the held-out predictions;
- coverage of the true coefficients by their 90 % intervals;
- the width of 90 % prediction intervals, two-stage against a plug-in fit on
  posterior means of the same data (the ratio measured side by side).

Prints a table and writes JSON (``--out``). Example::

    python benchmarks/predictor_holdout.py --out benchmarks/results/predictor_holdout.json
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

from credibility import predictor
from credibility.analysis.checks import brier_score, calibration_table
from credibility.inference.diagnostics import ConvergenceWarning
from credibility.model.index import build_index
from credibility.results.fitting import CredibilityModel
from credibility.simulate import simulate, simulate_cases, synthetic_commitments

TRUE = {"intercept": 0.3, "credibility": 1.5,
        "covariates": {"capability_ratio": -0.6, "challenger_nuclear": -0.3}}


def run(args: argparse.Namespace) -> dict:
    sim = simulate("default", synthetic_commitments(args.commitments, args.alliances,
                                                    (2000, 2000 + args.periods - 1),
                                                    seed=args.seed),
                   seed=args.seed, last_period=2000 + args.periods - 1)
    sim = simulate_cases(sim, args.cases, seed=args.seed + 1, intercept=TRUE["intercept"],
                         credibility=TRUE["credibility"], covariates=TRUE["covariates"],
                         hold_out=args.hold_out)
    held = sim.truth["case_held_out"].values
    y_all = sim.truth["case_outcome"].values
    results = {"synthetic": True, "settings": vars(args), "true": TRUE, "modes": {}}
    modes = ["two_stage", "joint"] if args.joint else ["two_stage"]
    for mode in modes:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit = CredibilityModel("default").fit(sim.data, draws=args.draws, tune=args.tune,
                                                  chains=args.chains, seed=args.seed,
                                                  outcome=mode, progress=False)
        seconds = time.perf_counter() - started
        p = fit.predict()["p_mean"].to_numpy()
        y = y_all[held]
        base = np.full(held.sum(), y_all[~held].mean())
        rng = np.random.default_rng(args.seed)
        boot = []
        for _ in range(2000):
            pick = rng.integers(0, held.sum(), held.sum())
            boot.append(brier_score(p[held][pick], y[pick]) - brier_score(base[pick], y[pick]))
        outcome = fit.posterior["outcome"].to_dataset()
        slope = outcome["outcome_credibility"].values.ravel()
        low, high = np.quantile(slope, [0.05, 0.95])
        entry = {
            "seconds": seconds,
            "diagnostics_ok": bool(fit.diagnostics.ok and (
                fit.outcome_diagnostics is None or fit.outcome_diagnostics.ok)),
            "max_rhat": fit.diagnostics.max_rhat,
            "problems": list(fit.diagnostics.problems()) + (
                [] if fit.outcome_diagnostics is None
                else [f"outcome: {p}" for p in fit.outcome_diagnostics.problems()]),
            "held_out_cases": int(held.sum()),
            "brier_model": brier_score(p[held], y),
            "brier_base_rate": brier_score(base, y),
            "brier_difference_q05_q95": [float(np.quantile(boot, 0.05)),
                                         float(np.quantile(boot, 0.95))],
            "slope_mean": float(slope.mean()), "slope_q05": float(low),
            "slope_q95": float(high),
            "slope_covered": bool(low <= TRUE["credibility"] <= high),
            "calibration": calibration_table(p[held], y, bins=5).to_dict(orient="list"),
        }
        if mode == "two_stage":
            design = predictor.outcome_design(fit.data)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                plug_in, _ = predictor.fit_two_stage(
                    fit.posterior["posterior"]["credibility"], build_index(fit.data, fit.spec),
                    design, fit.spec.outcome, plug_in=True, progress=False,
                    sampler=fit.sampler_config.replace(
                        draws=fit.posterior["posterior"].sizes["draw"], until_reliable=False,
                        max_draws=None))
            credibility = fit.posterior["posterior"]["credibility"]
            regions = fit.data.commitments.set_index("commitment_id")["region"]
            means = credibility.mean(("chain", "draw")).broadcast_like(credibility)
            cases = fit.data.cases[held]
            carried = fit.probability_draws(cases)
            fixed = predictor.predict_probabilities(means, plug_in, cases, regions)
            width = {name: np.diff(np.quantile(d, [0.05, 0.95], axis=0), axis=0).ravel()
                     for name, d in (("two_stage", carried), ("plug_in", fixed))}
            entry["interval_width_ratio_two_stage_over_plug_in"] = float(
                width["two_stage"].mean() / width["plug_in"].mean())
            entry["slope_sd_ratio_two_stage_over_plug_in"] = float(
                slope.std() / plug_in["outcome_credibility"].values.std())
        results["modes"][mode] = entry
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commitments", type=int, default=30)
    parser.add_argument("--alliances", type=int, default=5)
    parser.add_argument("--periods", type=int, default=16)
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--hold-out", type=float, default=0.25)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--joint", action="store_true", help="also fit the joint model")
    parser.add_argument("--out", type=Path,
                        default=Path("benchmarks/results/predictor_holdout.json"))
    args = parser.parse_args()
    results = run(args)
    print("SYNTHETIC data: held-out calibration of the deterrence predictor")
    print(f"{'mode':<10} {'held out':>8} {'Brier':>7} {'base':>7} {'diff 90% (boot)':>20} "
          f"{'slope (true 1.5)':>22} {'width ratio':>11} {'time s':>7}")
    for mode, r in results["modes"].items():
        diff = "[{:+.3f}, {:+.3f}]".format(*r["brier_difference_q05_q95"])
        slope = f"{r['slope_mean']:.2f} [{r['slope_q05']:.2f}, {r['slope_q95']:.2f}]"
        ratio = r.get("interval_width_ratio_two_stage_over_plug_in")
        print(f"{mode:<10} {r['held_out_cases']:>8} {r['brier_model']:>7.3f} "
              f"{r['brier_base_rate']:>7.3f} {diff:>20} {slope:>22} "
              f"{'' if ratio is None else f'{ratio:.2f}':>11} {r['seconds']:>7.0f}")
        if not r["diagnostics_ok"]:
            print(f"  warning: {mode} fit failed its diagnostics: {'; '.join(r['problems'])}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
