"""The approximate update: previous posterior as prior, only the new periods sampled.

The must-show comparison on the demo-sized case (means within 0.25 posterior sd of
the exact update, >= 3x faster) is `benchmarks/update_approximate.py`; here the
machinery, the refusals and a small-size agreement check.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from seeding import seed
from typer.testing import CliRunner

from credibility import cli
from credibility.analysis.approximate import SMOOTHED_PERIODS, ApproximateUpdateError
from credibility.analysis.scenarios import run_scenario
from credibility.analysis.updating import update_fit
from credibility.data.container import CredibilityData
from credibility.errors import PredictionError
from credibility.inference.diagnostics import ConvergenceWarning
from credibility.results.fitting import CredibilityModel, FitResult
from credibility.results.store import PosteriorStore
from credibility.simulate import simulate, synthetic_commitments

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::credibility.inference.diagnostics.ConvergenceWarning")]
SIGNAL_HEADER = ["commitment_id", "alliance", "period", "signal", "value"]


def rows_of(data: CredibilityData, period: int) -> pd.DataFrame:
    rows = data.signals[data.signals["period"] == period]
    return rows.assign(alliance=rows["alliance"].where(rows["level"] == "alliance", ""))[
        SIGNAL_HEADER]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory
          ) -> tuple[CredibilityData, pd.DataFrame, pd.DataFrame]:
    """SYNTHETIC: 10 commitments in 3 alliances, 2000-2011. The fit's window runs to 2010
    with data to 2009 (2010 is a forecast period, as the demo's last), without the troop
    rows of 2009 (a late report). The new rows are those troop rows (in the last period
    with data), the rows of 2010 (inside the window) and of 2011 (after it). The third
    table is a row of 2002 also missing from the fit's data, too early to add
    approximately."""
    sim = simulate("default", synthetic_commitments(10, 3, (2000, 2011), seed=seed(4),
                                                    staggered=False),
                   seed=seed(4), last_period=2011)
    folder = tmp_path_factory.mktemp("world")
    paths = sim.data.to_csv(folder)
    signals = pd.read_csv(paths["signals"], keep_default_na=False)
    late = (signals["period"] == 2009) & (signals["signal"] == "troops")
    very_late = signals.index == signals.index[(signals["period"] == 2002)
                                               & (signals["signal"] == "troops")][0]
    earlier = folder / "signals_to_2009.csv"
    signals[(signals["period"] <= 2009) & ~late & ~very_late].to_csv(earlier, index=False)
    previous = CredibilityData.from_csv(paths["commitments"], earlier, periods=(2000, 2010))
    troops = rows_of(sim.data, 2009)
    troops = troops[troops["signal"] == "troops"]
    assert len(troops) == late.sum() > 0
    return (previous, pd.concat([troops, rows_of(sim.data, 2010), rows_of(sim.data, 2011)],
                                ignore_index=True),
            signals[very_late][SIGNAL_HEADER])


@pytest.fixture(scope="module")
def base(world) -> FitResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return CredibilityModel("default").fit(world[0], draws=400, tune=400, chains=2,
                                               seed=seed(1), progress=False,
                                               until_reliable=False)


@pytest.fixture(scope="module")
def approximate(base: FitResult, world) -> FitResult:
    return update_fit(base, world[1], method="approximate", progress=False).fit


def test_new_period_is_added_and_labelled(base: FitResult, approximate: FitResult) -> None:
    assert approximate.is_approximate and approximate.settings["update_method"] == "approximate"
    assert approximate.posterior.attrs["update_method"] == "approximate"
    table = approximate.credibility()
    assert table["period"].max() == 2011
    assert (table["period"] == 2010).sum() == 10 and (table["period"] == 2011).sum() == 10
    # The forecast period is sampled anew from the new rows.
    assert not np.array_equal(base.posterior["posterior"]["credibility"].sel(period=2010),
                              approximate.posterior["posterior"]["credibility"].sel(period=2010))
    # Earlier periods keep the previous draws; the last SMOOTHED_PERIODS are revised.
    kept = slice(2000, 2009 - SMOOTHED_PERIODS)
    old = base.posterior["posterior"]["credibility"]
    new = approximate.posterior["posterior"]["credibility"]
    np.testing.assert_array_equal(old.sel(period=kept).values, new.sel(period=kept).values)
    for period in range(2009 - SMOOTHED_PERIODS + 1, 2010):
        assert not np.array_equal(old.sel(period=period).values, new.sel(period=period).values)
    assert {"loading", "persistence_commitment", "alliance_mean"} <= set(
        approximate.posterior["posterior"].data_vars)
    assert "loading[troops]" in approximate.parameters().index


def test_new_period_agrees_with_the_exact_update(base: FitResult, approximate: FitResult,
                                                 world) -> None:
    exact = update_fit(base, world[1], method="exact", progress=False).fit
    a, e = approximate.credibility(), exact.credibility()
    merged = a.merge(e, on=["commitment_id", "period"], suffixes=("_a", "_e"))
    new = merged[merged["period"] >= 2009]
    # 0.25 posterior sd (the bound on the approximation) plus the Monte Carlo error
    # of the gap between two runs: z combined MCSEs (ESS-based), z two-sided Bonferroni
    # over the new rows' cells (4.2 for 30) for 1 in 1,000 in all. The approximate update
    # samples its states given the parent's draws of everything else, so it carries the
    # parent's Monte Carlo error too; the parent's MCSE at the same cell stands in for it
    # (zero for 2011, a period the parent did not have). Without it, one cell of 30 failed
    # by 0.006 (gap 0.235, bound 0.229) on the draws of one machine's CPU.
    def mcse(fit: FitResult, name: str) -> pd.Series:
        draws = fit.posterior["posterior"]["credibility"]
        periods = [p for p in (2009, 2010, 2011) if p in draws["period"].values]
        return az.mcse(draws.sel(period=periods).to_dataset(name="x"),
                       method="mean")["x"].to_series().rename(name)

    new = new.merge(pd.concat([mcse(approximate, "mcse_a"), mcse(exact, "mcse_e"),
                               mcse(base, "mcse_parent")], axis=1).fillna(0.0),
                    left_on=["commitment_id", "period"], right_index=True)
    assert len(new) == 30
    z = norm.ppf(1.0 - 0.001 / (2 * len(new)))
    bound = 0.25 * new["sd_e"] + z * np.sqrt(new["mcse_a"] ** 2 + new["mcse_e"] ** 2
                                             + new["mcse_parent"] ** 2)
    gap = (new["mean_a"] - new["mean_e"]).abs()
    assert (gap <= bound).all(), new.assign(gap=gap, bound=bound)[gap > bound][
        ["commitment_id", "period", "mean_a", "mean_e", "sd_e", "gap", "bound"]].to_string()


def test_refusals_name_the_reason(base: FitResult, world) -> None:
    previous, new_rows, very_late = world
    corrected = rows_of(previous, 2009).head(1).assign(value=lambda f: f["value"] + 1)
    with pytest.raises(ApproximateUpdateError, match="row 1 revises a stored value"):
        update_fit(base, corrected, method="approximate", revise=True, progress=False)
    with pytest.raises(ApproximateUpdateError, match=r"row 1 is for period 2002; .* from 2004"):
        update_fit(base, very_late, method="approximate", progress=False)
    with pytest.raises(PredictionError, match="approximate update"):
        run_scenario(update_fit(base, new_rows, method="approximate", progress=False).fit,
                     new_rows.head(1).assign(value=lambda f: f["value"] * 2))


def test_cli_update_approximate_is_stored_and_exported_as_such(base: FitResult, world,
                                                               tmp_path) -> None:
    fit_dir = tmp_path / "fit"
    base.save(fit_dir)
    # The window runs past the last period with data; saving and loading keep it.
    assert FitResult.load(fit_dir).data.last_period == base.data.last_period == 2010
    signals = tmp_path / "new.csv"
    world[1].to_csv(signals, index=False)
    store = tmp_path / "store"
    runner = CliRunner()
    result = runner.invoke(cli.app, ["update", "--store", str(store), "--fit", str(fit_dir),
                                     "--signals", str(signals), "--approximate", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "APPROXIMATE" in result.stdout
    posterior_store = PosteriorStore(store)
    assert posterior_store.meta("v0002")["method"] == "approximate"
    assert posterior_store.load("v0002").is_approximate
    exported = runner.invoke(cli.app, ["export", "--store", str(store), "--version", "v0002"])
    assert exported.exit_code == 0, exported.output
    lines = exported.stdout.splitlines()
    assert lines[0].endswith(",posterior") and lines[1].endswith(",approximate")
    assert "APPROXIMATE" in exported.stderr
    report = runner.invoke(cli.app, ["report", "--fit", str(store / "v0002"), "--out",
                                     str(tmp_path / "report")])
    assert report.exit_code == 0, report.output
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "APPROXIMATE update" in summary and not (tmp_path / "report" / "ppc.png").exists()
