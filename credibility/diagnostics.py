"""Convergence diagnostics reported with every fit.

Thresholds follow Vehtari et al. (2021): rank-normalised split R-hat <= 1.01 and
bulk and tail ESS >= 400, plus no divergent transitions. A fit that fails any of
them issues a :class:`ConvergenceWarning` and says so wherever it is shown.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import arviz as az
import numpy as np
import xarray as xr

RHAT_MAX = 1.01
ESS_MIN = 400
#: Elements of one variable per block when R-hat and ESS are computed: ArviZ works on
#: copies and FFT buffers several times the size of its input, which for the ~45,000
#: cells of size L (4,000 draws each) was gigabytes at once (decision 22).
DIAGNOSTIC_BLOCK = 2048


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


def blockwise(statistic, posterior: xr.Dataset, **options) -> xr.Dataset:
    """``statistic`` (``az.rhat``, ``az.ess``) of every element of every variable, computed
    :data:`DIAGNOSTIC_BLOCK` elements at a time.

    The same numbers as ``statistic(posterior, **options)``, with a bounded amount of
    memory beside the draws: each variable's elements are flattened (a view for the
    usual C-ordered draws) and passed on in blocks.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> post = xr.Dataset({"x": (("chain", "draw", "cell"), rng.normal(size=(2, 50, 5000)))})
    >>> whole, blocks = az.ess(post, method="bulk"), blockwise(az.ess, post, method="bulk")
    >>> bool(np.allclose(whole["x"], blocks["x"]))
    True
    """
    out = {}
    for name, draws in posterior.data_vars.items():
        element_dims = [d for d in draws.dims if d not in ("chain", "draw")]
        draws = draws.transpose("chain", "draw", *element_dims)
        size = math.prod(draws.sizes[d] for d in element_dims)
        if size <= DIAGNOSTIC_BLOCK:
            out[name] = statistic(draws, **options)
            continue
        values = draws.to_numpy().reshape(draws.sizes["chain"], draws.sizes["draw"], size)
        result = np.concatenate([
            np.asarray(statistic(xr.DataArray(values[:, :, start:start + DIAGNOSTIC_BLOCK],
                                              dims=("chain", "draw", "element")), **options))
            for start in range(0, size, DIAGNOSTIC_BLOCK)])
        shape = [draws.sizes[d] for d in element_dims]
        out[name] = xr.DataArray(result.reshape(shape), dims=element_dims,
                                 coords={d: draws[d] for d in element_dims if d in draws.coords})
    return xr.Dataset(out)


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
    rhat = blockwise(az.rhat, posterior)
    ess_bulk = blockwise(az.ess, posterior, method="bulk")
    ess_tail = blockwise(az.ess, posterior, method="tail")
    max_rhat, worst_rhat = _extreme(rhat, largest=True)
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
