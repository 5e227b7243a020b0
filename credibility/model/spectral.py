"""Spectral states (decision 17): commitment paths partially non-centred by frequency.

Each commitment's path is written in the DCT basis (:func:`dct_basis`); the slow
components the data pin down are centred, the fast ones the prior pins down
non-centred, with fixed weights (:func:`spectral_weights`). The coefficients' prior
variances are a polynomial in the persistence (:func:`dct_lag_weights`). With
``fused`` the states and their prior come from one kernel
(:func:`credibility.kernels.spectral_states`).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.compile.builders import OpFromGraph

from credibility.kernels import spectral_states
from credibility.model.dynamics import _path_prior
from credibility.model.index import (
    UnitCells,
)


def dct_basis(length: int) -> np.ndarray:
    """Orthonormal DCT-II basis of ``length`` periods, one basis vector per row.

    Examples
    --------
    >>> basis = dct_basis(5)
    >>> bool(np.allclose(basis @ basis.T, np.eye(5)))
    True
    """
    t = np.arange(length)
    basis = np.cos(np.pi * np.arange(length)[:, None] * (t[None, :] + 0.5) / length)
    basis *= np.sqrt(2.0 / length)
    basis[0] /= np.sqrt(2.0)
    return basis


def dct_lag_weights(basis: np.ndarray) -> np.ndarray:
    """``C`` with ``diag(B R(rho) B') = C @ rho**d``, ``d = 0 .. T-1``.

    ``R(rho)[t, s] = rho**|t - s|`` is the correlation of a stationary AR(1) and ``B`` a
    basis (:func:`dct_basis`): the variance of each basis coefficient is a polynomial
    in ``rho``, so the model computes it with one small matrix-vector product.

    Examples
    --------
    >>> basis, rho = dct_basis(6), 0.7
    >>> lag = np.abs(np.subtract.outer(np.arange(6), np.arange(6)))
    >>> exact = np.diag(basis @ rho**lag @ basis.T)
    >>> bool(np.allclose(dct_lag_weights(basis) @ rho ** np.arange(6), exact))
    True
    """
    length = basis.shape[1]
    lag = np.abs(np.subtract.outer(np.arange(length), np.arange(length)))
    products = basis[:, :, None] * basis[:, None, :]
    return np.stack([(products * (lag == d)).sum(axis=(1, 2)) for d in range(length)], axis=1)


def spectral_weights(length: int, rho: float, precision: float) -> np.ndarray:
    """Non-centring weight of each DCT coefficient: ``1 / (1 + lambda_k(rho) * precision)``.

    ``lambda_k`` is coefficient ``k``'s prior variance (stationary AR(1), unit marginal
    variance) and ``precision`` the data's precision per commitment-period in the
    same units: the weight of a Gaussian partially non-centred parameterisation
    (Papaspiliopoulos, Roberts & Sköld 2007), near 0 (centred) for the slow
    components the data pin down, near 1 (non-centred) for the fast ones the prior
    does. Fixed numbers: any weights give the same model, only its geometry.

    Examples
    --------
    >>> w = spectral_weights(30, 0.8, 1.0)
    >>> bool(w[0] < 0.2 and w[-1] > 0.8)
    True
    """
    lam = dct_lag_weights(dct_basis(length)) @ rho ** np.arange(length, dtype=np.float64)
    return 1.0 / (1.0 + lam * precision)


def _spectral_states(
    cells: UnitCells, group_std: pt.TensorVariable, rho: pt.TensorVariable, weights: np.ndarray,
    marker_scale: pt.TensorVariable | None = None, fused: bool = False,
) -> pt.TensorVariable:
    """Commitment states (stationary-sd units) from partially non-centred DCT coefficients.

    Each commitment's window is padded at its end to the longest window (the padded
    periods have no data; a stationary AR(1) extended forward leaves the density of
    the earlier periods unchanged, so the padding integrates out exactly). With
    ``B`` the DCT basis, ``lambda(rho)`` the coefficients' prior variances, ``w``
    the fixed ``weights`` and ``gamma`` the coefficients of the group mean, the free
    variable ``commitment_spectral`` (``z``) maps to the states by::

        s = (lambda**(w/2) * z + w * gamma) @ B

    so coefficient ``k`` is centred (``w = 0``: the state itself) or non-centred
    (``w = 1``: the prior's standardised coefficient) or in between. The AR(1)
    density of ``s - group mean`` (:func:`_path_prior` on the padded grid, potential
    ``commitment_prior``) and the Jacobian ``sum(w/2 * log lambda)`` per commitment
    (``commitment_spectral_jacobian``) are added: the model is the centred one's, in
    other coordinates (docs/decisions.md 17).

    With ``marker_scale`` (``m``, the marker signal's loading on the stationary-sd
    latent: ``[model] marker_signal``, decision 18) the coefficients are those of the
    marker-scaled states ``u = m * s``, which the marker's data pin down directly::

        s = ((m**2 * lambda)**(w/2) * z + w * m * gamma) @ B / m

    with the Jacobian ``sum(w/2 * log(m**2 * lambda)) - T * log(m)`` per commitment;
    ``m = 1`` is the form above.

    With ``fused`` (and no marker) the states, the prior and the Jacobian come from one
    kernel (:func:`credibility.kernels.spectral_states`) as the potential
    ``commitment_prior`` (Jacobian included): the same density, fewer passes.
    """
    n, length = cells.n_units, cells.max_length
    basis = dct_basis(length)
    last = np.zeros(n, dtype=np.int64)
    last[cells.unit] = np.arange(cells.size)  # the last write is each unit's last cell
    padded = np.repeat(last[:, None], length, axis=1)
    padded[cells.unit, cells.local] = np.arange(cells.size)
    free = pm.Flat("commitment_spectral", shape=(n, length))
    if fused and marker_scale is None:
        states, log_prior = spectral_states(
            free, rho, group_std, basis=basis, weights=weights,
            lag_weights=dct_lag_weights(basis), padded=padded, unit=cells.unit,
            local=cells.local)
        pm.Potential("commitment_prior", log_prior)
        return states
    lam = pt.dot(dct_lag_weights(basis), rho ** np.arange(length, dtype=np.float64))
    group_full = group_std[padded]
    # (w * gamma) @ B = group_full @ (B' diag(w) B): the group mean's part in one product.
    group_part = _constant_product(group_full, basis.T @ (weights[:, None] * basis))
    if marker_scale is None:
        states = _constant_product(lam ** (weights / 2.0) * free, basis) + group_part
        log_jacobian = n * (weights / 2.0 * pt.log(lam)).sum()
    else:
        variance = marker_scale**2 * lam
        states = (_constant_product(variance ** (weights / 2.0) * free, basis) / marker_scale
                  + group_part)
        log_jacobian = n * ((weights / 2.0 * pt.log(variance)).sum()
                            - length * pt.log(marker_scale))
    grid = UnitCells(unit=np.repeat(np.arange(n), length), period=np.tile(np.arange(length), n),
                     local=np.tile(np.arange(length), n), n_units=n)
    _path_prior("commitment", (states - group_full).ravel(), grid, rho, 1.0, "ar1")
    pm.Potential("commitment_spectral_jacobian", log_jacobian)
    return states[cells.unit, cells.local]


def _constant_product(x: pt.TensorVariable, matrix: np.ndarray) -> pt.TensorVariable:
    """``x @ matrix`` for a constant ``matrix``, as one node PyMC's rewrites cannot see into.

    With a plain product, PyMC's log-density rewrites lift each likelihood family's
    gather of the states (``states[unit, period][rows]``) into the product, so every
    family computed its own ``rows x T`` product and the gradient pulled back through
    the basis once per family. Behind this boundary the families gather from one
    ``n x T`` result: at size M one log density + gradient took 2.4 instead of 4.0 ms
    (numba, one thread; the centred parameterisation's: 2.1 ms). Same values.

    Examples
    --------
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> bool(np.allclose(_constant_product(pt.as_tensor(x), np.eye(3) * 2).eval(), 2 * x))
    True
    """
    inner = pt.matrix("x")
    return OpFromGraph([inner], [pt.dot(inner, pt.constant(matrix))], inline=False)(x)
