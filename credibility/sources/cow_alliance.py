"""COW Formal Interstate Alliances (v4.1), directed dyad-year file.

Gibler (2009), *International Military Alliances, 1648-2008*, CQ Press. One row per
directed pair of states and year in which they share an alliance, with 0/1
indicators of the alliance types in force.

Two layouts are read (header names are case-insensitive):

- the staged copy (``cow_alliance_dyad_year.csv``, from peacesciencer):
  ``ccode1, ccode2, year, cow_defense, cow_neutral, cow_nonagg, cow_entente``, one
  row per directed dyad-year;
- the COW release ``alliance_v4.1_by_directed_yearly.csv``: ``ccode1, ccode2,
  year, defense, neutrality, nonaggression, entente`` (other columns ignored), one
  row per alliance and directed dyad-year; rows of the same dyad-year are
  collapsed to 1 where any alliance has the obligation (as peacesciencer did to
  make the staged copy).

The COW project asks users to take its alliance data from its own release; the
staged copy is a convenience for tests and examples (see ``docs/sources.md``).

Examples
--------
>>> from credibility.sources.reading import example_file
>>> path = example_file("alliance_v4.1_by_directed_yearly.csv",
...     "version4id,ccode1,ccode2,year,defense,neutrality,nonaggression,entente",
...     "1,2,20,1990,1,0,0,0", "2,2,20,1990,0,0,1,1")
>>> read_cow_alliance(path).iloc[0].to_dict()
{'ccode1': 2, 'ccode2': 20, 'year': 1990, 'defense': 1, 'neutrality': 0, \
'nonaggression': 1, 'entente': 1}
"""

from __future__ import annotations

import pandas as pd

from credibility.sources.reading import PathLike, read_source

__all__ = ["COW_ALLIANCE_COLUMNS", "read_cow_alliance"]

#: Columns of the frame :func:`read_cow_alliance` returns.
COW_ALLIANCE_COLUMNS = ("ccode1", "ccode2", "year", "defense", "neutrality", "nonaggression",
                        "entente")

_STAGED = "staged peacesciencer copy"
_LAYOUTS = {
    _STAGED: ("ccode1", "ccode2", "year", "cow_defense", "cow_neutral", "cow_nonagg",
              "cow_entente"),
    "COW release by_directed_yearly": ("ccode1", "ccode2", "year", "defense", "neutrality",
                                       "nonaggression", "entente"),
}


def read_cow_alliance(path: PathLike) -> pd.DataFrame:
    """Read a COW alliance directed dyad-year file into a tidy frame.

    Returns ``ccode1, ccode2, year`` and the 0/1 indicators ``defense,
    neutrality, nonaggression, entente`` (all int64), one row per directed
    dyad-year, sorted by ``ccode1, ccode2, year``. Errors name the file and
    column (missing column, code other than 0/1, unparseable year or state code,
    a repeated dyad-year in the staged layout).

    Examples
    --------
    >>> from credibility.sources.reading import example_file
    >>> path = example_file("cow.csv", "ccode1,ccode2,year,cow_defense,cow_neutral,cow_nonagg",
    ...                     "2,20,1990,1,0,0")
    >>> read_cow_alliance(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    credibility.errors.CredibilityDataError: ...cow.csv (COW alliances), column 'cow_entente': \
missing column; expected the columns of a known layout (...)
    """
    table = read_source(path, "COW alliances")
    layout = table.layout(_LAYOUTS)
    columns = _LAYOUTS[layout]
    if layout == _STAGED:
        table.unique(list(columns[:3]), "directed dyad-year")
    frame = pd.DataFrame({
        "ccode1": table.state_codes("ccode1"),
        "ccode2": table.state_codes("ccode2"),
        "year": table.integers("year"),
    })
    for name, column in zip(COW_ALLIANCE_COLUMNS[3:], columns[3:], strict=True):
        frame[name] = table.codes(column, (0, 1), meaning="1 = alliance type in force")
    keys = list(COW_ALLIANCE_COLUMNS[:3])
    return frame.groupby(keys, as_index=False).max().sort_values(keys, ignore_index=True)
