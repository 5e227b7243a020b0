"""``credibility validate sbc|recovery``: the model checked on simulated data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from credibility.cli.common import (
    Chains,
    Draws,
    FixedLength,
    Quiet,
    Seed,
    Tune,
    _console,
    _print_written,
    _reports_errors,
    app,
)

validate_app = typer.Typer(
    help="Check the model on simulated data: simulation-based calibration (SBC) and "
    "parameter recovery, run on dask.distributed.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(validate_app, name="validate")

ValidateSpec = Annotated[str, typer.Option(
    metavar="NAME|FILE", help="Spec the data are simulated from; every signal prior must be "
    "explicit (no \"auto\").")]
ValidateFitSpec = Annotated[str | None, typer.Option(
    metavar="NAME|FILE", help="Spec the model is fitted with (default: --spec). A different "
    "one shows how a mis-specified prior shows up.")]
ValidateOut = Annotated[Path, typer.Option(
    help="Folder for the run (created); an existing run there with the same settings resumes.")]
ValidateScheduler = Annotated[str | None, typer.Option(
    metavar="ADDRESS", envvar="DASK_SCHEDULER_ADDRESS",
    help="Address of a running dask scheduler, e.g. tcp://127.0.0.1:8786 (default: a "
    "LocalCluster on this machine).")]
ValidateWorkers = Annotated[int | None, typer.Option(
    min=1, help="LocalCluster worker processes (default: cores / chains).")]
ValidateCommitments = Annotated[int, typer.Option(
    min=2, help="Commitments of the synthetic design.")]
ValidateAlliances = Annotated[int, typer.Option(min=1, help="Alliances of the synthetic design.")]
ValidatePeriods = Annotated[int, typer.Option(min=2, help="Periods of the synthetic design.")]
ValidateStructure = Annotated[str | None, typer.Option(
    metavar="DATASET|CSV", help="Use this commitments table as the design instead: a bundled "
    "data set (e.g. demo) or a commitments CSV.")]
ValidateMissing = Annotated[float, typer.Option(
    min=0.0, max=0.99, help="Share of reports missing (the same ones in every simulation).")]
ValidateCases = Annotated[int, typer.Option(
    min=0, help="Deterrence cases per simulation; > 0 also checks the outcome model.")]
ValidateMaxRank = Annotated[int, typer.Option(
    min=1, help="At most this many thinned draws per rank (fewer when the ESS is lower).")]


def _validate(kind: str, **options: Any) -> None:
    """Run (or resume) simulations, write the report and print its tables."""
    import shlex

    from credibility.validation import SBCSettings, run_sbc, write_report

    names = {"n_sims": "--n-sims", "fit_spec": "--fit-spec", "max_rank": "--max-rank"}
    fixed_length = options.pop("fixed_length")
    command = f"credibility validate {kind} " + " ".join(
        f"{names.get(k, '--' + k.replace('_', '-'))} {shlex.quote(str(v))}"
        for k, v in options.items()
        if v is not None and k not in ("quiet", "strict", "scheduler", "workers")
        and not (kind == "recovery" and k == "max_rank")) + (
        " --fixed-length" if fixed_length else "")
    run = {k: options.pop(k) for k in ("n_sims", "out", "scheduler", "workers", "quiet",
                                       "strict")}
    settings = SBCSettings(**options, until_reliable=not fixed_length)
    console = _console()
    where = run["scheduler"] or "a LocalCluster"
    console.print(f"{kind}: {run['n_sims']} simulations on {escape(where)}; results in "
                  f"{escape(str(run['out']))}", soft_wrap=True)
    result = run_sbc(settings, run["out"], run["n_sims"], scheduler=run["scheduler"],
                     n_workers=run["workers"], progress=not run["quiet"])
    written = write_report(result, kind, command=command)
    if result.failed:
        typer.echo(f"warning: {len(result.failed)} simulations failed (see "
                   f"{run['out'] / 'failed.json'}); run again to retry them", err=True)
    coverage = result.coverage()
    table = Table(title="Coverage of central posterior intervals", title_justify="left")
    for column in ("group", "n", "50%", "80%", "90%", "95%"):
        table.add_column(column, justify="left" if column == "group" else "right")
    for _, row in coverage.iterrows():
        table.add_row(escape(row["group"]), str(row["n"]),
                      *(f"{row[c]:.3f}" for c in ("50%", "80%", "90%", "95%")))
    console.print(table)
    flagged = 0
    if kind == "sbc":
        uniformity = result.uniformity()
        flagged = int(uniformity["flagged"].sum())
        shown = uniformity.sort_values("p_value").head(8)
        table = Table(title=f"Rank uniformity (Holm-corrected): {flagged} of {len(uniformity)} "
                      "quantities flagged; smallest p-values", title_justify="left")
        for column in ("quantity", "n", "p", "p (Holm)", "verdict"):
            table.add_column(column, justify="left" if column == "quantity" else "right")
        for _, row in shown.iterrows():
            table.add_row(escape(row["quantity"]), str(row["n"]), f"{row['p_value']:.3f}",
                          f"{row['p_holm']:.3f}", "[bold red]FLAGGED[/]" if row["flagged"]
                          else "[green]ok[/]")
        console.print(table)
    else:
        recovery = result.recovery()
        table = Table(title="Recovery: posterior mean vs truth", title_justify="left")
        for column in ("quantity", "n", "correlation", "rmse", "contraction"):
            table.add_column(column, justify="left" if column == "quantity" else "right")
        for _, row in recovery.iterrows():
            table.add_row(escape(row["quantity"]), str(row["n"]),
                          *(f"{row[c]:.2f}" for c in ("correlation", "rmse", "contraction")))
        console.print(table)
    _print_written(console, written)
    if run["strict"] and flagged:
        raise typer.Exit(code=1)


@validate_app.command("sbc")
@_reports_errors
def validate_sbc(
    out: ValidateOut,
    spec: ValidateSpec = "default",
    n_sims: Annotated[int, typer.Option(min=1, help="Number of simulations.")] = 100,
    fit_spec: ValidateFitSpec = None,
    commitments: ValidateCommitments = 6,
    alliances: ValidateAlliances = 2,
    periods: ValidatePeriods = 8,
    structure: ValidateStructure = None,
    missing: ValidateMissing = 0.2,
    cases: ValidateCases = 40,
    draws: Draws = 300,
    tune: Tune = 300,
    chains: Chains = 2,
    max_rank: ValidateMaxRank = 100,
    seed: Seed = 0,
    scheduler: ValidateScheduler = None,
    workers: ValidateWorkers = None,
    quiet: Quiet = False,
    fixed_length: FixedLength = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit with code 1 when a quantity fails the uniformity test.")] = False,
) -> None:
    """Simulation-based calibration: are true parameters uniform among posterior draws?

    Each simulation draws every parameter from the spec's priors, simulates data
    (and deterrence outcomes), fits the model and ranks each true value among
    posterior draws thinned to about their effective sample size. A calibrated
    model gives uniform ranks; each quantity gets an ECDF uniformity test, with
    Holm's correction across quantities. Simulations run as independent dask tasks;
    each one is saved as it finishes, so an interrupted run resumes where it stopped.

    **Writes** into OUT: summary.md, uniformity.csv, rank_ecdf.png (ECDF-difference
    plots with 95 % simultaneous bands), coverage.csv and coverage.png (50/80/90/95 %
    intervals), recovery.csv and recovery.png, simulations.nc (everything per simulation),
    sims/ (one file per simulation) and settings.json.

    **Examples**

        credibility validate sbc --spec models/default.toml --n-sims 200 --out sbc/

        credibility validate sbc --n-sims 200 --out sbc/ --scheduler tcp://10.0.0.5:8786
    """
    _validate("sbc", spec=spec, fit_spec=fit_spec, n_sims=n_sims, out=out,
              commitments=commitments, alliances=alliances, periods=periods,
              structure=structure, missing=missing, cases=cases, draws=draws, tune=tune,
              chains=chains, max_rank=max_rank, seed=seed, scheduler=scheduler,
              workers=workers, quiet=quiet, strict=strict, fixed_length=fixed_length)


@validate_app.command("recovery")
@_reports_errors
def validate_recovery(
    out: ValidateOut,
    spec: ValidateSpec = "default",
    n_sims: Annotated[int, typer.Option(min=1, help="Number of simulations.")] = 20,
    fit_spec: ValidateFitSpec = None,
    commitments: ValidateCommitments = 12,
    alliances: ValidateAlliances = 3,
    periods: ValidatePeriods = 12,
    structure: ValidateStructure = None,
    missing: ValidateMissing = 0.2,
    cases: ValidateCases = 100,
    draws: Draws = 500,
    tune: Tune = 500,
    chains: Chains = 2,
    seed: Seed = 0,
    scheduler: ValidateScheduler = None,
    workers: ValidateWorkers = None,
    quiet: Quiet = False,
    fixed_length: FixedLength = False,
) -> None:
    """Parameter recovery: posterior means and intervals against the simulated truth.

    Same simulations as `validate sbc` (parameters from the priors, one dask task
    each, resumable), reported as recovery: correlation of posterior means with the
    truth, bias, RMSE, contraction (how much the data narrow the prior) and interval
    coverage, including every latent commitment-period.

    **Writes** into OUT: summary.md, recovery.csv, recovery.png (posterior mean and
    90 % interval vs truth), coverage.csv, coverage.png, simulations.nc, sims/ and
    settings.json.

    **Example**

        credibility validate recovery --spec models/default.toml --n-sims 20 --out recovery/
    """
    _validate("recovery", spec=spec, fit_spec=fit_spec, n_sims=n_sims, out=out,
              commitments=commitments, alliances=alliances, periods=periods,
              structure=structure, missing=missing, cases=cases, draws=draws, tune=tune,
              chains=chains, max_rank=100, seed=seed, scheduler=scheduler, workers=workers,
              quiet=quiet, strict=False, fixed_length=fixed_length)
