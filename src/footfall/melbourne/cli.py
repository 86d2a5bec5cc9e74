"""The Melbourne commands (run, ingest, top, report, generate, demo), registered by :mod:`footfall.cli`:
each parses its flags, calls the job, and renders what it returns."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from footfall.console import Progress, download_bars, err, line, note, render, summary_line
from footfall.errors import FootfallError
from footfall.extras import MissingExtra, require
from footfall.melbourne.portal import PORTAL_URL, Fetch
from footfall.options import EngineOpt, LakeOpt, RebuildOpt, S3EndpointOpt, SparkMasterOpt
from footfall.settings import Settings

if TYPE_CHECKING:
    from footfall.context import Context
    from footfall.lake.open import Held

CountsOpt = Annotated[list[str], typer.Option("--counts", help="Counts file, glob, directory or http(s) URL "
                                               "(repeatable). Without any, the portal is fetched.")]
SensorsOpt = Annotated[list[str], typer.Option("--sensors", help="Sensor-locations file, glob, directory or URL.")]
SourceOpt = Annotated[str, typer.Option("--source", help="melbourne (the Opendatasoft portal) or socrata.")]
PortalOpt = Annotated[str | None, typer.Option("--portal", help=f"Portal base URL (default: $FOOTFALL_PORTAL_URL, "
                                               f"else {PORTAL_URL}).")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="First day to fetch, YYYY-MM-DD.")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Last day to fetch, YYYY-MM-DD.")]
RefreshOpt = Annotated[bool, typer.Option("--full-refresh", help="Fetch everything again, ignoring what landed.")]
SocrataUrlOpt = Annotated[str | None, typer.Option("--socrata-url", help="Socrata domain, e.g. https://data.x.gov.")]
DatasetOpt = Annotated[str, typer.Option("--dataset", help="Socrata counts dataset id.")]
SensorsDatasetOpt = Annotated[str | None, typer.Option("--sensors-dataset", help="Socrata sensors dataset id.")]
BulkOpt = Annotated[bool, typer.Option("--bulk-csv", help="Socrata: the bulk rows.csv instead of SODA JSON pages.")]
WorkersOpt = Annotated[int, typer.Option("--workers", help="Socrata: pages fetched at once.")]
ExportFormatOpt = Annotated[str, typer.Option("--format", help="The portal's export to fetch: csv, parquet (the "
                                              "most compact) or xlsx.")]

# Each fetch flag once, by the name of the Fetch field it fills.
FETCH_FLAGS = {"source": SourceOpt, "portal": PortalOpt, "since": SinceOpt, "until": UntilOpt,
               "full_refresh": RefreshOpt, "socrata_url": SocrataUrlOpt, "dataset": DatasetOpt,
               "sensors_dataset": SensorsDatasetOpt, "bulk_csv": BulkOpt, "workers": WorkersOpt,
               "export_format": ExportFormatOpt}


def fetches(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the fetch flags (``FETCH_FLAGS``, defaults from :class:`Fetch`) and call it with them
    gathered into its ``how`` argument, so ``run`` and ``ingest`` cannot drift apart."""
    hints = typing.get_type_hints(command, include_extras=True)
    defaults = {field.name: field.default for field in dataclasses.fields(Fetch)}
    own = [parameter.replace(annotation=hints[parameter.name])
           for parameter in inspect.signature(command).parameters.values() if parameter.name != "how"]
    flags = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=defaults[name], annotation=kind)
             for name, kind in FETCH_FLAGS.items()]

    @functools.wraps(command)
    def with_flags(**options: Any) -> None:
        command(how=Fetch(**{name: options.pop(name) for name in FETCH_FLAGS}), **options)

    with_flags.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*own, *flags], return_annotation=None)
    with_flags.__annotations__ = {parameter.name: parameter.annotation for parameter in [*own, *flags]}
    return with_flags


@contextlib.contextmanager
def opened(context: Context, *, write: bool, portal: bool = False) -> Iterator[Held]:
    """The Melbourne lake, held once for a writer."""
    from footfall.melbourne.job import melbourne_lake

    with melbourne_lake(context, write=write, portal=portal) as held:
        yield held


def fetched(context: Context, held: Held, counts: list[str], sensors: list[str],
            how: Fetch) -> tuple[list[str], list[str], int]:
    """Fetch what is remote into the held lake, with a bar per download."""
    from footfall.melbourne.job import fetch

    with download_bars() as bars:
        return fetch(context, held, counts, sensors, how, progress=bars, notify=note)


@fetches
def ingest_command(
    how: Fetch,
    counts: CountsOpt = [],  # noqa: B006
    sensors: SensorsOpt = [],  # noqa: B006
    lake: LakeOpt = None,
    s3_endpoint: S3EndpointOpt = None,
) -> None:
    """Fetch into the landing zone only: the portal (incrementally), a Socrata dataset, URLs or files."""
    from footfall.melbourne.job import land_only, melbourne

    context = melbourne(Settings.resolve(lake=lake, s3_endpoint=s3_endpoint))
    with opened(context, write=True, portal=not counts and not sensors) as held:
        local_counts, local_sensors, downloads = fetched(context, held, counts, sensors, how)
        result = land_only(held, local_counts, local_sensors)
    err.print(line(("done", "green"), f": {downloads} download(s) landed, {len(result.landed)} local file(s) landed, "
                   f"{len(result.unchanged)} unchanged"))


@fetches
def run_command(
    how: Fetch,
    counts: CountsOpt = [],  # noqa: B006
    sensors: SensorsOpt = [],  # noqa: B006
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    spark_master: SparkMasterOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit with 4 when any row was quarantined.")] = False,
    rebuild: RebuildOpt = False,
    s3_endpoint: S3EndpointOpt = None,
) -> None:
    """Run the Melbourne pipeline: fetch (the portal unless files are given), land, parse what is new,
    rebuild every answer.

    Exit codes: 0 answers published; 1 an error (nothing published); 3 a data check failed (nothing
    published); 4 with --strict, answers published but some rows were quarantined."""
    from footfall.engines import check_engine
    from footfall.melbourne.job import melbourne
    from footfall.melbourne.run import run_job

    context = melbourne(Settings.resolve(lake=lake, engine=engine, spark_master=spark_master,
                                         s3_endpoint=s3_endpoint))
    check_engine(context.settings.engine)
    err.print(line(("melbourne", "bold"), f" -> {context.settings.lake}"))
    with opened(context, write=True, portal=not counts and not sensors) as held:
        local_counts, local_sensors, downloads = fetched(context, held, counts, sensors, how)
        with Progress() as progress:
            result = run_job(context, held, local_counts, local_sensors, listener=progress, rebuild=rebuild)
    err.print(line(("done", "green"), f": {downloads + len(result.landed)} file(s) landed, {len(result.unchanged)} "
                   f"unchanged, {len(result.staged)} parsed; {summary_line(result.run)}; {result.quarantined:,} row(s) "
                   "quarantined" + (" (see curated/quarantine_summary.csv)" if result.quarantined else "")
                   + f"; repeated hours: {result.hours_folded:,} folded (identical rows), {result.hours_summed:,} "
                   "summed (partial records)" + (" (see curated/resolution_summary.csv)"
                                                 if result.hours_folded or result.hours_summed else "")))
    if result.coordinates_set_aside:
        err.print(line(f"  {result.coordinates_set_aside:,} location(s) with unusable coordinates kept without a "
                       "position (see coordinates_note in transformed/locations.parquet)"))
    for column in result.unresolved:
        err.print(line("  ", ("unresolved", "yellow"), f" {column.reason}: {column.rows_quarantined:,} value(s) "
                       "quarantined"))
    if result.missing_hours:
        err.print(line(f"  {result.missing_hours:,} missing hour(s) in wide files (na, undefined or empty): absent, "
                       "not quarantined"))
    if strict and result.quarantined:
        raise typer.Exit(4)


def top_command(
    by: Annotated[str, typer.Option("--by", help="day or month.")] = "day",
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: the latest day).")] = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM (default: the latest month).")] = None,
    lake: LakeOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    s3_endpoint: S3EndpointOpt = None,
) -> None:
    """Print the top 10 locations for a day or a month."""
    from footfall.melbourne.answers import reads, top10
    from footfall.melbourne.job import melbourne

    context = melbourne(Settings.resolve(lake=lake, s3_endpoint=s3_endpoint))
    with context.read(reads(context.pipeline.spec, by)) as local:
        columns, rows, period = top10(local, context.pipeline.spec, by, day if by == "day" else month)
    render(columns, rows, fmt, title=f"Top 10 locations by pedestrians, {period}")


def report_command(
    lake: LakeOpt = None,
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the HTML file.")] = Path("report.html"),
    s3_endpoint: S3EndpointOpt = None,
) -> None:
    """Write one self-contained HTML report of the answers (opens offline)."""
    from footfall.melbourne.job import melbourne
    from footfall.melbourne.report import reads, write

    require("report", "plotly.offline", "the HTML report")  # before anything is downloaded
    context = melbourne(Settings.resolve(lake=lake, s3_endpoint=s3_endpoint))
    with context.read(reads(context.pipeline.spec)) as local:
        path = write(local, out_path)
    err.print(line(("wrote", "green"), f" {path} ({path.stat().st_size / 1e6:.1f} MB)"))


def generate_command(
    out_path: Annotated[Path, typer.Argument(help="File to write.")],
    rows: Annotated[int | None, typer.Option("--rows", help="About this many rows (sets --end).")] = None,
    sensors: Annotated[int, typer.Option("--sensors", help="Number of sensors.")] = 60,
    start: Annotated[str, typer.Option("--start", help="First day, YYYY-MM-DD.")] = "2019-01-01",
    end: Annotated[str, typer.Option("--end", help="Last day, YYYY-MM-DD.")] = "2019-12-31",
    fmt: Annotated[str, typer.Option("--format", help="archive, rows-csv, soda-json or ods-csv.")] = "archive",
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 0,
    locations: Annotated[Path | None, typer.Option("--locations", help="Also write a sensor-locations file.")] = None,
    faults: Annotated[bool, typer.Option("--faults", help="Plant sensor faults: an outage, flatlines, a level "
                                         "shift (needs 8 sensors, 120 days).")] = False,
) -> None:
    """Write deterministic synthetic counts shaped like the real data, in any published format."""
    from footfall.melbourne.generate import generate
    from footfall.melbourne.job import day

    try:
        summary = generate(out_path, fmt=fmt, seed=seed, sensors=sensors, start=day(start, "--start"),
                           end=day(end, "--end"), rows=rows, locations=locations, faults=faults)
    except ValueError as e:
        raise FootfallError(str(e)) from None
    err.print(line(("wrote", "green"), f" {summary.path}: {summary.rows:,} rows, {summary.sensors} sensors, "
                   f"{summary.start} .. {summary.end}, {summary.bytes / 1e6:,.1f} MB ({summary.format})"))
    for fault in summary.faults:
        err.print(line(f"  planted {fault}"))


def demo_command(
    folder: Annotated[Path, typer.Option("--dir", help="Where the demo data, lake and report go.")] = Path("demo"),
) -> None:
    """Generate three realistic years of data and run everything on it, offline: the answers and the report
    (the report needs the report extra; without it, the answers alone)."""
    from footfall.melbourne.generate import generate
    from footfall.melbourne.job import melbourne
    from footfall.melbourne.report import write
    from footfall.melbourne.run import run_job

    folder.mkdir(parents=True, exist_ok=True)
    counts, sensors = folder / "counts-2019-2021.csv", folder / "sensor-locations.csv"
    if not counts.exists() or not sensors.exists():
        summary = generate(counts, fmt="archive", seed=2019, sensors=40, start=date(2019, 1, 1),
                           end=date(2021, 12, 31), locations=sensors)
        err.print(line(("generated", "green"), f" {summary.rows:,} rows for {summary.sensors} sensors, "
                       f"{summary.start} .. {summary.end}"))
    context = melbourne(Settings.resolve(lake=str(folder / "lake")).but(engine="duckdb"))
    with opened(context, write=True) as held, Progress() as progress:
        result = run_job(context, held, [str(counts)], [str(sensors)], listener=progress)
    err.print(line(("done", "green"), f": {summary_line(result.run)}"))
    try:
        report = write(held.work, folder / "report.html")
    except MissingExtra as e:
        err.print(line(("report skipped", "yellow"), f": {e}"))
    else:
        err.print(line(("report", "green"), f" {report}"))
    top_command(by="month", day=None, month=None, lake=str(held.work.root), fmt="table")


def register(app: typer.Typer) -> None:
    """Add the Melbourne commands to the framework's command line."""
    for name, command in (("ingest", ingest_command), ("run", run_command), ("top", top_command),
                          ("report", report_command), ("generate", generate_command), ("demo", demo_command)):
        app.command(name)(command)
