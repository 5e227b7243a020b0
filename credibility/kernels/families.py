"""Fused likelihood kernels: one signal family's summed log density and its gradient
in a single compiled loop over the family's rows.

The measurement model's likelihood (:func:`credibility.model.likelihoods.add_likelihoods`)
is written as vectorised PyTensor graphs: gather each row's state and per-signal
parameters, evaluate the density elementwise, and, for the gradient, scatter-add
every row back onto the states and parameters. Each of those steps is a pass over
all rows, so at 180,000 rows the graph spends most of its time moving arrays, not in
the densities (docs/decisions.md 23). The kernels here do the same arithmetic in one
numba function per family, returning the log density and its gradient with respect
to the latent vector and the family's parameters. The count, binary and ordinal
kernels make three passes: gather each row's softplus argument, compute ``exp(-|x|)``
and its ``log1p`` for all rows in one loop of plain arithmetic that LLVM vectorises
(:func:`_softplus_parts`; decision 26), then add up the rows and scatter their
gradients.

:class:`FamilyLogp` wraps a kernel as a PyTensor ``Op`` whose gradient is the
kernel's own (it is computed once with the log density), with a numba
implementation (nutpie, the default backend) and a Python one (PyMC's NUTS, ADVI).
It has no JAX implementation: the numpyro backend keeps the graph form.
:func:`family_logp` builds it for one family's rows; the measurement model uses it
with ``build_measurement_model(fused=True)``. The densities are the graph form's,
checked against PyMC's distributions in value and gradient (tests/test_kernels.py):
negative binomial counts, log-normal amounts and ratios, Bernoulli-logit binary and
ordered-logistic ordinal signals. Proportion and binomial signals, and log-normal
signals with autocorrelated residuals, keep the graph form.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytensor.tensor as pt
from numba import types
from numba.extending import intrinsic
from pytensor.gradient import disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key
from scipy import special

from credibility.kernels.base import (
    _CACHE_VERSION,
    _FASTMATH,
    _HALF_LOG_2PI,
    DATA_PREFIX,
    _check_positions,
    _rows,
)

#: Families with a fused kernel.
FUSED_FAMILIES = ("count", "amount", "ratio", "binary", "ordinal")

#: Counts below this have ``lgamma(y + alpha) - lgamma(alpha)`` and its derivative in
#: ``alpha`` looked up in a table built once per evaluation (they depend only on the
#: signal's dispersion and ``y``); from it on, Stirling's series per row.
_TABLE_COUNTS = 256
#: The softplus terms' ``exp(-|x|)`` is computed as ``exp(max(-|x|, _EXP_FLOOR))``: from
#: here down ``2**k`` would leave the normal range (``exp(-708)`` is 3.3e-308; below it
#: the term changes nothing a double can hold next to the 1 it is added to).
_EXP_FLOOR = -708.0
_LN2_HI = 6.93147180369123816490e-01  # ln 2 in two parts (fdlibm's split)
_LN2_LO = 1.90821492927058770002e-10
_SHIFT = 6755399441055744.0  # 1.5 * 2**52: x + _SHIFT - _SHIFT rounds x to an integer
_SQRT2_MINUS_1 = math.sqrt(2.0) - 1.0



@numba.njit(cache=True)
def _digamma(x: float) -> float:
    """Digamma for ``x > 0``: the recurrence up to 6, then the asymptotic series
    (absolute error below 1e-15 against ``scipy.special.digamma``)."""
    shift = 0.0
    while x < 6.0:
        shift -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    return (shift + math.log(x) - 0.5 / x
            - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132)))))


@intrinsic
def _bits_to_float(typingctx, bits):
    """The float64 whose bit pattern is the int64 ``bits`` (an LLVM ``bitcast``)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


# The two functions below are plain arithmetic (no calls into the C maths library) so
# that LLVM vectorises the loop of ``_softplus_parts`` (8 rows per AVX-512 instruction);
# ``error_model="numpy"`` drops the division-by-zero check that would stop it.
@numba.njit(inline="always", error_model="numpy", fastmath=_FASTMATH)
def _exp_nonpositive(x: float) -> float:
    """``exp(x)`` for ``x <= 0`` (``x`` below ``_EXP_FLOOR`` is taken as it): ``2**k``
    times the Taylor polynomial of degree 13 in ``r = x - k ln 2``, ``|r| <= ln2 / 2``
    (truncation below 5e-18 relative; within 1 ulp of NumPy's ``exp`` in the tests)."""
    x = max(x, _EXP_FLOOR)
    k = (x * 1.4426950408889634 + _SHIFT) - _SHIFT
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _bits_to_float((np.int64(k) + 1023) << 52)


@numba.njit(inline="always", error_model="numpy", fastmath=_FASTMATH)
def _log1p_unit(e: float) -> float:
    """``log1p(e)`` for ``0 <= e <= 1``: ``2 atanh(u)`` with ``u = e / (2 + e)``, or, above
    ``sqrt(2) - 1``, ``ln 2 + 2 atanh(u)`` with ``u = (e - 1) / (e + 3)`` (so ``|u| <= 0.172``),
    the series of ``atanh`` to ``u**23`` (truncation below 1e-18 relative; within 4 ulp
    of NumPy's ``log1p`` in the tests, relative to the result also for the smallest ``e``)."""
    t = 1.0 if e > _SQRT2_MINUS_1 else 0.0
    u = (e - t) / (2.0 + e + t)
    v = u * u
    p = 1.0 / 23.0
    p = p * v + 1.0 / 21.0
    p = p * v + 1.0 / 19.0
    p = p * v + 1.0 / 17.0
    p = p * v + 1.0 / 15.0
    p = p * v + 1.0 / 13.0
    p = p * v + 1.0 / 11.0
    p = p * v + 1.0 / 9.0
    p = p * v + 1.0 / 7.0
    p = p * v + 1.0 / 5.0
    p = p * v + 1.0 / 3.0
    p = p * v + 1.0
    return 2.0 * u * p + t * _LN2_LO + t * _LN2_HI


@numba.njit(cache=True, error_model="numpy", fastmath=_FASTMATH)
def _softplus_parts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``e = exp(-|x|)`` and ``log1p(e)``, elementwise (one vectorised pass):
    ``softplus(x) = max(x, 0) + log1p(e)`` and ``sigmoid(x) = (1 if x >= 0 else e)
    / (1 + e)``. The kernels gather each row's argument first, call this, and then
    scatter: the two transcendental functions were about two thirds of a row's time."""
    e = np.empty(x.size)
    log1p_e = np.empty(x.size)
    for o in range(x.size):
        value = _exp_nonpositive(-abs(x[o]))
        e[o] = value
        log1p_e[o] = _log1p_unit(value)
    return e, log1p_e


@numba.njit(cache=True)
def _count_tables(alpha: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``lgamma(y + a) - lgamma(a) = sum_{m < y} log(a + m)`` and its derivative in ``a``,
    ``sum_{m < y} 1 / (a + m)``, for each dispersion ``a`` and each count ``y`` below
    ``min(max(value) + 1, _TABLE_COUNTS)`` (by the recurrence in ``y``)."""
    top = 0.0
    for o in range(value.size):
        top = max(top, value[o])
    size = int(min(top + 1.0, _TABLE_COUNTS))
    log_table = np.zeros((alpha.size, size))
    digamma_table = np.zeros((alpha.size, size))
    for k in range(alpha.size):
        for y in range(1, size):
            log_table[k, y] = log_table[k, y - 1] + math.log(alpha[k] + y - 1)
            digamma_table[k, y] = digamma_table[k, y - 1] + 1.0 / (alpha[k] + y - 1)
    return log_table, digamma_table


@numba.njit(cache=True, fastmath=_FASTMATH)
def count_kernel(latent, loading, intercept, noise, row_latent, row_signal, row_intercept,
                 row_noise, value, offset):
    """Negative binomial counts: ``log mu = offset + intercept + loading * latent``,
    dispersion ``alpha = 1 / noise``. Without the data-only ``-lgamma(y + 1)``.

    With ``x = log mu - log alpha``: ``log(alpha + mu) = log alpha + softplus(x)`` and
    ``mu / (alpha + mu) = sigmoid(x)``, so a row needs only ``exp(-|x|)`` and its
    ``log1p`` (:func:`_softplus_parts`, one vectorised pass over all rows)."""
    grad_latent = np.zeros_like(latent)
    grad_loading = np.zeros_like(loading)
    grad_intercept = np.zeros_like(intercept)
    grad_noise = np.zeros_like(noise)
    alpha = 1.0 / noise
    log_alpha = np.log(alpha)
    lgamma_alpha = np.empty_like(alpha)
    digamma_alpha = np.empty_like(alpha)
    for k in range(alpha.size):
        lgamma_alpha[k] = math.lgamma(alpha[k])
        digamma_alpha[k] = _digamma(alpha[k])
    log_table, digamma_table = _count_tables(alpha, value)
    size = log_table.shape[1]
    x = np.empty(value.size)
    for o in range(value.size):
        eta = (offset[o] + intercept[row_intercept[o]]
               + loading[row_signal[o]] * latent[row_latent[o]])
        x[o] = eta - log_alpha[row_noise[o]]
    e, log1p_e = _softplus_parts(x)
    total = 0.0
    for o in range(value.size):
        s, i, j, k = row_signal[o], row_latent[o], row_intercept[o], row_noise[o]
        a, y, z = alpha[k], value[o], x[o]
        if y < size:
            lgamma_diff = log_table[k, int(y)]
            digamma_diff = digamma_table[k, int(y)]
        else:
            # Stirling's series for lgamma and digamma at x = y + a >= 256 share one log
            # (absolute error below 1e-14).
            w = y + a
            log_w = math.log(w)
            inv = 1.0 / w
            f = inv * inv
            lgamma_w = ((w - 0.5) * log_w - w + _HALF_LOG_2PI + inv * (
                1.0 / 12 - f * (1.0 / 360 - f * (1.0 / 1260 - f * (1.0 / 1680 - f / 1188)))))
            digamma_w = log_w - 0.5 * inv - f * (
                1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))))
            lgamma_diff = lgamma_w - lgamma_alpha[k]
            digamma_diff = digamma_w - digamma_alpha[k]
        softplus = max(z, 0.0) + log1p_e[o]
        inverse = 1.0 / (1.0 + e[o])
        above = (1.0 if z >= 0.0 else e[o]) * inverse  # sigmoid(x) = mu / (a + mu)
        below = (e[o] if z >= 0.0 else 1.0) * inverse  # sigmoid(-x) = a / (a + mu)
        # y * eta - (y + a) log(a + mu), with eta = x + log a:
        total += lgamma_diff + y * z - (y + a) * softplus
        d_eta = y - (y + a) * above
        grad_latent[i] += d_eta * loading[s]
        grad_loading[s] += d_eta * latent[i]
        grad_intercept[j] += d_eta
        d_alpha = digamma_diff - softplus + 1.0 - (y + a) * below / a
        grad_noise[k] -= d_alpha * a * a
    return np.array([total]), grad_latent, grad_loading, grad_intercept, grad_noise


@numba.njit(cache=True, fastmath=_FASTMATH)
def lognormal_kernel(latent, loading, intercept, noise, row_latent, row_signal, row_intercept,
                     row_noise, log_value):
    """Log-normal values: ``log(value) ~ Normal(intercept + loading * latent, noise)``.
    Without the data-only ``-log(value) - log(2 pi) / 2``."""
    grad_latent = np.zeros_like(latent)
    grad_loading = np.zeros_like(loading)
    grad_intercept = np.zeros_like(intercept)
    grad_noise = np.zeros_like(noise)
    inverse = 1.0 / noise
    log_noise = np.log(noise)
    total = 0.0
    for o in range(log_value.size):
        s, i, j, k = row_signal[o], row_latent[o], row_intercept[o], row_noise[o]
        eta = intercept[j] + loading[s] * latent[i]
        z = (log_value[o] - eta) * inverse[k]
        total -= 0.5 * z * z + log_noise[k]
        d_eta = z * inverse[k]
        grad_latent[i] += d_eta * loading[s]
        grad_loading[s] += d_eta * latent[i]
        grad_intercept[j] += d_eta
        grad_noise[k] += (z * z - 1.0) * inverse[k]
    return np.array([total]), grad_latent, grad_loading, grad_intercept, grad_noise


@numba.njit(cache=True, fastmath=_FASTMATH)
def binary_kernel(latent, loading, intercept, row_latent, row_signal, row_intercept, value):
    """Bernoulli values with log-odds ``intercept + loading * latent``:
    ``y * eta - softplus(eta)``."""
    grad_latent = np.zeros_like(latent)
    grad_loading = np.zeros_like(loading)
    grad_intercept = np.zeros_like(intercept)
    eta = np.empty(value.size)
    for o in range(value.size):
        eta[o] = intercept[row_intercept[o]] + loading[row_signal[o]] * latent[row_latent[o]]
    e, log1p_e = _softplus_parts(eta)
    total = 0.0
    for o in range(value.size):
        s, i, j = row_signal[o], row_latent[o], row_intercept[o]
        total += value[o] * eta[o] - max(eta[o], 0.0) - log1p_e[o]
        d_eta = value[o] - (1.0 if eta[o] >= 0.0 else e[o]) / (1.0 + e[o])  # y - sigmoid(eta)
        grad_latent[i] += d_eta * loading[s]
        grad_loading[s] += d_eta * latent[i]
        grad_intercept[j] += d_eta
    return np.array([total]), grad_latent, grad_loading, grad_intercept


@numba.njit(cache=True, fastmath=_FASTMATH)
def ordinal_kernel(latent, loading, cutpoints, row_latent, row_signal, row_ordinal, level, top):
    """Ordered-logistic levels ``0 .. top`` with log-odds ``loading * latent`` and the
    cutpoints of row ``row_ordinal``: ``P(k) = sigmoid(eta - c[k-1]) - sigmoid(eta - c[k])``,
    computed as ``-softplus(c[k-1] - eta) - softplus(eta - c[k]) + log(1 - exp(c[k-1] - c[k]))``
    (the first and last level drop the missing term). Each row's two softplus arguments
    (a placeholder 0 for a missing one) go through :func:`_softplus_parts` together."""
    grad_latent = np.zeros_like(latent)
    grad_loading = np.zeros_like(loading)
    grad_cut = np.zeros_like(cutpoints)
    rows, width = cutpoints.shape
    # log(1 - exp(-gap)) and its derivative in the gap, once per cutpoint pair.
    log_mass = np.zeros((rows, width))
    d_gap = np.zeros((rows, width))
    for q in range(rows):
        for k in range(1, width):
            gap = cutpoints[q, k] - cutpoints[q, k - 1]
            log_mass[q, k] = math.log(-math.expm1(-gap))  # finite for any gap > 0
            d_gap[q, k] = 1.0 / math.expm1(gap)
    # x[2o] = c[k-1] - eta (the level's lower cutpoint), x[2o+1] = eta - c[k] (its upper).
    x = np.zeros(2 * level.size)
    for o in range(level.size):
        q, k = row_ordinal[o], level[o]
        eta = loading[row_signal[o]] * latent[row_latent[o]]
        if k > 0:
            x[2 * o] = cutpoints[q, k - 1] - eta
        if k < top[o]:
            x[2 * o + 1] = eta - cutpoints[q, k]
    e, log1p_e = _softplus_parts(x)
    total = 0.0
    for o in range(level.size):
        s, i, q, k = row_signal[o], row_latent[o], row_ordinal[o], level[o]
        d_eta = 0.0
        if k > 0:
            a, e_a = x[2 * o], e[2 * o]
            total -= max(a, 0.0) + log1p_e[2 * o]
            below = (1.0 if a >= 0.0 else e_a) / (1.0 + e_a)  # sigmoid(a)
            d_eta += below
            grad_cut[q, k - 1] -= below
        if k < top[o]:
            b, e_b = x[2 * o + 1], e[2 * o + 1]
            total -= max(b, 0.0) + log1p_e[2 * o + 1]
            above = (1.0 if b >= 0.0 else e_b) / (1.0 + e_b)  # sigmoid(b)
            d_eta -= above
            grad_cut[q, k] += above
            if k > 0:
                total += log_mass[q, k]
                grad_cut[q, k - 1] -= d_gap[q, k]
                grad_cut[q, k] += d_gap[q, k]
        grad_latent[i] += d_eta * loading[s]
        grad_loading[s] += d_eta * latent[i]
    return np.array([total]), grad_latent, grad_loading, grad_cut


_KERNELS = {"count": count_kernel, "lognormal": lognormal_kernel, "binary": binary_kernel,
            "ordinal": ordinal_kernel}
#: Differentiable inputs of each kernel (the rest are data).
_PARAMETERS = {"count": 4, "lognormal": 4, "binary": 3, "ordinal": 3}


class FamilyLogp(Op):
    """Summed log density of one family's rows and its gradient, from a fused kernel.

    Inputs: the latent vector, the per-signal loadings, the family's parameters
    (intercepts and noise scales, or the cutpoint matrix), then the rows' data.
    Outputs: the log density as a length-1 vector, then its gradient with respect to
    each differentiable input; the ``Op``'s gradient multiplies those, so a log
    density and its gradient cost one pass over the rows.
    """

    __props__ = ("kernel",)

    def __init__(self, kernel: str) -> None:
        if kernel not in _KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; expected one of {', '.join(_KERNELS)}")
        self.kernel = kernel

    def make_node(self, *inputs):
        inputs = [pt.as_tensor_variable(x) for x in inputs]
        parameters = inputs[:_PARAMETERS[self.kernel]]
        outputs = [pt.vector(dtype="float64", shape=(1,))] + [x.type() for x in parameters]
        return Apply(self, inputs, outputs)

    def perform(self, node, inputs, output_storage):
        for storage, value in zip(output_storage, _KERNELS[self.kernel](*inputs), strict=True):
            storage[0] = value

    def connection_pattern(self, node):
        n = _PARAMETERS[self.kernel]
        return [[position < n] * len(node.outputs) for position in range(len(node.inputs))]

    def pullback(self, inputs, outputs, cotangents):
        n = _PARAMETERS[self.kernel]
        scale = cotangents[0][0]
        return ([scale * gradient for gradient in outputs[1:]]
                + [disconnected_type() for _ in inputs[n:]])


@register_funcify_default_op_cache_key(FamilyLogp)
def _numba_family_logp(op, node, **kwargs):
    """nutpie's numba backend calls the kernel itself."""
    return _KERNELS[op.kernel], _CACHE_VERSION


def family_logp(
    family: str,
    latent: pt.TensorVariable,
    loading: pt.TensorVariable,
    *,
    row_latent: np.ndarray,
    row_signal: np.ndarray,
    value: np.ndarray,
    intercept: pt.TensorVariable | None = None,
    row_intercept: np.ndarray | None = None,
    noise: pt.TensorVariable | None = None,
    row_noise: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    cutpoints: pt.TensorVariable | None = None,
    row_ordinal: np.ndarray | None = None,
    top: np.ndarray | None = None,
) -> pt.TensorVariable:
    """Summed log density of one family's rows (:data:`FUSED_FAMILIES`), fused.

    Row ``o`` has linear predictor ``intercept[row_intercept[o]] +
    loading[row_signal[o]] * latent[row_latent[o]]`` (plus ``offset[o]`` for counts;
    no intercept for ordinal signals). ``noise[row_noise[o]]`` is the count's
    ``1 / alpha`` or the log-normal's sd; ordinal rows use the cutpoints in row
    ``row_ordinal[o]`` of ``cutpoints``, their levels run ``0 .. top[o]``.
    ``value`` is the count, the positive amount (already divided by its target),
    the 0/1 value or the 0-based level. The same density as PyMC's
    ``NegativeBinomial``, ``LogNormal``, ``Bernoulli(logit_p=)`` and
    ``OrderedLogistic``, data-only constants included.

    Examples
    --------
    >>> import numpy as np, pymc as pm
    >>> latent, loading = pt.as_tensor(np.array([0.3, -1.2])), pt.as_tensor(np.array([0.8]))
    >>> intercept = pt.as_tensor(np.array([0.5]))
    >>> rows = dict(row_latent=np.array([0, 1, 1]), row_signal=np.zeros(3, int),
    ...             row_intercept=np.zeros(3, int))
    >>> y = np.array([1, 0, 1])
    >>> ours = family_logp("binary", latent, loading, value=y, intercept=intercept, **rows)
    >>> eta = 0.5 + 0.8 * np.array([0.3, -1.2, -1.2])
    >>> theirs = pm.logp(pm.Bernoulli.dist(logit_p=eta), y).sum()
    >>> bool(np.isclose(ours.eval(), theirs.eval()))
    True
    """
    if family not in FUSED_FAMILIES:
        raise ValueError(f"no fused kernel for family {family!r}; "
                         f"expected one of {', '.join(FUSED_FAMILIES)}")
    _check_family_rows(family, value, row_latent=(row_latent, latent),
                       row_signal=(row_signal, loading), row_ordinal=(row_ordinal, cutpoints),
                       row_intercept=(row_intercept, intercept), row_noise=(row_noise, noise))
    def data(array: np.ndarray, dtype: type, name: str) -> pt.TensorConstant:
        return _rows(array, dtype, f"{family}:{name}")

    rows = (data(row_latent, np.int64, "row_latent"), data(row_signal, np.int64, "row_signal"))
    if family == "count":
        out = FamilyLogp("count")(latent, loading, intercept, noise, *rows,
                                  data(row_intercept, np.int64, "row_intercept"),
                                  data(row_noise, np.int64, "row_noise"),
                                  data(value, np.float64, "value"),
                                  data(offset, np.float64, "offset"))
        constant = -special.gammaln(np.asarray(value, dtype=np.float64) + 1.0).sum()
    elif family in ("amount", "ratio"):
        log_value = np.log(np.asarray(value, dtype=np.float64))
        out = FamilyLogp("lognormal")(latent, loading, intercept, noise, *rows,
                                      data(row_intercept, np.int64, "row_intercept"),
                                      data(row_noise, np.int64, "row_noise"),
                                      data(log_value, np.float64, "log_value"))
        constant = -log_value.sum() - log_value.size * _HALF_LOG_2PI
    elif family == "binary":
        out = FamilyLogp("binary")(latent, loading, intercept, *rows,
                                   data(row_intercept, np.int64, "row_intercept"),
                                   data(value, np.float64, "value"))
        constant = 0.0
    elif family == "ordinal":
        out = _ordinal_logp(latent, loading, cutpoints, row_latent=row_latent,
                            row_signal=row_signal, row_ordinal=row_ordinal, level=value, top=top)
        constant = 0.0
    # The data-only terms of the density, a named constant too (other data, other terms).
    return out[0][0] + pt.constant(np.float64(constant), name=f"{DATA_PREFIX}{family}:constant")


def _ordinal_logp(latent: pt.TensorVariable, loading: pt.TensorVariable,
                  cutpoints: pt.TensorVariable, **rows: np.ndarray) -> list[pt.TensorVariable]:
    """The ordinal family's ``Op`` on its rows grouped by level (stable: the rest of their
    order kept), so that the kernel's branches on the level are predictable: 1.26x at size
    L (decision 24). ``rows``: ``row_latent``, ``row_signal``, ``row_ordinal``, ``level``
    and ``top``, in the kernel's order."""
    by_level = np.argsort(np.asarray(rows["level"]), kind="stable")
    return FamilyLogp("ordinal")(latent, loading, cutpoints, *(
        _rows(np.asarray(array)[by_level], np.int64, f"ordinal:{name}")
        for name, array in rows.items()))


def _check_family_rows(family: str, value: np.ndarray,
                       **positions: tuple[np.ndarray | None, pt.TensorVariable | None]) -> None:
    """:func:`_check_positions` for the position arrays that ``family`` uses, each against
    the length of the vector it indexes (``positions``: name -> (array, vector))."""
    used = ["row_latent", "row_signal", "row_ordinal" if family == "ordinal" else "row_intercept"]
    if family in ("count", "amount", "ratio"):
        used.append("row_noise")
    _check_positions("family_logp", (np.asarray(value).size,),
                     **{name: (positions[name][0], positions[name][1].type.shape[0])
                        for name in used})
