"""Between and within (docs/model.md, "Between and within"): a dimension whose lasting
level per commitment is separated from its movements over time, each with its own
loadings. The spec key and its refusals, the simulator (SYNTHETIC), the model's log
density and reported quantities at a point, and recovery of a simulated lasting level
and within path (``full``: a fit of about two minutes).
"""

from __future__ import annotations

import dataclasses
import warnings

import arviz as az
import numpy as np
import pytensor.tensor as pt
import pytest
import xarray as xr
from points import sampler_point
from pymc.distributions.transforms import ZeroSumTransform
from scipy import integrate, stats
from seeding import seed
from simulations import (
    STRONG_PRIORS,
    TWO_DIMENSION_SIGNALS,
    complete_simulation,
    spec_head,
    split_signals,
)

from credibility.data.spec import load_spec, parse_spec
from credibility.errors import SpecError
from credibility.inference.diagnostics import ConvergenceWarning
from credibility.measurement import build_measurement_model
from credibility.model.index import build_index
from credibility.results.fitting import CredibilityModel, FitResult, label_posterior
from credibility.simulate import Simulation, simulate, synthetic_commitments


def _spec_text(dynamics: str = "ar1", dimensions: str = '["capability", "willingness"]',
               between_within: str = '["capability"]', types: str = "true") -> str:
    """Two dimensions, capability split into its lasting level and its movements."""
    return spec_head("between_within", dynamics=dynamics, dimensions=dimensions,
                     model=f"between_within = {between_within}\n", types=types == "true",
                     priors=STRONG_PRIORS + "type_sd = 0.3\n") + TWO_DIMENSION_SIGNALS


def test_between_within_is_parsed_and_off_by_default():
    spec = parse_spec(_spec_text(), source="bw.toml")
    assert spec.between_within == ("capability",)
    for name in ("default", "capability_willingness"):
        assert load_spec(name).between_within == ()


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"between_within": '["resolve"]'}, "not among \\[model\\] dimensions"),
    ({"between_within": '["capability", "capability"]'}, "repeats capability"),
    ({"between_within": '"capability"'}, "expected a list"),
    ({"dynamics": "random_walk"}, "needs dynamics = 'ar1'"),
])
def test_between_within_refusals(changes, fragment):
    with pytest.raises(SpecError, match=fragment):
        parse_spec(_spec_text(**changes), source="bw.toml")


def test_between_within_of_one_dimension_is_refused():
    text = """
[model]
name = "one"
between_within = ["credibility"]
[[signals]]
name = "troops"
family = "amount"
"""
    with pytest.raises(SpecError, match="several dimensions only"):
        parse_spec(text, source="one.toml")


# Simulator -------------------------------------------------------------------------

def _simulate(fixed: dict, n: int = 30, periods: tuple[int, int] = (2000, 2014),
              base: int = 7, missing: float = 0.2) -> Simulation:
    """SYNTHETIC: ``n`` commitments in 5 alliances, capability split."""
    spec = parse_spec(_spec_text(), source="bw.toml")
    structure = synthetic_commitments(n, 5, periods, seed=seed(base))
    return simulate(spec, structure, seed=seed(base), last_period=periods[1], fixed=fixed,
                    missing=missing)


def test_simulated_truth_has_both_parts_on_the_model_s_scales():
    """The lasting level is one number per commitment, standardised over the
    commitments; the within path is standardised over the active cells; the reported
    dimension is their sum in the model's units, centred and standardised; loadings are
    per sd of each part, zero where a signal does not load."""
    sim = _simulate({"troops": {"loading_between": 0.8}})
    truth = sim.truth
    assert truth.attrs["synthetic"] == "true"
    between = truth["between_level"].sel(between_dimension="capability")
    within = truth["within"].sel(between_dimension="capability")
    np.testing.assert_allclose([float(between.mean()), float(between.std())], [0.0, 1.0],
                               atol=1e-12)
    active = within.values[~np.isnan(within.values)]
    np.testing.assert_allclose([active.mean(), active.std()], [0.0, 1.0], atol=1e-12)
    raw = (float(truth["between_sd"][0]) * between
           + float(truth["within_sd"][0]) * within)
    raw = raw - float(raw.mean())
    dimension = truth["credibility"].sel(dimension="capability")
    np.testing.assert_allclose((raw / float(raw.std())).values, dimension.values, atol=1e-12)
    loads = truth["loading_between"].sel(between_dimension="capability")
    assert float(loads.sel(signal="troops")) == pytest.approx(0.8 * float(truth["between_sd"][0]))
    assert float(loads.sel(signal="frictions")) == 0.0
    assert float(truth["loading"].sel(signal="troops", dimension="capability")) == pytest.approx(
        float(truth["loading_within"].sel(signal="troops", between_dimension="capability")))
    # The within path has no level: each commitment's mean of it is zero.
    np.testing.assert_allclose(within.mean("period"), 0.0, atol=1e-12)


def test_a_signal_of_the_lasting_level_alone_does_not_move_within_a_commitment():
    """Troops with within loading 0 and between loading 1.2 (noise 0.3): within a
    commitment its log values vary by the noise alone, across commitments their means
    by the lasting level. With 40 x 20 cells (no rows missing) the pooled within sd is
    0.3 to about 2 % (its sampling sd) and the means' sd is far above it."""
    sim = _simulate({"troops": {"loading": 0.0, "loading_between": 1.2, "noise": 0.3}},
                    n=40, periods=(2000, 2019), missing=0.0)
    rows = sim.data.signals[sim.data.signals["signal"] == "troops"]
    logs = np.log(rows["value"].astype(float)).groupby(rows["commitment_id"])
    within_sd = np.sqrt(logs.var(ddof=1).mean())
    assert abs(within_sd - 0.3) < 3.29 * 0.3 / np.sqrt(2 * (len(rows) - 40)), within_sd
    assert logs.mean().std() > 0.5


def test_existing_specs_simulate_as_before_the_split():
    """A spec without between_within draws exactly what it did: the same spec text with
    ``between_within = []`` gives identical data and truth (the draws are in the same
    order, the split adds none)."""
    text = _spec_text(between_within="[]")
    without = text.replace("between_within = []\n", "")
    one = simulate(parse_spec(text), synthetic_commitments(6, 2, (2000, 2005), seed=1),
                   seed=1, last_period=2005)
    two = simulate(parse_spec(without), synthetic_commitments(6, 2, (2000, 2005), seed=1),
                   seed=1, last_period=2005)
    assert one.data.signals.equals(two.data.signals)
    xr.testing.assert_identical(one.truth, two.truth)
    assert "between_level" not in one.truth


# Model ------------------------------------------------------------------------------

def _tiny() -> Simulation:
    """Two commitments, each in an alliance of its own, over three periods; capability
    split. troops is a pure capability signal, intel a pure willingness one, spending
    willingness with a cross-loading on capability (so both its capability loadings
    exist)."""
    text = (spec_head("tiny_split", model='between_within = ["capability"]\n')
            + split_signals("intel"))
    return complete_simulation(parse_spec(text, source="tiny_split.toml"), alliances=2)


def _values(model, rng: np.random.Generator) -> dict[str, np.ndarray]:
    within = 1.3 * rng.standard_normal((2, 6))
    between = rng.standard_normal((1, 2))
    r = 0.3
    return {
        "persistence_alliance": np.array([0.6, 0.8]),
        "persistence_commitment": np.array([0.5, 0.7]),
        "sd_alliance_mean": np.array([0.7, 0.4]),
        "sd_alliance_dynamics": np.array([0.5, 0.9]),
        "alliance_effect_raw": np.array([[0.8, -0.8], [-0.5, 0.5]]),
        "alliance_innovation": rng.standard_normal((2, 6)),
        "dimension_correlation_cholesky": np.array([[1.0, 0.0], [r, np.sqrt(1.0 - r**2)]]),
        "commitment_state": (within - within.mean(axis=1, keepdims=True))[1:],
        "commitment_level": within.mean(axis=1)[1:],
        "within_state": rng.standard_normal((1, 4)),
        "between_state": between - between.mean(axis=1, keepdims=True),
        "between_mean": between.mean(axis=1),
        "loading_magnitude": rng.uniform(0.3, 1.5, len(model.coords["loading_entry"])),
        "loading_between_magnitude": rng.uniform(0.3, 1.5,
                                                 len(model.coords["loading_between_entry"])),
        "intercept": np.array([5.5, 0.2, -0.3]),
        "noise": np.array([0.35, 0.25]),
    }


def _within(values: np.ndarray) -> np.ndarray:
    """Capability's within path over the six cells from ``within_state``: per commitment
    of three cells, PyMC's zero-sum transform of two values."""
    transform = ZeroSumTransform([-1])
    return np.concatenate([transform.backward(pt.as_tensor(values[2 * i:2 * i + 2])).eval()
                           for i in range(2)])


def _ar1_logp(path: np.ndarray, R: np.ndarray, rho: np.ndarray) -> float:
    """Correlated AR(1) density of a ``(dimension, period)`` path, stationary start."""
    logp = stats.multivariate_normal(np.zeros(2), R / (1.0 - np.outer(rho, rho))).logpdf(
        path[:, 0])
    for t in range(1, path.shape[1]):
        logp += stats.multivariate_normal(np.zeros(2), R).logpdf(
            path[:, t] - rho * path[:, t - 1])
    return float(logp)


def test_log_density_of_the_split_is_the_hand_computation(python_mode):
    """At random points: the lasting levels' N(0, 1) density about their alliance's mean
    effect; the paths' correlated AR(1) density, capability's path (mean zero over each
    commitment) about the alliance path alone and integrated over each commitment's
    mean by quadrature, willingness's about its whole alliance level; and every row's
    density with a between and a within loading on capability, computed with scipy;
    equal to the model's terms."""
    sim = _tiny()
    model = build_measurement_model(sim.data)
    index = build_index(sim.data)
    assert index.cells.unit.tolist() == [0, 0, 0, 1, 1, 1]
    assert list(model.coords["loading_entry"]) == [
        "troops:capability", "intel:willingness", "spending:capability",
        "spending:willingness"]
    assert list(model.coords["loading_between_entry"]) == ["troops:capability",
                                                           "spending:capability"]
    terms = [model["between_prior"], model["commitment_prior"],
             *(model[name] for name in model.named_vars if name.startswith("obs_"))]
    evaluate = model.compile_fn(model.replace_rvs_by_values([pt.sum(
        [pt.sum(model.logp(vars=[t], sum=False)[0]) if t in model.observed_RVs else t
         for t in terms])]), inputs=model.value_vars, on_unused_input="ignore")
    rng = np.random.default_rng(seed(47))
    for _ in range(2):
        v = _values(model, rng)
        # Commitment i is in alliance i; alliance cells are alliance-major.
        lasting = v["sd_alliance_mean"][:, None] * v["alliance_effect_raw"]  # (dim, alliance)
        between = v["between_state"][0] + v["between_mean"][0]
        expected = stats.norm.logpdf(between - lasting[0]).sum()
        rho_a, rho_c = v["persistence_alliance"], v["persistence_commitment"]
        e = v["alliance_innovation"].reshape(2, 2, 3)
        path = np.empty_like(e)
        path[..., 0] = e[..., 0]
        for t in (1, 2):
            path[..., t] = (rho_a[:, None] * path[..., t - 1]
                            + np.sqrt(1.0 - rho_a**2)[:, None] * e[..., t])
        moving = v["sd_alliance_dynamics"][:, None, None] * path  # (dim, alliance, period)
        mean = moving.copy()
        mean[1] += lasting[1][:, None]
        within = _within(v["within_state"][0])
        state = np.stack([within, v["commitment_state"][0] + v["commitment_level"][0]])
        state = state.reshape(2, 2, 3)
        ec = state - mean
        r = v["dimension_correlation_cholesky"][1, 0]
        R = np.array([[1.0, r], [r, 1.0]])
        for i in range(2):
            top = _ar1_logp(ec[:, i], R, rho_c)
            shifted = integrate.quad(
                lambda c, path=ec[:, i], top=top, R=R, rho=rho_c: np.exp(
                    _ar1_logp(path + np.array([[c], [0.0]]), R, rho) - top),
                -np.inf, np.inf, epsabs=1e-12, epsrel=1e-10)[0]
            expected += top + np.log(shifted)
        # Rows: capability's within column, willingness, and capability's between column.
        within_loading = dict(zip(model.coords["loading_entry"], v["loading_magnitude"],
                                  strict=True))
        between_loading = dict(zip(model.coords["loading_between_entry"],
                                   v["loading_between_magnitude"], strict=True))
        intercepts = dict(zip(["troops", "intel", "spending"], v["intercept"], strict=True))
        noises = {"troops": v["noise"][0], "spending": v["noise"][1]}
        ids = list(sim.data.commitments["commitment_id"])
        for _, row in sim.data.signals.iterrows():
            name, t = row["signal"], int(row["period"]) - 2000
            unit = ids.index(row["commitment_id"])
            cell = 3 * unit + t
            eta = intercepts[name]
            eta += within_loading.get(f"{name}:capability", 0.0) * within[cell]
            eta += within_loading.get(f"{name}:willingness", 0.0) * v["commitment_state"][0, cell]
            eta += between_loading.get(f"{name}:capability", 0.0) * v["between_state"][0, unit]
            y = float(row["value"])
            if name == "intel":
                expected += y * eta - np.logaddexp(0.0, eta)
            else:
                y = y / (2.0 if name == "spending" else 1.0)
                expected += stats.lognorm(noises[name], scale=np.exp(eta)).logpdf(y)
        # A wrong term (the within path about the whole alliance level, the lasting level
        # about zero, the between column on the wrong signal) moves this by far more.
        np.testing.assert_allclose(evaluate(sampler_point(model, v)), expected, rtol=0, atol=1e-6)


def test_reported_quantities_of_the_split(python_mode):
    """At a point: the lasting level standardised over the commitments, the within path
    (mean zero over each commitment's cells) over the cells, the dimension as their
    sum centred and standardised, loadings per sd of each part (the dimension's
    `loading` its within loading), zeros where a signal does not load; the other
    dimension as without the split."""
    sim = _tiny()
    model = build_measurement_model(sim.data)
    v = _values(model, np.random.default_rng(seed(5)))
    names = ["between_level", "within_cell", "between_sd", "within_sd", "loading_between",
             "loading_within", "loading", "dimension_cell", "latent_sd"]
    evaluate = model.compile_fn(model.replace_rvs_by_values([model[n] for n in names]),
                                inputs=model.value_vars, on_unused_input="ignore")
    found = dict(zip(names, evaluate(sampler_point(model, v)), strict=True))
    between, within = v["between_state"][0], _within(v["within_state"][0])
    np.testing.assert_allclose(found["between_sd"], [between.std()])
    np.testing.assert_allclose(found["between_level"][0], between / between.std())
    np.testing.assert_allclose(found["within_cell"][0], within / within.std())
    combined = between[[0, 0, 0, 1, 1, 1]] + within
    combined = combined - combined.mean()
    np.testing.assert_allclose(found["dimension_cell"][0], combined / combined.std())
    willingness = v["commitment_state"][0]
    np.testing.assert_allclose(found["dimension_cell"][1], willingness / willingness.std())
    np.testing.assert_allclose(found["latent_sd"], [combined.std(), willingness.std()])
    between_mag = v["loading_between_magnitude"]
    np.testing.assert_allclose(found["loading_between"][:, 0],
                               [between_mag[0] * between.std(), 0.0,
                                between_mag[1] * between.std()])
    np.testing.assert_allclose(found["loading_within"][:, 0], found["loading"][:, 0])
    np.testing.assert_allclose(found["loading"][0, 0], v["loading_magnitude"][0] * within.std())
    assert model.named_vars_to_dims["between_level"] == ("between_dimension", "commitment")


def test_a_spec_without_the_split_has_none_of_its_variables():
    """``between_within = []`` is the spec without the key, and its model has none of
    the split's variables or coordinates (that the model of several dimensions is
    otherwise unchanged was checked against the commit before the split:
    docs/decisions.md, decision 47)."""
    text = _spec_text(between_within="[]", types="false")
    spec = parse_spec(text)
    assert spec == parse_spec(text.replace("between_within = []\n", ""))
    sim = simulate(spec, synthetic_commitments(3, 1, (2000, 2002), seed=0), seed=seed(2),
                   last_period=2002)
    model = build_measurement_model(sim.data)
    split = {"between_state", "between_mean", "within_state", "loading_between_magnitude",
             "between_level", "within_cell", "loading_between", "loading_within"}
    assert not split & set(model.named_vars)
    assert not {"between_dimension", "level_dimension", "within_coordinate"} & set(
        model.coords)
    assert model.named_vars_to_dims["commitment_state"] == ("dimension", "cell")


def test_label_posterior_puts_the_within_path_in_place():
    """``within_cell`` becomes ``within`` on the (commitment, period) grid."""
    sim = _tiny()
    index = build_index(sim.data)
    cells = np.arange(index.cells.size, dtype=np.float64)
    posterior = xr.Dataset({
        "dimension_cell": (("chain", "draw", "dimension", "cell"),
                           np.zeros((1, 1, 2, index.cells.size))),
        "within_cell": (("chain", "draw", "between_dimension", "cell"),
                        cells[None, None, None]),
        "credibility_cell": (("chain", "draw", "cell"), cells[None, None]),
        "alliance_cell_level": (("chain", "draw", "dimension", "alliance_cell"),
                                np.zeros((1, 1, 2, index.alliance_cells.size)))},
        coords={"dimension": ["capability", "willingness"],
                "between_dimension": ["capability"]})
    labelled = label_posterior(posterior, index)
    assert "within_cell" not in labelled
    within = labelled["within"]
    assert within.dims == ("chain", "draw", "between_dimension", "commitment", "period")
    # Cell 4 is the second commitment's second period.
    assert within.sel(between_dimension="capability", commitment="C002",
                      period=2001).item() == 4.0


# Recovery ---------------------------------------------------------------------------

#: Raw loadings: troops reads the lasting level (0.8) and hardly the movements (0.05),
#: spending the movements more (0.5 within, 0.3 between), exercises' capability
#: cross-loading is mostly within (0.4 within, 0.1 between). Persistence 0.6: the
#: within path reverts to zero over a few periods (docs/model.md, "Identification").
FIXED = {"dimension_correlation": [[1.0, 0.5], [0.5, 1.0]], "persistence_commitment": 0.6,
         "troops": {"loading": 0.05, "loading_between": 0.8, "noise": 0.3},
         "spending": {"loading": 0.5, "loading_between": 0.3, "noise": 0.3},
         "frictions": {"loading": -0.5, "noise": 0.2}, "consultation": {"loading": 1.5},
         "exercises": {"loading": 0.5, "loading_also": {"capability": 0.4},
                       "loading_between": {"capability": 0.1}, "noise": 0.3}}

#: Two-sided normal quantile for a false failure rate of 1 in 1,000 (tests/test_recovery.py).
Z = 3.29


@pytest.fixture(scope="module")
def recovery_simulation() -> Simulation:
    """SYNTHETIC: 30 commitments in 5 alliances over 2000-2014, capability split."""
    return _simulate(FIXED)


def _fit(sim: Simulation, spec=None) -> FitResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return CredibilityModel(spec or sim.data.spec).fit(
            sim.data, draws=500, tune=500, chains=4, seed=seed(3), progress=False,
            until_reliable=False)


@pytest.fixture(scope="module")
def recovery_fit(recovery_simulation: Simulation) -> FitResult:
    return _fit(recovery_simulation)


def _coverage_band(draws: np.ndarray, q05: np.ndarray, q95: np.ndarray) -> tuple[float, float]:
    """The band the 90 % coverage of the truth lies in with probability 0.999 under a
    correct model: each posterior draw in the truth's place (tests/test_recovery.py)."""
    share = ((q05 <= draws) & (draws <= q95)).mean(axis=1)
    return 0.90 - Z * share.std(), 0.90 + Z * share.std()


def split_metrics(fit: FitResult, truth: xr.Dataset) -> dict[str, tuple]:
    """For the lasting level and the within path of capability: the correlation of the
    posterior means with the truth, the 90 % coverage of the truth and its band."""
    posterior = fit.posterior["posterior"]
    found = {}
    for name in ("between_level", "within"):
        draws = posterior[name].sel(between_dimension="capability").stack(
            sample=("chain", "draw")).transpose("sample", ...)
        true = truth[name].sel(between_dimension="capability")
        true = true.sel({d: draws[d] for d in true.dims})
        sample = draws.values.reshape(draws.shape[0], -1)
        target = true.values.ravel()
        active = ~np.isnan(target)
        sample, target = sample[:, active], target[active]
        q05, q95 = np.quantile(sample, [0.05, 0.95], axis=0)
        corr = float(np.corrcoef(sample.mean(axis=0), target)[0, 1])
        covered = float(((q05 <= target) & (target <= q95)).mean())
        found[name] = (corr, covered, _coverage_band(sample, q05, q95), target.size)
    return found


def _sampler(fit: FitResult) -> str:
    d = fit.diagnostics
    return (f"max R-hat {d.max_rhat:.3f} ({d.worst_rhat}), min bulk ESS {d.min_ess_bulk:.0f} "
            f"({d.worst_ess}), {d.divergences} divergent")


def split_checks(fit: FitResult, truth: xr.Dataset) -> list[tuple[str, bool]]:
    """Every recovery check, named: correlations above 0.8, coverage in its band, and the
    loadings' intervals: troops' between loading (and spending's) positive and
    covering the truth within 3.29 posterior sds, troops' within loading below half
    its between loading (truth 0.05 against 0.8 raw), spending's within loading
    positive."""
    checks = []
    for name, (corr, covered, (low, high), _) in split_metrics(fit, truth).items():
        checks.append((f"{name}: correlation {corr:.3f} > 0.8", corr > 0.8))
        checks.append((f"{name}: coverage {covered:.3f} in {low:.3f}-{high:.3f}",
                       low <= covered <= high))
    posterior = fit.posterior["posterior"]
    for name in ("loading_between", "loading_within"):
        for signal in ("troops", "spending"):
            draws = posterior[name].sel(signal=signal, between_dimension="capability")
            true = float(truth[name].sel(signal=signal, between_dimension="capability"))
            mean, sd = float(draws.mean()), float(draws.std())
            q05 = float(draws.quantile(0.05))
            if (name, signal) != ("loading_within", "troops"):
                checks.append((f"{name}[{signal}] {mean:.3f} +- {sd:.3f}, q05 {q05:.3f}, "
                               f"truth {true:.3f}: positive", q05 > 0.0))
            checks.append((f"{name}[{signal}] {mean:.3f} +- {sd:.3f}, truth {true:.3f}: "
                           "within 3.29 sd", abs(mean - true) < Z * sd))
    troops_between = posterior["loading_between"].sel(signal="troops",
                                                      between_dimension="capability")
    troops_within = posterior["loading_within"].sel(signal="troops",
                                                    between_dimension="capability")
    ratio = float((troops_within / troops_between).quantile(0.95))
    checks.append((f"troops: 95 % quantile of within / between loading {ratio:.3f} < 0.5",
                   ratio < 0.5))
    return checks


@pytest.mark.full
def test_lasting_level_and_within_path_are_recovered(recovery_simulation, recovery_fit):
    """Both parts of capability and both loadings of troops and spending are recovered
    (split_checks); no divergences. About two minutes on two shared cores."""
    assert recovery_fit.diagnostics.divergences == 0, _sampler(recovery_fit)
    failed = [name for name, ok in split_checks(recovery_fit, recovery_simulation.truth)
              if not ok]
    assert not failed, (failed, _sampler(recovery_fit))


@pytest.mark.full
def test_the_other_dimension_is_recovered_beside_the_split(recovery_simulation,
                                                           recovery_fit):
    """Willingness, fitted beside the split capability: correlation of its posterior
    means with the truth above 0.8, coverage in its band, and the correlation of the
    movements within 3.29 posterior sds of its truth (0.5)."""
    frame = recovery_fit.dimensions()
    frame = frame[frame["dimension"] == "willingness"]
    true = recovery_simulation.truth["credibility"].sel(dimension="willingness")
    true = true.to_dataframe().dropna().reset_index().rename(
        columns={"commitment": "commitment_id", "credibility": "true"})
    merged = frame.merge(true[["commitment_id", "period", "true"]],
                         on=["commitment_id", "period"])
    assert float(np.corrcoef(merged["mean"], merged["true"])[0, 1]) > 0.8
    r = recovery_fit.posterior["posterior"]["dimension_correlation"].sel(
        dimension="capability", with_dimension="willingness")
    summary = az.summary(r.to_dataset(name="r"), round_to="none").iloc[0]
    assert abs(float(r.mean()) - 0.5) < Z * float(r.std()), (float(r.mean()), summary)


def _shared_loadings(original):
    """:func:`credibility.dimensions._between_within` with every between loading tied
    to the signal's within loading on the dimension: one loading per signal, the
    deliberately broken variant of the recovery check."""
    import pymc as pm

    def tied(spec, signals, pattern, priors, *args, **kwargs):
        split = original(spec, signals, pattern, priors, *args, **kwargs)
        model = pm.modelcontext(None)
        within = list(model.coords["loading_entry"])
        shared = model["loading_magnitude"][[within.index(e) for e in
                                             model.coords["loading_between_entry"]]]
        rows, columns = np.nonzero(pattern[:, [spec.dimensions.index(d)
                                               for d in spec.between_within]])
        direction = np.array([s.direction for s in signals], dtype=np.float64)
        loading = pt.zeros((len(signals), len(spec.between_within)))[rows, columns].set(
            direction[rows] * shared)
        return dataclasses.replace(split, loading=loading)

    return tied


@pytest.mark.full
def test_recovery_check_fails_with_one_loading_per_signal(recovery_simulation, monkeypatch):
    """The same data fitted with each signal's between loading tied to its within
    loading (one loading per signal, as without the split): the recovery checks must
    fail (troops' within loading cannot be small while its between loading is large)."""
    from credibility import dimensions

    monkeypatch.setattr(dimensions, "_between_within",
                        _shared_loadings(dimensions._between_within))
    fit = _fit(recovery_simulation)
    checks = split_checks(fit, recovery_simulation.truth)
    assert not all(ok for _, ok in checks), (checks, _sampler(fit))
