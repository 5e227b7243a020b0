"""The old import path of :mod:`credibility.results.store`, kept for compatibility.

The module is now :mod:`credibility.results.store` (docs/decisions.md, decision 58). This
module re-exports its public names, so that ``from credibility.store import ...`` in scripts
written before the move still works; new code imports from :mod:`credibility.results.store`.
Setting a name here (e.g. with ``monkeypatch``) does not change the module that uses it.
"""

from __future__ import annotations

from credibility.results.store import (
    CASES_LEDGER,
    HISTORY_COLUMNS,
    LEDGER,
    LOCK,
    MANIFEST,
    MANIFEST_FORMAT,
    META,
    METHODS,
    OBJECTS,
    READ_ONLY,
    TMP_PREFIX,
    PosteriorStore,
    StoreError,
)

__all__ = [
    "CASES_LEDGER",
    "HISTORY_COLUMNS",
    "LEDGER",
    "LOCK",
    "MANIFEST",
    "MANIFEST_FORMAT",
    "META",
    "METHODS",
    "OBJECTS",
    "READ_ONLY",
    "TMP_PREFIX",
    "PosteriorStore",
    "StoreError",
]
