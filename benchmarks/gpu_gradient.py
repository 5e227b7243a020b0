"""Time one log density + gradient evaluation of our model, jitted by JAX, at S/M/L.

SYNTHETIC data (benchmarks/performance.py's). Prints ms per evaluation on JAX's
default device; used to compare a GPU with the CPU (docs/performance.md).
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    import jax
    from performance import simulated
    from pymc.sampling.jax import get_jaxified_logp

    from credibility.measurement import build_measurement_model

    print("device:", jax.devices()[0], flush=True)
    for size in sys.argv[1:] or ["S", "M", "L"]:
        model = build_measurement_model(simulated(size).data)
        logp = get_jaxified_logp(model, negative_logp=False)
        point = model.initial_point()
        values = [jax.numpy.asarray(point[v.name]) for v in model.value_vars]
        grad = jax.jit(jax.value_and_grad(lambda *x, f=logp: f(x),
                                          argnums=tuple(range(len(values)))))
        started = time.perf_counter()
        jax.block_until_ready(grad(*values))
        compile_s = time.perf_counter() - started
        times = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(50):
                out = grad(*values)
            jax.block_until_ready(out)
            times.append((time.perf_counter() - started) / 50 * 1e3)
        print(f"{size}: compile {compile_s:.1f} s, {np.median(times):.3f} ms per logp+grad "
              f"(median of 5 x 50), logp {float(out[0]):.1f}", flush=True)


if __name__ == "__main__":
    main()
