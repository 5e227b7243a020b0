"""COW reference tables: state system membership, major powers and direct contiguity.

- State System Membership v2016 (Correlates of War Project 2017): membership spells.
- Major powers v2016 (same source): major-power spells.
- Direct Contiguity v3.2 (Stinnett et al. 2002, *Conflict Management and Peace
  Science* 19(2): 58-66): contiguity relationships with their type and dates.

Layouts read (header names are case-insensitive):

- states: ``stateabb, ccode, statenme, styear, endyear`` (the staged
  ``cow_states.csv`` and the release ``states2016.csv``; month and day columns are
  ignored: a state counts as a member in every year its spell touches);
- majors: ``ccode, styear, endyear`` (staged ``cow_majors.csv``, release
  ``majors2016.csv``);
- contiguity: the staged directed copy ``cow_contdir.csv`` (``ccode1, ccode2,
  conttype, stdate, enddate``, dates ``YYYY-MM-DD``) or the release's master
  records ``contdir.csv`` (``statelno, statehno, conttype, begin, end``, dates
  ``YYYYMM``, one row per undirected pair, stacked here in both directions).

Examples
--------
>>> from credibility.sources.reading import example_file
>>> path = example_file("contdir.csv", "dyad,statelno,statehno,conttype,begin,end",
...                     "2020,2,20,1,192001,201612")
>>> read_contiguity(path)
   ccode1  ccode2  conttype  styear  endyear
0       2      20         1    1920     2016
1      20       2         1    1920     2016
"""

from __future__ import annotations

import pandas as pd

from credibility.sources.reading import PathLike, SourceTable, read_source

__all__ = ["CONTIGUITY_TYPES", "read_contiguity", "read_majors", "read_states"]

#: COW direct contiguity types: 1 land or river border, 2-5 separated by at most
#: 12, 24, 150 or 400 miles of water. The staged copy also has 0: a spell in which a
#: pair was more than 400 miles of water apart (not contiguous).
CONTIGUITY_TYPES = (0, 1, 2, 3, 4, 5)

_STAGED_CONTIGUITY = "staged peacesciencer copy (directed)"
_CONTIGUITY_LAYOUTS = {
    _STAGED_CONTIGUITY: ("ccode1", "ccode2", "conttype", "stdate", "enddate"),
    "COW release contdir (master records)": ("statelno", "statehno", "conttype", "begin",
                                             "end"),
}
_DATE_PATTERNS = {
    _STAGED_CONTIGUITY: (r"([0-9]{4})-[0-9]{2}-[0-9]{2}", "a date YYYY-MM-DD"),
    "COW release contdir (master records)": (r"([0-9]{4})[0-9]{2}", "a year-month YYYYMM"),
}


def read_states(path: PathLike) -> pd.DataFrame:
    """Read COW state system membership spells.

    Returns ``ccode`` (int64), ``stateabb``, ``statenme`` (str), ``styear``,
    ``endyear`` (int64), one row per membership spell, in file order.

    Examples
    --------
    >>> from credibility.sources.reading import example_file
    >>> path = example_file("states.csv", "stateabb,ccode,statenme,styear,endyear",
    ...                     "GMY,255,Germany,1990,2016")
    >>> read_states(path).to_dict("records")
    [{'ccode': 255, 'stateabb': 'GMY', 'statenme': 'Germany', 'styear': 1990, 'endyear': 2016}]
    """
    table = read_source(path, "COW states")
    table.layout({"COW state system": ("stateabb", "ccode", "statenme", "styear", "endyear")})
    table.fail_first(table.frame["stateabb"] == "", "stateabb",
                     "expected a state abbreviation (e.g. USA)")
    frame = pd.DataFrame({"ccode": table.state_codes("ccode"),
                          "stateabb": table.frame["stateabb"],
                          "statenme": table.frame["statenme"]})
    return _with_spell(table, frame)


def read_majors(path: PathLike) -> pd.DataFrame:
    """Read COW major-power spells: ``ccode, styear, endyear`` (int64).

    Examples
    --------
    >>> from credibility.sources.reading import example_file
    >>> path = example_file("majors.csv", "ccode,styear,endyear", "740,1991,2016")
    >>> read_majors(path).to_dict("records")
    [{'ccode': 740, 'styear': 1991, 'endyear': 2016}]
    """
    table = read_source(path, "COW major powers")
    table.layout({"COW major powers": ("ccode", "styear", "endyear")})
    return _with_spell(table, pd.DataFrame({"ccode": table.state_codes("ccode")}))


def read_contiguity(path: PathLike) -> pd.DataFrame:
    """Read COW direct contiguity records as directed pairs with year spans.

    Returns ``ccode1, ccode2, conttype, styear, endyear`` (int64), both directions
    of every relationship; a relationship counts in every year its span touches.
    Errors name the file and column (missing column, a ``conttype`` outside 0..5,
    a date that is not ``YYYY-MM-DD`` / ``YYYYMM``, a span ending before it starts).

    Examples
    --------
    >>> from credibility.sources.reading import example_file
    >>> path = example_file("cow_contdir.csv", "ccode1,ccode2,conttype,stdate,enddate",
    ...                     "2,20,6,1920-01-01,2016-12-01")
    >>> read_contiguity(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    credibility.errors.CredibilityDataError: ...cow_contdir.csv (COW contiguity), row 1 \
(line 2), column 'conttype': got '6'; expected one of 0, 1, 2, 3, 4, 5 (1 = land, 2-5 = water, \
0 = none)
    """
    table = read_source(path, "COW contiguity")
    layout = table.layout(_CONTIGUITY_LAYOUTS)
    first, second, kind, start, end = _CONTIGUITY_LAYOUTS[layout]
    pattern, what = _DATE_PATTERNS[layout]
    frame = pd.DataFrame({
        "ccode1": table.state_codes(first),
        "ccode2": table.state_codes(second),
        "conttype": table.codes(kind, CONTIGUITY_TYPES, meaning="1 = land, 2-5 = water, 0 = none"),
        "styear": _date_years(table, start, pattern, what),
        "endyear": _date_years(table, end, pattern, what),
    })
    table.fail_first(frame["endyear"] < frame["styear"], end,
                     "expected an end on or after the start")
    if layout != _STAGED_CONTIGUITY:
        reverse = frame.rename(columns={"ccode1": "ccode2", "ccode2": "ccode1"})
        frame = pd.concat([frame, reverse[frame.columns]], ignore_index=True)
    return frame.reset_index(drop=True)


def _with_spell(table: SourceTable, frame: pd.DataFrame) -> pd.DataFrame:
    frame["styear"] = table.integers("styear", what="a year")
    frame["endyear"] = table.integers("endyear", what="a year")
    table.fail_first(frame["endyear"] < frame["styear"], "endyear",
                     "expected an end year on or after styear")
    return frame.reset_index(drop=True)


def _date_years(table: SourceTable, column: str, pattern: str, what: str) -> pd.Series:
    cells = table.frame[column]
    table.fail_first(~cells.str.fullmatch(pattern), column, f"expected {what}")
    return cells.str.extract(pattern, expand=False).astype("int64")
