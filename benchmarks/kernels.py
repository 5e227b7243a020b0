"""Cost of each fused likelihood kernel, against the kernels of an earlier revision.

    python benchmarks/kernels.py --baseline REV [--size L] [--repeat 300]
        [--json benchmarks/results/kernels_L.json]

On the SYNTHETIC data of ``benchmarks/performance.py`` at one size (spectral states,
as the L fit samples), takes the inputs of the count, binary and ordinal kernels of
``credibility.kernels`` from the model's initial point (states jittered by a standard
normal, loadings made positive, as in a posterior), and times each kernel (log
density and gradient) side by side in one process with the family kernels as they were
at git revision ``REV`` (``credibility/kernels/families.py``, or ``credibility/kernels.py``
before the kernels were a folder): alternating blocks of ``--repeat`` calls, the fastest
block of 7, one BLAS thread. Checks that both give the same numbers (relative
difference of every output) and prints a table; writes JSON.
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

import numpy as np

HERE = Path(__file__).resolve().parent
FAMILIES = ("count", "binary", "ordinal")


def kernel_inputs(size: str) -> dict[str, list[np.ndarray]]:
    """Each fused family's kernel inputs at ``size`` (ordinal rows grouped by level, as
    ``family_logp`` passes them)."""
    import pytensor
    from performance import simulated
    from pytensor.graph.traversal import applys_between

    from credibility import kernels
    from credibility.measurement import build_measurement_model

    data = simulated(size).data
    spec = dataclasses.replace(data.spec, spectral_states=True, marker_signal=None)
    model = build_measurement_model(data, spec, fused=True)
    point = model.initial_point()
    logp = model.logp(jacobian=True)
    nodes = {}
    for node in applys_between(model.value_vars, [logp]):
        if isinstance(node.op, kernels.FamilyLogp):
            nodes.setdefault(node.op.kernel, node)
    rng = np.random.default_rng(0)
    inputs = {}
    for family in FAMILIES:
        values = pytensor.function(model.value_vars, list(nodes[family].inputs),
                                   on_unused_input="ignore")(
            *[point[v.name] for v in model.value_vars])
        values[0] = values[0] + rng.standard_normal(values[0].shape)
        values[1] = np.abs(values[1]) + 0.5
        inputs[family] = values
    return inputs


def kernels_at(revision: str):
    """The module of the family kernels at git ``revision``: ``credibility/kernels/families.py``,
    or, before the kernels became a folder, ``credibility/kernels.py``."""
    from diagnostics import module_at

    try:
        return module_at(revision, "kernels", "credibility/kernels/families.py")
    except subprocess.CalledProcessError:
        return module_at(revision, "kernels")


def run(size: str, baseline: str, repeat: int) -> dict:
    from threadpoolctl import threadpool_limits

    from credibility import kernels

    before = kernels_at(baseline)
    rows = []
    for family, args in kernel_inputs(size).items():
        ours, theirs = getattr(kernels, f"{family}_kernel"), getattr(before, f"{family}_kernel")
        differences = [float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-300))
                       for a, b in zip(ours(*args), theirs(*args), strict=True)]
        seconds = {"baseline": [], "ours": []}
        with threadpool_limits(limits=1, user_api="blas"):
            for _ in range(7):
                for name, kernel in (("baseline", theirs), ("ours", ours)):
                    started = time.perf_counter()
                    for _ in range(repeat):
                        kernel(*args)
                    seconds[name].append((time.perf_counter() - started) / repeat)
        rows.append({"kernel": family, "rows": int(args[-1].size),  # last input: per row
                     "baseline_ms": 1e3 * min(seconds["baseline"]),
                     "ours_ms": 1e3 * min(seconds["ours"]),
                     "speed_up": min(seconds["baseline"]) / min(seconds["ours"]),
                     "max_relative_difference": max(differences)})
    return {"size": size, "revision": baseline, "repeat": repeat, "kernels": rows,
            "note": "SYNTHETIC data; ms per kernel call (log density + gradient), "
                    "side by side in one process, one BLAS thread"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare with")
    parser.add_argument("--size", default="L", choices=("S", "M", "L"))
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    sys.path.insert(0, str(HERE))
    result = run(args.size, args.baseline, args.repeat)
    print(f"size {args.size}, side by side with {args.baseline}")
    print(f"{'kernel':<8} {'rows':>7} {'before ms':>10} {'ours ms':>9} {'speed-up':>9} "
          f"{'max rel diff':>13}")
    for row in result["kernels"]:
        print(f"{row['kernel']:<8} {row['rows']:>7} {row['baseline_ms']:>10.3f} "
              f"{row['ours_ms']:>9.3f} {row['speed_up']:>8.2f}x "
              f"{row['max_relative_difference']:>13.1e}")
    out = args.json or HERE / "results" / f"kernels_{args.size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
