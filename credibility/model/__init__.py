"""The statistical model's pieces, below the models built from them.

:mod:`~credibility.model.index` (the data as arrays), :mod:`~credibility.model.parameters`
(signal priors and parameters), :mod:`~credibility.model.likelihoods` (one term per
signal family) and :mod:`~credibility.model.dynamics` (the paths' linear maps). The
models built from them are :mod:`credibility.measurement` (one dimension) and
:mod:`credibility.dimensions` (several); decision 52 gives the layers.
"""
