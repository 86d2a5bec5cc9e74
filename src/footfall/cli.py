"""The ``footfall`` command: a thin face over the framework and the Melbourne pipeline.

Errors a user can cause are ``FootfallError``s and print as one line; so does anything else that reaches
the command line, named as unexpected; ``--debug`` shows the traceback. Progress goes to stderr, answers to
stdout, so output can be piped. Everything is printed through :func:`line`: user text (paths, URLs, names,
messages) literally, never read as rich markup or emoji codes, and with secrets masked.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text

from footfall import __version__
from footfall.errors import FootfallError
from footfall.melbourne.portal import PORTAL_URL, SOCRATA_COUNTS_DATASET, SOCRATA_SENSORS_DATASET
from footfall.redact import redact
from footfall.runner import Event, RunResult

if TYPE_CHECKING:
    from sqlglot import exp

    from footfall.dag import Pipeline
    from footfall.lake import Lake
    from footfall.melbourne.run import JobResult
    from footfall.spec import PipelineSpec

app = typer.Typer(help="Turn city pedestrian-counter data into answers.", no_args_is_help=True,
                  pretty_exceptions_enable=False, rich_markup_mode="rich")
pipeline_app = typer.Typer(help="Validate, plan and run any YAML + SQL pipeline directory.",
                           no_args_is_help=True)
app.add_typer(pipeline_app, name="pipeline")
catalog_app = typer.Typer(help="Register an S3 lake's tables in the Glue Data Catalog, for Athena.",
                          no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")

out = Console(soft_wrap=True, markup=False, emoji=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)
state = {"debug": False}
Part = str | tuple[str, str]


def line(*parts: Part) -> Text:
    """What every message is made of: text exactly as given, secrets masked; a (text, style) pair is styled."""
    return Text.assemble(*(redact(p) if isinstance(p, str) else (redact(p[0]), p[1]) for p in parts))


PipelineDir = Annotated[Path, typer.Argument(help="Pipeline directory (pipeline.yml + sql/).")]
LakeOpt = Annotated[str, typer.Option("--lake", help="Lake root: a directory or s3://bucket/prefix.",
                                       envvar="FOOTFALL_LAKE")]
S3EndpointOpt = Annotated[str | None, typer.Option(
    "--s3-endpoint", envvar="AWS_ENDPOINT_URL_S3",
    help="S3-compatible endpoint URL for an s3:// lake (default: AWS, or AWS_ENDPOINT_URL).")]
EngineOpt = Annotated[str, typer.Option("--engine", help="duckdb (embedded) or spark.")]
PipelineOpt = Annotated[Path | None, typer.Option("--pipeline", help="Pipeline directory (default: Melbourne).")]


def _version(value: bool) -> None:
    if value:
        out.print(line(f"footfall {__version__}"))
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    state["debug"] = debug


class Progress:
    """A spinner naming the work under way (on a terminal), over one line per finished piece of work."""

    def __init__(self) -> None:
        self.status = err.status("starting", spinner="dots")

    def __enter__(self) -> Progress:
        self.status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.status.stop()

    def __call__(self, event: Event) -> None:
        if event.kind == "begin":
            self.status.update(line(f"{event.detail} {event.name}"))
        else:
            print_event(event)


def print_event(event: Event) -> None:
    """One progress line per parsed file, source and step; checks only when they do not pass, outputs
    and passed checks in the closing summary."""
    if event.kind == "begin":
        return
    if event.kind == "check":
        if event.detail != "passed":
            colour = "red" if event.detail == "failed" else "yellow"
            err.print(line("  ", (f"{event.detail:<7}", colour), f" {event.name} ({event.rows} offending)"))
        return
    if event.kind == "output":
        return
    rows = "" if event.rows is None else f"{event.rows:>12,} rows"
    err.print(line(f"  {event.kind:<7} {event.name:<40} {rows:>18} {event.seconds:>7.2f}s  ", (event.detail, "dim")))


def summary_line(result: RunResult) -> str:
    passed = sum(1 for c in result.checks if c.passed)
    return (f"{len(result.published)} output(s) published, {passed}/{len(result.checks)} check(s) passed, "
            f"{len(result.warnings)} warning(s)")


@pipeline_app.command("validate")
def pipeline_validate(path: PipelineDir) -> None:
    """Check pipeline.yml and every SQL file without running anything."""
    from footfall.dag import load_pipeline

    pipeline = load_pipeline(path)
    out.print(line(("ok", "green"), f" {pipeline.name}: {len(pipeline.spec.sources)} source(s), "
                   f"{len(pipeline.steps)} step(s), {len(pipeline.spec.outputs)} output(s), "
                   f"{len(pipeline.checks())} check(s)"))


@pipeline_app.command("plan")
def pipeline_plan(path: PipelineDir) -> None:
    """Print the DAG in run order, with what each step reads."""
    from footfall.dag import load_pipeline

    pipeline = load_pipeline(path)
    for name in pipeline.spec.sources:
        out.print(line(f"source  {name}"))
    for i, name in enumerate(pipeline.order, 1):
        step = pipeline.steps[name]
        reads = ", ".join(sorted(step.depends_on)) or "-"
        out.print(line(f"{i:>3}. {name} ({step.settings.materialize}) <- {reads}"))
    for o in pipeline.spec.outputs:
        out.print(line(f"output  {o.table} -> {o.zone}/{o.relpath} ({o.format})"))


@pipeline_app.command("lint")
def pipeline_lint(
    path: PipelineDir,
    engine: Annotated[str, typer.Option("--engine", help="spark or athena.")] = "spark",
) -> None:
    """Find SQL that would not mean the same on Spark or Athena; exits 1 when anything is found."""
    from footfall.dag import load_pipeline
    from footfall.lint import lint

    try:
        findings = lint(load_pipeline(path), engine)
    except ValueError as e:
        raise FootfallError(str(e)) from None
    for finding in findings:
        out.print(line(str(finding)))
    if findings:
        raise typer.Exit(1)
    out.print(line(("ok", "green"), f" nothing in {path} changes meaning on {engine}"))


@pipeline_app.command("run")
def pipeline_run(path: PipelineDir, lake: LakeOpt = "lake", engine: EngineOpt = "duckdb",
                 s3_endpoint: S3EndpointOpt = None,
                 spark_master: Annotated[str, typer.Option("--spark-master",
                                                           help="Spark master for --engine spark.")] = "local[*]",
                 ) -> None:
    """Run a pipeline into a lake: steps, checks, then publish all outputs at once."""
    from footfall.dag import load_pipeline
    from footfall.engines import get_engine
    from footfall.runner import run_pipeline
    from footfall.s3 import is_s3

    pipeline = load_pipeline(path)
    err.print(line((pipeline.name, "bold"), f" -> {lake}"))
    options = {"master": spark_master} if engine == "spark" else {}
    if engine == "spark" and is_s3(lake):
        result = spark_pipeline_on_s3(pipeline, lake, s3_endpoint, spark_master)
    else:
        with opened(lake, write=True, endpoint=s3_endpoint, spec=pipeline.spec) as the_lake:
            the_lake.ensure()
            with get_engine(engine, **options) as eng, Progress() as progress:
                result = run_pipeline(pipeline, the_lake, eng, listener=progress)
    err.print(line(("done", "green"), f": {summary_line(result)}"))


def spark_pipeline_on_s3(pipeline: Pipeline, lake: str, endpoint: str | None, master: str) -> RunResult:
    """Spark reads and writes the S3 lake itself, as ``run`` does: no working copy."""
    from footfall.engines import get_engine
    from footfall.engines.spark_s3 import S3Access, on_glue
    from footfall.runner import run_pipeline
    from footfall.s3direct import DirectLake, scratch_lake

    glue = on_glue()
    s3 = None if glue else S3Access.resolve(endpoint)
    if s3:
        s3.static_conf()
    with scratch_lake() as scratch:
        remote = DirectLake.open(lake, pipeline.spec, endpoint_url=endpoint, scheme="s3" if glue else "s3a",
                                 scratch=scratch.root)
        with get_engine("spark", master=master, s3=s3) as eng, Progress() as progress:
            return run_pipeline(pipeline, remote, eng, listener=progress)


CountsOpt = Annotated[list[str], typer.Option("--counts", help="Counts file, glob, directory or http(s) URL "
                                               "(repeatable). Without any, the portal is fetched.")]
SensorsOpt = Annotated[list[str], typer.Option("--sensors", help="Sensor-locations file, glob, directory or URL.")]
SourceOpt = Annotated[str, typer.Option("--source", help="melbourne (the Opendatasoft portal) or socrata.")]
PortalOpt = Annotated[str | None, typer.Option("--portal", envvar="FOOTFALL_PORTAL_URL",
                                               help=f"Portal base URL (default {PORTAL_URL}).")]
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


@dataclass(frozen=True)
class Fetch:
    """Where the counts come from, as the user said."""

    source: str = "melbourne"
    portal: str | None = None
    since: str | None = None
    until: str | None = None
    full_refresh: bool = False
    socrata_url: str | None = None
    dataset: str = SOCRATA_COUNTS_DATASET
    sensors_dataset: str | None = SOCRATA_SENSORS_DATASET
    bulk_csv: bool = False
    workers: int = 4
    export_format: str = "csv"


def fetch(lake: Lake, counts: list[str], sensors: list[str], how: Fetch) -> tuple[list[str], list[str], int]:
    """Download what is remote into the landing zone; return the local paths still to land and how many
    downloads landed as new files."""
    from footfall.melbourne import ingest

    results = []
    with download_bars() as bars:
        for kind, items in (("counts", counts), ("sensors", sensors)):
            urls = [i for i in items if i.startswith(("http://", "https://"))]
            if urls:
                results.append(ingest.ingest_urls(lake, urls, kind, progress=bars))
        if not counts and not sensors:
            if how.source == "socrata":
                if not how.socrata_url:
                    raise FootfallError("--source socrata needs --socrata-url https://DOMAIN")
                results.append(ingest.ingest_socrata(
                    lake, how.socrata_url, how.dataset, how.sensors_dataset, bulk_csv=how.bulk_csv,
                    workers=how.workers, app_token=os.environ.get("SOCRATA_APP_TOKEN"), progress=bars))
            elif how.source == "melbourne":
                results.append(ingest.ingest_melbourne(
                    lake, how.portal or PORTAL_URL, since=_day(how.since, "--since") if how.since else None,
                    until=_day(how.until, "--until") if how.until else None, full_refresh=how.full_refresh,
                    progress=bars, export_format=how.export_format))
            else:
                raise FootfallError(f"unknown source {how.source!r} (melbourne, socrata)")
    for result in results:
        for landed in result.landed:
            err.print(line(f"  fetched {landed.kind}/{landed.name} ({landed.bytes / 1e6:,.1f} MB, {landed.format}) "
                           f"from {landed.origin}"))
        for what in result.unchanged:
            err.print(line("  ", (f"unchanged {what}", "dim")))
    local = [[i for i in items if not i.startswith(("http://", "https://"))] for items in (counts, sensors)]
    return local[0], local[1], sum(len(r.landed) for r in results)


@contextmanager
def opened(location: str, *, write: bool, endpoint: str | None = None, spec: PipelineSpec | None = None,
           reads: tuple[str, ...] = ()) -> Iterator[Lake]:
    """The lake to work on: a local directory as is, or the working copy of an S3 lake, pulled first (only
    ``reads`` for a reader that names them) and pushed back when the work succeeds (``write``)."""
    from footfall.lake import Lake
    from footfall.s3 import is_s3, working_copy

    if not is_s3(location):
        yield Lake.at(location)
        return
    if spec is None:
        from footfall.melbourne.run import pipeline

        spec = pipeline().spec
    with download_bars() as bars, working_copy(location, spec, write=write, endpoint_url=endpoint, reads=reads,
                                              progress=bars) as remote:
        err.print(line("  ", (f"pulled {remote.pulled.files} file(s), {remote.pulled.bytes / 1e6:,.1f} MB, from "
                              f"{remote} ({remote.pulled.kept} already here) into {remote.work}", "dim")))
        yield remote.work
    if remote.pushed is not None:
        err.print(line(f"  pushed {remote.pushed.files} file(s), {remote.pushed.bytes / 1e6:,.1f} MB, to {remote} "
                       f"({remote.pushed.kept} unchanged, {remote.pushed.deleted} superseded object(s) deleted)"))


@contextmanager
def download_bars() -> Iterator[Callable[[str], Callable[[int, int | None], None]]]:
    """A rich progress bar per download: bytes, rate, time left."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    with Progress(TextColumn("  {task.description}", markup=False), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=err, transient=True) as bars:
        def factory(label: str) -> Callable[[int, int | None], None]:
            task = bars.add_task(redact(label), total=None)

            def update(done: int, total: int | None) -> None:
                bars.update(task, completed=done, total=total)

            return update

        yield factory


@app.command("ingest")
def ingest_command(
    counts: CountsOpt = [],  # noqa: B006
    sensors: SensorsOpt = [],  # noqa: B006
    lake: LakeOpt = "lake",
    source: SourceOpt = "melbourne",
    portal: PortalOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    full_refresh: RefreshOpt = False,
    socrata_url: SocrataUrlOpt = None,
    dataset: DatasetOpt = SOCRATA_COUNTS_DATASET,
    sensors_dataset: SensorsDatasetOpt = SOCRATA_SENSORS_DATASET,
    bulk_csv: BulkOpt = False,
    workers: WorkersOpt = 4,
    export_format: ExportFormatOpt = "csv",
    s3_endpoint: S3EndpointOpt = None,
) -> None:
    """Fetch into the landing zone only: the portal (incrementally), a Socrata dataset, URLs or files."""
    from footfall.melbourne.run import JobResult, expand, land

    how = Fetch(source, portal, since, until, full_refresh, socrata_url, dataset, sensors_dataset, bulk_csv, workers,
                export_format)
    with opened(lake, write=True, endpoint=s3_endpoint) as the_lake, the_lake.lock():
        local_counts, local_sensors, fetched = fetch(the_lake, counts, sensors, how)
        result = JobResult()
        land(the_lake, expand(local_counts), expand(local_sensors), result)
    err.print(line(("done", "green"), f": {fetched} download(s) landed, {len(result.landed)} local file(s) landed, "
                   f"{len(result.unchanged)} unchanged"))


@app.command("run")
def run_command(
    counts: CountsOpt = [],  # noqa: B006
    sensors: SensorsOpt = [],  # noqa: B006
    lake: LakeOpt = "lake",
    engine: EngineOpt = "duckdb",
    spark_master: Annotated[str, typer.Option("--spark-master", help="Spark master for --engine spark.")] = "local[*]",
    strict: Annotated[bool, typer.Option("--strict", help="Exit with 4 when any row was quarantined.")] = False,
    source: SourceOpt = "melbourne",
    portal: PortalOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    full_refresh: RefreshOpt = False,
    socrata_url: SocrataUrlOpt = None,
    dataset: DatasetOpt = SOCRATA_COUNTS_DATASET,
    sensors_dataset: SensorsDatasetOpt = SOCRATA_SENSORS_DATASET,
    bulk_csv: BulkOpt = False,
    workers: WorkersOpt = 4,
    export_format: ExportFormatOpt = "csv",
    s3_endpoint: S3EndpointOpt = None,
) -> None:
    """Run the Melbourne pipeline: fetch (the portal unless files are given), land, parse what is new,
    rebuild every answer.

    Exit codes: 0 answers published; 1 an error (nothing published); 3 a data check failed (nothing
    published); 4 with --strict, answers published but some rows were quarantined."""
    from footfall.melbourne.run import run
    from footfall.s3 import is_s3

    err.print(line(("melbourne", "bold"), f" -> {lake}"))
    how = Fetch(source, portal, since, until, full_refresh, socrata_url, dataset, sensors_dataset, bulk_csv, workers,
                export_format)
    if engine == "spark" and is_s3(lake):
        result, fetched = spark_on_s3(lake, s3_endpoint, spark_master, counts, sensors, how)
    else:
        with opened(lake, write=True, endpoint=s3_endpoint) as the_lake:
            the_lake.ensure()
            with the_lake.lock():
                local_counts, local_sensors, fetched = fetch(the_lake, counts, sensors, how)
                with Progress() as progress:
                    result = run(the_lake, local_counts, local_sensors, engine=engine, listener=progress,
                                 engine_options={"master": spark_master} if engine == "spark" else None)
    err.print(line(("done", "green"), f": {fetched + len(result.landed)} file(s) landed, {len(result.unchanged)} "
                   f"unchanged, {len(result.staged)} parsed; {summary_line(result.run)}; {result.quarantined:,} row(s) "
                   "quarantined" + (" (see curated/quarantine_summary.csv)" if result.quarantined else "")
                   + f"; repeated hours: {result.hours_folded:,} folded (identical rows), {result.hours_summed:,} "
                   "summed (partial records)" + (" (see curated/resolution_summary.csv)"
                                                 if result.hours_folded or result.hours_summed else "")))
    for column in result.unresolved:
        err.print(line("  ", ("unresolved", "yellow"), f" {column.reason}: {column.rows_quarantined:,} value(s) "
                       "quarantined"))
    if result.missing_hours:
        err.print(line(f"  {result.missing_hours:,} missing hour(s) in wide files (na, undefined or empty): absent, "
                       "not quarantined"))
    if strict and result.quarantined:
        raise typer.Exit(4)


def spark_on_s3(lake: str, endpoint: str | None, master: str, counts: list[str], sensors: list[str],
                how: Fetch) -> tuple[JobResult, int]:
    """Spark reads and writes the S3 lake itself (S3A outside Glue, EMRFS on it); only landing and parsing
    new files touch local disk, in a scratch folder removed afterwards."""
    from footfall.engines.spark_s3 import S3Access, on_glue
    from footfall.melbourne.run import pipeline, prepare_scratch, run_on_s3
    from footfall.s3direct import DirectLake, scratch_lake

    glue = on_glue()
    s3 = None if glue else S3Access.resolve(endpoint)
    if s3:
        s3.static_conf()
    with scratch_lake() as scratch:
        remote = DirectLake.open(lake, pipeline().spec, endpoint_url=endpoint, scheme="s3" if glue else "s3a",
                                 scratch=scratch.root)
        prepare_scratch(remote, scratch, portal=not counts and not sensors)
        local_counts, local_sensors, fetched = fetch(scratch, counts, sensors, how)
        with Progress() as progress:
            result = run_on_s3(remote, scratch, local_counts, local_sensors, listener=progress,
                               engine_options={"master": master, "s3": s3})
    return result, fetched


@app.command("top")
def top_command(
    by: Annotated[str, typer.Option("--by", help="day or month.")] = "day",
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: the latest day).")] = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM (default: the latest month).")] = None,
    lake: LakeOpt = "lake",
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    s3_endpoint: S3EndpointOpt = None,
) -> None:
    """Print the top 10 locations for a day or a month."""
    from footfall.melbourne.answers import READS, top10

    with opened(lake, write=False, endpoint=s3_endpoint, reads=READS) as the_lake:
        columns, rows, period = top10(the_lake, by, day if by == "day" else month)
    render(columns, rows, fmt, title=f"Top 10 locations by pedestrians, {period}")


@app.command("query")
def query_command(
    sql: Annotated[str | None, typer.Argument(help="DuckDB SQL over the lake's tables (none: an interactive "
                                               "shell, statements ended by ;).")] = None,
    lake: LakeOpt = "lake",
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or parquet (with --out).")] = "table",
    out_path: Annotated[Path | None, typer.Option("--out", help="Write the answer to this file.")] = None,
    tables: Annotated[bool, typer.Option("--tables", help="List the tables with columns and row counts.")] = False,
    pipeline_dir: PipelineOpt = None,
    s3_endpoint: S3EndpointOpt = None,
) -> None:
    """Ask the lake anything: read-only SQL over its tables and views, by name, on a local or an S3 lake.

    Anything that would write (COPY, ATTACH, INSTALL, CREATE, SET, ...) or read files outside the lake is
    refused before it runs. Ctrl-C cancels a running query (exit 130)."""
    from footfall import query
    from footfall.dag import load_pipeline
    from footfall.melbourne.run import pipeline as melbourne

    if fmt not in query.FORMATS:
        raise FootfallError(f"unknown format {fmt!r} ({', '.join(query.FORMATS)})")
    the_pipeline = load_pipeline(pipeline_dir) if pipeline_dir else melbourne()
    every = tuple(t.rel for t in query.lake_tables(the_pipeline).values())
    if tables:
        with opened(lake, write=False, endpoint=s3_endpoint, spec=the_pipeline.spec, reads=every) as the_lake:
            for info in query.describe(the_lake, the_pipeline):
                size = f"{info.rows:,} rows" if info.rows is not None else "view"
                columns = ", ".join(f"{n} {t.lower()}" for n, t in info.columns)
                out.print(line((info.name, "bold"), f" ({size}): {columns}"))
        return
    if sql is None:
        with opened(lake, write=False, endpoint=s3_endpoint, spec=the_pipeline.spec, reads=every) as the_lake:
            _query_shell(the_lake, the_pipeline, fmt)
        return
    statement = query.parse_read_only(sql, the_pipeline)
    reads = tuple(t.rel for t in query.needed(the_pipeline, query.referenced(statement)))
    with opened(lake, write=False, endpoint=s3_endpoint, spec=the_pipeline.spec, reads=reads) as the_lake:
        _answer(the_lake, the_pipeline, statement, fmt, out_path)


def _answer(lake: Lake, pipeline: Pipeline, statement: exp.Expression, fmt: str, out_path: Path | None) -> None:
    """Run one checked statement with a spinner (after half a second, on a terminal) and print or write it."""
    from footfall import query

    con = query.open_for(lake, pipeline, statement)
    sql = statement.sql(query.DIALECT)
    status = err.status("", spinner="dots") if err.is_terminal else None

    def waiting(elapsed: float) -> None:
        if status is not None and elapsed >= 0.5:
            status.update(line(f"querying {lake} ... {elapsed:,.1f}s (Ctrl-C cancels)"))
            status.start()

    try:
        if fmt == "table" and out_path is None:
            limit = 1000
            answer = query.run_cancellable(con, lambda: query.fetch(con, sql, limit), waiting)
            if status is not None:
                status.stop()
            render(answer.columns, answer.rows, "table")
            if answer.more:
                err.print(line((f"  first {limit:,} rows shown: use --format csv or --out FILE for all", "dim")))
            return
        target = out_path.expanduser().absolute() if out_path else None
        rows = query.run_cancellable(con, lambda: query.write(con, sql, "csv" if fmt == "table" else fmt, target,
                                                                sys.stdout), waiting)
        if status is not None:
            status.stop()
        if target:
            err.print(line(("wrote", "green"), f" {target}: {rows:,} row(s)"))
    except KeyboardInterrupt:
        if status is not None:
            status.stop()
        err.print(line("query cancelled"))
        raise typer.Exit(130) from None
    finally:
        if status is not None:
            status.stop()
        con.close()


def _query_shell(lake: Lake, pipeline: Pipeline, fmt: str) -> None:
    """Statements ended by ``;``, one answer each; an error or a refusal is one line and the shell goes on."""
    from footfall import query

    interactive = sys.stdin.isatty()

    def lines() -> Iterator[str]:
        while True:
            try:
                yield input("footfall> ") + "\n"
            except EOFError:
                return

    if interactive:
        err.print(line(f"tables: {', '.join(query.known_names(pipeline))}; Ctrl-D ends"))
    for text in query.statements_of(lines() if interactive else sys.stdin):
        try:
            statement = query.parse_read_only(text, pipeline)
            _answer(lake, pipeline, statement, fmt, None)
        except FootfallError as e:
            err.print(line(("error:", "red"), f" {e}"))
        except typer.Exit:
            continue


@app.command("report")
def report_command(
    lake: LakeOpt = "lake",
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the HTML file.")] = Path("report.html"),
    s3_endpoint: S3EndpointOpt = None,
) -> None:
    """Write one self-contained HTML report of the answers (opens offline)."""
    from footfall.melbourne.report import READS, write

    with opened(lake, write=False, endpoint=s3_endpoint, reads=READS) as the_lake:
        path = write(the_lake, out_path)
    err.print(line(("wrote", "green"), f" {path} ({path.stat().st_size / 1e6:.1f} MB)"))


@app.command("generate")
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
    from footfall.generate import generate

    try:
        summary = generate(out_path, fmt=fmt, seed=seed, sensors=sensors, start=_day(start, "--start"),
                           end=_day(end, "--end"), rows=rows, locations=locations, faults=faults)
    except ValueError as e:
        raise FootfallError(str(e)) from None
    err.print(line(("wrote", "green"), f" {summary.path}: {summary.rows:,} rows, {summary.sensors} sensors, "
                   f"{summary.start} .. {summary.end}, {summary.bytes / 1e6:,.1f} MB ({summary.format})"))
    for fault in summary.faults:
        err.print(line(f"  planted {fault}"))


def _day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FootfallError(f"{flag} must look like YYYY-MM-DD, not {text!r}") from None


@app.command("demo")
def demo_command(
    folder: Annotated[Path, typer.Option("--dir", help="Where the demo data, lake and report go.")] = Path("demo"),
) -> None:
    """Generate three realistic years of data and run everything on it, offline: the answers and the report."""
    from footfall.generate import generate
    from footfall.lake import Lake
    from footfall.melbourne.report import write
    from footfall.melbourne.run import run

    folder.mkdir(parents=True, exist_ok=True)
    counts, sensors = folder / "counts-2019-2021.csv", folder / "sensor-locations.csv"
    if not counts.exists() or not sensors.exists():
        summary = generate(counts, fmt="archive", seed=2019, sensors=40, start=date(2019, 1, 1),
                           end=date(2021, 12, 31), locations=sensors)
        err.print(line(("generated", "green"), f" {summary.rows:,} rows for {summary.sensors} sensors, "
                       f"{summary.start} .. {summary.end}"))
    lake = Lake.at(folder / "lake")
    with Progress() as progress:
        result = run(lake, [str(counts)], [str(sensors)], listener=progress)
    err.print(line(("done", "green"), f": {summary_line(result.run)}"))
    report = write(lake, folder / "report.html")
    err.print(line(("report", "green"), f" {report}"))
    top_command(by="month", day=None, month=None, lake=str(lake.root), fmt="table")


@app.command("doctor")
def doctor_command(
    lake: LakeOpt = "lake",
    portal: Annotated[str | None, typer.Option("--portal", help="Portal base URL to probe.",
                                               envvar="FOOTFALL_PORTAL_URL")] = None,
) -> None:
    """Check the environment: Python, engines, the lake, the portal. Exits 1 when something required is missing."""
    from footfall.doctor import examine

    findings = examine(lake, portal)
    for f in findings:
        mark = ("ok      ", "green") if f.ok else (("missing ", "red") if f.required else ("optional", "yellow"))
        out.print(line(mark, f" {f.name:<8} {f.detail}"))
    if any(f.required and not f.ok for f in findings):
        raise typer.Exit(1)


DatabaseOpt = Annotated[str, typer.Option("--database", help="Glue database (created when missing).")]


def _describe(lake: str, endpoint: str | None, pipeline_dir: Path | None) -> tuple[list, list]:
    from footfall.catalog import describe_lake
    from footfall.dag import load_pipeline
    from footfall.melbourne.run import pipeline
    from footfall.s3 import S3Lake, is_s3, output_paths

    if not is_s3(lake):
        raise FootfallError(f"the catalog describes an S3 lake: give --lake s3://bucket/prefix (not {lake!r})")
    the_pipeline = load_pipeline(pipeline_dir) if pipeline_dir else pipeline()
    return describe_lake(S3Lake.open(lake, output_paths(the_pipeline.spec), endpoint_url=endpoint), the_pipeline)


@catalog_app.command("register")
def catalog_register(
    lake: LakeOpt = "lake",
    database: DatabaseOpt = "pedestrian_counting_system",
    pipeline_dir: PipelineOpt = None,
    s3_endpoint: S3EndpointOpt = None,
) -> None:
    """Create or update the Glue database and one EXTERNAL Parquet table per lake table, with explicit
    partitions; only what changed is touched."""
    from footfall.catalog import register
    from footfall.s3 import client

    tables, views = _describe(lake, s3_endpoint, pipeline_dir)
    for change in register(client("glue"), database, tables, views):
        parts = (f" (partitions: +{change.partitions_added} ~{change.partitions_updated} "
                 f"-{change.partitions_removed})" if change.partitions_added or change.partitions_updated
                 or change.partitions_removed else "")
        out.print(line(f"{change.action:<9} {database}.{change.table}{parts}"))


@catalog_app.command("ddl")
def catalog_ddl(
    lake: LakeOpt = "lake",
    database: DatabaseOpt = "pedestrian_counting_system",
    pipeline_dir: PipelineOpt = None,
    s3_endpoint: S3EndpointOpt = None,
) -> None:
    """Print the Athena CREATE EXTERNAL TABLE (and ADD PARTITION) statements for the lake's tables."""
    from footfall.catalog import ddl

    print(ddl(database, *_describe(lake, s3_endpoint, pipeline_dir)))


def render(columns: list[str], rows: list[tuple], fmt: str, title: str = "") -> None:
    """Rows as a rich table for people, or CSV / JSON for scripts."""
    if fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        import json

        out.print_json(json.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=str))
    elif fmt == "table":
        from rich.table import Table

        table = Table(title=Text(title))
        for c in columns:
            table.add_column(Text(c), justify="right" if c in ("rank", "pedestrians", "location_id") else "left")
        for row in rows:
            table.add_row(*(Text(f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) and columns[i] ==
                                 "pedestrians" else str(v)) for i, v in enumerate(row)))
        out.print(table)
    else:
        raise FootfallError(f"unknown format {fmt!r} (table, csv, json)")


def explain(error: Exception) -> tuple[str, int]:
    """One line and an exit code for any error that reaches the command line. A ``FootfallError`` or an OS
    error is the user's or the environment's; anything else is named as unexpected, a bug to report."""
    if isinstance(error, FootfallError):
        return _one_line(str(error)), error.exit_code
    if isinstance(error, OSError):
        where = f": {error.filename}" if error.filename else ""
        return _one_line(f"{error.strerror or error}{where}"), 1
    first = next((t.strip() for t in str(error).splitlines() if t.strip()), "")
    if type(error).__module__.split(".")[0].lstrip("_") == "duckdb":
        return f"the engine failed: {first}", 1
    return (f"unexpected {type(error).__name__}: {first} (a bug in footfall: run again with --debug for the "
            "traceback)"), 1


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _interrupted(error: BaseException) -> bool:
    """Whether an exit came from a Ctrl-C nobody reported: Typer turns one into a silent exit 130."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, KeyboardInterrupt):
            return True
        cause = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
    return False


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print(line("interrupted"))
        sys.exit(130)
    except SystemExit as e:
        if e.code == 130 and _interrupted(e):
            err.print(line("interrupted"))
        raise
    except Exception as e:
        if state["debug"]:
            raise
        message, code = explain(e)
        err.print(line(("error:", "red"), f" {message}"))
        sys.exit(code)
