"""The spectral states, fused (decision 17): :func:`spectral_states`.

The states of every cell from their DCT coefficients, the AR(1) prior of their
deviations from the group mean and the Jacobian, in one forward kernel
(:class:`SpectralStates`) and one backward kernel (:class:`SpectralStatesGrad`, which
takes any cotangent of the states), the two basis products each one matrix product.
The graph form of the same quantities is :mod:`credibility.model.spectral`'s.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

from credibility.kernels.base import (
    _CACHE_VERSION,
    _FASTMATH,
    _HALF_LOG_2PI,
    _check_positions,
    _rows,
)


@numba.njit(cache=True)
def _spectral_scales(rho, lag_weights, weights):
    """The DCT coefficients' prior variances ``lambda = C @ rho**d``, their scales
    ``lambda**(w/2)`` and ``d rho**d / d rho``."""
    length = weights.size
    powers = np.empty(length)
    slopes = np.zeros(length)
    power = 1.0
    for d in range(length):
        powers[d] = power
        if d > 0:
            slopes[d] = d * powers[d - 1]
        power *= rho
    lam = lag_weights @ powers
    return lam, lam ** (weights / 2.0), slopes


@numba.njit(cache=True, fastmath=_FASTMATH)
def spectral_forward(free, rho, group, stacked_basis, lag_weights, weights, padded, unit,
                     local):
    """Spectral states of every cell (decision 17), the AR(1) prior of their deviations
    from the group mean on the padded grid plus the Jacobian, and those deviations.

    ``states = (lambda**(w/2) * free) @ B + group_grid @ G`` with ``stacked_basis =
    [B; G]`` (``G = B' diag(w) B``): one ``n x 2T`` by ``2T x T`` product."""
    n, length = free.shape
    r = rho[0]
    lam, scale, _ = _spectral_scales(r, lag_weights, weights)
    stacked = np.empty((n, 2 * length))
    for i in range(n):
        for t in range(length):
            stacked[i, t] = free[i, t] * scale[t]
            stacked[i, length + t] = group[padded[i, t]]
    states = stacked @ stacked_basis
    deviation = np.empty((n, length))
    variance = 1.0 - r * r
    inverse = 1.0 / variance
    total = 0.0
    for i in range(n):
        for t in range(length):
            deviation[i, t] = states[i, t] - stacked[i, length + t]
        total -= 0.5 * deviation[i, 0] * deviation[i, 0]
        for t in range(1, length):
            e = deviation[i, t] - r * deviation[i, t - 1]
            total -= 0.5 * e * e * inverse
    total -= n * length * _HALF_LOG_2PI + 0.5 * n * (length - 1) * math.log(variance)
    for t in range(length):
        total += 0.5 * n * weights[t] * math.log(lam[t])
    cells = np.empty(unit.size)
    for c in range(unit.size):
        cells[c] = states[unit[c], local[c]]
    return cells, np.array([total]), deviation


@numba.njit(cache=True, fastmath=_FASTMATH)
def spectral_backward(free, rho, group, deviation, cotangent_cells, cotangent_logp,
                      stacked_basis_t, lag_weights, weights, padded, unit, local):
    """Gradient of :func:`spectral_forward`'s cells and log density, weighted by their
    cotangents, with respect to ``free``, ``rho`` and ``group``;
    ``stacked_basis_t = [B', G']``."""
    n, length = free.shape
    r = rho[0]
    weight = cotangent_logp[0]
    lam, scale, slopes = _spectral_scales(r, lag_weights, weights)
    variance = 1.0 - r * r
    inverse = 1.0 / variance
    through = np.zeros((n, length))  # cotangent of the states on the grid
    for c in range(unit.size):
        through[unit[c], local[c]] += cotangent_cells[c]
    prior = np.empty((n, length))  # d log prior / d deviation
    d_rho = n * (length - 1) * r * inverse
    for i in range(n):
        previous_e = 0.0
        for t in range(length):
            own = -deviation[i, 0] if t == 0 else -inverse * previous_e
            if t + 1 < length:
                e = deviation[i, t + 1] - r * deviation[i, t]
                own += r * inverse * e
                d_rho += inverse * e * deviation[i, t] - r * inverse * inverse * e * e
                previous_e = e
            prior[i, t] = own
            through[i, t] += weight * own
    products = through @ stacked_basis_t
    grad_free = np.empty((n, length))
    grad_scale = np.zeros(length)
    grad_group = np.zeros(group.size)
    for i in range(n):
        for t in range(length):
            grad_free[i, t] = products[i, t] * scale[t]
            grad_scale[t] += products[i, t] * free[i, t]
            grad_group[padded[i, t]] += products[i, length + t] - weight * prior[i, t]
    grad_lam = grad_scale * (weights / 2.0) * scale / lam + weight * n * weights / (2.0 * lam)
    grad_powers = lag_weights.T @ grad_lam
    grad_rho = weight * d_rho
    for d in range(length):
        grad_rho += grad_powers[d] * slopes[d]
    return grad_free, np.array([grad_rho]), grad_group


class SpectralStates(Op):
    """:func:`spectral_forward` as an ``Op``: inputs ``free`` (n x T), ``rho`` (length 1),
    the group mean per cell, then the constants; outputs the cells' states, the log
    prior + Jacobian (length 1) and the deviations on the grid (for the gradient)."""

    __props__ = ()

    def make_node(self, *inputs):
        inputs = [pt.as_tensor_variable(x) for x in inputs]
        outputs = [pt.vector(dtype="float64", shape=inputs[7].type.shape),
                   pt.vector(dtype="float64", shape=(1,)),
                   pt.matrix(dtype="float64", shape=inputs[0].type.shape)]
        return Apply(self, inputs, outputs)

    def perform(self, node, inputs, output_storage):
        for storage, value in zip(output_storage, spectral_forward(*inputs), strict=True):
            storage[0] = value

    def infer_shape(self, node, input_shapes):
        # Without it, shape graphs (nutpie computes every traced variable's shape
        # before sampling) would have to run the kernel.
        return [input_shapes[7], (1,), input_shapes[0]]

    def connection_pattern(self, node):
        return [[position < 3] * len(node.outputs) for position in range(len(node.inputs))]

    def pullback(self, inputs, outputs, cotangents):
        cells, logp, deviation = cotangents
        if not isinstance(deviation.type, DisconnectedType):
            raise NotImplementedError("SpectralStates: the deviations output is not differentiable")
        cells = pt.zeros_like(outputs[0]) if isinstance(cells.type, DisconnectedType) else cells
        logp = pt.zeros_like(outputs[1]) if isinstance(logp.type, DisconnectedType) else logp
        basis, lag_weights, weights, padded, unit, local = inputs[3:]
        stacked_t = pt.constant(np.ascontiguousarray(basis.data.T))
        grads = SpectralStatesGrad()(inputs[0], inputs[1], inputs[2], outputs[2], cells, logp,
                                     stacked_t, lag_weights, weights, padded, unit, local)
        return list(grads) + [disconnected_type() for _ in inputs[3:]]


class SpectralStatesGrad(Op):
    """:func:`spectral_backward` as an ``Op`` (first derivatives only)."""

    __props__ = ()

    def make_node(self, *inputs):
        inputs = [pt.as_tensor_variable(x) for x in inputs]
        return Apply(self, inputs, [x.type() for x in inputs[:3]])

    def perform(self, node, inputs, output_storage):
        for storage, value in zip(output_storage, spectral_backward(*inputs), strict=True):
            storage[0] = value

    def infer_shape(self, node, input_shapes):
        return input_shapes[:3]


@register_funcify_default_op_cache_key(SpectralStates)
def _numba_spectral_states(op, node, **kwargs):
    return spectral_forward, _CACHE_VERSION


@register_funcify_default_op_cache_key(SpectralStatesGrad)
def _numba_spectral_states_grad(op, node, **kwargs):
    return spectral_backward, _CACHE_VERSION


def spectral_states(
    free: pt.TensorVariable,
    rho: pt.TensorVariable,
    group: pt.TensorVariable,
    *,
    basis: np.ndarray,
    weights: np.ndarray,
    lag_weights: np.ndarray,
    padded: np.ndarray,
    unit: np.ndarray,
    local: np.ndarray,
) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Spectral states of every cell and their log prior + Jacobian, fused.

    The same quantities as ``credibility.model.spectral``'s graph form (decision 17):
    ``free`` is the ``(n, T)`` matrix of coefficients, ``rho`` the persistence,
    ``group`` the group mean of every cell (stationary-sd units), ``basis`` the DCT
    basis (:func:`credibility.model.spectral.dct_basis`), ``weights`` the spectral weights,
    ``lag_weights`` :func:`credibility.model.spectral.dct_lag_weights`, ``padded[i, t]``
    the cell whose group mean grid point ``(i, t)`` takes and ``unit``/``local`` each
    cell's grid point. Returns the states of the cells and the log density of the
    AR(1) prior of the grid's deviations from the group mean plus the Jacobian
    ``n * sum(w/2 * log lambda)``.

    Examples
    --------
    >>> import numpy as np
    >>> from credibility.model.spectral import dct_basis, dct_lag_weights
    >>> basis = dct_basis(3)
    >>> cells, logp = spectral_states(
    ...     pt.as_tensor(np.zeros((1, 3))), pt.as_tensor(0.5), pt.as_tensor(np.zeros(3)),
    ...     basis=basis, weights=np.ones(3), lag_weights=dct_lag_weights(basis),
    ...     padded=np.array([[0, 1, 2]]), unit=np.zeros(3, int), local=np.arange(3))
    >>> cells.eval().tolist()
    [0.0, 0.0, 0.0]
    """
    n, length = np.shape(padded)
    cells = np.size(unit)
    _check_positions("spectral_states", (cells,), unit=(unit, n), local=(local, length))
    _check_positions("spectral_states", (n, length), padded=(padded, group.type.shape[0]))
    group_matrix = basis.T @ (weights[:, None] * basis)
    stacked = np.ascontiguousarray(np.vstack([basis, group_matrix]), dtype=np.float64)
    out = SpectralStates()(free, pt.as_tensor(rho).reshape((1,)), group, pt.constant(stacked),
                           pt.constant(np.ascontiguousarray(lag_weights, dtype=np.float64)),
                           pt.constant(np.ascontiguousarray(weights, dtype=np.float64)),
                           _rows(padded, np.int64, "spectral:padded"),
                           _rows(unit, np.int64, "spectral:unit"),
                           _rows(local, np.int64, "spectral:local"))
    return out[0], out[1][0]
