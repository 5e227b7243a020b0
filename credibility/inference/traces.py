"""nutpie's trace on disk: its temporary folder, its draws, and reading them back.

Above :data:`~credibility.inference.sampling.DISK_TRACE_BYTES` nutpie writes its draws
to a zarr store in a temporary folder (:func:`trace_folder`) instead of memory. While an
until-reliable run checks them, the store is opened lazily (:func:`open_trace`): the
diagnostics read each variable a slab at a time
(:func:`credibility.inference.diagnostics.compute_diagnostics`), so a check never holds
the whole posterior (decision 61). Only the draws a run keeps are read into memory, once,
when it stops (:func:`read_trace`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from credibility.errors import FitError

#: Temporary trace folders are named ``credibility-trace-<pid>-<random>``: a run killed
#: with SIGKILL (e.g. for memory) cannot remove its own, so the next run on disk
#: removes those whose process is gone (:func:`remove_stale_traces`).
TRACE_PREFIX = "credibility-trace-"


def trace_folder() -> tempfile.TemporaryDirectory:
    """A new temporary trace folder named for this process, after removing stale ones
    (its ``cleanup`` removes it, as does leaving it as a context manager).

    Examples
    --------
    >>> with trace_folder() as folder:
    ...     os.path.basename(folder).startswith(f"{TRACE_PREFIX}{os.getpid()}-")
    True
    """
    remove_stale_traces()
    return tempfile.TemporaryDirectory(prefix=f"{TRACE_PREFIX}{os.getpid()}-",
                                       ignore_cleanup_errors=True)


def remove_stale_traces(root: str | None = None) -> list[str]:
    """Remove the temporary trace folders of runs whose process is gone.

    A run that keeps its draws on disk removes its folder when it ends, but not when
    its process is killed outright (SIGKILL, the out-of-memory killer); at size L
    such a folder holds several GB. Folders of running processes, of other users'
    processes and without a process id in their name are left alone.

    Parameters
    ----------
    root
        The folder to look in (default: the system's temporary folder).

    Returns
    -------
    list of str
        The paths removed.

    Examples
    --------
    >>> root = tempfile.mkdtemp()
    >>> mine = tempfile.mkdtemp(prefix=f"{TRACE_PREFIX}{os.getpid()}-", dir=root)
    >>> remove_stale_traces(root)
    []
    """
    removed = []
    for path in sorted(Path(root or tempfile.gettempdir()).glob(f"{TRACE_PREFIX}*-*")):
        pid = path.name[len(TRACE_PREFIX):].split("-", 1)[0]
        if not path.is_dir() or not pid.isdigit() or _running(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(str(path))
    return removed


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists (or may: one of another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def chain_draws(tree: xr.DataTree) -> int:
    """Draws every chain of ``tree`` has (nutpie pads shorter chains with NaN; only the
    sampler statistics are read).

    Examples
    --------
    >>> energy = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, np.nan]])
    >>> chain_draws(xr.DataTree.from_dict({
    ...     "sample_stats": xr.Dataset({"energy": (("chain", "draw"), energy)})}))
    2
    """
    stats = tree["sample_stats"].to_dataset()
    name = next((n for n in ("energy", "step_size", "logp") if n in stats), None)
    if name is None:  # pragma: no cover - nutpie always records these
        return int(tree["posterior"].sizes["draw"])
    finite = np.isfinite(stats[name].to_numpy())
    return int(finite.sum(axis=1).min())


def stored_draws(folder: str) -> int:
    """Draws every chain of the nutpie zarr trace in ``folder`` holds so far (0 before
    nutpie has written it; its sampler statistics alone are read)."""
    try:
        lazy = xr.open_datatree(folder, engine="zarr", consolidated=False)
    except (OSError, KeyError, ValueError):  # not written yet: the caller polls again
        return 0
    try:
        return chain_draws(lazy)
    finally:
        lazy.close()


def first_draws(tree: xr.DataTree, draws: int) -> xr.DataTree:
    """``tree`` with its posterior and sample_stats cut to their first ``draws`` draws
    (views of its arrays, or lazy selections of a trace on disk: nothing is copied).

    Examples
    --------
    >>> tree = xr.DataTree.from_dict({
    ...     "posterior": xr.Dataset({"mu": (("chain", "draw"), np.zeros((2, 10)))})})
    >>> first_draws(tree, 4)["posterior"].sizes["draw"]
    4
    """
    out = tree.copy()
    for name in ("posterior", "sample_stats"):
        if name in out.children:
            group = out[name].to_dataset().isel(draw=slice(0, draws))
            node = xr.DataTree(group)
            node.attrs.update(out[name].attrs)
            out[name] = node
    return out


def open_trace(folder: str, dropped: Sequence[str] = (), draws: int | None = None
               ) -> xr.DataTree:
    """The posterior and the per-draw sampler statistics of a nutpie zarr trace, lazily.

    Shaped as :func:`read_trace` gives them, but nothing is read until asked for:
    a check computed on it (e.g. :func:`credibility.inference.sampling.posterior_diagnostics`)
    reads each variable a slab at a time (decision 61) and gives the same numbers as
    on the trace in memory. ``draws``: only the first ``draws`` of each chain. The store
    stays open while the tree is used: close it with ``tree.close()``.

    Parameters
    ----------
    folder
        The zarr store nutpie wrote (``nutpie.zarr_store.LocalStore(folder)``).
    dropped
        Variables to leave out: the unconstrained copies of the free variables (the
        compiled model's ``reparameterized_names``).
    draws
        Draws per chain to keep (default: all the store has room for).

    Returns
    -------
    xarray.DataTree
        Groups ``posterior`` and ``sample_stats``.
    """
    import nutpie

    lazy = xr.open_datatree(folder, engine="zarr", consolidated=False)
    posterior = lazy["posterior"].to_dataset()
    posterior = xr.Dataset({name: posterior[name] for name in posterior.data_vars
                            if name not in dropped})
    stats = lazy["sample_stats"].to_dataset()
    stats = xr.Dataset({name: stats[name] for name in stats.data_vars
                        if stats[name].dims == ("chain", "draw")})
    groups = {"posterior": posterior, "sample_stats": stats}
    for name, group in groups.items():
        if draws is not None:
            group = group.isel(draw=slice(0, draws))
        text = {c: group[c].astype(object) for c in group.coords if group[c].dtype.kind == "T"}
        # Dimensions without labels get 0, 1, ... as ArviZ gives them (chain, draw too).
        bare = {d: np.arange(n) for d, n in group.sizes.items() if d not in group.coords}
        group = group.assign_coords(text).assign_coords(bare)
        group.attrs = {"sample_dims": ["chain", "draw"]}
        groups[name] = group
    groups["sample_stats"].attrs.update({"inference_library": "nutpie",
                                         "inference_library_version": nutpie.__version__,
                                         "trace_storage": "disk"})
    tree = xr.DataTree.from_dict(groups)
    tree.set_close(lazy.close)
    return tree


def read_trace(folder: str, dropped: Sequence[str] = (), draws: int | None = None
               ) -> xr.DataTree:
    """The posterior and the per-draw sampler statistics of a nutpie zarr trace, in memory.

    Shaped like nutpie's in-memory result: integer coordinates on unlabelled dimensions
    (``chain`` and ``draw`` among them), text coordinates as Python strings, without
    the unconstrained copies of the variables (``dropped``: the compiled model's
    ``reparameterized_names``) and without the per-draw vectors nutpie stores only on
    request (gradients, mass matrices, divergence details), which a zarr trace lists
    but leaves empty. The warm-up is not read, nor any draw after the first ``draws``
    of each chain (the store has room for the draw limit; a run that stops before it
    keeps fewer).

    Parameters
    ----------
    folder, dropped, draws
        As :func:`open_trace`'s.

    Returns
    -------
    xarray.DataTree
        Groups ``posterior`` and ``sample_stats``, loaded; the store is closed.
    """
    lazy = open_trace(folder, dropped, draws)
    try:
        loaded = lazy.load()
    finally:
        lazy.close()
    return loaded


def checkpoint_draws(sampler: Any, folder: str | None, dropped: Sequence[str], target: int,
                     out_of_time: bool) -> tuple[xr.DataTree, int]:
    """The first draws of every chain of a paused nutpie run, up to ``target``, and how
    many: in memory, views of nutpie's; on disk (``folder``), the store opened lazily,
    to be checked a slab at a time and read only if the run stops there (decision 61).

    Fewer than ``target`` draws are a :class:`~credibility.errors.FitError` unless
    the run is ``out_of_time``; so is a failure to read them.
    """
    try:
        tree = sampler.inspect() if folder is None else None
        have = stored_draws(folder) if tree is None else chain_draws(tree)
        draws = min(target, have)
        if draws < target and not out_of_time:
            raise FitError(f"nutpie stopped after {have} of {target} draws per chain")
        if tree is None:
            return open_trace(folder, dropped, draws), draws
        return first_draws(tree, draws), draws
    except (ValueError, RuntimeError, OSError) as exc:
        raise FitError(f"sampling with backend 'nutpie' failed: {exc}") from exc
