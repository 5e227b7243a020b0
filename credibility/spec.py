"""Declarative model specifications (``models/*.toml``).

A specification says which signals the measurement model uses (name, family,
level, direction and priors), how latent credibility evolves over time, which
group effects pool it, and on which latent dimension each signal loads (one,
``("credibility",)``, unless ``[model] dimensions`` names several; see
"Several dimensions" in ``docs/model.md``). It is plain data: :func:`load_spec` reads it,
:func:`parse_spec` checks it, and every problem raises :class:`SpecError` naming
the file and the key.

Examples
--------
>>> spec = load_spec("default")
>>> spec.dynamics
'ar1'
>>> [s.family for s in spec.signals][:3]
['count', 'amount', 'ratio']
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from credibility.errors import SpecError
from credibility.resources import models_dir

FAMILIES = ("count", "amount", "ratio", "proportion", "binary", "binomial", "ordinal")
LEVELS = ("commitment", "alliance")
DYNAMICS = ("ar1", "random_walk")

Family = Literal["count", "amount", "ratio", "proportion", "binary", "binomial", "ordinal"]

#: Families whose observations enter on the log scale (LogNormal likelihood).
LOG_FAMILIES = ("amount", "ratio")


@dataclass(frozen=True)
class NormalPrior:
    """A Normal(mu, sigma) prior."""

    mu: float
    sigma: float


@dataclass(frozen=True)
class SignalSpec:
    """One observed signal series and its likelihood.

    ``intercept``, ``loading_sd`` and ``noise_mean`` are ``None`` when the spec asks
    for them to be scaled to the data ("auto"); see ``docs/model.md``.

    ``dimension`` is the latent dimension the signal loads on (:func:`parse_spec`
    always sets it; ``None``, for a signal built in code, means the spec's first
    dimension) and ``also`` the other dimensions it cross-loads on. Its
    ``direction`` applies to every dimension it loads on.
    """

    name: str
    family: Family
    level: Literal["commitment", "alliance"] = "commitment"
    direction: int = 1
    description: str = ""
    target: float = 1.0
    levels: int | None = None
    intercept: NormalPrior | None = None
    loading_sd: float | None = None
    noise_mean: float | None = None
    residual_persistence: bool = False
    dimension: str | None = None
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Priors:
    """Priors of the latent structure (shared by every signal).

    ``dimension_correlation_eta`` is the LKJ shape of the correlation of several
    dimensions (used only when ``[model] dimensions`` names more than one).
    """

    persistence_alpha: float = 5.0
    persistence_beta: float = 1.5
    random_walk_step_sd: float = 0.3
    alliance_mean_sd: float = 1.0
    alliance_dynamics_sd: float = 0.5
    region_sd: float = 0.5
    type_sd: float = 0.5
    proportion_precision_alpha: float = 2.0
    proportion_precision_beta: float = 0.1
    cutpoint_sd: float = 2.0
    cutpoint_gap_sd: float = 0.5
    dimension_correlation_eta: float = 2.0


@dataclass(frozen=True)
class OutcomeSpec:
    """The deterrence-success model of ``[outcome]`` (docs/model.md).

    ``logit P(success) = intercept + credibility * x + covariate . z + region``,
    with covariates standardised over the fitted cases (so ``covariate_sd`` is the
    prior sd of the effect of a one-sd change) and sum-to-zero region effects.
    """

    covariates: tuple[str, ...] = ()
    region: bool = True
    intercept_sd: float = 1.5
    credibility_sd: float = 1.0
    covariate_sd: float = 1.0
    region_sd: float = 0.5


@dataclass(frozen=True)
class ModelSpec:
    """A complete, validated model specification."""

    name: str
    signals: tuple[SignalSpec, ...]
    dynamics: Literal["ar1", "random_walk"] = "ar1"
    dimensions: tuple[str, ...] = ("credibility",)
    between_within: tuple[str, ...] = ()
    centred_states: tuple[str, ...] = ("commitment",)
    spectral_states: bool = False
    spectral_data_precision: float = 1.0
    marker_signal: str | None = None
    scale_coordinate: bool = True
    residual_signal: str | None = None
    adapt_coordinates: bool = True
    centred_alliance_intercepts: bool = False
    description: str = ""
    region_effects: bool = True
    type_effects: bool = True
    priors: Priors = field(default_factory=Priors)
    outcome: OutcomeSpec = field(default_factory=OutcomeSpec)
    source: str = field(default="<memory>", compare=False)
    text: str = field(default="", compare=False)

    def signal(self, name: str) -> SignalSpec:
        """Return the signal called ``name``.

        Examples
        --------
        >>> load_spec("default").signal("troops").family
        'amount'
        """
        for s in self.signals:
            if s.name == name:
                return s
        raise SpecError(f"{self.source}: no signal named {name!r}")

    @property
    def between_within_rows(self) -> list[int]:
        """Positions in :attr:`dimensions` of the ``between_within`` dimensions, in that
        order.

        Examples
        --------
        >>> import dataclasses
        >>> spec = load_spec("capability_willingness")
        >>> dataclasses.replace(spec, between_within=("willingness",)).between_within_rows
        [1]
        """
        return [self.dimensions.index(d) for d in self.between_within]

    def signal_dimensions(self, name: str) -> tuple[str, ...]:
        """The dimensions signal ``name`` loads on: its own first, then its ``also``.

        Examples
        --------
        >>> spec = load_spec("capability_willingness")
        >>> spec.signal_dimensions("joint_exercises")
        ('willingness', 'capability')
        >>> load_spec("default").signal_dimensions("troops")
        ('credibility',)
        """
        signal = self.signal(name)
        return (signal.dimension or self.dimensions[0], *signal.also)

    @property
    def covariates(self) -> tuple[str, ...]:
        """Covariate columns the cases table must have (``[outcome] covariates``)."""
        return self.outcome.covariates

    @property
    def signal_names(self) -> tuple[str, ...]:
        """Names of the declared signals, in spec order."""
        return tuple(s.name for s in self.signals)

    @property
    def sha256(self) -> str:
        """SHA-256 of the spec's TOML text (provenance of a fit)."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def load_spec(name_or_path: str | Path) -> ModelSpec:
    """Load a model specification by bundled name (``"default"``) or file path.

    Examples
    --------
    >>> load_spec("default").name
    'default'
    """
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = models_dir() / f"{name_or_path}.toml"
    if not path.is_file():
        available = ", ".join(sorted(p.stem for p in models_dir().glob("*.toml")))
        raise SpecError(
            f"{name_or_path}: no such model specification file "
            f"(bundled specifications: {available})"
        )
    text = path.read_text(encoding="utf-8")
    return parse_spec(text, source=str(path))


def parse_spec(text: str, *, source: str = "<string>") -> ModelSpec:
    """Parse and validate the TOML text of a specification.

    Examples
    --------
    >>> spec = parse_spec('''
    ... [model]
    ... name = "tiny"
    ... [[signals]]
    ... name = "exercises"
    ... family = "count"
    ... ''')
    >>> spec.signals[0].level, spec.signals[0].direction
    ('commitment', 1)
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML ({exc})") from None
    _known_keys(raw, {"model", "hierarchy", "priors", "signals", "outcome"}, source, "")
    model = _table(raw, "model", source)
    _known_keys(model, {"name", "description", "dynamics", "dimensions", "between_within",
                        "centred_states",
                        "spectral_states", "spectral_data_precision", "marker_signal",
                        "scale_coordinate", "residual_signal", "adapt_coordinates",
                        "centred_alliance_intercepts"},
                source, "model")
    dimensions = _parse_dimensions(model, source)
    centred = model.get("centred_states", ["commitment"])
    if not isinstance(centred, list) or not set(centred) <= set(LEVELS):
        raise SpecError(
            f"{source}: [model] centred_states = {centred!r}; expected a list drawn from "
            f"{', '.join(LEVELS)}"
        )
    name = _string(model, "name", source, "model", default=Path(source).stem)
    dynamics = _string(model, "dynamics", source, "model", default="ar1")
    if dynamics not in DYNAMICS:
        raise SpecError(
            f"{source}: [model] dynamics = {dynamics!r}; expected one of {', '.join(DYNAMICS)}"
        )
    spectral = _bool(model, "spectral_states", source, "model", default=False)
    if spectral and dynamics != "ar1":
        raise SpecError(f"{source}: [model] spectral_states = true needs dynamics = 'ar1' "
                        f"(got {dynamics!r})")
    if spectral and "commitment" not in centred:
        raise SpecError(f"{source}: [model] spectral_states = true replaces the centred "
                        "commitment states; add 'commitment' to centred_states")
    precision = _positive(model, "spectral_data_precision", source, "model", default=1.0)
    between_within = _parse_between_within(model, dimensions, dynamics, source)
    one_latent = [key for key in ("spectral_states", "marker_signal", "residual_signal")
                  if model.get(key, False) not in (False, None)]
    if len(dimensions) > 1 and one_latent:
        raise SpecError(f"{source}: [model] {', '.join(one_latent)} cannot be combined with "
                        f"{len(dimensions)} dimensions ({', '.join(dimensions)}): "
                        "their coordinates are defined for one latent")
    marker = model.get("marker_signal")
    if marker is not None:
        marker = _string(model, "marker_signal", source, "model")
        if not spectral:
            raise SpecError(f"{source}: [model] marker_signal needs spectral_states = true")
    scale_coordinate = _bool(model, "scale_coordinate", source, "model", default=True)
    residual = model.get("residual_signal")
    if residual is not None:
        residual = _string(model, "residual_signal", source, "model")
        if spectral or "commitment" not in centred or not scale_coordinate:
            raise SpecError(f"{source}: [model] residual_signal needs centred commitment states "
                            "with the scale coordinate (centred_states including 'commitment', "
                            "spectral_states = false, scale_coordinate = true)")
    hierarchy = _table(raw, "hierarchy", source, required=False)
    _known_keys(hierarchy, {"region", "type"}, source, "hierarchy")
    priors = _parse_priors(_table(raw, "priors", source, required=False), source)
    outcome = _parse_outcome(_table(raw, "outcome", source, required=False), source)

    raw_signals = raw.get("signals")
    if not isinstance(raw_signals, list) or not raw_signals:
        raise SpecError(f"{source}: at least one [[signals]] table is required")
    signals = tuple(_parse_signal(s, i, source, dimensions)
                    for i, s in enumerate(raw_signals, start=1))
    names = [s.name for s in signals]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SpecError(f"{source}: signal names must be unique; repeated: {', '.join(duplicated)}")
    if not any(s.level == "commitment" for s in signals):
        raise SpecError(f"{source}: at least one signal must have level = 'commitment'")
    if marker is not None and marker not in names:
        raise SpecError(f"{source}: [model] marker_signal = {marker!r} is not a declared signal "
                        f"({', '.join(names)})")
    if marker is not None and signals[names.index(marker)].level != "commitment":
        raise SpecError(f"{source}: [model] marker_signal = {marker!r} must have "
                        "level = 'commitment' (it scales the commitment states)")
    if residual is not None:
        _check_residual_signal(residual, signals, source)
    _check_identified(dimensions, signals, source)
    return ModelSpec(
        name=name,
        description=_string(model, "description", source, "model", default=""),
        dynamics=dynamics,  # type: ignore[arg-type]
        dimensions=dimensions,
        between_within=between_within,
        centred_states=tuple(centred),
        spectral_states=spectral,
        spectral_data_precision=precision,
        marker_signal=marker,
        scale_coordinate=scale_coordinate,
        residual_signal=residual,
        adapt_coordinates=_bool(model, "adapt_coordinates", source, "model", default=True),
        centred_alliance_intercepts=_bool(model, "centred_alliance_intercepts", source, "model",
                                          default=False),
        signals=signals,
        region_effects=_bool(hierarchy, "region", source, "hierarchy", default=True),
        type_effects=_bool(hierarchy, "type", source, "hierarchy", default=True),
        priors=priors,
        outcome=outcome,
        source=source,
        text=text,
    )


def _parse_dimensions(model: dict[str, Any], source: str) -> tuple[str, ...]:
    """``[model] dimensions``: a non-empty list of unique identifiers."""
    raw = model.get("dimensions", ["credibility"])
    if not isinstance(raw, list) or not raw or not all(isinstance(d, str) for d in raw):
        raise SpecError(f"{source}: [model] dimensions = {raw!r}; expected a non-empty list "
                        "of names")
    bad = [d for d in raw if not _is_identifier(d)]
    if bad:
        raise SpecError(f"{source}: [model] dimensions: {', '.join(map(repr, bad))}; expected "
                        "letters, digits and underscores")
    repeated = sorted({d for d in raw if raw.count(d) > 1})
    if repeated:
        raise SpecError(f"{source}: [model] dimensions must be unique; repeated: "
                        f"{', '.join(repeated)}")
    return tuple(raw)


def _parse_between_within(model: dict[str, Any], dimensions: tuple[str, ...], dynamics: str,
                          source: str) -> tuple[str, ...]:
    """``[model] between_within``: the dimensions whose lasting level per commitment is
    separated from its movements over time, each with its own loadings (docs/model.md,
    "Between and within"). Built for the model of several dimensions with AR(1) paths."""
    raw = model.get("between_within", [])
    if not isinstance(raw, list) or not all(isinstance(d, str) for d in raw):
        raise SpecError(f"{source}: [model] between_within = {raw!r}; expected a list of "
                        "dimension names")
    if not raw:
        return ()
    unknown = [d for d in raw if d not in dimensions]
    if unknown:
        raise SpecError(f"{source}: [model] between_within names {', '.join(map(repr, unknown))}"
                        f", not among [model] dimensions ({', '.join(dimensions)})")
    repeated = sorted({d for d in raw if raw.count(d) > 1})
    if repeated:
        raise SpecError(f"{source}: [model] between_within repeats {', '.join(repeated)}")
    if len(dimensions) < 2:
        raise SpecError(f"{source}: [model] between_within is built for the model of several "
                        f"dimensions only; with one dimension ({dimensions[0]}) it is not "
                        "built yet: declare a second dimension in [model] dimensions, or "
                        "remove between_within")
    if dynamics != "ar1":
        raise SpecError(f"{source}: [model] between_within needs dynamics = 'ar1' (got "
                        f"{dynamics!r}): the within paths are built as AR(1) paths around "
                        "zero, less each commitment's own mean; random-walk movements are "
                        "not built")
    return tuple(raw)


def _check_identified(dimensions: tuple[str, ...], signals: tuple[SignalSpec, ...],
                      source: str) -> None:
    """Each dimension is identified: some signal loads on it, and at least one
    commitment-level signal loads on it alone (docs/model.md, "Several dimensions").

    Its location and scale come from the states (centred, unit innovation sd); its
    sign from that pure signal's direction; its rotation from the zero loadings
    that the pure signals of the other dimensions fix.
    """
    crossed = [s.name for s in signals if s.also]
    if len(dimensions) == 1 and crossed:
        raise SpecError(f"{source}: signal(s) {', '.join(crossed)} set 'also' but [model] "
                        f"declares one dimension ({dimensions[0]}); cross-loadings need "
                        "several dimensions in [model] dimensions")
    for dimension in dimensions:
        loading = [s.name for s in signals if dimension in (s.dimension, *s.also)]
        if not loading:
            raise SpecError(f"{source}: no signal loads on dimension {dimension!r}: it cannot "
                            "be identified (set dimension = "
                            f"{dimension!r} on at least one commitment-level signal)")
        pure = [s.name for s in signals
                if s.dimension == dimension and not s.also and s.level == "commitment"]
        if not pure:
            raise SpecError(
                f"{source}: dimension {dimension!r} is not identified: no commitment-level "
                f"signal loads on it alone (signals loading on it: {', '.join(loading)}); "
                "one signal with dimension = "
                f"{dimension!r}, no 'also' and level = 'commitment' fixes its sign (by its "
                "direction) and, with the other dimensions' pure signals, its rotation")


def _is_identifier(name: str) -> bool:
    return bool(name) and name.replace("_", "").isalnum()


def _check_residual_signal(name: str, signals: tuple[SignalSpec, ...], source: str) -> None:
    """``[model] residual_signal`` must name a commitment-level amount or ratio signal
    with independent residuals (its residuals become the states' coordinates)."""
    names = [s.name for s in signals]
    if name not in names:
        raise SpecError(f"{source}: [model] residual_signal = {name!r} is not a declared signal "
                        f"({', '.join(names)})")
    signal = signals[names.index(name)]
    if (signal.level != "commitment" or signal.family not in LOG_FAMILIES
            or signal.residual_persistence):
        raise SpecError(f"{source}: [model] residual_signal = {name!r} must be a "
                        "commitment-level 'amount' or 'ratio' signal without "
                        f"residual_persistence (got level {signal.level!r}, family "
                        f"{signal.family!r}, residual_persistence "
                        f"{str(signal.residual_persistence).lower()})")


def _parse_signal(raw: Any, index: int, source: str,
                  dimensions: tuple[str, ...] = ("credibility",)) -> SignalSpec:
    where = f"signals[{index}]"
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: {where} must be a table")
    _known_keys(
        raw,
        {"name", "family", "level", "direction", "description", "target", "levels",
         "intercept", "loading", "noise", "residual_persistence", "dimension", "also"},
        source,
        where,
    )
    name = _string(raw, "name", source, where)
    if not _is_identifier(name):
        raise SpecError(
            f"{source}: {where}.name = {name!r}; expected letters, digits and underscores"
        )
    where = f"signal {name!r}"
    family = _string(raw, "family", source, where)
    if family not in FAMILIES:
        raise SpecError(
            f"{source}: {where} family = {family!r}; expected one of {', '.join(FAMILIES)}"
        )
    level = _string(raw, "level", source, where, default="commitment")
    if level not in LEVELS:
        raise SpecError(f"{source}: {where} level = {level!r}; expected one of {', '.join(LEVELS)}")
    direction = raw.get("direction", 1)
    if direction not in (1, -1) or isinstance(direction, bool):
        raise SpecError(f"{source}: {where} direction = {direction!r}; expected 1 or -1")
    target = _positive(raw, "target", source, where, default=1.0)
    if "target" in raw and family != "ratio":
        raise SpecError(f"{source}: {where} has a target but family {family!r} is not 'ratio'")
    levels = raw.get("levels")
    if family == "ordinal":
        if not isinstance(levels, int) or isinstance(levels, bool) or levels < 2:
            raise SpecError(
                f"{source}: {where} is ordinal and needs levels = K (an integer >= 2), "
                f"got {levels!r}"
            )
    elif levels is not None:
        raise SpecError(f"{source}: {where} has levels but family {family!r} is not 'ordinal'")
    intercept = None
    raw_intercept = raw.get("intercept", "auto")
    if raw_intercept != "auto":
        if family == "ordinal":
            raise SpecError(
                f"{source}: {where} is ordinal; its cutpoints replace the intercept "
                "(remove 'intercept')"
            )
        if not isinstance(raw_intercept, dict) or set(raw_intercept) != {"mu", "sigma"}:
            raise SpecError(
                f"{source}: {where} intercept must be \"auto\" or {{ mu = ..., sigma = ... }}"
            )
        mu = _number(raw_intercept, "mu", source, f"{where} intercept")
        sigma = _positive(raw_intercept, "sigma", source, f"{where} intercept")
        intercept = NormalPrior(mu, sigma)
    loading_sd = _auto_positive(raw, "loading", source, where)
    noise_mean = _auto_positive(raw, "noise", source, where)
    if noise_mean is not None and family in ("binary", "binomial", "ordinal"):
        raise SpecError(f"{source}: {where} family {family!r} has no noise parameter")
    residual_persistence = _bool(raw, "residual_persistence", source, where, default=False)
    if residual_persistence and family not in LOG_FAMILIES:
        raise SpecError(f"{source}: {where} residual_persistence = true needs family "
                        f"{' or '.join(repr(f) for f in LOG_FAMILIES)} (got {family!r})")
    dimension, also = _signal_dimensions(raw, source, where, dimensions)
    return SignalSpec(
        name=name,
        family=family,  # type: ignore[arg-type]
        level=level,  # type: ignore[arg-type]
        direction=int(direction),
        description=_string(raw, "description", source, where, default=""),
        target=target,
        levels=levels if family == "ordinal" else None,
        intercept=intercept,
        loading_sd=loading_sd,
        noise_mean=noise_mean,
        residual_persistence=residual_persistence,
        dimension=dimension,
        also=also,
    )


def _signal_dimensions(raw: dict[str, Any], source: str, where: str,
                       dimensions: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """A signal's ``dimension`` (default: the first) and ``also`` (other dimensions)."""
    dimension = _string(raw, "dimension", source, where, default=dimensions[0])
    if dimension not in dimensions:
        raise SpecError(f"{source}: {where} dimension = {dimension!r} is not one of [model] "
                        f"dimensions ({', '.join(dimensions)})")
    also = raw.get("also", [])
    if not isinstance(also, list) or not all(isinstance(d, str) for d in also):
        raise SpecError(f"{source}: {where} also = {also!r}; expected a list of dimension "
                        "names")
    if len(dimensions) > 1:
        unknown = [d for d in also if d not in dimensions]
        if unknown:
            raise SpecError(f"{source}: {where} also names unknown dimension(s) "
                            f"{', '.join(map(repr, unknown))}; [model] dimensions are "
                            f"{', '.join(dimensions)}")
        if dimension in also:
            raise SpecError(f"{source}: {where} also = {also!r} includes its own dimension "
                            f"{dimension!r}; 'also' lists the other dimensions it loads on")
        repeated = sorted({d for d in also if also.count(d) > 1})
        if repeated:
            raise SpecError(f"{source}: {where} also repeats {', '.join(repeated)}")
    return dimension, tuple(also)


def _parse_outcome(raw: dict[str, Any], source: str) -> OutcomeSpec:
    default = OutcomeSpec()
    _known_keys(raw, {"covariates", "region", "intercept_sd", "credibility_sd", "covariate_sd",
                      "region_sd"}, source, "outcome")
    covariates = raw.get("covariates", [])
    if not isinstance(covariates, list) or not all(isinstance(c, str) for c in covariates):
        raise SpecError(f"{source}: [outcome] covariates must be a list of column names")
    if len(set(covariates)) != len(covariates):
        raise SpecError(f"{source}: [outcome] covariates are repeated: {covariates!r}")
    return OutcomeSpec(
        covariates=tuple(covariates),
        region=_bool(raw, "region", source, "outcome", default=default.region),
        **{key: _positive(raw, key, source, "outcome", default=getattr(default, key))
           for key in ("intercept_sd", "credibility_sd", "covariate_sd", "region_sd")},
    )


def _parse_priors(raw: dict[str, Any], source: str) -> Priors:
    default = Priors()
    _known_keys(
        raw,
        {"persistence", "random_walk_step", "alliance_mean_sd",
         "alliance_dynamics_sd", "region_sd", "type_sd", "proportion_precision", "cutpoint_sd",
         "cutpoint_gap_sd", "dimension_correlation_eta"},
        source,
        "priors",
    )
    persistence = raw.get("persistence", {})
    if not isinstance(persistence, dict) or not set(persistence) <= {"alpha", "beta"}:
        raise SpecError(f"{source}: [priors] persistence must be {{ alpha = ..., beta = ... }}")
    precision = raw.get("proportion_precision", {})
    if not isinstance(precision, dict) or not set(precision) <= {"alpha", "beta"}:
        raise SpecError(
            f"{source}: [priors] proportion_precision must be {{ alpha = ..., beta = ... }}"
        )
    return Priors(
        persistence_alpha=_positive(persistence, "alpha", source, "priors.persistence",
                                    default=default.persistence_alpha),
        persistence_beta=_positive(persistence, "beta", source, "priors.persistence",
                                   default=default.persistence_beta),
        random_walk_step_sd=_positive(raw, "random_walk_step", source, "priors",
                                      default=default.random_walk_step_sd),
        alliance_mean_sd=_positive(raw, "alliance_mean_sd", source, "priors",
                                   default=default.alliance_mean_sd),
        alliance_dynamics_sd=_positive(raw, "alliance_dynamics_sd", source, "priors",
                                       default=default.alliance_dynamics_sd),
        region_sd=_positive(raw, "region_sd", source, "priors", default=default.region_sd),
        type_sd=_positive(raw, "type_sd", source, "priors", default=default.type_sd),
        proportion_precision_alpha=_positive(precision, "alpha", source,
                                             "priors.proportion_precision",
                                             default=default.proportion_precision_alpha),
        proportion_precision_beta=_positive(precision, "beta", source,
                                            "priors.proportion_precision",
                                            default=default.proportion_precision_beta),
        cutpoint_sd=_positive(raw, "cutpoint_sd", source, "priors", default=default.cutpoint_sd),
        cutpoint_gap_sd=_positive(raw, "cutpoint_gap_sd", source, "priors",
                                  default=default.cutpoint_gap_sd),
        dimension_correlation_eta=_positive(raw, "dimension_correlation_eta", source, "priors",
                                            default=default.dimension_correlation_eta),
    )


def _known_keys(raw: dict[str, Any], allowed: set[str], source: str, where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        place = f"[{where}]" if where else "top level"
        raise SpecError(
            f"{source}: unknown key(s) {', '.join(unknown)} in {place}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _table(raw: dict[str, Any], key: str, source: str, required: bool = True) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        if required:
            raise SpecError(f"{source}: missing [{key}] table")
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"{source}: [{key}] must be a table")
    return value


def _string(
    raw: dict[str, Any], key: str, source: str, where: str, default: str | None = None
) -> str:
    if key not in raw:
        if default is None:
            raise SpecError(f"{source}: {where} is missing required key {key!r}")
        return default
    value = raw[key]
    if not isinstance(value, str):
        raise SpecError(f"{source}: {where} {key} = {value!r}; expected a string")
    return value


def _bool(raw: dict[str, Any], key: str, source: str, where: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise SpecError(f"{source}: [{where}] {key} = {value!r}; expected true or false")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(raw: dict[str, Any], key: str, source: str, where: str) -> float:
    if key not in raw:
        raise SpecError(f"{source}: {where} is missing required key {key!r}")
    value = raw[key]
    if not _is_number(value):
        raise SpecError(f"{source}: {where} {key} = {value!r}; expected a finite number")
    return float(value)


def _positive(raw: dict[str, Any], key: str, source: str, where: str,
              default: float | None = None) -> float:
    if key not in raw and default is not None:
        return default
    value = _number(raw, key, source, where)
    if value <= 0:
        raise SpecError(f"{source}: {where} {key} = {value!r}; expected a positive number")
    return value


def _auto_positive(raw: dict[str, Any], key: str, source: str, where: str) -> float | None:
    if raw.get(key, "auto") == "auto":
        return None
    return _positive(raw, key, source, where)
