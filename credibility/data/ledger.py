"""What happens to an incoming row when new data meet stored data: the ledgers' vocabulary.

The updates (:mod:`credibility.analysis.updating`, :mod:`credibility.analysis.approximate`) and the
store (:mod:`credibility.results.store`) share these: an incoming signal row is ``added``,
``unchanged`` or ``revised``; an incoming case can also be ``resolved``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CASE_ACTIONS", "LEDGER_ACTIONS", "action_counts", "row_actions"]

#: What can happen to an incoming signal row.
LEDGER_ACTIONS = ("added", "unchanged", "revised")
#: What can happen to an incoming deterrence case: ``resolved`` is an open case (no
#: outcome stored) that now has its outcome.
CASE_ACTIONS = ("added", "unchanged", "resolved", "revised")


def action_counts(ledger: pd.DataFrame, actions: tuple[str, ...]) -> dict[str, int]:
    """How many rows of a ledger have each of ``actions`` (every one present, 0 or more).

    Examples
    --------
    >>> action_counts(pd.DataFrame({"action": ["added", "added"]}), LEDGER_ACTIONS)
    {'added': 2, 'unchanged': 0, 'revised': 0}
    """
    return {action: int((ledger["action"] == action).sum()) for action in actions}


#: The columns of a signal row's observation, and its key among stored rows (the unit
#: is ``commitment_id``, or ``alliance`` for an alliance-level signal).
_OBSERVATION = ("value", "trials", "exposure")
_KEY = ("level", "unit", "period", "signal")


def _units(signals: pd.DataFrame) -> pd.Series:
    return signals["commitment_id"].where(signals["level"] == "commitment", signals["alliance"])


def row_actions(stored: pd.DataFrame, incoming: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per incoming signal row (validated signals tables), its action against the stored
    rows and the position of the stored row with its key (-1: none).

    The key is the row's unit (``commitment_id``, or ``alliance`` for an alliance-level
    signal), ``period`` and ``signal``; ``"added"`` for a new key, ``"unchanged"`` when
    ``value``, ``trials`` and ``exposure`` are the stored ones (two missing cells count as
    equal), ``"revised"`` otherwise.

    Examples
    --------
    >>> from credibility.data.container import _example_data
    >>> stored = _example_data().signals
    >>> incoming = stored.iloc[[1, 0]].assign(value=[0.0, 3.0])
    >>> actions, positions = row_actions(stored, incoming)
    >>> actions.tolist(), positions.tolist()
    (['unchanged', 'revised'], [1, 0])
    """
    old = stored.assign(unit=_units(stored), position=np.arange(len(stored)))
    new = incoming.assign(unit=_units(incoming))
    matched = new.merge(old[[*_KEY, *_OBSERVATION, "position"]], on=list(_KEY), how="left",
                        suffixes=("", "_old"), validate="one_to_one")
    found = matched["position"].notna().to_numpy()
    same = np.ones(len(matched), dtype=bool)
    for column in _OBSERVATION:
        a, b = matched[column].to_numpy(), matched[f"{column}_old"].to_numpy()
        same &= (a == b) | (np.isnan(a) & np.isnan(b))
    action = np.select([~found, same], ["added", "unchanged"], "revised")
    return action, matched["position"].fillna(-1).to_numpy(np.int64)

