"""Several latent dimensions (capability and willingness): the simulator draws them
as docs/model.md ("Several dimensions") states, and the case simulator refuses them
until their outcome model is built. Their measurement model: tests/test_dimensions_model.py."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from conftest import ALL_FAMILIES_SPEC
from seeding import seed
from simulations import spec_head, split_signals

from credibility.data.spec import load_spec, parse_spec
from credibility.simulate import (
    lkj_correlation,
    simulate,
    simulate_cases,
    synthetic_commitments,
)

#: Alliance and group effects off, so the latent is the commitment paths alone.
NO_ALLIANCE = {"sd_alliance_mean": 0.0, "sd_alliance_dynamics": 0.0}


def _spec(dynamics: str = "ar1"):
    """Two dimensions, no group effects: the latent is each commitment's own path."""
    return parse_spec(spec_head("paths_only", dynamics=dynamics) + split_signals())


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    keep = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[keep], b[keep])[0, 1])


def test_one_dimension_simulates_the_same_with_or_without_explicit_dimensions():
    implicit = parse_spec(ALL_FAMILIES_SPEC)
    explicit = parse_spec(ALL_FAMILIES_SPEC.replace(
        'dynamics = "ar1"', 'dynamics = "ar1"\ndimensions = ["credibility"]'))
    assert explicit.dimensions == ("credibility",)
    structure = synthetic_commitments(8, 2, (2000, 2009), seed=1)
    a = simulate(implicit, structure, seed=5, last_period=2009)
    b = simulate(explicit, structure, seed=5, last_period=2009)
    assert a.data.sha256() == b.data.sha256()
    xr.testing.assert_identical(a.truth, b.truth)
    assert a.truth["credibility"].dims == ("commitment", "period")
    assert "dimension" not in a.truth.dims


def test_two_dimensions_truth_has_a_dimension_axis_and_the_declared_loadings():
    spec = load_spec("capability_willingness")
    structure = synthetic_commitments(9, 3, (2000, 2011), seed=2)
    sim = simulate(spec, structure, seed=4, last_period=2011)
    truth, data = sim.truth, sim.data
    assert truth.attrs["synthetic"] == "true" and "SYNTHETIC" in truth.attrs["note"]
    assert list(truth["dimension"].values) == ["capability", "willingness"]
    assert truth["credibility"].dims == ("dimension", "commitment", "period")
    assert truth["credibility"].shape == (2, 9, 12)
    assert truth["alliance_level"].dims == ("dimension", "alliance", "period")
    for name in ("latent_sd", "persistence_commitment", "persistence_alliance",
                 "sd_alliance_mean", "sd_alliance_dynamics"):
        assert truth[name].dims == ("dimension",)
    assert truth["region_effect"].dims == ("dimension", "region")
    # Both dimensions live on each commitment's active window, with mean 0 and sd 1.
    active = truth["credibility"].notnull().values
    assert np.array_equal(active[0], active[1])
    com = data.commitments
    expected = (data.periods[None, :] >= com["start"].to_numpy()[:, None]) & (
        data.periods[None, :] <= com["end"].to_numpy()[:, None])
    assert np.array_equal(active[0], expected)
    cells = truth["credibility"].values[:, active[0]]
    assert np.allclose(cells.mean(axis=1), 0.0) and np.allclose(cells.std(axis=1), 1.0)
    # Loadings: the declared pattern, each with the signal's direction, zero elsewhere.
    loads = truth["loads"].to_pandas()
    for s in spec.signals:
        assert set(loads.columns[loads.loc[s.name]]) == set(spec.signal_dimensions(s.name))
    loading = truth["loading"].values
    assert np.all(loading[~loads.values] == 0.0) and np.all(loading[loads.values] > 0.0)
    r = truth["dimension_correlation"].values
    assert truth["dimension_correlation"].dims == ("dimension", "with_dimension")
    assert np.allclose(r, r.T) and np.allclose(np.diag(r), 1.0) and abs(r[0, 1]) < 1.0
    assert set(data.signals["signal"]) == set(spec.signal_names)


def test_two_dimensions_same_seed_same_data_different_seed_different_data():
    structure = synthetic_commitments(6, 2, (2000, 2007), seed=2)
    a, b, c = (simulate("capability_willingness", structure, seed=s, last_period=2007)
               for s in (4, 4, 5))
    assert a.data.sha256() == b.data.sha256()
    xr.testing.assert_identical(a.truth, b.truth)
    assert a.data.sha256() != c.data.sha256()


@pytest.mark.parametrize("dynamics", ["ar1", "random_walk"])
def test_innovations_of_two_dimensions_have_the_fixed_correlation(dynamics):
    """With only commitment paths, ``x[t] - rho x[t-1]`` (AR(1)) or ``x[t] - x[t-1]``
    (random walk) is a dimension's innovation up to scale and shift: their sample
    correlation over 200 x 39 independent pairs is within 4 sampling sds,
    ``(1 - r^2) / sqrt(n)``, of the fixed 0.6; on the raw scale (times ``latent_sd``)
    their sd is 1 (AR(1): the scale anchor) or the step sd (random walk), within
    0.04 (5 sds of a sample sd, ``sd / sqrt(2 n)``)."""
    r = 0.6
    dyn = "persistence" if dynamics == "ar1" else "step"
    fixed = {**NO_ALLIANCE, "dimension_correlation": [[1.0, r], [r, 1.0]],
             f"{dyn}_commitment": {"capability": 0.5, "willingness": 0.8}}
    structure = synthetic_commitments(200, 4, (2000, 2039), seed=0, staggered=False)
    sim = simulate(_spec(dynamics), structure, seed=seed(3), last_period=2039, fixed=fixed)
    truth = sim.truth
    assert np.array_equal(truth["dimension_correlation"].values, [[1.0, r], [r, 1.0]])
    x = truth["credibility"].values
    if dynamics == "ar1":
        rho = truth["persistence_commitment"].values
        assert np.array_equal(rho, [0.5, 0.8])
        innovation = x[:, :, 1:] - rho[:, None, None] * x[:, :, :-1]
        innovation_sd = np.ones(2)
    else:
        innovation = x[:, :, 1:] - x[:, :, :-1]
        innovation_sd = np.array([0.5, 0.8])
    n = innovation[0].size
    raw_sd = innovation.reshape(2, -1).std(axis=1) * truth["latent_sd"].values
    assert np.all(np.abs(raw_sd / innovation_sd - 1.0) < 0.04)
    estimate = _correlation(innovation[0].ravel(), innovation[1].ravel())
    assert abs(estimate - r) < 4 * (1 - r**2) / np.sqrt(n)


def test_ar1_levels_start_stationary_with_the_implied_correlation():
    """AR(1) paths start from the joint stationary distribution, so every cell's
    levels correlate as ``R12 sqrt((1 - rho1^2)(1 - rho2^2)) / (1 - rho1 rho2)``;
    over 200 x 40 autocorrelated cells (effective n about 8,000 (1 - rho1 rho2) /
    (1 + rho1 rho2) = 4,600, sampling sd about 0.013) the estimate is within 0.05 of
    it, and in the first period alone within 4 sds for n = 200."""
    r, rho = 0.6, np.array([0.9, 0.3])
    fixed = {**NO_ALLIANCE, "dimension_correlation": [[1.0, r], [r, 1.0]],
             "persistence_commitment": {"capability": rho[0], "willingness": rho[1]}}
    structure = synthetic_commitments(200, 4, (2000, 2039), seed=0, staggered=False)
    sim = simulate(_spec(), structure, seed=seed(11), last_period=2039, fixed=fixed)
    x = sim.truth["credibility"].values
    implied = r * np.sqrt((1 - rho[0] ** 2) * (1 - rho[1] ** 2)) / (1 - rho[0] * rho[1])
    assert abs(_correlation(x[0].ravel(), x[1].ravel()) - implied) < 0.05
    assert abs(_correlation(x[0, :, 0], x[1, :, 0]) - implied) < 4 * (1 - implied**2) / np.sqrt(
        200)


def test_a_pure_signal_follows_its_own_dimension_not_the_other():
    """Uncorrelated dimensions (R = I): log troops (pure capability) correlates
    with true capability far more than with willingness, and intel sharing (pure
    willingness) the other way round. With persistence 0.5 the 60 x 20 cells give
    an effective n of about 700, a sampling sd of about 0.04 around 0."""
    fixed = {**NO_ALLIANCE, "dimension_correlation": np.eye(2), "persistence_commitment": 0.5,
             "troops": {"loading": 1.0, "noise": 0.3}, "intel_sharing": {"loading": 2.0}}
    structure = synthetic_commitments(60, 3, (2000, 2019), seed=1, staggered=False)
    sim = simulate(_spec(), structure, seed=seed(2), last_period=2019, missing=0.0,
                   fixed=fixed)
    cred = sim.truth["credibility"].to_series()
    signals = sim.data.signals
    for name, own, other, transform in (("troops", "capability", "willingness", np.log),
                                        ("intel_sharing", "willingness", "capability", float)):
        rows = signals[signals["signal"] == name]
        cells = list(zip(rows["commitment_id"], rows["period"], strict=True))
        value = np.asarray(rows["value"].map(transform), dtype=np.float64)
        with_own = _correlation(value, cred.loc[own].loc[cells].to_numpy())
        with_other = _correlation(value, cred.loc[other].loc[cells].to_numpy())
        assert with_own > 0.5, (name, with_own)
        assert abs(with_other) < 0.17, (name, with_other)


def test_a_cross_loaded_signal_is_its_loadings_times_both_dimensions_plus_noise():
    """log(spending / target) - intercept - sum_d loading[d] * credibility[d] has the
    signal's noise sd (within 10 %) and does not correlate with either dimension:
    the truth's reported loadings and standardised credibility reproduce the linear
    predictor, cross-loading included."""
    fixed = {"spending": {"loading": 0.8, "loading_also": {"capability": -0.5}, "noise": 0.3}}
    structure = synthetic_commitments(40, 4, (2000, 2019), seed=5)
    sim = simulate(_spec(), structure, seed=seed(6), last_period=2019, missing=0.0,
                   fixed=fixed)
    truth = sim.truth
    loading = truth["loading"].sel(signal="spending")
    raw = loading / truth["latent_sd"]
    assert np.allclose(raw.sel(dimension=["willingness", "capability"]), [0.8, -0.5])
    rows = sim.data.signals[sim.data.signals["signal"] == "spending"]
    cells = list(zip(rows["commitment_id"], rows["period"], strict=True))
    cred = truth["credibility"].to_series()
    x = {d: cred.loc[d].loc[cells].to_numpy() for d in ("capability", "willingness")}
    residual = (np.log(rows["value"].to_numpy() / 2.0)
                - float(truth["intercept"].sel(signal_intercept="spending"))
                - sum(float(loading.sel(dimension=d)) * x[d] for d in x))
    assert abs(residual.std() / 0.3 - 1.0) < 0.1
    for d in x:
        assert abs(_correlation(residual, x[d])) < 4 / np.sqrt(len(residual))


def test_lkj_correlation_has_the_lkj_marginals():
    """Each off-diagonal element of LKJ(eta) in n dimensions is 2 Beta(b, b) - 1 with
    b = eta - 1 + n / 2, variance 1 / (2 b + 1); 4,000 draws estimate it within
    about 0.004 (kurtosis of a symmetric Beta below 3)."""
    rng = np.random.default_rng(seed(0))
    for n, eta in ((2, 1.0), (3, 2.0), (4, 0.8)):
        draws = np.stack([lkj_correlation(n, eta, rng) for _ in range(4000)])
        assert np.all(np.linalg.eigvalsh(draws) > 0)
        assert np.allclose(draws, np.swapaxes(draws, 1, 2))
        expected = 1.0 / (2.0 * (eta - 1.0 + n / 2.0) + 1.0)
        for i, j in zip(*np.triu_indices(n, 1), strict=True):
            assert abs(draws[:, i, j].mean()) < 4 * np.sqrt(expected / 4000)
            assert abs(draws[:, i, j].var() - expected) < 0.02, (n, eta, i, j)
    with pytest.raises(ValueError, match="eta > 0"):
        lkj_correlation(2, 0.0, rng)


@pytest.mark.parametrize(
    ("fixed", "fragment"),
    [
        ({"dimension_correlation": [[1.0, 1.2], [1.2, 1.0]]}, "positive-definite 2 x 2"),
        ({"dimension_correlation": np.eye(3)}, "2 x 2"),
        ({"persistence_commitment": {"resolve": 0.5}}, "unknown dimension(s) ['resolve']"),
        ({"spending": {"loading_also": {"willingness": 0.5}}}, "not in the signal's also"),
    ],
)
def test_bad_fixed_values_for_dimensions_raise(fixed, fragment):
    with pytest.raises(ValueError) as info:
        simulate(_spec(), synthetic_commitments(4, 2, (2000, 2004), seed=0), seed=0,
                 last_period=2004, fixed=fixed)
    assert fragment in str(info.value)


def test_case_simulator_of_two_dimensions_defaults_each_slope_to_credibility():
    """Two dimensions: a slope per dimension (``credibility`` where not named) and no
    interaction unless given (tests/test_dimensions_predictor.py has the rest)."""
    sim = simulate("capability_willingness", synthetic_commitments(4, 2, (2000, 2004), seed=0),
                   seed=0, last_period=2004)
    cased = simulate_cases(sim, 10, credibility=0.7, dimensions={"willingness": 0.2})
    assert cased.truth["outcome_dimension"].values.tolist() == [0.7, 0.2]
    assert float(cased.truth["outcome_interaction"]) == 0.0
