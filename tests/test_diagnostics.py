"""Diagnostics: our array-at-a-time R-hat and ESS are ArviZ's numbers."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pytest
import xarray as xr
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import special

from credibility.inference import diagnostics
from credibility.inference.diagnostics import ess, rhat


def _arviz(posterior: xr.Dataset) -> dict[str, xr.Dataset]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"rhat": az.rhat(posterior), "bulk": az.ess(posterior, method="bulk"),
                "tail": az.ess(posterior, method="tail")}


def _ours(posterior: xr.Dataset) -> dict[str, xr.Dataset]:
    return {"rhat": rhat(posterior), "bulk": ess(posterior, "bulk"),
            "tail": ess(posterior, "tail")}


def _assert_same(ours: xr.Dataset, theirs: xr.Dataset) -> None:
    assert set(ours.data_vars) == set(theirs.data_vars)
    for name in theirs.data_vars:
        assert ours[name].dims == theirs[name].dims
        np.testing.assert_allclose(ours[name].to_numpy(), theirs[name].to_numpy(),
                                   rtol=1e-9, equal_nan=True, err_msg=name)


@settings(max_examples=40, deadline=None)
@given(chains=st.integers(1, 4), draws=st.integers(2, 60), seed=st.integers(0, 2**32 - 1),
       rounding=st.sampled_from([None, 0, 1]), walk=st.floats(0.0, 1.0))
@example(chains=3, draws=10, seed=1, rounding=None, walk=0.0)
def test_rhat_and_ess_equal_arviz(chains, draws, seed, rounding, walk):
    """Random chains, some autocorrelated, some with ties (rounded), a constant element
    and one with a NaN draw. The example's third element has tail indicators whose
    autocorrelations at lags 2 and 3 sum to exactly 0: Geyer's rule then follows
    rounding, so ours recomputes that ESS the FFT way, as ArviZ."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(chains, draws, 5)) + walk * rng.normal(size=(chains, draws, 5)).cumsum(1)
    if rounding is not None:
        x = np.round(x, rounding)
    x[:, :, 3] = 2.0
    x[0, 0, 4] = np.nan
    post = xr.Dataset({"v": (("chain", "draw", "cell"), x),
                       "s": (("chain", "draw"), x[:, :, 1])}, coords={"cell": list("abcde")})
    ours, theirs = _ours(post), _arviz(post)
    for key in theirs:
        _assert_same(ours[key], theirs[key])


def test_blocks_give_the_same_numbers(monkeypatch):
    """A variable larger than one block (and 2-D elements) is split and put back in order."""
    rng = np.random.default_rng(4)
    post = xr.Dataset({"m": (("chain", "draw", "row", "col"),
                             rng.normal(size=(3, 40, 7, 11)).cumsum(1))},
                      coords={"row": np.arange(7) * 10})
    whole = _ours(post)
    monkeypatch.setattr(diagnostics, "DIAGNOSTIC_BLOCK", 5)
    blocks = _ours(post)
    for key in whole:
        xr.testing.assert_identical(blocks[key], whole[key])
    _assert_same(blocks["rhat"], _arviz(post)["rhat"])


def test_slabs_give_the_same_numbers(monkeypatch):
    """Read a few rows of a variable at a time (the slabs a trace on disk is read in),
    down to one row, the statistics are the same; each slab is at most the budget or
    one row."""
    rng = np.random.default_rng(5)
    post = xr.Dataset({"m": (("chain", "draw", "row", "col"),
                             rng.normal(size=(3, 40, 7, 11)).cumsum(1)),
                       "v": (("chain", "draw", "cell"), rng.normal(size=(3, 40, 9))),
                       "s": (("chain", "draw"), rng.normal(size=(3, 40)))},
                      coords={"row": np.arange(7) * 10})
    whole = _ours(post)
    seen = []
    slabs = diagnostics._slabs

    def spy(draws, element_dims):
        for slab in slabs(draws, element_dims):
            seen.append(slab.nbytes)
            yield slab

    monkeypatch.setattr(diagnostics, "_slabs", spy)
    row = 8 * 3 * 40 * 11
    for budget in (2 * row, 1):
        monkeypatch.setattr(diagnostics, "DIAGNOSTIC_SLAB_BYTES", budget)
        seen.clear()
        sliced = _ours(post)
        for key in whole:
            xr.testing.assert_identical(sliced[key], whole[key])
        assert max(seen) == max(budget, row) and len(seen) > 3


def test_long_chains_equal_arviz():
    """4 x 1,000 and 4 x 1,001 draws (a middle draw dropped when split): slowly mixing
    elements (Geyer's sequences run to long lags), ties, and two that barely mix."""
    rng = np.random.default_rng(7)
    for draws in (1000, 1001):
        persistence = np.array([0.0, 0.5, 0.9, 0.99, 0.999, 0.9])
        x = np.empty((4, draws, persistence.size))
        x[:, 0] = rng.normal(size=(4, persistence.size))
        for t in range(1, draws):
            x[:, t] = persistence * x[:, t - 1] + rng.normal(size=(4, persistence.size))
        x[:, :, 5] = np.round(x[:, :, 5], 0)
        post = xr.Dataset({"v": (("chain", "draw", "cell"), x)})
        ours, theirs = _ours(post), _arviz(post)
        for key in theirs:
            _assert_same(ours[key], theirs[key])


def test_a_broken_rank_would_be_caught(monkeypatch):
    """The comparison can fail: ranks without tie averaging change R-hat for tied draws."""
    rng = np.random.default_rng(5)
    post = xr.Dataset({"v": (("chain", "draw", "cell"),
                             np.round(rng.normal(size=(4, 50, 6)), 0))})
    theirs = _arviz(post)["rhat"]
    _assert_same(rhat(post), theirs)
    # Half-integer average ranks (ties of an even number of draws) rounded down.
    monkeypatch.setattr(diagnostics, "_normal_scores", lambda n: special.ndtri(
        (1.0 + np.floor(np.arange(2 * n - 1) / 2.0) - 3 / 8) / (n + 1 / 4)))
    with pytest.raises(AssertionError):
        _assert_same(rhat(post), theirs)


def test_compute_diagnostics_reports_the_same_extremes_in_one_pass():
    """compute_diagnostics shares the split chains' ranks between R-hat and bulk ESS."""
    rng = np.random.default_rng(6)
    post = xr.Dataset({"v": (("chain", "draw", "cell"), rng.normal(size=(4, 80, 9)).cumsum(1))})
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 80), bool))})
    result = diagnostics.compute_diagnostics(post, stats, sampling_seconds=1.0)
    assert result.max_rhat == float(rhat(post)["v"].max())
    assert result.min_ess_bulk == float(ess(post, "bulk")["v"].min())
    assert result.min_ess_tail == float(ess(post, "tail")["v"].min())


def test_unknown_ess_method():
    post = xr.Dataset({"v": (("chain", "draw"), np.zeros((2, 10)))})
    with pytest.raises(ValueError, match="unknown ESS method 'mean'"):
        ess(post, "mean")
