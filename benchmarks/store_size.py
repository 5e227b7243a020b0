"""Bytes on disk of a posterior store: every version as plain copies against shared files.

Fits a small SYNTHETIC data set once (5 commitments in 2 alliances over 2000-2006,
the default spec; or loads a saved fit with ``--fit DIR``) and saves it as v0001 of
two stores: one that writes every version as plain copies (``share_files=False``, the
layout of stores before ``objects/``) and one that stores identical files once
(the default). Then it adds ``--versions`` versions to each, the same ones, in each
scenario:

- ``update``: exact updates (:func:`credibility.analysis.updating.update_fit`), each adding
  the signal rows of the next period (the last period's rows again, one period on)
  and stored with its ledger, as ``credibility update`` does: a new posterior and new
  signals each time, the same spec and commitments;
- ``resave``: the same fit saved again (an import of a fit the store already holds):
  every file but ``meta.json`` is identical.

Reports, per version, the bytes it added to each store (every file under the store
folder, each inode counted once, by ``st_ino``: a file shared by hard links counts
once), the totals, the size of each file of v0001 (which one dominates, and the
share of ``posterior.nc``), and what ``posterior.nc`` would take compressed by
h5netcdf's zlib (measured only: ``FitResult.save`` writes it uncompressed).

Prints a table and writes JSON (``--out``). Example::

    python benchmarks/store_size.py --versions 5 --out benchmarks/results/store_size.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from credibility.analysis.updating import update_fit
from credibility.inference.diagnostics import ConvergenceWarning
from credibility.results.fitting import CredibilityModel, FitResult
from credibility.results.store import OBJECTS, PosteriorStore
from credibility.simulate import simulate, synthetic_commitments

SIGNAL_COLUMNS = ["commitment_id", "alliance", "period", "signal", "value"]
SCENARIOS = ("update", "resave")
#: The two layouts compared, as ``PosteriorStore(share_files=...)``.
LAYOUTS = {"plain": False, "shared": True}
#: Encodings of posterior.nc measured against FitResult.save's (uncompressed).
COMPRESSIONS = {"zlib 4": {"zlib": True, "complevel": 4},
                "zlib 4 + shuffle": {"zlib": True, "complevel": 4, "shuffle": True},
                "zlib 9 + shuffle": {"zlib": True, "complevel": 9, "shuffle": True}}


def store_bytes(path: Path) -> dict[str, int]:
    """Bytes of every file under ``path``, each inode once.

    Parameters
    ----------
    path
        A folder (a posterior store).

    Returns
    -------
    dict
        ``{"bytes": sum of st_size, "disk": sum of st_blocks * 512, "files": inodes}``.

    Examples
    --------
    >>> store_bytes(Path("fits"))  # doctest: +SKIP
    {'bytes': 7845120, 'disk': 7856128, 'files': 9}
    """
    seen: dict[tuple[int, int], os.stat_result] = {}
    for root, _, names in os.walk(path):
        for name in names:
            info = os.lstat(os.path.join(root, name))
            seen.setdefault((info.st_dev, info.st_ino), info)
    return {"bytes": sum(i.st_size for i in seen.values()),
            "disk": sum(i.st_blocks * 512 for i in seen.values()), "files": len(seen)}


def next_rows(fit: FitResult) -> pd.DataFrame:
    """The signal rows of ``fit``'s last period with data, again one period later.

    Parameters
    ----------
    fit
        The fit to update.

    Returns
    -------
    pandas.DataFrame
        Rows in the signals layout (alliance empty on commitment-level rows).

    Examples
    --------
    >>> next_rows(fit)["period"].unique()  # doctest: +SKIP
    array([2007])
    """
    signals = fit.data.signals
    last = int(signals["period"].max())
    rows = signals[signals["period"] == last]
    rows = rows.assign(alliance=rows["alliance"].where(rows["level"] == "alliance", ""),
                       period=last + 1)
    return rows[SIGNAL_COLUMNS].reset_index(drop=True)


def compressed_sizes(fit: FitResult, folder: Path) -> dict[str, int]:
    """Bytes of ``fit``'s posterior written by h5netcdf as FitResult.save does, and with
    each encoding of :data:`COMPRESSIONS` on every data variable.

    Parameters
    ----------
    fit
        The fit whose posterior is written.
    folder
        Where to write the trial files (removed afterwards).

    Returns
    -------
    dict
        Bytes per encoding, ``"none"`` (FitResult.save's) first.

    Examples
    --------
    >>> compressed_sizes(fit, Path("/tmp/trial"))  # doctest: +SKIP
    {'none': 7710000, 'zlib 4': ..., ...}
    """
    folder.mkdir(parents=True, exist_ok=True)
    tree = fit.posterior
    sizes = {}
    for name, options in {"none": None, **COMPRESSIONS}.items():
        path = folder / "posterior.nc"
        encoding = None if options is None else {
            node.path: {var: dict(options) for var in node.data_vars}
            for node in tree.subtree if node.data_vars}
        tree.to_netcdf(path, engine="h5netcdf", encoding=encoding)
        sizes[name] = path.stat().st_size
        path.unlink()
    return sizes


def run_scenario(scenario: str, base: FitResult, versions: int, work: Path,
                 update_settings: dict) -> dict:
    """Save ``base`` and ``versions`` more versions into a store of each layout.

    Parameters
    ----------
    scenario
        ``"update"`` or ``"resave"`` (the module docstring says what each saves).
    base
        The first version.
    versions
        How many versions follow it.
    work
        A folder for the two stores.
    update_settings
        Passed to :func:`~credibility.analysis.updating.update_fit` (draws, tune, seed, ...).

    Returns
    -------
    dict
        Per version the bytes it added to each layout, and the totals.

    Examples
    --------
    >>> run_scenario("resave", fit, 5, Path("/tmp/work"), {})  # doctest: +SKIP
    """
    stores = {layout: PosteriorStore(work / scenario / layout, share_files=share)
              for layout, share in LAYOUTS.items()}
    before = {layout: store_bytes(store.path) for layout, store in stores.items()}
    rows, fit, ledger, parent = [], base, None, None
    for index in range(versions + 1):
        if index and scenario == "update":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                result = update_fit(fit, next_rows(fit), progress=False, **update_settings)
            fit, ledger = result.fit, result.ledger
        row: dict = {}
        for layout, store in stores.items():
            started = time.perf_counter()
            version = store.save(fit, parent=parent, ledger=ledger)
            row[f"{layout}_save_s"] = time.perf_counter() - started
            after = store_bytes(store.path)
            row[f"{layout}_bytes"] = after["bytes"] - before[layout]["bytes"]
            row[f"{layout}_disk"] = after["disk"] - before[layout]["disk"]
            before[layout] = after
        files = stores["shared"].meta(version)["files"]
        previous = set() if parent is None else set(
            stores["shared"].meta(parent)["files"].values())
        row.update(version=version, files=len(files),
                   files_shared_with_parent=sorted(k for k, v in files.items() if v in previous),
                   posterior_bytes=(stores["shared"].path / version / "posterior.nc")
                   .stat().st_size)
        rows.append(row)
        parent = version
    totals = {layout: store_bytes(store.path) for layout, store in stores.items()}
    objects = stores["shared"].path / OBJECTS
    return {"versions": rows, "totals": totals,
            "objects": sum(1 for p in objects.glob("*/*") if p.is_file()),
            "shared_over_plain": totals["shared"]["bytes"] / totals["plain"]["bytes"]}


def git_state() -> str | None:
    """The repository's commit (``+dirty`` when the tree has changes), if known."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def run(args: argparse.Namespace) -> dict:
    """Fit (or load) the base fit, measure its files and run each scenario."""
    settings = {"draws": args.draws, "tune": args.tune, "chains": args.chains,
                "seed": args.seed}
    started = time.perf_counter()
    if args.fit is not None:
        base, source = FitResult.load(args.fit), str(args.fit)
    else:
        sim = simulate("default", synthetic_commitments(5, 2, (2000, 2006), seed=3), seed=3,
                       last_period=2006)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            base = CredibilityModel("default").fit(sim.data, progress=False, outcome="none",
                                                   until_reliable=False, **settings)
        source = "SYNTHETIC: 5 commitments in 2 alliances, 2000-2006, default spec"
    fit_seconds = time.perf_counter() - started
    work = Path(tempfile.mkdtemp(prefix="store-size-"))
    try:
        base.save(work / "fit")
        files = {p.relative_to(work / "fit").as_posix(): p.stat().st_size
                 for p in sorted((work / "fit").rglob("*")) if p.is_file()}
        compression = compressed_sizes(base, work / "compression")
        scenarios = {}
        for scenario in args.scenarios:
            started = time.perf_counter()
            # An update refits with its parent's settings, as `credibility update` does.
            scenarios[scenario] = run_scenario(scenario, base, args.versions, work, {})
            scenarios[scenario]["seconds"] = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "synthetic": args.fit is None,
        "source": source,
        "git": git_state(),
        # The base fit's own settings (those of a fit loaded with --fit, not the options).
        "settings": {**{key: base.settings.get(key) for key in settings},
                     "versions": args.versions, "cells": len(base.credibility())},
        "fit_seconds": fit_seconds,
        "files_v0001": files,
        "posterior_share_v0001": files["posterior.nc"] / sum(files.values()),
        "posterior_compressed": compression,
        "scenarios": scenarios,
    }


def report(result: dict) -> None:
    """Print the tables of :func:`run`'s result."""
    s = result["settings"]
    print(f"{result['source']}; {s['chains']} chains x {s['draws']} draws, {s['cells']} cells; "
          f"git {result['git']}")
    files = result["files_v0001"]
    total = sum(files.values())
    print("\nfiles of v0001 (FitResult.save; meta.json, ~2 KB, comes on top):")
    for name, size in sorted(files.items(), key=lambda item: -item[1]):
        print(f"  {name:<22} {size:>12,d} B  {size / total:6.1%}")
    print(f"  {'total':<22} {total:>12,d} B")
    print("\nposterior.nc, as written by h5netcdf with each encoding (not adopted):")
    none = result["posterior_compressed"]["none"]
    for name, size in result["posterior_compressed"].items():
        print(f"  {name:<22} {size:>12,d} B  {size / none:6.1%}")
    for scenario, outcome in result["scenarios"].items():
        print(f"\nscenario {scenario}: bytes each version added to the store "
              "(each inode once)")
        print(f"  {'version':<8} {'plain copies':>14} {'shared':>14} {'shared/plain':>13}"
              f"  {'save s (plain, shared)':>22}  files shared with the parent")
        for row in outcome["versions"]:
            shared = ", ".join(row["files_shared_with_parent"]) or "-"
            print(f"  {row['version']:<8} {row['plain_bytes']:>14,d} {row['shared_bytes']:>14,d}"
                  f" {row['shared_bytes'] / row['plain_bytes']:>13.1%}"
                  f"  {row['plain_save_s']:>10.2f} {row['shared_save_s']:>10.2f}  {shared}")
        totals = outcome["totals"]
        print(f"  {'store':<8} {totals['plain']['bytes']:>14,d} {totals['shared']['bytes']:>14,d}"
              f" {outcome['shared_over_plain']:>13.1%}  (on disk, in blocks: "
              f"{totals['plain']['disk']:,d} against {totals['shared']['disk']:,d} B; "
              f"{outcome['objects']} objects)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", type=Path, default=None,
                        help="a saved fit (FitResult.save) to start from instead of fitting")
    parser.add_argument("--versions", type=int, default=5, help="versions after v0001")
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON")
    args = parser.parse_args()
    result = run(args)
    report(result)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, default=str))
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
