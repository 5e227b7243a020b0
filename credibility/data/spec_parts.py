"""The parts of a model specification: its signals, priors and outcome model.

Each part is a frozen dataclass with the function that reads it from its TOML table;
the functions at the end read one value of a table (a string, a bool, a positive
number, ``"auto"``) and raise :class:`~credibility.errors.SpecError` naming the file,
the table and the key. :mod:`credibility.data.spec` assembles the parts into a
:class:`~credibility.data.spec.ModelSpec`.

Examples
--------
>>> _parse_signal({"name": "troops", "family": "amount"}, 1, "<string>").level
'commitment'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from credibility.errors import SpecError

__all__ = [
    "DYNAMICS",
    "FAMILIES",
    "LEVELS",
    "LOG_FAMILIES",
    "Family",
    "NormalPrior",
    "OutcomeSpec",
    "Priors",
    "SignalSpec",
]

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



def _is_identifier(name: str) -> bool:
    return bool(name) and name.replace("_", "").isalnum()



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
