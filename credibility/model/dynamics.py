"""The dynamic paths: AR(1) and random walk as lower-triangular matrices, and the paths
and their priors in a PyMC model (non-centred or centred)."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from credibility.model.index import UnitCells


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


def _paths(
    innovations: pt.TensorVariable, cells: UnitCells, rho: pt.TensorVariable, dynamics: str
) -> pt.TensorVariable:
    """Unit-variance dynamic paths for every active cell (flat, same order as ``cells``)."""
    padded = pt.zeros((cells.n_units, cells.max_length))
    padded = padded[cells.unit, cells.local].set(innovations)
    paths = padded @ dynamics_matrix(rho, cells.max_length, dynamics).T
    return paths[cells.unit, cells.local]


def _dynamic_component(
    name: str, dim: str, cells: UnitCells, rho: pt.TensorVariable, scale: pt.TensorVariable,
    dynamics: str, centred: bool,
) -> pt.TensorVariable:
    """``scale * path`` for every active cell, non-centred or centred.

    Non-centred: standard-normal innovations ``{name}_innovation`` mapped through
    ``L(rho)``. Centred: the states ``{name}_state`` themselves, with the AR(1) /
    random-walk density added as a potential; better when every state is strongly
    informed by data, because rho and the scale then stop dragging all states along
    (docs/model.md, "Parameterisation").
    """
    if not centred:
        innovations = pm.Normal(f"{name}_innovation", 0.0, 1.0, dims=dim)
        return scale * _paths(innovations, cells, rho, dynamics)
    states = pm.Flat(f"{name}_state", dims=dim)
    _path_prior(name, states, cells, rho, scale, dynamics)
    return states


def _path_prior(
    name: str, path: pt.TensorVariable, cells: UnitCells, rho: pt.TensorVariable,
    scale: pt.TensorVariable, dynamics: str,
) -> None:
    """The AR(1) / random-walk density of centred ``path`` values, as potential ``{name}_prior``."""
    first = cells.local == 0
    previous = np.where(first, 0, np.arange(cells.size) - 1)
    if dynamics == "ar1":
        mean = pt.where(first, 0.0, rho * path[previous])
        sd = pt.where(first, scale, scale * pt.sqrt(1.0 - rho**2))
    else:
        mean = pt.where(first, 0.0, path[previous])
        sd = pt.where(first, scale, scale * rho)
    pm.Potential(f"{name}_prior", pm.logp(pm.Normal.dist(mean, sd), path).sum())
