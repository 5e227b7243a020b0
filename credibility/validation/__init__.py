"""Simulation-based calibration (SBC) and recovery of the measurement model and predictor.

Each *simulation* draws every parameter from the priors of a spec, simulates data
with :func:`credibility.simulate.simulate` (and, with ``cases``, deterrence outcomes
with :func:`credibility.simulate.simulate_cases`, their coefficients drawn from the
spec's ``[outcome]`` priors), fits the model and compares the fit with the truth
(Talts et al. 2018):

- the **rank** of every true parameter among posterior draws thinned to about
  their effective sample size (hyper-parameters, loadings, intercepts, noise, group
  effects, the outcome coefficients and a fixed sample of latent cells). If the
  fitted model is the simulator's, ranks are uniform; a test per quantity
  (:func:`~credibility.validation.ranks.ecdf_uniformity_test`, simultaneous ECDF bands after
  Säilynoja, Bürkner and Vehtari 2022) with Holm's correction across quantities flags
  those that are not (the statistics are in :mod:`credibility.validation.ranks`);
- **coverage** of central posterior intervals at 50/80/90/95 % (every active
  commitment-period for latent credibility) and **recovery** (truth against
  posterior mean: correlation, bias, contraction).

Only quantities defined identically in ``simulate``'s truth and in the posterior
are ranked: credibility and alliance levels are standardised per draw over the
active cells in both, ``loading`` is on that z-scale in both. Ordinal cutpoints
and proportion precisions are not in the simulator's truth and are not ranked.
A spec of several dimensions ranks every per-dimension parameter per dimension
(``persistence_commitment[capability]``), the declared loadings only
(``loading[troops,capability]``; the fixed zeros are not parameters), the
correlation above the diagonal (``dimension_correlation[capability,willingness]``)
and each dimension's standardised cells (``credibility[capability,C001,2003]``,
the posterior's ``dimension_credibility``: the composite has no counterpart in the
truth); its coverage of latent credibility is over every dimension's cells. The
outcome model of several dimensions is not calibrated (``cases`` must be 0).

:func:`run_sbc` runs the simulations as independent tasks on ``dask.distributed``
(a ``LocalCluster`` by default, or an existing scheduler), writes each finished
simulation to ``OUT/sims/`` at once and skips finished ones when run again, so an
interrupted run resumes (``dask.distributed`` comes with the ``distributed`` extra:
``pip install 'credibility[distributed]'``). Every simulation of a run shares one *design*
(commitments table, pattern of missing reports, case cells and covariates), drawn
once from the run's seed; only parameters and data differ. SBC is conditional on
the design, and a shared design lets each worker compile the model once and swap
the data in (compiling costs 10-30 s, sampling a small model well under one).

The package, one module per step: ``settings`` (what defines a run), ``simulation``
(one simulation: design, data, fits, ranks), ``sbc`` (the run on dask, resumable),
``ranks`` (the rank, coverage and recovery statistics), ``report`` (summary.md and the
tables) and ``plots`` (its figures). Every public name is importable from
``credibility.validation`` itself.

Examples
--------
>>> settings = SBCSettings("default", commitments=4, periods=6)
>>> result = run_sbc(settings, "sbc_out", n_sims=20)  # doctest: +SKIP
>>> result.uniformity().head()  # doctest: +SKIP
"""

from credibility.validation.report import REPORT_KINDS, summary_markdown, write_report
from credibility.validation.sbc import SBCResult, load_simulations, run_sbc
from credibility.validation.settings import SBCSettings, ValidationError, simulation_seed
from credibility.validation.simulation import run_simulation

__all__ = ["REPORT_KINDS", "SBCResult", "SBCSettings", "ValidationError", "load_simulations",
           "run_sbc", "run_simulation", "simulation_seed", "summary_markdown", "write_report"]
