"""The Rich tables and panels the commands print: diagnostics, rankings, predictions.

Each builder takes the library's objects (a fit, a scenario result, a data frame) and
returns or prints a table; the commands decide what to show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from credibility.cli.common import _interval

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

    from credibility.analysis.checks import OutcomeChecks
    from credibility.analysis.scenarios import ScenarioResult
    from credibility.inference.diagnostics import Diagnostics
    from credibility.results.fitting import FitResult


def _print_fit_diagnostics(console: Console, fit: FitResult) -> None:
    """The measurement diagnostics and, for a two-stage fit, the outcome model's."""
    _print_diagnostics(console, fit.diagnostics)
    if fit.outcome_diagnostics is not None:
        _print_diagnostics(console, fit.outcome_diagnostics,
                           title="Sampler diagnostics: outcome model (stage 2)")


def _print_diagnostics(console: Console, diagnostics: Diagnostics,
                       title: str = "Sampler diagnostics") -> None:
    """The diagnostics table, and a red panel when the posterior is not reliable."""
    console.print(_verdict_table(title, diagnostics.lines()))
    if not diagnostics.ok:
        console.print(Panel(
            "\n".join(f"• {escape(p)}" for p in diagnostics.problems())
            + "\n\nDo not use these estimates. Run longer (--max-draws, --budget, --draws), "
            "or check the data and the model.",
            title="posterior NOT reliable", border_style="red", style="red",
        ))


def _checks_table(checks: OutcomeChecks) -> Table:
    """The outcome model's checks with their verdicts."""
    return _verdict_table("Outcome model checks", checks.lines())


def _verdict_table(title: str, lines: Iterable[tuple[str, str, str]]) -> Table:
    """Rows of check, value and verdict (ok in green, FAIL in bold red, info dim)."""
    table = Table(title=title, title_justify="left")
    table.add_column("check")
    table.add_column("value", justify="right")
    table.add_column("verdict")
    styles = {"ok": "green", "FAIL": "bold red", "info": "dim"}
    for check, value, verdict in lines:
        table.add_row(escape(check), escape(value), f"[{styles.get(verdict, '')}]{verdict}[/]")
    return table


def _ranking_table(fit: FitResult, period: int, n: int = 5, label: str = "") -> Table:
    """The ``n`` most and ``n`` least credible commitments in ``period``."""
    z = fit.credibility("z")
    pct = fit.credibility("percentile")
    z, pct = z[z["period"] == period], pct[pct["period"] == period]
    both = z.merge(pct, on=["commitment_id", "period"], suffixes=("", "_pct"))
    both = both.sort_values("mean", ascending=False).reset_index(drop=True)
    table = Table(title=f"Most and least credible commitments in {period}{label}",
                  title_justify="left", caption="90 % posterior intervals; percentile = "
                  "100·Φ(z), the share of a reference population below", caption_justify="left")
    table.add_column("rank", justify="right")
    table.add_column("commitment")
    table.add_column("mean z", justify="right")
    table.add_column("90 % interval z", justify="right")
    table.add_column("percentile", justify="right")
    table.add_column("90 % interval", justify="right")

    def add(rows: pd.DataFrame) -> None:
        for rank, row in rows.iterrows():
            table.add_row(str(rank + 1), escape(str(row["commitment_id"])), f"{row['mean']:.2f}",
                          _interval(row["q05"], row["q95"], 2), f"{row['mean_pct']:.0f}",
                          _interval(row["q05_pct"], row["q95_pct"], 0))

    if len(both) <= 2 * n:
        add(both)
    else:
        add(both.head(n))
        table.add_section()
        add(both.tail(n))
    return table


def _predictions_table(frame: pd.DataFrame, cases: pd.DataFrame, title: str) -> Table:
    table = Table(title=title, title_justify="left",
                  caption="P(deterrence holds): posterior mean and 90 % interval, carrying "
                  "the uncertainty of credibility and of the outcome model",
                  caption_justify="left")
    for column in ("case", "commitment", "period", "P(success)", "90 % interval"):
        table.add_column(column, justify="left" if column in ("case", "commitment") else "right")
    where = cases.set_index("case_id")
    for _, row in frame.iterrows():
        case = where.loc[row["case_id"]]
        table.add_row(escape(str(row["case_id"])), escape(str(case["commitment_id"])),
                      str(int(case["period"])), f"{row['p_mean']:.2f}",
                      _interval(row["p_q05"], row["p_q95"], 2))
    return table


def _scenario_tables(result: ScenarioResult, n: int = 6) -> list[Table]:
    """Predicted P(success) and credibility, baseline vs scenario, with the differences."""
    label = (f"reweighted posterior, Pareto k {result.pareto_k:.2f}, ESS {result.ess:.0f}"
             if result.method == "reweight" else "refitted posterior")
    tables = []
    if result.predictions is not None:
        table = Table(title=f"Scenario vs baseline: P(deterrence holds) ({label})",
                      title_justify="left", caption="difference: 90 % interval over independent "
                      "draws of the two posteriors; P(up) = probability the scenario is higher",
                      caption_justify="left")
        for column in ("case", "baseline", "scenario", "difference", "90 % interval", "P(up)"):
            table.add_column(column, justify="left" if column == "case" else "right")
        for _, row in result.predictions.iterrows():
            table.add_row(escape(str(row["case_id"])), f"{row['baseline_p_mean']:.2f}",
                          f"{row['scenario_p_mean']:.2f}", f"{row['diff_mean']:+.3f}",
                          _interval(row["diff_q05"], row["diff_q95"], 3), f"{row['p_up']:.2f}")
        tables.append(table)
    moved = result.credibility.reindex(
        result.credibility["diff_mean"].abs().sort_values(ascending=False).index).head(n)
    table = Table(title=f"Largest credibility changes (z scale; {label})", title_justify="left")
    for column in ("commitment, period", "baseline", "scenario", "difference", "90 % interval",
                   "P(up)"):
        table.add_column(column, justify="left" if column.startswith("commitment") else "right",
                         no_wrap=True)
    for _, row in moved.iterrows():
        table.add_row(f"{escape(str(row['commitment_id']))} {int(row['period'])}",
                      f"{row['baseline_mean']:.2f}", f"{row['scenario_mean']:.2f}",
                      f"{row['diff_mean']:+.2f}", _interval(row["diff_q05"], row["diff_q95"], 2),
                      f"{row['p_up']:.2f}")
    tables.append(table)
    return tables


def _markdown(frame: pd.DataFrame) -> str:
    """A pipe table of ``frame`` (without its index)."""
    rows = [[str(c) for c in frame.columns], *[[str(v) for v in r] for r in
                                                frame.itertuples(index=False)]]
    lines = ["| " + " | ".join(r) + " |" for r in rows]
    lines.insert(1, "|" + "---|" * len(frame.columns))
    return "\n".join(lines)
