"""Time one log density + gradient evaluation of our model, jitted by JAX, at S/M/L.

SYNTHETIC data (benchmarks/performance.py's). For each size it times four graphs of
the same model side by side on JAX's default device: centred or spectral states
(decision 17), per-signal parameters gathered by indexing or by one-hot products
(``build_measurement_model(one_hot=True)``, :func:`credibility.model.likelihoods.per_row`).
It first times a scatter-add of 55,000 rows onto 6 and onto 15,000 addresses, the
operation indexing's gradient is made of. Used to compare a GPU with the CPU
(docs/performance.md). Usage: ``python benchmarks/gpu_gradient.py [S M L] [--json F]``.
"""

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _time(fn, *args, budget_s: float = 1.5) -> float:
    """Median ms per call of a jitted ``fn`` over 5 blocks sized to ``budget_s`` in all."""
    import jax

    started = time.perf_counter()
    jax.block_until_ready(fn(*args))
    once = max(time.perf_counter() - started, 1e-5)
    per_block = max(1, min(200, int(budget_s / 5 / once)))
    times = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(per_block):
            out = fn(*args)
        jax.block_until_ready(out)
        times.append((time.perf_counter() - started) / per_block * 1e3)
    return float(np.median(times))


def scatter_probe() -> dict:
    """ms per scatter-add of 55,000 float64 rows onto few and onto many addresses."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    rows = 55_000
    updates = jnp.asarray(rng.standard_normal(rows))
    out = {}
    for addresses in (6, 15_000):
        index = jnp.asarray(rng.integers(0, addresses, rows))
        add = jax.jit(lambda u, i, n=addresses: jnp.zeros(n).at[i].add(u))
        out[f"scatter_add_{addresses}"] = _time(add, updates, index)
        if addresses < 100:  # a one-hot matrix onto 15,000 addresses would be 6.6 GB
            one_hot = jax.nn.one_hot(index, addresses, dtype=updates.dtype)
            out[f"one_hot_product_{addresses}"] = _time(jax.jit(lambda u, m: u @ m), updates,
                                                        one_hot)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", default=["S", "M", "L"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import jax

    jax.config.update("jax_enable_x64", True)
    from performance import simulated
    from pymc.sampling.jax import get_jaxified_logp

    from credibility.measurement import build_measurement_model

    device = str(jax.devices()[0])
    print("device:", device, jax.devices()[0].device_kind, flush=True)
    probe = scatter_probe()
    print("scatter probe (ms):", {k: round(v, 4) for k, v in probe.items()}, flush=True)
    rows = []
    for size in args.sizes:
        data = simulated(size).data
        for spectral in (False, True):
            spec = dataclasses.replace(data.spec, spectral_states=spectral)
            for one_hot in (False, True):
                model = build_measurement_model(data, spec, one_hot=one_hot)
                logp = get_jaxified_logp(model, negative_logp=False)
                point = model.initial_point()
                values = [jax.numpy.asarray(point[v.name]) for v in model.value_vars]
                grad = jax.jit(jax.value_and_grad(lambda *x, f=logp: f(x),
                                                  argnums=tuple(range(len(values)))))
                started = time.perf_counter()
                value = float(jax.block_until_ready(grad(*values))[0])
                compile_s = time.perf_counter() - started
                ms = _time(grad, *values)
                row = {"size": size, "states": "spectral" if spectral else "centred",
                       "gather": "one-hot" if one_hot else "index", "compile_s": compile_s,
                       "ms_per_logp_grad": ms, "logp": value, "device": device}
                rows.append(row)
                print(f"{size} {row['states']:8s} {row['gather']:7s}: compile {compile_s:.1f} s, "
                      f"{ms:.3f} ms per logp+grad, logp {value:.4f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"device": device, "scatter_probe": probe, "rows": rows},
                                        indent=2))


if __name__ == "__main__":
    main()
