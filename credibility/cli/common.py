"""What every command of the ``credibility`` command line shares.

The Typer application the commands register on, the handling that turns the library's
errors into one ``error:`` line and exit code 2, the options several commands take
(sampling settings, ``--store``), and small functions that load what a command reads and
print what it wrote.

The library (PyMC, ArviZ, matplotlib, pandas, ...) is imported inside the commands and
functions that use it, so that ``credibility --help`` starts in a fraction of a second
(decision 42).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.status import Status

from credibility.errors import CredibilityError

if TYPE_CHECKING:
    import pandas as pd

    from credibility.results.fitting import FitResult
    from credibility.results.store import PosteriorStore


#: Exit code for bad input (the same code Typer uses for usage errors).
EXIT_BAD_INPUT = 2
#: Default of --max-treedepth: credibility.inference.config.MAX_TREEDEPTH, repeated here so that
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


# Shared by `update`, `history` and `diff`.
StoreDir = Annotated[Path, typer.Option(
    "--store", metavar="DIR", help="Posterior store folder (versions of a fit; see "
    "`credibility history`).")]


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


def _print_written(console: Console, paths: list[Path]) -> None:
    console.print("[bold]Written:[/bold]")
    for path in paths:
        # Unwrapped, so that long paths can be copied.
        console.print(f"  {path}", soft_wrap=True, markup=False)


def _interval(low: float, high: float, digits: int) -> str:
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def _flag(text: str, ok: bool) -> str:
    return text if ok else f"[bold red]{text}[/bold red]"


def _load_fit(fit_dir: Path) -> FitResult:
    from credibility.results.fitting import FitResult

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


def _warn_unreliable(fit: FitResult) -> None:
    problems = list(fit.diagnostics.problems())
    if fit.outcome_diagnostics is not None:
        problems += [f"outcome model: {p}" for p in fit.outcome_diagnostics.problems()]
    if problems:
        typer.echo("warning: this fit failed its diagnostics (" + "; ".join(problems)
                   + "); the posterior is NOT reliable", err=True)


def _open_store(path: Path) -> PosteriorStore:
    """An existing posterior store: a missing folder is an error, not a new empty store."""
    from credibility.results.store import PosteriorStore

    if not path.is_dir():
        raise CredibilityError(f"{path}: no such folder; expected a posterior store (a folder "
                               "with manifest.json)")
    return PosteriorStore(path)
