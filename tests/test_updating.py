"""Tests of updating a fit with new signal rows: the merge ledger, the exact refit, the
store records, the `update`, `history`, `diff` and `export --store` commands, and the
check that an exact update agrees with a from-scratch fit within Monte Carlo error.

Merge tests need no sampling. The sampled tests share the suite's `tiny_fit`
(5 commitments, 2000-2006), one exact update of it with the year 2007, and (for
the Monte Carlo check) one from-scratch fit of the same merged data.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, invoke
from pymc.initial_point import make_initial_point_fn
from scipy.stats import norm
from seeding import seed
from simulations import tiny_simulation

from credibility.analysis.updating import (
    DIFF_COLUMNS,
    LEDGER_COLUMNS,
    UpdateError,
    UpdateResult,
    _align_cells,
    credibility_diff,
    merge_signals,
    update_fit,
    warm_start_values,
)
from credibility.data.container import CredibilityData
from credibility.errors import CredibilityDataError
from credibility.inference.diagnostics import ConvergenceWarning
from credibility.measurement import build_measurement_model
from credibility.model.index import UnitCells
from credibility.results.fitting import CREDIBILITY_COLUMNS, CredibilityModel, FitResult
from credibility.results.store import PosteriorStore

#: Sampler settings of the shared exact update (chains as tiny_fit: 2).
UPDATE_RUN = {"draws": 150, "tune": 150, "seed": seed(11)}
#: False failure rate of every comparison of one test together.
ALPHA = 0.001
SIGNAL_HEADER = ["commitment_id", "alliance", "period", "signal", "value"]
tiny_sampling = pytest.mark.filterwarnings(
    "ignore::credibility.inference.diagnostics.ConvergenceWarning")


@pytest.fixture(scope="module")
def data() -> CredibilityData:
    """SYNTHETIC: the data of `tiny_fit` (the same simulation), without fitting them."""
    return tiny_simulation().data


def _rows(data: CredibilityData, period: int) -> pd.DataFrame:
    """Signal rows of ``period`` in the contract layout (alliance empty on commitment rows)."""
    rows = data.signals[data.signals["period"] == period]
    return rows.assign(alliance=rows["alliance"].where(rows["level"] == "alliance", ""))[
        SIGNAL_HEADER]


@pytest.fixture(scope="module")
def next_year(data: CredibilityData) -> pd.DataFrame:
    """The 2006 rows again as 2007; a filtered frame, so its index is not 0..n-1."""
    return _rows(data, 2006).assign(period=2007)


def _write(frame: pd.DataFrame, path: Path, blank_line_after_row: int | None = None) -> Path:
    lines = frame.to_csv(index=False, lineterminator="\n").splitlines()
    if blank_line_after_row is not None:
        lines.insert(blank_line_after_row + 1, "")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _changed_value(data: CredibilityData) -> tuple[pd.DataFrame, pd.Series]:
    """A 2005 troops row with a different value, and the stored row."""
    rows = _rows(data, 2005)
    stored = rows[rows["signal"] == "troops"].iloc[0]
    return pd.DataFrame([stored.to_dict() | {"value": stored["value"] * 2}]), stored


# -- merging ----------------------------------------------------------------------------------


def test_new_rows_are_added_and_repeats_unchanged(data: CredibilityData, next_year: pd.DataFrame,
                                                  tmp_path: Path) -> None:
    repeats = _rows(data, 2005).head(3)
    incoming = pd.concat([repeats, next_year])
    merged = merge_signals(data, incoming)

    assert tuple(merged.ledger.columns) == LEDGER_COLUMNS
    assert list(merged.ledger["row"]) == list(range(1, len(incoming) + 1))
    assert list(merged.ledger["action"]) == ["unchanged"] * 3 + ["added"] * len(next_year)
    assert merged.counts() == {"added": len(next_year), "unchanged": 3, "revised": 0}
    unchanged = merged.ledger.head(3)
    assert (unchanged["old_value"] == unchanged["new_value"]).all()
    assert merged.ledger["old_value"].iloc[3:].isna().all()
    assert merged.changed and merged.added_commitments == ()

    assert len(merged.data.signals) == len(data.signals) + len(next_year)
    assert (merged.data.first_period, merged.data.last_period) == (2000, 2007)
    # The same as validating the concatenated tables from scratch.
    paths = data.to_csv(tmp_path)
    tables = {k: pd.read_csv(p, dtype=str, keep_default_na=False) for k, p in paths.items()}
    scratch = CredibilityData.from_frames(
        tables["commitments"],
        pd.concat([tables["signals"], next_year.astype(str)], ignore_index=True),
        spec=data.spec)
    assert merged.data == scratch
    # Provenance survives (it marks simulated data as synthetic).
    assert "simulated signals" in merged.data.sources["signals"]


def test_alliance_rows_are_keyed_by_alliance(data: CredibilityData) -> None:
    alliance_rows = _rows(data, 2006)
    alliance_rows = alliance_rows[alliance_rows["alliance"] != ""]
    assert len(alliance_rows)
    merged = merge_signals(data, pd.concat([alliance_rows, alliance_rows.assign(period=2007)]))
    ledger = merged.ledger
    assert list(ledger["action"]) == ["unchanged"] * len(alliance_rows) + ["added"] * len(
        alliance_rows)
    assert (ledger["level"] == "alliance").all() and (ledger["commitment_id"] == "").all()


def test_changed_value_is_an_error_naming_file_row_column_and_values(
        data: CredibilityData, next_year: pd.DataFrame, tmp_path: Path) -> None:
    changed, stored = _changed_value(data)
    # Row 3 of the file, after a blank line (rows count as in the file).
    path = _write(pd.concat([next_year.head(1), next_year.iloc[1:2], changed]),
                  tmp_path / "new.csv", blank_line_after_row=1)
    with pytest.raises(CredibilityDataError) as raised:
        merge_signals(data, path)
    message = str(raised.value)
    old, new = repr(float(stored["value"])), repr(float(stored["value"] * 2))
    assert message.startswith(f"{path}, row 4 (line 5), column 'value': got '{new}'")
    assert f"commitment {stored['commitment_id']!r}, period 2005, signal 'troops' is {old}" \
        in message
    assert "pass revise=True (--revise) if this is a correction" in message


def test_revise_replaces_the_value_and_records_it(data: CredibilityData) -> None:
    changed, stored = _changed_value(data)
    merged = merge_signals(data, changed, revise=True)
    assert merged.counts() == {"added": 0, "unchanged": 0, "revised": 1}
    row = merged.ledger.iloc[0]
    assert (row["action"], row["old_value"], row["new_value"]) == (
        "revised", stored["value"], stored["value"] * 2)
    signals = merged.data.signals
    key = ((signals["commitment_id"] == stored["commitment_id"]) & (signals["period"] == 2005)
           & (signals["signal"] == "troops"))
    assert signals.loc[key, "value"].tolist() == [stored["value"] * 2]
    assert len(signals) == len(data.signals)
    # Only the revised row changed.
    before = data.signals.drop(index=signals.index[key])
    pd.testing.assert_frame_equal(signals.drop(index=signals.index[key]), before)


def _new_commitment(data: CredibilityData) -> pd.DataFrame:
    first = data.commitments.iloc[0]
    return pd.DataFrame([{
        "commitment_id": "C006", "guarantor": first["guarantor"], "protege": "P006",
        "alliance": first["alliance"], "region": first["region"], "type": first["type"],
        "start": 2005, "end": "",
    }])


def test_new_commitment_with_its_rows(data: CredibilityData, tmp_path: Path) -> None:
    rows = _rows(data, 2006)
    rows = rows[rows["commitment_id"] == data.commitments["commitment_id"].iloc[0]]
    rows = rows.assign(commitment_id="C006")
    commitments = _write(_new_commitment(data), tmp_path / "commitments.csv")
    merged = merge_signals(data, rows, new_commitments=commitments)
    assert merged.added_commitments == ("C006",)
    assert merged.data.commitment_ids == (*data.commitment_ids, "C006")
    assert merged.counts()["added"] == len(rows)

    # Repeating a stored commitment unchanged is fine; changing it is not.
    stored = pd.read_csv(data.to_csv(tmp_path / "stored")["commitments"], dtype=str,
                         keep_default_na=False)
    both = pd.concat([stored, _new_commitment(data)], ignore_index=True)
    assert merge_signals(data, rows, new_commitments=both).added_commitments == ("C006",)
    both.loc[1, "region"] = "Atlantis"
    with pytest.raises(CredibilityDataError,
                       match=r"new commitments table, row 2 \(line 3\), column 'region': got "
                       r"'Atlantis'; commitment 'C002' is already stored with region"):
        merge_signals(data, rows, new_commitments=both)


def test_unknown_commitment_is_an_error_naming_row_and_commitment(data: CredibilityData,
                                                                  next_year: pd.DataFrame) -> None:
    rows = pd.concat([next_year.head(2), next_year.head(1).assign(commitment_id="C099")])
    with pytest.raises(CredibilityDataError,
                       match=r"new signals table, row 3 \(line 4\), column 'commitment_id': got "
                       r"'C099'; unknown commitment.*new_commitments \(--commitments\)"):
        merge_signals(data, rows)


def test_bad_new_row_is_reported_in_the_new_file(data: CredibilityData, next_year: pd.DataFrame,
                                                 tmp_path: Path) -> None:
    rows = next_year.copy()
    count = int(np.flatnonzero((rows["signal"] == "joint_exercises").to_numpy())[1])
    rows.iloc[count, rows.columns.get_loc("value")] = -3
    path = _write(rows, tmp_path / "bad.csv")
    with pytest.raises(CredibilityDataError,
                       match=rf"{path}, row {count + 1} \(line {count + 2}\), column 'value': "
                       "got '-3.0'"):
        merge_signals(data, path)
    with pytest.raises(CredibilityDataError, match="no such file"):
        merge_signals(data, tmp_path / "missing.csv")
    # A duplicate within the new rows is the parser's error, in the new rows' numbering.
    with pytest.raises(CredibilityDataError, match=r"row 2 \(line 3\).*duplicate"):
        merge_signals(data, pd.concat([next_year.head(1), next_year.head(1)]))


def test_update_refuses_unknown_method_and_nothing_new(tiny_fit: FitResult,
                                                       data: CredibilityData) -> None:
    with pytest.raises(UpdateError, match=r"'guess'.*expected one of: exact, approximate"):
        update_fit(tiny_fit, _rows(data, 2006), method="guess")
    with pytest.raises(UpdateError, match="nothing to update"):
        update_fit(tiny_fit, _rows(data, 2006))


# -- the exact update -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def updated(tiny_fit: FitResult, next_year: pd.DataFrame) -> UpdateResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return update_fit(tiny_fit, next_year, progress=False, **UPDATE_RUN)


@pytest.mark.slow
def test_exact_update_fits_the_merged_data(updated: UpdateResult, tiny_fit: FitResult,
                                           next_year: pd.DataFrame) -> None:
    assert updated.method == "exact"
    assert updated.fit.data == merge_signals(tiny_fit.data, next_year).data
    assert updated.ledger["action"].eq("added").sum() == len(next_year)
    assert updated.fit.spec.sha256 == tiny_fit.spec.sha256
    expected = {**{k: tiny_fit.settings[k] for k in ("chains", "backend", "target_accept")},
                **UPDATE_RUN}
    assert {k: updated.fit.settings[k] for k in expected} == expected
    table = updated.fit.credibility()
    assert table["period"].max() == 2007
    assert table.groupby("period").size()[2007] == next_year["commitment_id"].replace(
        "", np.nan).nunique()


def _cell_means(fit: FitResult) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and its Monte Carlo standard error of every active credibility cell."""
    credibility = fit.posterior["posterior"]["credibility"]
    mean = credibility.mean(("chain", "draw")).to_numpy().ravel()
    mcse = az.mcse(credibility.to_dataset(), method="mean")["credibility"].to_numpy().ravel()
    active = ~np.isnan(mean)
    return mean[active], mcse[active]


def mcse_distance(fit_a: FitResult, fit_b: FitResult) -> np.ndarray:
    """|mean A - mean B| per credibility cell in units of sqrt(MCSE_A^2 + MCSE_B^2)."""
    mean_a, mcse_a = _cell_means(fit_a)
    mean_b, mcse_b = _cell_means(fit_b)
    assert mean_a.shape == mean_b.shape
    return np.abs(mean_a - mean_b) / np.sqrt(mcse_a**2 + mcse_b**2)


@pytest.mark.slow
@tiny_sampling
def test_exact_update_agrees_with_a_fit_from_scratch(updated: UpdateResult) -> None:
    merged = updated.fit.data
    scratch = CredibilityModel(merged.spec).fit(
        merged, draws=UPDATE_RUN["draws"], tune=UPDATE_RUN["tune"], chains=2, seed=seed(12345),
        progress=False, until_reliable=False)
    distance = mcse_distance(updated.fit, scratch)
    print(f"exact update vs scratch: {distance.size} cells, max |diff|/MCSE "
          f"{distance.max():.2f}, mean {distance.mean():.2f}")
    assert distance.size == int(merged.commitments.eval("end - start + 1").sum())
    # Two independent fits of the same data: each cell's gap is normal with sd the combined
    # MCSE. Every cell at once, two-sided Bonferroni (4.1 for the 30 cells here).
    assert distance.max() < norm.ppf(1.0 - ALPHA / (2 * distance.size))


@pytest.mark.usefixtures("python_mode")  # a log density checked once: no numba compile
def test_warm_start_values_follow_the_labels(tiny_fit: FitResult, next_year: pd.DataFrame
                                            ) -> None:
    merged = merge_signals(tiny_fit.data, next_year).data
    values = warm_start_values(tiny_fit, merged)
    model = build_measurement_model(merged, tiny_fit.spec)
    assert set(values) <= {rv.name for rv in model.free_RVs}
    # The sampler's coordinates (the latent's scale coordinate, decision 31).
    assert {"commitment_state_scaled", "latent_scale_log", "loading_offset",
            "persistence_commitment"} <= set(values)
    posterior = tiny_fit.posterior["posterior"]
    np.testing.assert_allclose(values["loading_offset"],
                               posterior["loading_offset"].mean(("chain", "draw")))
    # Each commitment's states keep their (unit, period) place; a new 2007 state
    # continues from 2006.
    old_state = posterior["commitment_state_scaled"].mean(("chain", "draw")).to_numpy()
    new_state = values["commitment_state_scaled"]
    assert new_state.size == old_state.size + int(tiny_fit.data.commitments["ongoing"].sum())
    old_start = new_start = 0
    for ongoing, length in zip(tiny_fit.data.commitments["ongoing"],
                               tiny_fit.data.commitments.eval("end - start + 1"), strict=True):
        old = old_state[old_start:old_start + length]
        new = new_state[new_start:new_start + length + ongoing]
        np.testing.assert_allclose(new[:length], old)
        if ongoing:
            assert new[-1] == old[-1]
        old_start, new_start = old_start + length, new_start + length + ongoing
    point = make_initial_point_fn(model=model, overrides=values, jitter_rvs=set(),
                                  return_transformed=True)(0)
    assert np.isfinite(model.compile_logp()(point))


def test_cell_values_move_by_unit_and_period() -> None:
    """Centred states and innovations are aligned by (unit, period); a new period
    continues its unit's last value and a new unit starts at 0."""
    old = UnitCells(unit=np.array([0, 0, 1, 1, 1]), period=np.array([0, 1, 0, 1, 2]),
                    local=np.array([0, 1, 0, 1, 2]), n_units=2)
    # New layout: the first period moves back by one, "b" is listed first, "a" gains a
    # period, and a new commitment "c" starts.
    new = UnitCells(unit=np.array([0, 0, 0, 1, 1, 1, 2]), period=np.array([1, 2, 3, 1, 2, 3, 3]),
                    local=np.array([0, 1, 2, 0, 1, 2, 0]), n_units=3)
    moved = _align_cells(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), old, new, ("a", "b"),
                         ("b", "a", "c"), 2000, 1999)
    np.testing.assert_array_equal(moved, [3.0, 4.0, 5.0, 1.0, 2.0, 2.0, 0.0])


# -- the store and the command line -----------------------------------------------------------


@pytest.fixture(scope="module")
def store(tiny_fit: FitResult, updated: UpdateResult, tmp_path_factory: pytest.TempPathFactory
          ) -> Path:
    """v0001 = tiny_fit; v0002 = its exact update with 2007."""
    path = tmp_path_factory.mktemp("store")
    posterior_store = PosteriorStore(path)
    parent = posterior_store.save(tiny_fit, note="baseline")
    posterior_store.save(updated.fit, parent=parent, method=updated.method,
                         ledger=updated.ledger)
    return path


@pytest.mark.slow
def test_store_records_the_ledger(store: Path, updated: UpdateResult) -> None:
    posterior_store = PosteriorStore(store)
    meta = posterior_store.meta("v0002")
    assert (meta["parent"], meta["method"]) == ("v0001", "exact")
    assert meta["ledger"] == {"file": "ledger.csv", **updated.merge.counts()}
    assert "ledger.csv" in meta["files"]
    pd.testing.assert_frame_equal(posterior_store.ledger("v0002"), updated.ledger)
    assert posterior_store.ledger("v0001") is None
    assert posterior_store.load("v0002").data == updated.fit.data


@pytest.mark.slow
def test_credibility_diff(tiny_fit: FitResult, updated: UpdateResult) -> None:
    diff = credibility_diff(tiny_fit, updated.fit)
    assert tuple(diff.columns) == DIFF_COLUMNS
    # The last period both fits cover, and every commitment active then.
    assert (diff["period"] == 2006).all()
    active = tiny_fit.data.commitments.query("start <= 2006 and end >= 2006")
    assert list(diff["commitment_id"]) == list(active["commitment_id"])
    a = tiny_fit.credibility().query("period == 2006").set_index("commitment_id")
    a = a.loc[diff["commitment_id"]]
    # tiny_fit has 120 draws and the update 300: A is resampled with replacement to 300, so
    # its mean moves from the plain posterior mean by a resampling error of sd sd_A / sqrt(300)
    # (conditional on the draws). Every commitment at once, two-sided Bonferroni.
    resampled = updated.fit.posterior["posterior"].sizes["chain"] * updated.fit.posterior[
        "posterior"].sizes["draw"]
    z = norm.ppf(1.0 - ALPHA / (2 * len(a)))
    gap = (diff["mean_a"].to_numpy() - a["mean"].to_numpy()) / (a["sd"].to_numpy()
                                                                  / np.sqrt(resampled))
    assert (np.abs(gap) < z).all(), gap
    np.testing.assert_allclose(diff["change"], diff["mean_b"] - diff["mean_a"], atol=1e-12)
    assert ((diff["change_q05"] <= diff["change"]) & (diff["change"] <= diff["change_q95"])).all()
    assert diff["p_up"].between(0, 1).all()
    pd.testing.assert_frame_equal(diff, credibility_diff(tiny_fit, updated.fit))

    same = credibility_diff(updated.fit, updated.fit, period=2003)
    assert (same["change"] == 0).all() and (same["p_up"] == 0).all()
    with pytest.raises(UpdateError, match="period 2012 is not in both fits"):
        credibility_diff(tiny_fit, updated.fit, period=2012)


@pytest.mark.slow
def test_cli_history(store: Path, updated: UpdateResult) -> None:
    result = invoke("history", "--store", store)
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()
            if line.split()[:1] in (["v0001"], ["v0002"])]
    # version, created, (parent), method, (added, revised), R-hat, ESS, divergences
    assert [row[0] for row in rows] == ["v0001", "v0002"]
    assert rows[0][2] == "exact" and len(rows[0]) == 6
    added = updated.merge.counts()["added"]  # the 2006 rows again as 2007 (20 at seed 0)
    assert added > 0
    assert rows[1][2:6] == ["v0001", "exact", str(added), "0"]
    assert "v0001: baseline" in result.stdout


@pytest.mark.slow
def test_cli_diff(store: Path) -> None:
    result = invoke("diff", "--store", store, "v0001", "v0002")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Credibility in 2006: v0001 → v0002" in text
    assert "P(up)" in text and "independent" in " ".join(text.split())
    for commitment in ("C001", "C002", "C003", "C004"):
        assert commitment in text
    assert_one_line_error(invoke("diff", "--store", store, "v0001", "v0009"), "'v0009'",
                          "v0001, v0002")
    assert_one_line_error(invoke("diff", "--store", store, "v0001", "v0002", "--period", "1990"),
                          "period 1990")


@pytest.mark.slow
def test_cli_export_from_the_store(store: Path, tiny_fit: FitResult, updated: UpdateResult
                                   ) -> None:
    first = invoke("export", "--store", store, "--version", "v0001")
    assert first.exit_code == 0, first.output
    frame = pd.read_csv(io.StringIO(first.stdout))
    assert tuple(frame.columns) == CREDIBILITY_COLUMNS
    pd.testing.assert_frame_equal(frame, tiny_fit.credibility(), check_exact=False)
    latest = pd.read_csv(io.StringIO(invoke("export", "--store", store).stdout))
    pd.testing.assert_frame_equal(latest, updated.fit.credibility(), check_exact=False)
    assert_one_line_error(invoke("export", "--store", store, "--version", "v0003"), "'v0003'")
    assert_one_line_error(invoke("export", "--store", store / "nothing"), "no such folder")
    assert_one_line_error(invoke("export", "--store", store, "--fit", store), "either --fit")


@pytest.mark.slow
@tiny_sampling
def test_cli_update_end_to_end(store: Path, next_year: pd.DataFrame, data: CredibilityData,
                               tmp_path: Path) -> None:
    path = tmp_path / "store"
    PosteriorStore(path).save(PosteriorStore(store).load("v0001"))
    signals = _write(next_year, tmp_path / "signals_2007.csv")
    result = invoke("update", "--store", path, "--signals", signals, "--draws", "30",
                    "--tune", "30", "--quiet")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "Incoming rows" in text and "Sampler diagnostics" in text
    assert "Saved version v0002 (parent v0001, method exact)" in text
    posterior_store = PosteriorStore(path)
    meta = posterior_store.meta("v0002")
    assert meta["ledger"]["added"] == len(next_year)
    assert meta["settings"]["draws"] == 30 and meta["settings"]["chains"] == 2
    assert "signals_2007.csv" in meta["note"]

    # A changed value stops the update, and nothing is stored.
    changed, _ = _changed_value(data)
    conflict = _write(changed, tmp_path / "fix.csv")
    assert_one_line_error(invoke("update", "--store", path, "--signals", conflict),
                          str(conflict), "row 1", "'value'", "--revise")
    assert posterior_store.versions() == ["v0001", "v0002"]
    # Nor is a fit imported with --fit when its update fails.
    fit_dir = tmp_path / "fit"
    posterior_store.load("v0001").save(fit_dir)
    fresh = tmp_path / "fresh"
    assert_one_line_error(invoke("update", "--store", fresh, "--fit", fit_dir, "--signals",
                                 conflict), "--revise")
    assert PosteriorStore(fresh).versions() == []
    assert_one_line_error(invoke("update", "--store", path, "--signals", signals,
                                 "--method", "guess"), "--method", "exact")
