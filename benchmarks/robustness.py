"""Do ordinary data sets converge with the defaults? (issue #26), on SYNTHETIC data.

Fits a fixed list of simulated data sets that span the designs researchers bring
(10-300 commitments, 10-60 periods, 1-8 alliances, every signal family, 0-50 %
missing reports, staggered or common windows, commitment persistence from 0.3 to
0.98, weak and strong loadings, explicit and ``"auto"`` priors) and the bundled demo
under several seeds, each with ``CredibilityModel.fit``'s defaults (4 chains x 1000
draws after 1000 tuning steps, until reliable; the demo as ``credibility demo``
fits it, 4 x 2500 after 1000 with its two-stage outcome model), and reports per set: pass or fail
of the measurement model (R-hat <= 1.01, bulk and tail ESS >= 400, no divergences;
the demo's outcome model is reported beside it), max R-hat, min bulk and
tail ESS, divergences, the slowest parameter, draws kept and wall time.

Side by side, the same run gives the fixed-length defaults (before runs continued
until reliable): their draws are the first checkpoint's, exactly (the first 1000
draws of every chain do not depend on how many follow, docs/decisions.md 30), so the
first check *is* the fixed-length fit, and its time is the time to that check.

Every set's data are simulated from explicit priors; sets marked ``auto`` are fitted
with the same signals' priors set to ``"auto"`` (scaled from the data). Prints a
table and writes JSON (each set as it finishes, so a long run can be resumed with
``--resume``). Examples::

    python benchmarks/robustness.py --out benchmarks/results/robustness.json
    python benchmarks/robustness.py --max-cells 2000 --demo-seeds 0 \\
        --out benchmarks/results/robustness_small.json   # the smaller sets only
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
import warnings
from pathlib import Path

import numpy as np

from credibility.data.datasets import load_dataset
from credibility.data.spec import ModelSpec, load_spec
from credibility.inference.diagnostics import ESS_MIN, RHAT_MAX, ConvergenceWarning
from credibility.results.fitting import CredibilityModel
from credibility.simulate import simulate, synthetic_commitments

HERE = Path(__file__).resolve().parent
#: A spec with every signal family (benchmarks/robustness_families.toml).
FAMILIES_SPEC = HERE / "robustness_families.toml"
#: What `credibility demo` runs (its measurement and two-stage outcome model).
DEMO_RUN = {"draws": 2500, "tune": 1000, "chains": 4}
#: Loadings drawn from the prior, or all set weak (0.3) or strong (1.5) on the raw scale.
LOADINGS = {"prior": None, "weak": 0.3, "strong": 1.5}


@dataclasses.dataclass(frozen=True)
class DataSet:
    """One simulated design (SYNTHETIC) and how it is fitted."""

    name: str
    commitments: int
    periods: int
    alliances: int
    missing: float
    staggered: bool
    persistence: float
    loadings: str
    spec: str
    auto_priors: bool
    seed: int

    @property
    def cells(self) -> int:
        return self.commitments * self.periods


def data_sets(n: int = 40, seed: int = 26) -> list[DataSet]:
    """``n`` designs drawn once from the ranges the issue names (a fixed list for a seed).

    The first eight pin the corners: smallest and largest sizes, one and eight
    alliances, no and half the reports missing, the lowest and highest persistence.
    """
    corners = [
        (10, 10, 1, 0.0, False, 0.3, "weak", "default", False),
        (10, 60, 2, 0.5, True, 0.98, "strong", "families", True),
        (300, 10, 8, 0.25, True, 0.85, "prior", "default", True),
        (300, 60, 8, 0.1, True, 0.98, "prior", "default", False),
        (48, 31, 6, 0.25, True, 0.85, "prior", "default", True),  # the issue's set A design
        (40, 26, 4, 0.5, False, 0.3, "strong", "families", False),
        (20, 45, 1, 0.0, True, 0.98, "weak", "families", True),
        (150, 20, 3, 0.1, False, 0.6, "strong", "default", False),
    ]
    rng = np.random.default_rng(seed)
    rows = list(corners)
    while len(rows) < n:
        commitments = int(rng.choice([10, 20, 40, 80, 150, 300], p=[.2, .25, .25, .15, .1, .05]))
        periods = int(rng.choice([10, 20, 30, 45, 60]))
        alliances = int(min(rng.integers(1, 9), commitments))
        rows.append((commitments, periods, alliances, float(rng.choice([0, .1, .25, .5])),
                     bool(rng.integers(2)), float(rng.choice([0.3, 0.6, 0.85, 0.98])),
                     str(rng.choice(list(LOADINGS))), str(rng.choice(["default", "families"])),
                     bool(rng.integers(2))))
    return [DataSet(f"set{i:02d}", *row, seed=1000 + i) for i, row in enumerate(rows[:n])]


def spec_of(name: str) -> ModelSpec:
    return load_spec(FAMILIES_SPEC if name == "families" else name)


def auto(spec: ModelSpec) -> ModelSpec:
    """``spec`` with every signal's intercept, loading and noise prior set to ``"auto"``."""
    signals = tuple(dataclasses.replace(s, intercept=None, loading_sd=None, noise_mean=None)
                    for s in spec.signals)
    return dataclasses.replace(spec, name=f"{spec.name}_auto", signals=signals)


def simulate_set(design: DataSet):
    """The simulated data of ``design`` and the spec it is fitted with."""
    spec = spec_of(design.spec)
    last = 2000 + design.periods - 1
    table = synthetic_commitments(design.commitments, design.alliances, (2000, last),
                                  seed=design.seed, staggered=design.staggered)
    fixed: dict = {"persistence_commitment": design.persistence}
    magnitude = LOADINGS[design.loadings]
    if magnitude is not None:
        for signal in spec.signals:
            fixed[signal.name] = {"loading": magnitude * signal.direction}
    sim = simulate(spec, table, seed=design.seed, missing=design.missing, last_period=last,
                   fixed=fixed)
    return sim.data, auto(spec) if design.auto_priors else spec


def fit_one(data, spec: ModelSpec, seed: int, run: dict, outcome: str = "none") -> dict:
    """Fit with ``run`` (draws, tune, chains) until reliable; this fit and the fixed one."""
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = CredibilityModel(spec).fit(data, **run, seed=seed, progress=False,
                                         outcome=outcome)
    wall = time.perf_counter() - started
    d, record = fit.diagnostics, fit.run_record
    stage_two = fit.outcome_diagnostics
    first = record.checks[0]
    # The fixed-length fit's time: all of it but the sampling after the first check.
    fixed_wall = wall - (record.seconds - first[5])
    return {
        "passed": d.ok,  # the measurement model, as in the fixed-length column
        "outcome_passed": None if stage_two is None else stage_two.ok,
        "outcome_diagnostics": None if stage_two is None else stage_two.to_dict(),
        "max_rhat": d.max_rhat, "min_ess_bulk": d.min_ess_bulk,
        "min_ess_tail": d.min_ess_tail, "divergences": d.divergences,
        "worst_rhat": d.worst_rhat, "worst_ess": d.worst_ess, "draws_kept": record.draws,
        "stopped_by": record.stopped_by, "wall_s": wall,
        "restarts": [list(r) for r in record.restarts], "target_accept": record.target_accept,
        "coordinates": record.coordinates,
        "checks": [list(c) for c in record.checks],
        "fixed_length": {
            "passed": bool(first[1] <= RHAT_MAX and first[2] >= ESS_MIN
                           and first[3] >= ESS_MIN and first[4] == 0),
            "max_rhat": first[1], "min_ess_bulk": first[2], "min_ess_tail": first[3],
            "divergences": first[4], "wall_s": fixed_wall,
        },
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=int, default=40, help="simulated sets (at least 40)")
    parser.add_argument("--max-cells", type=int, default=None,
                        help="only the sets with at most this many commitment-periods")
    parser.add_argument("--demo-seeds", type=int, default=10,
                        help="fits of the bundled demo (seeds 0, 1, ...)")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "robustness.json")
    parser.add_argument("--only", nargs="+", default=None, metavar="NAME",
                        help="fit only these sets (e.g. set05 demo0)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the sets already in --out and fit the others")
    return parser.parse_args(argv)


def table(rows: list[dict]) -> str:
    head = (f"{'set':8} {'design':38} {'fixed':>6} {'R-hat':>6} {'ESS':>9} {'until':>6} "
            f"{'R-hat':>6} {'ESS':>9} {'draws':>5} {'accept':>6} {'s fixed':>8} {'s until':>8}"
            "  slowest")
    lines = [head, "-" * len(head)]
    for r in rows:
        f = r["fixed_length"]
        lines.append(
            f"{r['name']:8} {r['design']:38} {'pass' if f['passed'] else 'FAIL':>6} "
            f"{f['max_rhat']:6.3f} {f'{f['min_ess_bulk']:.0f}/{f['min_ess_tail']:.0f}':>9} "
            f"{'pass' if r['passed'] else 'FAIL':>6} {r['max_rhat']:6.3f} "
            f"{f'{r['min_ess_bulk']:.0f}/{r['min_ess_tail']:.0f}':>9} {r['draws_kept']:5d} "
            f"{r.get('target_accept') or 0.9:6.2f} "  # 0.9: the default, before restarts
            f"{f['wall_s']:8.1f} {r['wall_s']:8.1f}  {r['worst_rhat']}")
    n = len(rows)
    if n:
        fixed = sum(r["fixed_length"]["passed"] for r in rows)
        until = sum(r["passed"] for r in rows)
        lines.append(f"passed: fixed length {fixed}/{n} ({100 * fixed / n:.0f} %), until "
                     f"reliable {until}/{n} ({100 * until / n:.0f} %); median wall "
                     f"{np.median([r['fixed_length']['wall_s'] for r in rows]):.1f} s vs "
                     f"{np.median([r['wall_s'] for r in rows]):.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    designs = [d for d in data_sets(args.sets)
               if args.max_cells is None or d.cells <= args.max_cells]
    done: dict[str, dict] = {}
    if args.resume and args.out.is_file():
        done = {r["name"]: r for r in json.loads(args.out.read_text())["sets"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    jobs = [(d.name, d) for d in designs] + [(f"demo{s}", s) for s in range(args.demo_seeds)]
    if args.only is not None:
        jobs = [(name, job) for name, job in jobs if name in args.only]
    rows = [done[name] for name, _ in jobs if name in done]
    for name, job in jobs:
        if name in done:
            continue
        if isinstance(job, DataSet):
            data, spec = simulate_set(job)
            seed = job.seed
            design = (f"{job.commitments}x{job.periods} a{job.alliances} m{job.missing:g} "
                      f"p{job.persistence:g} {job.loadings} {job.spec}"
                      f"{' auto' if job.auto_priors else ''}")
            record = dataclasses.asdict(job)
        else:
            data, spec, seed = load_dataset("demo"), load_spec("default"), job
            design, record = f"demo, seed {job}", {"demo_seed": job}
        run = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
        outcome = "none"
        if not isinstance(job, DataSet):  # the demo as `credibility demo --seed k` fits it
            run, outcome = DEMO_RUN, "auto"
        row = {"name": name, "design": design, **record,
               **fit_one(data, spec, seed, run, outcome)}
        rows.append(row)
        print(table([row]).splitlines()[2], flush=True)
        args.out.write_text(json.dumps({
            "synthetic": True, "draws": args.draws, "tune": args.tune, "chains": args.chains,
            "thresholds": {"rhat": RHAT_MAX, "ess": ESS_MIN}, "sets": rows}, indent=1))
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
