"""The cases table: commitment-years, their deterrence outcome (MID initiations against
the protégé) and covariates (capabilities, contiguous major powers)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from credibility.sources.coding import CASE_COVARIATES


def _cases(frames: Mapping[str, pd.DataFrame], cells: pd.DataFrame, g: int,
           coverage: Mapping[str, tuple[int, int]]
           ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, tuple[int, int]]:
    """Cases, the MID initiations behind failures, dropped cases and the years cases cover."""
    lo = max(coverage[k][0] for k in ("mid", "nmc", "contiguity", "majors"))
    hi = min(coverage[k][1] for k in ("mid", "nmc", "contiguity", "majors"))
    cases = cells[(cells["year"] >= lo) & (cells["year"] <= hi)].copy()
    cases["case_id"] = cases["commitment_id"] + "-" + cases["year"].astype(str)

    mid = frames["mid"]
    initiations = mid[(mid["midonset"] == 1) & (mid["sidea1"] == 1) & (mid["orig1"] == 1)
                      & (mid["orig2"] == 1) & (mid["ccode1"] != g)]
    failures = cases.merge(initiations, left_on=["protege_ccode", "year"],
                           right_on=["ccode2", "year"])
    failures = failures[["case_id", "year", "ccode1", "dispnum"]].rename(
        columns={"ccode1": "challenger"}).drop_duplicates().sort_values(
        ["case_id", "dispnum", "challenger"], ignore_index=True)
    cases["outcome"] = (~cases["case_id"].isin(failures["case_id"])).astype(np.int64)

    cinc = frames["nmc"][["ccode", "year", "cinc"]]
    cases = cases.merge(cinc, how="left", left_on=["protege_ccode", "year"],
                        right_on=["ccode", "year"]).drop(columns="ccode")
    neighbours = _contiguous(frames["contiguity"], lo, hi)
    neighbours = neighbours[neighbours["ccode2"] != g]
    near = cases[["case_id", "protege_ccode", "year"]].merge(
        neighbours, left_on=["protege_ccode", "year"], right_on=["ccode1", "year"])
    near = near.merge(cinc.rename(columns={"ccode": "ccode2", "cinc": "neighbour_cinc"}),
                      how="left", on=["ccode2", "year"])
    majors = _span_years(frames["majors"], lo, hi).rename(columns={"ccode": "ccode2"})
    near = near.merge(majors.assign(major=True), how="left", on=["ccode2", "year"])
    per_case = near.groupby("case_id").agg(strongest=("neighbour_cinc", "max"),
                                           major=("major", "any"))
    cases = cases.join(per_case, on="case_id")
    strongest = cases["strongest"].fillna(0.0)
    cases["protege_capability"] = np.log(cases["cinc"].where(cases["cinc"] > 0))
    cases["challenger_capability"] = strongest / (strongest + cases["cinc"])
    cases["major_power_contiguous"] = cases["major"].fillna(False).astype(np.int64)
    keep = cases["protege_capability"].notna()
    dropped = cases.loc[~keep, ["case_id", "year"]].reset_index(drop=True)
    table = cases.loc[keep, ["case_id", "commitment_id", "year", "outcome",
                             *CASE_COVARIATES]].rename(columns={"year": "period"})
    years = (max(lo, int(cells["year"].min())), min(hi, int(cells["year"].max())))
    return table.reset_index(drop=True), failures, dropped, years


def _span_years(spans: pd.DataFrame, lo: int, hi: int) -> pd.DataFrame:
    """``ccode, year`` for every year ``lo..hi`` inside a ``styear..endyear`` span."""
    rows = [(int(c), y) for c, s, e in spans[["ccode", "styear", "endyear"]].itertuples(index=False)
            for y in range(max(int(s), lo), min(int(e), hi) + 1)]
    return pd.DataFrame(rows, columns=["ccode", "year"]).drop_duplicates()


def _contiguous(contiguity: pd.DataFrame, lo: int, hi: int) -> pd.DataFrame:
    """``ccode1, ccode2, year``: directed pairs contiguous (type 1-5) in a year ``lo..hi``."""
    direct = contiguity[contiguity["conttype"] > 0]
    rows = [(int(a), int(b), y) for a, b, s, e in
            direct[["ccode1", "ccode2", "styear", "endyear"]].itertuples(index=False)
            for y in range(max(int(s), lo), min(int(e), hi) + 1) if a != b]
    return pd.DataFrame(rows, columns=["ccode1", "ccode2", "year"]).drop_duplicates()
