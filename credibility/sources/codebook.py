"""The codebook of built tables: every source file, every coding rule, the listings.

:func:`_codebook` writes the Markdown that :func:`~credibility.sources.build.build_tables`
returns with the tables (``codebook.md``), one section per function below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from credibility.sources.coding import _PROVENANCE, KNOWN_ALLIANCES, REGIONS, SUCCESSORS
from credibility.sources.mme import GW_TO_COW, MICROSTATES


def _codebook(*, g: int, g_abb: str, first: int, last: int, files: Mapping[str, tuple[str, str]],
              coverage: Mapping[str, tuple[int, int]], spells: pd.DataFrame,
              commitments: pd.DataFrame, groups: Mapping[int, str], signals: pd.DataFrame,
              signal_notes: Mapping[str, str], cases: pd.DataFrame, failures: pd.DataFrame,
              dropped: pd.DataFrame, case_years: tuple[int, int], names: Mapping[int, str],
              cross_check: str | None) -> str:
    """The codebook's Markdown text."""
    lines = [
        *_sources(g, g_abb, first, last, files, coverage, names),
        *_unit_rules(g, g_abb, first, last),
        *_signal_rules(signal_notes),
        *_case_rules(g, case_years, dropped),
        *_listings(spells, commitments, groups, signals, cases, failures, names),
    ]
    if cross_check is not None:
        lines += ["", "## Cross-check", "", cross_check]
    return "\n".join(lines) + "\n"


def _table(header: list[str], rows: Iterable[Iterable[object]]) -> list[str]:
    """A Markdown table, then a blank line."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _state(names: Mapping[int, str], code: int) -> str:
    return f"{names.get(code, '?')} ({code})"


def _sources(g: int, g_abb: str, first: int, last: int, files: Mapping[str, tuple[str, str]],
             coverage: Mapping[str, tuple[int, int]], names: Mapping[int, str]) -> list[str]:
    """The title, and every source file with its SHA-256, years and provenance."""
    from credibility import __version__

    source_rows = []
    for key, (path, sha) in files.items():
        dataset, snapshot, staged_sha = _PROVENANCE[key]
        origin = (f"staged copy of {snapshot}" if sha == staged_sha
                  else "not the staged copy: provenance as given by the user")
        lo, hi = coverage[key]
        source_rows.append((key, f"`{path}`", f"`{sha}`", f"{lo}-{hi}", dataset, origin))
    return [
        f"# Codebook: {g_abb} commitments, {first}-{last}",
        "",
        f"Built by `credibility.sources.build_tables` (credibility {__version__}) for "
        f"guarantor {_state(names, g)} and the years {first}-{last}. Every row of "
        "`commitments.csv`, `signals.csv` and `cases.csv` is derived from the source files "
        "below by the rules in this codebook (also in `docs/sources.md`); no source rows are "
        "copied. State codes are Correlates of War (COW) codes.",
        "",
        "## Sources",
        "",
        *_table(["source", "file", "SHA-256", "years in file", "dataset", "origin"],
                source_rows),
        "Staged copies: see `../shared/data/README.md` for their conversion from the R "
        "packages' `.rda` files. Cite the original datasets, not this codebook.",
        "",
    ]


def _unit_rules(g: int, g_abb: str, first: int, last: int) -> list[str]:
    """The coding rules of the units and of ``commitments.csv``."""
    return [
        "## Coding rules",
        "",
        "### Units",
        "",
        "- A state is its COW code. "
        + "; ".join(f"code {old} is merged into {new}" for old, new in SUCCESSORS.items())
        + " (the German Federal Republic continues as Germany from 1990, the Yemen Arab "
        "Republic as Yemen from 1990): in every source, rows of the old code count for the "
        "new one, and where both codes report the same year the larger value (troops, NMC "
        "components) or any pledge (ATOP) is kept.",
        "- Region by COW code block: "
        + ", ".join(f"{name} up to {bound}" for bound, name in REGIONS)
        + " (so Turkey, 640, is `middle_east`).",
        "",
        "### commitments.csv",
        "",
        f"- A pledge year is an ATOP row with `ccode1 = {g}` (the guarantor), `ccode2` the "
        "protégé and `defense = 1` (kind *defence*) or else `consultation = 1` (kind "
        "*consultation*).",
        "- A spell is a run of consecutive pledge years of one kind; a missing year or a "
        "change of kind starts a new spell. Spells overlapping the window are kept.",
        f"- `start` is the later of the spell's first year and {first}; `end` is the spell's "
        f"last year, or empty when the spell is still in force in {last} (ongoing).",
        f"- `commitment_id` is `{g_abb}-<protégé COW abbreviation>`, with `-<start>` appended "
        "when a protégé has several spells in the window.",
        "- `type`: `defense_pact` for defence spells, `consultation_pact` for "
        "consultation-only spells.",
        "- `alliance`: two defence protégés are linked when ATOP records a defence obligation "
        "between them in a window year in which both hold a defence pledge from the "
        "guarantor; each connected group of two or more protégés is one multilateral "
        "alliance, labelled by the first of "
        + ", ".join(f"{name} (codes {sorted(sig)})" for name, sig in KNOWN_ALLIANCES)
        + " whose codes all belong to the group or are the guarantor (else "
        f"`{g_abb}-multilateral-<abbreviation of its lowest code>`). All other defence "
        f"pledges and every consultation-only pledge are bilateral treaties, grouped as one "
        f"alliance `{g_abb}-bilateral` (the guarantor's hub-and-spoke system), so that every "
        "alliance level is the common component of several commitments.",
    ]


def _signal_rules(signal_notes: Mapping[str, str]) -> list[str]:
    """The coding rules of ``signals.csv``."""
    return [
        "",
        "### signals.csv",
        "",
        "Each signal is produced for the commitment-years (alliance-years for "
        "`guarantor_capability`) inside the years its source covers; a value that cannot be "
        "coded is an absent row, never a zero.",
        "",
        f"- `troops` (amount): troopdata `troops` for host = protégé and year, plus one, so "
        "that a reported zero stays a valid (low) observation on the log scale. Guarantor "
        f"USA only. {signal_notes['troops']}.",
        "- `joint_exercises` (count): the number of distinct MME exercise ids (`MMEID`) in "
        "the year whose participants include both the guarantor and the protégé (GW codes "
        "mapped to COW as in `credibility.sources.mme`: "
        + ", ".join(f"GW {gw} from {since} -> COW {cow}" for gw, (since, cow)
                    in GW_TO_COW.items())
        + f"; {len(MICROSTATES)} micro-states without a GW code matched by name). Bilateral "
        f"and multilateral exercises count alike. {signal_notes['joint_exercises']}.",
        "- `milex_share` (ratio, target 1): NMC `milex` of the protégé divided by the "
        "guarantor's in the same year. Both are thousands of current US dollars, so "
        "inflation and the currency unit cancel without GDP data; the ratio measures the "
        "protégé's military weight relative to the guarantor (burden sharing and the value "
        f"of the ally). {signal_notes['milex_share']}.",
        "- `consultation` (binary): ATOP `consultation` (the `atop_consul` / `consul` "
        f"column) of the guarantor-protégé dyad-year. {signal_notes['consultation']}.",
        "- `guarantor_capability` (amount, alliance level): NMC `cinc` of the guarantor "
        "in the year, for every alliance-year from the alliance's first commitment start "
        f"to its last commitment end. {signal_notes['guarantor_capability']}.",
        "",
    ]


def _case_rules(g: int, case_years: tuple[int, int], dropped: pd.DataFrame) -> list[str]:
    """The coding rules of ``cases.csv``."""
    return [
        "### cases.csv",
        "",
        f"- One case per commitment-year in {case_years[0]}-{case_years[1]} (the years the "
        "MID, NMC, contiguity and major-power files all cover); `case_id` is "
        "`<commitment_id>-<year>`.",
        "- `outcome` = 0 when the GML directed dispute-year file has a row with `ccode2` = "
        "the protégé, `year` = the case year, `midonset = 1`, `sidea1 = 1` (the challenger "
        "on Side A, which took the first militarised action), `orig1 = 1` and `orig2 = 1` "
        f"(both originators, not joiners) and `ccode1` other than the guarantor ({g}); "
        "else 1. This is the general-deterrence design of Leeds (2003) and Johnson, Leeds "
        "and Wu (2015): a protected state-year without a MID initiated against it is a "
        "success. Challengers include other protégés of the same guarantor.",
        "- `protege_capability`: natural log of the protégé's NMC `cinc` in the year.",
        "- `challenger_capability`: S / (S + P), where P is the protégé's `cinc` and S the "
        "largest `cinc` among the states directly contiguous to the protégé in the year "
        "(COW contiguity, any type 1-5: land or up to 400 miles of water), the guarantor "
        "excluded; 0 when no such neighbour has a `cinc`. The strongest neighbour stands "
        "for the potential challenger, as most MIDs are between neighbours.",
        "- `major_power_contiguous`: 1 when a state contiguous to the protégé (as above, "
        "guarantor excluded) is a COW major power in the year, else 0.",
        f"- Cases without a positive protégé `cinc` are left out ({len(dropped)}: "
        + (", ".join(dropped["case_id"]) if len(dropped) else "none") + ").",
        "",
    ]


def _listings(spells: pd.DataFrame, commitments: pd.DataFrame, groups: Mapping[int, str],
              signals: pd.DataFrame, cases: pd.DataFrame, failures: pd.DataFrame,
              names: Mapping[int, str]) -> list[str]:
    """The commitments, the alliance groups, the failures and the totals."""
    return [
        "## Commitments",
        "",
        *_table(["commitment_id", "protégé", "ATOP spell", "kind", "alliance", "region"],
                [(c.commitment_id, _state(names, int(c.protege_ccode)),
                  f"{c.atop_start}-{c.atop_end}", c.type, c.alliance, c.region)
                 for c in commitments.itertuples()]),
        "## Alliance groups",
        "",
        *_table(["alliance", "members"],
                [(label, ", ".join(_state(names, c)
                                   for c in sorted(k for k, v in groups.items() if v == label)))
                 for label in sorted(set(groups.values()))]),
        "## Deterrence failures (outcome 0) and the disputes behind them",
        "",
        *_table(["case_id", "challenger", "dispnum"],
                [(f.case_id, _state(names, int(f.challenger)), f.dispnum)
                 for f in failures.itertuples()]),
        "## Totals",
        "",
        f"- commitments: {len(commitments)} ({int((commitments['type'] == 'defense_pact').sum())}"
        " defence pacts)",
        f"- signal rows: {len(signals)} ("
        + ", ".join(f"{k}: {v}" for k, v in signals['signal'].value_counts().sort_index().items())
        + ")",
        f"- cases: {len(cases)} ({int((cases['outcome'] == 0).sum())} with outcome 0)",
        f"- spells in ATOP overlapping the window: {len(spells)}",
    ]
