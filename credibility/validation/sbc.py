"""A validation run on dask.distributed: its simulations as tasks, saved as they finish.

A run in a folder resumes: finished simulations (``sims/``) are skipped, and the
settings (``settings.json``) must be those the folder was started with.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import xarray as xr

from credibility.validation.ranks import (
    coverage_table,
    recovery_table,
    uniformity_table,
)
from credibility.validation.settings import SBCSettings, ValidationError
from credibility.validation.simulation import _key, run_simulation

__all__ = ["SBCResult", "load_simulations", "run_sbc"]

_SIMS = "sims"
_SETTINGS = "settings.json"
_COMBINED = "simulations.nc"


def _distributed() -> ModuleType:
    """The ``distributed`` package (dask.distributed), which runs the simulations.

    Raises
    ------
    ValidationError
        It is not installed: it comes with the optional ``distributed`` extra.
    """
    try:
        import distributed
    except ImportError as exc:
        raise ValidationError(
            "simulation-based validation runs on dask.distributed, which is not installed; "
            "pip install 'credibility[distributed]'"
        ) from exc
    return distributed


def _sim_path(folder: Path, index: int) -> Path:
    return folder / _SIMS / f"sim-{index:05d}.nc"


def _finished(folder: Path) -> set[int]:
    sims = folder / _SIMS
    if not sims.is_dir():
        return set()
    return {int(p.stem.split("-")[1]) for p in sims.glob("sim-*.nc")}


def _write_simulation(folder: Path, result: xr.Dataset) -> Path:
    """Write atomically, so that an interrupted run never leaves half a file behind."""
    path = _sim_path(folder, int(result["simulation"]))
    partial = path.with_suffix(".partial")
    result.to_netcdf(partial, engine="h5netcdf")
    os.replace(partial, path)
    return path


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    """Settings that decide the simulations (where a spec file lives does not)."""
    return {k: ({n: v for n, v in value.items() if n != "source"} if isinstance(value, dict)
                else value) for k, value in record.items()}


def _check_settings(folder: Path, settings: SBCSettings) -> None:
    record = settings.to_dict()
    path = folder / _SETTINGS
    if path.exists():
        stored = _comparable(json.loads(path.read_text(encoding="utf-8")))
        current = _comparable(json.loads(json.dumps(record, default=str)))
        changed = [k for k in sorted(set(stored) | set(current))
                   if stored.get(k) != current.get(k)]
        if changed:
            key = changed[0]
            raise ValidationError(
                f"{folder}: holds simulations run with other settings ({key} was "
                f"{stored.get(key)!r}, now {current.get(key)!r}); resume with the same "
                "settings or choose another --out"
            )
        return
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")


def load_simulations(folder: str | Path, n_sims: int | None = None) -> xr.Dataset:
    """The finished simulations under ``folder`` (``sims/*.nc``), along dim ``simulation``.

    ``n_sims`` keeps simulations ``0 .. n_sims - 1`` only.

    Examples
    --------
    >>> load_simulations("sbc_out").sizes["simulation"]  # doctest: +SKIP
    200
    """
    folder = Path(folder)
    indices = sorted(i for i in _finished(folder) if n_sims is None or i < n_sims)
    if not indices:
        raise ValidationError(f"{folder}: no finished simulations in {folder / _SIMS}")
    parts = []
    for i in indices:
        with xr.open_dataset(_sim_path(folder, i), engine="h5netcdf") as part:
            parts.append(part.load())
    return xr.concat(parts, dim="simulation", coords="different", compat="equals",
                     join="outer")


@contextmanager
def _client(scheduler: str | None, n_workers: int | None, settings: SBCSettings,
            client: Any = None) -> Iterator[Any]:
    """A dask client: the one given, the scheduler at ``scheduler`` (or
    ``DASK_SCHEDULER_ADDRESS``), or a ``LocalCluster`` of single-threaded workers."""
    if client is not None:
        yield client
        return
    import logging

    distributed = _distributed()
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        try:
            remote = distributed.Client(address, timeout="20s")
        except OSError as exc:
            raise ValidationError(f"cannot reach the dask scheduler at {address}: {exc}"
                                  ) from exc
        with remote:
            yield remote
        return
    workers = n_workers or max(1, (os.cpu_count() or 1) // settings.chains)
    # No dashboard; the scheduler's HTTP routes on a free port, not on 8787 (often taken).
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None,
                                  scheduler_kwargs={"dashboard_address": ":0"},
                                  silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as local:
        yield local


@dataclass
class SBCResult:
    """The simulations of a run and what this call did.

    ``simulations`` is :func:`load_simulations`' dataset; ``computed`` and
    ``reused`` count simulations run now and found finished on disk; ``failed``
    maps simulation index to the error (they are retried on the next run).
    """

    simulations: xr.Dataset
    settings: SBCSettings
    folder: Path
    computed: int = 0
    reused: int = 0
    failed: dict[int, str] = field(default_factory=dict)

    def uniformity(self, alpha: float = 0.05) -> pd.DataFrame:
        """:func:`~credibility.validation.ranks.uniformity_table` of the simulations."""
        return uniformity_table(self.simulations, alpha=alpha)

    def coverage(self) -> pd.DataFrame:
        """:func:`~credibility.validation.ranks.coverage_table` of the simulations."""
        return coverage_table(self.simulations)

    def recovery(self) -> pd.DataFrame:
        """:func:`~credibility.validation.ranks.recovery_table` of the simulations."""
        return recovery_table(self.simulations)


def run_sbc(
    settings: SBCSettings,
    folder: str | Path,
    n_sims: int,
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    client: Any = None,
    progress: bool = True,
) -> SBCResult:
    """Run simulations ``0 .. n_sims - 1`` on dask.distributed, resuming a run in ``folder``.

    Each simulation is one task (:func:`run_simulation`) with its own seed
    (:func:`simulation_seed`); finished ones are written to ``folder/sims/`` as they
    arrive and skipped when the run is repeated with the same settings (other
    settings raise :class:`ValidationError`). The scheduler is ``client``, else
    ``scheduler`` (an address such as ``tcp://127.0.0.1:8786``, default
    ``$DASK_SCHEDULER_ADDRESS``), else a ``LocalCluster`` with ``n_workers``
    single-threaded worker processes (default: cores / chains). Writes the
    combined dataset ``folder/simulations.nc``.

    Examples
    --------
    >>> result = run_sbc(SBCSettings("default"), "sbc_out", n_sims=100)  # doctest: +SKIP
    >>> result.coverage()  # doctest: +SKIP
    """
    if not isinstance(n_sims, int) or n_sims < 1:
        raise ValidationError(f"n_sims must be a positive integer, got {n_sims!r}")
    folder = Path(folder)
    _check_settings(folder, settings)
    (folder / _SIMS).mkdir(exist_ok=True)
    done = _finished(folder)
    todo = [i for i in range(n_sims) if i not in done]
    failed: dict[int, str] = {}
    if todo:
        failed = _run_tasks(settings, folder, todo, scheduler=scheduler, n_workers=n_workers,
                            client=client, progress=progress)
    simulations = load_simulations(folder, n_sims)
    combined = folder / _COMBINED
    simulations.to_netcdf(combined.with_suffix(".partial"), engine="h5netcdf")
    os.replace(combined.with_suffix(".partial"), combined)
    return SBCResult(simulations=simulations, settings=settings, folder=folder,
                     computed=len(todo) - len(failed), reused=n_sims - len(todo), failed=failed)


def _run_tasks(settings: SBCSettings, folder: Path, todo: list[int], *, scheduler: str | None,
               n_workers: int | None, client: Any, progress: bool) -> dict[int, str]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    as_completed = _distributed().as_completed
    failed: dict[int, str] = {}
    columns = (TextColumn("[bold]simulations"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    run = _key(settings.to_dict())[:10]
    with _client(scheduler, n_workers, settings, client) as executor, \
            Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("sbc", total=len(todo))
        futures = {executor.submit(run_simulation, settings, i, key=f"sbc-{run}-{i}"): i
                   for i in todo}
        try:
            for future in as_completed(futures):
                index = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # recorded, and retried on the next run
                    failed[index] = f"{type(exc).__name__}: {exc}"
                else:
                    _write_simulation(folder, result)
                bar.advance(task)
        finally:
            for future in futures:
                future.cancel()
    failures = folder / "failed.json"
    if failed:
        failures.write_text(json.dumps(failed, indent=2) + "\n", encoding="utf-8")
    elif failures.exists():
        failures.unlink()
    if failed and len(failed) == len(todo):
        first = min(failed)
        raise ValidationError(f"every simulation failed; simulation {first}: {failed[first]}")
    return failed

