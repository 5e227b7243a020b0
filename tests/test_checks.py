"""Model checking: PSIS-LOO, Brier scores, calibration and posterior predictive checks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from credibility.analysis.checks import (
    brier_score,
    calibration_table,
    outcome_checks,
    posterior_predictive,
    ppc_summary,
)


def test_calibration_table_separates_calibrated_from_overconfident():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=4000)
    y = (rng.uniform(size=4000) < p).astype(float)
    good = calibration_table(p, y, bins=5)
    assert good["n"].sum() == 4000
    # 800 cases per bin: the observed share has sd <= 0.018, so 0.05 is ~3 sd.
    assert ((good["observed"] - good["p_mean"]).abs() < 0.05).all()
    overconfident = np.clip(2.0 * (p - 0.5) + 0.5, 0, 1)
    bad = calibration_table(overconfident, y, bins=5)
    gaps = (bad["observed"] - bad["p_mean"]).abs()
    assert (gaps.iloc[[0, -1]] > 0.07).all()
    assert brier_score(p, y) < brier_score(overconfident, y)


@pytest.mark.slow
def test_outcome_checks_are_consistent_and_show_skill(outcome_fit):
    checks = outcome_checks(outcome_fit)
    n = int(outcome_fit.data.cases["outcome"].notna().sum())
    assert len(checks.case_ids) == n and checks.pareto_k.shape == (n,)
    assert np.all((checks.p_loo > 0) & (checks.p_loo < 1))
    # The LOO probabilities are the pointwise elpd terms, read as probabilities.
    y = checks.outcome
    log_density = np.log(np.where(y == 1, checks.p_loo, 1 - checks.p_loo))
    assert log_density.sum() == pytest.approx(checks.elpd_loo, rel=1e-9)
    assert checks.n_high_k == 0
    assert checks.brier_loo < checks.brier_base_rate  # true slope 1.5: real skill
    assert checks.brier <= checks.brier_loo  # in-sample is optimistic
    table = checks.calibration(bins=4)
    assert table["n"].sum() == n and table["p_mean"].is_monotonic_increasing
    labels = [label for label, _, _ in checks.lines()]
    assert "Brier LOO" in labels and "Pareto k > 0.7" in labels


@pytest.mark.slow
def test_ppc_passes_on_the_fitted_data_and_fails_on_altered_data(outcome_fit):
    ppc = posterior_predictive(outcome_fit, draws=150, seed=2)
    assert ppc["replicated"].shape == (150, len(outcome_fit.data.signals))
    # Replicated values live on each family's support.
    families = {s.name: s.family for s in outcome_fit.spec.signals}
    for name, family in families.items():
        values = ppc["replicated"].values[:, (ppc["signal"] == name).values]
        if family == "ordinal":
            assert set(np.unique(values)) <= {1.0, 2.0, 3.0, 4.0}
        elif family == "binary":
            assert set(np.unique(values)) <= {0.0, 1.0}
        else:
            assert (values >= 0).all()
    summary = ppc_summary(outcome_fit, ppc=ppc)
    assert set(summary["signal"]) == set(families)
    assert summary["p_value"].between(0.005, 0.995).all(), summary
    # The same posterior checked against troops reported five times larger must fail.
    signals = outcome_fit.data.signals.copy()
    troops = signals["signal"] == "troops"
    signals.loc[troops, "value"] *= 5.0
    altered = replace(outcome_fit, data=replace(outcome_fit.data, signals=signals))
    bad = ppc_summary(altered, draws=150, seed=2)
    row = bad[(bad["signal"] == "troops") & (bad["statistic"] == "mean")]
    assert float(row["p_value"].iloc[0]) == 0.0


def test_a_fit_builds_its_index_once_and_its_checks_read_it(tiny_fit, monkeypatch):
    """``FitResult.index`` is built once per fit (here a loaded one, on first use) and the
    posterior predictive check reads it instead of building another; a fit of other data
    (``dataclasses.replace``) does not inherit it."""
    import sys

    index = tiny_fit.index
    assert tiny_fit.index is index
    assert index.cells.size == len(tiny_fit.credibility())

    def built_again(*_args, **_kwargs):
        raise AssertionError("the model index was built again")

    for module in [m for name, m in sys.modules.items() if name.startswith("credibility")]:
        if hasattr(module, "build_index"):
            monkeypatch.setattr(module, "build_index", built_again)
    replicated = posterior_predictive(tiny_fit, draws=10)
    assert replicated.sizes["sample"] == 10
    with pytest.raises(AssertionError, match="built again"):
        _ = replace(tiny_fit, data=tiny_fit.data).index
