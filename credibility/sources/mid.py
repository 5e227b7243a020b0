"""Militarized Interstate Disputes: the Gibler-Miller-Little (GML) directed dispute-year file.

Gibler, Miller and Little (2016), "An Analysis of the Militarized Interstate Dispute
(MID) Dataset, 1816-2001", *International Studies Quarterly* 60(4): 719-30;
version 2.2.1. One row per dispute, directed pair of participants on opposite
sides and year.

The staged copy (``gml_mid_dirdisp_year.csv``, from peacesciencer) has the layout
of the GML release ``gml-ddy-disputes-2.2.1.csv``; the columns read here are
``dispnum, ccode1, ccode2, year, midonset, sidea1, sidea2, orig1, orig2, hostlev``
(others are ignored). ``sidea`` marks Side A, the side that took the first
militarised action; ``orig`` marks an originator (a participant from the first
day) as opposed to a joiner; ``midonset`` is 1 in the pair's first dispute year.

Examples
--------
>>> from credibility.sources.reading import example_file
>>> path = example_file("gml.csv",
...     "dispnum,ccode1,ccode2,year,midonset,sidea1,sidea2,orig1,orig2,hostlev",
...     "9001,731,732,1999,1,1,0,1,1,4")
>>> read_mid_dyad_years(path).iloc[0].to_dict()
{'dispnum': 9001, 'ccode1': 731, 'ccode2': 732, 'year': 1999, 'midonset': 1, 'sidea1': 1, \
'sidea2': 0, 'orig1': 1, 'orig2': 1, 'hostlev': 4}
"""

from __future__ import annotations

import pandas as pd

from credibility.sources.reading import PathLike, read_source

__all__ = ["MID_COLUMNS", "read_mid_dyad_years"]

#: Columns of the frame :func:`read_mid_dyad_years` returns.
MID_COLUMNS = ("dispnum", "ccode1", "ccode2", "year", "midonset", "sidea1", "sidea2", "orig1",
               "orig2", "hostlev")

_MEANINGS = {
    "midonset": "1 = the pair's first year in the dispute",
    "sidea1": "1 = the first state is on Side A",
    "sidea2": "1 = the second state is on Side A",
    "orig1": "1 = the first state is an originator",
    "orig2": "1 = the second state is an originator",
}


def read_mid_dyad_years(path: PathLike) -> pd.DataFrame:
    """Read a GML directed dispute-year file into a tidy frame.

    Returns the columns of :data:`MID_COLUMNS` (int64), one row per dispute,
    directed pair and year, in file order. Errors name the file and column
    (missing column, a flag other than 0/1, a hostility level outside 1..5, a
    pair with both or neither state on Side A, an unparseable year, a repeated
    dispute-pair-year).

    Examples
    --------
    >>> from credibility.sources.reading import example_file
    >>> path = example_file("gml.csv",
    ...     "dispnum,ccode1,ccode2,year,midonset,sidea1,sidea2,orig1,orig2,hostlev",
    ...     "9001,731,732,1999,1,1,1,1,1,4")
    >>> read_mid_dyad_years(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    credibility.errors.CredibilityDataError: ...gml.csv (GML MID), row 1 (line 2), \
column 'sidea2': got '1'; expected the two states on opposite sides (sidea1 + sidea2 = 1)
    """
    table = read_source(path, "GML MID")
    table.layout({"GML directed dispute-year": MID_COLUMNS})
    table.unique(["dispnum", "ccode1", "ccode2", "year"], "dispute-pair-year")
    frame = pd.DataFrame({
        "dispnum": table.integers("dispnum", what="a dispute number"),
        "ccode1": table.state_codes("ccode1"),
        "ccode2": table.state_codes("ccode2"),
        "year": table.integers("year"),
    })
    for column, meaning in _MEANINGS.items():
        frame[column] = table.codes(column, (0, 1), meaning=meaning)
    table.fail_first(frame["sidea1"] + frame["sidea2"] != 1, "sidea2",
                     "expected the two states on opposite sides (sidea1 + sidea2 = 1)")
    frame["hostlev"] = table.codes("hostlev", (1, 2, 3, 4, 5),
                                   meaning="dispute hostility level 1..5")
    return frame.reset_index(drop=True)
