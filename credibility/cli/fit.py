"""``credibility demo`` and ``credibility fit``: sample a posterior and save it."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from credibility.cli.common import (
    MAX_TREEDEPTH,
    Backend,
    Budget,
    Chains,
    Draws,
    FixedLength,
    MaxDraws,
    Quiet,
    Seed,
    Tune,
    _check_choice,
    _console,
    _default_cases,
    _print_written,
    _reports_errors,
    _StageLine,
    app,
    parse_duration,
)
from credibility.cli.tables import (
    _predictions_table,
    _print_fit_diagnostics,
    _ranking_table,
    _scenario_tables,
)
from credibility.errors import CredibilityDataError, CredibilityError

if TYPE_CHECKING:
    import xarray as xr

    from credibility.analysis.scenarios import ScenarioResult
    from credibility.data.container import CredibilityData
    from credibility.data.datasets import DatasetInfo
    from credibility.results.fitting import CredibilityModel, FitResult

#: Commitments the demo's trajectory figure shows, when the data set has them.
DEMO_HIGHLIGHTS = ("USA-EST", "USA-POL", "USA-JPN", "USA-KOR", "USA-PHL", "GBR-AUS-AUKUS")


def _run_fit(
    console: Console, model: CredibilityModel, data: CredibilityData, *, draws: int, tune: int,
    chains: int, seed: int, backend: str, quiet: bool, outcome: str = "auto",
    mass_matrix: str = "diag", method: str = "nuts", max_treedepth: int = MAX_TREEDEPTH,
    fixed_length: bool = False, max_draws: int | None = None, budget: str | None = None,
) -> FitResult:
    """Fit with a status line; convergence warnings become the diagnostics table."""
    from credibility.inference.diagnostics import ConvergenceWarning

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


def _demo_scenario(fit: FitResult) -> tuple[str, ScenarioResult] | None:
    """US troops in Poland in the forecast period at 1.5 x their last five years' mean."""
    import pandas as pd

    from credibility.analysis.scenarios import ScenarioWarning, run_scenario
    from credibility.demo import FORECAST_PERIOD

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
    from credibility.data.datasets import dataset_info, load_dataset
    from credibility.results.fitting import BACKENDS, CredibilityModel

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
    scenario = _print_demo_results(console, fit, info)
    written = _write_demo_figures(fit, info, out)
    if scenario is not None:
        written.append(out / "scenario.csv")
        scenario.predictions.to_csv(written[-1], index=False)
    fit.credibility().to_csv(out / "credibility.csv", index=False)
    fit.save(out / "fit")
    _print_written(console, [*written, out / "credibility.csv", out / "fit"])


def _print_demo_results(console: Console, fit: FitResult, info: DatasetInfo
                        ) -> ScenarioResult | None:
    """The ranking, the diagnostics and, with an outcome model, predictions and the
    scenario (returned, to be written)."""
    label = " (SYNTHETIC data)" if info.synthetic else ""
    console.print(_ranking_table(fit, int(fit.data.signals["period"].max()), label=label))
    _print_fit_diagnostics(console, fit)
    if fit.outcome_mode is None:
        return None
    named = _default_cases(fit)
    console.print(_predictions_table(fit.predict(named), named,
                                     f"Predicted deterrence success{label}"))
    scenario = _demo_scenario(fit)
    if scenario is None:
        return None
    console.print(f"[bold]Scenario:[/bold] {escape(scenario[0])}")
    for table in _scenario_tables(scenario[1]):
        console.print(table)
    return scenario[1]


def _write_demo_figures(fit: FitResult, info: DatasetInfo, out: Path) -> list[Path]:
    """The demo's figures (and predictions table) in ``out``; the paths written."""
    from credibility.analysis.plots import (
        plot_calibration,
        plot_forest,
        plot_loadings,
        plot_predictions,
        plot_trajectories,
    )

    highlights = [c for c in DEMO_HIGHLIGHTS if c in fit.data.commitment_ids] or None
    truth_file = info.path / "truth.csv"
    truth = _read_truth(truth_file) if truth_file.is_file() else None
    written = [out / "trajectories.png", out / "forest.png", out / "loadings.png"]
    plot_trajectories(fit, highlights, truth=truth, path=written[0])
    plot_forest(fit, period=int(fit.data.signals["period"].max()), path=written[1])
    plot_loadings(fit, path=written[2])
    if fit.outcome_mode is not None:
        written += [out / "predictions.png", out / "calibration.png", out / "predictions.csv"]
        plot_predictions(fit, path=written[3])
        plot_calibration(fit, path=written[4])
        fit.predict().to_csv(written[5], index=False)
    return written


# Options of `fit` alone, named here so that its signature reads as a list.
Outcome = Annotated[str, typer.Option(
    metavar="MODE", help="Deterrence-success model when the cases have outcomes: "
    "auto (default: two_stage), two_stage, joint, or none.")]
MassMatrix = Annotated[str, typer.Option(
    metavar="KIND", help="Mass-matrix adaptation (nutpie): diag (default) or low_rank, "
    "for posteriors with strongly correlated directions.")]
Method = Annotated[str, typer.Option(
    metavar="METHOD", help="nuts (default: the posterior) or advi (mean-field ADVI: fast, "
    "for exploration; understates uncertainty; results are labelled APPROXIMATE).")]
MaxTreedepth = Annotated[int, typer.Option(
    metavar="N", help="Longest NUTS trajectory: 2**N - 1 leapfrog steps (default 10; "
    "lower caps make draws cheaper but more autocorrelated, docs/decisions.md 25).")]
Strict = Annotated[bool, typer.Option(
    "--strict", help="Exit with code 1 when the diagnostics fail (results are still written).")]


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
    outcome: Outcome = "auto",
    mass_matrix: MassMatrix = "diag",
    method: Method = "nuts",
    max_treedepth: MaxTreedepth = MAX_TREEDEPTH,
    fixed_length: FixedLength = False,
    max_draws: MaxDraws = None,
    budget: Budget = None,
    strict: Strict = False,
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
    from credibility.data.container import CredibilityData
    from credibility.data.spec import load_spec
    from credibility.inference.sampling import MASS_MATRICES, METHODS
    from credibility.results.fitting import BACKENDS, CredibilityModel

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
