"""Simulate signal data, deterrence cases and true latent credibility from the model.

:func:`simulate` draws every parameter from the priors of a spec, builds latent
credibility exactly as :mod:`credibility.measurement` does (same sum-to-zero
effects, same unit-variance AR(1) / random-walk paths in each unit's own time) and
draws one observation per (unit, period, signal) from the family's likelihood,
then drops a share of them at random to mimic missing reports. Everything it
returns is marked **synthetic**.

A spec of several dimensions (``[model] dimensions``) is simulated as the model of
``docs/model.md`` ("Several dimensions") states it: each dimension its own group
effects, alliance paths and commitment paths, the commitment paths' innovations
correlated across dimensions (correlation drawn by :func:`lkj_correlation`), and
each signal's linear predictor the sum of its loadings times the dimensions it
loads on. :mod:`credibility.dimensions` builds its PyMC model.
:func:`simulate_cases` adds deterrence cases whose outcomes follow the outcome model.

Signals whose spec leaves a prior on ``"auto"`` have no data to scale it from, so
the simulator uses the fixed fallbacks in :data:`SIMULATION_FALLBACKS`.

One module per concept (docs/decisions.md, decision 59): :mod:`~credibility.simulate.layout`
(the commitments and the draws every simulation shares), :mod:`~credibility.simulate.signals`
(signal parameters and observations), :mod:`~credibility.simulate.latent` (one dimension,
and :func:`simulate` itself), :mod:`~credibility.simulate.dimensions` (several) and
:mod:`~credibility.simulate.cases`. Their public names are importable from here, as before.
"""

from __future__ import annotations

from credibility.simulate.cases import simulate_cases
from credibility.simulate.dimensions import lkj_correlation
from credibility.simulate.latent import simulate
from credibility.simulate.layout import Simulation, synthetic_commitments
from credibility.simulate.signals import SIMULATION_FALLBACKS

__all__ = [
    "SIMULATION_FALLBACKS",
    "Simulation",
    "lkj_correlation",
    "simulate",
    "simulate_cases",
    "synthetic_commitments",
]
