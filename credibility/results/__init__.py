"""The results layer: a fit and the store that keeps fits.

:mod:`~credibility.results.fitting` holds :class:`~credibility.results.fitting.CredibilityModel`
(a specification, fitted to data), :mod:`~credibility.results.fit_result` its result,
:class:`~credibility.results.fit_result.FitResult` (the posterior, labelled, with its
diagnostics; also importable from :mod:`~credibility.results.fitting`, decision 59);
:mod:`~credibility.results.store` keeps fits and their history on disk
(:class:`~credibility.results.store.PosteriorStore`). The modules import nothing above
this layer (docs/decisions.md, decisions 52 and 58).

This package re-exports nothing, so that importing one of its modules imports only
what that module needs; the public names are importable from :mod:`credibility`.
"""
