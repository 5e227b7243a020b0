"""ATOP: Alliance Treaty Obligations and Provisions, directed dyad-year file.

Leeds, Ritter, Mitchell and Long (2002), *International Interactions* 28: 237-60;
version 5.1. One row per directed pair of states and year in which the pair shares
at least one ATOP alliance, with 0/1 indicators of the obligations in force.

Two layouts are read (header names are case-insensitive):

- the staged copy (``atop_alliance_dyad_year.csv.gz``, from the R package
  peacesciencer): ``ccode1, ccode2, year, atop_defense, atop_offense,
  atop_neutral, atop_nonagg, atop_consul``;
- the ATOP release's directed dyad-year file (``atop5_1ddyr.csv``):
  ``stateA, stateB, year, defense, offense, neutral, nonagg, consul`` (its other
  columns are ignored).

Examples
--------
>>> from credibility.sources.reading import example_file
>>> path = example_file("atop.csv",
...     "ccode1,ccode2,year,atop_defense,atop_offense,atop_neutral,atop_nonagg,atop_consul",
...     "2,740,1980,1,0,0,0,1")
>>> read_atop(path).iloc[0].to_dict()
{'ccode1': 2, 'ccode2': 740, 'year': 1980, 'defense': 1, 'offense': 0, \
'neutrality': 0, 'nonaggression': 0, 'consultation': 1}
"""

from __future__ import annotations

import pandas as pd

from credibility.sources.reading import PathLike, read_source

__all__ = ["ATOP_COLUMNS", "read_atop"]

#: Columns of the frame :func:`read_atop` returns.
ATOP_COLUMNS = ("ccode1", "ccode2", "year", "defense", "offense", "neutrality",
                "nonaggression", "consultation")

_OBLIGATIONS = ATOP_COLUMNS[3:]
_LAYOUTS = {
    "staged peacesciencer copy": ("ccode1", "ccode2", "year", "atop_defense", "atop_offense",
                                  "atop_neutral", "atop_nonagg", "atop_consul"),
    "ATOP release atop5_1ddyr": ("statea", "stateb", "year", "defense", "offense", "neutral",
                                 "nonagg", "consul"),
}


def read_atop(path: PathLike) -> pd.DataFrame:
    """Read an ATOP directed dyad-year file into a tidy frame.

    Returns ``ccode1, ccode2, year`` (int64; COW codes of the first and second
    state) and the 0/1 indicators ``defense, offense, neutrality, nonaggression,
    consultation`` (int64), one row per directed dyad-year, in file order.
    Raises :class:`~credibility.errors.CredibilityDataError` naming the file and
    column for a missing column, a code other than 0/1, an unparseable year or
    state code, or a repeated dyad-year.

    Examples
    --------
    >>> from credibility.sources.reading import example_file
    >>> path = example_file("atop5_1ddyr.csv",
    ...     "stateA,stateB,year,defense,offense,neutral,nonagg,consul", "2,740,1980,2,0,0,0,1")
    >>> read_atop(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    credibility.errors.CredibilityDataError: ...atop5_1ddyr.csv (ATOP), row 1 (line 2), \
column 'defense': got '2'; expected one of 0, 1 (1 = obligation in force)
    """
    table = read_source(path, "ATOP")
    columns = _LAYOUTS[table.layout(_LAYOUTS)]
    table.unique(list(columns[:3]), "directed dyad-year")
    frame = pd.DataFrame({
        "ccode1": table.state_codes(columns[0]),
        "ccode2": table.state_codes(columns[1]),
        "year": table.integers("year"),
    })
    for name, column in zip(_OBLIGATIONS, columns[3:], strict=True):
        frame[name] = table.codes(column, (0, 1), meaning="1 = obligation in force")
    return frame.reset_index(drop=True)
