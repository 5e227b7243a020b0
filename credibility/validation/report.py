"""The report of a validation run: summary.md, its tables (CSV) and figures (PNG).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from credibility.validation.ranks import (
    coverage_table,
    recovery_table,
    uniformity_table,
)
from credibility.validation.sbc import SBCResult
from credibility.validation.settings import ValidationError

__all__ = ["REPORT_KINDS", "summary_markdown", "write_report"]

#: What :func:`write_report` writes for each kind of run.
REPORT_KINDS: tuple[str, ...] = ("sbc", "recovery")


def _markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, bool | np.bool_):
            return "FLAGGED" if value else "ok"
        if isinstance(value, float | np.floating):
            return "" if np.isnan(value) else f"{value:.{digits}f}"
        return str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def summary_markdown(result: SBCResult, kind: str = "sbc", *, command: str | None = None,
                     alpha: float = 0.05) -> str:
    """The markdown summary of a run: settings, timing, uniformity, coverage, recovery.

    ``kind="sbc"`` leads with the uniformity tests; ``"recovery"`` with the
    recovery table (and has no uniformity section).
    """
    if kind not in REPORT_KINDS:
        raise ValidationError(f"unknown report kind {kind!r}; expected one of "
                              f"{', '.join(REPORT_KINDS)}")
    title = ("Simulation-based calibration" if kind == "sbc" else "Parameter recovery")
    sections = _sections(result.simulations, alpha)
    order = (["uniformity", "coverage", "recovery"] if kind == "sbc"
             else ["recovery", "coverage"])
    lines = [*_settings_lines(result, title, command), *_run_lines(result), ""]
    for name in order:
        lines += sections[name]
    return "\n".join(lines)


def _settings_lines(result: SBCResult, title: str, command: str | None) -> list[str]:
    """The summary's title, the command that regenerates it, the specs and settings."""
    record = result.settings.to_dict()
    spec, fitted = record.pop("spec"), record.pop("fit_spec")
    if record.get("structure") is not None:
        # The design comes from that table; the synthetic design's sizes are unused.
        for unused in ("commitments", "alliances", "periods", "first_period"):
            record.pop(unused, None)
    lines = [f"# {title}: spec `{spec['name']}` (SYNTHETIC simulations)", ""]
    if command:
        lines += ["Regenerate with:", "", "```", command, "```", ""]
    fit_note = ("the same spec" if fitted["content_sha256"] == spec["content_sha256"]
                else f"`{Path(fitted['source']).name}` (content sha256 "
                f"{fitted['content_sha256'][:12]}; a DIFFERENT spec: a mis-specification check)")
    lines += [f"Data simulated from `{Path(spec['source']).name}` (content sha256 "
              f"{spec['content_sha256'][:12]}), fitted with {fit_note}.", "",
              "| setting | value |", "|---|---|"]
    return lines + [f"| {k} | {v} |" for k, v in record.items()]


def _run_lines(result: SBCResult) -> list[str]:
    """What the run did: simulations computed and reused, time, the sampler's health."""
    sims = result.simulations
    n = sims.sizes["simulation"]
    seconds = sims["seconds"].values
    divergent = int((sims["divergences"] > 0).sum())
    lines = [
        "",
        f"**Simulations:** {n} finished (this call computed {result.computed}, reused "
        f"{result.reused}; {len(result.failed)} failed).",
        f"**Time per simulation** (worker wall time; the first simulation on each worker "
        f"also compiles the model): median {np.median(seconds):.1f} s, mean "
        f"{np.mean(seconds):.1f} s, total {np.sum(seconds) / 60:.1f} min.",
        f"**Sampler:** {divergent} of {n} fits had divergent transitions; median of the "
        f"smallest bulk ESS {np.median(sims['min_ess_bulk'].values):.0f}, median of the "
        f"largest R-hat {np.median(sims['max_rhat'].values):.3f}. Ranks are taken among "
        "draws thinned to each quantity's bulk ESS (at most max_rank).",
    ]
    if "passed" in sims:
        passed = int(sims["passed"].values.astype(bool).sum())
        lines.append(f"**Own diagnostics:** {passed} of {n} measurement fits passed them "
                     f"(R-hat <= 1.01, bulk and tail ESS >= 400, no divergences); draws kept "
                     f"per chain: median {np.median(sims['draws_kept'].values):.0f}, largest "
                     f"{int(sims['draws_kept'].values.max())}.")
    if "outcome_fitted" in sims and result.settings.cases:
        skipped = int((~sims["outcome_fitted"].values.astype(bool)).sum())
        lines.append(f"**Outcome model:** fitted in {n - skipped} of {n} simulations "
                     "(skipped where every simulated outcome was equal).")
    return lines


def _sections(sims: xr.Dataset, alpha: float) -> dict[str, list[str]]:
    """The summary's sections of uniformity, coverage and recovery, by name."""
    uniformity = uniformity_table(sims, alpha=alpha)
    coverage = coverage_table(sims)
    recovery = recovery_table(sims)
    return {
        "uniformity": [
            "## Uniformity of ranks", "",
            f"ECDF test of each quantity's fractional ranks (Säilynoja et al. 2022), Holm's "
            f"correction over {len(uniformity)} quantities at α = {alpha}: "
            f"**{int(uniformity['flagged'].sum())} flagged**"
            + (" (" + ", ".join(uniformity.loc[uniformity["flagged"], "quantity"]) + ")"
               if uniformity["flagged"].any() else "") + ". Figure: `rank_ecdf.png`.", "",
            _markdown_table(uniformity[["quantity", "group", "n", "mean_fraction", "p_value",
                                        "p_holm", "flagged"]]), ""],
        "coverage": [
            "## Coverage of central posterior intervals", "",
            "Share of true values inside the central 50/80/90/95 % posterior intervals "
            "(all draws). `se_90%` is the standard error of the 90 % coverage from the "
            "spread between simulations. Figure: `coverage.png`.", "",
            _markdown_table(coverage), ""],
        "recovery": [
            "## Recovery", "",
            "Posterior mean against truth across simulations: correlation, bias, RMSE, "
            "contraction (1 - posterior variance / prior variance) and the z-score "
            "(mean - truth) / posterior sd. Figure: `recovery.png`.", "",
            _markdown_table(recovery), ""],
    }


def write_report(result: SBCResult, kind: str = "sbc", *, command: str | None = None,
                 alpha: float = 0.05) -> list[Path]:
    """Write ``summary.md``, tables (CSV) and figures (PNG) of a run into its folder.

    Both kinds: ``recovery.csv``, ``recovery.png``, ``coverage.csv``,
    ``coverage.png``; ``kind="sbc"`` adds ``uniformity.csv`` and ``rank_ecdf.png``.
    Returns the paths written.

    Examples
    --------
    >>> write_report(run_sbc(SBCSettings(), "sbc_out", 100), "sbc")  # doctest: +SKIP
    """
    from credibility.validation.plots import plot_coverage, plot_rank_ecdf, plot_recovery

    folder = result.folder
    summary = summary_markdown(result, kind, command=command, alpha=alpha)
    coverage = coverage_table(result.simulations)
    paths = {"summary": folder / "summary.md", "coverage_csv": folder / "coverage.csv",
             "coverage_png": folder / "coverage.png", "recovery_csv": folder / "recovery.csv",
             "recovery_png": folder / "recovery.png"}
    paths["summary"].write_text(summary + "\n", encoding="utf-8")
    coverage.to_csv(paths["coverage_csv"], index=False)
    plot_coverage(coverage, path=paths["coverage_png"])
    recovery_table(result.simulations).to_csv(paths["recovery_csv"], index=False)
    plot_recovery(result.simulations, path=paths["recovery_png"])
    if kind == "sbc":
        uniformity = uniformity_table(result.simulations, alpha=alpha)
        paths["uniformity_csv"] = folder / "uniformity.csv"
        paths["rank_ecdf_png"] = folder / "rank_ecdf.png"
        uniformity.to_csv(paths["uniformity_csv"], index=False)
        plot_rank_ecdf(result.simulations, uniformity=uniformity, alpha=alpha,
                       path=paths["rank_ecdf_png"])
    return list(paths.values())
