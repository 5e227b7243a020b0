"""The statistical model's pieces, below the models built from them.

:mod:`~credibility.model.index` (the data as arrays), :mod:`~credibility.model.parameters`
(signal priors and parameters), :mod:`~credibility.model.likelihoods` (one term per
signal family), :mod:`~credibility.model.dynamics` (the paths: their linear maps and
priors), :mod:`~credibility.model.spectral` (spectral states),
:mod:`~credibility.model.loadings` (the loadings' magnitudes and their coordinates) and
:mod:`~credibility.model.coordinates` (which coordinates a fit samples the states in).
The models built from them are :mod:`credibility.measurement` (one dimension) and
:mod:`credibility.dimensions` (several); decision 52 gives the layers, decision 59 the
split of the measurement model into these pieces.
"""
