"""The inference layer: the one sampling path and the convergence diagnostics.

:mod:`~credibility.inference.sampling` runs NUTS (or ADVI) on any built PyMC model with
one frozen :class:`~credibility.inference.config.SamplerConfig`
(:func:`~credibility.inference.sampling.run`), which :mod:`~credibility.inference.config`
defines with the :class:`~credibility.inference.config.RunRecord` of what a run did;
:mod:`~credibility.inference.diagnostics` computes R-hat, ESS and divergences
(:class:`~credibility.inference.diagnostics.Diagnostics`) and issues
:class:`~credibility.inference.diagnostics.ConvergenceWarning`;
:mod:`~credibility.inference.traces` keeps nutpie's trace on disk and reads it back (a
check streams it: decision 61). The modules import nothing from the model layer or
above (docs/decisions.md, decisions 52 and 58).

This package re-exports nothing, so that importing one of its modules imports only
what that module needs.
"""
