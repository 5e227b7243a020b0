"""Figures of a fit: trajectories, forest, loadings, and the failing-diagnostics note.

The fits here are made by hand from a simulation's truth plus noise (no sampling),
so these tests are fast; `tests/test_cli.py` plots a real (tiny) fit.
"""

from __future__ import annotations

import dataclasses

import matplotlib.colors as mcolors
import numpy as np
import pytest
import xarray as xr
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from credibility.analysis.plots import plot_forest, plot_loadings, plot_trajectories
from credibility.errors import CredibilityError
from credibility.inference.diagnostics import Diagnostics
from credibility.results.fitting import FitResult
from credibility.simulate import Simulation, simulate, synthetic_commitments

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHAINS, DRAWS = 2, 40


@pytest.fixture(scope="module")
def sim() -> Simulation:
    """SYNTHETIC: 9 commitments in 3 alliances, staggered windows."""
    return simulate("default", synthetic_commitments(9, 3, (2000, 2010), seed=4), seed=4)


def _draws(rng: np.random.Generator, centre: np.ndarray, sd: float) -> np.ndarray:
    # NaN (inactive) cells stay NaN in every draw, as in a real posterior.
    return centre[None, None] + rng.normal(0.0, sd, (CHAINS, DRAWS, *centre.shape))


@pytest.fixture(scope="module")
def fit(sim: Simulation) -> FitResult:
    """A FitResult whose 'posterior' is the truth plus noise, with passing diagnostics."""
    rng = np.random.default_rng(0)
    truth = sim.truth
    posterior = xr.Dataset(
        {
            "credibility": (("chain", "draw", "commitment", "period"),
                            _draws(rng, truth["credibility"].values, 0.3)),
            "alliance_level": (("chain", "draw", "alliance", "period"),
                               _draws(rng, truth["alliance_level"].values, 0.2)),
            "loading": (("chain", "draw", "signal"),
                        np.abs(_draws(rng, truth["loading"].values, 0.1))),
        },
        coords={"chain": np.arange(CHAINS), "draw": np.arange(DRAWS),
                "commitment": truth["commitment"].values, "alliance": truth["alliance"].values,
                "period": truth["period"].values, "signal": truth["signal"].values},
    )
    tree = xr.DataTree.from_dict({"posterior": posterior})
    tree.attrs["synthetic_data"] = "true"
    diagnostics = Diagnostics(max_rhat=1.002, min_ess_bulk=900.0, min_ess_tail=800.0,
                              divergences=0, max_treedepth_hits=0, draws=CHAINS * DRAWS,
                              sampling_seconds=1.0, build_seconds=0.1)
    return FitResult(posterior=tree, data=sim.data, spec=sim.data.spec, diagnostics=diagnostics)


@pytest.fixture(scope="module")
def failing_fit(fit: FitResult) -> FitResult:
    failed = dataclasses.replace(fit.diagnostics, max_rhat=1.2, divergences=3,
                                 worst_rhat="loading[troops]")
    return dataclasses.replace(fit, diagnostics=failed)


def _notes(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.texts if "diagnostics failed" in t.get_text()]


def _last_active_means(fit: FitResult) -> dict[str, float]:
    means = fit.posterior["posterior"]["credibility"].mean(("chain", "draw"))
    out = {}
    for commitment in means["commitment"].values:
        row = means.sel(commitment=commitment).dropna("period")
        out[str(commitment)] = float(row[-1])
    return out


def _png_written(path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 5000


# -- trajectories -----------------------------------------------------------------------------


def test_trajectories_default_picks_six_spread_over_the_ranking(fit: FitResult, tmp_path) -> None:
    fig = plot_trajectories(fit, path=tmp_path / "traj.png")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6
    titles = [ax.get_title() for ax in fig.axes]
    means = _last_active_means(fit)
    # Both extremes of the ranking are shown, in order from most to least credible.
    assert titles[0] == max(means, key=means.get)
    assert titles[-1] == min(means, key=means.get)
    assert [means[t] for t in titles] == sorted((means[t] for t in titles), reverse=True)
    for ax in fig.axes:
        assert len(ax.lines) == 2  # posterior mean and the reference line
        assert len(ax.collections) == 2  # 90 % and 50 % bands
    assert "z scale" in fig.get_suptitle()
    assert "SYNTHETIC" in fig.get_suptitle()
    assert _png_written(tmp_path / "traj.png")
    assert _notes(fig) == []


def test_trajectories_show_only_active_periods_and_the_truth(fit: FitResult,
                                                            sim: Simulation) -> None:
    chosen = ["C001", "C002", "C003", "C004"]
    fig = plot_trajectories(fit, chosen, truth=sim.truth["credibility"])
    assert [ax.get_title() for ax in fig.axes] == chosen
    for ax, commitment in zip(fig.axes, chosen, strict=True):
        mean_line, truth_points = ax.lines[1], ax.lines[2]
        active = sim.truth["credibility"].sel(commitment=commitment).dropna("period")
        np.testing.assert_array_equal(mean_line.get_xdata(), active["period"].values)
        np.testing.assert_allclose(truth_points.get_ydata(), active.values)
        assert truth_points.get_linestyle() == "None"
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()][-1] == "true (synthetic)"


def test_trajectories_on_the_percentile_scale(fit: FitResult, sim: Simulation) -> None:
    fig = plot_trajectories(fit, ["C001", "C005"], scale="percentile",
                            truth=sim.truth["credibility"])
    assert len(fig.axes) == 2
    assert "percentile" in fig.get_suptitle()
    for ax in fig.axes:
        assert ax.get_ylim() == (0.0, 100.0)
        for line in ax.lines:
            y = np.asarray(line.get_ydata(), dtype=float)
            assert np.all((y >= 0) & (y <= 100))


def test_trajectories_reject_unknown_commitments_and_scales(fit: FitResult) -> None:
    with pytest.raises(CredibilityError, match="NOPE"):
        plot_trajectories(fit, ["C001", "NOPE"])
    with pytest.raises(CredibilityError, match="scale"):
        plot_trajectories(fit, scale="probit")


# -- forest -----------------------------------------------------------------------------------


def test_forest_sorts_commitments_active_in_the_last_period(fit: FitResult, tmp_path) -> None:
    fig = plot_forest(fit, path=tmp_path / "forest.png")
    ax = fig.axes[0]
    last = fit.posterior["posterior"]["credibility"].isel(period=-1).mean(("chain", "draw"))
    active = last.dropna("commitment").sortby(last.dropna("commitment"))
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [str(c) for c in active["commitment"].values]
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(lines) == 2  # 90 % and 50 % intervals
    assert all(len(c.get_segments()) == len(labels) for c in lines)
    assert str(int(last["period"])) in fig.get_suptitle()
    assert _png_written(tmp_path / "forest.png")


def test_forest_in_a_chosen_period_on_a_given_axes(fit: FitResult) -> None:
    outer = Figure()
    ax = outer.add_subplot()
    fig = plot_forest(fit, period=2003, scale="percentile", ax=ax)
    assert fig is outer
    assert "2003" in ax.get_title()
    mean_points = ax.collections[-1].get_offsets()[:, 0]
    assert np.all((mean_points >= 0) & (mean_points <= 100))
    assert np.all(np.diff(mean_points) >= 0)


def test_forest_rejects_a_period_outside_the_fit(fit: FitResult) -> None:
    with pytest.raises(CredibilityError, match="1990"):
        plot_forest(fit, period=1990)


# -- loadings ---------------------------------------------------------------------------------


def test_loadings_one_row_per_signal(fit: FitResult, tmp_path) -> None:
    fig = plot_loadings(fit, path=tmp_path / "loadings.png")
    ax = fig.axes[0]
    signals = [s.name for s in fit.spec.signals]
    labels = [t.get_text().split(" ")[0] for t in ax.get_yticklabels()]
    assert labels == signals[::-1]  # first signal at the top
    assert "(count)" in ax.get_yticklabels()[-1].get_text()
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert [len(c.get_segments()) for c in lines] == [len(signals)] * 2
    assert _png_written(tmp_path / "loadings.png")


# -- diagnostics note -------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda f: plot_trajectories(f, ["C001"]),
    lambda f: plot_forest(f),
    lambda f: plot_loadings(f),
], ids=["trajectories", "forest", "loadings"])
def test_failing_diagnostics_are_written_on_every_figure(failing_fit: FitResult, make) -> None:
    fig = make(failing_fit)
    notes = [t for t in fig.texts if "diagnostics failed" in t.get_text()]
    assert len(notes) == 1
    text = " ".join(notes[0].get_text().split())
    assert "max R-hat 1.200 > 1.01 (loading[troops])" in text
    assert "3 divergent transitions" in text
    assert "NOT reliable" in text
    red = mcolors.to_rgb(notes[0].get_color())
    assert red[0] > 0.6 and red[1] < 0.2 and red[2] < 0.2
    assert notes[0].get_visible()


def test_failing_note_on_a_given_axes_figure(failing_fit: FitResult, tmp_path) -> None:
    outer = Figure()
    fig = plot_loadings(failing_fit, ax=outer.add_subplot(), path=tmp_path / "l.png")
    assert len(_notes(fig)) == 1
    assert _png_written(tmp_path / "l.png")
