"""Seeds of the simulated data sets and fits that the statistical tests share.

``CREDIBILITY_TEST_SEED`` (an integer, default 0) shifts every one of them, so that the
suite can be run on other draws: a bound that holds only for one draw is a coin flip,
not a check. ``make test-seeds`` runs the statistical tests under two of them.
"""

from __future__ import annotations

import os

#: Added (times 1,000) to every seed that goes through :func:`seed`.
SEED_OFFSET = int(os.environ.get("CREDIBILITY_TEST_SEED", "0"))


def seed(base: int) -> int:
    """``base`` shifted by ``CREDIBILITY_TEST_SEED`` (``base`` itself when it is unset)."""
    return base + 1000 * SEED_OFFSET
