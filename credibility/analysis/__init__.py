"""The analysis layer: what is done with a fit.

:mod:`~credibility.analysis.checks` checks the outcomes (PSIS-LOO, Brier scores,
posterior predictive checks), :mod:`~credibility.analysis.compare` compares fits of the
same data by PSIS-LOO, :mod:`~credibility.analysis.scenarios` runs counterfactual
scenarios, :mod:`~credibility.analysis.updating` updates a fit with new data (refit) and
:mod:`~credibility.analysis.approximate` does so approximately, and
:mod:`~credibility.analysis.plots` draws a fit's figures. The modules import nothing
above this layer (docs/decisions.md, decisions 52 and 58).

This package re-exports nothing, so that importing one of its modules imports only
what that module needs; the public names are importable from :mod:`credibility`.
"""
