"""Tests of the validated input data (credibility.data): loading and validating the three
input tables."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credibility.data.container import CredibilityData, _example_data
from credibility.data.spec import ModelSpec, load_spec, parse_spec
from credibility.data.tables import MAX_PERIODS
from credibility.errors import CredibilityDataError

FIXTURES = Path(__file__).parent / "fixtures" / "schema"
TABLES = ("commitments", "signals", "cases")

Grid = list[list[str]]


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    path = FIXTURES / "spec.toml"
    return parse_spec(path.read_text(encoding="utf-8"), source=str(path))


def grids() -> dict[str, Grid]:
    """The fixture tables as lists of cells, header first (data row r is grid[r])."""
    return {
        table: [line.split(",") for line in (FIXTURES / f"{table}.csv").read_text().splitlines()]
        for table in TABLES
    }


def write(folder: Path, tables: dict[str, Grid]) -> dict[str, Path]:
    paths = {}
    for table, grid in tables.items():
        paths[table] = folder / f"{table}.csv"
        paths[table].write_text("".join(",".join(row) + "\n" for row in grid), encoding="utf-8")
    return paths


def load(folder: Path, tables: dict[str, Grid], spec: ModelSpec, **kwargs) -> CredibilityData:
    paths = write(folder, tables)
    return CredibilityData.from_csv(
        paths["commitments"], paths["signals"], paths.get("cases"), spec=spec, **kwargs
    )


@pytest.fixture
def data(spec: ModelSpec) -> CredibilityData:
    return CredibilityData.from_csv(
        FIXTURES / "commitments.csv", FIXTURES / "signals.csv", FIXTURES / "cases.csv", spec=spec
    )


# --------------------------------------------------------------------------- edits

Edit = Callable[[Grid], None]


def cell(row: int, column: str, value: str) -> Edit:
    def edit(grid: Grid) -> None:
        grid[row][grid[0].index(column)] = value

    return edit


def cells(row: int, **values: str) -> Edit:
    def edit(grid: Grid) -> None:
        for column, value in values.items():
            grid[row][grid[0].index(column)] = value

    return edit


def drop(column: str) -> Edit:
    def edit(grid: Grid) -> None:
        position = grid[0].index(column)
        for row in grid:
            del row[position]

    return edit


def bad_cell(table: str, row: int, column: str, value: str,
             expected: str) -> tuple[str, Edit, int, str, str, str]:
    """An :data:`ERRORS` case: ``value`` written into one cell, and the error naming that
    row, column and value."""
    return table, cell(row, column, value), row, column, value, expected


def rename(old: str, new: str) -> Edit:
    return cell(0, old, new)


def header_only(grid: Grid) -> None:
    del grid[1:]


def repeat(row: int) -> Edit:
    def edit(grid: Grid) -> None:
        grid.append(list(grid[row]))

    return edit


# (table, edit, row, column, value, what the message must also say)
# fmt: off
ERRORS = {
    # commitments
    "commitments: missing column": (
        "commitments", drop("region"), None, "region", None, "missing required column"),
    "commitments: unknown column": (
        "commitments", rename("start", "strat"), None, "strat", None,
        "unknown column; the allowed columns are commitment_id"),
    "commitments: repeated column": (
        "commitments", rename("type", "region"), None, "region", None, "appears twice"),
    "commitments: empty table": (
        "commitments", header_only, None, None, None, "no data rows"),
    "commitments: empty required cell": bad_cell(
        "commitments", 2, "guarantor", "", "a value is required"),
    "commitments: start not an integer": bad_cell(
        "commitments", 3, "start", "2000.5", "expected an integer"),
    "commitments: start text": bad_cell("commitments", 3, "start", "abc", "expected an integer"),
    "commitments: start nan": bad_cell("commitments", 1, "start", "nan", "expected an integer"),
    "commitments: start inf": bad_cell("commitments", 1, "start", "inf", "expected an integer"),
    "commitments: start whole float": bad_cell(
        "commitments", 1, "start", "2000.0", "expected an integer"),
    "commitments: end not an integer": bad_cell(
        "commitments", 4, "end", "2004x", "expected an integer"),
    "commitments: end before start": bad_cell("commitments", 3, "end", "1999", ">= start (2001)"),
    "commitments: duplicate id": bad_cell(
        "commitments", 4, "commitment_id", "US-EST",
        "duplicate commitment_id (first seen in row 2)"),
    "commitments: guarantor is protege": bad_cell(
        "commitments", 2, "protege", "USA", "differ from the guarantor"),
    "commitments: span too long": bad_cell(
        "commitments", 4, "end", "20004", f"at most {MAX_PERIODS}"),
    # signals
    "signals: missing column": (
        "signals", drop("value"), None, "value", None, "missing required column"),
    "signals: no unit column": (
        "signals", lambda g: (drop("commitment_id")(g), drop("alliance")(g)), None,
        "commitment_id", None, "'commitment_id' or an 'alliance' column"),
    "signals: unknown column": (
        "signals", rename("source", "sauce"), None, "sauce", None, "unknown column"),
    "signals: empty table": ("signals", header_only, None, None, None, "no data rows"),
    "signals: empty required cell": bad_cell("signals", 5, "signal", "", "a value is required"),
    "signals: no unit": bad_cell("signals", 2, "commitment_id", "", "names one unit"),
    "signals: two units": bad_cell("signals", 2, "alliance", "NATO", "exactly one unit"),
    "signals: unknown commitment": bad_cell(
        "signals", 7, "commitment_id", "US-JPN",
        "unknown commitment"),
    "signals: unknown alliance": bad_cell(
        "signals", 9, "alliance", "ANZUS",
        "unknown alliance: expected one of NATO, US-ROK"),
    "signals: unknown signal": bad_cell(
        "signals", 3, "signal", "spend",
        "unknown signal: expected one declared in spec 'tiny' (exercises, troops"),
    "signals: alliance signal on a commitment": bad_cell(
        "signals", 1, "signal", "alliance_exercises",
        "is alliance-level: expected a row naming an alliance"),
    "signals: commitment signal on an alliance": bad_cell(
        "signals", 8, "signal", "exercises",
        "is commitment-level: expected a row naming a commitment_id"),
    "signals: period not an integer": bad_cell(
        "signals", 4, "period", "2004.5", "expected an integer"),
    "signals: period after commitment end": bad_cell(
        "signals", 6, "period", "2004",
        "active window of commitment 'UK-EST' (2001..2003)"),
    "signals: period before commitment start": bad_cell(
        "signals", 5, "period", "2003",
        "active window of commitment 'US-EST' (2004..2005, ongoing)"),
    "signals: period outside alliance window": bad_cell(
        "signals", 9, "period", "2005",
        "active window of alliance 'US-ROK' (2000..2004"),
    "signals: value text": bad_cell("signals", 2, "value", "lots", "expected a finite number"),
    "signals: value nan": bad_cell("signals", 2, "value", "nan", "expected a finite number"),
    "signals: value inf": bad_cell("signals", 2, "value", "-inf", "expected a finite number"),
    "signals: value overflow": bad_cell("signals", 2, "value", "1e309", "expected a finite number"),
    "signals: negative count": bad_cell(
        "signals", 10, "value", "-3",
        "signal 'exercises' has family count: expected an integer >= 0"),
    "signals: fractional count": bad_cell("signals", 1, "value", "1.5", "expected an integer >= 0"),
    "signals: zero amount": bad_cell(
        "signals", 2, "value", "0", "family amount: expected a number > 0"),
    "signals: negative ratio": bad_cell("signals", 3, "value", "-1.8", "family ratio: expected"),
    "signals: proportion one": bad_cell("signals", 4, "value", "1", "strictly between 0 and 1"),
    "signals: proportion zero": bad_cell("signals", 4, "value", "0", "strictly between 0 and 1"),
    "signals: binary two": bad_cell("signals", 5, "value", "2", "family binary: expected 0 or 1"),
    "signals: binomial above trials": bad_cell(
        "signals", 6, "value", "6", "an integer from 0 to trials"),
    "signals: binomial without trials": bad_cell(
        "signals", 6, "trials", "", "expected trials, an integer >= 1"),
    "signals: binomial zero trials": (
        "signals", cells(6, value="0", trials="0"), 6, "trials", "0", "an integer >= 1"),
    "signals: binomial fractional trials": bad_cell(
        "signals", 6, "trials", "5.5", "an integer >= 1"),
    "signals: trials not a number": bad_cell(
        "signals", 6, "trials", "five", "expected a finite number"),
    "signals: trials on a count": bad_cell("signals", 1, "trials", "4", "expected no trials"),
    "signals: ordinal above levels": bad_cell("signals", 7, "value", "5", "an integer from 1 to 4"),
    "signals: ordinal zero": bad_cell("signals", 7, "value", "0", "an integer from 1 to 4"),
    "signals: exposure on an amount": bad_cell(
        "signals", 2, "exposure", "1", "expected no exposure"),
    "signals: zero exposure": bad_cell("signals", 1, "exposure", "0", "expected an exposure > 0"),
    "signals: infinite exposure": bad_cell(
        "signals", 1, "exposure", "inf", "expected a finite number"),
    "signals: duplicate row": (
        "signals", repeat(3), 11, "signal", "spending",
        "duplicate row for commitment 'US-POL', period 2001, signal 'spending' "
        "(first seen in row 3)"),
    "signals: duplicate alliance row": (
        "signals", repeat(8), 11, "signal", "alliance_exercises",
        "duplicate row for alliance 'NATO', period 2005"),
    "signals: span too long": bad_cell("signals", 1, "period", "30000", "(a typo?)"),
    # cases
    "cases: missing column": ("cases", drop("period"), None, "period", None, "missing"),
    "cases: missing covariate": (
        "cases", drop("gdp_ratio"), None, "gdp_ratio", None, "names it as a covariate"),
    "cases: empty table": ("cases", header_only, None, None, None, "no data rows"),
    "cases: empty required cell": bad_cell("cases", 2, "case_id", "", "a value is required"),
    "cases: duplicate case_id": bad_cell("cases", 3, "case_id", "c1", "(first seen in row 1)"),
    "cases: unknown commitment": bad_cell(
        "cases", 2, "commitment_id", "US-JPN",
        "unknown commitment"),
    "cases: period not an integer": bad_cell("cases", 1, "period", "x", "expected an integer"),
    "cases: period outside window": bad_cell(
        "cases", 2, "period", "2005",
        "active window of commitment 'US-KOR' (2000..2004)"),
    "cases: outcome not 0/1": bad_cell("cases", 1, "outcome", "2", "expected 1 (deterrence held)"),
    "cases: outcome word": bad_cell("cases", 2, "outcome", "yes", "or empty"),
    "cases: covariate not a number": bad_cell("cases", 2, "gdp_ratio", "high", "finite number"),
    "cases: covariate missing on a case to predict": bad_cell(
        "cases", 3, "gdp_ratio", "", "finite number"),
}
# fmt: on


@pytest.mark.parametrize(
    ("table", "edit", "row", "column", "value", "expected"), ERRORS.values(), ids=ERRORS.keys()
)
def test_invalid_input_names_file_row_column_and_value(
    tmp_path: Path,
    spec: ModelSpec,
    table: str,
    edit: Edit,
    row: int | None,
    column: str | None,
    value: str | None,
    expected: str,
) -> None:
    tables = grids()
    edit(tables[table])
    with pytest.raises(CredibilityDataError) as info:
        load(tmp_path, tables, spec)
    error = info.value
    message = str(error)
    assert (error.file, error.row, error.column, error.value) == (
        str(tmp_path / f"{table}.csv"),
        row,
        column,
        value,
    )
    assert message.startswith(str(tmp_path / f"{table}.csv"))
    if row is not None:
        assert f"row {row} (line {row + 1})" in message
    if column is not None:
        assert f"column {column!r}" in message
    if value is not None:
        assert f"got {value!r}" in message
    assert expected in message


def test_message_matches_the_contract_example(tmp_path: Path, spec: ModelSpec) -> None:
    tables = grids()
    cell(10, "value", "-3")(tables["signals"])
    with pytest.raises(CredibilityDataError) as info:
        load(tmp_path, tables, spec)
    assert str(info.value) == (
        f"{tmp_path / 'signals.csv'}, row 10 (line 11), column 'value': got '-3'; "
        "signal 'exercises' has family count: expected an integer >= 0"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        (b"", "the file is empty"),
        (b"commitment_id,start\n\xff\xfe,2000\n", "not UTF-8 text"),
        (b"a,b\n1,2,3\n", "Expected 2 fields in line 2, saw 3"),
        (b'a,b\n"1,2\n', "quotes must be closed"),
        (b"commitment_id,,start\n", "header field 2 is empty"),
    ],
    ids=["missing", "empty", "not-utf8", "ragged", "open-quote", "unnamed-column"],
)
def test_unreadable_file_names_the_file(
    tmp_path: Path, spec: ModelSpec, content: bytes | None, expected: str
) -> None:
    broken = tmp_path / "broken.csv"
    if content is not None:
        broken.write_bytes(content)
    with pytest.raises(CredibilityDataError) as info:
        CredibilityData.from_csv(broken, FIXTURES / "signals.csv", spec=spec)
    assert info.value.file == str(broken)
    assert str(info.value).startswith(str(broken))
    assert expected in str(info.value)


def test_from_frames_reports_the_same_errors_with_table_names(spec: ModelSpec) -> None:
    commitments = pd.read_csv(FIXTURES / "commitments.csv")
    signals = pd.read_csv(FIXTURES / "signals.csv")
    signals.loc[9, "value"] = -3
    with pytest.raises(CredibilityDataError) as info:
        CredibilityData.from_frames(commitments, signals, spec=spec)
    assert str(info.value) == (
        "signals table, row 10 (line 11), column 'value': got '-3'; "
        "signal 'exercises' has family count: expected an integer >= 0"
    )
    with pytest.raises(CredibilityDataError, match=r"^new_signals\.csv, row 10"):
        CredibilityData.from_frames(
            commitments, signals, spec=spec, names={"signals": "new_signals.csv"}
        )


def test_from_frames_rejects_bad_arguments(spec: ModelSpec) -> None:
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        CredibilityData.from_frames([], pd.DataFrame(), spec=spec)  # type: ignore[arg-type]
    frames = [pd.read_csv(FIXTURES / f"{table}.csv") for table in TABLES[:2]]
    with pytest.raises(ValueError, match="unknown table"):
        CredibilityData.from_frames(*frames, spec=spec, names={"signal": "s.csv"})


def test_from_frames_accepts_nullable_and_boolean_columns(
    spec: ModelSpec, data: CredibilityData
) -> None:
    commitments, signals, cases = (pd.read_csv(FIXTURES / f"{t}.csv") for t in TABLES)
    commitments["end"] = commitments["end"].astype("Int64")
    signals["period"] = signals["period"].astype("Int64")
    cases["outcome"] = cases["outcome"].map({1.0: True, 0.0: False}).astype("boolean")
    assert CredibilityData.from_frames(commitments, signals, cases, spec=spec) == data


# --------------------------------------------------------------------------- valid data


def dtypes(frame: pd.DataFrame) -> list[str]:
    """Column dtypes, with every string dtype (object in pandas 2, str in 3) as "str"."""
    return [
        "str" if pd.api.types.is_string_dtype(frame[c]) else str(frame[c].dtype)
        for c in frame.columns
    ]


def test_tables_have_the_documented_columns_and_dtypes(data: CredibilityData) -> None:
    assert list(data.commitments.columns) == [
        "commitment_id",
        "guarantor",
        "protege",
        "alliance",
        "region",
        "type",
        "start",
        "end",
        "ongoing",
    ]
    assert dtypes(data.commitments) == ["str"] * 6 + ["int64", "int64", "bool"]
    assert list(data.signals.columns) == [
        "commitment_id",
        "alliance",
        "level",
        "period",
        "signal",
        "value",
        "trials",
        "exposure",
        "source",
    ]
    assert dtypes(data.signals) == [
        "str",
        "str",
        "str",
        "int64",
        "str",
        "float64",
        "float64",
        "float64",
        "str",
    ]
    assert data.cases is not None
    assert list(data.cases.columns) == [
        "case_id",
        "commitment_id",
        "period",
        "outcome",
        "gdp_ratio",
        "note",
    ]
    assert dtypes(data.cases) == [
        "str",
        "str",
        "int64",
        "float64",
        "float64",
        "str",
    ]
    assert data.sources == {table: str(FIXTURES / f"{table}.csv") for table in TABLES}


def test_values_are_parsed(data: CredibilityData) -> None:
    signals = data.signals
    assert signals["alliance"].tolist()[:3] == ["NATO"] * 3
    assert signals["level"].tolist()[-3:] == ["alliance", "alliance", "commitment"]
    assert signals["commitment_id"].tolist()[7:9] == ["", ""]
    assert signals["value"].tolist()[:2] == [3.0, 4500.5]
    assert signals["exposure"].tolist()[:2] == [2.0, 1.0]
    assert signals["trials"].tolist()[5] == 5.0
    assert signals["trials"].isna().sum() == 9
    assert signals["source"].tolist()[::9] == ["news", "survey"]
    assert data.cases is not None
    np.testing.assert_array_equal(data.cases["outcome"], [1.0, 0.0, np.nan])
    assert data.cases["gdp_ratio"].tolist() == [0.5, 1.25, 2.0]
    assert data.cases["note"].tolist() == ["first", "", "predict"]


def test_ongoing_commitments_end_at_the_last_period(data: CredibilityData) -> None:
    # The last period is the latest of ends, starts, signal and case periods (2005 here).
    assert (data.first_period, data.last_period) == (2000, 2005)
    assert data.commitments["end"].tolist() == [2005, 2005, 2003, 2004]
    assert data.commitments["ongoing"].tolist() == [True, True, False, False]
    np.testing.assert_array_equal(data.periods, np.arange(2000, 2006))


def test_unit_listings_keep_first_appearance_order(data: CredibilityData) -> None:
    assert data.commitment_ids == ("US-POL", "US-EST", "UK-EST", "US-KOR")
    assert data.alliances == ("NATO", "US-ROK")
    assert data.regions == ("Europe", "Asia")
    assert data.types == ("defense_pact", "bilateral_guarantee")
    pd.testing.assert_frame_equal(
        data.alliance_windows,
        pd.DataFrame(
            {"alliance": ["NATO", "US-ROK"], "start": [2000, 2000], "end": [2005, 2004]}
        ).astype({"alliance": "str"}),
    )


def test_round_trip_through_csv(tmp_path: Path, data: CredibilityData) -> None:
    paths = data.to_csv(tmp_path / "out")
    assert sorted(paths) == sorted(TABLES)
    assert paths["commitments"].read_text().splitlines()[1] == (
        "US-POL,USA,POL,NATO,Europe,defense_pact,2000,"
    )
    again = CredibilityData.from_csv(
        paths["commitments"], paths["signals"], paths["cases"], spec=data.spec
    )
    assert again == data
    assert again.sha256() == data.sha256()


def test_round_trip_keeps_awkward_text(tmp_path: Path, spec: ModelSpec) -> None:
    tables = grids()
    cell(1, "source", '"Reuters, 2000 ""quoted"""')(tables["signals"])
    cell(1, "guarantor", "Ünïcode")(tables["commitments"])
    data = load(tmp_path, tables, spec)
    assert data.signals["source"][0] == 'Reuters, 2000 "quoted"'
    paths = data.to_csv(tmp_path / "out")
    again = CredibilityData.from_csv(
        paths["commitments"], paths["signals"], paths["cases"], spec=spec
    )
    assert again == data


def test_from_frames_equals_from_csv(data: CredibilityData, spec: ModelSpec) -> None:
    # Read by pandas' defaults: ints, floats with NaN for empty cells, objects.
    frames = [pd.read_csv(FIXTURES / f"{table}.csv") for table in TABLES]
    assert frames[0]["end"].dtype == np.float64
    from_frames = CredibilityData.from_frames(*frames, spec=spec)
    assert from_frames == data
    assert from_frames.sources == dict.fromkeys(TABLES, "<DataFrame>")


def test_cells_are_stripped_and_blank_lines_keep_row_numbers(
    tmp_path: Path, spec: ModelSpec, data: CredibilityData
) -> None:
    tables = grids()
    tables["commitments"] = [[f"  {c}\t" for c in row] for row in tables["commitments"]]
    tables["signals"].insert(3, [""])
    spaced = load(tmp_path, tables, spec)
    assert spaced == data
    cell(11, "value", "-1")(tables["signals"])  # row 11 of the file is the 10th signal
    with pytest.raises(CredibilityDataError, match=r"row 11 \(line 12\), column 'value'"):
        load(tmp_path, tables, spec)


def test_byte_order_mark_is_ignored(tmp_path: Path, spec: ModelSpec, data: CredibilityData) -> None:
    paths = write(tmp_path, grids())
    paths["commitments"].write_bytes(b"\xef\xbb\xbf" + paths["commitments"].read_bytes())
    again = CredibilityData.from_csv(
        paths["commitments"], paths["signals"], paths["cases"], spec=spec
    )
    assert again == data


def test_optional_columns_may_be_absent(tmp_path: Path, spec: ModelSpec) -> None:
    tables = grids()
    for column in ("trials", "exposure", "source", "alliance"):
        drop(column)(tables["signals"])
    del tables["signals"][6:]  # keep the commitment-level rows that need no trials
    drop("end")(tables["commitments"])
    drop("outcome")(tables["cases"])
    data = load(tmp_path, tables, spec)
    assert data.commitments["ongoing"].all()
    assert (data.signals["exposure"] == 1.0).all()
    assert data.signals["trials"].isna().all()
    assert (data.signals["source"] == "").all()
    assert data.cases is not None
    assert data.cases["outcome"].isna().all()


def test_signals_declared_but_absent_and_units_without_signals_are_allowed(
    tmp_path: Path, spec: ModelSpec
) -> None:
    tables = grids()
    del tables["signals"][2:]
    data = load(tmp_path, tables, spec)
    assert data.signals["signal"].tolist() == ["exercises"]
    assert len(data.commitments) == 4


def test_cases_are_optional(spec: ModelSpec) -> None:
    data = CredibilityData.from_csv(
        FIXTURES / "commitments.csv", FIXTURES / "signals.csv", spec=spec
    )
    assert data.cases is None
    assert "cases" not in data.sources
    assert "cases" not in data.summary()


def test_periods_window_clips_and_drops(data: CredibilityData, spec: ModelSpec) -> None:
    files = [FIXTURES / f"{table}.csv" for table in TABLES]
    clipped = CredibilityData.from_csv(*files, spec=spec, periods=(2002, 2003))
    assert (clipped.first_period, clipped.last_period) == (2002, 2003)
    # US-EST starts in 2004, after the window: dropped with its rows.
    assert clipped.commitment_ids == ("US-POL", "UK-EST", "US-KOR")
    assert clipped.commitments["start"].tolist() == [2002, 2002, 2002]
    assert clipped.commitments["end"].tolist() == [2003, 2003, 2003]
    assert clipped.commitments["ongoing"].tolist() == [True, False, False]
    assert clipped.signals["signal"].tolist() == ["votes", "consultation", "alliance_exercises"]
    assert clipped.cases is not None
    assert clipped.cases["case_id"].tolist() == ["c2"]

    later = CredibilityData.from_csv(*files, spec=spec, periods=(2004, 2010))
    # Ongoing commitments run to the end of the window; ended ones keep their end.
    assert later.commitments.set_index("commitment_id")["end"].to_dict() == {
        "US-POL": 2010,
        "US-EST": 2010,
        "US-KOR": 2004,
    }
    assert len(later.periods) == 7


def test_periods_window_drops_alliance_rows_outside_its_clipped_commitments(
    tmp_path: Path, spec: ModelSpec
) -> None:
    tables = grids()
    # NATO's commitments then span 2000..2001 and 2004.., with a gap: after clipping
    # to 2002..2003 no NATO commitment is left, so NATO's 2002 row cannot stay.
    del tables["commitments"][3]
    cell(1, "end", "2001")(tables["commitments"])
    tables["signals"] = [tables["signals"][0], ["", "NATO", "2002", "alliance_exercises", "4"]]
    for row in tables["signals"]:
        del row[5:]
    del tables["cases"]
    data = load(tmp_path, tables, spec)
    assert data.signals["period"].tolist() == [2002]
    clipped = load(tmp_path, tables, spec, periods=(2002, 2003))
    assert clipped.alliances == ("US-ROK",)
    assert clipped.signals.empty


@pytest.mark.parametrize(
    ("periods", "expected"),
    [
        ((2005, 2000), "first <= last"),
        ((2000.0, 2005), "two integer periods"),
        ((2000,), "two integer periods"),
        ((0, MAX_PERIODS + 1), f"at most {MAX_PERIODS}"),
        ((1900, 1950), "no commitment is active"),
    ],
)
def test_bad_periods_window(spec: ModelSpec, periods: tuple, expected: str) -> None:
    files = [FIXTURES / f"{table}.csv" for table in TABLES]
    with pytest.raises(CredibilityDataError, match=expected):
        CredibilityData.from_csv(*files, spec=spec, periods=periods)


def test_rows_outside_the_window_are_still_validated(spec: ModelSpec) -> None:
    commitments = pd.read_csv(FIXTURES / "commitments.csv")
    signals = pd.read_csv(FIXTURES / "signals.csv")
    signals.loc[0, "value"] = -1
    with pytest.raises(CredibilityDataError, match="row 1"):
        CredibilityData.from_frames(commitments, signals, spec=spec, periods=(2004, 2005))


def test_sha256_is_stable_and_sensitive(
    tmp_path: Path, spec: ModelSpec, data: CredibilityData
) -> None:
    # A fixed digest: the canonical text must not drift between runs or versions.
    assert data.sha256() == EXPECTED_SHA256
    tables = grids()
    cell(2, "value", "4500.6")(tables["signals"])
    assert load(tmp_path, tables, spec).sha256() != data.sha256()
    files = [FIXTURES / f"{table}.csv" for table in TABLES]
    window = CredibilityData.from_csv(*files, spec=spec, periods=(2000, 2006))
    assert window.sha256() != data.sha256()


EXPECTED_SHA256 = "c73d6fe04bcf5262cb7a354e30eb18422d8b661ac595a1b2e5d1751a74b5fbd6"


def test_summary_mentions_units_and_signals(data: CredibilityData) -> None:
    text = data.summary()
    assert text.splitlines()[0] == (
        "4 commitments in 2 alliances (NATO, US-ROK), periods 2000..2005 (6)"
    )
    # Commitment-periods: 6 + 2 + 3 + 5 = 16; two exercises rows.
    assert "  exercises (count, commitment): 2 rows, 88% missing" in text
    # Alliance-periods: NATO 2000..2005 and US-ROK 2000..2004 = 11.
    assert "  alliance_exercises (count, alliance): 2 rows, 82% missing" in text
    assert text.splitlines()[-1] == "cases: 3 (1 to predict)"
    assert repr(data).startswith("CredibilityData(4 commitments, 2 alliances")


def test_equality_and_hashing(data: CredibilityData, spec: ModelSpec) -> None:
    files = [FIXTURES / f"{table}.csv" for table in TABLES]
    assert data == CredibilityData.from_csv(*files, spec=spec)
    assert data != CredibilityData.from_csv(*files[:2], spec=spec)
    assert data != "data"
    with pytest.raises(TypeError):
        hash(data)


def test_default_spec_loads_a_small_frame() -> None:
    commitments = pd.DataFrame(
        {
            "commitment_id": ["US-POL", "US-JPN"],
            "guarantor": ["USA", "USA"],
            "protege": ["POL", "JPN"],
            "alliance": ["NATO", "US-Japan"],
            "region": ["Europe", "Asia"],
            "type": ["defense_pact", "defense_pact"],
            "start": [1999, 1960],
            "end": [None, None],
        }
    )
    signals = pd.DataFrame(
        {
            "commitment_id": ["US-POL", "US-POL", "US-JPN", "US-JPN", "US-JPN", None],
            "alliance": [None, None, None, None, None, "NATO"],
            "period": [2020, 2020, 2020, 2021, 2021, 2021],
            "signal": [
                "joint_exercises",
                "troops",
                "spending_ratio",
                "consultation",
                "intel_sharing",
                "alliance_exercises",
            ],
            "value": [5, 10000, 0.5, 3, 1, 40],
        }
    )
    data = CredibilityData.from_frames(commitments, signals)
    assert data.spec == load_spec("default")
    assert (data.first_period, data.last_period) == (1960, 2021)
    assert data.signals["level"].tolist() == ["commitment"] * 5 + ["alliance"]


def test_many_rows_validate_quickly(tmp_path: Path, spec: ModelSpec) -> None:
    n_commitments, n_periods = 2_000, 50
    ids = [f"C{i}" for i in range(n_commitments)]
    commitments = pd.DataFrame(
        {
            "commitment_id": ids,
            "guarantor": "G",
            "protege": ids,
            "alliance": [f"A{i % 20}" for i in range(n_commitments)],
            "region": "R",
            "type": "T",
            "start": 1970,
            "end": None,
        }
    )
    signals = pd.DataFrame(
        {
            "commitment_id": np.repeat(ids, n_periods),
            "period": np.tile(np.arange(1970, 1970 + n_periods), n_commitments),
            "signal": "troops",
            "value": 1.5,
        }
    )
    data = CredibilityData.from_frames(commitments, signals, spec=spec)
    assert len(data.signals) == n_commitments * n_periods


# --------------------------------------------------------------------------- properties

VALID_TEXT = {table: (FIXTURES / f"{table}.csv").read_text(encoding="utf-8") for table in TABLES}
NASTY = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "\t",
            "-1",
            "0",
            "1",
            "1e309",
            "-1e309",
            "nan",
            "NaN",
            "inf",
            "x",
            "0.5",
            "2000",
            "2003",
            "2006",
            "1999",
            "99999999999999999999",
            "NATO",
            "US-POL",
            "exercises",
            "alliance_exercises",
            "votes",
            '"',
            '""',
            ",",
            "\n",
            "\r",
            "é",
            "1_000",
            "\uff12\uff10\uff10\uff10",
            "\u00a0",
            "\ufeff",  # full-width digits, nbsp, BOM
        ]
    ),
    st.text(max_size=8),
)


@st.composite
def corrupted(draw: st.DrawFn, text: str) -> str:
    """The CSV text with one random corruption."""
    rows = [line.split(",") for line in text.splitlines()]
    kind = draw(st.sampled_from(["cell", "drop", "duplicate", "truncate", "comma"]))
    if kind == "cell":
        row = draw(st.integers(0, len(rows) - 1))
        rows[row][draw(st.integers(0, len(rows[row]) - 1))] = draw(NASTY)
    elif kind == "drop":
        column = draw(st.integers(0, len(rows[0]) - 1))
        rows = [r[:column] + r[column + 1 :] for r in rows]
    elif kind == "duplicate":
        copy = list(rows[draw(st.integers(1, len(rows) - 1))])
        rows.insert(draw(st.integers(1, len(rows))), copy)
    joined = "\n".join(",".join(r) for r in rows) + "\n"
    if kind == "truncate":
        return joined[: draw(st.integers(0, len(joined)))]
    if kind == "comma":
        at = draw(st.integers(0, len(joined)))
        return joined[:at] + "," + joined[at:]
    return joined


def assert_valid(data: CredibilityData) -> None:
    """What downstream code relies on, re-checked from scratch."""
    commitments, signals = data.commitments, data.signals
    assert commitments["commitment_id"].is_unique
    assert (commitments["start"] <= commitments["end"]).all()
    assert commitments["start"].min() >= data.first_period
    assert commitments["end"].max() <= data.last_period
    for column in ("value", "exposure"):
        assert np.isfinite(signals[column]).all()
    binomial = signals["signal"].map(lambda s: data.spec.signal(s).family == "binomial")
    assert np.isfinite(signals["trials"][binomial]).all()
    assert signals["trials"][~binomial].isna().all()
    assert (
        signals["commitment_id"][signals["level"] == "commitment"]
        .isin(commitments["commitment_id"])
        .all()
    )
    assert signals["alliance"].isin(commitments["alliance"]).all()
    assert not signals.duplicated(["commitment_id", "alliance", "period", "signal"]).any()
    assert signals["period"].between(data.first_period, data.last_period).all()
    if data.cases is not None:
        covariates = data.cases[list(data.spec.covariates)]
        assert np.isfinite(covariates.to_numpy()).all()
        assert data.cases["outcome"].isin([0.0, 1.0]).sum() + data.cases[
            "outcome"
        ].isna().sum() == len(data.cases)
    assert len(data.periods) == data.last_period - data.first_period + 1
    data.summary()
    data.sha256()


def check_corrupted(tmp_path: Path, spec: ModelSpec, table: str, text: str) -> None:
    folder = tmp_path / "corrupted"
    folder.mkdir(exist_ok=True)
    paths = {}
    for name in TABLES:
        paths[name] = folder / f"{name}.csv"
        paths[name].write_text(text if name == table else VALID_TEXT[name], encoding="utf-8")
    try:
        data = CredibilityData.from_csv(
            paths["commitments"], paths["signals"], paths["cases"], spec=spec
        )
    except CredibilityDataError:
        return
    assert_valid(data)


@pytest.mark.parametrize("table", ["signals", "commitments", "cases"])
@settings(max_examples=150, deadline=None)
@given(examples=st.data())
def test_corrupted_tables_either_load_valid_or_raise_our_error(
    tmp_path_factory: pytest.TempPathFactory, spec: ModelSpec, table: str,
    examples: st.DataObject
) -> None:
    text = examples.draw(corrupted(VALID_TEXT[table]), label=f"corrupted {table}.csv")
    check_corrupted(tmp_path_factory.mktemp(table), spec, table, text)


def test_from_frames_ignores_the_index_of_a_filtered_frame():
    data = _example_data()
    commitments = pd.read_csv(io.StringIO(data.csv_texts()["commitments"]), dtype=str,
                              keep_default_na=False)
    signals = pd.read_csv(io.StringIO(data.csv_texts()["signals"]), dtype=str,
                          keep_default_na=False)
    # Rows 1 and 3 of four, keeping their original index labels 1 and 3.
    subset = signals.iloc[[1, 3]]
    again = CredibilityData.from_frames(commitments, subset, spec=data.spec)
    assert again.signals["value"].tolist() == data.signals["value"].iloc[[1, 3]].tolist()
