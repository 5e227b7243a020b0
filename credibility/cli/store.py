"""Commands of the posterior store: ``update``, ``history`` and ``diff``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from credibility.cli.common import (
    Quiet,
    StoreDir,
    _check_choice,
    _console,
    _flag,
    _interval,
    _load_fit,
    _open_store,
    _reports_errors,
    _StageLine,
    app,
)
from credibility.cli.tables import _print_diagnostics
from credibility.errors import CredibilityError

if TYPE_CHECKING:
    import pandas as pd

    from credibility.analysis.updating import CaseMerge, MergeResult, UpdateResult
    from credibility.results.fitting import FitResult
    from credibility.results.store import PosteriorStore


def _ledger_table(merge: MergeResult, signals: Path) -> Table:
    """What the update did with the incoming rows, and the revised values."""
    from credibility.data.ledger import LEDGER_ACTIONS

    counts = merge.counts()
    table = Table(title=f"Incoming rows ({escape(str(signals))})", title_justify="left")
    for action in LEDGER_ACTIONS:
        table.add_column(action, justify="right")
    table.add_column("new commitments")
    table.add_row(*(str(counts[a]) for a in LEDGER_ACTIONS),
                  escape(", ".join(merge.added_commitments)) or "none")
    return table


def _cases_table(cases: CaseMerge, path: Path) -> Table:
    """What the update did with the incoming deterrence cases."""
    from credibility.data.ledger import CASE_ACTIONS

    counts = cases.counts()
    table = Table(title=f"Incoming cases ({escape(str(path))})", title_justify="left")
    for action in CASE_ACTIONS:
        table.add_column(action, justify="right")
    table.add_row(*(str(counts[a]) for a in CASE_ACTIONS))
    return table


def _revisions_table(ledger: pd.DataFrame) -> Table:
    table = Table(title="Revised rows (corrections)", title_justify="left")
    for column in ("row", "unit", "period", "signal", "old value", "new value"):
        table.add_column(column, justify="right" if column != "unit" else "left")
    for _, row in ledger[ledger["action"] == "revised"].iterrows():
        unit = row["commitment_id"] or f"{row['alliance']} (alliance)"
        table.add_row(str(row["row"]), escape(unit), str(row["period"]), escape(row["signal"]),
                      f"{row['old_value']:g}", f"{row['new_value']:g}")
    return table


# Options of `update` alone, named here so that its signature reads as a list.
NewSignals = Annotated[Path | None, typer.Option(
    metavar="FILE", help="New signal rows (CSV in the signals table layout).")]
NewCases = Annotated[Path | None, typer.Option(
    metavar="FILE", help="New deterrence cases and outcomes of open ones (CSV in the "
    "cases table layout); the outcome model is refitted.")]
NewCommitments = Annotated[Path | None, typer.Option(
    metavar="FILE", help="Rows of commitments the store does not hold yet (CSV in the "
    "commitments table layout).")]
Revise = Annotated[bool, typer.Option(
    "--revise", help="Let a row or case that changes a stored value replace it (a "
    "correction); without it such a row stops the update.")]
ParentFit = Annotated[Path | None, typer.Option(
    "--fit", metavar="DIR", help="Update this saved fit (`credibility fit --out`) instead "
    "of the store's latest version; it is stored first, as the parent.")]
UpdateMethod = Annotated[str, typer.Option(
    metavar="METHOD", help="exact (default): refit the full posterior on all the data; "
    "approximate: previous posterior as prior, only new periods sampled (fast).")]
Approximate = Annotated[bool, typer.Option(
    "--approximate", help="Same as --method approximate.")]
ParentDraws = Annotated[int | None, typer.Option(
    min=1, help="Posterior draws per chain (default: as the parent).")]
ParentTune = Annotated[int | None, typer.Option(
    min=1, help="Tuning iterations per chain (default: as the parent).")]
ParentChains = Annotated[int | None, typer.Option(min=1, help="Chains (default: as the parent).")]
ParentSeed = Annotated[int | None, typer.Option(help="Random seed (default: as the parent).")]
Note = Annotated[str, typer.Option(help="A note stored with the new version.")]


@app.command()
@_reports_errors
def update(
    store: StoreDir,
    signals: NewSignals = None,
    cases: NewCases = None,
    commitments: NewCommitments = None,
    revise: Revise = False,
    fit_dir: ParentFit = None,
    method: UpdateMethod = "exact",
    approximate: Approximate = False,
    draws: ParentDraws = None,
    tune: ParentTune = None,
    chains: ParentChains = None,
    seed: ParentSeed = None,
    note: Note = "",
    quiet: Quiet = False,
) -> None:
    """Add new signal rows or deterrence cases to a stored fit, refit, and store the
    result as a new version.

    **Reads** the latest version of STORE (checked against its checksums), or the
    fit in --fit DIR, and what is new: SIGNALS in the signals table layout and,
    for commitments the fit does not have yet, COMMITMENTS; CASES in the cases table
    layout (new cases, and outcomes of open ones). The rows are checked like the
    original data. A row that repeats a stored (unit, period, signal) with the same
    value changes nothing; one with a different value stops the update, naming the
    row and both values, unless --revise says it is a correction. An open case
    given with its outcome is resolved; any other change to a stored case needs
    --revise too.

    **Writes** a new version into STORE whose parent is the version updated: the
    refitted posterior, the merged data, ledger.csv (what happened to every
    incoming row: added, unchanged or revised) and cases_ledger.csv (every incoming
    case: added, unchanged, resolved or revised). The exact method samples the full
    posterior again with the parent's settings (--draws etc. override them), so
    it agrees with a fit from scratch on the same data; an update with cases and no
    signal rows keeps a two-stage fit's measurement posterior (it does not depend on
    the cases) and samples its outcome model again.

    **Prints** the ledger summary, the sampler diagnostics and the new version.

    **Examples**

        credibility update --store fits --signals signals_2026.csv
        credibility update --store fits --fit fits/2025 --signals signals_2026.csv
        credibility update --store fits --signals fixes.csv --revise --note "troop counts fixed"
        credibility update --store fits --signals signals_2026.csv --approximate
        credibility update --store fits --cases outcomes_2026.csv
    """
    from credibility.analysis.updating import UPDATE_METHODS, update_fit
    from credibility.inference.diagnostics import ConvergenceWarning

    console = _console()
    method = "approximate" if approximate else method
    _check_choice(method, UPDATE_METHODS, "--method")
    if signals is None and cases is None:
        raise CredibilityError("nothing to update: give --signals FILE, --cases FILE or both")
    posterior_store, base, parent = _update_base(store, fit_dir)
    stages = _StageLine(console, enabled=not quiet)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = update_fit(base, signals, new_cases=cases, method=method, revise=revise,
                                new_commitments=commitments, draws=draws, tune=tune,
                                chains=chains, seed=seed, progress=not quiet, on_stage=stages)
    finally:
        stages.close()
    _print_update(console, result, signals, cases)
    if parent is None:
        parent = posterior_store.save(base, note=f"imported from {fit_dir}")
    version = posterior_store.save(
        result.fit, parent=parent, method=result.method,
        ledger=result.ledger if signals is not None else None,
        cases_ledger=None if result.cases is None else result.cases.ledger,
        note=note or _update_note(result, signals, cases),
    )
    console.print(f"Saved version [bold]{version}[/bold] (parent {parent}, method "
                  f"{result.method}) in {escape(str(store))}", soft_wrap=True)
    if result.fit.is_approximate:
        console.print(_approximate_panel())


def _update_base(store: Path, fit_dir: Path | None
                 ) -> tuple[PosteriorStore, FitResult, str | None]:
    """The store, the fit to update and its version there (None: ``--fit``, not stored yet)."""
    from credibility.results.store import PosteriorStore

    if fit_dir is not None:
        return PosteriorStore(store), _load_fit(fit_dir), None
    posterior_store = _open_store(store)
    parent = posterior_store.latest()
    if parent is None:
        raise CredibilityError(f"store {store} holds no versions yet; start it from a saved "
                               "fit with --fit DIR (a folder written by `credibility fit`)")
    return posterior_store, posterior_store.load(parent), parent


def _print_update(console: Console, result: UpdateResult, signals: Path | None,
                  cases: Path | None) -> None:
    """What the update did with the incoming rows and cases, and the diagnostics."""
    if signals is not None:
        console.print(_ledger_table(result.merge, signals))
        if result.merge.counts()["revised"]:
            console.print(_revisions_table(result.ledger))
    if result.cases is not None:
        console.print(_cases_table(result.cases, cases))
    _print_diagnostics(console, result.fit.diagnostics)


def _update_note(result: UpdateResult, signals: Path | None, cases: Path | None) -> str:
    """The new version's default note: the method and what was added."""
    counts = result.merge.counts()
    what = [f"{signals.name}: {counts['added']} added, {counts['revised']} revised"
            ] if signals is not None else []
    if result.cases is not None:
        case_counts = result.cases.counts()
        what.append(f"{cases.name}: {case_counts['added']} cases added, "
                    f"{case_counts['resolved']} resolved, {case_counts['revised']} revised")
    return f"{result.method} update with {'; '.join(what)}"


def _approximate_panel() -> Panel:
    """The warning shown under an approximate update."""
    from credibility.analysis.approximate import SMOOTHED_PERIODS

    return Panel(
        "This version is an APPROXIMATE update: the previous posterior, summarised by a "
        "normal distribution, was the prior; the periods after the last one with data "
        f"were sampled and the last {SMOOTHED_PERIODS} with data revised. Earlier periods "
        "keep their previous estimates. Run an exact update before citing these results.",
        title="approximate", border_style="yellow")


def _cell(value: Any) -> str:
    import pandas as pd

    return "" if value is None or pd.isna(value) else str(value)


def _created(value: Any) -> str:
    """The UTC date of the store's ISO timestamp (meta.json has the time)."""
    import pandas as pd

    if value is None or pd.isna(value):
        return ""
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%d")


def _count(value: Any) -> str:
    import pandas as pd

    return "" if value is None or pd.isna(value) else str(int(value))


@app.command()
@_reports_errors
def history(store: StoreDir) -> None:
    """List the versions in a posterior store: provenance, data added and diagnostics.

    **Reads** STORE/manifest.json and the meta.json of every version.

    **Prints** one row per version, oldest first: when it was created, the version
    it updated (parent), the update method, how many signal rows the update added
    and revised, how many deterrence cases it added and resolved, and the sampler
    diagnostics (failing ones in red); then each
    version's note.

    **Example**

        credibility history --store fits
    """
    from credibility.inference.diagnostics import ESS_MIN, RHAT_MAX

    frame = _open_store(store).history()
    table = Table(title=f"Posterior store {escape(str(store))}", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
                  caption="added, rev.: signal rows an update added and revised; cases, "
                  "res.: deterrence cases it added and resolved; R-hat, ESS (min bulk ESS), "
                  "div. (divergences): the sampler's diagnostics; dates in UTC",
                  caption_justify="left")
    numbers = ("added", "rev.", "cases", "res.", "R-hat", "ESS", "div.")
    for column in ("version", "created", "parent", "method", *numbers):
        table.add_column(column, justify="right" if column in numbers else "left",
                         no_wrap=True)
    for _, row in frame.iterrows():
        rhat, ess, divergences = row["max_rhat"], row["min_ess_bulk"], row["divergences"]
        table.add_row(
            row["version"], _created(row["created_at"]), escape(_cell(row["parent"])),
            escape(_cell(row["method"])), _count(row["rows_added"]),
            _count(row["rows_revised"]), _count(row["cases_added"]),
            _count(row["cases_resolved"]), _flag(f"{rhat:.3f}", rhat <= RHAT_MAX),
            _flag(f"{ess:.0f}", ess >= ESS_MIN), _flag(str(int(divergences)), divergences == 0),
        )
    console = _console()
    if frame.empty:
        console.print(f"store {escape(str(store))} holds no versions yet", soft_wrap=True)
        return
    console.print(table)
    # Notes can be long: below the table, so that the table fits a narrow terminal.
    for version, note in zip(frame["version"], frame["note"], strict=True):
        if _cell(note):
            console.print(f"{version}: {escape(_cell(note))}", soft_wrap=True)


@app.command()
@_reports_errors
def diff(
    store: StoreDir,
    version_a: Annotated[str, typer.Argument(metavar="A", help="A version, e.g. v0001.")],
    version_b: Annotated[str, typer.Argument(metavar="B", help="Another version, e.g. v0002.")],
    period: Annotated[int | None, typer.Option(
        help="Period to compare (default: the last period both versions cover).")] = None,
) -> None:
    """Compare the credibility of every commitment between two stored versions.

    **Reads** versions A and B of STORE (checked against their checksums).

    **Prints** per commitment active in the period in both: the posterior mean
    credibility in A and in B (z scale), the change B - A with its 90 % interval,
    and P(up), the share of draws in which B is above A. The two posteriors are
    treated as independent (draws paired by index), so P(up) is the probability
    under independent posteriors (docs/updating.md).

    **Examples**

        credibility diff --store fits v0001 v0002
        credibility diff --store fits v0001 v0003 --period 2024
    """
    from credibility.analysis.updating import credibility_diff

    posterior_store = _open_store(store)
    frame = credibility_diff(posterior_store.load(version_a), posterior_store.load(version_b),
                             period)
    frame = frame.sort_values("change", ascending=False)
    shown_period = int(frame["period"].iloc[0])
    table = Table(title=f"Credibility in {shown_period}: {escape(version_a)} → "
                  f"{escape(version_b)} (z scale)", title_justify="left",
                  caption="change = B − A with its 90 % interval; P(up) = share of draws with "
                  "B > A, treating the two posteriors as independent", caption_justify="left")
    for column in ("commitment", "mean A", "mean B", "change", "90 % interval", "P(up)"):
        table.add_column(column, justify="left" if column == "commitment" else "right")
    for _, row in frame.iterrows():
        table.add_row(escape(str(row["commitment_id"])), f"{row['mean_a']:.2f}",
                      f"{row['mean_b']:.2f}", f"{row['change']:+.2f}",
                      _interval(row["change_q05"], row["change_q95"], 2), f"{row['p_up']:.2f}")
    _console().print(table)
