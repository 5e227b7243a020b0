"""The ``credibility`` command line: a thin Typer + Rich layer over the library.

Commands: ``demo``, ``fit``, ``export`` and ``datasets list|show``. Every command
turns a :class:`~credibility.errors.CredibilityError` (or an unreadable or unwritable
file) into one line ``error: <message>`` on stderr and exit code 2, without a traceback.
Convergence problems are not errors: results are written, and shown under a red
"posterior NOT reliable" panel.

Examples
--------
>>> from typer.testing import CliRunner
>>> result = CliRunner().invoke(app, ["datasets", "list"])
>>> result.exit_code, "demo" in result.stdout
(0, True)
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
import xarray as xr
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.status import Status
from rich.table import Table

from credibility.datasets import dataset_info, list_datasets, load_dataset
from credibility.diagnostics import ConvergenceWarning, Diagnostics
from credibility.errors import CredibilityDataError, CredibilityError
from credibility.fitting import BACKENDS, CredibilityModel, FitResult
from credibility.plots import plot_forest, plot_loadings, plot_trajectories
from credibility.schema import CredibilityData
from credibility.spec import load_spec

__all__ = ["app"]

#: Exit code for bad input (the same code Typer uses for usage errors).
EXIT_BAD_INPUT = 2
#: Commitments the demo's trajectory figure shows, when the data set has them.
DEMO_HIGHLIGHTS = ("USA-EST", "USA-POL", "USA-JPN", "USA-KOR", "USA-PHL", "GBR-AUS-AUKUS")
#: What ``credibility export --what`` can write.
EXPORTS = ("credibility", "alliances", "parameters")
SCALES = ("z", "percentile")

app = typer.Typer(
    name="credibility",
    help=(
        "Estimate the credibility of alliance commitments from observable signals "
        "(exercises, troop deployments, spending, consultations, ...) with a Bayesian "
        "measurement model.\n\n"
        "Start with `credibility demo` (a synthetic data set, about two minutes), then "
        "`credibility fit` on your own CSV files. Every command's --help is its manual."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
datasets_app = typer.Typer(
    help="List and describe the bundled data sets.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(datasets_app, name="datasets")


def _console() -> Console:
    # Created per call so that output follows the current sys.stdout (tests swap it).
    return Console(highlight=False)


def _fail(message: str) -> typer.Exit:
    """Print ``error: message`` as one line on stderr; return the exit to raise."""
    typer.echo("error: " + " ".join(message.split()), err=True)
    return typer.Exit(code=EXIT_BAD_INPUT)


def _reports_errors[C: Callable[..., Any]](command: C) -> C:
    """Turn the library's errors into one ``error:`` line and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except CredibilityError as exc:
            raise _fail(str(exc)) from None
        except OSError as exc:
            # A missing input, or an output folder that cannot be written.
            detail = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else exc
            raise _fail(str(detail)) from None
        except KeyboardInterrupt:
            typer.echo("error: interrupted", err=True)
            raise typer.Exit(code=130) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        from credibility import __version__

        typer.echo(f"credibility {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the package version and exit.")] = False,
) -> None:
    """Estimate the credibility of alliance commitments."""


# Sampling options shared by `demo` and `fit`.
Draws = Annotated[int, typer.Option(min=1, help="Posterior draws per chain (after tuning).")]
Tune = Annotated[int, typer.Option(min=1, help="Tuning (warm-up) iterations per chain.")]
Chains = Annotated[int, typer.Option(min=1, help="Independent chains (needed for R-hat).")]
Seed = Annotated[int, typer.Option(help="Random seed; the same seed gives the same draws.")]
Backend = Annotated[str, typer.Option(
    metavar="NAME",
    help="Sampler: nutpie (default, fastest), pymc, or numpyro (needs the jax extra).",
)]
Quiet = Annotated[bool, typer.Option("--quiet", "-q",
                                     help="No status line and no sampler progress bar.")]


class _StageLine:
    """A Rich status line fed by ``fit(on_stage=...)``.

    Each finished stage is printed with its duration. While the sampler draws its
    own progress bar no spinner runs, as two live displays would garble the terminal.
    """

    def __init__(self, console: Console, enabled: bool) -> None:
        self._console = console
        self._enabled = enabled
        self._spinner: Status | None = None
        self._stage: str | None = None
        self._started = 0.0

    def __call__(self, stage: str) -> None:
        self._finish_stage()
        self._stage, self._started = stage, time.perf_counter()
        if self._enabled and not stage.startswith("sampling"):
            self._spinner = self._console.status(f"{stage} ...")
            self._spinner.start()

    def _finish_stage(self) -> None:
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None
        if self._stage is not None and self._enabled:
            elapsed = time.perf_counter() - self._started
            self._console.print(f"[green]✓[/green] {escape(self._stage)} "
                                f"[dim]({elapsed:.1f} s)[/dim]")
        self._stage = None

    def close(self) -> None:
        """Stop the spinner and print the last stage."""
        self._finish_stage()


def _check_choice(value: str, choices: tuple[str, ...], option: str) -> None:
    if value not in choices:
        raise CredibilityError(
            f"{option}: unknown value {value!r}; expected one of {', '.join(choices)}"
        )


def _run_fit(
    console: Console, model: CredibilityModel, data: CredibilityData, *, draws: int, tune: int,
    chains: int, seed: int, backend: str, quiet: bool,
) -> FitResult:
    """Fit with a status line; convergence warnings become the diagnostics table."""
    stages = _StageLine(console, enabled=not quiet)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return model.fit(data, draws=draws, tune=tune, chains=chains, seed=seed,
                             backend=backend, progress=not quiet, on_stage=stages)
    finally:
        stages.close()


def _print_diagnostics(console: Console, diagnostics: Diagnostics) -> None:
    """The diagnostics table, and a red panel when the posterior is not reliable."""
    table = Table(title="Sampler diagnostics", title_justify="left")
    table.add_column("check")
    table.add_column("value", justify="right")
    table.add_column("verdict")
    styles = {"ok": "green", "FAIL": "bold red", "info": "dim"}
    for check, value, verdict in diagnostics.lines():
        table.add_row(escape(check), escape(value), f"[{styles.get(verdict, '')}]{verdict}[/]")
    console.print(table)
    if not diagnostics.ok:
        console.print(Panel(
            "\n".join(f"• {escape(p)}" for p in diagnostics.problems())
            + "\n\nDo not use these estimates. Run longer (--draws, --tune), "
            "or check the data and the model.",
            title="posterior NOT reliable", border_style="red", style="red",
        ))


def _print_written(console: Console, paths: list[Path]) -> None:
    console.print("[bold]Written:[/bold]")
    for path in paths:
        # Unwrapped, so that long paths can be copied.
        console.print(f"  {path}", soft_wrap=True, markup=False)


def _interval(low: float, high: float, digits: int) -> str:
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


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


def _read_truth(path: Path) -> xr.DataArray:
    """The synthetic truth file (``commitment_id, period, true_credibility``)."""
    frame = pd.read_csv(path)
    columns = ("commitment_id", "period", "true_credibility")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CredibilityDataError(f"expected columns {', '.join(columns)}; missing "
                                   f"{', '.join(missing)}", file=str(path))
    series = frame.set_index(["commitment_id", "period"])["true_credibility"]
    return series.to_xarray().rename(commitment_id="commitment")


@app.command()
@_reports_errors
def demo(
    out: Annotated[Path, typer.Option(
        help="Folder for the figures, tables and saved fit.")] = Path("demo_output"),
    draws: Draws = 2500,
    tune: Tune = 1000,
    chains: Chains = 4,
    seed: Seed = 0,
    backend: Backend = "nutpie",
    quiet: Quiet = False,
) -> None:
    """Fit the bundled SYNTHETIC demo data set and write figures and tables.

    **Reads** the bundled data set `demo`: 41 commitments (the US
    to every other NATO member, US-Japan, US-ROK, US-Philippines, ANZUS, AUKUS and a
    few others), 2000-2025, with six signal series. The structure is realistic; every
    signal value is SIMULATED, so nothing here describes real alliances.

    **Prints** the five most and five least credible commitments in the last
    period (mean and 90 % interval on the z scale and as a percentile) and the
    sampler diagnostics.

    **Writes** into OUT: trajectories.png (with the simulated true values),
    forest.png, loadings.png, credibility.csv (commitment_id, period, mean, sd, q05,
    q50, q95 on the z scale) and fit/ (the saved fit; reuse it with
    `credibility export --fit OUT/fit`).

    **Examples**

        credibility demo
        credibility demo --out demo_output --draws 500 --chains 2
    """
    console = _console()
    _check_choice(backend, BACKENDS, "--backend")
    console.print(Panel(
        "The demo data are [bold]SYNTHETIC[/bold]: a realistic alliance structure with "
        "signal values simulated from the model (credibility.simulate). The results show "
        "what the method does; they say nothing about real alliances.",
        title="SYNTHETIC DATA", border_style="yellow",
    ))
    info = dataset_info("demo")
    data = load_dataset("demo")
    out.mkdir(parents=True, exist_ok=True)  # fail before sampling, not after
    console.print(data.summary(), markup=False)
    fit = _run_fit(console, CredibilityModel(info.spec), data, draws=draws, tune=tune,
                   chains=chains, seed=seed, backend=backend, quiet=quiet)
    if info.synthetic:
        # Recorded in the saved fit and shown on every figure.
        fit.posterior.attrs["synthetic_data"] = "true"

    label = " (SYNTHETIC data)" if info.synthetic else ""
    console.print(_ranking_table(fit, data.last_period, label=label))
    _print_diagnostics(console, fit.diagnostics)

    highlights = [c for c in DEMO_HIGHLIGHTS if c in data.commitment_ids] or None
    truth_file = info.path / "truth.csv"
    truth = _read_truth(truth_file) if truth_file.is_file() else None
    written = [out / "trajectories.png", out / "forest.png", out / "loadings.png"]
    plot_trajectories(fit, highlights, truth=truth, path=written[0])
    plot_forest(fit, path=written[1])
    plot_loadings(fit, path=written[2])
    fit.credibility().to_csv(out / "credibility.csv", index=False)
    fit.save(out / "fit")
    _print_written(console, [*written, out / "credibility.csv", out / "fit"])


@app.command("fit")
@_reports_errors
def fit_command(
    commitments: Annotated[Path, typer.Option(help="Commitments table (CSV).")],
    signals: Annotated[Path, typer.Option(help="Signals table (CSV, long format).")],
    out: Annotated[Path, typer.Option(help="Folder to write the fit into (created).")],
    cases: Annotated[Path | None, typer.Option(help="Deterrence cases table (CSV).")] = None,
    spec: Annotated[str, typer.Option(
        metavar="NAME|FILE", help="Model specification: a bundled name or a .toml file.")
    ] = "default",
    draws: Draws = 1000,
    tune: Tune = 1000,
    chains: Chains = 4,
    seed: Seed = 0,
    backend: Backend = "nutpie",
    quiet: Quiet = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit with code 1 when the diagnostics fail (results are still written).")
    ] = False,
) -> None:
    """Validate CSV tables, fit the measurement model and save the posterior.

    **Reads** the commitments and signals tables (and optionally cases) in
    the data contract's layout (docs/model.md): one row per commitment; one row per
    (commitment or alliance, period, signal) observation. Every table is validated
    against the model specification first; a bad cell stops with a message naming
    the file, row, column and what was expected.

    **Writes** into OUT: posterior.nc (the full posterior), credibility.csv
    (commitment_id, period, mean, sd, q05, q50, q95 on the z scale), fit.json
    (settings, diagnostics, checksums), spec.toml and data/ (the validated tables).

    **Prints** a data summary and the sampler diagnostics, under a red panel
    when the posterior is not reliable.

    **Example**

        credibility fit --commitments commitments.csv --signals signals.csv --out fits/2025
    """
    console = _console()
    _check_choice(backend, BACKENDS, "--backend")
    model = CredibilityModel(load_spec(spec))
    data = CredibilityData.from_csv(commitments, signals, cases, spec=model.spec)
    out.mkdir(parents=True, exist_ok=True)  # fail before sampling, not after
    console.print(data.summary(), markup=False)
    result = _run_fit(console, model, data, draws=draws, tune=tune, chains=chains, seed=seed,
                      backend=backend, quiet=quiet)
    paths = result.save(out)
    _print_diagnostics(console, result.diagnostics)
    _print_written(console, [p for key, p in paths.items() if not key.startswith("data_")]
                   + [out / "data"])
    if strict and not result.diagnostics.ok:
        raise typer.Exit(code=1)


@app.command()
@_reports_errors
def export(
    fit_dir: Annotated[Path, typer.Option("--fit", metavar="DIR",
                                          help="Folder written by `credibility fit --out`.")],
    out: Annotated[Path | None, typer.Option(
        metavar="FILE", help="CSV file to write (default: standard output).")] = None,
    scale: Annotated[str, typer.Option(
        metavar="SCALE",
        help="z (default): the model's scale (0 = population mean, 1 = one sd); "
        "percentile: 100·Φ(z).")
    ] = "z",
    what: Annotated[str, typer.Option(
        metavar="TABLE",
        help="credibility (default): per commitment and period; alliances: alliance levels; "
        "parameters: model parameters with R-hat and ESS.")
    ] = "credibility",
) -> None:
    """Write a table of a saved fit as CSV.

    **Reads** a folder written by `credibility fit --out DIR` (or
    OUT/fit of `credibility demo`).

    **Writes** CSV to FILE or standard output:
    credibility: commitment_id, period, mean, sd, q05, q50, q95 (one row per active
    commitment-period); alliances: the same per alliance; parameters: posterior mean,
    sd, 90 % interval, R-hat and ESS of the model parameters. A warning goes to
    stderr when the fit failed its diagnostics.

    **Examples**

        credibility export --fit fits/2025 > credibility.csv
        credibility export --fit fits/2025 --scale percentile --out pct.csv
        credibility export --fit fits/2025 --what parameters
    """
    _check_choice(what, EXPORTS, "--what")
    _check_choice(scale, SCALES, "--scale")
    if what == "parameters" and scale != "z":
        raise CredibilityError("--scale applies to credibility and alliances; parameters "
                               "are reported on their own scales")
    if not fit_dir.is_dir():
        raise CredibilityError(f"{fit_dir}: no such folder; expected a folder written by "
                               "`credibility fit --out`")
    result = FitResult.load(fit_dir)
    if what == "credibility":
        frame = result.credibility(scale)
    elif what == "alliances":
        frame = result.alliance_levels(scale)
    else:
        frame = result.parameters().rename_axis("parameter").reset_index()
    if not result.diagnostics.ok:
        typer.echo("warning: this fit failed its diagnostics ("
                   + "; ".join(result.diagnostics.problems())
                   + "); the posterior is NOT reliable", err=True)
    text = frame.to_csv(index=False, lineterminator="\n")
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        _console().print(f"wrote {len(frame)} rows to {out}", soft_wrap=True, markup=False)


@datasets_app.command("list")
@_reports_errors
def datasets_list() -> None:
    """List the bundled data sets: name, title, and whether the data are synthetic.

    **Example**

        credibility datasets list
    """
    table = Table(title="Bundled data sets", title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("title")
    table.add_column("synthetic")
    table.add_column("spec")
    for info in list_datasets():
        table.add_row(escape(info.name), escape(info.title),
                      "[yellow]yes[/yellow]" if info.synthetic else "no", info.spec)
    _console().print(table)


@datasets_app.command("show")
@_reports_errors
def datasets_show(
    name: Annotated[str, typer.Argument(help="Data set name (see `credibility datasets list`).")],
) -> None:
    """Describe one bundled data set: metadata, codebook and a summary of the data.

    **Reads** the data set's dataset.toml, README.md (codebook) and tables.

    **Example**

        credibility datasets show demo
    """
    info = dataset_info(name)
    data = load_dataset(name)
    console = _console()
    console.print(Panel(
        f"[bold]{escape(info.title)}[/bold]\n\n{escape(info.description)}\n\n"
        f"synthetic: {'[yellow]yes[/yellow]' if info.synthetic else 'no'}\n"
        f"model spec: {escape(info.spec)}\nfolder: {escape(str(info.path))}",
        title=escape(info.name), title_align="left",
    ))
    console.print(Markdown(info.codebook) if info.codebook.strip() else "[dim](no codebook)[/dim]")
    console.print(Panel(escape(data.summary()), title="data", title_align="left"))

