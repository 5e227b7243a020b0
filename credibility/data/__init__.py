"""The data layer: the validated input data, the model specifications, the bundled data sets.

:mod:`~credibility.data.container` holds :class:`~credibility.data.container.CredibilityData`,
the one validated object everything downstream trusts. It is built from three tables
read as text (:mod:`~credibility.data.tables`: the contract's columns, reading and
writing cells), the commitments first and the signals and cases against them
(:mod:`~credibility.data.assembly`, :mod:`~credibility.data.signals`,
:mod:`~credibility.data.cases`), on a period grid (:mod:`~credibility.data.periods`).
:mod:`~credibility.data.ledger` names what happens to a row when new data meet stored
data. :mod:`~credibility.data.spec` is the model specification
(:class:`~credibility.data.spec.ModelSpec`, read from TOML by
:func:`~credibility.data.spec.load_spec`), built from the parts in
:mod:`~credibility.data.spec_parts`; :mod:`~credibility.data.datasets` lists and loads
the bundled data sets. The real-data loaders are :mod:`credibility.sources`. The
modules import nothing above this layer (docs/decisions.md, decisions 52 and 56).

This package re-exports nothing, so that importing one of its modules imports only
what that module needs; the public names are importable from :mod:`credibility`.
"""
