"""Cost of one log-density + gradient evaluation: our likelihood forms against PyMC's.

    python benchmarks/likelihood.py [--size M] [--repeat 300] [--json PATH]

On the SYNTHETIC data of ``benchmarks/performance.py`` at one size, times (numba
backend, the one nutpie uses) side by side in one process:

- ``count``: ``pm.NegativeBinomial`` against ``model.likelihoods.negative_binomial_logp``;
- ``binary``: ``pm.Bernoulli(logit_p=...)`` against ``model.likelihoods.bernoulli_logit_logp``;

each on that size's observations with a free linear predictor per observation, and
the whole measurement model's log density + gradient with its likelihood as graphs
and with the fused kernels of ``credibility.kernels`` (``fused=True``, what a fit
samples; with spectral states the states and their prior are fused too), centred and
spectral states, timed in alternating blocks (median). Prints a
table and writes JSON (``benchmarks/results/likelihood_<size>.json`` by default).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _timed(model, point: np.ndarray, repeat: int) -> float:
    """Milliseconds per log density + gradient evaluation of ``model`` at ``point``."""
    f = model.logp_dlogp_function(mode="NUMBA", ravel_inputs=True)
    f.set_extra_values({})
    f(point)
    started = time.perf_counter()
    for _ in range(repeat):
        f(point)
    return (time.perf_counter() - started) / repeat * 1000.0


def _alternating(functions: dict, points: dict, repeat: int, blocks: int = 7) -> dict:
    """Median ms per call of each function, timed in alternating blocks of ``repeat``
    calls (so that a busy moment on a shared machine slows every form alike)."""
    times = {name: [] for name in functions}
    for _ in range(blocks):
        for name, f in functions.items():
            started = time.perf_counter()
            for _ in range(repeat):
                f(points[name])
            times[name].append((time.perf_counter() - started) / repeat * 1000.0)
    return {name: float(np.median(t)) for name, t in times.items()}


def whole_models(data, index, rng: np.random.Generator, repeat: int) -> list[dict]:
    """The whole measurement model, likelihood as graphs and fused, side by side."""
    import dataclasses

    from credibility.measurement import build_measurement_model

    rows = []
    for spectral in (False, True):
        spec = dataclasses.replace(data.spec, spectral_states=spectral)
        functions, points = {}, {}
        for fused in (False, True):
            model = build_measurement_model(data, spec, index=index, fused=fused)
            ip = model.initial_point()
            point = np.concatenate([np.asarray(ip[v.name]).ravel() for v in model.value_vars])
            f = model.logp_dlogp_function(mode="NUMBA", ravel_inputs=True)
            f.set_extra_values({})
            points[fused] = point + 0.1 * rng.standard_normal(point.size)
            f(points[fused])
            functions[fused] = f
        assert np.allclose(functions[True](points[True])[0], functions[False](points[True])[0],
                           rtol=1e-10)
        points[False] = points[True]
        times = _alternating(functions, points, max(repeat // 5, 10))
        rows.append({"states": "spectral" if spectral else "centred", "graph_ms": times[False],
                     "fused_ms": times[True], "speedup": times[False] / times[True]})
    return rows


def family_models(obs, family: str) -> dict:
    """PyMC's and our likelihood of one family's observations, eta free per observation."""
    import pymc as pm
    import pytensor.tensor as pt

    from credibility.model.likelihoods import binary_likelihood, count_likelihood

    n, signals = obs.size, int(obs.signal.max()) + 1
    models = {}
    for form in ("pymc", "ours"):
        with pm.Model() as model:
            eta = pm.Normal("eta", 0.0, 1.0, shape=n)
            if family == "count":
                alpha = 1.0 / pm.Gamma("noise", 4.0, 8.0, shape=signals)
                log_mu = np.log(obs.exposure) + eta
                y = obs.value.astype(np.int64)
                if form == "pymc":
                    pm.NegativeBinomial("obs", mu=pt.exp(log_mu), alpha=alpha[obs.signal],
                                        observed=y)
                else:
                    count_likelihood("obs", log_mu, alpha, obs.signal, y, signals)
            else:
                y = obs.value.astype(np.int64)
                if form == "pymc":
                    pm.Bernoulli("obs", logit_p=eta, observed=y)
                else:
                    binary_likelihood("obs", eta, y)
        models[form] = model
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="M", choices=("S", "M", "L"))
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    sys.path.insert(0, str(HERE))
    from performance import simulated

    from credibility.measurement import build_measurement_model
    from credibility.model.index import build_index

    data = simulated(args.size).data
    index = build_index(data)
    rng = np.random.default_rng(0)
    rows = []
    for family in ("count", "binary"):
        obs = index.families[family]
        models = family_models(obs, family)
        times = {}
        for form, model in models.items():
            ip = model.initial_point()
            point = np.concatenate([np.asarray(ip[v.name]).ravel() for v in model.value_vars])
            times[form] = _timed(model, point + 0.1 * rng.standard_normal(point.size),
                                 args.repeat)
        rows.append({"term": family, "observations": obs.size, "pymc_ms": times["pymc"],
                     "ours_ms": times["ours"], "speedup": times["pymc"] / times["ours"]})
    model = build_measurement_model(data, index=index)
    ip = model.initial_point()
    point = np.concatenate([np.asarray(ip[v.name]).ravel() for v in model.value_vars])
    whole = _timed(model, point + 0.1 * rng.standard_normal(point.size), args.repeat)
    fused = whole_models(data, index, rng, args.repeat)
    result = {"size": args.size, "observations": len(data.signals), "dimension": point.size,
              "families": rows, "model_ms": whole, "fused": fused,
              "note": "SYNTHETIC data; ms per log density + gradient evaluation, numba backend"}
    print(f"size {args.size}: {len(data.signals)} observations, {point.size} free dimensions")
    print(f"{'term':<8} {'obs':>7} {'PyMC ms':>9} {'ours ms':>9} {'speed-up':>9}")
    for row in rows:
        print(f"{row['term']:<8} {row['observations']:>7} {row['pymc_ms']:>9.3f} "
              f"{row['ours_ms']:>9.3f} {row['speedup']:>8.2f}x")
    print(f"whole measurement model: {whole:.3f} ms per evaluation")
    print(f"{'states':<9} {'graph ms':>9} {'fused ms':>9} {'speed-up':>9}")
    for row in fused:
        print(f"{row['states']:<9} {row['graph_ms']:>9.3f} {row['fused_ms']:>9.3f} "
              f"{row['speedup']:>8.2f}x")
    out = args.json or HERE / "results" / f"likelihood_{args.size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
