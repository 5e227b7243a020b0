"""Convergence diagnostics reported with every fit.

Thresholds follow Vehtari et al. (2021): rank-normalised split R-hat <= 1.01 and
bulk and tail ESS >= 400, plus no divergent transitions. A fit that fails any of
them issues a :class:`ConvergenceWarning` and says so wherever it is shown.
"""

from __future__ import annotations

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import arviz as az
import numba
import numpy as np
import xarray as xr
from scipy import special
from scipy.fft import next_fast_len

RHAT_MAX = 1.01
ESS_MIN = 400
#: Elements of one variable per block when R-hat and ESS are computed as array
#: operations: their ranks and FFT buffers are several times the size of the draws
#: (~0.4 GiB per block of 4,000 draws), which for the ~100,000 free coordinates and
#: cells of size L would be gigabytes at once (decision 22).
DIAGNOSTIC_BLOCK = 2048
#: Blocks computed at once, in threads (each holds its own ~0.4 GiB of buffers).
DIAGNOSTIC_THREADS = min(4, os.cpu_count() or 1)


class ConvergenceWarning(UserWarning):
    """The sampler's diagnostics say the posterior may not be trustworthy."""


@dataclass(frozen=True)
class Diagnostics:
    """Sampler diagnostics of one fit.

    ``worst_rhat`` / ``worst_ess`` name the variable (and cell) with the largest
    R-hat and the smallest bulk ESS.

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
            warnings.warn(
                f"{what} NOT reliable: " + "; ".join(problems)
                + " (run longer, raise target_accept, or check the data)",
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
        ]


def _verdict(passed: bool) -> str:
    return "ok" if passed else "FAIL"


def rhat(posterior: xr.Dataset) -> xr.Dataset:
    """Rank-normalised split R-hat (Vehtari et al. 2021) of every element of every variable.

    The same numbers as ``az.rhat(posterior)`` (the maximum of the bulk and the folded
    R-hat of the rank-normalised split chains), computed for :data:`DIAGNOSTIC_BLOCK`
    elements at a time as array operations instead of one element at a time (2.6x
    faster than ArviZ on 4 x 1,000 draws: ``benchmarks/diagnostics.py``).

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
    monotone sequence; computed for :data:`DIAGNOSTIC_BLOCK` elements at a time.

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
    :data:`DIAGNOSTIC_BLOCK` elements at a time (a variable's elements are flattened: a
    view for the usual C-ordered draws), :data:`DIAGNOSTIC_THREADS` blocks at once."""
    flat, tasks = {}, []
    for name, draws in posterior.data_vars.items():
        element_dims = [d for d in draws.dims if d not in ("chain", "draw")]
        draws = draws.transpose("chain", "draw", *element_dims)
        size = math.prod(draws.sizes[d] for d in element_dims)
        flat[name] = (draws, element_dims,
                      draws.to_numpy().reshape(draws.sizes["chain"], draws.sizes["draw"], size))
        tasks += [(name, start) for start in range(0, size, DIAGNOSTIC_BLOCK)]

    def block(task: tuple[str, int]) -> np.ndarray:
        name, start = task
        values = flat[name][2][:, :, start:start + DIAGNOSTIC_BLOCK]
        # Elements ArviZ gives NaN (constant, too short, a NaN draw) divide by zero on
        # the way (np.errstate is per thread, so it is set here).
        with np.errstate(divide="ignore", invalid="ignore"):
            return _statistics(np.asarray(values, dtype=float), which)

    # The ranks and Geyer sequences (numba) and numpy's FFTs release the GIL, so the
    # blocks run in parallel threads. Warnings are filtered process-wide around them.
    with warnings.catch_warnings(), ThreadPoolExecutor(DIAGNOSTIC_THREADS) as pool:
        warnings.simplefilter("ignore", RuntimeWarning)
        results = list(pool.map(block, tasks))
    out: dict[str, dict[str, xr.DataArray]] = {statistic: {} for statistic in which}
    for name, (draws, element_dims, _) in flat.items():
        parts = [r for (owner, _), r in zip(tasks, results, strict=True) if owner == name]
        result = np.concatenate(parts or [np.empty((len(which), 0))], axis=1)
        coords = {d: draws[d] for d in element_dims if d in draws.coords}
        for row, statistic in zip(result, which, strict=True):
            out[statistic][name] = xr.DataArray(
                row.reshape([draws.sizes[d] for d in element_dims]), dims=element_dims,
                coords=coords)
    return {statistic: xr.Dataset(arrays) for statistic, arrays in out.items()}


def _statistics(x: np.ndarray, which: tuple[str, ...]) -> np.ndarray:
    """Rows ``which`` (``"rhat"``, ``"bulk"``, ``"tail"``) of ``(chain, draw, element)``
    draws; the split chains' normal scores, which R-hat and bulk ESS share, once."""
    split = _split(x)
    z = _z_scale(split) if "rhat" in which or "bulk" in which else None
    rows = []
    for statistic in which:
        if statistic == "rhat":
            rows.append(_rank_rhat(x, split, z))
        elif statistic == "bulk":
            rows.append(np.where(_invalid(x, 1), np.nan, _geyer_ess(z)))
        else:
            rows.append(_ess_tail(x))
    return np.stack(rows)


def _invalid(x: np.ndarray, min_chains: int) -> np.ndarray:
    """Elements ArviZ returns NaN for: any NaN draw, too few chains or draws."""
    chains, draws = x.shape[:2]
    return np.isnan(x).any(axis=(0, 1)) | (chains < min_chains) | (draws < 4)


def _split(x: np.ndarray) -> np.ndarray:
    """Each chain's first and last halves as chains of their own (a middle draw is dropped)."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0)


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks (ties averaged, Blom's offset 3/8) per element."""
    chains, draws, k = x.shape
    ranks = _average_ranks(x.reshape(chains * draws, k))
    return special.ndtri((ranks - 3 / 8) / (chains * draws - 2 * 3 / 8 + 1)).reshape(x.shape)


@numba.njit(cache=True, nogil=True)
def _average_ranks(x: np.ndarray) -> np.ndarray:  # pragma: no cover
    """1-based ranks within each column of ``x``, ties given their average rank (as
    ``scipy.stats.rankdata(method="average")``, which takes ~1 ms per 4,000 draws)."""
    n, columns = x.shape
    out = np.empty((n, columns))
    for j in range(columns):
        column = x[:, j].copy()
        order = np.argsort(column)
        first = 0
        while first < n:
            last = first
            while last + 1 < n and column[order[last + 1]] == column[order[first]]:
                last += 1
            for position in range(first, last + 1):
                out[order[position], j] = (first + last) / 2.0 + 1.0
            first = last + 1
    return out


def _plain_rhat(z: np.ndarray) -> np.ndarray:
    draws = z.shape[1]
    between = draws * np.var(z.mean(axis=1), axis=0, ddof=1)
    within = np.mean(np.var(z, axis=1, ddof=1), axis=0)
    return np.sqrt((between / within + draws - 1) / draws)


def _rank_rhat(x: np.ndarray, split: np.ndarray, z: np.ndarray) -> np.ndarray:
    """R-hat of ``x`` from its split chains and their normal scores ``z``."""
    bulk = _plain_rhat(z)
    median = np.median(split.reshape(-1, split.shape[2]), axis=0)
    tail = _plain_rhat(_z_scale(np.abs(split - median)))
    return np.where(_invalid(x, 2), np.nan, np.where(tail > bulk, tail, bulk))


def _ess_tail(x: np.ndarray) -> np.ndarray:
    prob = float(az.rcParams["stats.ci_prob"])
    low, high = sorted((prob, 1 - prob))
    pooled = x.reshape(-1, x.shape[2])
    quantiles = np.quantile(pooled, [low, high], axis=0)
    smaller = np.minimum(_geyer_ess(_split((x <= quantiles[0]).astype(float))),
                         _geyer_ess(_split((x <= quantiles[1]).astype(float))))
    return np.where(_invalid(x, 1), np.nan, smaller)


def _geyer_ess(y: np.ndarray) -> np.ndarray:
    """ESS of each element of ``(chain, draw, element)`` draws: FFT autocovariances, then
    Geyer's initial positive and monotone sequences (ArviZ's ``_ess``)."""
    chains, draws, _ = y.shape
    length = next_fast_len(2 * draws)
    centred = y - y.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=length, axis=1)
    spectrum *= np.conjugate(spectrum)
    acov = np.fft.irfft(spectrum, n=length, axis=1)[:, :draws] / draws
    mean_acov = acov.mean(axis=0)
    mean_var = mean_acov[0] * draws / (draws - 1.0)
    var_plus = mean_var * (draws - 1.0) / draws
    if chains > 1:
        var_plus = var_plus + np.var(y.mean(axis=1), axis=0, ddof=1)
    rho = 1.0 - (mean_var - mean_acov) / var_plus
    out = _geyer(np.ascontiguousarray(rho.T), chains, draws)
    constant = (y.max(axis=(0, 1)) - y.min(axis=(0, 1))) < np.finfo(float).resolution
    return np.where(constant, float(chains * draws), out)


@numba.njit(cache=True, nogil=True)
def _geyer(rho: np.ndarray, chains: int, draws: int) -> np.ndarray:  # pragma: no cover
    """Geyer's sequences per row of autocorrelations ``rho`` (element, lag), line for
    line as ArviZ's ``_ess`` (numba: a loop per element)."""
    out = np.empty(rho.shape[0])
    for j in range(rho.shape[0]):
        r = np.zeros(draws)
        even = 1.0
        r[0] = even
        odd = rho[j, 1]
        r[1] = odd
        t = 1
        while t < draws - 3 and even + odd > 0.0:
            even = rho[j, t + 1]
            odd = rho[j, t + 2]
            if even + odd >= 0:
                r[t + 1] = even
                r[t + 2] = odd
            t += 2
        max_t = t - 2
        if even > 0:
            r[max_t + 1] = even
        t = 1
        while t <= max_t - 2:
            if r[t + 1] + r[t + 2] > r[t - 1] + r[t]:
                r[t + 1] = (r[t - 1] + r[t]) / 2.0
                r[t + 2] = r[t + 1]
            t += 2
        total = chains * draws
        tau = -1.0 + 2.0 * r[: max_t + 1].sum() + r[max_t + 1: max_t + 2].sum()
        floor = 1.0 / np.log10(total)
        if floor > tau:
            tau = floor
        out[j] = np.nan if np.isnan(r).any() else total / tau
    return out


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
