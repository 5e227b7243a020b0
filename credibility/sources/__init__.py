"""Loaders for public alliance, capability, exercise, troop and dispute data, and a builder.

One module per source, each with a ``read_*`` function that reads the user's file
(the staged CSV layouts in ``../shared/data`` and, where they differ, the original
release layouts) and returns a tidy frame; a malformed file raises
:class:`~credibility.errors.CredibilityDataError` naming the file and column.

============================  =============================================================
module                        source
============================  =============================================================
:mod:`.atop`                  ATOP v5.1 directed dyad-year obligations
:mod:`.cow_alliance`          COW Formal Interstate Alliances v4.1, directed dyad-year
:mod:`.nmc`                   COW National Material Capabilities v7.0
:mod:`.cow_states`            COW states, major powers, direct contiguity
:mod:`.mid`                   GML Militarized Interstate Disputes v2.2.1, directed dyad-year
:mod:`.mme`                   Multinational Military Exercises 1980-2010
:mod:`.troops`                US troop deployments (troopdata)
:mod:`.nato_spending`         NATO defence expenditure, % of GDP (unverified transcription)
:mod:`.build`                 the builder: :func:`build_tables`, :func:`write_tables`
:mod:`.cases`                 the builder's cases table (outcomes and covariates)
:mod:`.codebook`              the builder's codebook (sources, coding rules, listings)
:mod:`.coding`                the coding rules that the builder and its codebook share
============================  =============================================================

Coding rules: ``docs/sources.md``. Nothing in the package copies source data: the
user points the loaders at their own files.

Examples
--------
>>> from credibility.sources import SourcePaths, build_tables, write_tables
>>> tables = build_tables("USA", (1980, 2010),
...                       SourcePaths.staged("../shared/data"))  # doctest: +SKIP
>>> write_tables(tables, "real_data")  # doctest: +SKIP
"""

from credibility.sources.atop import read_atop
from credibility.sources.build import (
    BuiltTables,
    SourcePaths,
    build_tables,
    parse_years,
    source_paths,
    write_tables,
)
from credibility.sources.cow_alliance import read_cow_alliance
from credibility.sources.cow_states import read_contiguity, read_majors, read_states
from credibility.sources.mid import read_mid_dyad_years
from credibility.sources.mme import read_mme
from credibility.sources.nato_spending import read_nato_spending
from credibility.sources.nmc import read_nmc
from credibility.sources.troops import read_troops

__all__ = [
    "BuiltTables",
    "SourcePaths",
    "build_tables",
    "parse_years",
    "read_atop",
    "read_contiguity",
    "read_cow_alliance",
    "read_majors",
    "read_mid_dyad_years",
    "read_mme",
    "read_nato_spending",
    "read_nmc",
    "read_states",
    "read_troops",
    "source_paths",
    "write_tables",
]
