"""The old import path of the bundled data sets, kept for compatibility.

The bundled data sets' functions are in :mod:`credibility.data.datasets`
(docs/decisions.md, decision 56); this module re-exports them, so that ``from
credibility.datasets import load_dataset`` in scripts written before the move still
works. New code imports from :mod:`credibility.data.datasets` (or from
:mod:`credibility`).
"""

from __future__ import annotations

from credibility.data.datasets import DatasetInfo, dataset_info, list_datasets, load_dataset

__all__ = ["DatasetInfo", "dataset_info", "list_datasets", "load_dataset"]
