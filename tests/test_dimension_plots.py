"""Figures of a fit of several dimensions (credibility.analysis.plots; docs/model.md, "Several
dimensions"): each dimension's trajectories, the map of two dimensions, the loadings
with their fixed zeros, and `credibility report` writing them.

Most fits here are made by hand from a SYNTHETIC simulation's truth plus noise (no
sampling), as in tests/test_plots.py; the report test reads the suite's shared fit of
two dimensions, made through the command line (tests/conftest.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from cli_helpers import invoke
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse

from credibility.analysis.plots import (
    PlotError,
    plot_dimension_map,
    plot_dimension_trajectories,
    plot_loadings,
)
from credibility.inference.diagnostics import Diagnostics
from credibility.results.fitting import FitResult
from credibility.simulate import Simulation, simulate, synthetic_commitments

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHAINS, DRAWS = 2, 40
DIMENSIONS = ["capability", "willingness"]


def _passing() -> Diagnostics:
    return Diagnostics(max_rhat=1.002, min_ess_bulk=900.0, min_ess_tail=800.0, divergences=0,
                       max_treedepth_hits=0, draws=CHAINS * DRAWS, sampling_seconds=1.0,
                       build_seconds=0.1)


@pytest.fixture(scope="module")
def sim() -> Simulation:
    """SYNTHETIC: 8 commitments in 3 alliances, staggered windows, two dimensions."""
    return simulate("capability_willingness", synthetic_commitments(8, 3, (2000, 2008), seed=3),
                    seed=3, last_period=2008)


@pytest.fixture(scope="module")
def fit(sim: Simulation) -> FitResult:
    """A FitResult whose 'posterior' is the truth plus noise, the two dimensions' noise
    correlated within each cell (correlation 0.8), with passing diagnostics."""
    rng = np.random.default_rng(0)
    truth = sim.truth["credibility"].transpose("dimension", "commitment", "period").values
    shared = rng.normal(0.0, 0.3, (CHAINS, DRAWS, 1, *truth.shape[1:]))
    own = rng.normal(0.0, 0.15, (CHAINS, DRAWS, *truth.shape))
    dimension_draws = truth[None, None] + shared + own  # NaN (inactive) stays NaN
    loads = sim.truth["loads"].values
    loading = np.where(loads, np.abs(sim.truth["loading"].values[None, None]
                                     + rng.normal(0.0, 0.1, (CHAINS, DRAWS, *loads.shape))),
                       0.0)
    posterior = xr.Dataset(
        {
            "dimension_credibility": (("chain", "draw", "dimension", "commitment", "period"),
                                      dimension_draws),
            "credibility": (("chain", "draw", "commitment", "period"),
                            dimension_draws.mean(axis=2)),
            "loading": (("chain", "draw", "signal", "dimension"), loading),
        },
        coords={"chain": np.arange(CHAINS), "draw": np.arange(DRAWS),
                "dimension": DIMENSIONS, "commitment": sim.truth["commitment"].values,
                "period": sim.truth["period"].values, "signal": sim.truth["signal"].values},
    )
    tree = xr.DataTree.from_dict({"posterior": posterior})
    tree.attrs["synthetic_data"] = "true"
    return FitResult(posterior=tree, data=sim.data, spec=sim.data.spec, diagnostics=_passing())


@pytest.fixture(scope="module")
def failing_fit(fit: FitResult) -> FitResult:
    failed = dataclasses.replace(fit.diagnostics, max_rhat=1.2, divergences=3,
                                 worst_rhat="loading[troops, capability]")
    return dataclasses.replace(fit, diagnostics=failed)


@pytest.fixture(scope="module")
def one_dimension_fit() -> FitResult:
    """A one-dimension FitResult (the default spec), truth plus noise."""
    sim = simulate("default", synthetic_commitments(4, 2, (2000, 2004), seed=5), seed=5)
    rng = np.random.default_rng(1)
    truth = sim.truth
    posterior = xr.Dataset(
        {"credibility": (("chain", "draw", "commitment", "period"),
                         truth["credibility"].values[None, None]
                         + rng.normal(0.0, 0.3, (CHAINS, DRAWS,
                                                 *truth["credibility"].shape)))},
        coords={"chain": np.arange(CHAINS), "draw": np.arange(DRAWS),
                "commitment": truth["commitment"].values, "period": truth["period"].values},
    )
    tree = xr.DataTree.from_dict({"posterior": posterior})
    return FitResult(posterior=tree, data=sim.data, spec=sim.data.spec, diagnostics=_passing())


def _notes(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.texts if "diagnostics failed" in t.get_text()]


def _png_written(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 5000


def _active_in(fit: FitResult, period: int) -> list[str]:
    cell = fit.posterior["posterior"]["credibility"].sel(period=period).isel(chain=0, draw=0)
    return [str(c) for c in cell.dropna("commitment")["commitment"].values]


# -- trajectories of each dimension -----------------------------------------------------------


def test_dimension_trajectories_one_panel_per_dimension(fit: FitResult, tmp_path: Path) -> None:
    fig = plot_dimension_trajectories(fit, path=tmp_path / "dt.png")
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == DIMENSIONS
    # Up to six commitments by default, the same ones in the same colours in each panel.
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[-1] == "90 % interval" and len(legend) == 7
    colours = [[line.get_color() for line in ax.lines[:-1]] for ax in fig.axes]
    assert colours[0] == colours[1] and len(set(colours[0])) == 6
    for ax in fig.axes:
        assert len(ax.lines) == 7  # six means and the line at 0
        assert len(ax.collections) == 6  # six 90 % bands
    assert fig.axes[0].get_shared_y_axes().joined(fig.axes[0], fig.axes[1])
    assert "SYNTHETIC" in fig.get_suptitle()
    assert _notes(fig) == []
    assert _png_written(tmp_path / "dt.png")


def test_dimension_trajectories_of_named_commitments(fit: FitResult, sim: Simulation) -> None:
    chosen = ["C002", "C005"]
    fig = plot_dimension_trajectories(fit, chosen)
    assert [t.get_text() for t in fig.legends[0].get_texts()][:2] == chosen
    means = fit.posterior["posterior"]["dimension_credibility"].mean(("chain", "draw"))
    for ax, dimension in zip(fig.axes, DIMENSIONS, strict=True):
        for line, commitment in zip(ax.lines[:2], chosen, strict=True):
            active = means.sel(dimension=dimension, commitment=commitment).dropna("period")
            np.testing.assert_array_equal(line.get_xdata(), active["period"].values)
            np.testing.assert_allclose(line.get_ydata(), active.values)


def test_dimension_trajectories_refuse_what_they_cannot_draw(
        fit: FitResult, one_dimension_fit: FitResult) -> None:
    with pytest.raises(PlotError, match=r"several dimensions.*one \(credibility\)"):
        plot_dimension_trajectories(one_dimension_fit)
    with pytest.raises(PlotError, match="NOPE"):
        plot_dimension_trajectories(fit, ["C001", "NOPE"])


# -- map of two dimensions --------------------------------------------------------------------


def test_dimension_map_in_the_last_period_with_data(fit: FitResult, tmp_path: Path) -> None:
    fig = plot_dimension_map(fit, path=tmp_path / "map.png")
    ax = fig.axes[0]
    assert len(fig.axes) == 1
    last = int(fit.data.signals["period"].max())
    active = _active_in(fit, last)
    assert str(last) in fig.get_suptitle()
    assert "SYNTHETIC" in fig.get_suptitle()
    assert ax.get_xlabel().startswith("capability") and ax.get_ylabel().startswith("willingness")
    assert sorted(t.get_text() for t in ax.texts) == sorted(active)
    # Two regions (50 % and 90 %) per commitment, tilted by the draws' correlation (0.8,
    # equal variances: the long axis near 45 degrees).
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(ellipses) == 2 * len(active)
    assert all(30 < e.angle % 180 < 60 for e in ellipses)
    assert all(e.width > e.height for e in ellipses)
    # The quadrant lines at 0.
    assert any(list(line.get_ydata()) == [0, 0] for line in ax.lines)
    assert any(list(line.get_xdata()) == [0, 0] for line in ax.lines)
    assert _notes(fig) == []
    assert _png_written(tmp_path / "map.png")


def test_dimension_map_points_are_posterior_means(fit: FitResult) -> None:
    chosen = _active_in(fit, 2004)[-2:]
    fig = plot_dimension_map(fit, 2004, x="willingness", y="capability", commitments=chosen)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("willingness")
    cell = fit.posterior["posterior"]["dimension_credibility"].sel(period=2004)
    means = cell.mean(("chain", "draw"))
    points = np.vstack([c.get_offsets() for c in ax.collections])
    expected = [[float(means.sel(dimension="willingness", commitment=c)),
                 float(means.sel(dimension="capability", commitment=c))] for c in chosen]
    np.testing.assert_allclose(points, expected)
    assert [t.get_text() for t in ax.texts] == chosen


def test_dimension_map_on_a_given_axes(fit: FitResult) -> None:
    outer = Figure()
    ax = outer.add_subplot()
    fig = plot_dimension_map(fit, 2004, ax=ax)
    assert fig is outer
    assert "2004" in ax.get_title() and "SYNTHETIC" in ax.get_title()


def test_dimension_map_refuses_what_it_cannot_draw(
        fit: FitResult, one_dimension_fit: FitResult) -> None:
    with pytest.raises(PlotError, match="several dimensions"):
        plot_dimension_map(one_dimension_fit)
    with pytest.raises(PlotError, match=r"unknown dimension\(s\) 'resolve'.*capability"):
        plot_dimension_map(fit, y="resolve")
    with pytest.raises(PlotError, match="two different dimensions"):
        plot_dimension_map(fit, x="willingness")
    with pytest.raises(PlotError, match=r"period 1990 is outside the fit's periods 2000\.\.2008"):
        plot_dimension_map(fit, 1990)
    with pytest.raises(PlotError, match="NOPE"):
        plot_dimension_map(fit, commitments=["NOPE"])
    inactive = sorted(set(map(str, fit.posterior["posterior"]["commitment"].values))
                      - set(_active_in(fit, 2000)))
    assert inactive
    with pytest.raises(PlotError, match=f"{inactive[0]}.*not active in period 2000"):
        plot_dimension_map(fit, 2000, commitments=[inactive[0]])


# -- loadings ---------------------------------------------------------------------------------


def test_loadings_of_several_dimensions_mark_the_fixed_zeros(fit: FitResult,
                                                            tmp_path: Path) -> None:
    fig = plot_loadings(fit, path=tmp_path / "loadings.png")
    ax = fig.axes[0]
    signals = [s.name for s in fit.spec.signals]
    labels = [t.get_text().split(" ")[0] for t in ax.get_yticklabels()]
    assert labels == signals[::-1]
    free = sum(len(fit.spec.signal_dimensions(s)) for s in signals)
    fixed = 2 * len(signals) - free
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    # 90 % and 50 % intervals of each dimension, of its free entries only.
    assert sum(len(c.get_segments()) for c in lines) == 2 * free
    crosses = [c for c in ax.collections
               if not isinstance(c, LineCollection) and len(c.get_offsets())
               and np.all(c.get_offsets()[:, 0] == 0)]
    assert sum(len(c.get_offsets()) for c in crosses) == fixed
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [*DIMENSIONS, "fixed at 0 (does not load)"]
    assert _png_written(tmp_path / "loadings.png")


def test_loadings_of_one_dimension_are_unchanged(one_dimension_fit: FitResult) -> None:
    # The one-dimension figure (tests/test_plots.py): one interval per signal, no legend.
    rng = np.random.default_rng(2)
    names = [s.name for s in one_dimension_fit.spec.signals]
    loading = xr.DataArray(np.abs(rng.normal(1.0, 0.1, (CHAINS, DRAWS, len(names)))),
                           dims=("chain", "draw", "signal"), coords={"signal": names})
    posterior = one_dimension_fit.posterior["posterior"].to_dataset().assign(loading=loading)
    with_loading = dataclasses.replace(
        one_dimension_fit, posterior=xr.DataTree.from_dict({"posterior": posterior}))
    ax = plot_loadings(with_loading).axes[0]
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert [len(c.get_segments()) for c in lines] == [len(names)] * 2
    assert ax.get_legend() is None


# -- the failing-diagnostics note -------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda f: plot_dimension_trajectories(f),
    lambda f: plot_dimension_map(f),
    lambda f: plot_loadings(f),
], ids=["dimension_trajectories", "dimension_map", "loadings"])
def test_failing_diagnostics_are_written_on_the_dimension_figures(failing_fit: FitResult,
                                                                  make) -> None:
    notes = _notes(make(failing_fit))
    assert len(notes) == 1
    text = " ".join(notes[0].split())
    assert "max R-hat 1.200 > 1.01 (loading[troops, capability])" in text
    assert "NOT reliable" in text


# -- credibility report -----------------------------------------------------------------------


@pytest.mark.slow
def test_report_of_a_fit_of_several_dimensions_writes_their_figures(
        two_dimension_fit, tmp_path: Path) -> None:
    """The report of the suite's shared `credibility fit` of two dimensions
    (tests/conftest.py)."""
    _, fit_dir = two_dimension_fit
    out = tmp_path / "report"
    result = invoke("report", "--fit", fit_dir, "--out", out, "--ppc-draws", "20")
    assert result.exit_code == 0, result.output
    for name in ("trajectories", "forest", "loadings", "dimension_trajectories",
                 "dimension_map", "ppc"):
        assert _png_written(out / f"{name}.png"), name
    assert "dimension_map.png" in " ".join(result.output.split())
    help_text = " ".join(invoke("report", "--help").output.split())
    assert "dimension_trajectories.png" in help_text and "dimension_map.png" in help_text
