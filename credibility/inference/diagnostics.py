"""Convergence diagnostics reported with every fit.

Thresholds follow Vehtari et al. (2021): rank-normalised split R-hat <= 1.01 and
bulk and tail ESS >= 400, plus no divergent transitions. A fit that fails any of
them issues a :class:`ConvergenceWarning` and says so wherever it is shown.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import arviz as az
import numba
import numpy as np
import xarray as xr
from scipy import special, stats
from scipy.fft import next_fast_len

RHAT_MAX = 1.01
ESS_MIN = 400
#: Draws spanning less than this are constant: their ESS is the number of draws
#: (ArviZ's test, ``np.finfo(float).resolution``).
_CONSTANT_SPAN = float(np.finfo(float).resolution)
#: A comparison in Geyer's sequences closer than this to a tie (e.g. autocorrelations
#: of 0/1 indicators that sum to exactly 0) is decided by rounding: ArviZ's by its FFT's,
#: ours by the direct sums'. Such an element's ESS is recomputed the FFT way.
_KNIFE_EDGE = 1e-12
#: Elements of one variable per block when R-hat and ESS are computed: a block's
#: draws are copied element by element and sorted (~0.13 GiB per block of 4,000
#: draws), which for the ~100,000 free coordinates and cells of size L would be
#: gigabytes at once (decision 22).
DIAGNOSTIC_BLOCK = 2048
#: Blocks computed at once, in threads (each holds its own ~0.13 GiB of buffers).
DIAGNOSTIC_THREADS = min(4, os.cpu_count() or 1)
#: Most bytes of one variable's draws read at once (a slab of its elements): a posterior
#: opened lazily from a trace on disk is read slab by slab, never whole (decision 61).
#: Each slab read decompresses every chunk of the variable's draws (nutpie's chunks hold
#: 16 draws of all its elements), so smaller slabs mean more passes over the store.
DIAGNOSTIC_SLAB_BYTES = 2**30


class ConvergenceWarning(UserWarning):
    """The sampler's diagnostics say the posterior may not be trustworthy."""


@dataclass(frozen=True)
class Diagnostics:
    """Sampler diagnostics of one fit.

    ``worst_rhat`` / ``worst_ess`` name the variable (and cell) with the largest
    R-hat and the smallest bulk ESS. ``run`` says how a run that continued until
    reliable ended (:meth:`credibility.inference.config.RunRecord.describe`; empty for a
    fixed-length run).

    Examples
    --------
    >>> d = Diagnostics(max_rhat=1.002, min_ess_bulk=900.0, min_ess_tail=800.0,
    ...                 divergences=0, max_treedepth_hits=0, draws=4000,
    ...                 sampling_seconds=10.0, build_seconds=1.0)
    >>> d.ok, round(d.ess_per_second)
    (True, 90)
    >>> d2 = Diagnostics(1.05, 90.0, 80.0, 3, 0, 4000, 10.0, 1.0)
    >>> d2.problems()[0]
    'max R-hat 1.050 > 1.01'
    """

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    max_treedepth_hits: int
    draws: int
    sampling_seconds: float
    build_seconds: float
    worst_rhat: str = ""
    worst_ess: str = ""
    run: str = ""

    @property
    def ess_per_second(self) -> float:
        """Minimum bulk ESS per second of sampling."""
        return self.min_ess_bulk / self.sampling_seconds if self.sampling_seconds > 0 else math.nan

    def problems(self) -> list[str]:
        """Human-readable list of failed checks (empty when the fit passes)."""
        out = []
        if not self.max_rhat <= RHAT_MAX:
            out.append(f"max R-hat {self.max_rhat:.3f} > {RHAT_MAX} ({self.worst_rhat})".replace(
                " ()", ""))
        if not self.min_ess_bulk >= ESS_MIN:
            out.append(f"min bulk ESS {self.min_ess_bulk:.0f} < {ESS_MIN} ({self.worst_ess})"
                       .replace(" ()", ""))
        if not self.min_ess_tail >= ESS_MIN:
            out.append(f"min tail ESS {self.min_ess_tail:.0f} < {ESS_MIN}")
        if self.divergences > 0:
            out.append(f"{self.divergences} divergent transitions")
        return out

    @property
    def ok(self) -> bool:
        """True when every check passes."""
        return not self.problems()

    def warn(self, what: str = "posterior") -> None:
        """Issue a :class:`ConvergenceWarning` listing the failed checks, if any.

        ``what`` names the posterior in the message (e.g. ``"outcome model posterior"``).
        """
        problems = self.problems()
        if problems:
            hint = (f"{self.run}; raise max_draws or the time budget, or check the data"
                    if self.run else "run longer, raise target_accept, or check the data")
            warnings.warn(
                f"{what} NOT reliable: " + "; ".join(problems) + f" ({hint})",
                ConvergenceWarning,
                stacklevel=3,
            )

    def to_dict(self) -> dict:
        """Plain dict (JSON-friendly), including ``ess_per_second`` and ``ok``."""
        return {**asdict(self), "ess_per_second": self.ess_per_second, "ok": self.ok}

    @classmethod
    def from_dict(cls, raw: dict) -> Diagnostics:
        """Inverse of :meth:`to_dict` (extra keys are ignored)."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in raw.items() if k in names})

    def lines(self) -> list[tuple[str, str, str]]:
        """``(check, value, verdict)`` rows for tables in the CLI and reports."""
        return [
            ("max R-hat", f"{self.max_rhat:.3f}", _verdict(self.max_rhat <= RHAT_MAX)),
            ("min bulk ESS", f"{self.min_ess_bulk:.0f}", _verdict(self.min_ess_bulk >= ESS_MIN)),
            ("min tail ESS", f"{self.min_ess_tail:.0f}", _verdict(self.min_ess_tail >= ESS_MIN)),
            ("divergences", str(self.divergences), _verdict(self.divergences == 0)),
            ("max tree depth hits", str(self.max_treedepth_hits), "info"),
            ("sampling time", f"{self.sampling_seconds:.1f} s", "info"),
            ("min bulk ESS / s", f"{self.ess_per_second:.1f}", "info"),
            *([("run", self.run, "info")] if self.run else []),
        ]


def _verdict(passed: bool) -> str:
    return "ok" if passed else "FAIL"


def rhat(posterior: xr.Dataset) -> xr.Dataset:
    """Rank-normalised split R-hat (Vehtari et al. 2021) of every element of every variable.

    The same numbers as ``az.rhat(posterior)`` (the maximum of the bulk and the folded
    R-hat of the rank-normalised split chains), computed for :data:`DIAGNOSTIC_BLOCK`
    elements at a time, each element's draws sorted once (decision 24; 8x faster than
    ArviZ on 4 x 1,000 draws, 26x for R-hat and both ESS together:
    ``benchmarks/diagnostics.py``).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> post = xr.Dataset({"x": (("chain", "draw", "cell"), rng.normal(size=(4, 200, 3)))})
    >>> bool(np.allclose(rhat(post)["x"], az.rhat(post)["x"], rtol=1e-10))
    True
    """
    return _per_element(posterior, ("rhat",))["rhat"]


def ess(posterior: xr.Dataset, method: str = "bulk") -> xr.Dataset:
    """Bulk or tail effective sample size of every element of every variable.

    The same numbers as ``az.ess(posterior, method=method)``: the bulk ESS of the
    rank-normalised split chains, or the smaller ESS of the indicators of the draws
    below ArviZ's ``stats.ci_prob`` quantiles (tail), each with Geyer's initial
    monotone sequence; computed for :data:`DIAGNOSTIC_BLOCK` elements at a time (the
    autocovariances summed directly, lag by lag, until Geyer's sequence stops).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> post = xr.Dataset({"x": (("chain", "draw", "cell"), rng.normal(size=(4, 200, 3)))})
    >>> bool(np.allclose(ess(post, "tail")["x"], az.ess(post, method="tail")["x"],
    ...                  rtol=1e-10))
    True
    """
    if method not in ("bulk", "tail"):
        raise ValueError(f"unknown ESS method {method!r}; expected 'bulk' or 'tail'")
    return _per_element(posterior, (method,))[method]


def _per_element(posterior: xr.Dataset, which: tuple[str, ...]) -> dict[str, xr.Dataset]:
    """The statistics ``which`` (:func:`_statistics`) of every element of every variable,
    :data:`DIAGNOSTIC_BLOCK` elements at a time, :data:`DIAGNOSTIC_THREADS` blocks at once.

    A variable's draws are read one slab at a time (:func:`_slabs`): a posterior opened
    lazily from a trace on disk is never in memory whole (decision 61). Each element's
    statistics depend on its own draws alone, so the numbers do not depend on the slabs.
    """
    out: dict[str, dict[str, xr.DataArray]] = {statistic: {} for statistic in which}

    def block(values: np.ndarray) -> np.ndarray:
        # Elements ArviZ gives NaN (constant, too short, a NaN draw) divide by zero on
        # the way (np.errstate is per thread, so it is set here).
        with np.errstate(divide="ignore", invalid="ignore"):
            return _statistics(np.asarray(values, dtype=float), which)

    # NumPy's sort and the numba pass release the GIL, so the blocks run in parallel
    # threads. Warnings are filtered process-wide around them.
    with warnings.catch_warnings(), ThreadPoolExecutor(DIAGNOSTIC_THREADS) as pool:
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, draws in posterior.data_vars.items():
            element_dims = [d for d in draws.dims if d not in ("chain", "draw")]
            draws = draws.transpose("chain", "draw", *element_dims)
            parts = []
            for slab in _slabs(draws, element_dims):
                starts = range(0, slab.shape[2], DIAGNOSTIC_BLOCK)
                parts += pool.map(block, (slab[:, :, s:s + DIAGNOSTIC_BLOCK] for s in starts))
            result = np.concatenate(parts or [np.empty((len(which), 0))], axis=1)
            coords = {d: draws[d] for d in element_dims if d in draws.coords}
            for row, statistic in zip(result, which, strict=True):
                out[statistic][name] = xr.DataArray(
                    row.reshape([draws.sizes[d] for d in element_dims]), dims=element_dims,
                    coords=coords)
    return {statistic: xr.Dataset(arrays) for statistic, arrays in out.items()}


def _slabs(draws: xr.DataArray, element_dims: list[str]) -> Iterator[np.ndarray]:
    """``(chain, draw, element)`` arrays of ``draws`` (dims ``chain, draw, *element_dims``),
    consecutive along the first element dimension, each of at most
    :data:`DIAGNOSTIC_SLAB_BYTES` (or one row of it), the elements flattened in C order."""
    chains, n = draws.sizes["chain"], draws.sizes["draw"]
    if not element_dims:
        yield draws.to_numpy().reshape(chains, n, 1)
        return
    first = element_dims[0]
    row = 8 * chains * n * math.prod(draws.sizes[d] for d in element_dims[1:])
    step = max(DIAGNOSTIC_SLAB_BYTES // max(row, 1), 1)
    for start in range(0, draws.sizes[first], step):
        slab = draws.isel({first: slice(start, start + step)}).to_numpy()
        yield slab.reshape(chains, n, -1)


def _statistics(x: np.ndarray, which: tuple[str, ...]) -> np.ndarray:
    """Rows ``which`` (``"rhat"``, ``"bulk"``, ``"tail"``) of ``(chain, draw, element)``
    draws: every element's split chains sorted once (NumPy), the rest in one compiled
    pass per element (:func:`_block_statistics`)."""
    chains, draws, k = x.shape
    rows = [{"rhat": 0, "bulk": 1, "tail": 2}[statistic] for statistic in which]
    if draws < 4 or k == 0:
        return np.full((len(which), k), np.nan)
    half = draws // 2
    # Element by element, the split chains' draws one after another: (element, draw).
    pooled = np.ascontiguousarray(
        np.concatenate([x[:, :half], x[:, draws - half:]], axis=0).reshape(-1, k).T)
    order = np.argsort(pooled, axis=1)
    # With an odd number of draws the split chains lack the middle draws, which the
    # tail ESS's quantiles count.
    every = (np.sort(x.reshape(-1, k).T, axis=1) if draws % 2
             else np.empty((0, 0)))
    out = np.empty((3, k))
    edge = np.zeros((2, k), dtype=np.bool_)
    _block_statistics(pooled, order, every, np.isnan(x).any(axis=(0, 1)), chains,
                      _normal_scores(pooled.shape[1]),
                      _quantile_corners(chains * draws, float(az.rcParams["stats.ci_prob"])),
                      out, edge)
    # Rare: ESS whose Geyer sequence met a tie, recomputed as ArviZ does (FFT).
    for j in np.flatnonzero(edge[0]):
        split = _split_chains(x[:, :, j])
        z = special.ndtri((stats.rankdata(split, method="average") - 3 / 8)
                          / (split.size - 2 * 3 / 8 + 1))
        out[1, j] = _fft_geyer(z.reshape(split.shape))
    for j in np.flatnonzero(edge[1]):
        pooled_x = x[:, :, j].ravel()
        low, high = np.quantile(pooled_x, sorted((float(az.rcParams["stats.ci_prob"]),
                                                  1 - float(az.rcParams["stats.ci_prob"]))))
        out[2, j] = min(_fft_geyer(_split_chains((x[:, :, j] <= low).astype(float))),
                        _fft_geyer(_split_chains((x[:, :, j] <= high).astype(float))))
    return out[rows]


def _split_chains(x: np.ndarray) -> np.ndarray:
    """Each chain's first and last halves of ``(chain, draw)`` draws as chains of their own."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0)


def _fft_geyer(y: np.ndarray) -> float:
    """ESS of ``(chain, draw)`` values with ArviZ's FFT autocorrelations."""
    chains, draws = y.shape
    length = next_fast_len(2 * draws)
    centred = y - y.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=length, axis=1)
    spectrum *= np.conjugate(spectrum)
    mean_acov = (np.fft.irfft(spectrum, n=length, axis=1)[:, :draws] / draws).mean(axis=0)
    mean_var = mean_acov[0] * draws / (draws - 1.0)
    var_plus = mean_var * (draws - 1.0) / draws
    if chains > 1:
        var_plus = var_plus + np.var(y.mean(axis=1), ddof=1)
    rho = 1.0 - (mean_var - mean_acov) / var_plus
    return _geyer_of(np.ascontiguousarray(y, dtype=float), rho)[0]


@functools.cache
def _normal_scores(n: int) -> np.ndarray:
    """Normal scores of the average ranks 1, 1.5, ..., n of ``n`` pooled draws (ties
    share the average of their ranks; Blom's offset 3/8, as ArviZ)."""
    ranks = 1.0 + np.arange(2 * n - 1) / 2.0
    return special.ndtri((ranks - 3 / 8) / (n - 2 * 3 / 8 + 1))


@functools.cache
def _quantile_corners(n: int, prob: float) -> np.ndarray:
    """For the tail ESS's quantiles ``prob`` and ``1 - prob`` of ``n`` sorted draws: the
    indices of the draws either side and the weight, as ``np.quantile``'s linear method."""
    corners = []
    for q in sorted((prob, 1 - prob)):
        virtual = (n - 1) * q
        lower = min(math.floor(virtual), n - 1)
        corners.append((lower, min(lower + 1, n - 1), virtual - lower))
    return np.array(corners, dtype=float)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _plain_rhat_of(z: np.ndarray) -> float:  # pragma: no cover
    """R-hat of ``(chain, draw)`` values: between- and within-chain variances."""
    chains, draws = z.shape
    means = np.empty(chains)
    within = 0.0
    for i in range(chains):
        mean = z[i].sum() / draws
        means[i] = mean
        within += ((z[i] - mean) ** 2).sum() / (draws - 1)
    within /= chains
    grand = means.sum() / chains
    between = draws * ((means - grand) ** 2).sum() / (chains - 1)
    return math.sqrt((between / within + draws - 1) / draws)


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _acov(centred, lag):  # pragma: no cover
    """Autocovariance at ``lag`` of centred ``(chain, draw)`` values, averaged over the
    chains (the sum divided by ``draws``, as ArviZ's FFT-based one)."""
    chains, draws = centred.shape
    total = 0.0
    for i in range(chains):
        s = 0.0
        for t in range(draws - lag):
            s += centred[i, t] * centred[i, t + lag]
        total += s / draws
    return total / chains


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _geyer_of(y: np.ndarray, rho: np.ndarray) -> tuple[float, bool]:  # pragma: no cover
    """ESS of ``(chain, draw)`` values by Geyer's initial positive and monotone
    sequences, line for line as ArviZ's ``_ess``, and whether one of its comparisons
    was within :data:`_KNIFE_EDGE` of a tie. With an empty ``rho`` each autocorrelation
    is computed when the sequence first needs it (~10 lags for well-mixed draws
    instead of an FFT of them all); otherwise ``rho`` holds them."""
    chains, draws = y.shape
    if y.max() - y.min() < _CONSTANT_SPAN:
        return float(chains * draws), False
    lazy = rho.size == 0
    centred = np.empty((chains, draws) if lazy else (0, 0))
    mean_var = var_plus = 1.0
    if lazy:
        means = np.empty(chains)
        for i in range(chains):
            means[i] = y[i].sum() / draws
            centred[i] = y[i] - means[i]
        mean_var = _acov(centred, 0) * draws / (draws - 1.0)
        var_plus = mean_var * (draws - 1.0) / draws
        if chains > 1:
            grand = means.sum() / chains
            var_plus += ((means - grand) ** 2).sum() / (chains - 1)
    r = np.zeros(draws)
    r[0] = 1.0
    even = 1.0
    odd = _rho_at(rho, centred, mean_var, var_plus, 1)
    r[1] = odd
    closest = np.inf
    t = 1
    while t < draws - 3 and even + odd > 0.0:
        even = _rho_at(rho, centred, mean_var, var_plus, t + 1)
        odd = _rho_at(rho, centred, mean_var, var_plus, t + 2)
        closest = min(closest, abs(even + odd))
        if even + odd >= 0:
            r[t + 1] = even
            r[t + 2] = odd
        t += 2
    max_t = t - 2
    closest = min(closest, abs(even))
    if even > 0:
        r[max_t + 1] = even
    t = 1
    while t <= max_t - 2:
        closest = min(closest, abs(r[t + 1] + r[t + 2] - r[t - 1] - r[t]))
        if r[t + 1] + r[t + 2] > r[t - 1] + r[t]:
            r[t + 1] = (r[t - 1] + r[t]) / 2.0
            r[t + 2] = r[t + 1]
        t += 2
    total = chains * draws
    tau = -1.0 + 2.0 * r[: max_t + 1].sum() + r[max_t + 1: max_t + 2].sum()
    floor = 1.0 / np.log10(total)
    if floor > tau:
        tau = floor
    return (np.nan if np.isnan(r[1]) else total / tau), lazy and closest < _KNIFE_EDGE


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _rho_at(rho, centred, mean_var, var_plus, lag):  # pragma: no cover
    """Autocorrelation at ``lag``: ``rho[lag]``, or from the direct sums when ``rho`` is empty."""
    if rho.size:
        return rho[lag]
    return 1.0 - (mean_var - _acov(centred, lag)) / var_plus


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _scores_of_sorted(values, order, scores, out):  # pragma: no cover
    """out[order[p]] = normal score of the average rank of the p-th smallest value."""
    n = order.size
    p = 0
    while p < n:
        q = p
        v = values[order[p]]
        while q + 1 < n and values[order[q + 1]] == v:
            q += 1
        score = scores[p + q]
        for r in range(p, q + 1):
            out[order[r]] = score
        p = q + 1


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _block_statistics(pooled, order, every, invalid, chains, scores, corners,
                      out, edge):  # pragma: no cover
    """R-hat, bulk and tail ESS (``out``'s rows) of each element ``j``; ``edge`` (bulk,
    tail) marks an ESS whose Geyer sequence met a tie (:data:`_KNIFE_EDGE`).

    ``pooled[j]`` are its ``2 * chains`` split chains' draws one after another and
    ``order[j]`` their ascending order; ``every[j]`` all its draws sorted, or nothing when
    ``pooled[j]`` holds them all; ``invalid[j]`` whether it has a NaN draw; ``scores[i]``
    the normal score of the average rank ``1 + i / 2``; ``corners`` the tail quantiles'
    neighbouring indices and weight as NumPy's linear method.
    """
    k, n = pooled.shape
    m = 2 * chains
    half = n // m
    z = np.empty(n)
    folded = np.empty(n)
    merged = np.empty(n, dtype=np.int64)
    folded_z = np.empty(n)
    indicator = np.empty(n)
    no_rho = np.empty(0)
    for j in range(k):
        if invalid[j]:
            out[:, j] = np.nan
            continue
        s = pooled[j]
        o = order[j]
        _scores_of_sorted(s, o, scores, z)
        bulk = _plain_rhat_of(z.reshape(m, half))
        if n % 2:
            median = s[o[n // 2]]
        else:
            median = (s[o[n // 2 - 1]] + s[o[n // 2]]) / 2.0
        # |s - median| in ascending order: a merge of the draws below the median (taken
        # downwards) and those at or above it (upwards).
        boundary = 0
        while boundary < n and s[o[boundary]] < median:
            boundary += 1
        for i in range(n):
            folded[i] = abs(s[i] - median)
        left, right = boundary - 1, boundary
        for p in range(n):
            if right >= n or (left >= 0 and folded[o[left]] <= folded[o[right]]):
                merged[p] = o[left]
                left -= 1
            else:
                merged[p] = o[right]
                right += 1
        _scores_of_sorted(folded, merged, scores, folded_z)
        tail = _plain_rhat_of(folded_z.reshape(m, half))
        out[0, j] = np.nan if chains < 2 else (tail if tail > bulk else bulk)
        out[1, j], edge[0, j] = _geyer_of(z.reshape(m, half), no_rho)
        # Tail ESS: the split chains' indicators of draws at or below each quantile.
        smallest = np.inf
        for c in range(2):
            lower, upper = int(corners[c, 0]), int(corners[c, 1])
            if every.shape[0]:
                a, b = every[j, lower], every[j, upper]
            else:
                a, b = s[o[lower]], s[o[upper]]
            weight = corners[c, 2]
            diff = b - a
            q = b - diff * (1 - weight) if weight >= 0.5 else a + diff * weight
            for i in range(n):
                indicator[i] = 1.0 if s[i] <= q else 0.0
            e, tie = _geyer_of(indicator.reshape(m, half), no_rho)
            edge[1, j] = edge[1, j] or tie
            if np.isnan(e) or e < smallest:
                smallest = e
                if np.isnan(e):
                    break
        out[2, j] = smallest


def _extreme(stat: xr.Dataset, largest: bool) -> tuple[float, str]:
    best_value, best_name = (-math.inf if largest else math.inf), ""
    for name, arr in stat.data_vars.items():
        values = np.asarray(arr.values, dtype=float)
        if values.size == 0 or np.all(np.isnan(values)):
            continue
        flat = values.ravel()
        pos = int(np.nanargmax(flat) if largest else np.nanargmin(flat))
        value = float(flat[pos])
        if (largest and value > best_value) or (not largest and value < best_value):
            where = np.unravel_index(pos, values.shape) if values.ndim else ()
            label = ",".join(str(arr[d].values[i]) for d, i in zip(arr.dims, where, strict=True)
                             if d in arr.coords)
            best_value, best_name = value, f"{name}[{label}]" if label else str(name)
    return best_value, best_name


def compute_diagnostics(
    posterior: xr.Dataset,
    sample_stats: xr.Dataset,
    *,
    sampling_seconds: float,
    build_seconds: float = 0.0,
) -> Diagnostics:
    """R-hat, bulk/tail ESS, divergences and tree-depth hits of a posterior.

    ``posterior`` holds the variables to check (free parameters and latent states)
    with dims ``(chain, draw, ...)``; ``sample_stats`` is the sampler's group
    (PyMC or nutpie naming).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> post = xr.Dataset({"mu": (("chain", "draw"), rng.normal(size=(4, 500)))})
    >>> stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 500), bool))})
    >>> d = compute_diagnostics(post, stats, sampling_seconds=1.0)
    >>> d.max_rhat < 1.01, d.divergences
    (True, 0)
    """
    statistics = _per_element(posterior, ("rhat", "bulk", "tail"))
    rhats, ess_bulk, ess_tail = statistics["rhat"], statistics["bulk"], statistics["tail"]
    max_rhat, worst_rhat = _extreme(rhats, largest=True)
    min_bulk, worst_ess = _extreme(ess_bulk, largest=False)
    min_tail, _ = _extreme(ess_tail, largest=False)
    divergences = int(sample_stats["diverging"].sum()) if "diverging" in sample_stats else 0
    depth_name = next((n for n in ("reached_max_treedepth", "maxdepth_reached")
                       if n in sample_stats), None)
    depth_hits = int(sample_stats[depth_name].sum()) if depth_name else 0
    return Diagnostics(
        max_rhat=max_rhat,
        min_ess_bulk=min_bulk,
        min_ess_tail=min_tail,
        divergences=divergences,
        max_treedepth_hits=depth_hits,
        draws=int(posterior.sizes["chain"] * posterior.sizes["draw"]),
        sampling_seconds=float(sampling_seconds),
        build_seconds=float(build_seconds),
        worst_rhat=worst_rhat,
        worst_ess=worst_ess,
    )
