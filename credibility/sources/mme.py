"""Multinational Military Exercises (MME), 1980-2010: one row per exercise, participant and year.

D'Orazio and Galambos (2021), "Multinational Military Exercises, 1980-2010",
Harvard Dataverse V1, doi:10.7910/DVN/KHFODX. The layout read is the long file
of the R package troopdata (``mme_exercises_long.csv``): ``MMEID, year, gwcode,
country`` (other columns ignored; header names are case-insensitive).

Participants are identified by Gleditsch-Ward (GW) codes, which this module maps
to Correlates of War (COW) codes so that they join the other sources:

- GW and COW codes agree except for :data:`GW_TO_COW`: unified Germany (GW 260
  after 1990, COW 255), Serbia (GW 340, COW 345), unified Yemen (GW 678 from 1990,
  COW 679) and Vietnam, which the file codes 817 (the Republic of Vietnam, gone
  in 1975) in 1980-2010 where 816 is meant;
- participants without a GW code (micro-states outside the GW list) are matched
  by name with :data:`MICROSTATES`; other participants without a code (NATO,
  territories such as Bermuda, ``-9``) keep a missing ``ccode``.

Examples
--------
>>> from credibility.sources.reading import example_file
>>> path = example_file("mme.csv", "MMEID,gwcode,country,year",
...                     "x1,2,United States,1995", "x1,260,Germany,1995",
...                     "x1,,Dominica,1995", "x1,,NATO,1995")
>>> read_mme(path)
  exercise  year  ccode        country
0       x1  1995      2  United States
1       x1  1995    255        Germany
2       x1  1995     54       Dominica
3       x1  1995   <NA>           NATO
"""

from __future__ import annotations

import pandas as pd

from credibility.sources.reading import MISSING_CODE, PathLike, read_source

__all__ = ["GW_TO_COW", "MICROSTATES", "MME_COLUMNS", "read_mme"]

#: Columns of the frame :func:`read_mme` returns.
MME_COLUMNS = ("exercise", "year", "ccode", "country")

#: GW code -> (first year the mapping applies, COW code), where the two lists differ.
GW_TO_COW: dict[int, tuple[int, int]] = {
    260: (1991, 255),  # Germany after unification (3 Oct 1990); GFR before
    340: (1816, 345),  # Serbia: COW keeps Yugoslavia's code
    678: (1990, 679),  # Yemen after unification (22 May 1990)
    817: (1976, 816),  # Vietnam miscoded as the Republic of Vietnam (ended 1975)
}

#: Lower-cased participant name -> COW code, for states without a GW code.
MICROSTATES: dict[str, int] = {
    "antigua & barbuda": 58,
    "dominica": 54,
    "grenada": 55,
    "palau": 986,
    "são tomé & príncipe": 403,
    "seychelles": 591,
    "st. christopher": 60,
    "st. kitts & nevis": 60,
    "st. lucia": 56,
    "st. vincent & grenadines": 57,
    "tonga": 955,
    "vanuatu": 935,
    "yemen": 679,
}


def read_mme(path: PathLike) -> pd.DataFrame:
    """Read the MME long file into ``exercise, year, ccode, country``.

    ``exercise`` is the MME id (str), ``ccode`` the participant's COW code
    (nullable Int64: missing for non-state participants), ``country`` the name as
    in the source. One row per (exercise, participant, year) as in the file
    (an exercise listed at several locations repeats its rows). Errors name the
    file and column (missing column, empty exercise id, a GW code that is not an
    integer, an unparseable year).

    Examples
    --------
    >>> from credibility.sources.reading import example_file
    >>> path = example_file("mme.csv", "MMEID,gwcode,country,year", "x1,US,United States,1995")
    >>> read_mme(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    credibility.errors.CredibilityDataError: ...mme.csv (MME exercises), row 1 (line 2), \
column 'gwcode': got 'US'; expected a state code (an integer from 1 to 999, e.g. 2 for the USA)
    """
    table = read_source(path, "MME exercises")
    table.layout({"troopdata mme_long": ("mmeid", "year", "gwcode", "country")})
    table.fail_first(table.frame["mmeid"] == "", "mmeid", "expected an exercise id")
    year = table.integers("year")
    gwcode = table.state_codes("gwcode", missing=("", MISSING_CODE))
    ccode = gwcode.copy()
    for gw, (since, cow) in GW_TO_COW.items():
        ccode = ccode.mask(((gwcode == gw) & (year >= since)).fillna(False), cow)
    by_name = table.frame["country"].str.lower().map(MICROSTATES).astype("Int64")
    ccode = ccode.fillna(by_name)
    frame = pd.DataFrame({"exercise": table.frame["mmeid"], "year": year, "ccode": ccode,
                          "country": table.frame["country"]})
    return frame.reset_index(drop=True)
