"""Speed and sampling efficiency of our model against a naive hand-written PyMC model.

For SYNTHETIC data simulated from the default spec at sizes

- XS: 10 commitments x 12 periods x 6 signals (the smoke test's: it checks that every
  configuration runs and reports, not how fast),
- S: 40 commitments x 26 periods x 6 signals,
- M: 300 x 50 x 6,
- L: 1000 x 50 x 6,

each configuration runs in its own process (so that peak memory is its own) and
reports model build time, compile time (where it is separate), sampling wall time,
min bulk and tail ESS and max R-hat over every free parameter and the standardised
credibility of every cell, as a fit's own diagnostics count them (with the
slowest parameter; the min over cells and loadings alone is ``min_cell_loading_ess``),
ESS per second, divergences and peak resident memory; the commitment persistence
gets its own bulk ESS and R-hat. With ``--until-reliable`` each NUTS configuration
on nutpie or pymc (the naive model too) runs until those diagnostics pass, as a fit
does, and the headline is the time to a reliable posterior (build + compile +
sampling; ``-`` where the draw limit or ``--budget`` came first).
Our configurations also run what ``CredibilityModel.fit`` does after sampling
(diagnostics of every free variable and cell, the labelled grids: ``fit_steps_s``,
and inside the peak memory); nutpie runs report the chain-seconds and leapfrog
steps spent tuning and on the kept draws.
Configurations:

- ``ours/<backend>``: :func:`credibility.measurement.build_measurement_model`
  sampled with NUTS by ``nutpie``, ``pymc`` or ``numpyro`` (JAX); built as
  ``CredibilityModel.fit`` builds it for that backend (the likelihood's fused
  kernels, ``credibility.kernels``, for nutpie, pymc and ADVI; not for numpyro);
- ``ours/advi``: the same model by mean-field ADVI (approximate), with its error
  against ``ours/nutpie`` at the same size;
- ``spectral/nutpie``: our model with ``spectral_states = true`` (commitment paths
  partially non-centred by frequency, docs/decisions.md 17), sampled by nutpie;
- ``graph/nutpie`` (not in the default set): ``spectral/nutpie`` with the
  likelihood as PyMC graphs instead of fused kernels (``fused=False``), to measure
  what the kernels change;
- ``marker/nutpie`` (not in the default set): spectral states with
  ``marker_signal = "troops"`` (the latent's scale sampled through that signal's
  loading, docs/decisions.md 18);
- ``naive/default``: ``benchmarks/naive.py`` (centred ``pm.AR`` paths built in
  Python loops, one likelihood per signal) with a plain ``pm.sample()``, which
  picks nutpie itself when it is installed;
- ``naive/pymc``: the same with ``nuts_sampler="pymc"`` (what ``pm.sample()`` does
  without nutpie).

Our NUTS configurations sample with ``target_accept`` = ``--target-accept``
(default 0.8: what ``pm.sample()`` gives the naive baseline; credibility's own
default is 0.9, docs/performance.md) and trajectories of at most
``2**--max-treedepth - 1`` leapfrog steps (default 10, every backend's; the naive
baseline always 10). Ratios (ESS/s of each configuration over
each naive one) come from the same run.
Prints a table and writes JSON. Examples::

    python benchmarks/performance.py --sizes S --out benchmarks/results/performance_S.json
    python benchmarks/performance.py --sizes M --configs ours/nutpie naive/pymc \\
        --naive-draws 300 --naive-tune 300
    python benchmarks/performance.py --sizes M --configs naive/default spectral/nutpie \\
        --tune 1000 400 --naive-chains 2   # ours with 1000 and with 400 tuning steps
    python benchmarks/performance.py --sizes S M --configs ours/nutpie naive/default \\
        --until-reliable --budget 3600   # time to a reliable posterior
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

SIZES = {"XS": (10, 12), "S": (40, 26), "M": (300, 50), "L": (1000, 50)}
CONFIGS = ("ours/nutpie", "ours/pymc", "ours/numpyro", "ours/advi", "spectral/nutpie",
           "naive/default", "naive/pymc")
# Also runnable, not in the default set: spectral states on JAX (for GPU machines).
CHOICES = (*CONFIGS, "spectral/numpyro", "marker/nutpie", "graph/nutpie")
CHECKED = ("credibility_cell", "loading")
#: pm.sample()'s target acceptance with either sampler: the naive baseline's, and ours' default.
PM_SAMPLE_TARGET_ACCEPT = 0.8
HERE = Path(__file__).resolve().parent


def simulated(size: str):
    """The SYNTHETIC data of one size (same seed, so every configuration sees the same)."""
    from credibility.simulate import simulate, synthetic_commitments

    n, periods = SIZES[size]
    table = synthetic_commitments(n, max(n // 10, 3), (1951, 1951 + periods - 1), seed=11)
    return simulate("default", table, seed=11)


def timed_compile(model):
    """``compile_nutpie(model)`` and the seconds it took (compile time is reported apart)."""
    from credibility.inference.sampling import compile_nutpie

    started = time.perf_counter()
    compiled = compile_nutpie(model)
    seconds = time.perf_counter() - started
    _progress(f"compiled in {seconds:.1f} s; sampling")
    return compiled, seconds


def run_one(config: dict) -> dict:
    """Run one configuration in this process; returns its figures."""
    import dataclasses

    commit = _commit()  # before the run: a checkout may move while it runs

    import pymc as pm

    from credibility.inference.diagnostics import compute_diagnostics, ess, rhat
    from credibility.inference.sampling import (
        SamplerConfig,
        fused_likelihood,
        one_hot_gathers,
        run,
    )
    from credibility.measurement import build_measurement_model
    from credibility.model.index import build_index
    from credibility.results.fitting import label_posterior

    sys.path.insert(0, str(HERE))
    from naive import build_naive_model

    variant, engine = config["name"].split("/")
    data = simulated(config["size"]).data
    started = time.perf_counter()
    _progress(f"{config['size']} {config['name']}: building")
    if variant == "naive":
        model = build_naive_model(data)
    else:
        spec = dataclasses.replace(data.spec,
                                   spectral_states=variant in ("spectral", "marker", "graph"),
                                   marker_signal="troops" if variant == "marker" else None)
        # The model CredibilityModel.fit samples with this backend (ADVI: the default's).
        backend = "nutpie" if engine == "advi" else engine
        model = build_measurement_model(data, spec, one_hot=one_hot_gathers(engine),
                                        fused=fused_likelihood(backend) and variant != "graph")
    build_s = time.perf_counter() - started
    _progress(f"built in {build_s:.1f} s")
    compile_s = None
    draws, tune, chains = config["draws"], config["tune"], config["chains"]
    warmup = WarmupClock()
    free = [v.name for v in model.free_RVs]
    record = None

    def every(tree):
        """The fit's own diagnostics: every free variable and every cell's credibility."""
        return compute_diagnostics(tree["posterior"].to_dataset()[[*free, "credibility_cell"]],
                                   tree["sample_stats"].to_dataset(), sampling_seconds=0.0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if config.get("until_reliable") and engine in ("nutpie", "pymc", "default"):
            # Time to a reliable posterior: our run until reliable (checks, restarts) on
            # either model, checked alike; the naive model with pm.sample()'s sampler.
            backend = "nutpie" if engine == "default" else engine
            compiled = None
            if backend == "nutpie":
                compiled, compile_s = timed_compile(model)
            started = time.perf_counter()
            sampler = SamplerConfig(draws=draws, tune=tune, chains=chains, seed=config["seed"],
                                    backend=backend, target_accept=config["target_accept"],
                                    max_treedepth=config["max_treedepth"],
                                    budget_seconds=config.get("budget"))
            tree, record = run(model, sampler, compiled=compiled, progress=False, check=every,
                               progress_callback=warmup.observe if compiled else None,
                               on_check=lambda n, d, step: _progress(
                                   f"{n} draws: R-hat {d.max_rhat:.3f}, ESS "
                                   f"{d.min_ess_bulk:.0f}/{d.min_ess_tail:.0f}, "
                                   f"{d.divergences} divergent: {step}"))
        elif variant != "naive" and engine == "nutpie":
            compiled, compile_s = timed_compile(model)
            started = time.perf_counter()
            # Fixed length: the benchmark compares the cost of the same number of draws.
            sampler = SamplerConfig(draws=draws, tune=tune, chains=chains, seed=config["seed"],
                                    target_accept=config["target_accept"],
                                    max_treedepth=config["max_treedepth"],
                                    until_reliable=False)
            tree, _ = run(model, sampler, compiled=compiled, progress=False,
                          progress_callback=warmup.observe)
        elif variant in ("ours", "spectral", "marker", "graph"):
            started = time.perf_counter()
            sampler = SamplerConfig(backend=engine if engine != "advi" else "nutpie",
                                    method="advi" if engine == "advi" else "nuts",
                                    draws=draws, tune=tune, chains=chains, seed=config["seed"],
                                    advi_iterations=config["advi_iterations"],
                                    target_accept=config["target_accept"],
                                    max_treedepth=config["max_treedepth"],
                                    until_reliable=False)
            tree, _ = run(model, sampler, progress=False)
        else:
            started = time.perf_counter()
            timed = _timed_nutpie_compile() if engine == "default" else {}
            with model:
                kwargs = {} if engine == "default" else {"nuts_sampler": engine}
                tree = pm.sample(draws=draws, tune=tune, chains=chains, random_seed=config["seed"],
                                 progressbar=False, compute_convergence_checks=False, **kwargs)
            # pm.sample() compiles inside (nutpie with numba when nutpie is installed):
            # everything before sampling starts is reported as compile s, as for ours.
            if "finished" in timed:
                compile_s = timed["finished"] - started
                started = timed["finished"]
        sample_s = time.perf_counter() - started
        _progress(f"sampled in {sample_s:.1f} s")
    posterior = tree["posterior"].to_dataset()[[*CHECKED, "persistence_commitment"]]
    bulk = ess(posterior, "bulk")
    rhats = rhat(posterior)
    stats = tree["sample_stats"].to_dataset()
    steps = next((stats[n] for n in ("n_steps", "tree_size") if n in stats), None)
    cell = tree["posterior"]["credibility_cell"]
    np.savez(config["arrays"], mean=cell.mean(("chain", "draw")).to_numpy(),
             sd=cell.std(("chain", "draw")).to_numpy(), **_quantiles(cell.to_numpy()),
             loading=tree["posterior"]["loading"].mean(("chain", "draw")).to_numpy())
    fit_steps_s = None
    # What Model.fit does after sampling (diagnostics of every free variable and cell,
    # the labelled grids), so that the peak memory is a user's fit's; the diagnostics
    # are the row's (for the naive model too: its free variables and cells).
    started = time.perf_counter()
    diagnostics = every(tree)
    if variant != "naive":
        label_posterior(tree["posterior"].to_dataset(), build_index(data, spec))
    fit_steps_s = time.perf_counter() - started
    _progress(f"diagnostics (and labelling) took {fit_steps_s:.1f} s")
    memory_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                     resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    # The min over every parameter and cell, as a fit counts it (the slowest is usually
    # a hyper-parameter); over thousands of cells it is partly the ESS estimator's own
    # noise (per-cell ESS of two seeds correlate ~0.2 at M, docs/decisions.md 48): the
    # median over cells and loadings and the loadings' min are reported beside it.
    min_ess = float(diagnostics.min_ess_bulk)
    checked = np.concatenate([np.ravel(bulk[v].to_numpy()) for v in CHECKED])
    device = {"device": "cpu", "device_peak_memory_gib": None}
    if engine == "numpyro":
        import jax

        first = jax.devices()[0]
        stats_of = first.memory_stats() if first.platform != "cpu" else None
        name = "cpu" if first.platform == "cpu" else f"{first.platform}: {first.device_kind}"
        device = {"device": name,
                  "device_peak_memory_gib": (stats_of["peak_bytes_in_use"] / 2**30
                                             if stats_of else None)}
    return {
        **_head(config),
        "cells": int(cell.sizes[cell.dims[-1]]),
        "observations": len(data.signals),
        "free_variables": len(model.free_RVs),
        "fused_likelihood": variant not in ("naive", "graph") and fused_likelihood(
            "nutpie" if engine == "advi" else engine),
        "build_s": build_s,
        "compile_s": compile_s,
        "sample_s": sample_s,
        "min_bulk_ess": min_ess,
        "min_tail_ess": float(diagnostics.min_ess_tail),
        "slowest": diagnostics.worst_ess,
        "reliable": bool(diagnostics.ok),
        "min_cell_loading_ess": float(min(float(bulk[v].min()) for v in CHECKED)),
        "median_bulk_ess": float(np.median(checked)),
        "min_loading_ess": float(bulk["loading"].min()),
        "ess_per_s": min_ess / sample_s,
        "ess_per_s_total": min_ess / (build_s + (compile_s or 0.0) + sample_s),
        "max_rhat": float(diagnostics.max_rhat),
        "until_reliable": record is not None,
        "stopped_by": None if record is None else record.stopped_by,
        "draws_kept": None if record is None else record.draws,
        "restarts": None if record is None else [list(r) for r in record.restarts],
        "time_to_reliable_s": (build_s + (compile_s or 0.0) + sample_s
                               if record is not None and record.stopped_by == "reliable"
                               else None),
        "persistence_ess": float(bulk["persistence_commitment"]),
        "persistence_rhat": float(rhats["persistence_commitment"]),
        "divergences": int(stats["diverging"].sum()) if "diverging" in stats else 0,
        "mean_leapfrog_steps": None if steps is None else float(steps.mean()),
        "max_treedepth_hits": next((int(stats[n].sum()) for n in (
            "reached_max_treedepth", "maxdepth_reached") if n in stats), None),
        "peak_memory_gib": memory_kib / 2**20,
        "fit_steps_s": fit_steps_s,
        **warmup.summary(),
        **device,
        "approximate": engine == "advi",
        "advi_drift": tree["posterior"].attrs.get("advi_drift"),
        "commit": commit,
    }


def _commit() -> str | None:
    """The git commit of the code this configuration ran (None outside a git checkout)."""
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE.parent,
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def _quantiles(draws: np.ndarray, block: int = 2048) -> dict[str, np.ndarray]:
    """5 % and 95 % quantiles over chains and draws of ``(chain, draw, cell)`` draws, a
    block of cells at a time (a quantile sorts a copy of its input)."""
    flat = draws.reshape(-1, draws.shape[-1])
    parts = [np.quantile(flat[:, start:start + block], [0.05, 0.95], axis=0)
             for start in range(0, flat.shape[1], block)]
    both = np.concatenate(parts, axis=1)
    return {"q05": both[0], "q95": both[1]}


class WarmupClock:
    """Where nutpie's time goes: tuning or the kept draws (from its progress callback).

    Notes, per chain, the run time and leapfrog steps when its tuning ended (to the
    callback's one-second resolution) and when it finished.
    """

    def __init__(self) -> None:
        self.tuned: dict[int, tuple[float, int]] = {}
        self.finished: dict[int, tuple[float, int]] = {}

    def observe(self, chains: list) -> None:
        for i, chain in enumerate(chains):
            if chain.started and not chain.tuning and i not in self.tuned:
                self.tuned[i] = (chain.runtime_ms / 1000, chain.total_num_steps)
                _progress(f"chain {i} tuned after {chain.runtime_ms / 1000:.0f} s, "
                          f"{chain.total_num_steps} leapfrog steps")
            if chain.finished_draws == chain.total_draws:
                self.finished[i] = (chain.runtime_ms / 1000, chain.total_num_steps)

    def summary(self) -> dict:
        """Summed over chains: seconds and leapfrog steps of tuning and of the draws."""
        chains = sorted(set(self.tuned) & set(self.finished))
        if not chains:
            return {}
        tune_s = sum(self.tuned[i][0] for i in chains)
        tune_steps = sum(self.tuned[i][1] for i in chains)
        total_s = sum(self.finished[i][0] for i in chains)
        total_steps = sum(self.finished[i][1] for i in chains)
        return {"chain_seconds_tuning": tune_s, "chain_seconds_draws": total_s - tune_s,
                "leapfrog_steps_tuning": tune_steps,
                "leapfrog_steps_draws": total_steps - tune_steps}


def _progress(message: str) -> None:
    """One timestamped progress line on stderr (the parent keeps it in the work folder's log)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _timed_nutpie_compile() -> dict:
    """Time the numba compile that ``pm.sample()`` runs when it picks nutpie.

    Wraps ``nutpie.compile_pymc_model`` (which PyMC looks up on the module at call
    time) for the rest of this child process; the returned dict gets ``finished``, the
    ``time.perf_counter()`` at which compiling ended.
    """
    import nutpie

    timed: dict = {}
    original = nutpie.compile_pymc_model

    def compile_and_time(*args, **kwargs):
        _progress("pm.sample: compiling with nutpie (numba)")
        started = time.perf_counter()
        compiled = original(*args, **kwargs)
        timed["finished"] = time.perf_counter()
        _progress(f"compiled in {timed['finished'] - started:.1f} s; sampling")
        return compiled

    nutpie.compile_pymc_model = compile_and_time
    return timed


def advi_error(advi: Path, nuts: Path) -> dict:
    """ADVI against NUTS per cell: mean error in NUTS sds, sd ratio, 90 % interval overlap."""
    a, n = np.load(advi), np.load(nuts)
    z = np.abs(a["mean"] - n["mean"]) / n["sd"]
    covered = (a["q05"] <= n["mean"]) & (n["mean"] <= a["q95"])
    return {"mean_abs_z": float(z.mean()), "max_abs_z": float(z.max()),
            "median_sd_ratio": float(np.median(a["sd"] / n["sd"])),
            "nuts_mean_inside_advi_90": float(covered.mean()),
            "loading_rel_error": float(np.max(np.abs(a["loading"] - n["loading"])
                                              / np.abs(n["loading"])))}


def run(args: argparse.Namespace) -> dict:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in args.sizes:
        for name in args.configs:
            naive = name.startswith("naive")
            # The naive baseline runs once (--naive-tune, else the first --tune); each of
            # ours once per --tune value.
            tunes = [args.naive_tune or args.tune[0]] if naive else args.tune
            for tune in tunes:
                label = _label(name, tune, args.tune)
                config = {"name": name, "size": size, "seed": args.seed,
                          "draws": args.naive_draws if naive and args.naive_draws else args.draws,
                          "tune": tune,
                          "chains": args.naive_chains if naive and args.naive_chains
                          else args.chains,
                          "advi_iterations": args.advi_iterations,
                          "target_accept": PM_SAMPLE_TARGET_ACCEPT if naive else args.target_accept,
                          "max_treedepth": 10 if naive else args.max_treedepth,
                          "until_reliable": args.until_reliable, "budget": args.budget,
                          "arrays": str(_arrays(work, size, label))}
                print(f"[{time.strftime('%H:%M:%S')}] {size} {name} tune={tune} ...", flush=True)
                row = _spawn(config, args.timeout)
                rows.append(row)
                print(f"    {_line(row)}", flush=True)
    for row in rows:
        _ratios(row, rows)
        if row["name"] == "ours/advi" and "error" not in row:
            if any(r["name"] == "ours/nutpie" and r["size"] == row["size"] and "error" not in r
                   for r in rows):
                row["error_vs_nuts"] = advi_error(
                    _arrays(work, row["size"], _label("ours/advi", row["tune"], args.tune)),
                    _arrays(work, row["size"], _label("ours/nutpie", row["tune"], args.tune)))
    return {"synthetic": True, "sizes": {k: SIZES[k] for k in args.sizes},
            "signals": 6, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                      "platform": platform.platform()},
            "command": " ".join(sys.argv), "results": rows}


def _label(name: str, tune: int, tunes: list[int]) -> str:
    """A configuration's file label: its name, with its tuning steps where several run."""
    return name if name.startswith("naive") or len(tunes) == 1 else f"{name}_tune{tune}"


def _arrays(work: Path, size: str, name: str) -> Path:
    """Where a configuration's per-cell posterior summaries are written."""
    return work / f"{size}_{name.replace('/', '_')}.npz"


def _spawn(config: dict, timeout: float) -> dict:
    """Run one configuration in a child process; failures and timeouts become rows."""
    command = [sys.executable, __file__, "--one", json.dumps(config)]
    log = Path(config["arrays"]).with_suffix(".log")
    with open(log, "w") as stderr:
        try:
            done = subprocess.run(command, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            reached = [line for line in log.read_text().splitlines() if line.startswith("[")]
            last = f" (last progress: {reached[-1]})" if reached else ""
            return {**_head(config), "error": f"did not finish within {timeout:.0f} s{last}"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        tail = (log.read_text() or done.stdout).strip().splitlines()[-3:]
        return {**_head(config), "error": " | ".join(tail) or f"exit {done.returncode}"}
    return json.loads(lines[-1][len("RESULT "):])


def _head(config: dict) -> dict:
    return {k: config[k] for k in ("name", "size", "draws", "tune", "chains", "target_accept",
                                   "max_treedepth")}


def _ratios(row: dict, rows: list[dict]) -> None:
    """ESS/s of ``row`` over each naive configuration of the same size.

    ``ess_per_s_ratio_vs_<naive>`` on sampling time, ``ess_per_s_total_ratio_vs_<naive>``
    on build + compile + sampling time.
    """
    if "error" in row:
        return
    for base in rows:
        if (base["size"] == row["size"] and base["name"].startswith("naive")
                and base is not row and "error" not in base and base["ess_per_s"] > 0):
            key = base["name"].replace("/", "_")
            row[f"ess_per_s_ratio_vs_{key}"] = row["ess_per_s"] / base["ess_per_s"]
            row[f"ess_per_s_total_ratio_vs_{key}"] = (row["ess_per_s_total"]
                                                      / base["ess_per_s_total"])


def _fmt(value, spec: str = ".1f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, spec)


def _line(row: dict) -> str:
    if "error" in row:
        return f"FAILED: {row['error']}"
    until = ""
    if row.get("until_reliable"):
        until = (f"{row['stopped_by']} at {row['draws_kept']} draws per chain "
                 f"(restarts {row['restarts'] or 'none'}), time to reliable "
                 f"{_fmt(row['time_to_reliable_s'])} s; ")
    return (f"{until}build {_fmt(row['build_s'])} s, compile {_fmt(row['compile_s'])} s, "
            f"sample {_fmt(row['sample_s'])} s, min ESS {_fmt(row['min_bulk_ess'], '.0f')} "
            f"(slowest {row.get('slowest')}; median "
            f"{_fmt(row.get('median_bulk_ess'), '.0f')}, loadings' min "
            f"{_fmt(row.get('min_loading_ess'), '.0f')}), ESS/s "
            f"{_fmt(row['ess_per_s'], '.2f')}, R-hat {_fmt(row['max_rhat'], '.3f')}, "
            f"persistence ESS {_fmt(row['persistence_ess'], '.0f')} R-hat "
            f"{_fmt(row['persistence_rhat'], '.3f')}, div {row['divergences']}, "
            f"mem {_fmt(row['peak_memory_gib'], '.2f')} GiB")


def print_table(result: dict) -> None:
    header = (f"{'size':4} {'config':16} {'draws (tune)':>15} {'build s':>8} {'compile s':>9} "
              f"{'sample s':>9} {'min ESS':>8} {'ESS/s':>8} {'vs naive':>9} {'R-hat':>6} "
              f"{'div':>5} {'GiB':>5} {'rho ESS':>7} {'rho R-hat':>9}")
    print("SYNTHETIC data;", "ESS and R-hat over every parameter and cell, as a fit counts "
          "them;", "rho = commitment persistence")
    print(header)
    print("-" * len(header))
    for row in result["results"]:
        draws = f"{row['chains']}x{row['draws']} ({row['tune']})"
        head = f"{row['size']:4} {row['name']:16} {draws:>15}"
        if "error" in row:
            print(f"{head} FAILED: {row['error'][:80]}")
            continue
        ratio = row.get("ess_per_s_ratio_vs_naive_pymc",
                        row.get("ess_per_s_ratio_vs_naive_default"))
        if row.get("until_reliable"):
            print(f"{head} time to a reliable posterior: "
                  f"{_fmt(row['time_to_reliable_s'])} s ({row['stopped_by']} at "
                  f"{row['draws_kept']} draws per chain; restarts {row['restarts'] or 'none'})")
        print(f"{head} {_fmt(row['build_s']):>8} {_fmt(row['compile_s']):>9} "
              f"{_fmt(row['sample_s']):>9} {_fmt(row['min_bulk_ess'], '.0f'):>8} "
              f"{_fmt(row['ess_per_s'], '.2f'):>8} {_fmt(ratio, '.1f'):>9} "
              f"{_fmt(row['max_rhat'], '.3f'):>6} {row['divergences']:>5} "
              f"{_fmt(row['peak_memory_gib'], '.2f'):>5} "
              f"{_fmt(row['persistence_ess'], '.0f'):>7} {_fmt(row['persistence_rhat'], '.3f'):>9}")
        for naive in ("naive_pymc", "naive_default"):
            if f"ess_per_s_ratio_vs_{naive}" in row:
                print(f"     ESS/s vs {naive.replace('_', '/')}: "
                      f"{row[f'ess_per_s_ratio_vs_{naive}']:.1f}x sampling, "
                      f"{row[f'ess_per_s_total_ratio_vs_{naive}']:.1f}x with build + compile")
        if row.get("device", "cpu") != "cpu":
            print(f"     sampled on {row['device']}; device peak memory "
                  f"{_fmt(row['device_peak_memory_gib'], '.2f')} GiB")
        if "error_vs_nuts" in row:
            e = row["error_vs_nuts"]
            print(f"     ADVI vs NUTS: mean |diff| {e['mean_abs_z']:.2f} NUTS sd (max "
                  f"{e['max_abs_z']:.2f}), median sd ratio {e['median_sd_ratio']:.2f}, NUTS mean "
                  f"inside ADVI 90% {e['nuts_mean_inside_advi_90']:.2f}")


def markdown_table(result: dict) -> str:
    """The results as a markdown table (for docs/performance.md)."""
    lines = ["| size | configuration | chains x draws (tune) | build s | compile s | sample s "
             "| min bulk ESS | ESS/s | ESS/s incl. build + compile "
             "| ESS/s vs naive/pymc | ESS/s vs naive/default "
             "| incl. build + compile, vs naive/default | max R-hat "
             "| divergences | leapfrog steps/draw | peak GiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in result["results"]:
        head = (f"| {row['size']} | {row['name']} | {row['chains']} x {row['draws']} "
                f"({row['tune']}) |")
        if "error" in row:
            lines.append(f"{head} failed: {row['error'][:120]} |" + " |" * 12)
            continue
        lines.append(
            f"{head} {_fmt(row['build_s'])} | {_fmt(row['compile_s'])} | "
            f"{_fmt(row['sample_s'])} | {_fmt(row['min_bulk_ess'], '.0f')} | "
            f"{_fmt(row['ess_per_s'], '.3f')} | {_fmt(row['ess_per_s_total'], '.3f')} | "
            f"{_fmt(row.get('ess_per_s_ratio_vs_naive_pymc'), '.1f')} | "
            f"{_fmt(row.get('ess_per_s_ratio_vs_naive_default'), '.1f')} | "
            f"{_fmt(row.get('ess_per_s_total_ratio_vs_naive_default'), '.1f')} | "
            f"{_fmt(row['max_rhat'], '.3f')} | {row['divergences']} | "
            f"{_fmt(row['mean_leapfrog_steps'], '.0f')} | {_fmt(row['peak_memory_gib'], '.2f')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="+", default=["S"], choices=list(SIZES))
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CHOICES)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, nargs="+", default=[1000],
                        help="tuning steps of our configurations; several values run each "
                             "of ours once per value, side by side (default 1000)")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--naive-draws", type=int, default=None,
                        help="draws for the naive baseline (default: --draws)")
    parser.add_argument("--naive-tune", type=int, default=None)
    parser.add_argument("--naive-chains", type=int, default=None)
    parser.add_argument("--advi-iterations", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-treedepth", type=int, default=10,
                        help="ours: longest trajectory 2**N - 1 leapfrog steps")
    parser.add_argument("--target-accept", type=float, default=None,
                        help="target acceptance of our NUTS configurations (default 0.8, "
                             "pm.sample()'s, which the naive baseline gets; with "
                             "--until-reliable credibility's own default, 0.9)")
    parser.add_argument("--until-reliable", action="store_true",
                        help="time to a reliable posterior: every NUTS configuration with "
                             "nutpie or pymc runs until its diagnostics pass, as fits do "
                             "(--draws at a time, up to 4 x --draws, restarted at a higher "
                             "target acceptance when it diverges)")
    parser.add_argument("--budget", type=float, default=None,
                        help="with --until-reliable: seconds of sampling each may take")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="seconds one configuration may take")
    parser.add_argument("--work", default="benchmarks/results/performance_work")
    parser.add_argument("--out", default="benchmarks/results/performance.json")
    parser.add_argument("--markdown", nargs="+", metavar="JSON",
                        help="print the markdown table of result files and exit")
    args = parser.parse_args()
    if args.target_accept is None:
        from credibility.inference.sampling import SamplerConfig

        args.target_accept = (SamplerConfig().target_accept if args.until_reliable
                              else PM_SAMPLE_TARGET_ACCEPT)
    if args.markdown:
        for path in args.markdown:
            result = json.loads(Path(path).read_text(encoding="utf-8"))
            for row in result["results"]:
                _ratios(row, result["results"])
            print(markdown_table(result))
        return
    if args.one:
        print("RESULT " + json.dumps(run_one(json.loads(args.one))), flush=True)
        return
    result = run(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    print_table(result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
