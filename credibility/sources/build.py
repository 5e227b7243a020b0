"""Build the three package tables (commitments, signals, cases) from the public sources.

:func:`build_tables` reads the user's source files with the loaders of
:mod:`credibility.sources`, codes one guarantor's commitments in a window of years
and returns them with a codebook that records every source file (path, SHA-256,
years covered, provenance) and every coding rule, so that each row can be
re-derived by hand. :func:`write_tables` writes ``commitments.csv``,
``signals.csv``, ``cases.csv`` and ``codebook.md``. The coding rules are
documented in ``docs/sources.md``; in short:

- **commitments**: directed guarantor -> protégé pledges from ATOP: a pledge year
  is a year with a defence or a consultation obligation; consecutive pledge years
  of the same kind form a spell (a gap or a change of kind starts a new one).
  ``type`` is ``defense_pact``, or ``consultation_pact`` for consultation-only
  spells. ``alliance`` groups protégés that also pledge defence to each other
  (NATO, RIO-OAS, ANZUS); the bilateral treaties form one group
  (``USA-bilateral``); ``region`` comes from COW code blocks.
- **signals**: US troops in the protégé (``troops``, amount), joint exercises of
  guarantor and protégé (``joint_exercises``, count, MME), protégé military
  expenditure as a share of the guarantor's (``milex_share``, ratio, NMC), the
  ATOP consultation pledge (``consultation``, binary) and the guarantor's
  composite capability (``guarantor_capability``, amount, alliance level).
- **cases**: protégé-years of an active commitment; ``outcome`` 1 when no third
  state initiated a MID against the protégé that year, 0 otherwise (general
  deterrence: Leeds 2003; Johnson, Leeds and Wu 2015), with covariates
  ``protege_capability``, ``challenger_capability`` and ``major_power_contiguous``.

Examples
--------
>>> tables = build_tables("USA", (1980, 2010),
...                       SourcePaths.staged("../shared/data"))  # doctest: +SKIP
>>> tables.commitments.set_index("commitment_id").loc["USA-JPN", "alliance"]  # doctest: +SKIP
'USA-bilateral'
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from credibility.errors import CredibilityDataError
from credibility.sources.atop import read_atop
from credibility.sources.cases import _cases
from credibility.sources.codebook import _codebook
from credibility.sources.coding import (
    CASE_COVARIATES,
    KNOWN_ALLIANCES,
    REGIONS,
    SIGNALS,
    SUCCESSORS,
)
from credibility.sources.cow_alliance import read_cow_alliance
from credibility.sources.cow_states import read_contiguity, read_majors, read_states
from credibility.sources.mid import read_mid_dyad_years
from credibility.sources.mme import read_mme
from credibility.sources.nmc import read_nmc
from credibility.sources.reading import PathLike
from credibility.sources.troops import read_troops

__all__ = [
    "CASE_COVARIATES",
    "DEFAULT_DATA_DIR",
    "KNOWN_ALLIANCES",
    "REGIONS",
    "SIGNALS",
    "STAGED_FILES",
    "SUCCESSORS",
    "BuiltTables",
    "SourcePaths",
    "build_tables",
    "parse_years",
    "source_paths",
    "write_tables",
]

#: File names of the staged copies in ``../shared/data`` (see its README).
STAGED_FILES: dict[str, str] = {
    "atop": "atop_alliance_dyad_year.csv.gz",
    "nmc": "cow_nmc.csv",
    "states": "cow_states.csv",
    "majors": "cow_majors.csv",
    "contiguity": "cow_contdir.csv",
    "mid": "gml_mid_dirdisp_year.csv",
    "mme": "mme_exercises_long.csv",
    "troops": "us_troops_country_year.csv",
    "cow_alliance": "cow_alliance_dyad_year.csv",
}

#: Folder of the staged copies on the development machine (relative to the working
#: directory); used by default only when it exists.
DEFAULT_DATA_DIR = Path("../shared/data")

_TROOP_GUARANTOR = 2  # the troop data cover US deployments only
_OPTIONAL = ("troops", "cow_alliance")


@dataclass(frozen=True)
class SourcePaths:
    """Where the user's copy of each source is; ``troops`` and ``cow_alliance`` are optional.

    Examples
    --------
    >>> SourcePaths.staged("data").mid.as_posix()
    'data/gml_mid_dirdisp_year.csv'
    """

    atop: Path
    nmc: Path
    states: Path
    majors: Path
    contiguity: Path
    mid: Path
    mme: Path
    troops: Path | None = None
    cow_alliance: Path | None = None

    @classmethod
    def staged(cls, folder: PathLike, **overrides: PathLike | None) -> SourcePaths:
        """The staged file names (:data:`STAGED_FILES`) in ``folder``; ``overrides`` win.

        An optional source (``troops``, ``cow_alliance``) whose staged file is not
        in ``folder`` is left out.
        """
        paths: dict[str, Path | None] = {key: Path(folder) / name
                                         for key, name in STAGED_FILES.items()}
        for key in _OPTIONAL:
            if not paths[key].is_file():
                paths[key] = None
        paths.update({key: None if value is None else Path(value)
                      for key, value in overrides.items()})
        return cls(**paths)

    def items(self) -> Iterable[tuple[str, Path | None]]:
        """``(source key, path)`` pairs in field order."""
        return ((f.name, getattr(self, f.name)) for f in fields(self))


@dataclass(frozen=True)
class BuiltTables:
    """The three package tables built from the sources, and their codebook (Markdown).

    ``failures`` lists the MID initiations behind every case with outcome 0
    (``case_id, year, challenger, dispnum``).
    """

    guarantor: str
    years: tuple[int, int]
    commitments: pd.DataFrame
    signals: pd.DataFrame
    cases: pd.DataFrame
    failures: pd.DataFrame
    codebook: str


def source_paths(data_dir: PathLike | None = None, **overrides: PathLike | None) -> SourcePaths:
    """Source files from a folder of staged copies and per-source paths (which win).

    ``data_dir`` defaults to :data:`DEFAULT_DATA_DIR` when that folder exists;
    without a folder every required source must be given by name (the keys of
    :data:`STAGED_FILES`).

    Examples
    --------
    >>> source_paths("data", troops="my_troops.csv").troops.as_posix()
    'my_troops.csv'
    >>> source_paths("data", atop=None).atop.as_posix()  # None: not given
    'data/atop_alliance_dyad_year.csv.gz'
    """
    unknown = sorted(set(overrides) - set(STAGED_FILES))
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)}; expected "
                         f"{', '.join(STAGED_FILES)}")
    if data_dir is None and DEFAULT_DATA_DIR.is_dir():
        data_dir = DEFAULT_DATA_DIR
    if data_dir is not None:
        paths = SourcePaths.staged(data_dir, **{k: v for k, v in overrides.items()
                                                if v is not None})
    else:
        paths = SourcePaths(**{key: None for key in STAGED_FILES}  # type: ignore[arg-type]
                            | {k: Path(v) for k, v in overrides.items() if v is not None})
    for key, path in paths.items():
        if path is None and key not in _OPTIONAL:
            hint = "" if data_dir is not None else (
                f" (pass it, or a folder of staged copies; {DEFAULT_DATA_DIR} does not exist)")
            raise CredibilityDataError(f"no file given for required source {key!r}{hint}",
                                       file="sources")
    return paths


def parse_years(text: str) -> tuple[int, int]:
    """Parse a window of years such as ``"1980-2010"`` (or a single year ``"1995"``).

    Examples
    --------
    >>> parse_years("1980-2010")
    (1980, 2010)
    >>> parse_years("2010-1980")
    Traceback (most recent call last):
    ...
    credibility.errors.CredibilityDataError: years: got '2010-1980'; expected FIRST-LAST \
with FIRST <= LAST, e.g. 1980-2010
    """
    match = re.fullmatch(r"\s*([0-9]{4})\s*(?:-\s*([0-9]{4})\s*)?", text)
    first, last = (int(match[1]), int(match[2] or match[1])) if match else (1, 0)
    if first > last:
        raise CredibilityDataError("expected FIRST-LAST with FIRST <= LAST, e.g. 1980-2010",
                                   file="years", value=text)
    return first, last


def build_tables(guarantor: str | int, years: tuple[int, int],
                 paths: SourcePaths) -> BuiltTables:
    """Code ``guarantor``'s commitments in ``years`` into the three package tables.

    ``guarantor`` is a COW abbreviation (``"USA"``) or code (``2``); ``years`` the
    inclusive window ``(first, last)``, which ATOP must cover. Signals and cases
    are produced only for years their sources cover (the codebook says which).
    Every source file is read with its loader, so a malformed file raises
    :class:`~credibility.errors.CredibilityDataError` naming the file and column.
    The result validates with
    ``CredibilityData.from_frames(..., spec="models/us_real.toml")``.

    Examples
    --------
    >>> tables = build_tables("USA", (1980, 2010),
    ...                       source_paths("../shared/data"))  # doctest: +SKIP
    >>> tables.commitments.set_index("commitment_id").loc["USA-POL"].tolist()  # doctest: +SKIP
    ['USA', 'POL', 'NATO', 'europe', 'defense_pact', np.int64(1997), <NA>]
    """
    first, last = _window(years)
    frames, files = _load(paths)
    states = frames["states"]
    g = _guarantor_code(guarantor, states)
    abb = _abbreviations(states)
    g_abb = abb.get(g, str(g))
    atop = frames["atop"]
    atop_years = (int(atop["year"].min()), int(atop["year"].max()))
    if first < atop_years[0] or last > atop_years[1]:
        raise CredibilityDataError(
            f"ATOP covers {atop_years[0]}..{atop_years[1]}; expected a window inside it",
            file="years", value=f"{first}-{last}")

    spells = _spells(atop, g, first, last)
    if spells.empty:
        raise CredibilityDataError(
            f"{g_abb} (COW {g}) has no defence or consultation pledge in ATOP in "
            f"{first}..{last}; expected a guarantor with commitments", file="guarantor",
            value=guarantor)
    groups = _alliance_groups(atop, spells, g, abb, first, last)
    commitments = _commitments(spells, groups, g_abb, abb, first, last)
    cells = _commitment_years(commitments)
    coverage = {key: _year_span(frame) for key, frame in frames.items()}
    signals, signal_notes = _signals(frames, cells, commitments, g, coverage, last)
    cases, failures, dropped, case_years = _cases(frames, cells, g, coverage)
    codebook = _codebook(
        g=g, g_abb=g_abb, first=first, last=last, files=files, coverage=coverage,
        spells=spells, commitments=commitments, groups=groups, signals=signals,
        signal_notes=signal_notes, cases=cases, failures=failures, dropped=dropped,
        case_years=case_years, names=_names(states), cross_check=_cow_agreement(frames, cells, g),
    )
    return BuiltTables(guarantor=g_abb, years=(first, last),
                       commitments=commitments.drop(columns=["protege_ccode", "atop_start",
                                                             "atop_end", "window_end"]),
                       signals=signals, cases=cases, failures=failures, codebook=codebook)


def write_tables(tables: BuiltTables, folder: PathLike) -> dict[str, Path]:
    """Write ``commitments.csv``, ``signals.csv``, ``cases.csv`` and ``codebook.md``.

    The folder is created; existing files of these names are replaced. Returns
    the paths written.

    Examples
    --------
    >>> paths = write_tables(tables, "real_data")  # doctest: +SKIP
    >>> sorted(paths)  # doctest: +SKIP
    ['cases', 'codebook', 'commitments', 'signals']
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    paths = {name: target / f"{name}.csv" for name in ("commitments", "signals", "cases")}
    paths["codebook"] = target / "codebook.md"
    for name in ("commitments", "signals", "cases"):
        frame = getattr(tables, name)
        text = frame.to_csv(index=False, lineterminator="\n")
        paths[name].write_text(text, encoding="utf-8")
    paths["codebook"].write_text(tables.codebook, encoding="utf-8")
    return paths


# --------------------------------------------------------------------------- loading


def _window(years: tuple[int, int]) -> tuple[int, int]:
    if (not isinstance(years, tuple | list) or len(years) != 2
            or not all(isinstance(y, int | np.integer) and not isinstance(y, bool)
                       for y in years)):
        raise CredibilityDataError("expected (first, last), two integer years", file="years",
                                   value=years)
    first, last = int(years[0]), int(years[1])
    if first > last:
        raise CredibilityDataError("expected first <= last", file="years", value=years)
    return first, last


def _load(paths: SourcePaths) -> tuple[dict[str, pd.DataFrame], dict[str, tuple[str, str]]]:
    """Every source as a tidy frame with merged successor codes; file path and SHA-256."""
    readers = {
        "atop": read_atop, "nmc": read_nmc, "states": read_states, "majors": read_majors,
        "contiguity": read_contiguity, "mid": read_mid_dyad_years, "mme": read_mme,
        "troops": read_troops, "cow_alliance": read_cow_alliance,
    }
    frames, files = {}, {}
    for key, path in paths.items():
        if path is None:
            if key not in _OPTIONAL:
                raise CredibilityDataError(f"no file given for required source {key!r}",
                                           file=key)
            continue
        frames[key] = _merge_successors(key, readers[key](path))
        files[key] = (os.fspath(path), _sha256(path))
    return frames, files


def _merge_successors(key: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Recode :data:`SUCCESSORS` and collapse the rows that now repeat a key."""
    frame = frame.copy()
    for column in ("ccode", "ccode1", "ccode2"):
        if column in frame:
            frame[column] = frame[column].replace(SUCCESSORS)
    # Where both codes report the same year (1990), the larger value is the whole state.
    collapse = {"atop": ["ccode1", "ccode2", "year"], "cow_alliance": ["ccode1", "ccode2", "year"],
                "nmc": ["ccode", "year"], "troops": ["ccode", "year"]}
    if key in collapse:
        frame = frame.groupby(collapse[key], as_index=False).max()
    elif key == "mme":
        frame = frame.dropna(subset=["ccode"]).drop_duplicates(["exercise", "year", "ccode"])
    return frame


def _sha256(path: PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _year_span(frame: pd.DataFrame) -> tuple[int, int]:
    if "year" in frame:
        return int(frame["year"].min()), int(frame["year"].max())
    return int(frame["styear"].min()), int(frame["endyear"].max())


def _guarantor_code(guarantor: str | int, states: pd.DataFrame) -> int:
    text = str(guarantor).strip()
    if text.isdigit():
        code = SUCCESSORS.get(int(text), int(text))
        found = code in set(states["ccode"])
    else:
        match = states.loc[states["stateabb"].str.upper() == text.upper(), "ccode"]
        found = not match.empty
        code = SUCCESSORS.get(int(match.iloc[0]), int(match.iloc[0])) if found else -1
    if not found:
        raise CredibilityDataError(
            "unknown state: expected a COW abbreviation (e.g. USA) or code (e.g. 2) of the "
            "COW states file", file="guarantor", value=guarantor)
    return code


def _abbreviations(states: pd.DataFrame) -> dict[int, str]:
    latest = states.sort_values("endyear").drop_duplicates("ccode", keep="last")
    return dict(zip(latest["ccode"], latest["stateabb"], strict=True))


def _names(states: pd.DataFrame) -> dict[int, str]:
    latest = states.sort_values("endyear").drop_duplicates("ccode", keep="last")
    return dict(zip(latest["ccode"], latest["statenme"], strict=True))


def _region(code: int) -> str:
    return next(name for bound, name in REGIONS if code <= bound)


# --------------------------------------------------------------------------- commitments


def _spells(atop: pd.DataFrame, g: int, first: int, last: int) -> pd.DataFrame:
    """Pledge spells of the guarantor that overlap the window.

    Columns: ``protege_ccode, kind`` (``defense`` | ``consultation``),
    ``atop_start, atop_end`` (the spell in ATOP, unclipped).
    """
    rows = atop[(atop["ccode1"] == g) & (atop["ccode2"] != g)
                & ((atop["defense"] == 1) | (atop["consultation"] == 1))]
    rows = rows.assign(kind=np.where(rows["defense"] == 1, "defense", "consultation"))
    rows = rows.sort_values(["ccode2", "year"])
    new = ((rows["ccode2"] != rows["ccode2"].shift()) | (rows["year"] != rows["year"].shift() + 1)
           | (rows["kind"] != rows["kind"].shift()))
    rows = rows.assign(spell=new.cumsum())
    spells = rows.groupby("spell").agg(protege_ccode=("ccode2", "first"), kind=("kind", "first"),
                                       atop_start=("year", "min"), atop_end=("year", "max"))
    inside = (spells["atop_start"] <= last) & (spells["atop_end"] >= first)
    return spells[inside].reset_index(drop=True)


def _alliance_groups(atop: pd.DataFrame, spells: pd.DataFrame, g: int, abb: Mapping[int, str],
                     first: int, last: int) -> dict[int, str]:
    """Protégé code -> multilateral group label, for protégés that pledge defence to each other.

    Two defence protégés are linked when ATOP records a defence obligation between
    them in a window year in which both hold a defence pledge from the guarantor;
    groups are the connected components with two or more members.
    """
    defense = spells[spells["kind"] == "defense"]
    years = {(int(p), y) for p, s, e in defense[["protege_ccode", "atop_start", "atop_end"]]
             .itertuples(index=False) for y in range(max(s, first), min(e, last) + 1)}
    protected = pd.DataFrame(sorted(years), columns=["ccode", "year"])
    links = atop[(atop["defense"] == 1) & (atop["ccode1"] != g) & (atop["ccode2"] != g)]
    links = links.merge(protected, left_on=["ccode1", "year"], right_on=["ccode", "year"])
    links = links.merge(protected, left_on=["ccode2", "year"], right_on=["ccode", "year"])
    neighbours: dict[int, set[int]] = {}
    for a, b in links[["ccode1", "ccode2"]].drop_duplicates().itertuples(index=False):
        neighbours.setdefault(int(a), set()).add(int(b))
        neighbours.setdefault(int(b), set()).add(int(a))
    groups: dict[int, str] = {}
    for start in sorted(neighbours):
        if start in groups:
            continue
        members, frontier = {start}, [start]
        while frontier:
            for other in neighbours[frontier.pop()] - members:
                members.add(other)
                frontier.append(other)
        label = next((name for name, signature in KNOWN_ALLIANCES
                      if signature <= members | {g}),
                     f"{abb.get(g, g)}-multilateral-{abb.get(min(members), min(members))}")
        groups.update(dict.fromkeys(members, label))
    return groups


def _commitments(spells: pd.DataFrame, groups: Mapping[int, str], g_abb: str,
                 abb: Mapping[int, str], first: int, last: int) -> pd.DataFrame:
    """The commitments table, plus ``protege_ccode, atop_start, atop_end, window_end``."""
    frame = spells.copy()
    codes = frame["protege_ccode"].astype(int)
    protege = codes.map(lambda c: abb.get(c, str(c)))
    frame["start"] = frame["atop_start"].clip(lower=first)
    frame["window_end"] = frame["atop_end"].clip(upper=last)
    base = g_abb + "-" + protege
    several = base.duplicated(keep=False)
    frame["commitment_id"] = base.where(~several, base + "-" + frame["start"].astype(str))
    frame["guarantor"] = g_abb
    frame["protege"] = protege
    is_defense = frame["kind"] == "defense"
    bilateral = f"{g_abb}-bilateral"
    frame["alliance"] = [groups.get(c, bilateral) if d else bilateral
                         for c, d in zip(codes, is_defense, strict=True)]
    frame["region"] = codes.map(_region)
    frame["type"] = np.where(is_defense, "defense_pact", "consultation_pact")
    # A pledge still in force in the window's last year is ongoing (empty end).
    frame["end"] = frame["window_end"].astype("Int64").mask(frame["atop_end"] >= last)
    columns = ["commitment_id", "guarantor", "protege", "alliance", "region", "type", "start",
               "end", "protege_ccode", "atop_start", "atop_end", "window_end"]
    return frame[columns]


def _commitment_years(commitments: pd.DataFrame) -> pd.DataFrame:
    """One row per active commitment-year: ``commitment_id, protege_ccode, type, year``."""
    rows = [(cid, int(p), kind, y)
            for cid, p, kind, s, e in commitments[["commitment_id", "protege_ccode", "type",
                                                   "start", "window_end"]].itertuples(index=False)
            for y in range(int(s), int(e) + 1)]
    return pd.DataFrame(rows, columns=["commitment_id", "protege_ccode", "type", "year"])


# --------------------------------------------------------------------------- signals


def _signals(frames: Mapping[str, pd.DataFrame], cells: pd.DataFrame, commitments: pd.DataFrame,
             g: int, coverage: Mapping[str, tuple[int, int]],
             last: int) -> tuple[pd.DataFrame, dict[str, str]]:
    """The signals table and one note per signal on the rows it has and lacks."""
    parts, notes = [], {}

    def covered(key: str) -> pd.DataFrame:
        lo, hi = coverage[key]
        return cells[(cells["year"] >= lo) & (cells["year"] <= hi)]

    def add(name: str, rows: pd.DataFrame, source: str, note: str) -> None:
        parts.append(pd.DataFrame({"commitment_id": rows["commitment_id"], "alliance": "",
                                   "period": rows["year"], "signal": name,
                                   "value": rows["value"].astype(np.float64), "source": source}))
        notes[name] = f"{len(rows)} rows; {note}"

    if "troops" not in frames:
        notes["troops"] = "0 rows: no troop file given"
    elif g != _TROOP_GUARANTOR:
        notes["troops"] = "0 rows: the troop data cover US deployments only"
    else:
        rows = covered("troops").merge(frames["troops"], left_on=["protege_ccode", "year"],
                                       right_on=["ccode", "year"])
        add("troops", rows.assign(value=rows["troops"] + 1), "troopdata: troops + 1",
            f"{len(covered('troops')) - len(rows)} commitment-years in the troop data's years "
            "have no row for the protégé")

    mme = frames["mme"]
    with_g = mme.loc[mme["ccode"] == g, ["exercise", "year"]]
    joint = mme.merge(with_g, on=["exercise", "year"])
    counts = joint.groupby(["ccode", "year"])["exercise"].nunique().rename("value").reset_index()
    counts["ccode"] = counts["ccode"].astype(np.int64)
    rows = covered("mme").merge(counts, how="left", left_on=["protege_ccode", "year"],
                                right_on=["ccode", "year"]).fillna({"value": 0})
    add("joint_exercises", rows, "MME: exercises with both states",
        "every commitment-year in the MME years, zeros included")

    nmc = frames["nmc"]
    g_milex = nmc.loc[nmc["ccode"] == g, ["year", "milex"]].rename(columns={"milex": "g_milex"})
    rows = covered("nmc").merge(nmc[["ccode", "year", "milex"]], left_on=["protege_ccode", "year"],
                                right_on=["ccode", "year"]).merge(g_milex, on="year")
    usable = (rows["milex"] > 0) & (rows["g_milex"] > 0)
    add("milex_share", rows[usable].assign(value=rows["milex"] / rows["g_milex"]),
        "COW NMC: milex / guarantor milex",
        f"{len(covered('nmc')) - int(usable.sum())} commitment-years without a positive milex "
        "for protégé or guarantor are left out")

    atop = frames["atop"]
    rows = cells.merge(atop.loc[atop["ccode1"] == g, ["ccode2", "year", "consultation"]],
                       left_on=["protege_ccode", "year"], right_on=["ccode2", "year"])
    add("consultation", rows.rename(columns={"consultation": "value"}),
        "ATOP: consultation obligation", "every commitment-year")

    g_cinc = nmc.loc[(nmc["ccode"] == g) & (nmc["cinc"] > 0), ["year", "cinc"]]
    ends = commitments["end"].fillna(last).astype(np.int64)
    windows = commitments.assign(end=ends).groupby("alliance").agg(start=("start", "min"),
                                                                   end=("end", "max"))
    alliance_years = pd.DataFrame(
        [(a, y) for a, s, e in windows.itertuples() for y in range(int(s), int(e) + 1)],
        columns=["alliance", "year"])
    rows = alliance_years.merge(g_cinc, on="year")
    parts.append(pd.DataFrame({"commitment_id": "", "alliance": rows["alliance"],
                               "period": rows["year"], "signal": "guarantor_capability",
                               "value": rows["cinc"], "source": "COW NMC: guarantor cinc"}))
    notes["guarantor_capability"] = (f"{len(rows)} rows; one per alliance-year in the NMC "
                                     "years (the same value for every alliance in a year)")
    signals = pd.concat(parts, ignore_index=True)
    return signals.sort_values(["signal", "commitment_id", "alliance", "period"],
                               ignore_index=True), notes


def _cow_agreement(frames: Mapping[str, pd.DataFrame], cells: pd.DataFrame,
                   g: int) -> str | None:
    """How often COW alliances agrees that a defence pledge is in force (a validity check)."""
    if "cow_alliance" not in frames:
        return None
    cow = frames["cow_alliance"]
    lo, hi = _year_span(cow)
    inside = cells[(cells["year"] >= lo) & (cells["year"] <= hi)
                   & (cells["type"] == "defense_pact")]
    pledged = cow.loc[(cow["ccode1"] == g) & (cow["defense"] == 1), ["ccode2", "year"]]
    agree = inside.merge(pledged, left_on=["protege_ccode", "year"], right_on=["ccode2", "year"])
    share = len(agree) / len(inside) if len(inside) else math.nan
    return (f"COW alliances (v4.1, {lo}..{hi}) also records a defence pledge of the guarantor "
            f"in {len(agree)} of the {len(inside)} defence-pact years it covers ({share:.0%}).")
