"""The ``footfall`` command: parse flags, call one function, render its result.

Errors a user can cause are ``FootfallError``s and print as one line; so does anything else that reaches
the command line, named as unexpected; ``--debug`` shows the traceback. Printing is :mod:`footfall.console`'s;
the Melbourne commands are :mod:`footfall.melbourne.cli`'s, registered here.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from footfall import __version__
from footfall.console import Progress, err, explain, interrupted, line, note, out, summary_line
from footfall.errors import FootfallError
from footfall.melbourne.cli import register
from footfall.melbourne.schema import PIPELINE_DIR as DEFAULT_PIPELINE
from footfall.options import EngineOpt, LakeOpt, PipelineOpt, RebuildOpt, S3EndpointOpt, SparkMasterOpt
from footfall.redact import redact
from footfall.settings import Settings

if TYPE_CHECKING:
    from footfall.dag import Pipeline

app = typer.Typer(help="Turn city pedestrian-counter data into answers.", no_args_is_help=True,
                  pretty_exceptions_enable=False, rich_markup_mode="rich")
pipeline_app = typer.Typer(help="Validate, plan and run any YAML + SQL pipeline directory.",
                           no_args_is_help=True)
app.add_typer(pipeline_app, name="pipeline")
catalog_app = typer.Typer(help="Register an S3 lake's tables in the Glue Data Catalog, for Athena.",
                          no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
state = {"debug": False}

PipelineDir = Annotated[Path, typer.Argument(help="Pipeline directory (pipeline.yml + sql/).")]
DatabaseOpt = Annotated[str, typer.Option("--database", help="Glue database (created when missing).")]


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


def load(path: Path | None) -> Pipeline:
    """The pipeline at ``path``, or the default one."""
    from footfall.dag import load_pipeline

    return load_pipeline(path or DEFAULT_PIPELINE)


@pipeline_app.command("validate")
def pipeline_validate(path: PipelineDir) -> None:
    """Check pipeline.yml and every SQL file without running anything."""
    pipeline = load(path)
    out.print(line(("ok", "green"), f" {pipeline.name}: {len(pipeline.spec.sources)} source(s), "
                   f"{len(pipeline.steps)} step(s), {len(pipeline.spec.outputs)} output(s), "
                   f"{len(pipeline.checks())} check(s)"))


@pipeline_app.command("plan")
def pipeline_plan(path: PipelineDir) -> None:
    """Print the DAG in run order, with what each step reads."""
    pipeline = load(path)
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
    from footfall.lint import lint

    try:
        findings = lint(load(path), engine)
    except ValueError as e:
        raise FootfallError(str(e)) from None
    for finding in findings:
        out.print(line(str(finding)))
    if findings:
        raise typer.Exit(1)
    out.print(line(("ok", "green"), f" nothing in {path} changes meaning on {engine}"))


@pipeline_app.command("run")
def pipeline_run(path: PipelineDir, lake: LakeOpt = None, engine: EngineOpt = None,
                 s3_endpoint: S3EndpointOpt = None, spark_master: SparkMasterOpt = None,
                 rebuild: RebuildOpt = False) -> None:
    """Run a pipeline into a lake: steps, checks, then publish all outputs at once."""
    from footfall.context import Context
    from footfall.engines import check_engine

    settings = Settings.resolve(lake=lake, engine=engine, s3_endpoint=s3_endpoint, spark_master=spark_master)
    check_engine(settings.engine)
    context = Context(load(path), settings)
    err.print(line((context.pipeline.name, "bold"), f" -> {settings.lake}"))
    with context.lake(write=True) as held, Progress() as progress:
        result = context.run(held, listener=progress, rebuild=rebuild)
    err.print(line(("done", "green"), f": {summary_line(result)}"))


register(app)


@app.command("query")
def query_command(
    sql: Annotated[str | None, typer.Argument(help="DuckDB SQL over the lake's tables (none: an interactive "
                                               "shell, statements ended by ;).")] = None,
    lake: LakeOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or parquet (with --out).")] = "table",
    out_path: Annotated[Path | None, typer.Option("--out", help="Write the answer to this file.")] = None,
    tables: Annotated[bool, typer.Option("--tables", help="List the tables with columns and row counts.")] = False,
    pipeline_dir: PipelineOpt = None,
    s3_endpoint: S3EndpointOpt = None,
) -> None:
    """Ask the lake anything: read-only SQL over its tables and views, by name, on a local or an S3 lake.

    Anything that would write (COPY, ATTACH, INSTALL, CREATE, SET, ...) or read any file but the lake's tables
    (read_csv, glob, query(), ...) is refused before it runs; --out is refused inside a lake. Ctrl-C cancels a
    running query (exit 130)."""
    from footfall import query
    from footfall.readonly import parse_read_only, reads
    from footfall.shell import answer, shell

    if fmt not in query.ANSWER_FORMATS:
        raise FootfallError(f"unknown format {fmt!r} ({', '.join(query.ANSWER_FORMATS)})")
    from footfall.context import Context

    pipeline = load(pipeline_dir)
    statement = parse_read_only(sql, pipeline) if sql is not None and not tables else None
    context = Context(pipeline, Settings.resolve(lake=lake, s3_endpoint=s3_endpoint))
    with context.read(reads(pipeline, statement)) as local:
        if tables:
            for info in query.describe(local, pipeline):
                size = f"{info.rows:,} rows" if info.rows is not None else "view"
                columns = ", ".join(f"{n} {t.lower()}" for n, t in info.columns)
                out.print(line((info.name, "bold"), f" ({size}): {columns}"))
        elif statement is None:
            shell(local, pipeline, fmt)
        else:
            answer(local, pipeline, statement, fmt, out_path)


@app.command("doctor")
def doctor_command(
    lake: LakeOpt = None,
    portal: Annotated[str | None, typer.Option("--portal", help="Portal base URL to probe (default: "
                                               "$FOOTFALL_PORTAL_URL, else the City of Melbourne's).")] = None,
) -> None:
    """Check the environment: Python, engines, the lake, the portal. Exits 1 when something required is missing."""
    from footfall.doctor import examine
    from footfall.melbourne.portal import COUNTS_DATASET, portal_url

    settings = Settings.resolve(lake=lake)
    findings = examine(settings, portal or portal_url(settings), COUNTS_DATASET)
    for f in findings:
        mark = ("ok      ", "green") if f.ok else (("missing ", "red") if f.required else ("optional", "yellow"))
        out.print(line(mark, f" {f.name:<8} {f.detail}"))
    if any(f.required and not f.ok for f in findings):
        raise typer.Exit(1)


@app.command("spark-jars")
def spark_jars_command(
    folder: Annotated[Path | None, typer.Argument(help="Where to put them (default: $FOOTFALL_SPARK_JARS, else "
                                                  "$XDG_DATA_HOME/footfall/spark-jars, i.e. "
                                                  "~/.local/share/footfall/spark-jars).")] = None,
    sdist: Annotated[Path | None, typer.Option("--sdist", help="Take them from this copy of the pinned "
                                               "sagemaker-pyspark sdist instead of downloading it.")] = None,
) -> None:
    """Fetch the S3A connector's jars, which Spark needs for an s3:// lake outside AWS Glue: the hash-pinned
    sagemaker-pyspark sdist from PyPI (with pip), of which only hadoop-aws and the AWS SDK bundle are kept."""
    from footfall.engines.spark_jars import JARS_ENV, fetch

    looks = Settings.resolve().jars_folder
    target = (folder or looks).expanduser().resolve()
    for path in fetch(target, sdist):
        out.print(line(("ok", "green"), f" {path}"))
    if target != looks.resolve():
        note(f"Spark looks in {looks}: set {JARS_ENV}={target} for it to use these")


def _describe(lake: str | None, endpoint: str | None, pipeline_dir: Path | None) -> tuple[list[Any], list[Any]]:
    from footfall.catalog import describe_lake
    from footfall.context import Context
    from footfall.lake.objects import ObjectLake

    context = Context(load(pipeline_dir), Settings.resolve(lake=lake, s3_endpoint=endpoint))
    with context.lake(write=False) as held:
        if not isinstance(held.lake, ObjectLake):
            raise FootfallError(f"the catalog describes an S3 lake: give --lake s3://bucket/prefix "
                                f"(not {context.settings.lake!r})")
        return describe_lake(held.lake, context.pipeline)


@catalog_app.command("register")
def catalog_register(
    lake: LakeOpt = None,
    database: DatabaseOpt = "pedestrian_counting_system",
    pipeline_dir: PipelineOpt = None,
    s3_endpoint: S3EndpointOpt = None,
) -> None:
    """Create or update the Glue database and one EXTERNAL Parquet table per lake table, with explicit
    partitions; only what changed is touched."""
    from footfall.aws import client
    from footfall.catalog import register as register_tables

    tables, views = _describe(lake, s3_endpoint, pipeline_dir)
    for change in register_tables(client("glue", region=Settings.resolve().region), database, tables, views):
        parts = (f" (partitions: +{change.partitions_added} ~{change.partitions_updated} "
                 f"-{change.partitions_removed})" if change.partitions_added or change.partitions_updated
                 or change.partitions_removed else "")
        out.print(line(f"{change.action:<9} {database}.{change.table}{parts}"))


@catalog_app.command("ddl")
def catalog_ddl(
    lake: LakeOpt = None,
    database: DatabaseOpt = "pedestrian_counting_system",
    pipeline_dir: PipelineOpt = None,
    s3_endpoint: S3EndpointOpt = None,
) -> None:
    """Print the Athena CREATE EXTERNAL TABLE (and ADD PARTITION) statements for the lake's tables."""
    from footfall.catalog import ddl

    print(ddl(database, *_describe(lake, s3_endpoint, pipeline_dir)))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print(line("interrupted"))
        sys.exit(130)
    except SystemExit as e:
        if e.code == 130 and interrupted(e):
            err.print(line("interrupted"))
        raise
    except Exception as e:
        if state["debug"]:  # the traceback, as Python prints it, with its secrets masked too
            sys.stderr.write(redact("".join(traceback.format_exception(e))))
            sys.exit(1)
        message, code = explain(e)
        err.print(line(("error:", "red"), f" {message}"))
        sys.exit(code)
