"""US troop deployments abroad (troopdata): US military personnel by host country and year.

Allen, Flynn and Martinez Machain (2022), "Global U.S. military deployment data:
1950-2020", *Conflict Management and Peace Science* 39(3): 351-70; Kane (2005),
"Global U.S. troop deployment, 1950-2003", Heritage Foundation. The data cover US
deployments only, so they give a troop signal for the USA as guarantor.

Two layouts of the R package troopdata are read (header names case-insensitive):

- country-year (``us_troops_country_year.csv``): ``ccode, year, troops``, one row
  per host and year;
- country-quarter rebuild (``us_troops_country_quarter.csv``): ``ccode, year,
  troops_ad`` (active duty), one row per host and report (annual before the
  quarterly DMDC reports, quarterly after). The annual value is the mean of the
  year's reports.

Hosts keep the file's codes: COW codes for states, and troopdata's own codes of 1000
and above for territories and other places (Guam, Gibraltar, "Afloat"), which match
no state. The quarterly file codes Germany 260 in every year, the country-year file
255 from 1990 on.

Examples
--------
>>> from credibility.sources.reading import example_file
>>> path = example_file("q.csv", "ccode,year,quarter,troops_ad",
...                     "740,2010,2,46289", "740,2010,3,46313")
>>> read_troops(path)
   ccode  year   troops
0    740  2010  46301.0
"""

from __future__ import annotations

import pandas as pd

from credibility.sources.reading import PathLike, read_source

__all__ = ["TROOP_COLUMNS", "read_troops"]

#: Columns of the frame :func:`read_troops` returns.
TROOP_COLUMNS = ("ccode", "year", "troops")

_COUNTRY_YEAR = "troopdata country-year"
_LAYOUTS = {
    _COUNTRY_YEAR: ("ccode", "year", "troops"),
    "troopdata country-quarter rebuild": ("ccode", "year", "troops_ad"),
}


def read_troops(path: PathLike) -> pd.DataFrame:
    """Read a troopdata file into ``ccode, year`` (int64) and ``troops`` (float64).

    One row per host and year, sorted by ``ccode, year``; rows with an empty troop
    count are left out. Errors name the file and column (missing column, a
    negative or non-numeric count, an unparseable year, a repeated host-year in
    the country-year layout).

    Examples
    --------
    >>> from credibility.sources.reading import example_file
    >>> path = example_file("troops.csv", "ccode,year,troops", "255,1990,-5")
    >>> read_troops(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    credibility.errors.CredibilityDataError: ...troops.csv (US troops), row 1 (line 2), \
column 'troops': got '-5'; expected a number of persons >= 0
    """
    table = read_source(path, "US troops")
    layout = table.layout(_LAYOUTS)
    column = _LAYOUTS[layout][2]
    if layout == _COUNTRY_YEAR:
        table.unique(["ccode", "year"], "host-year")
    troops = table.numbers(column)
    table.fail_first(troops < 0, column, "expected a number of persons >= 0")
    ccode = table.integers("ccode", what="a host code (a COW state code, or 1000+ for a "
                           "territory)")
    table.fail_first(ccode < 1, "ccode", "expected a positive host code")
    frame = pd.DataFrame({"ccode": ccode, "year": table.integers("year"),
                          "troops": troops}).dropna(subset=["troops"])
    return frame.groupby(["ccode", "year"], as_index=False)["troops"].mean()
