"""The old import path of the validated input data, kept for compatibility.

The data layer is the package :mod:`credibility.data` (docs/decisions.md, decision 56):
:class:`~credibility.data.container.CredibilityData` is in
:mod:`credibility.data.container`, :func:`~credibility.data.cases.read_cases` in
:mod:`credibility.data.cases`, the ledgers' vocabulary in :mod:`credibility.data.ledger`
and the data contract's columns in :mod:`credibility.data.tables`. This module re-exports
their public names, so that ``from credibility.schema import CredibilityData`` in
scripts written before the move still works; new code imports from the modules above
(or ``CredibilityData`` from :mod:`credibility`).
"""

from __future__ import annotations

from credibility.data.cases import read_cases
from credibility.data.container import CredibilityData
from credibility.data.ledger import CASE_ACTIONS, LEDGER_ACTIONS, action_counts, row_actions
from credibility.data.tables import (
    CASE_COLUMNS,
    COMMITMENT_COLUMNS,
    MAX_PERIODS,
    SIGNAL_COLUMNS,
    PathLike,
    read_text_cells,
)

__all__ = [
    "CASE_ACTIONS",
    "CASE_COLUMNS",
    "COMMITMENT_COLUMNS",
    "LEDGER_ACTIONS",
    "MAX_PERIODS",
    "SIGNAL_COLUMNS",
    "CredibilityData",
    "PathLike",
    "action_counts",
    "read_cases",
    "read_text_cells",
    "row_actions",
]
