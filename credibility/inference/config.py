"""What a sampling run is asked to do and what it did: :class:`SamplerConfig`, one frozen
record that a fit stores and an update reuses, and :class:`RunRecord`; with the
backends, methods and mass matrices they name, and what each backend needs of a model.

:mod:`credibility.inference.sampling` runs them (and re-exports every name here).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from dataclasses import replace as _replace
from typing import Any, Literal

from credibility.errors import FitError

Backend = Literal["nutpie", "pymc", "numpyro"]
BACKENDS: tuple[str, ...] = ("nutpie", "pymc", "numpyro")
#: Mass-matrix adaptations: diagonal, or nutpie's low-rank correction (helps when a few
#: directions -- e.g. a common level of all states -- are strongly correlated).
MASS_MATRICES: tuple[str, ...] = ("diag", "low_rank")
#: Inference methods: NUTS (the default; the posterior) or mean-field ADVI (a fast,
#: approximate posterior for exploration: it understates uncertainty; every result
#: of it is labelled APPROXIMATE, docs/performance.md gives its error against NUTS).
METHODS: tuple[str, ...] = ("nuts", "advi")
#: Longest NUTS trajectory by default: ``2**10 - 1`` leapfrog steps (every backend's own).
MAX_TREEDEPTH = 10
#: A run that continues until reliable stops at the latest after this many times its
#: ``draws`` per chain, unless :attr:`SamplerConfig.max_draws` says otherwise.
DRAW_LIMIT_FACTOR = 4
#: Ways a run ends (:attr:`RunRecord.stopped_by`).
STOPS: tuple[str, ...] = ("fixed length", "reliable", "draw limit", "time budget",
                          "new coordinates")


@dataclass(frozen=True)
class SamplerConfig:
    """How to sample: one frozen record, stored with a fit and reused by its updates.

    ``draws`` and ``tune`` are per chain. With ``until_reliable`` (the default) a NUTS
    run checks its diagnostics after ``draws`` draws and, while they fail, continues in
    steps of ``draws // 2`` up to ``max_draws`` per chain (default
    :data:`DRAW_LIMIT_FACTOR` x ``draws``) or until ``budget_seconds`` of sampling have
    passed (default: no time limit). The draws a run keeps are the first ``n`` of each
    chain for the first checkpoint ``n`` that passes: the same seed and settings give the
    same draws, whatever the machine's speed; only a time budget that runs out makes
    the result depend on the clock, and the run says so (:class:`RunRecord`).
    ``mass_matrix`` is one of :data:`MASS_MATRICES`; ``method`` one of :data:`METHODS`
    (ADVI runs ``advi_iterations`` steps, default
    :data:`~credibility.inference.sampling.ADVI_ITERATIONS`, and is never
    extended); ``max_treedepth`` caps NUTS trajectories at ``2**max_treedepth - 1``
    leapfrog steps.

    Examples
    --------
    >>> config = SamplerConfig(draws=500, chains=2, seed=3)
    >>> config.draw_limit, config.checkpoints()
    (2000, (500, 750, 1000, 1250, 1500, 1750, 2000))
    >>> SamplerConfig.from_dict(config.to_dict()) == config
    True
    >>> SamplerConfig(draws=0)
    Traceback (most recent call last):
    ...
    credibility.errors.FitError: draws must be a positive integer, got 0
    """

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 0
    backend: Backend = "nutpie"
    target_accept: float = 0.9
    mass_matrix: str = "diag"
    max_treedepth: int = MAX_TREEDEPTH
    method: str = "nuts"
    advi_iterations: int | None = None
    until_reliable: bool = True
    max_draws: int | None = None
    budget_seconds: float | None = None

    def __post_init__(self) -> None:
        check_backend(self.backend)
        for name in ("draws", "tune", "chains"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise FitError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise FitError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not isinstance(self.target_accept, (int, float)) or not (
                0.0 < self.target_accept < 1.0):
            raise FitError(f"target_accept must be between 0 and 1, got {self.target_accept!r}")
        if self.method not in METHODS:
            raise FitError(f"unknown method {self.method!r}; expected one of "
                           f"{', '.join(METHODS)}")
        if self.mass_matrix not in MASS_MATRICES:
            raise FitError(f"unknown mass matrix {self.mass_matrix!r}; expected one of "
                           f"{', '.join(MASS_MATRICES)}")
        if self.mass_matrix != "diag" and self.backend != "nutpie":
            raise FitError(f"mass_matrix={self.mass_matrix!r} needs the nutpie backend")
        check_max_treedepth(self.max_treedepth)
        if self.max_draws is not None and (
                isinstance(self.max_draws, bool) or not isinstance(self.max_draws, int)
                or self.max_draws < self.draws):
            raise FitError(f"max_draws must be an integer >= draws ({self.draws}), "
                           f"got {self.max_draws!r}")
        if self.budget_seconds is not None and not (
                isinstance(self.budget_seconds, (int, float)) and self.budget_seconds > 0):
            raise FitError(f"budget_seconds must be a positive number of seconds, "
                           f"got {self.budget_seconds!r}")
        if self.advi_iterations is not None and (
                not isinstance(self.advi_iterations, int) or self.advi_iterations < 100):
            raise FitError(f"advi_iterations must be at least 100, got {self.advi_iterations!r}")

    @property
    def extends(self) -> bool:
        """Whether a run with this config may draw more than ``draws`` per chain."""
        return self.until_reliable and self.method == "nuts" and self.draw_limit > self.draws

    @property
    def draw_limit(self) -> int:
        """The most draws per chain a run takes."""
        if not self.until_reliable or self.method != "nuts":
            return self.draws
        return self.max_draws if self.max_draws is not None else DRAW_LIMIT_FACTOR * self.draws

    def checkpoints(self) -> tuple[int, ...]:
        """Draws per chain at which an until-reliable run checks its diagnostics."""
        step = max(self.draws // 2, 1)
        points = list(range(self.draws, self.draw_limit, step))
        return (*points, self.draw_limit) if points[-1:] != [self.draw_limit] else tuple(points)

    def replace(self, **changes: Any) -> SamplerConfig:
        """A copy with ``changes`` (checked again).

        Examples
        --------
        >>> SamplerConfig().replace(seed=4).seed
        4
        """
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SamplerConfig:
        """The config recorded in ``raw`` (e.g. a fit's settings; other keys are ignored).

        Records written before runs could continue until reliable lack
        ``until_reliable``: those runs had a fixed length, and so does their config.
        """
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in names}
        values.setdefault("until_reliable", False)
        return cls(**values)


@dataclass(frozen=True)
class RunRecord:
    """What a run did: the draws per chain it kept, why it stopped, and each check.

    ``stopped_by`` is one of :data:`STOPS`: ``"fixed length"`` (no checks),
    ``"reliable"`` (a checkpoint passed), ``"draw limit"`` (the last checkpoint
    failed) or ``"time budget"`` (the budget ran out first; the draws kept are the
    ones every chain had then, so this result depends on the machine's speed).
    ``checks`` holds ``(draws per chain, max R-hat, min bulk ESS, min tail ESS,
    divergences, seconds of sampling until then)`` per checkpoint, those of runs
    restarted included. ``restarts`` holds ``(target acceptance, draws per chain,
    divergences)`` of each run that was given up for its divergences and started
    again at the next of :data:`~credibility.inference.sampling.DIVERGENCE_TARGETS`;
    ``target_accept`` is the kept run's (``None``: the config's). ``"new
    coordinates"``: the caller's ``switch`` gave the run up at its first check, to
    sample the model in other coordinates (decision 33); ``coordinates`` then names
    the kept run's (its checks follow the given-up run's).
    """

    draws: int
    stopped_by: str
    checks: tuple[tuple[int, float, float, float, int, float], ...] = ()
    seconds: float = 0.0
    restarts: tuple[tuple[float, int, int], ...] = ()
    target_accept: float | None = None
    coordinates: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {"draws": self.draws, "stopped_by": self.stopped_by,
                "checks": [list(c) for c in self.checks], "seconds": self.seconds,
                "restarts": [list(r) for r in self.restarts],
                "target_accept": self.target_accept, "coordinates": self.coordinates}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RunRecord:
        """Inverse of :meth:`to_dict` (records written before restarts lack them)."""
        target = raw.get("target_accept")
        return cls(draws=int(raw["draws"]), stopped_by=str(raw["stopped_by"]),
                   checks=tuple(tuple(c) for c in raw.get("checks", ())),  # type: ignore[misc]
                   seconds=float(raw.get("seconds", 0.0)),
                   restarts=tuple((float(r[0]), int(r[1]), int(r[2]))
                                  for r in raw.get("restarts", ())),
                   target_accept=None if target is None else float(target),
                   coordinates=raw.get("coordinates"))

    def describe(self) -> str:
        """One line for reports.

        Examples
        --------
        >>> RunRecord(2000, "reliable", ((1000, 1.02, 300.0, 350.0, 0, 9.5),
        ...                              (2000, 1.004, 620.0, 700.0, 0, 17.2))).describe()
        'passed its diagnostics at 2000 draws per chain (checked at 1000, 2000)'
        >>> RunRecord(1000, "reliable", ((1000, 1.003, 900.0, 950.0, 2, 9.5),
        ...                              (1000, 1.002, 800.0, 850.0, 0, 21.0)),
        ...           restarts=((0.9, 1000, 2),), target_accept=0.95).describe()[:59]
        'restarted at target acceptance 0.95 (2 divergences at 0.9);'
        """
        at = ", ".join(str(c[0]) for c in self.checks)
        restarted = ""
        if self.coordinates is not None:
            restarted = f"sampled again with {self.coordinates}; "
        if self.restarts:
            before = ", ".join(f"{d} divergences at {t:g}" for t, _, d in self.restarts)
            restarted += f"restarted at target acceptance {self.target_accept:g} ({before}); "
        if self.stopped_by == "reliable":
            return (f"{restarted}passed its diagnostics at {self.draws} draws per chain "
                    f"(checked at {at})")
        if self.stopped_by == "draw limit":
            return (f"{restarted}still failing at the draw limit, {self.draws} draws per "
                    f"chain (checked at {at})")
        if self.stopped_by == "time budget":
            return (f"{restarted}stopped by the time budget after {self.seconds:.0f} s at "
                    f"{self.draws} draws per chain (checked at {at})")
        if self.stopped_by == "new coordinates":
            return (f"given up at {self.draws} draws per chain for other coordinates "
                    f"(checked at {at})")
        return f"fixed length: {self.draws} draws per chain"



def check_backend(backend: str) -> None:
    """Raise :class:`FitError` unless ``backend`` is known and installed.

    Examples
    --------
    >>> check_backend("nutpie")
    >>> check_backend("stan")
    Traceback (most recent call last):
    ...
    credibility.errors.FitError: unknown backend 'stan'; expected one of nutpie, pymc, numpyro
    """
    if backend not in BACKENDS:
        raise FitError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend == "numpyro" and importlib.util.find_spec("numpyro") is None:
        raise FitError(
            "backend 'numpyro' needs the optional JAX extra: pip install 'credibility[jax]'"
        )



def check_max_treedepth(max_treedepth: int) -> None:
    """Raise :class:`FitError` unless ``max_treedepth`` is an integer from 1 to 20.

    Examples
    --------
    >>> check_max_treedepth(5)
    >>> check_max_treedepth(0)
    Traceback (most recent call last):
    ...
    credibility.errors.FitError: max_treedepth must be an integer from 1 to 20, not 0
    """
    if isinstance(max_treedepth, bool) or not isinstance(max_treedepth, int) or not (
            1 <= max_treedepth <= 20):
        raise FitError(f"max_treedepth must be an integer from 1 to 20, not {max_treedepth!r}")


def jax_chain_method() -> str:
    """How the numpyro backend runs its chains on JAX's default device.

    On a GPU (or other accelerator) all chains run as one vectorised program on
    the one device (``"vectorized"``); on the CPU each chain gets its own host
    device (``"parallel"``; PyMC makes JAX expose several).

    Examples
    --------
    >>> jax_chain_method() in ("parallel", "vectorized")
    True
    """
    # PyMC's JAX module asks JAX for several host devices (XLA_FLAGS); it must be
    # imported before JAX first picks its devices, or CPU chains run one by one.
    import jax
    import pymc.sampling.jax  # noqa: F401

    return "parallel" if jax.default_backend() == "cpu" else "vectorized"


def one_hot_gathers(backend: str) -> bool:
    """Whether a model sampled by ``backend`` should gather its per-signal parameters by
    one-hot products (``build_measurement_model(one_hot=...)``).

    True for the numpyro backend on an accelerator, where the scatter-adds of
    indexing's gradient are slow (docs/performance.md, "numpyro on a GPU"); on the
    CPU indexing is faster.

    Examples
    --------
    >>> one_hot_gathers("nutpie")
    False
    """
    return backend == "numpyro" and jax_chain_method() == "vectorized"


def fused_likelihood(backend: str) -> bool:
    """Whether a model sampled by ``backend`` should compute its likelihood with the fused
    kernels of :mod:`credibility.kernels` (``build_measurement_model(fused=...)``).

    True for nutpie (numba) and PyMC's own samplers; the numpyro backend compiles the
    model with JAX, for which the kernels have no implementation.

    Examples
    --------
    >>> fused_likelihood("nutpie"), fused_likelihood("numpyro")
    (True, False)
    """
    return backend in ("nutpie", "pymc")
