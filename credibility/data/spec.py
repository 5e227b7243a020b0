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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from credibility.data import spec_parts
from credibility.data.spec_parts import (
    DYNAMICS,
    LEVELS,
    LOG_FAMILIES,
    OutcomeSpec,
    Priors,
    SignalSpec,
    _bool,
    _is_identifier,
    _known_keys,
    _parse_outcome,
    _parse_priors,
    _parse_signal,
    _positive,
    _string,
    _table,
)
from credibility.data.spec_parts import (
    FAMILIES as FAMILIES,
)
from credibility.data.spec_parts import (
    Family as Family,
)
from credibility.data.spec_parts import (
    NormalPrior as NormalPrior,
)
from credibility.errors import SpecError
from credibility.resources import models_dir

# The parts' public names, then this module's own: the parts' list is written once.
__all__ = [*spec_parts.__all__, "ModelSpec", "load_spec", "parse_spec"]


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
    settings = _parse_model(model, source)
    hierarchy = _table(raw, "hierarchy", source, required=False)
    _known_keys(hierarchy, {"region", "type"}, source, "hierarchy")
    priors = _parse_priors(_table(raw, "priors", source, required=False), source)
    outcome = _parse_outcome(_table(raw, "outcome", source, required=False), source)
    signals = _declared_signals(raw, settings, source)
    return ModelSpec(
        **settings,
        description=_string(model, "description", source, "model", default=""),
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


def _parse_model(model: dict[str, Any], source: str) -> dict[str, Any]:
    """``[model]``: the fields of :class:`ModelSpec` it sets that constrain each other
    (the latent dimensions, the dynamics, the states' parametrisation)."""
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
    return {
        "name": name,
        "dynamics": dynamics,
        "dimensions": dimensions,
        "between_within": between_within,
        "centred_states": tuple(centred),
        "spectral_states": spectral,
        "spectral_data_precision": precision,
        "marker_signal": marker,
        "scale_coordinate": scale_coordinate,
        "residual_signal": residual,
    }


def _declared_signals(raw: dict[str, Any], settings: dict[str, Any],
                      source: str) -> tuple[SignalSpec, ...]:
    """``[[signals]]``: unique names, one commitment-level signal at least, and the
    signals that ``[model]`` names (``marker_signal``, ``residual_signal``) as it needs
    them; every dimension identified."""
    raw_signals = raw.get("signals")
    if not isinstance(raw_signals, list) or not raw_signals:
        raise SpecError(f"{source}: at least one [[signals]] table is required")
    dimensions = settings["dimensions"]
    signals = tuple(_parse_signal(s, i, source, dimensions)
                    for i, s in enumerate(raw_signals, start=1))
    names = [s.name for s in signals]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SpecError(f"{source}: signal names must be unique; repeated: {', '.join(duplicated)}")
    if not any(s.level == "commitment" for s in signals):
        raise SpecError(f"{source}: at least one signal must have level = 'commitment'")
    marker = settings["marker_signal"]
    if marker is not None and marker not in names:
        raise SpecError(f"{source}: [model] marker_signal = {marker!r} is not a declared signal "
                        f"({', '.join(names)})")
    if marker is not None and signals[names.index(marker)].level != "commitment":
        raise SpecError(f"{source}: [model] marker_signal = {marker!r} must have "
                        "level = 'commitment' (it scales the commitment states)")
    if settings["residual_signal"] is not None:
        _check_residual_signal(settings["residual_signal"], signals, source)
    _check_identified(dimensions, signals, source)
    return signals


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


