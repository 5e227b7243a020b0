"""Tests of deterrence cases in updates: the case ledger (added, unchanged, resolved,
revised), the outcome model refitted on the merged cases, and `credibility update
--cases` with the store's case ledger and `history`.

Merge tests need no sampling. The sampled tests share one update of
`outcome_fit` (SYNTHETIC: 12 commitments, 200 cases of which 50 open): ten open cases
resolved with their simulated outcomes and one new case added, through the command
line into a store.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, invoke

from credibility.analysis.updating import (
    CASE_LEDGER_COLUMNS,
    UpdateError,
    merge_cases,
    update_fit,
)
from credibility.errors import CredibilityDataError
from credibility.results.fitting import FitResult
from credibility.results.store import PosteriorStore
from credibility.simulate import Simulation

#: Open cases the shared update resolves.
RESOLVED = 10


def _open_cases(simulation: Simulation) -> pd.DataFrame:
    cases = simulation.data.cases
    return cases[cases["outcome"].isna()].reset_index(drop=True)


def _resolved(simulation: Simulation, n: int = RESOLVED) -> pd.DataFrame:
    """The first ``n`` open cases with the outcomes the simulation drew for them."""
    cases = _open_cases(simulation).iloc[:n].copy()
    truth = simulation.truth["case_outcome"].to_series()
    cases["outcome"] = truth.loc[cases["case_id"]].to_numpy()
    return cases


def _new_case(simulation: Simulation) -> pd.DataFrame:
    first = simulation.data.cases.iloc[[0]].copy()
    return first.assign(case_id="NEW-1", outcome=np.nan, capability_ratio=2.5)


def test_cases_are_added_resolved_and_unchanged(outcome_simulation: Simulation) -> None:
    data = outcome_simulation.data
    repeated = data.cases.iloc[[0]]
    incoming = pd.concat([_resolved(outcome_simulation, 2), _new_case(outcome_simulation),
                          repeated], ignore_index=True)
    merged = merge_cases(data, incoming)
    assert list(merged.ledger.columns) == list(CASE_LEDGER_COLUMNS)
    assert merged.ledger["action"].tolist() == ["resolved", "resolved", "added", "unchanged"]
    assert merged.ledger["row"].tolist() == [1, 2, 3, 4]
    assert merged.counts() == {"added": 1, "unchanged": 1, "resolved": 2, "revised": 0}
    assert merged.changed
    cases = merged.data.cases
    # Resolved cases keep their place and take the outcome; the new case comes last.
    assert cases["case_id"].tolist() == [*data.cases["case_id"], "NEW-1"]
    by_id = cases.set_index("case_id")
    for _, case in incoming.iloc[:2].iterrows():
        assert by_id.loc[case["case_id"], "outcome"] == case["outcome"]
    assert np.isnan(by_id.loc["NEW-1", "outcome"])
    # The signals and commitments are untouched.
    pd.testing.assert_frame_equal(merged.data.signals, data.signals)
    assert not merge_cases(data, repeated).changed


def test_a_changed_case_is_an_error_unless_revised(outcome_simulation: Simulation,
                                                   tmp_path: Path) -> None:
    data = outcome_simulation.data
    fitted = data.cases[data.cases["outcome"].notna()].iloc[[0]]
    flipped = fitted.assign(outcome=1 - fitted["outcome"])
    path = tmp_path / "cases_new.csv"
    flipped.astype({"outcome": "Int64"}).to_csv(path, index=False)
    old, new = int(fitted["outcome"].iloc[0]), int(flipped["outcome"].iloc[0])
    with pytest.raises(CredibilityDataError) as caught:
        merge_cases(data, path)
    message = str(caught.value)
    for part in (str(path), "row 1", "'outcome'", f"got '{new}'", f"is {old}", "revise=True"):
        assert part in message, message
    revised = merge_cases(data, path, revise=True)
    assert revised.ledger["action"].tolist() == ["revised"]
    assert revised.data.cases.set_index("case_id").loc[fitted["case_id"].iloc[0],
                                                       "outcome"] == new
    # A covariate counts as a change as well.
    with pytest.raises(CredibilityDataError, match="column 'capability_ratio'"):
        merge_cases(data, fitted.assign(capability_ratio=fitted["capability_ratio"] + 1))


def test_a_bad_case_names_the_new_file_row_and_column(outcome_simulation: Simulation) -> None:
    data = outcome_simulation.data
    bad = _new_case(outcome_simulation).assign(commitment_id="NOBODY")
    with pytest.raises(CredibilityDataError) as caught:
        merge_cases(data, pd.concat([_resolved(outcome_simulation, 1), bad]))
    assert "new cases table, row 2" in str(caught.value)
    assert "'commitment_id'" in str(caught.value)
    late = _new_case(outcome_simulation).assign(period=data.last_period + 1)
    with pytest.raises(CredibilityDataError, match="column 'period'"):
        merge_cases(data, late)


def test_an_update_needs_something_new(outcome_fit: FitResult) -> None:
    with pytest.raises(UpdateError, match="give new signal rows, new cases or both"):
        update_fit(outcome_fit)
    with pytest.raises(UpdateError, match="1 incoming cases are already stored"):
        update_fit(outcome_fit, new_cases=outcome_fit.data.cases.iloc[[0]])


@pytest.fixture(scope="module")
def case_store(outcome_fit: FitResult, outcome_simulation: Simulation,
               tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store holding ``outcome_fit`` (v0001) and its update with ten resolved cases and
    one new case (v0002), made by ``credibility update --cases``; and its output."""
    folder = tmp_path_factory.mktemp("case-updates")
    outcome_fit.save(folder / "fit")
    incoming = pd.concat([_resolved(outcome_simulation), _new_case(outcome_simulation)],
                         ignore_index=True)
    path = folder / "outcomes_2011.csv"
    incoming.astype({"outcome": "Int64"}).to_csv(path, index=False)
    result = invoke("update", "--store", folder / "store", "--fit", folder / "fit",
                    "--cases", path, "--quiet")
    assert result.exit_code == 0, result.output
    return folder / "store", " ".join(result.stdout.split())


def test_cli_update_with_cases_records_them(case_store: tuple[Path, str]) -> None:
    path, output = case_store
    assert "Incoming cases" in output and "Incoming rows" not in output
    assert "Saved version v0002 (parent v0001, method exact)" in output
    store = PosteriorStore(path)
    ledger = store.ledger("v0002", cases=True)
    assert ledger["action"].value_counts().to_dict() == {"resolved": RESOLVED, "added": 1}
    assert ledger["old_outcome"].isna().all()
    assert store.ledger("v0002") is None  # no signal rows came with it
    meta = store.meta("v0002")
    assert meta["cases_ledger"]["resolved"] == RESOLVED and meta["cases_ledger"]["added"] == 1
    assert "outcomes_2011.csv" in meta["note"] and "10 resolved" in meta["note"]
    history = store.history().set_index("version")
    assert history.loc["v0002", "cases_resolved"] == RESOLVED
    assert history.loc["v0002", "cases_added"] == 1
    shown = invoke("history", "--store", path)
    assert shown.exit_code == 0 and "res." in shown.stdout


def test_resolved_cases_refit_the_outcome_model(case_store: tuple[Path, str],
                                                outcome_fit: FitResult,
                                                outcome_simulation: Simulation) -> None:
    """The measurement posterior is kept (it does not depend on the cases); the outcome
    model now fits the resolved cases, and its predictions for them change."""
    store = PosteriorStore(case_store[0])
    updated = store.load("v0002")
    np.testing.assert_array_equal(updated.posterior["posterior"]["credibility"].values,
                                  outcome_fit.posterior["posterior"]["credibility"].values)
    resolved = _resolved(outcome_simulation)["case_id"].tolist()
    before = set(outcome_fit.outcome_posterior()["case"].values)
    after = set(updated.outcome_posterior()["case"].values)
    assert after == before | set(resolved)
    assert updated.outcome_diagnostics is not None
    old = outcome_fit.predict().set_index("case_id")
    new = updated.predict().set_index("case_id")
    assert "NEW-1" in new.index and "NEW-1" not in old.index
    # Each resolved case's prediction moves: the outcome model was sampled again.
    assert ((new.loc[resolved, "p_mean"] - old.loc[resolved, "p_mean"]).abs() > 0).all()


def test_cli_update_needs_signals_or_cases(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    assert_one_line_error(invoke("update", "--store", store), "--signals", "--cases")
