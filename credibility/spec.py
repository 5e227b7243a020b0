"""The old import path of the model specifications, kept for compatibility.

Specifications are part of the data layer, :mod:`credibility.data` (docs/decisions.md,
decision 56): :class:`~credibility.data.spec.ModelSpec`,
:func:`~credibility.data.spec.load_spec` and :func:`~credibility.data.spec.parse_spec`
are in :mod:`credibility.data.spec`, the parts of a specification (signals, priors, the
outcome model) in :mod:`credibility.data.spec_parts`. This module re-exports their public
names, so that ``from credibility.spec import load_spec`` in scripts written before the
move still works; new code imports from :mod:`credibility.data.spec` (or from
:mod:`credibility`).
"""

from __future__ import annotations

from credibility.data.spec import (
    DYNAMICS,
    FAMILIES,
    LEVELS,
    LOG_FAMILIES,
    Family,
    ModelSpec,
    NormalPrior,
    OutcomeSpec,
    Priors,
    SignalSpec,
    load_spec,
    parse_spec,
)

__all__ = [
    "DYNAMICS",
    "FAMILIES",
    "LEVELS",
    "LOG_FAMILIES",
    "Family",
    "ModelSpec",
    "NormalPrior",
    "OutcomeSpec",
    "Priors",
    "SignalSpec",
    "load_spec",
    "parse_spec",
]
