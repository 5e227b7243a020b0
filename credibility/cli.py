"""The ``credibility`` command line: a thin Typer + Rich layer over the library.

Commands: ``demo``, ``fit``, ``predict``, ``report``, ``compare``, ``export``, ``update``,
``history``, ``diff``, ``validate sbc|recovery`` and ``datasets list|show|build-real``. Every
command turns a :class:`~credibility.errors.CredibilityError` (or an unreadable or unwritable
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
import math
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.status import Status
from rich.table import Table

from credibility.errors import CredibilityDataError, CredibilityError

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

    from credibility.diagnostics import Diagnostics
    from credibility.fitting import CredibilityModel, FitResult
    from credibility.scenarios import ScenarioResult
    from credibility.schema import CredibilityData
    from credibility.store import PosteriorStore
    from credibility.updating import CaseMerge, MergeResult

# The library (PyMC, ArviZ, matplotlib, pandas, ...) is imported inside the commands that
# use it, so that `credibility --help` starts in a fraction of a second (decision 42).

__all__ = ["app"]

#: Exit code for bad input (the same code Typer uses for usage errors).
EXIT_BAD_INPUT = 2
#: Commitments the demo's trajectory figure shows, when the data set has them.
DEMO_HIGHLIGHTS = ("USA-EST", "USA-POL", "USA-JPN", "USA-KOR", "USA-PHL", "GBR-AUS-AUKUS")
#: What ``credibility export --what`` can write.
EXPORTS = ("credibility", "alliances", "parameters")
SCALES = ("z", "percentile")
#: Default of --max-treedepth: credibility.sampling.MAX_TREEDEPTH, repeated here so that
#: the options are defined without importing the sampler (tests/test_imports.py checks).
MAX_TREEDEPTH = 10

app = typer.Typer(
    name="credibility",
    help=(
        "Estimate the credibility of alliance commitments from observable signals "
        "(exercises, troop deployments, spending, consultations, ...) with a Bayesian "
        "measurement model.\n\n"
        "Start with `credibility demo` (a synthetic data set, a few minutes), then "
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
FixedLength = Annotated[bool, typer.Option(
    "--fixed-length", help="Sample exactly --draws per chain, even when the diagnostics "
    "fail (default: continue while they fail, up to --max-draws or --budget).")]
MaxDraws = Annotated[int | None, typer.Option(
    min=1, metavar="N", help="Most draws per chain when continuing until reliable "
    "(default: 4 x --draws).")]
Budget = Annotated[str | None, typer.Option(
    metavar="TIME", help="Time limit for continuing until reliable, e.g. 90s, 10m, 1.5h "
    "(default: none; the draw limit stops the run). A run stopped by it says so, and its "
    "draws depend on the machine's speed.")]


def parse_duration(text: str | None) -> float | None:
    """Seconds in ``text``: a number with ``s``, ``m`` or ``h`` (no unit: seconds).

    Examples
    --------
    >>> parse_duration("10m"), parse_duration("1.5h"), parse_duration("45"), parse_duration(None)
    (600.0, 5400.0, 45.0, None)
    >>> parse_duration("soon")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    credibility.errors.CredibilityError: --budget: 'soon' is not a duration; ...
    """
    if text is None:
        return None
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    number, unit = (text[:-1], text[-1]) if text[-1:].lower() in units else (text, "s")
    try:
        seconds = float(number) * units[unit.lower()]
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise CredibilityError(f"--budget: {text!r} is not a duration; expected e.g. 90s, 10m "
                               "or 1.5h")
    return seconds


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
    chains: int, seed: int, backend: str, quiet: bool, outcome: str = "auto",
    mass_matrix: str = "diag", method: str = "nuts", max_treedepth: int = MAX_TREEDEPTH,
    fixed_length: bool = False, max_draws: int | None = None, budget: str | None = None,
) -> FitResult:
    """Fit with a status line; convergence warnings become the diagnostics table."""
    from credibility.diagnostics import ConvergenceWarning

    budget_seconds = parse_duration(budget)
    if max_draws is not None and max_draws < draws:
        raise CredibilityError(f"--max-draws: {max_draws} is fewer than --draws ({draws})")
    stages = _StageLine(console, enabled=not quiet)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return model.fit(data, draws=draws, tune=tune, chains=chains, seed=seed,
                             backend=backend, outcome=outcome, mass_matrix=mass_matrix,
                             method=method, max_treedepth=max_treedepth,
                             until_reliable=not fixed_length, max_draws=max_draws,
                             budget_seconds=budget_seconds,
                             progress=not quiet, on_stage=stages)
    finally:
        stages.close()


def _print_fit_diagnostics(console: Console, fit: FitResult) -> None:
    """The measurement diagnostics and, for a two-stage fit, the outcome model's."""
    _print_diagnostics(console, fit.diagnostics)
    if fit.outcome_diagnostics is not None:
        _print_diagnostics(console, fit.outcome_diagnostics,
                           title="Sampler diagnostics: outcome model (stage 2)")


def _print_diagnostics(console: Console, diagnostics: Diagnostics,
                       title: str = "Sampler diagnostics") -> None:
    """The diagnostics table, and a red panel when the posterior is not reliable."""
    table = Table(title=title, title_justify="left")
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
            + "\n\nDo not use these estimates. Run longer (--max-draws, --budget, --draws), "
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


def _demo_scenario(fit: FitResult) -> tuple[str, ScenarioResult] | None:
    """US troops in Poland in the forecast period at 1.5 x their last five years' mean."""
    import pandas as pd

    from credibility.demo import FORECAST_PERIOD
    from credibility.scenarios import ScenarioWarning, run_scenario

    signals = fit.data.signals
    troops = signals[(signals["commitment_id"] == "USA-POL") & (signals["signal"] == "troops")]
    if troops.empty or fit.data.last_period != FORECAST_PERIOD:
        return None
    recent = troops.sort_values("period").tail(5)
    value = round(1.5 * float(recent["value"].mean()))
    rows = pd.DataFrame({"commitment_id": ["USA-POL"], "period": [FORECAST_PERIOD],
                         "signal": ["troops"], "value": [value]})
    text = (f"US troops in Poland reported at {value:,} in {FORECAST_PERIOD}: +50 % on their "
            f"{int(recent['period'].min())}-{int(recent['period'].max())} mean. No signal of "
            f"{FORECAST_PERIOD} is in the data, so the baseline is a one-year forecast")
    cases = _default_cases(fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        return text, run_scenario(fit, rows, cases=cases)


def _read_truth(path: Path) -> xr.DataArray:
    """The synthetic truth file (``commitment_id, period, true_credibility``)."""
    import pandas as pd

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
    fixed_length: FixedLength = False,
    max_draws: MaxDraws = None,
    budget: Budget = None,
) -> None:
    """Fit the bundled SYNTHETIC demo data set and write figures and tables.

    **Reads** the bundled data set `demo`: 41 commitments (the US
    to every other NATO member, US-Japan, US-ROK, US-Philippines, ANZUS, AUKUS and a
    few others), 2000-2025, with six signal series, 160 historical deterrence cases
    with outcomes and seven named contingencies in 2026 to predict. The structure is
    realistic; every signal value, case and outcome is SIMULATED, so nothing here
    describes real alliances.

    **Prints** the five most and five least credible commitments in 2025 (mean and
    90 % interval on the z scale and as a percentile), the sampler diagnostics, the
    predicted P(deterrence holds) of the 2026 contingencies (two-stage outcome
    model) and one scenario: US troops in Poland in 2026 at 1.5 times their
    2021-2025 mean, against the baseline forecast.

    **Writes** into OUT: trajectories.png (with the simulated true values),
    forest.png, loadings.png, predictions.png, calibration.png, credibility.csv
    (commitment_id, period, mean, sd, q05, q50, q95 on the z scale), predictions.csv,
    scenario.csv and fit/ (the saved fit; reuse it with `credibility export --fit
    OUT/fit`, `credibility predict --fit OUT/fit` or `credibility report`).

    **Examples**

        credibility demo
        credibility demo --out demo_output --draws 500 --chains 2
    """
    from credibility.datasets import dataset_info, load_dataset
    from credibility.fitting import BACKENDS, CredibilityModel
    from credibility.plots import (
        plot_calibration,
        plot_forest,
        plot_loadings,
        plot_predictions,
        plot_trajectories,
    )

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
                   chains=chains, seed=seed, backend=backend, quiet=quiet,
                   fixed_length=fixed_length, max_draws=max_draws, budget=budget)
    if info.synthetic:
        # Recorded in the saved fit and shown on every figure.
        fit.posterior.attrs["synthetic_data"] = "true"

    label = " (SYNTHETIC data)" if info.synthetic else ""
    signal_period = int(data.signals["period"].max())
    console.print(_ranking_table(fit, signal_period, label=label))
    _print_fit_diagnostics(console, fit)
    scenario = None
    if fit.outcome_mode is not None:
        named = _default_cases(fit)
        console.print(_predictions_table(fit.predict(named), named,
                                         f"Predicted deterrence success{label}"))
        scenario = _demo_scenario(fit)
        if scenario is not None:
            console.print(f"[bold]Scenario:[/bold] {escape(scenario[0])}")
            for table in _scenario_tables(scenario[1]):
                console.print(table)

    highlights = [c for c in DEMO_HIGHLIGHTS if c in data.commitment_ids] or None
    truth_file = info.path / "truth.csv"
    truth = _read_truth(truth_file) if truth_file.is_file() else None
    written = [out / "trajectories.png", out / "forest.png", out / "loadings.png"]
    plot_trajectories(fit, highlights, truth=truth, path=written[0])
    plot_forest(fit, period=signal_period, path=written[1])
    plot_loadings(fit, path=written[2])
    if fit.outcome_mode is not None:
        written += [out / "predictions.png", out / "calibration.png", out / "predictions.csv"]
        plot_predictions(fit, path=written[3])
        plot_calibration(fit, path=written[4])
        fit.predict().to_csv(written[5], index=False)
    if scenario is not None:
        written.append(out / "scenario.csv")
        scenario[1].predictions.to_csv(written[-1], index=False)
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
    outcome: Annotated[str, typer.Option(
        metavar="MODE", help="Deterrence-success model when the cases have outcomes: "
        "auto (default: two_stage), two_stage, joint, or none.")] = "auto",
    mass_matrix: Annotated[str, typer.Option(
        metavar="KIND", help="Mass-matrix adaptation (nutpie): diag (default) or low_rank, "
        "for posteriors with strongly correlated directions.")] = "diag",
    method: Annotated[str, typer.Option(
        metavar="METHOD", help="nuts (default: the posterior) or advi (mean-field ADVI: fast, "
        "for exploration; understates uncertainty; results are labelled APPROXIMATE).")
    ] = "nuts",
    max_treedepth: Annotated[int, typer.Option(
        metavar="N", help="Longest NUTS trajectory: 2**N - 1 leapfrog steps (default 10; "
        "lower caps make draws cheaper but more autocorrelated, docs/decisions.md 25)."
    )] = MAX_TREEDEPTH,
    fixed_length: FixedLength = False,
    max_draws: MaxDraws = None,
    budget: Budget = None,
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
    A spec of several dimensions (e.g. capability and willingness) also writes
    dimensions.csv (commitment_id, period, dimension, mean, sd, q05, q50, q95: each
    dimension on its own z scale); credibility.csv is then their composite. With two
    dimensions the deterrence-success model takes both and their interaction
    (more than two dimensions are refused: fit those with --outcome none).

    **Prints** a data summary and the sampler diagnostics, under a red panel
    when the posterior is not reliable.

    **Example**

        credibility fit --commitments commitments.csv --signals signals.csv --out fits/2025
    """
    from credibility.fitting import BACKENDS, CredibilityModel
    from credibility.sampling import MASS_MATRICES, METHODS
    from credibility.schema import CredibilityData
    from credibility.spec import load_spec

    console = _console()
    _check_choice(backend, BACKENDS, "--backend")
    model = CredibilityModel(load_spec(spec))
    data = CredibilityData.from_csv(commitments, signals, cases, spec=model.spec)
    out.mkdir(parents=True, exist_ok=True)  # fail before sampling, not after
    console.print(data.summary(), markup=False)
    _check_choice(outcome, ("auto", "two_stage", "joint", "none"), "--outcome")
    _check_choice(mass_matrix, MASS_MATRICES, "--mass-matrix")
    _check_choice(method, METHODS, "--method")
    result = _run_fit(console, model, data, draws=draws, tune=tune, chains=chains, seed=seed,
                      backend=backend, quiet=quiet, outcome=outcome, mass_matrix=mass_matrix,
                      method=method, max_treedepth=max_treedepth, fixed_length=fixed_length,
                      max_draws=max_draws, budget=budget)
    if result.is_approximate:
        console.print("[bold yellow]APPROXIMATE[/]: mean-field ADVI, not NUTS; it understates "
                      "uncertainty. Use for exploration only; refit with --method nuts to "
                      "report.")
    paths = result.save(out)
    _print_fit_diagnostics(console, result)
    _print_written(console, [p for key, p in paths.items() if not key.startswith("data_")]
                   + [out / "data"])
    outcome_ok = result.outcome_diagnostics is None or result.outcome_diagnostics.ok
    if strict and not (result.diagnostics.ok and outcome_ok):
        raise typer.Exit(code=1)


@app.command()
@_reports_errors
def export(
    fit_dir: Annotated[Path | None, typer.Option(
        "--fit", metavar="DIR", help="Folder written by `credibility fit --out`.")] = None,
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
    store: Annotated[Path | None, typer.Option(
        "--store", metavar="DIR", help="Export from this posterior store instead of --fit.")
    ] = None,
    version: Annotated[str | None, typer.Option(
        "--version", metavar="VERSION", help="Version of --store to export (default: latest).")
    ] = None,
) -> None:
    """Write a table of a saved fit as CSV.

    **Reads** a folder written by `credibility fit --out DIR` (or
    OUT/fit of `credibility demo`), or a version of a posterior store
    (--store DIR, --version: default the latest; checked against its checksums).

    **Writes** CSV to FILE or standard output:
    credibility: commitment_id, period, mean, sd, q05, q50, q95 (one row per active
    commitment-period); alliances: the same per alliance; parameters: posterior mean,
    sd, 90 % interval, R-hat and ESS of the model parameters. A warning goes to
    stderr when the fit failed its diagnostics.

    **Examples**

        credibility export --fit fits/2025 > credibility.csv
        credibility export --fit fits/2025 --scale percentile --out pct.csv
        credibility export --fit fits/2025 --what parameters
        credibility export --store fits --version v0002 --out v0002.csv
    """
    from credibility.fitting import FitResult

    _check_choice(what, EXPORTS, "--what")
    _check_choice(scale, SCALES, "--scale")
    if what == "parameters" and scale != "z":
        raise CredibilityError("--scale applies to credibility and alliances; parameters "
                               "are reported on their own scales")
    if (fit_dir is None) == (store is None):
        raise CredibilityError("give either --fit DIR (a saved fit) or --store DIR (a "
                               "posterior store)")
    if store is not None:
        result = _open_store(store).load(version)
    elif version is not None:
        raise CredibilityError("--version selects a version of --store; give --store DIR")
    elif not fit_dir.is_dir():
        raise CredibilityError(f"{fit_dir}: no such folder; expected a folder written by "
                               "`credibility fit --out`")
    else:
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
    if result.is_approximate:
        # Labelled in the file itself, so the label travels with the numbers.
        frame = frame.assign(posterior="approximate")
        what = ("mean-field ADVI fit (understates uncertainty)"
                if result.approximation == "ADVI fit" else
                "update (previous posterior as prior, only new periods sampled)")
        typer.echo(f"note: this version is an APPROXIMATE {what}; every row says so in "
                   "column 'posterior'", err=True)
    text = frame.to_csv(index=False, lineterminator="\n")
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        _console().print(f"wrote {len(frame)} rows to {out}", soft_wrap=True, markup=False)


def _load_fit(fit_dir: Path) -> FitResult:
    from credibility.fitting import FitResult

    if not fit_dir.is_dir():
        raise CredibilityError(f"{fit_dir}: no such folder; expected a folder written by "
                               "`credibility fit --out`")
    return FitResult.load(fit_dir)


def _default_cases(fit: FitResult) -> pd.DataFrame:
    """The fitted data's cases to predict (empty outcome), or all cases when none is open."""
    if fit.data.cases is None:
        raise CredibilityError("the fit's data have no cases; give --cases FILE")
    open_cases = fit.data.cases[fit.data.cases["outcome"].isna()]
    return open_cases if len(open_cases) else fit.data.cases


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


def _warn_unreliable(fit: FitResult) -> None:
    problems = list(fit.diagnostics.problems())
    if fit.outcome_diagnostics is not None:
        problems += [f"outcome model: {p}" for p in fit.outcome_diagnostics.problems()]
    if problems:
        typer.echo("warning: this fit failed its diagnostics (" + "; ".join(problems)
                   + "); the posterior is NOT reliable", err=True)


@app.command()
@_reports_errors
def predict(
    fit_dir: Annotated[Path, typer.Option(
        "--fit", metavar="DIR", help="Folder written by `credibility fit --out` (with cases).")],
    cases: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Cases to predict (CSV in the cases format; default: the fitted "
        "data's cases with an empty outcome).")] = None,
    scenario: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Counterfactual signal rows (CSV in the signals format).")] = None,
    method: Annotated[str, typer.Option(
        metavar="METHOD", help="Scenario posterior: reweight (default, seconds) or refit "
        "(samples the counterfactual data again).")] = "reweight",
    out: Annotated[Path | None, typer.Option(
        metavar="FILE", help="CSV file to write (default: standard output).")] = None,
) -> None:
    """Predict P(deterrence success) for cases, optionally under a scenario.

    **Reads** a saved fit whose data had deterrence cases with outcomes (the outcome
    model is fitted with it) and, with --cases, a table of cases (case_id,
    commitment_id, period and the spec's covariates) at any commitment-period of
    the fitted data.

    **Writes** CSV: case_id, p_mean, p_sd, p_q05, p_q50, p_q95. With --scenario
    (signal rows that replace or add observations, e.g. +50 % troops in Poland in
    2026), the CSV has baseline and scenario columns side by side with the
    difference, its 90 % interval and P(up), and the terminal shows the largest
    credibility changes. The reweighted scenario is an importance-sampling
    approximation whose Pareto k is printed; above 0.7 use --method refit.

    **Examples**

        credibility predict --fit fits/2025
        credibility predict --fit fits/2025 --cases contingencies.csv --out p.csv
        credibility predict --fit fits/2025 --scenario troops_plus_50.csv
    """
    from credibility.scenarios import SCENARIO_METHODS, ScenarioWarning, run_scenario

    _check_choice(method, SCENARIO_METHODS, "--method")
    fit = _load_fit(fit_dir)
    _warn_unreliable(fit)
    frame = fit.validated_cases(cases) if cases is not None else _default_cases(fit)
    console = _console()
    if scenario is None:
        table = fit.predict(frame)
        if out is not None:
            console.print(_predictions_table(table, frame, "Predicted deterrence success"))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScenarioWarning)
            result = run_scenario(fit, scenario, cases=frame, method=method)
        if not result.reliable:
            typer.echo(f"warning: scenario reweighting is unreliable (Pareto k "
                       f"{result.pareto_k:.2f} > 0.7); rerun with --method refit", err=True)
        table = result.predictions
        if out is not None:
            for part in _scenario_tables(result):
                console.print(part)
    text = table.to_csv(index=False, lineterminator="\n")
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(table)} rows to {out}", soft_wrap=True, markup=False)


@app.command()
@_reports_errors
def report(
    fit_dir: Annotated[Path, typer.Option(
        "--fit", metavar="DIR", help="Folder written by `credibility fit --out`.")],
    out: Annotated[Path, typer.Option(help="Folder for the report (created).")],
    ppc_draws: Annotated[int, typer.Option(
        min=10, help="Posterior draws for the posterior predictive check.")] = 200,
) -> None:
    """Write figures and tables that check and summarise a saved fit.

    **Writes** into OUT: summary.md (data, sampler diagnostics, outcome-model
    checks), trajectories.png, forest.png, loadings.png, ppc.png and ppc.csv
    (posterior predictive check of every signal: p-values of its mean and sd),
    parameters.csv and credibility.csv; with an outcome model also
    calibration.png and calibration.csv (reliability of the leave-one-out
    predictions), predictions.png and predictions.csv (every case); for a model of
    several dimensions also dimension_trajectories.png (each dimension over time)
    and dimension_map.png (the first two dimensions against each other in the last
    period with data, with 50 % and 90 % regions).

    **Example**

        credibility report --fit fits/2025 --out report/
    """
    from credibility.checks import outcome_checks, posterior_predictive, ppc_summary
    from credibility.plots import (
        plot_calibration,
        plot_dimension_map,
        plot_dimension_trajectories,
        plot_forest,
        plot_loadings,
        plot_ppc,
        plot_predictions,
        plot_trajectories,
    )

    fit = _load_fit(fit_dir)
    out.mkdir(parents=True, exist_ok=True)
    console = _console()
    written = [out / "trajectories.png", out / "forest.png", out / "loadings.png",
               out / "parameters.csv", out / "credibility.csv"]
    plot_trajectories(fit, path=written[0])
    plot_forest(fit, path=written[1])
    plot_loadings(fit, path=written[2])
    fit.parameters().rename_axis("parameter").reset_index().to_csv(written[3], index=False)
    fit.credibility().to_csv(written[4], index=False)
    dimensions = fit.spec.dimensions
    if len(dimensions) > 1:
        written += [out / "dimension_trajectories.png", out / "dimension_map.png"]
        plot_dimension_trajectories(fit, path=written[-2])
        plot_dimension_map(fit, x=dimensions[0], y=dimensions[1], path=written[-1])
    if fit.is_approximate:
        ppc_lines = [f"APPROXIMATE ({fit.approximation}): posterior predictive checks need "
                     f"an exact posterior ({fit.exact_hint}).", ""]
    else:
        with console.status("posterior predictive check ..."):
            ppc = posterior_predictive(fit, draws=ppc_draws)
        written += [out / "ppc.png", out / "ppc.csv"]
        plot_ppc(fit, ppc=ppc, path=written[-2])
        ppc_table = ppc_summary(fit, ppc=ppc)
        ppc_table.to_csv(written[-1], index=False)
        ppc_lines = [_markdown(ppc_table.round(3)), ""]
    lines = ["# Credibility fit report", "",
             f"Fit: `{fit_dir}`" + (" (SYNTHETIC data)" if fit.posterior.attrs.get(
                 "synthetic_data") == "true" else "")
             + (f" - APPROXIMATE {fit.approximation}" if fit.is_approximate else ""), "",
             "## Data", "",
             "```",
             fit.data.summary(), "```", "", "## Sampler diagnostics", ""]
    lines += [f"- {check}: {value} ({verdict})" for check, value, verdict
              in fit.diagnostics.lines()]
    if fit.outcome_diagnostics is not None:
        lines += ["", "Outcome model (stage 2):", ""]
        lines += [f"- {check}: {value} ({verdict})" for check, value, verdict
                  in fit.outcome_diagnostics.lines()]
    lines += ["", "## Posterior predictive check (p-values near 0 or 1 flag misfit)", "",
              *ppc_lines]
    if fit.outcome_mode is not None:
        checks = outcome_checks(fit)
        extra = [out / "calibration.png", out / "calibration.csv", out / "predictions.png",
                 out / "predictions.csv"]
        plot_calibration(fit, checks=checks, path=extra[0])
        checks.calibration().to_csv(extra[1], index=False)
        plot_predictions(fit, path=extra[2])
        fit.predict().to_csv(extra[3], index=False)
        written += extra
        lines += ["## Outcome model", ""]
        lines += [f"- {label}: {value} ({status})" for label, value, status in checks.lines()]
        lines += ["", _markdown(fit.outcome_parameters().round(3).rename_axis("parameter")
                                .reset_index()), ""]
        table = Table(title="Outcome model checks", title_justify="left")
        table.add_column("check")
        table.add_column("value", justify="right")
        table.add_column("verdict")
        styles = {"ok": "green", "FAIL": "bold red", "info": "dim"}
        for label, value, status in checks.lines():
            table.add_row(escape(label), escape(value), f"[{styles[status]}]{status}[/]")
        console.print(table)
    (out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _print_fit_diagnostics(console, fit)
    _print_written(console, [out / "summary.md", *written])


def _fit_names(fit_dirs: list[Path], names: str | None) -> list[str]:
    """The fits' names: ``--names`` split at commas, or the folders' names (their paths
    where two folders have the same name)."""
    if names is None:
        labels = [path.name or str(path) for path in fit_dirs]
        return labels if len(set(labels)) == len(labels) else [str(p) for p in fit_dirs]
    labels = [name.strip() for name in names.split(",")]
    if len(labels) != len(fit_dirs):
        raise CredibilityError(f"--names gives {len(labels)} names for {len(fit_dirs)} fits")
    if "" in labels or len(set(labels)) != len(labels):
        raise CredibilityError(f"--names must give distinct, non-empty names; got {names!r}")
    return labels


@app.command("compare")
@_reports_errors
def compare_command(
    fit_dirs: Annotated[list[Path], typer.Argument(
        metavar="FIT_DIR", help="Two or more folders written by `credibility fit --out`, "
        "fitted to the same data.")],
    names: Annotated[str | None, typer.Option(
        metavar="A,B,...", help="Names of the fits in the table, comma-separated, in the "
        "order of the folders (default: the folders' names).")] = None,
    out: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Also write the table as CSV.")] = None,
) -> None:
    """Compare model structures fitted to the same data by PSIS-LOO of the signal rows.

    **Reads** two or more saved fits of the same data (checked by its SHA-256), e.g. the
    same data fitted with and without `residual_persistence` on a signal.

    **Prints** per fit, best first: elpd LOO (the log predictive density of every
    signal row with that row left out, summed; higher is better) and its se, the
    difference from the best fit and the se of that difference (paired over rows),
    p_loo (effective number of parameters) and the rows whose Pareto k is too high
    for the estimate. A difference smaller than about 2 se of the difference is not
    evidence either way. A fit whose diagnostics failed, or with high Pareto k, is
    compared but marked unreliable. Approximate fits (ADVI, approximate updates) are
    refused. With --out, the table is also written as CSV (name, elpd_loo, se, p_loo,
    elpd_diff, se_diff, rows, high_k, warning). See docs/model.md, "Comparing structures
    by PSIS-LOO".

    **Examples**

        credibility compare fits/plain fits/troops_ar
        credibility compare fits/plain fits/troops_ar --names plain,ar --out loo.csv
    """
    from credibility.compare import CompareWarning, compare

    labels = _fit_names(fit_dirs, names)
    fits = {label: _load_fit(path) for label, path in zip(labels, fit_dirs, strict=True)}
    console = _console()
    with console.status("PSIS-LOO of every fit's signal rows ..."), warnings.catch_warnings():
        # Shown below the table instead, one line per fit.
        warnings.simplefilter("ignore", CompareWarning)
        frame = compare(fits)
    rows = int(frame["rows"].iloc[0])
    table = Table(title=f"Fits compared by PSIS-LOO of their {rows} signal rows (best first)",
                  title_justify="left",
                  caption="elpd LOO: log predictive density of each signal row with the row left "
                  "out, summed (higher is better). difference: elpd minus the best fit's, with "
                  "its se from the paired differences of the rows. A difference smaller than "
                  "about 2 se of the difference is not evidence either way. high k: rows whose "
                  "Pareto k is above 0.7 (fewer than 2,000 draws: 1 - 1/log10(draws)), where "
                  "the estimate is unreliable", caption_justify="left")
    for column in ("fit", "elpd LOO", "se", "difference", "se diff.", "p_loo", "high k",
                   "reliable"):
        table.add_column(column, justify="left" if column == "fit" else "right", no_wrap=True)
    for _, row in frame.iterrows():
        ok = not row["warning"]
        table.add_row(escape(str(row["name"])), f"{row['elpd_loo']:.1f}", f"{row['se']:.1f}",
                      f"{row['elpd_diff']:.1f}", f"{row['se_diff']:.1f}", f"{row['p_loo']:.1f}",
                      _flag(str(row["high_k"]), row["high_k"] == 0),
                      _flag("yes" if ok else "NO", ok))
    console.print(table)
    for _, row in frame[frame["warning"] != ""].iterrows():
        typer.echo(f"warning: fit {row['name']!r}: {row['warning']}; its elpd is not reliable",
                   err=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out, index=False, lineterminator="\n")
        console.print(f"wrote {len(frame)} rows to {out}", soft_wrap=True, markup=False)


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


@datasets_app.command("list")
@_reports_errors
def datasets_list() -> None:
    """List the bundled data sets: name, title, and whether the data are synthetic.

    **Example**

        credibility datasets list
    """
    from credibility.datasets import list_datasets

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
    from credibility.datasets import dataset_info, load_dataset

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


@datasets_app.command("build-real")
@_reports_errors
def datasets_build_real(
    out: Annotated[Path, typer.Option(help="Folder to write the tables and codebook.md into "
                                      "(created).")],
    guarantor: Annotated[str, typer.Option(
        help="Guarantor: COW abbreviation (USA) or code (2).")] = "USA",
    years: Annotated[str, typer.Option(metavar="FIRST-LAST",
                                       help="Window of years, e.g. 1980-2010.")] = "1980-2010",
    data_dir: Annotated[Path | None, typer.Option(
        metavar="DIR", help="Folder with the staged source files (default: ../shared/data "
        "when it exists). A per-source option below wins over it.")] = None,
    atop: Annotated[Path | None, typer.Option(help="ATOP directed dyad-year file.")] = None,
    nmc: Annotated[Path | None, typer.Option(help="COW NMC state-year file.")] = None,
    states: Annotated[Path | None, typer.Option(help="COW state system file.")] = None,
    majors: Annotated[Path | None, typer.Option(help="COW major powers file.")] = None,
    contiguity: Annotated[Path | None, typer.Option(help="COW direct contiguity file.")] = None,
    mid: Annotated[Path | None, typer.Option(help="GML MID directed dispute-year file.")] = None,
    mme: Annotated[Path | None, typer.Option(help="MME exercises (long) file.")] = None,
    troops: Annotated[Path | None, typer.Option(help="US troops (troopdata) file.")] = None,
    cow_alliance: Annotated[Path | None, typer.Option(
        help="COW alliances dyad-year file (optional cross-check).")] = None,
) -> None:
    """Build commitments, signals and cases for one guarantor from the public sources.

    **Reads** ATOP (commitments), troopdata, MME, COW NMC (signals), GML MID, COW
    contiguity, majors and states (cases); see docs/sources.md for every coding rule.

    **Writes** into OUT: commitments.csv, signals.csv, cases.csv (the data contract,
    valid for models/us_real.toml) and codebook.md (sources with SHA-256, coding
    rules, derived spells, alliance groups and the disputes behind each failure).

    **Example**

        credibility datasets build-real --guarantor USA --years 1980-2010 --out real_data
    """
    from credibility.sources.build import build_tables, parse_years, source_paths, write_tables

    paths = source_paths(data_dir, atop=atop, nmc=nmc, states=states, majors=majors,
                         contiguity=contiguity, mid=mid, mme=mme, troops=troops,
                         cow_alliance=cow_alliance)
    tables = build_tables(guarantor, parse_years(years), paths)
    written = write_tables(tables, out)
    counts = tables.signals["signal"].value_counts()
    failures = int((tables.cases["outcome"] == 0).sum())
    _console().print(
        f"{tables.guarantor} {tables.years[0]}-{tables.years[1]}: "
        f"{len(tables.commitments)} commitments, {len(tables.signals)} signal rows ("
        + ", ".join(f"{escape(str(k))} {v}" for k, v in counts.items())
        + f"), {len(tables.cases)} cases ({failures} with a MID initiated against the protégé)")
    _print_written(_console(), list(written.values()))


# -- updating and the posterior store ---------------------------------------------------------

StoreDir = Annotated[Path, typer.Option(
    "--store", metavar="DIR", help="Posterior store folder (versions of a fit; see "
    "`credibility history`).")]


def _open_store(path: Path) -> PosteriorStore:
    """An existing posterior store: a missing folder is an error, not a new empty store."""
    from credibility.store import PosteriorStore

    if not path.is_dir():
        raise CredibilityError(f"{path}: no such folder; expected a posterior store (a folder "
                               "with manifest.json)")
    return PosteriorStore(path)


def _ledger_table(merge: MergeResult, signals: Path) -> Table:
    """What the update did with the incoming rows, and the revised values."""
    from credibility.schema import LEDGER_ACTIONS

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
    from credibility.schema import CASE_ACTIONS

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


@app.command()
@_reports_errors
def update(
    store: StoreDir,
    signals: Annotated[Path | None, typer.Option(
        metavar="FILE", help="New signal rows (CSV in the signals table layout).")] = None,
    cases: Annotated[Path | None, typer.Option(
        metavar="FILE", help="New deterrence cases and outcomes of open ones (CSV in the "
        "cases table layout); the outcome model is refitted.")] = None,
    commitments: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Rows of commitments the store does not hold yet (CSV in the "
        "commitments table layout).")] = None,
    revise: Annotated[bool, typer.Option(
        "--revise", help="Let a row or case that changes a stored value replace it (a "
        "correction); without it such a row stops the update.")] = False,
    fit_dir: Annotated[Path | None, typer.Option(
        "--fit", metavar="DIR", help="Update this saved fit (`credibility fit --out`) instead "
        "of the store's latest version; it is stored first, as the parent.")] = None,
    method: Annotated[str, typer.Option(
        metavar="METHOD", help="exact (default): refit the full posterior on all the data; "
        "approximate: previous posterior as prior, only new periods sampled (fast).")
    ] = "exact",
    approximate: Annotated[bool, typer.Option(
        "--approximate", help="Same as --method approximate.")] = False,
    draws: Annotated[int | None, typer.Option(
        min=1, help="Posterior draws per chain (default: as the parent).")] = None,
    tune: Annotated[int | None, typer.Option(
        min=1, help="Tuning iterations per chain (default: as the parent).")] = None,
    chains: Annotated[int | None, typer.Option(
        min=1, help="Chains (default: as the parent).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: as the parent).")
                    ] = None,
    note: Annotated[str, typer.Option(help="A note stored with the new version.")] = "",
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
    from credibility.approximate import SMOOTHED_PERIODS
    from credibility.diagnostics import ConvergenceWarning
    from credibility.fitting import FitResult
    from credibility.store import PosteriorStore
    from credibility.updating import UPDATE_METHODS, update_fit

    console = _console()
    method = "approximate" if approximate else method
    _check_choice(method, UPDATE_METHODS, "--method")
    if signals is None and cases is None:
        raise CredibilityError("nothing to update: give --signals FILE, --cases FILE or both")
    if fit_dir is not None:
        if not fit_dir.is_dir():
            raise CredibilityError(f"{fit_dir}: no such folder; expected a folder written by "
                                   "`credibility fit --out`")
        posterior_store, base, parent = PosteriorStore(store), FitResult.load(fit_dir), None
    else:
        posterior_store = _open_store(store)
        parent = posterior_store.latest()
        if parent is None:
            raise CredibilityError(f"store {store} holds no versions yet; start it from a saved "
                                   "fit with --fit DIR (a folder written by `credibility fit`)")
        base = posterior_store.load(parent)
    stages = _StageLine(console, enabled=not quiet)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = update_fit(base, signals, new_cases=cases, method=method, revise=revise,
                                new_commitments=commitments, draws=draws, tune=tune,
                                chains=chains, seed=seed, progress=not quiet, on_stage=stages)
    finally:
        stages.close()
    if signals is not None:
        console.print(_ledger_table(result.merge, signals))
        if result.merge.counts()["revised"]:
            console.print(_revisions_table(result.ledger))
    if result.cases is not None:
        console.print(_cases_table(result.cases, cases))
    _print_diagnostics(console, result.fit.diagnostics)
    if parent is None:
        parent = posterior_store.save(base, note=f"imported from {fit_dir}")
    counts = result.merge.counts()
    what = [f"{signals.name}: {counts['added']} added, {counts['revised']} revised"
            ] if signals is not None else []
    if result.cases is not None:
        case_counts = result.cases.counts()
        what.append(f"{cases.name}: {case_counts['added']} cases added, "
                    f"{case_counts['resolved']} resolved, {case_counts['revised']} revised")
    version = posterior_store.save(
        result.fit, parent=parent, method=result.method,
        ledger=result.ledger if signals is not None else None,
        cases_ledger=None if result.cases is None else result.cases.ledger,
        note=note or f"{result.method} update with {'; '.join(what)}",
    )
    console.print(f"Saved version [bold]{version}[/bold] (parent {parent}, method "
                  f"{result.method}) in {escape(str(store))}", soft_wrap=True)
    if result.fit.is_approximate:
        console.print(Panel(
            "This version is an APPROXIMATE update: the previous posterior, summarised by a "
            "normal distribution, was the prior; the periods after the last one with data "
            f"were sampled and the last {SMOOTHED_PERIODS} with data revised. Earlier periods "
            "keep their previous estimates. Run an exact update before citing these results.",
            title="approximate", border_style="yellow"))


def _flag(text: str, ok: bool) -> str:
    return text if ok else f"[bold red]{text}[/bold red]"


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
    from credibility.diagnostics import ESS_MIN, RHAT_MAX

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
    from credibility.updating import credibility_diff

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
