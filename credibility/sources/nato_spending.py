"""NATO members' defence expenditure in % of GDP (third-party transcription, unverified).

The staged copy ``nato_defence_expenditure_pct_gdp.csv`` comes from the GitHub
repository namanjain92/NATO-Analytics; it does not say where the figures come
from (they appear to be NATO's "Defence Expenditure of NATO Countries" tables)
and has not been checked against NATO's publication. It covers 2014-2024, so the
1980-2010 builder does not use it; use it for illustration only.

Layout: wide, ``Country`` plus one column per year; a year suffixed ``e``
(``2024e``) holds NATO's estimate.

Examples
--------
>>> from credibility.sources.reading import example_file
>>> path = example_file("nato.csv", "Country,2023,2024e", "Poland,3.9,4.1")
>>> read_nato_spending(path)
  country  year  pct_gdp  estimate
0  Poland  2023      3.9     False
1  Poland  2024      4.1      True
"""

from __future__ import annotations

import re

import pandas as pd

from credibility.sources.reading import PathLike, read_source

__all__ = ["NATO_SPENDING_COLUMNS", "read_nato_spending"]

#: Columns of the frame :func:`read_nato_spending` returns.
NATO_SPENDING_COLUMNS = ("country", "year", "pct_gdp", "estimate")

_YEAR_COLUMN = r"[0-9]{4}e?"


def read_nato_spending(path: PathLike) -> pd.DataFrame:
    """Read the wide NATO spending table into ``country, year, pct_gdp, estimate``.

    One row per country and year with a value (empty cells are left out),
    ``estimate`` True for columns marked ``e``. Errors name the file and column (no
    ``Country`` column, a column that is not a year, a non-numeric value).

    Examples
    --------
    >>> from credibility.sources.reading import example_file
    >>> path = example_file("nato.csv", "Country,2023,latest", "Poland,3.9,4.1")
    >>> read_nato_spending(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    credibility.errors.CredibilityDataError: ...nato.csv (NATO spending), column 'latest': \
expected a year column such as 2023 or 2024e (estimate)
    """
    table = read_source(path, "NATO spending")
    table.layout({"wide NATO table": ("country",)})
    years = [column for column in table.columns if column != "country"]
    if not years:
        raise table.fail("expected year columns (such as 2023 or 2024e) after Country")
    frames = []
    for column in years:
        if not re.fullmatch(_YEAR_COLUMN, column):
            raise table.fail("expected a year column such as 2023 or 2024e (estimate)",
                             column=column)
        frames.append(pd.DataFrame({
            "country": table.frame["country"],
            "year": int(column[:4]),
            "pct_gdp": table.numbers(column),
            "estimate": column.endswith("e"),
        }))
    long = pd.concat(frames, ignore_index=True).dropna(subset=["pct_gdp"])
    return long.sort_values(["country", "year"], ignore_index=True)
