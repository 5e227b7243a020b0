"""The dynamic paths' linear maps: AR(1) and random walk as lower-triangular matrices."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt


def dynamics_matrix(rho: pt.TensorVariable, length: int, dynamics: str) -> pt.TensorVariable:
    """Lower-triangular ``L`` with ``path = L @ innovations`` for one unit's window.

    For ``ar1`` the path is a stationary AR(1) with unit marginal variance:
    ``L[t, 0] = rho**t`` and ``L[t, s] = sqrt(1 - rho**2) * rho**(t - s)`` for
    ``1 <= s <= t``. For ``random_walk`` ``rho`` is the step sd: ``L[t, 0] = 1``,
    ``L[t, s] = step``, so the variance is 1 in the first period.

    Examples
    --------
    >>> import numpy as np
    >>> L = dynamics_matrix(pt.as_tensor(0.5), 3, "ar1").eval()
    >>> np.allclose((L**2).sum(axis=1), 1.0)
    True
    """
    t = np.arange(length)
    lag = t[:, None] - t[None, :]
    lower = lag >= 0
    first_column = (t[None, :] == 0) & lower
    if dynamics == "ar1":
        powers = rho ** np.maximum(lag, 0).astype(np.float64)
        scale = pt.where(first_column, 1.0, pt.sqrt(1.0 - rho**2))
        return pt.where(lower, powers * scale, 0.0)
    return pt.where(lower, pt.where(first_column, 1.0, rho), 0.0)
