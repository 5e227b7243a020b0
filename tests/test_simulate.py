"""The simulator: seeded, synthetic-labelled, valid data from the model's own structure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credibility.simulate import simulate, synthetic_commitments


def test_same_seed_same_data_different_seed_different_data(all_families_spec):
    structure = synthetic_commitments(6, 2, (2000, 2007), seed=2)
    a = simulate(all_families_spec, structure, seed=4, last_period=2007)
    b = simulate(all_families_spec, structure, seed=4, last_period=2007)
    c = simulate(all_families_spec, structure, seed=5, last_period=2007)
    assert a.data.sha256() == b.data.sha256()
    assert a.data.sha256() != c.data.sha256()
    assert a.truth.equals(b.truth)


def test_truth_is_marked_synthetic_and_matches_the_data_layout(small_simulation):
    truth = small_simulation.truth
    data = small_simulation.data
    assert truth.attrs["synthetic"] == "true"
    assert "SYNTHETIC" in truth.attrs["note"]
    assert list(truth["commitment"].values) == list(data.commitment_ids)
    assert np.array_equal(truth["period"].values, data.periods)
    # Truth is defined exactly on each commitment's active window.
    active = truth["credibility"].notnull().values
    com = data.commitments
    expected = (data.periods[None, :] >= com["start"].to_numpy()[:, None]) & (
        data.periods[None, :] <= com["end"].to_numpy()[:, None])
    assert np.array_equal(active, expected)
    # Location constraint shared with the model: mean over active cells is 0.
    assert abs(float(truth["credibility"].mean())) < 1e-12


def test_every_family_is_simulated_within_its_support(small_simulation):
    sig = small_simulation.data.signals
    by = {name: rows["value"] for name, rows in sig.groupby("signal")}
    assert set(by) == {s.name for s in small_simulation.data.spec.signals}
    assert (by["exercises"] >= 0).all() and (by["exercises"] % 1 == 0).all()
    assert (by["troops"] > 0).all() and (by["spending"] > 0).all()
    assert ((by["readiness"] > 0) & (by["readiness"] < 1)).all()
    assert by["intel_sharing"].isin([0, 1]).all()
    assert set(by["consultation"].unique()) <= {1, 2, 3, 4}
    assert set(by["summit"].unique()) <= {1, 2, 3}
    visits = sig[sig["signal"] == "visits"]
    assert (visits["value"] <= visits["trials"]).all()


def test_missing_share_is_respected():
    structure = synthetic_commitments(20, 2, (2000, 2019), seed=3)
    full = simulate("default", structure, seed=1, missing=0.0, last_period=2019)
    half = simulate("default", structure, seed=1, missing={"troops": 0.5}, last_period=2019)
    n_full = (full.data.signals["signal"] == "troops").sum()
    n_half = (half.data.signals["signal"] == "troops").sum()
    # 400 cells, keep-probability 0.5: sd of the kept share is 0.025; allow 4 sd.
    assert abs(n_half / n_full - 0.5) < 0.1
    other = full.data.signals["signal"] == "joint_exercises"
    assert other.sum() == int(full.truth["credibility"].notnull().sum())


def test_ar1_paths_have_the_prior_persistence():
    """Lag-1 autocorrelation of simulated latent paths tracks the drawn persistence."""
    structure = synthetic_commitments(200, 2, (2000, 2039), seed=0, staggered=False)
    sim = simulate("default", structure, seed=8, last_period=2039)
    x = sim.truth["credibility"].values
    dev = x - x.mean(axis=1, keepdims=True)
    lag1 = float((dev[:, 1:] * dev[:, :-1]).sum() / (dev**2).sum())
    rho = float(sim.truth["persistence_commitment"])
    rho_a = float(sim.truth["persistence_alliance"])
    var_a = float(sim.truth["sd_alliance_dynamics"]) ** 2
    # Within a commitment, the dynamics are its own AR(1) path (variance 1, the scale
    # anchor) plus its alliance's path (variance sd_ad^2); demeaning 40 periods biases
    # the lag-1 estimate by about -(1 + 3 rho) / 40, inside the tolerance.
    expected = (rho + var_a * rho_a) / (1.0 + var_a)
    assert abs(lag1 - expected) < 0.15
    assert isinstance(sim.data.signals, pd.DataFrame)


def test_autocorrelated_residuals_are_simulated_with_their_truth(all_families_spec):
    """``residual_persistence = true``: the truth records each such signal's
    persistence, and the log residuals are autocorrelated as drawn (consecutive
    residuals' correlation within 4 Monte Carlo standard errors of the truth)."""
    import dataclasses

    name = next(s.name for s in all_families_spec.signals
                if s.family == "amount" and s.level == "commitment")
    spec = dataclasses.replace(all_families_spec, signals=tuple(
        dataclasses.replace(s, residual_persistence=s.name == name)
        for s in all_families_spec.signals))
    sim = simulate(spec, synthetic_commitments(60, 3, (1981, 2010), seed=2), seed=2,
                   last_period=2010, fixed={name: {"residual_persistence": 0.7}})
    truth = sim.truth
    assert list(truth["residual_persistence"].coords["signal_residual"].values) == [name]
    phi = float(truth["residual_persistence"].values[0])
    assert phi == 0.7
    rows = sim.data.signals[sim.data.signals["signal"] == name]
    cred = truth["credibility"].to_series()
    x = cred.loc[list(zip(rows["commitment_id"], rows["period"], strict=True))].to_numpy()
    loading = float(truth["loading"].sel(signal=name))
    intercept = float(truth["intercept"].sel(signal_intercept=name))
    residual = pd.Series(np.log(rows["value"].to_numpy()) - intercept - loading * x,
                         index=pd.MultiIndex.from_arrays([rows["commitment_id"], rows["period"]]))
    lagged = residual.groupby(level=0).shift(1)
    pairs = pd.concat([residual, lagged], axis=1).dropna()
    r = np.corrcoef(pairs.iloc[:, 0], pairs.iloc[:, 1])[0, 1]
    n = len(pairs)
    assert abs(r - phi) < 4 * (1 - phi**2) / np.sqrt(n / ((1 + phi**2) / (1 - phi**2)))
