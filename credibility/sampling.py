"""The old import path of :mod:`credibility.inference.sampling`, kept for compatibility.

The module is now :mod:`credibility.inference.sampling` (docs/decisions.md, decision 58). This
module re-exports its public names, so that ``from credibility.sampling import ...`` in scripts
written before the move still works; new code imports from :mod:`credibility.inference.sampling`.
Setting a name here (e.g. with ``monkeypatch``) does not change the module that uses it.
"""

from __future__ import annotations

from credibility.inference.sampling import (
    ADVI_ITERATIONS,
    BACKENDS,
    DISK_TRACE_BYTES,
    DIVERGENCE_TARGETS,
    DRAW_LIMIT_FACTOR,
    MASS_MATRICES,
    MAX_TREEDEPTH,
    METHODS,
    STOPS,
    TRACE_STORAGES,
    Backend,
    Check,
    OnCheck,
    RunRecord,
    SamplerConfig,
    Switch,
    check_backend,
    check_max_treedepth,
    compile_nutpie,
    fused_likelihood,
    jax_chain_method,
    one_hot_gathers,
    posterior_diagnostics,
    run,
    sample_model,
)

__all__ = [
    "ADVI_ITERATIONS",
    "BACKENDS",
    "DISK_TRACE_BYTES",
    "DIVERGENCE_TARGETS",
    "DRAW_LIMIT_FACTOR",
    "MASS_MATRICES",
    "MAX_TREEDEPTH",
    "METHODS",
    "STOPS",
    "TRACE_STORAGES",
    "Backend",
    "Check",
    "OnCheck",
    "RunRecord",
    "SamplerConfig",
    "Switch",
    "check_backend",
    "check_max_treedepth",
    "compile_nutpie",
    "fused_likelihood",
    "jax_chain_method",
    "one_hot_gathers",
    "posterior_diagnostics",
    "run",
    "sample_model",
]
