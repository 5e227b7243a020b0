"""The measurement model's structure: indices, dynamics, one likelihood per family."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from pytensor.graph.traversal import ancestors
from pytensor.tensor.math import Dot
from python_mode import PYTHON_MODE
from scipy.special import expit
from scipy.stats import multivariate_normal

from credibility.data.container import CredibilityData
from credibility.data.datasets import load_dataset
from credibility.data.spec import parse_spec
from credibility.errors import SpecError
from credibility.measurement import build_measurement_model
from credibility.model.coordinates import (
    _residual_rows,
    adapted_coordinates,
    information_shares,
    starting_coordinates,
    summary_posterior,
)
from credibility.model.dynamics import dynamics_matrix
from credibility.model.index import UnitCells, build_index, previous_rows
from credibility.model.likelihoods import (
    autocorrelated_lognormal_logp,
    bernoulli_logit_logp,
    draw_autocorrelated_lognormal,
    negative_binomial_logp,
    per_row,
)
from credibility.model.loadings import scale_signals
from credibility.model.parameters import alliance_intercept_weights, signal_priors
from credibility.model.spectral import _spectral_states, spectral_weights

#: Log densities are checked with PyTensor's Python implementations (conftest.py,
#: ``python_mode``): functions that name no mode, ``initial_point()`` among them, too.
pytestmark = pytest.mark.usefixtures("python_mode")


def test_index_covers_exactly_the_active_windows(small_simulation):
    data = small_simulation.data
    index = build_index(data)
    com = data.commitments
    assert index.cells.size == int((com["end"] - com["start"] + 1).sum())
    # Each cell's period lies inside its commitment's window.
    start = com["start"].to_numpy()[index.cells.unit] - data.first_period
    end = com["end"].to_numpy()[index.cells.unit] - data.first_period
    assert np.all((index.cells.period >= start) & (index.cells.period <= end))
    assert np.array_equal(index.cells.period - start, index.cells.local)
    # Every commitment cell points at its own alliance's cell in the same period.
    a = index.alliance_cells
    assert np.array_equal(a.period[index.cell_alliance_cell], index.cells.period)
    assert np.array_equal(a.unit[index.cell_alliance_cell],
                          index.commitment_alliance[index.cells.unit])


def test_observations_point_at_their_unit_and_period(small_simulation):
    data = small_simulation.data
    index = build_index(data)
    sig = data.signals
    n_cells = index.cells.size
    for family, obs in index.families.items():
        rows = sig[sig["signal"].isin([s.name for s in index.signals if s.family == family])]
        assert obs.size == len(rows)
        com = obs.latent < n_cells
        periods = np.where(com, index.cells.period[np.minimum(obs.latent, n_cells - 1)],
                           index.alliance_cells.period[np.maximum(obs.latent - n_cells, 0)])
        assert np.array_equal(np.sort(periods + data.first_period), np.sort(rows["period"]))


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.9])
def test_ar1_matrix_gives_the_stationary_ar1_covariance(rho):
    L = dynamics_matrix(pt.as_tensor(rho), 6, "ar1").eval()
    cov = L @ L.T
    lag = np.abs(np.subtract.outer(np.arange(6), np.arange(6)))
    assert np.allclose(cov, rho**lag)


def test_random_walk_matrix_variance_grows_by_step_squared():
    L = dynamics_matrix(pt.as_tensor(0.5), 5, "random_walk").eval()
    assert np.allclose(np.diag(L @ L.T), 1.0 + 0.25 * np.arange(5))


def test_one_observed_variable_per_family(small_simulation):
    model = build_measurement_model(small_simulation.data)
    observed = sorted(v.name for v in model.observed_RVs)
    assert observed == ["obs_amount", "obs_binary", "obs_binomial", "obs_count", "obs_ordinal",
                        "obs_proportion", "obs_ratio"]
    assert set(model.named_vars_to_dims["loading"]) == {"signal"}
    assert model.named_vars_to_dims["credibility_cell"] == ("cell",)


def _graph_size(model) -> int:
    return len(list(ancestors([model.logp()])))


def test_graph_size_does_not_grow_with_rows(small_simulation, all_families_spec, tmp_path):
    """Vectorised: doubling the periods (rows) leaves the symbolic graph the same size."""
    data = small_simulation.data
    paths = data.to_csv(tmp_path)
    signals = pd.read_csv(paths["signals"], dtype=str, keep_default_na=False)
    shifted = signals.assign(period=(signals["period"].astype(int) + 10).astype(str))
    commitments = pd.read_csv(paths["commitments"], dtype=str, keep_default_na=False)
    big = CredibilityData.from_frames(
        commitments.assign(end=""), pd.concat([signals, shifted], ignore_index=True),
        spec=all_families_spec,
    )
    assert len(big.signals) == 2 * len(data.signals)
    assert _graph_size(build_measurement_model(big)) == _graph_size(
        build_measurement_model(data))


def test_logp_is_finite_at_the_initial_point(small_simulation):
    model = build_measurement_model(small_simulation.data)
    logp = model.compile_logp(mode=PYTHON_MODE)(model.initial_point())
    assert np.isfinite(logp)


def test_ordinal_padding_gives_zero_probability_to_missing_levels(all_families_spec):
    """A 3-level signal padded to 4 levels: its 3 real levels carry all the mass."""
    import pymc as pm

    from credibility.model.likelihoods import _ordinal_cutpoints

    ordinals = tuple(s for s in all_families_spec.signals if s.family == "ordinal")
    assert [s.levels for s in ordinals] == [4, 3]
    with pm.Model(coords={"signal_ordinal": [s.name for s in ordinals]}):
        cut = _ordinal_cutpoints(ordinals, all_families_spec)
    cut_value = pm.draw(cut, random_seed=1)
    assert np.all(np.diff(cut_value[0]) > 0)
    assert cut_value[1, 2] >= 1.0e4
    eta = np.linspace(-3, 3, 7)
    dist = pm.OrderedLogistic.dist(eta=eta, cutpoints=np.tile(cut_value[1], (eta.size, 1)))
    probs = np.exp(np.stack([pm.logp(dist, np.full(eta.size, k)).eval() for k in range(4)]))
    assert np.allclose(probs[:3].sum(axis=0), 1.0)
    assert np.all(probs[3] < 1e-12)


def test_auto_priors_are_centred_on_the_data(small_simulation, all_families_spec, tmp_path):
    from dataclasses import replace

    auto_signals = tuple(replace(s, intercept=None, loading_sd=None, noise_mean=None)
                         for s in all_families_spec.signals)
    spec = replace(all_families_spec, signals=auto_signals)
    paths = small_simulation.data.to_csv(tmp_path)
    data = CredibilityData.from_csv(paths["commitments"], paths["signals"], spec=spec)
    priors = signal_priors(data)
    troops = data.signals.loc[data.signals["signal"] == "troops", "value"]
    assert priors.loc["troops", "intercept_mu"] == pytest.approx(np.log(troops).mean())
    assert priors.loc["troops", "loading_sd"] == pytest.approx(np.std(np.log(troops.to_numpy())))
    assert np.isnan(priors.loc["consultation", "intercept_mu"])


def test_fitted_spec_decides_directions_and_must_match_the_data(small_simulation):
    from dataclasses import replace

    from credibility.errors import SpecError

    data = small_simulation.data
    spec = data.spec
    flipped = replace(spec, signals=tuple(replace(s, direction=-s.direction)
                                          for s in spec.signals))
    index = build_index(data, flipped)
    assert [s.direction for s in index.signals] == [-s.direction for s in spec.signals]
    fewer = replace(spec, signals=spec.signals[:2])
    assert [s.name for s in build_index(data, fewer).signals] == ["exercises", "troops"]
    wrong = replace(spec, signals=(replace(spec.signals[0], family="amount"),
                                   *spec.signals[1:]))
    with pytest.raises(SpecError, match="signal 'exercises' has family = 'amount'"):
        build_measurement_model(data, wrong)


@functools.cache
def _negative_binomial_pair():
    """Compiled once: (ours, PyMC's) log density and their gradients in (log_mu, alpha)."""
    values, lm, a = pt.lvector("y"), pt.dscalar("lm"), pt.dscalar("a")
    ours = negative_binomial_logp(values, lm, a, pt.gammaln(a)).sum()
    theirs = pm.logp(pm.NegativeBinomial.dist(mu=pt.exp(lm), alpha=a), values).sum()
    outputs = [ours, *pt.grad(ours, [lm, a]), theirs, *pt.grad(theirs, [lm, a])]
    return pytensor.function([values, lm, a], outputs)


@functools.cache
def _bernoulli_ours():
    values, e = pt.lvector("y"), pt.dscalar("e")
    ours = bernoulli_logit_logp(values, e).sum()
    return pytensor.function([values, e], [ours, pt.grad(ours, e)])


@settings(max_examples=60, deadline=None)
@given(
    y=st.lists(st.integers(0, 500), min_size=1, max_size=20),
    log_mu=st.floats(-8.0, 8.0),
    alpha=st.floats(0.01, 200.0),
)
def test_negative_binomial_logp_and_gradient_match_pymc(y, log_mu, alpha):
    """The fast count likelihood is PyMC's NegativeBinomial: value and gradient."""
    out = [float(v) for v in _negative_binomial_pair()(np.array(y), log_mu, alpha)]
    assert out[:3] == pytest.approx(out[3:], rel=1e-8, abs=1e-8)


@settings(max_examples=60, deadline=None)
@given(y=st.lists(st.integers(0, 1), min_size=1, max_size=20), eta=st.floats(-30.0, 30.0))
def test_bernoulli_logit_logp_and_gradient_are_exact(y, eta):
    """The fast binary likelihood against the exact log-sigmoid (PyMC's log1p(-p) form
    loses digits for large |eta|; where it is accurate the two agree: doctest)."""
    values = np.array(y)
    logp, grad = _bernoulli_ours()(values, eta)
    exact = float(np.sum(np.where(values == 1, -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta))))
    assert logp == pytest.approx(exact, rel=1e-12, abs=1e-12)
    assert grad == pytest.approx(float(np.sum(values - expit(eta))), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("rho", [0.3, 0.8, 0.97])
def test_spectral_states_density_is_the_change_of_variables(rho):
    """The spectral potentials are the stationary AR(1) density of the implied paths
    plus log|det d(states)/d(free)|, computed here by brute force: the same model as
    the centred states in other coordinates (decision 17)."""
    n, length = 3, 6
    cells = UnitCells(unit=np.repeat(np.arange(n), length), period=np.tile(np.arange(length), n),
                      local=np.tile(np.arange(length), n), n_units=n)
    rng = np.random.default_rng(5)
    group = rng.normal(size=cells.size)
    rho_var = pt.scalar("rho")
    with pm.Model() as model:
        states = _spectral_states(cells, pt.as_tensor(group), rho_var,
                                  spectral_weights(length, 0.8, 1.0))
    free = model.rvs_to_values[model["commitment_spectral"]]
    potential, states = model.replace_rvs_by_values(
        [model["commitment_prior"] + model["commitment_spectral_jacobian"], states])
    jacobian = pytensor.gradient.jacobian(states, free)
    fn = pytensor.function([free, rho_var], [potential, states, jacobian], mode=PYTHON_MODE)
    lag = np.abs(np.subtract.outer(np.arange(length), np.arange(length)))
    for z in rng.normal(size=(3, n, length)):
        value, s, jac = fn(z, rho)
        paths = (s - group).reshape(n, length)
        expected = multivariate_normal(np.zeros(length), rho**lag).logpdf(paths).sum()
        expected += np.linalg.slogdet(jac.reshape(cells.size, -1))[1]
        np.testing.assert_allclose(value, expected, rtol=1e-10)


def test_spectral_states_with_staggered_windows(small_simulation):
    """Windows of different lengths are padded at their ends: the model builds, its
    log density is finite and every active cell gets a credibility."""
    data = small_simulation.data
    spec = dataclasses.replace(data.spec, spectral_states=True)
    model = build_measurement_model(data, spec)
    assert "commitment_spectral" in model.named_vars
    assert "commitment_state" not in model.named_vars
    assert np.isfinite(model.compile_logp(mode=PYTHON_MODE)(model.initial_point()))
    index = build_index(data, spec)
    assert index.cells.size < index.cells.n_units * index.cells.max_length  # really staggered
    (credibility,) = model.replace_rvs_by_values([model["credibility_cell"]])
    point = model.initial_point()
    inputs = [v for v in model.value_vars if v in set(ancestors([credibility]))]
    cells = pytensor.function(inputs, credibility, mode=PYTHON_MODE)(
        *[point[v.name] for v in inputs])
    assert cells.shape == (index.cells.size,)


def _jittered_points(model: pm.Model, seed: int) -> Iterator[dict[str, np.ndarray]]:
    """Three points near ``model``'s initial point: each value plus 0.4 times standard
    normals drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    for _ in range(3):
        yield {key: v + 0.4 * rng.standard_normal(np.shape(v))
               for key, v in model.initial_point().items()}


def _assert_same_model(differences: list[float], *, broken: bool,
                       constant: float | None = None) -> None:
    """Two models' log densities at matched points differ by a constant (``constant``
    where given, else the first difference), unless a term was ``broken`` on purpose:
    then the difference must vary over the points."""
    if broken:
        assert np.ptp(differences) > 1e-3
    elif constant is None:
        np.testing.assert_allclose(differences, differences[0], rtol=0, atol=1e-8)
    else:
        np.testing.assert_allclose(differences, constant, atol=1e-8)


@pytest.mark.parametrize("drop", [None, "state_jacobian", "magnitude_jacobian"])
def test_scale_coordinate_is_the_same_model_in_other_coordinates(small_simulation, drop):
    """The latent's scale coordinate (decision 31, the default) samples the states times
    the reference loadings' root mean square, ``latent_scale_log`` (log of that), the
    sum-to-zero log shares of the reference loadings and log ratios of the other
    commitment signals' loadings to it. At matched points the log density differs from
    the model in the old coordinates by log|d(old)/d(new)| = -(cells - 1) g plus a
    constant (the map onto the log loadings has a constant Jacobian). Checked to fail
    with either of the new Jacobian terms dropped."""
    from pymc.distributions.transforms import ZeroSumTransform

    data = small_simulation.data
    old_spec = dataclasses.replace(data.spec, scale_coordinate=False)
    old = build_measurement_model(data, old_spec)
    new = build_measurement_model(data, data.spec)
    assert {"latent_scale_log", "commitment_state_scaled", "loading_offset",
            "loading_log_ratio", "loading_alliance_stationary"} <= set(new.named_vars)
    if drop == "state_jacobian":
        new.potentials.remove(new["commitment_state_scale_jacobian"])
    index = build_index(data, data.spec)
    reference, relative = scale_signals(index.signals)
    on_commitment = reference | relative
    assert reference.sum() > 1 and relative.any() and not on_commitment.all()
    old_logp = old.compile_logp(mode=PYTHON_MODE)
    new_logp = new.compile_logp(mode=PYTHON_MODE)
    differences = []
    for point in _jittered_points(old, seed=31):
        log_m = point["loading_magnitude_stationary_log__"]
        g = 0.5 * np.log(np.mean(np.exp(2 * log_m[reference])))  # log root mean square
        mapped = {key: v for key, v in point.items() if key not in (
            "loading_magnitude_stationary_log__", "commitment_state_zerosum__")}
        mapped["latent_scale_log"] = np.asarray(g)
        mapped["commitment_state_scaled_zerosum__"] = (
            point["commitment_state_zerosum__"] * np.exp(g))
        shares = 2 * (log_m[reference] - g)  # log(n softmax(offset)), up to a constant
        mapped["loading_offset_zerosum__"] = ZeroSumTransform([-1]).forward(
            pt.as_tensor(shares - shares.mean())).eval()
        mapped["loading_log_ratio"] = log_m[relative] - g
        mapped["loading_alliance_stationary_log__"] = log_m[~on_commitment]
        difference = new_logp(mapped) - old_logp(point) + (index.cells.size - 1) * g
        if drop == "magnitude_jacobian":  # the exp map's Jacobian, sum of log magnitudes
            difference -= log_m[on_commitment].sum()
        differences.append(difference)
    _assert_same_model(differences, broken=drop is not None)


def test_marker_signal_is_the_same_model_in_other_coordinates(small_simulation):
    """``marker_signal`` (decision 18) samples the spectral coefficients of the
    marker-scaled states and the other loadings as ratios to the marker's: at matched
    points the log density (without transforms' Jacobians) differs from the plain
    spectral model's by exactly log|d(plain)/d(marker coordinates)|."""
    data = small_simulation.data
    plain_spec = dataclasses.replace(data.spec, spectral_states=True)
    names = [s.name for s in build_index(data, plain_spec).signals]
    marker = next(s.name for s in plain_spec.signals
                  if s.level == "commitment" and s.family == "amount" and s.name in names)
    k = names.index(marker)
    plain = build_measurement_model(data, plain_spec)
    scaled = build_measurement_model(data, dataclasses.replace(plain_spec, marker_signal=marker))
    assert {"loading_marker_stationary", "loading_ratio"} <= set(scaled.named_vars)
    index = build_index(data, plain_spec)
    p = plain_spec.priors
    w = spectral_weights(index.cells.max_length,
                         p.persistence_alpha / (p.persistence_alpha + p.persistence_beta),
                         plain_spec.spectral_data_precision)
    rng = np.random.default_rng(8)
    plain_logp = plain.compile_logp(jacobian=False, mode=PYTHON_MODE)
    scaled_logp = scaled.compile_logp(jacobian=False, mode=PYTHON_MODE)
    for _ in range(3):
        point = {key: v + 0.4 * rng.standard_normal(np.shape(v))
                 for key, v in plain.initial_point().items()}
        log_m = point["loading_magnitude_stationary_log__"]
        mapped = {key: v for key, v in point.items()
                  if key not in ("loading_magnitude_stationary_log__", "commitment_spectral")}
        mapped["loading_marker_stationary_log__"] = log_m[k]
        mapped["loading_ratio_log__"] = np.delete(log_m, k) - log_m[k]
        m = np.exp(log_m[k])
        mapped["commitment_spectral"] = point["commitment_spectral"] * m ** (1.0 - w)
        expected = plain_logp(point) + (index.cells.n_units * (w - 1.0).sum()
                                        + len(names) - 1) * np.log(m)
        np.testing.assert_allclose(scaled_logp(mapped), expected, rtol=1e-10)


def test_marker_signal_must_be_a_commitment_signal_with_spectral_states(small_simulation):
    spec = small_simulation.data.spec
    with pytest.raises(SpecError, match="marker_signal needs spectral_states = true"):
        parse_spec(spec.text.replace("[model]", '[model]\nmarker_signal = "x"', 1))
    text = spec.text.replace("[model]", '[model]\nspectral_states = true\nmarker_signal = "x"', 1)
    with pytest.raises(SpecError, match="marker_signal = 'x' is not a declared signal"):
        parse_spec(text)


@pytest.mark.parametrize("phi", [0.0, 0.6, 0.95])
def test_autocorrelated_lognormal_is_the_stationary_ar1_density(phi):
    """Conditioning each row on its predecessor (rows in any order, with a gap) gives
    the joint density of a stationary AR(1) of the log residuals, brute-forced."""
    periods = {"a": [0, 1, 2, 4, 5], "b": [3, 4], "c": [7]}
    unit = np.array([u for u, ps in periods.items() for _ in ps])
    period = np.array([t for ps in periods.values() for t in ps])
    order = np.random.default_rng(2).permutation(unit.size)
    unit, period = unit[order], period[order]
    previous, gap = previous_rows(unit, np.zeros(unit.size, dtype=int), period)
    rng = np.random.default_rng(4)
    eta, sigma = rng.normal(size=unit.size), 0.7
    value = np.exp(eta + rng.normal(size=unit.size))
    logp = autocorrelated_lognormal_logp(pt.as_tensor(value), pt.as_tensor(eta), sigma, phi,
                                         previous, gap).eval()
    expected = -np.log(value).sum()
    for u in periods:
        rows = unit == u
        lag = np.abs(np.subtract.outer(period[rows], period[rows]))
        expected += multivariate_normal(np.zeros(rows.sum()), sigma**2 * phi**lag).logpdf(
            np.log(value[rows]) - eta[rows])
    np.testing.assert_allclose(logp.sum(), expected, rtol=1e-10)


def test_autocorrelated_lognormal_draws_have_that_persistence_and_sd():
    """Draws: lag-1 autocorrelation phi and marginal sd sigma of the log residuals,
    within 4 Monte Carlo standard errors (200 units x 50 periods)."""
    units, length, phi, sigma = 200, 50, 0.8, 0.5
    unit = np.repeat(np.arange(units), length)
    period = np.tile(np.arange(length), units)
    order = np.random.default_rng(0).permutation(unit.size)
    previous, gap = previous_rows(unit[order], np.zeros(unit.size, dtype=int), period[order])
    draws = draw_autocorrelated_lognormal(0.0, sigma, phi, previous, gap,
                                      rng=np.random.default_rng(1))
    residual = np.empty(unit.size)
    residual[order] = np.log(draws)
    paths = residual.reshape(units, length)
    lag1 = np.corrcoef(paths[:, 1:].ravel(), paths[:, :-1].ravel())[0, 1]
    n = paths.size
    assert abs(lag1 - phi) < 4 * (1 - phi**2) / np.sqrt(n / ((1 + phi**2) / (1 - phi**2)))
    se_sd = sigma * np.sqrt((1 + phi**2) / (1 - phi**2) / (2 * n))
    assert abs(paths.std() - sigma) < 4 * se_sd


def test_residual_persistence_enters_the_model_and_is_refused_elsewhere(small_simulation):
    data = small_simulation.data
    name = next(s.name for s in data.spec.signals
                if s.family == "amount" and s.level == "commitment")
    signals = tuple(dataclasses.replace(s, residual_persistence=s.name == name)
                    for s in data.spec.signals)
    spec = dataclasses.replace(data.spec, signals=signals)
    model = build_measurement_model(data, spec)
    assert model.coords["signal_residual"] == (name,)
    assert np.isfinite(model.compile_logp(mode=PYTHON_MODE)(model.initial_point()))
    # Replicated data (posterior predictive checks) at one point: the rows' own draws.
    values = pytensor.function(model.value_vars, model.unobserved_value_vars,
                               on_unused_input="ignore")(
        *[model.initial_point()[v.name] for v in model.value_vars])
    point = xr.Dataset({v.name: (("chain", "draw", *[f"{v.name}_{i}" for i in range(v.ndim)]),
                                 np.asarray(x)[None, None])
                        for v, x in zip(model.unobserved_value_vars, values, strict=True)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        replicated = pm.sample_posterior_predictive(point, model=model, var_names=["obs_amount"],
                                                    random_seed=1, progressbar=False)
    draws = replicated["posterior_predictive"]["obs_amount"].values
    assert draws.shape[-1] == build_index(data, spec).families["amount"].size
    assert np.isfinite(draws).all() and (draws > 0).all()
    text = spec.text.replace('family = "count"', 'family = "count"\nresidual_persistence = true', 1)
    with pytest.raises(SpecError, match="residual_persistence = true needs family"):
        parse_spec(text)


def test_spectral_states_need_ar1_dynamics(small_simulation):
    data = small_simulation.data
    spec = dataclasses.replace(data.spec, spectral_states=True, dynamics="random_walk")
    with pytest.raises(SpecError, match="spectral_states needs dynamics = 'ar1'"):
        build_measurement_model(data, spec)


def _dots(model: pm.Model) -> int:
    return sum(1 for v in ancestors([model.logp()]) if v.owner and isinstance(v.owner.op, Dot))


def test_one_hot_gathers_give_the_same_density_and_gradient(small_simulation):
    """``one_hot=True`` (for GPUs) changes how per-signal parameters reach the rows,
    not the model: same log density and gradient at a point away from the start."""
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    from pymc.sampling.jax import get_jaxified_logp

    jax.config.update("jax_enable_x64", True)
    data = small_simulation.data
    spec = dataclasses.replace(data.spec, spectral_states=False)
    assert {"count", "ordinal", "binary"} <= set(build_index(data, spec).families)
    plain = build_measurement_model(data, spec)
    one_hot = build_measurement_model(data, spec, one_hot=True)
    assert _dots(one_hot) > _dots(plain)  # the one-hot products are really there
    rng = np.random.default_rng(3)
    point = {k: v + 0.3 * rng.standard_normal(np.shape(v))
             for k, v in plain.initial_point().items()}
    values = []
    for model in (plain, one_hot):  # JAX: the backend the one-hot form is for
        logp = get_jaxified_logp(model, negative_logp=False)
        grad = jax.jit(jax.value_and_grad(lambda *x, f=logp: f(x),
                                          argnums=tuple(range(len(model.value_vars)))))
        value, gradient = grad(*[jnp.asarray(point[v.name]) for v in model.value_vars])
        values.append((float(value), np.concatenate([np.ravel(g) for g in gradient])))
    np.testing.assert_allclose(values[1][0], values[0][0], rtol=1e-12)
    np.testing.assert_allclose(values[1][1], values[0][1], rtol=1e-9, atol=1e-9)


def test_per_row_refuses_positions_outside_the_parameter():
    with pytest.raises(ValueError, match=r"positions must lie in \[0, 3\)"):
        per_row(pt.as_tensor(np.zeros(3)), np.array([0, 3]), 3, one_hot=True)


@pytest.mark.parametrize("drop", [None, "jacobian"])
def test_residual_signal_is_the_same_model_in_other_coordinates(small_simulation, drop):
    """``[model] residual_signal`` (decision 33) samples the states the signal observes
    as its standardised residuals. At matched points the log density differs from the
    scale-coordinate model's by log|d(old coordinates)/d(new)|, computed here by brute
    force from the states' Jacobian (not from the model's formula). Checked to fail
    with the Jacobian term dropped."""
    from pymc.distributions.transforms import ZeroSumTransform

    data = small_simulation.data
    spec = dataclasses.replace(data.spec, residual_signal="spending")
    old = build_measurement_model(data, data.spec)
    new = build_measurement_model(data, spec)
    assert "commitment_state_residual" in new.named_vars
    assert "commitment_state_scaled" not in new.free_RVs
    if drop == "jacobian":
        new.potentials.remove(new["commitment_state_scale_jacobian"])
    index = build_index(data, spec)
    _, observed, _ = _residual_rows(index, "spending")
    assert 0 < observed.size < index.cells.size  # some cells observed, some not
    free = new.rvs_to_values[new["commitment_state_residual"]]
    (scaled,) = new.replace_rvs_by_values([new["commitment_state_scaled"]])
    inputs = [v for v in new.value_vars if v in set(ancestors([scaled]))]
    states = pytensor.function(inputs, scaled, mode=PYTHON_MODE)
    jacobian = pytensor.function(inputs, pytensor.gradient.jacobian(scaled, free),
                                 mode=PYTHON_MODE)
    z = pt.vector("z")
    basis = pytensor.function([z], pytensor.gradient.jacobian(
        ZeroSumTransform([-1]).backward(z), z), mode=PYTHON_MODE)(np.zeros(index.cells.size - 1))
    old_logp = old.compile_logp(mode=PYTHON_MODE)
    new_logp = new.compile_logp(mode=PYTHON_MODE)
    differences = []
    for point in _jittered_points(new, seed=33):
        args = [point[v.name] for v in inputs]
        matched = {key: v for key, v in point.items() if key != free.name}
        matched["commitment_state_scaled_zerosum__"] = np.linalg.lstsq(
            basis, states(*args), rcond=None)[0]
        log_det = np.linalg.slogdet(np.linalg.pinv(basis) @ jacobian(*args))[1]
        differences.append(new_logp(point) - old_logp(matched) - log_det)
    _assert_same_model(differences, broken=drop is not None)


def test_residual_signal_must_be_a_gaussian_commitment_signal(all_families_spec):
    """A residual signal that is missing, on alliances, not Gaussian, or without the
    scale coordinate is a SpecError that says what is expected."""
    text = all_families_spec.text.replace('[model]\n', '[model]\nresidual_signal = "NAME"\n', 1)
    assert text != all_families_spec.text
    assert all_families_spec.residual_signal is None  # the default
    for name, expected in [("nothing", "is not a declared signal"),
                           ("alliance_exercises", "must be a commitment-level 'amount' or "
                                                  "'ratio' signal"),
                           ("exercises", "family 'count'")]:
        with pytest.raises(SpecError, match=expected):
            parse_spec(text.replace("NAME", name), source="residual.toml")
    assert parse_spec(text.replace("NAME", "troops"), source="r.toml").residual_signal == "troops"
    spectral = text.replace("NAME", "troops").replace(
        "[model]\n", "[model]\nspectral_states = true\n", 1)
    with pytest.raises(SpecError, match="needs centred commitment states"):
        parse_spec(spectral, source="residual.toml")


def test_adapted_coordinates_follow_where_the_information_on_the_states_comes_from():
    """A signal with a small noise next to its loading carries nearly all the information
    on the states it observes (its residuals become their coordinates); a noisy one
    almost none; the shares fall as the noise grows and a persistent prior takes more;
    with weak loadings the prior carries the states (non-centred); in between the
    coordinates stay (decision 33)."""
    data = load_dataset("demo")
    index = build_index(data)

    def posterior(spending_noise: float, troops_noise: float = 10.0, rho: float = 0.5,
                  loading: float = 1.0) -> xr.Dataset:
        return summary_posterior(
            index, loading=loading, persistence=rho,
            noise={"spending_ratio": spending_noise, "troops": troops_noise,
                   "joint_exercises": 0.5, "alliance_exercises": 0.5})

    def shares(*args, **kwargs) -> dict[str, float]:
        return information_shares(posterior(*args, **kwargs), index)

    pinned = shares(0.01)
    assert set(pinned) == {"troops", "spending_ratio"}
    assert pinned["spending_ratio"] > 0.99 and pinned["troops"] < 0.01
    falling = [shares(noise)["spending_ratio"] for noise in (0.05, 0.2, 0.5, 2.0)]
    assert all(a > b for a, b in itertools.pairwise(falling))
    assert shares(0.2, rho=0.95)["spending_ratio"] < shares(0.2, rho=0.5)["spending_ratio"]
    spec, coordinates, why = adapted_coordinates(posterior(0.01), index, data.spec)
    assert spec.residual_signal == "spending_ratio"
    assert coordinates == "spending_ratio's residuals as coordinates"
    assert why.startswith("it carries 100% of the information")
    spec, coordinates, why = adapted_coordinates(
        posterior(0.5, 0.5, rho=0.9, loading=0.1), index, data.spec)
    assert "commitment" not in spec.centred_states and spec.residual_signal is None
    assert coordinates == "non-centred commitment states"
    assert adapted_coordinates(posterior(0.5, 0.5), index, data.spec) is None
    # A spec that chose its coordinates, or has no scale coordinate, keeps them.
    chosen = dataclasses.replace(data.spec, residual_signal="troops")
    assert adapted_coordinates(posterior(0.01), index, chosen) is None
    spectral = dataclasses.replace(data.spec, spectral_states=True)
    assert adapted_coordinates(posterior(0.01), index, spectral) is None



def test_large_data_start_in_spectral_states(monkeypatch):
    """A fit that adapts its coordinates starts in spectral states from
    SPECTRAL_CELLS commitment-periods on (decision 57), and only from plain centred
    states of one dimension: a spec that chose other coordinates keeps them."""
    from credibility.model import coordinates as model_coordinates

    data = load_dataset("demo")
    index = build_index(data)
    assert starting_coordinates(index, data.spec) is None  # below the threshold
    monkeypatch.setattr(model_coordinates, "SPECTRAL_CELLS", index.cells.size)
    spec, coordinates, why = starting_coordinates(index, data.spec)
    assert spec == dataclasses.replace(data.spec, spectral_states=True)
    assert coordinates == "spectral states"
    assert why == f"{index.cells.size:,} commitment-periods, at least {index.cells.size:,}"
    monkeypatch.setattr(model_coordinates, "SPECTRAL_CELLS", index.cells.size + 1)
    assert starting_coordinates(index, data.spec) is None
    monkeypatch.setattr(model_coordinates, "SPECTRAL_CELLS", 1)
    for kept in ({"adapt_coordinates": False}, {"residual_signal": "troops"},
                 {"centred_states": ()}, {"dynamics": "random_walk"},
                 {"spectral_states": True}):
        assert starting_coordinates(index, dataclasses.replace(data.spec, **kept)) is None

def test_alliance_intercept_weights_average_each_signal_s_rows(small_simulation):
    """Each alliance signal's row of weights is the share of its observed rows in each
    alliance cell; commitment signals get zeros."""
    data = small_simulation.data
    index = build_index(data, data.spec)
    names = [s.name for s in index.signals if s.family != "ordinal"]
    weights = alliance_intercept_weights(index, names)
    alliance = [s.name for s in index.signals if s.level == "alliance" and s.name in names]
    assert alliance
    for j, name in enumerate(names):
        rows = data.signals[(data.signals["signal"] == name) & data.signals["value"].notna()]
        if name not in alliance:
            assert not weights[j].any()
            continue
        cells = index.alliance_cells
        keys = list(zip(np.asarray(index.alliances)[cells.unit],
                        index.periods[cells.period], strict=True))
        expected = np.zeros(cells.size)
        for key in zip(rows["alliance"], rows["period"], strict=True):
            expected[keys.index(key)] += 1.0 / len(rows)
        np.testing.assert_allclose(weights[j], expected)


@pytest.mark.parametrize("drop", [None, "prior"])
def test_centred_alliance_intercepts_are_the_same_model_in_other_coordinates(
        small_simulation, drop):
    """``centred_alliance_intercepts`` (decision 40, opt-in) samples an alliance
    signal's intercept plus its loading times the mean alliance latent of its rows: a
    shift by other parameters, unit Jacobian, with the Normal prior kept on the
    intercept. At matched points the log density equals the unsheared model's; checked
    to fail with the prior left on the sampled coordinate."""
    data = small_simulation.data
    old = build_measurement_model(data, data.spec)
    new = build_measurement_model(
        data, dataclasses.replace(data.spec, centred_alliance_intercepts=True))
    assert "intercept_centred" in new.named_vars and "intercept_centred" not in old.named_vars
    if drop == "prior":
        new.potentials.remove(new["intercept_prior"])
    old_logp = old.compile_logp(mode=PYTHON_MODE)
    new_logp = new.compile_logp(mode=PYTHON_MODE)
    (graph,) = new.replace_rvs_by_values([new["intercept"]])
    inputs = [v for v in new.value_vars if v in ancestors([graph])]
    intercept_fn = pytensor.function(inputs, graph, mode=PYTHON_MODE)

    def intercept(point):
        return intercept_fn(*(point[v.name] for v in inputs))

    differences = []
    for point in _jittered_points(new, seed=40):
        mapped = {key: v for key, v in point.items() if key != "intercept_centred"}
        mapped["intercept"] = intercept(point)
        assert not np.allclose(mapped["intercept"], point["intercept_centred"])
        differences.append(new_logp(point) - old_logp(mapped))
    _assert_same_model(differences, broken=drop is not None, constant=0.0)
