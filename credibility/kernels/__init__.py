r"""Fused kernels: a signal family's summed log density, and the spectral states, each with
its gradient in compiled loops, wrapped as PyTensor ``Op``\ s.

:mod:`~credibility.kernels.families` holds the likelihood kernels (negative binomial
counts, log-normal amounts and ratios, Bernoulli-logit binary and ordered-logistic
ordinal signals) and :func:`family_logp`, which builds one family's ``Op``;
:mod:`~credibility.kernels.spectral` holds :func:`spectral_states` (decision 17);
:mod:`~credibility.kernels.base` what they share (docs/decisions.md, decision 59). Their
public names are importable from here, as when this was one module.
"""

from __future__ import annotations

from credibility.kernels.base import DATA_PREFIX
from credibility.kernels.families import (
    FUSED_FAMILIES,
    FamilyLogp,
    binary_kernel,
    count_kernel,
    family_logp,
    lognormal_kernel,
    ordinal_kernel,
)
from credibility.kernels.spectral import (
    SpectralStates,
    SpectralStatesGrad,
    spectral_backward,
    spectral_forward,
    spectral_states,
)

__all__ = [
    "DATA_PREFIX",
    "FUSED_FAMILIES",
    "FamilyLogp",
    "SpectralStates",
    "SpectralStatesGrad",
    "binary_kernel",
    "count_kernel",
    "family_logp",
    "lognormal_kernel",
    "ordinal_kernel",
    "spectral_backward",
    "spectral_forward",
    "spectral_states",
]
