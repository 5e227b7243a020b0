"""What defines a validation run: its settings, and the seed of each of its simulations.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from credibility.data.spec import ModelSpec, load_spec
from credibility.errors import CredibilityError

__all__ = ["SBCSettings", "ValidationError", "simulation_seed"]

class ValidationError(CredibilityError):
    """A validation run cannot be set up or resumed as asked."""


@dataclass(frozen=True)
class SBCSettings:
    """Everything that defines an SBC / recovery run, apart from the number of simulations.

    ``spec`` is the simulator's spec (name or path, or a :class:`ModelSpec`); every
    signal prior in it must be explicit, so that simulator and model share them.
    ``fit_spec`` (default: ``spec``) is the spec the model is fitted with: a
    different one shows what a mis-specified prior looks like. The design is
    ``commitments`` commitments in ``alliances`` alliances over ``periods`` periods
    from ``first_period`` (:func:`~credibility.simulate.synthetic_commitments`), or
    the commitments table of ``structure`` (a bundled data set name such as
    ``"demo"``, or a commitments CSV). A share ``missing`` of the reports is dropped
    (the same ones in every simulation); ``cases`` > 0 adds that many deterrence
    cases and ranks the two-stage outcome model too. Each quantity is ranked among
    its draws thinned to ``min(ESS, max_rank)`` draws; ``latent_sample`` commitment
    cells and ``alliance_sample`` alliance cells are ranked as latent states. Each
    measurement fit runs until reliable (:class:`~credibility.inference.config.SamplerConfig`,
    up to 4 x ``draws``) unless ``until_reliable=False``; the outcome model then takes
    as many draws as the measurement fit kept. A spec of several dimensions is
    calibrated without cases (the module docstring says what is ranked).

    Examples
    --------
    >>> settings = SBCSettings("default", commitments=4, periods=6)
    >>> settings.spec.name, settings.fitted_spec is settings.spec
    ('default', True)
    """

    spec: ModelSpec | str | Path = "default"
    fit_spec: ModelSpec | str | Path | None = None
    commitments: int = 6
    alliances: int = 2
    periods: int = 8
    first_period: int = 2000
    structure: str | None = None
    missing: float = 0.2
    cases: int = 0
    draws: int = 300
    tune: int = 300
    chains: int = 2
    target_accept: float = 0.9
    until_reliable: bool = True
    max_rank: int = 100
    latent_sample: int = 6
    alliance_sample: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("spec", "fit_spec"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, ModelSpec):
                object.__setattr__(self, name, load_spec(value))
        for name in ("commitments", "alliances", "periods", "draws", "tune", "chains",
                     "max_rank"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValidationError(f"{name} must be a positive integer, got {value!r}")
        for name in ("cases", "latent_sample", "alliance_sample"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValidationError(f"{name} must be an integer >= 0, got {value!r}")
        if not 0.0 <= self.missing < 1.0:
            raise ValidationError(f"missing must be in [0, 1), got {self.missing!r}")
        _check_explicit_priors(self.spec)  # type: ignore[arg-type]
        if self.cases and len(self.spec.dimensions) > 1:  # type: ignore[union-attr]
            raise ValidationError(
                f"{self.spec.source}: cases with {len(self.spec.dimensions)} dimensions: "  # type: ignore[union-attr]
                "the SBC of the outcome model of several dimensions is not built; use "
                "cases=0 (--cases 0) to calibrate the measurement model")
        simulated, fitted = self.spec.covariates, self.fitted_spec.covariates  # type: ignore
        if self.cases and simulated != fitted:
            raise ValidationError(
                f"{self.fitted_spec.source}: [outcome] covariates {list(fitted)} differ from "
                f"the simulator's {list(simulated)}; expected the same covariates"
            )

    @property
    def fitted_spec(self) -> ModelSpec:
        """The spec the model is fitted with (``fit_spec``, or the simulator's)."""
        return self.fit_spec if self.fit_spec is not None else self.spec  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly record of the settings; specs by name, source and content hash.

        Examples
        --------
        >>> SBCSettings("default").to_dict()["spec"]["name"]
        'default'
        """
        record = {k: v for k, v in asdict(self).items() if k not in ("spec", "fit_spec")}
        record["spec"] = _spec_record(self.spec)  # type: ignore[arg-type]
        record["fit_spec"] = _spec_record(self.fitted_spec)
        return record


def _spec_record(spec: ModelSpec) -> dict[str, str]:
    # The content hash covers every field (a spec changed with dataclasses.replace keeps
    # its old TOML text, so ModelSpec.sha256 would not see the change).
    content = repr(replace(spec, source="", text=""))
    return {"name": spec.name, "source": spec.source,
            "content_sha256": hashlib.sha256(content.encode("utf-8")).hexdigest()}


def _check_explicit_priors(spec: ModelSpec) -> None:
    for s in spec.signals:
        missing = []
        if s.family != "ordinal" and s.intercept is None:
            missing.append("intercept")
        if s.loading_sd is None:
            missing.append("loading")
        if s.family in ("count", "amount", "ratio") and s.noise_mean is None:
            missing.append("noise")
        if missing:
            raise ValidationError(
                f"{spec.source}: signal {s.name!r} leaves {', '.join(missing)} on \"auto\"; "
                "simulation-based calibration needs explicit priors (the simulator cannot "
                "scale priors to data it has not drawn), e.g. models/default.toml"
            )


def simulation_seed(seed: int, index: int) -> int:
    """Seed of simulation ``index`` of a run with seed ``seed`` (independent streams).

    Examples
    --------
    >>> simulation_seed(0, 1) == simulation_seed(0, 1) != simulation_seed(0, 2)
    True
    """
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])

