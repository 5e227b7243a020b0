"""Fused likelihood kernels: the same densities and gradients as PyMC's distributions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from python_mode import PYTHON_MODE
from scipy import special

from credibility.data.spec import SignalSpec
from credibility.kernels import FamilyLogp, SpectralStates, family_logp, ordinal_kernel
from credibility.kernels.families import _EXP_FLOOR, _count_tables, _softplus_parts
from credibility.measurement import build_measurement_model
from credibility.model.index import build_index
from credibility.model.likelihoods import bernoulli_logit_logp, cutpoint_matrix

#: Log densities are checked with PyTensor's Python implementations (conftest.py,
#: ``python_mode``): functions that name no mode, ``initial_point()`` among them, too.
pytestmark = pytest.mark.usefixtures("python_mode")


def _rows(draw, n_latent: int, n_signals: int, n: int) -> dict:
    return {"row_latent": np.array(draw(st.lists(st.integers(0, n_latent - 1), min_size=n,
                                                 max_size=n))),
            "row_signal": np.array(draw(st.lists(st.integers(0, n_signals - 1), min_size=n,
                                                 max_size=n)))}


@st.composite
def _problems(draw, family: str) -> dict:
    """A few rows of one family over 1-3 signals, with parameters away from the prior."""
    n_latent, n_signals = draw(st.integers(1, 6)), draw(st.integers(1, 3))
    n = draw(st.integers(1, 25))
    floats = st.floats(-2.5, 2.5)
    problem = {
        "latent": np.array(draw(st.lists(floats, min_size=n_latent, max_size=n_latent))),
        "loading": np.array(draw(st.lists(floats, min_size=n_signals, max_size=n_signals))),
        "intercept": np.array(draw(st.lists(floats, min_size=n_signals, max_size=n_signals))),
        "noise": np.array(draw(st.lists(st.floats(0.05, 3.0), min_size=n_signals,
                                        max_size=n_signals))),
        **_rows(draw, n_latent, n_signals, n),
    }
    problem["row_intercept"] = problem["row_noise"] = problem["row_signal"]
    if family == "count":
        # Both branches of the kernel: the table below 256, Stirling's series from it on.
        problem["value"] = np.array(draw(st.lists(
            st.one_of(st.integers(0, 255), st.integers(256, 5000)), min_size=n, max_size=n)))
        problem["offset"] = np.log(draw(st.lists(st.floats(0.2, 5.0), min_size=n, max_size=n)))
    elif family == "lognormal":
        problem["value"] = np.array(draw(st.lists(st.floats(1e-3, 1e4), min_size=n, max_size=n)))
    else:
        problem["value"] = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    return problem


def _logp_and_gradients(logp: pt.TensorVariable, inputs: dict, values: dict) -> list[np.ndarray]:
    names = list(inputs)
    # Python implementations (fast to compile; the kernels' Python path is numba's own
    # function, and the whole-model test below compiles both backends).
    fn = pytensor.function([inputs[k] for k in names],
                           [logp, *pt.grad(logp, [inputs[k] for k in names])],
                           mode="FAST_COMPILE")
    return fn(*[values[k] for k in names])


def _compare(ours: list[np.ndarray], theirs: list[np.ndarray]) -> None:
    scale = max(1.0, *(float(np.max(np.abs(t))) for t in theirs))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10 * scale)


def _symbolic(problem: dict, names: tuple[str, ...]) -> dict:
    return {k: pt.vector(k) for k in names if k in problem}


def test_softplus_parts_match_exp_and_log1p_to_a_few_ulp():
    """The kernels' ``exp(-|x|)`` and ``log1p`` of it (plain arithmetic, vectorised):
    within 1 and 4 units in the last place of NumPy's on both sides of every branch
    (``sqrt(2) - 1`` for the ``log1p``, the integer ``k`` of ``exp``), from ``|x|`` of
    1e-300 to the floor; beyond it the floor's ``exp``."""
    rng = np.random.default_rng(7)
    size = -_EXP_FLOOR
    magnitude = np.concatenate([[0.0, size, -np.log(np.sqrt(2.0) - 1.0)],
                                np.geomspace(1e-300, size, 20001), rng.uniform(0, 40, 20000),
                                rng.uniform(0, size, 20000)])
    x = np.concatenate([magnitude, -magnitude])
    e, log1p_e = _softplus_parts(x)
    expected = np.exp(-np.abs(x))
    np.testing.assert_array_less(np.abs(e - expected) / np.spacing(expected), 1.0 + 1e-9)
    reference = np.log1p(e)
    np.testing.assert_array_less(np.abs(log1p_e - reference) / np.spacing(reference), 4.0 + 1e-9)
    beyond = np.array([709.0, -1e4, np.inf])
    e_beyond, log1p_beyond = _softplus_parts(beyond)
    np.testing.assert_array_equal(e_beyond, e[x == size][0])
    np.testing.assert_array_equal(log1p_beyond, e_beyond)


def test_count_tables_match_lgamma_and_digamma_differences():
    from scipy import special

    alpha = np.array([0.02, 0.7, 3.0, 250.0])
    logs, digammas = _count_tables(alpha, np.array([0.0, 3.0, 999.0]))
    assert logs.shape == (4, 256)  # capped: larger counts take Stirling's series
    y = np.arange(256)
    for k, a in enumerate(alpha):
        np.testing.assert_allclose(logs[k], special.gammaln(y + a) - special.gammaln(a),
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(digammas[k], special.digamma(y + a) - special.digamma(a),
                                   rtol=1e-12, atol=1e-12)
    assert _count_tables(alpha, np.array([2.0, 5.0]))[0].shape == (4, 6)


@settings(max_examples=30, deadline=None)
@given(problem=_problems("count"))
def test_count_kernel_matches_pymc_negative_binomial(problem):
    x = _symbolic(problem, ("latent", "loading", "intercept", "noise"))
    data = {k: problem[k] for k in ("row_latent", "row_signal", "row_intercept", "row_noise",
                                    "value", "offset")}
    ours = family_logp("count", x["latent"], x["loading"], intercept=x["intercept"],
                       noise=x["noise"], **data)
    eta = (problem["offset"] + x["intercept"][problem["row_intercept"]]
           + x["loading"][problem["row_signal"]] * x["latent"][problem["row_latent"]])
    theirs = pm.logp(pm.NegativeBinomial.dist(mu=pt.exp(eta),
                                              alpha=1.0 / x["noise"][problem["row_noise"]]),
                     problem["value"]).sum()
    _compare(_logp_and_gradients(ours, x, problem), _logp_and_gradients(theirs, x, problem))


@settings(max_examples=30, deadline=None)
@given(problem=_problems("lognormal"))
def test_lognormal_kernel_matches_pymc_lognormal(problem):
    x = _symbolic(problem, ("latent", "loading", "intercept", "noise"))
    data = {k: problem[k] for k in ("row_latent", "row_signal", "row_intercept", "row_noise",
                                    "value")}
    ours = family_logp("amount", x["latent"], x["loading"], intercept=x["intercept"],
                       noise=x["noise"], **data)
    eta = (x["intercept"][problem["row_intercept"]]
           + x["loading"][problem["row_signal"]] * x["latent"][problem["row_latent"]])
    theirs = pm.logp(pm.LogNormal.dist(mu=eta, sigma=x["noise"][problem["row_noise"]]),
                     problem["value"]).sum()
    _compare(_logp_and_gradients(ours, x, problem), _logp_and_gradients(theirs, x, problem))


@settings(max_examples=30, deadline=None)
@given(problem=_problems("binary"), stretch=st.sampled_from([1.0, 20.0]))
def test_binary_kernel_matches_the_exact_bernoulli_logit(problem, stretch):
    """Against the graph form ``y * eta - softplus(eta)``: PyMC's ``Bernoulli(logit_p=)``
    loses digits from ``|eta|`` of about 20 on and is ``-inf`` at 40
    (``model.likelihoods.bernoulli_logit_logp`` is checked against it where it is exact)."""
    problem = {**problem, "loading": problem["loading"] * stretch}  # |eta| up to ~100
    x = _symbolic(problem, ("latent", "loading", "intercept"))
    data = {k: problem[k] for k in ("row_latent", "row_signal", "row_intercept", "value")}
    ours = family_logp("binary", x["latent"], x["loading"], intercept=x["intercept"], **data)
    eta = (x["intercept"][problem["row_intercept"]]
           + x["loading"][problem["row_signal"]] * x["latent"][problem["row_latent"]])
    theirs = bernoulli_logit_logp(pt.as_tensor(problem["value"]), eta).sum()
    _compare(_logp_and_gradients(ours, x, problem), _logp_and_gradients(theirs, x, problem))


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_ordinal_kernel_matches_pymc_ordered_logistic(data):
    """Signals with 2-5 levels share one padded cutpoint matrix, as in the model."""
    levels = data.draw(st.lists(st.integers(2, 5), min_size=1, max_size=3))
    signals = tuple(SignalSpec(name=f"s{k}", family="ordinal", levels=n)
                    for k, n in enumerate(levels))
    first = pt.vector("first")
    gaps = sum(n - 2 for n in levels)
    log_gap = pt.vector("log_gap") if gaps else None
    cut = cutpoint_matrix(signals, first, log_gap)
    n_latent, n = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 25))
    rows = _rows(data.draw, n_latent, len(levels), n)
    level = np.array([data.draw(st.integers(0, levels[s] - 1)) for s in rows["row_signal"]])
    values = {
        "latent": np.array(data.draw(st.lists(st.floats(-3, 3), min_size=n_latent,
                                              max_size=n_latent))),
        "loading": np.array(data.draw(st.lists(st.floats(-2, 2), min_size=len(levels),
                                               max_size=len(levels)))),
        "first": np.array(data.draw(st.lists(st.floats(-2, 1), min_size=len(levels),
                                             max_size=len(levels)))),
        "log_gap": np.array(data.draw(st.lists(st.floats(-2, 1), min_size=gaps,
                                               max_size=gaps))),
    }
    x = {"latent": pt.vector("latent"), "loading": pt.vector("loading"), "first": first}
    if log_gap is not None:
        x["log_gap"] = log_gap
    ours = family_logp("ordinal", x["latent"], x["loading"], cutpoints=cut, value=level,
                       row_ordinal=rows["row_signal"],
                       top=np.array(levels)[rows["row_signal"]] - 1, **rows)
    eta = x["loading"][rows["row_signal"]] * x["latent"][rows["row_latent"]]
    theirs = pm.logp(pm.OrderedLogistic.dist(eta=eta, cutpoints=cut[rows["row_signal"]],
                                             compute_p=False), level).sum()
    _compare(_logp_and_gradients(ours, x, values), _logp_and_gradients(theirs, x, values))


def test_ordinal_middle_levels_far_from_the_cutpoints():
    """The shared-exp path of a middle level where both terms take their series (states
    ~12 from both cutpoints) and the separate path of a gap too wide to share one
    ``exp`` (800; its ``log(1 - exp(-gap))`` was ``inf`` in earlier kernels),
    against ``logaddexp``/``expit`` in NumPy, value and gradients."""
    cutpoints = np.array([[-12.0, 12.0], [-400.0, 400.0], [-1.0, 0.5]])
    latent = np.array([0.0, 3.0, -30.0, 0.2])
    row_latent = np.array([0, 1, 0, 1, 2, 3, 3])
    row_ordinal = np.array([0, 0, 1, 1, 1, 2, 2])
    level = np.array([1, 1, 1, 1, 1, 1, 2])
    top = np.full(7, 2)
    loading = np.array([1.0])
    row_signal = np.zeros(7, dtype=np.int64)
    total, grad_latent, _, grad_cut = ordinal_kernel(latent, loading, cutpoints, row_latent,
                                                     row_signal, row_ordinal, level, top)
    eta = latent[row_latent]
    lower = cutpoints[row_ordinal, np.maximum(level - 1, 0)] - eta
    upper = eta - cutpoints[row_ordinal, np.minimum(level, 1)]
    gap = cutpoints[row_ordinal, 1] - cutpoints[row_ordinal, 0]
    middle = level == 1
    expected = (-np.logaddexp(0.0, lower) * (level > 0) - np.logaddexp(0.0, upper) * middle
                + np.log(-np.expm1(-gap)) * middle).sum()
    d_eta = special.expit(lower) * (level > 0) - special.expit(upper) * middle
    np.testing.assert_allclose(total[0], expected, rtol=1e-13)
    np.testing.assert_allclose(grad_latent, np.bincount(row_latent, d_eta, 4), rtol=1e-12,
                               atol=1e-300)
    d_first = (-special.expit(lower) - np.exp(-gap) / -np.expm1(-gap)) * middle
    np.testing.assert_allclose(grad_cut[:, 0], np.bincount(row_ordinal, d_first, 3),
                               rtol=1e-12, atol=1e-300)


def test_a_wrong_gradient_is_caught():
    """The comparisons above can fail: a kernel whose gradient is off by 1e-6 in one
    row is told apart from PyMC's."""
    problem = {"latent": np.array([0.4, -0.7]), "loading": np.array([0.9]),
               "intercept": np.array([0.2]), "row_latent": np.array([0, 1]),
               "row_signal": np.array([0, 0]), "row_intercept": np.array([0, 0]),
               "value": np.array([1, 0])}
    x = _symbolic(problem, ("latent", "loading", "intercept"))
    data = {k: problem[k] for k in ("row_latent", "row_signal", "row_intercept", "value")}
    ours = _logp_and_gradients(
        family_logp("binary", x["latent"], x["loading"], intercept=x["intercept"], **data),
        x, problem)
    eta = x["intercept"][[0, 0]] + x["loading"][[0, 0]] * x["latent"]
    theirs = _logp_and_gradients(pm.logp(pm.Bernoulli.dist(logit_p=eta), [1, 0]).sum(),
                                 x, problem)
    _compare(ours, theirs)
    ours[1] = ours[1] + np.array([1e-6, 0.0])
    with pytest.raises(AssertionError):
        _compare(ours, theirs)


@pytest.mark.parametrize("spectral", [False, True])
def test_fused_model_has_the_graph_models_density_and_gradient(small_simulation, spectral):
    """Every family (proportions and binomials keep their graph form), two ordinal
    signals of different sizes, an alliance signal: same log density and gradient at
    a point away from the start (Python implementations; the kernels' numba
    implementations are checked against those by the next test)."""
    data = small_simulation.data
    spec = dataclasses.replace(data.spec, spectral_states=spectral)
    assert {"count", "amount", "ratio", "binary", "ordinal", "proportion", "binomial"} <= set(
        build_index(data, spec).families)
    graph = build_measurement_model(data, spec)
    fused = build_measurement_model(data, spec, fused=True)
    kernels = {p.name for p in fused.potentials
               if any(isinstance(v.owner.op, FamilyLogp)
                      for v in pytensor.graph.traversal.ancestors([p]) if v.owner)}
    assert kernels == {"obs_count", "obs_amount", "obs_ratio", "obs_binary", "obs_ordinal"}
    assert {rv.name for rv in fused.observed_RVs} == {"obs_proportion", "obs_binomial"}
    states_ops = {type(v.owner.op) for v in pytensor.graph.traversal.ancestors(
        [fused["commitment_prior"]]) if v.owner}
    assert (SpectralStates in states_ops) == spectral
    # Shapes are known without running the kernels (nutpie asks before sampling).
    cells = build_index(data, spec).cells.size
    shape = pytensor.function([], fused["credibility_cell"].shape)()
    assert tuple(shape) == (cells,)
    rng = np.random.default_rng(5)
    point = {k: v + 0.3 * rng.standard_normal(np.shape(v))
             for k, v in graph.initial_point().items()}
    value, gradient = _logp_and_gradient(fused, point, PYTHON_MODE)
    reference = _logp_and_gradient(graph, point, PYTHON_MODE)
    np.testing.assert_allclose(value, reference[0], rtol=1e-12)
    np.testing.assert_allclose(gradient, reference[1], rtol=1e-9, atol=1e-9)


def _logp_and_gradient(model, point: dict, mode: str) -> tuple[float, np.ndarray]:
    """``model``'s log density and its gradient (all value variables, raveled) at
    ``point``, compiled in PyTensor ``mode``."""
    logp = model.logp()
    fn = pytensor.function(model.value_vars, [logp, *pt.grad(logp, model.value_vars)],
                           mode=mode)
    out = fn(*[point[v.name] for v in model.value_vars])
    return float(out[0]), np.concatenate([np.ravel(g) for g in out[1:]])


def test_numba_implementations_of_the_fused_ops_give_their_python_values():
    """What nutpie compiles: every fused family's kernel (two ordinal signals of
    different sizes) and the spectral states, summed in one function, compiled by
    numba and by the Python implementations: the same value and gradients. (One
    small function: a whole model's numba compile took up to a minute.)"""
    import pymc as pm

    from credibility.model.index import UnitCells
    from credibility.model.spectral import _spectral_states, spectral_weights

    rng = np.random.default_rng(12)
    n_latent, n = 5, 40
    x = {name: pt.vector(name) for name in ("latent", "loading", "intercept", "noise",
                                            "first", "log_gap", "group")}
    rho = pt.scalar("rho")
    rows = {"row_latent": rng.integers(0, n_latent, n), "row_signal": rng.integers(0, 2, n)}
    rows["row_intercept"] = rows["row_noise"] = rows["row_signal"]
    terms = [
        family_logp("count", x["latent"], x["loading"], intercept=x["intercept"],
                    noise=x["noise"], value=rng.integers(0, 400, n),
                    offset=rng.normal(0, 0.3, n), **rows),
        family_logp("amount", x["latent"], x["loading"], intercept=x["intercept"],
                    noise=x["noise"], value=rng.lognormal(0, 1, n), **rows),
        family_logp("binary", x["latent"], x["loading"], intercept=x["intercept"],
                    value=rng.integers(0, 2, n), row_latent=rows["row_latent"],
                    row_signal=rows["row_signal"], row_intercept=rows["row_intercept"]),
    ]
    levels = np.array([3, 4])
    cut = cutpoint_matrix(tuple(SignalSpec(name=f"s{k}", family="ordinal", levels=int(m))
                                for k, m in enumerate(levels)), x["first"], x["log_gap"])
    top = levels[rows["row_signal"]] - 1
    terms.append(family_logp("ordinal", x["latent"], x["loading"], cutpoints=cut,
                             value=rng.integers(0, top + 1), row_ordinal=rows["row_signal"],
                             top=top, row_latent=rows["row_latent"],
                             row_signal=rows["row_signal"]))
    lengths = np.array([6, 2, 4])
    cells = UnitCells(unit=np.repeat(np.arange(lengths.size), lengths),
                      period=np.concatenate([np.arange(k) for k in lengths]),
                      local=np.concatenate([np.arange(k) for k in lengths]),
                      n_units=lengths.size)
    with pm.Model() as model:
        states = _spectral_states(cells, x["group"], rho, spectral_weights(6, 0.8, 1.0),
                                  fused=True)
    free = model.rvs_to_values[model["commitment_spectral"]]
    prior, states = model.replace_rvs_by_values([pt.sum(list(model.potentials)), states])
    total = pt.sum(terms) + prior + (rng.normal(size=cells.size) * states).sum()
    inputs = [*x.values(), rho, free]
    point = [rng.normal(size=n_latent), rng.normal(size=2), rng.normal(size=2),
             rng.uniform(0.2, 2.0, 2), rng.normal(size=2), rng.normal(size=3),
             rng.normal(size=cells.size), 0.6, rng.normal(size=(lengths.size, 6))]
    ops = {type(v.owner.op) for v in pytensor.graph.traversal.ancestors([total]) if v.owner}
    assert {FamilyLogp, SpectralStates} <= ops
    outputs = [total, *pt.grad(total, inputs)]
    compiled = pytensor.function(inputs, outputs, mode="NUMBA")(*point)
    python = pytensor.function(inputs, outputs, mode=PYTHON_MODE)(*point)
    for a, b in zip(compiled, python, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_spectral_states_kernel_matches_the_graph_form():
    """Windows of different lengths padded to the longest, rho near 0 and near 1: the
    fused states, prior + Jacobian and their gradients (weighted by a random cotangent)
    equal the graph form's."""
    import pymc as pm

    from credibility.model.index import UnitCells
    from credibility.model.spectral import _spectral_states, spectral_weights

    lengths = np.array([6, 2, 4, 1])
    unit = np.repeat(np.arange(lengths.size), lengths)
    local = np.concatenate([np.arange(k) for k in lengths])
    cells = UnitCells(unit=unit, period=local + 3, local=local, n_units=lengths.size)
    rng = np.random.default_rng(8)
    weight = rng.normal(size=cells.size)
    out = []
    for fused in (False, True):
        rho, group = pt.scalar("rho"), pt.vector("group")
        with pm.Model() as model:
            states = _spectral_states(cells, group, rho, spectral_weights(6, 0.8, 1.0),
                                      fused=fused)
        free = model.rvs_to_values[model["commitment_spectral"]]
        prior = pt.sum([p for p in model.potentials])
        prior, states = model.replace_rvs_by_values([prior, states])
        target = prior + (weight * states).sum()
        out.append(pytensor.function([free, rho, group],
                                     [prior, states, *pt.grad(target, [free, rho, group])]))
    for r in (0.03, 0.5, 0.97):
        args = (rng.normal(size=(lengths.size, 6)), r, rng.normal(size=cells.size))
        for a, b in zip(out[0](*args), out[1](*args), strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10)


def test_residual_persistence_keeps_the_graph_form(small_simulation):
    data = small_simulation.data
    name = next(s.name for s in data.spec.signals if s.family == "amount")
    spec = dataclasses.replace(data.spec, signals=tuple(
        dataclasses.replace(s, residual_persistence=s.name == name) for s in data.spec.signals))
    fused = build_measurement_model(data, spec, fused=True)
    assert "obs_amount" in {rv.name for rv in fused.observed_RVs}
    graph = build_measurement_model(data, spec)
    point = graph.initial_point()
    np.testing.assert_allclose(fused.compile_logp(mode=PYTHON_MODE)(point),
                               graph.compile_logp(mode=PYTHON_MODE)(point),
                               rtol=1e-12)


def test_family_logp_refuses_families_without_a_kernel():
    with pytest.raises(ValueError, match="no fused kernel for family 'proportion'"):
        family_logp("proportion", pt.vector(), pt.vector(), row_latent=np.zeros(1, int),
                    row_signal=np.zeros(1, int), value=np.array([0.5]))
    with pytest.raises(ValueError, match="unknown kernel 'beta'"):
        FamilyLogp("beta")


def test_family_logp_refuses_positions_outside_their_vectors():
    """The kernels do not check bounds, so family_logp does, before compiling."""
    latent, loading, intercept = (pt.as_tensor(np.zeros(n)) for n in (3, 2, 2))
    rows = {"row_latent": np.array([0, 2]), "row_signal": np.array([0, 1]),
            "row_intercept": np.array([0, 1]), "value": np.array([1, 0])}
    assert np.isfinite(family_logp("binary", latent, loading, intercept=intercept,
                                   **rows).eval())
    with pytest.raises(ValueError, match=r"row_latent must lie in \[0, 3\), got \[0, 3\]"):
        family_logp("binary", latent, loading, intercept=intercept,
                    **{**rows, "row_latent": np.array([0, 3])})
    with pytest.raises(ValueError, match=r"row_signal has shape \(3,\), expected \(2,\)"):
        family_logp("binary", latent, loading, intercept=intercept,
                    **{**rows, "row_signal": np.array([0, 1, 1])})


def test_spectral_states_refuses_positions_outside_the_grid():
    from credibility.kernels import spectral_states
    from credibility.model.spectral import dct_basis, dct_lag_weights

    basis = dct_basis(3)
    args = (pt.as_tensor(np.zeros((1, 3))), pt.as_tensor(0.5), pt.as_tensor(np.zeros(3)))
    grid = {"basis": basis, "weights": np.ones(3), "lag_weights": dct_lag_weights(basis),
            "padded": np.array([[0, 1, 2]]), "unit": np.zeros(3, int), "local": np.arange(3)}
    assert np.isfinite(spectral_states(*args, **grid)[1].eval())
    with pytest.raises(ValueError, match=r"local must lie in \[0, 3\), got \[0, 3\]"):
        spectral_states(*args, **{**grid, "local": np.array([0, 1, 3])})
    with pytest.raises(ValueError, match=r"local has shape \(2,\), expected \(3,\)"):
        spectral_states(*args, **{**grid, "local": np.array([0, 1])})
    with pytest.raises(ValueError, match=r"padded must lie in \[0, 3\), got \[0, 5\]"):
        spectral_states(*args, **{**grid, "padded": np.array([[0, 1, 5]])})
