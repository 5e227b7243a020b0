"""COW National Material Capabilities (NMC v7.0), state-year file.

Singer, Bremer and Stuckey (1972); Singer (1987), *International Interactions* 14:
115-32. One row per state and year with six capability components and their
composite index.

The staged copy (``cow_nmc.csv``, from peacesciencer) and the COW release
(``NMC-70-abridged.csv``, which adds ``stateabb`` and ``version``) share the
columns read here: ``ccode, year, milex, milper, irst, pec, tpop, upop, cinc``.
A missing value is an empty cell (staged copy) or COW's code ``-9`` (release);
both become NaN. ``milex`` is in thousands of current US dollars from 1914 on
(British pounds before), so values of different states in the same year are
comparable but values across years carry inflation.

Examples
--------
>>> from credibility.sources.reading import example_file
>>> path = example_file("nmc.csv", "stateabb,ccode,year,milex,milper,irst,pec,tpop,upop,cinc",
...                     "USA,2,1990,306170000,2180,89726,2754567,250132,-9,0.1418")
>>> row = read_nmc(path).iloc[0]
>>> int(row["ccode"]), float(row["cinc"]), bool(pd.isna(row["upop"]))
(2, 0.1418, True)
"""

from __future__ import annotations

import pandas as pd

from credibility.sources.reading import MISSING_CODE, PathLike, read_source

__all__ = ["NMC_COLUMNS", "read_nmc"]

#: Columns of the frame :func:`read_nmc` returns.
NMC_COLUMNS = ("ccode", "year", "milex", "milper", "irst", "pec", "tpop", "upop", "cinc")

_LAYOUTS = {"NMC (staged copy or COW release)": NMC_COLUMNS}


def read_nmc(path: PathLike) -> pd.DataFrame:
    """Read an NMC state-year file into a tidy frame.

    Returns ``ccode, year`` (int64) and the components ``milex, milper, irst,
    pec, tpop, upop, cinc`` (float64, NaN where missing), one row per state-year,
    in file order. Errors name the file and column (missing column, a
    non-numeric or negative value, an unparseable year, a repeated state-year).

    Examples
    --------
    >>> from credibility.sources.reading import example_file
    >>> path = example_file("nmc.csv", "ccode,year,milex,milper,irst,pec,tpop,upop,cinc",
    ...                     "2,1990,n/a,2180,89726,2754567,250132,,0.14")
    >>> read_nmc(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    credibility.errors.CredibilityDataError: ...nmc.csv (COW NMC), row 1 (line 2), \
column 'milex': got 'n/a'; expected a number (or an empty cell for a missing value)
    """
    table = read_source(path, "COW NMC")
    table.layout(_LAYOUTS)
    table.unique(["ccode", "year"], "state-year")
    frame = pd.DataFrame({"ccode": table.state_codes("ccode"), "year": table.integers("year")})
    for column in NMC_COLUMNS[2:]:
        values = table.numbers(column, missing=("", MISSING_CODE, "-9.0"))
        table.fail_first(values < 0, column,
                         "expected a number >= 0 (capabilities are never negative)")
        frame[column] = values
    return frame.reset_index(drop=True)
