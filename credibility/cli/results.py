"""Commands that read saved fits: ``export``, ``predict``, ``report`` and ``compare``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from credibility.cli.common import (
    _check_choice,
    _console,
    _default_cases,
    _flag,
    _load_fit,
    _open_store,
    _print_written,
    _reports_errors,
    _warn_unreliable,
    app,
)
from credibility.cli.tables import (
    _checks_table,
    _markdown,
    _predictions_table,
    _print_fit_diagnostics,
    _scenario_tables,
)
from credibility.errors import CredibilityError

if TYPE_CHECKING:
    import pandas as pd

    from credibility.results.fitting import FitResult

#: What ``credibility export --what`` can write.
EXPORTS = ("credibility", "alliances", "parameters")
SCALES = ("z", "percentile")


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
    _check_choice(what, EXPORTS, "--what")
    _check_choice(scale, SCALES, "--scale")
    if what == "parameters" and scale != "z":
        raise CredibilityError("--scale applies to credibility and alliances; parameters "
                               "are reported on their own scales")
    result = _export_source(fit_dir, store, version)
    _write_csv(_export_table(result, what, scale), out, _console())


def _write_csv(frame: pd.DataFrame, out: Path | None, console: Console) -> None:
    """``frame`` as CSV: to standard output, or to ``out`` (its folder created) with a
    line that says so."""
    text = frame.to_csv(index=False, lineterminator="\n")
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(frame)} rows to {out}", soft_wrap=True, markup=False)


def _export_source(fit_dir: Path | None, store: Path | None, version: str | None
                   ) -> FitResult:
    """The fit ``export`` reads: a saved fit, or a version of a posterior store."""
    if (fit_dir is None) == (store is None):
        raise CredibilityError("give either --fit DIR (a saved fit) or --store DIR (a "
                               "posterior store)")
    if store is not None:
        return _open_store(store).load(version)
    if version is not None:
        raise CredibilityError("--version selects a version of --store; give --store DIR")
    return _load_fit(fit_dir)


def _export_table(result: FitResult, what: str, scale: str) -> pd.DataFrame:
    """The table ``export --what`` names; warnings about the fit go to stderr."""
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
        kind = ("mean-field ADVI fit (understates uncertainty)"
                if result.approximation == "ADVI fit" else
                "update (previous posterior as prior, only new periods sampled)")
        typer.echo(f"note: this version is an APPROXIMATE {kind}; every row says so in "
                   "column 'posterior'", err=True)
    return frame


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
    from credibility.analysis.scenarios import SCENARIO_METHODS, ScenarioWarning, run_scenario

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
    _write_csv(table, out, console)


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
    fit = _load_fit(fit_dir)
    out.mkdir(parents=True, exist_ok=True)
    console = _console()
    written = _report_figures(fit, out)
    lines = _report_summary(fit, fit_dir)
    lines += ["", "## Posterior predictive check (p-values near 0 or 1 flag misfit)", "",
              *_report_ppc(console, fit, out, ppc_draws, written)]
    if fit.outcome_mode is not None:
        lines += _report_outcome(console, fit, out, written)
    (out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _print_fit_diagnostics(console, fit)
    _print_written(console, [out / "summary.md", *written])


def _report_figures(fit: FitResult, out: Path) -> list[Path]:
    """The report's figures and tables of every fit; the paths written."""
    from credibility.analysis.plots import (
        plot_dimension_map,
        plot_dimension_trajectories,
        plot_forest,
        plot_loadings,
        plot_trajectories,
    )

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
    return written


def _report_summary(fit: FitResult, fit_dir: Path) -> list[str]:
    """summary.md's first lines: the fit, its data and its sampler diagnostics."""
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
    return lines


def _report_ppc(console: Console, fit: FitResult, out: Path, draws: int,
                written: list[Path]) -> list[str]:
    """The posterior predictive check's figure and table (appended to ``written``) and
    its lines of summary.md."""
    from credibility.analysis.checks import posterior_predictive, ppc_summary
    from credibility.analysis.plots import plot_ppc

    if fit.is_approximate:
        return [f"APPROXIMATE ({fit.approximation}): posterior predictive checks need "
                f"an exact posterior ({fit.exact_hint}).", ""]
    with console.status("posterior predictive check ..."):
        ppc = posterior_predictive(fit, draws=draws)
    written += [out / "ppc.png", out / "ppc.csv"]
    plot_ppc(fit, ppc=ppc, path=written[-2])
    ppc_table = ppc_summary(fit, ppc=ppc)
    ppc_table.to_csv(written[-1], index=False)
    return [_markdown(ppc_table.round(3)), ""]


def _report_outcome(console: Console, fit: FitResult, out: Path, written: list[Path]
                    ) -> list[str]:
    """The outcome model's checks: figures and tables (appended to ``written``), a table
    on the console, and their lines of summary.md."""
    from credibility.analysis.checks import outcome_checks
    from credibility.analysis.plots import plot_calibration, plot_predictions

    checks = outcome_checks(fit)
    extra = [out / "calibration.png", out / "calibration.csv", out / "predictions.png",
             out / "predictions.csv"]
    plot_calibration(fit, checks=checks, path=extra[0])
    checks.calibration().to_csv(extra[1], index=False)
    plot_predictions(fit, path=extra[2])
    fit.predict().to_csv(extra[3], index=False)
    written += extra
    console.print(_checks_table(checks))
    return ["## Outcome model", "",
            *[f"- {label}: {value} ({status})" for label, value, status in checks.lines()],
            "", _markdown(fit.outcome_parameters().round(3).rename_axis("parameter")
                          .reset_index()), ""]


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
    from credibility.analysis.compare import CompareWarning, compare

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
