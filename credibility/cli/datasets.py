"""``credibility datasets list|show|build-real``: the bundled and the real data sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from credibility.cli.common import _console, _print_written, _reports_errors, app

datasets_app = typer.Typer(
    help="List and describe the bundled data sets.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(datasets_app, name="datasets")


@datasets_app.command("list")
@_reports_errors
def datasets_list() -> None:
    """List the bundled data sets: name, title, and whether the data are synthetic.

    **Example**

        credibility datasets list
    """
    from credibility.data.datasets import list_datasets

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
    from credibility.data.datasets import dataset_info, load_dataset

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


