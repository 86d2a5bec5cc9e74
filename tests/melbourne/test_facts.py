"""Each Melbourne fact is defined in one place and every reader derives it from there."""

from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Literal, get_args, get_type_hints

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from footfall.engines.duckdb import DuckDBEngine
from footfall.lake.local import LocalLake
from footfall.melbourne import portal
from footfall.melbourne.cli import FETCH_FLAGS, fetches
from footfall.melbourne.detect import Container, Detected
from footfall.melbourne.formats import FileKind
from footfall.melbourne.generate import generate
from footfall.melbourne.landing import CONTAINER_SUFFIX, KINDS, Landed
from footfall.melbourne.lockdowns import SEED, lockdowns
from footfall.melbourne.portal import Fetch
from footfall.melbourne.report import Answers, history_chart
from footfall.melbourne.run import PIPELINE_DIR, pipeline, run
from footfall.melbourne.schema import raw_columns
from footfall.runner import Event, EventKind
from footfall.spec import Check, sql_type

SRC = Path(__file__).resolve().parents[2] / "src" / "footfall"


def sources_mentioning(pattern: str) -> list[str]:
    """The files under src/footfall (code, SQL, YAML, seeds) whose text matches ``pattern``."""
    found = re.compile(pattern)
    return sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*") if p.is_file() and p.suffix != ".pyc"
                  and found.search(p.read_text(encoding="utf-8", errors="replace")))


def test_the_lockdown_calendar_is_written_only_in_the_seed_file() -> None:
    days = "|".join(re.escape(d.isoformat()) for x in lockdowns() for d in (x.start, x.end))
    assert len(lockdowns()) == 6
    assert sources_mentioning(days) == [str(SEED.relative_to(SRC))]


def test_the_pipeline_reads_the_lockdown_seed_the_python_side_reads() -> None:
    source = pipeline().spec.sources["lockdowns"]
    assert (PIPELINE_DIR / source.path).resolve() == SEED.resolve()
    engine = DuckDBEngine(threads=1)
    engine.register_source("lockdowns", [str(SEED)], source)
    _, rows = engine.query((PIPELINE_DIR / "sql" / "lockdown_periods.sql").read_text())
    assert rows == [(d.number, d.start, d.end, (d.end - d.start).days + 1) for d in lockdowns()]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> LocalLake:
    """A month of two sensors' counts, one line of them too short to read."""
    folder = tmp_path_factory.mktemp("facts")
    counts = folder / "counts.csv"
    generate(counts, sensors=2, start=date(2020, 3, 1), end=date(2020, 3, 31))
    with counts.open("a") as handle:
        handle.write("1,2,3\n")
    lake = LocalLake.at(folder / "lake")
    run(lake, [str(counts)])
    return lake


def test_the_report_shades_the_lockdowns_the_answers_use(lake: LocalLake) -> None:
    shapes = history_chart(Answers(lake)).figure["layout"]["shapes"]
    assert [(s["x0"], s["x1"]) for s in shapes] == [(d.start.isoformat(), d.end.isoformat()) for d in lockdowns()]


def test_generated_counts_fall_during_a_lockdown_and_not_outside(tmp_path: Path) -> None:
    first = lockdowns()[0]
    generate(tmp_path / "counts.csv", fmt="ods-csv", sensors=1, start=first.start.replace(day=1), end=first.start)
    inside, before = duckdb.connect().execute(f"""SELECT AVG(pedestriancount) FILTER (sensing_date >= '{first.start}'),
                                           AVG(pedestriancount) FILTER (sensing_date < '{first.start}')
                                    FROM read_csv('{tmp_path / "counts.csv"}', delim=';')""").fetchone()
    assert inside < before * 0.5


def test_every_parsed_counts_file_has_exactly_the_declared_raw_counts_columns(lake: LocalLake) -> None:
    files = sorted((lake.root / "transformed" / "raw_counts").glob("*.parquet"))
    assert len(files) == 2 and any(f.name.endswith("-rejects.parquet") for f in files)
    declared = [(c, sql_type(t)) for c, t in pipeline().spec.sources["raw_counts"].columns.items()]
    for file in files:
        described = duckdb.connect().execute(f"DESCRIBE SELECT * FROM read_parquet('{file}')").fetchall()
        assert [(row[0], sql_type(row[1])) for row in described] == declared


def test_no_python_module_lists_the_raw_counts_columns() -> None:
    """A run of five declared names in a row (a tuple or list of them) would be a second declaration."""
    names = "|".join(pipeline().spec.sources["raw_counts"].columns)
    listing = rf'"(?:{names})"(?:,\s*"(?:{names})"){{4,}}'
    assert sources_mentioning(listing) == []
    assert list(raw_columns("raw_counts")) == list(pipeline().spec.sources["raw_counts"].columns)


def test_the_portal_address_and_dataset_ids_are_written_only_in_melbourne_portal() -> None:
    ids = [portal.PORTAL_URL, portal.COUNTS_DATASET, portal.SENSORS_DATASET, portal.ARCHIVE_ATTACHMENT,
           portal.SOCRATA_COUNTS_DATASET, portal.SOCRATA_SENSORS_DATASET]
    written = sources_mentioning("|".join(re.escape(i) for i in ids))
    assert written == ["melbourne/portal.py"]
    glue = (SRC.parents[2] / "glue").rglob("*.py")
    assert [p.name for p in glue if any(i in p.read_text() for i in ids)] == []


def test_the_commands_default_to_the_portal_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FOOTFALL_PORTAL_URL", raising=False)
    from footfall import cli

    assert Fetch().dataset == portal.SOCRATA_COUNTS_DATASET
    assert Fetch().sensors_dataset == portal.SOCRATA_SENSORS_DATASET
    assert portal.PORTAL_URL in CliRunner().invoke(cli.app, ["run", "--help"], terminal_width=200).output


def test_run_and_ingest_take_the_fetch_flags_declared_once_with_fetch_s_defaults() -> None:
    from footfall import cli

    defaults = {f.name: f.default for f in dataclasses.fields(Fetch)}
    assert set(FETCH_FLAGS) == set(defaults)
    group = typer.main.get_command(cli.app)
    for name in ("run", "ingest"):
        params = {p.name: p.default for p in group.commands[name].params}  # type: ignore[attr-defined]
        assert {flag: params[flag] for flag in FETCH_FLAGS} == defaults, name

    seen: list[Fetch] = []

    @fetches
    def probe(how: Fetch, lake: str | None = None) -> None:
        seen.append(how)

    app = typer.Typer()
    app.command()(probe)
    app.command("other")(lambda: None)
    done = CliRunner().invoke(app, ["probe", "--since", "2024-01-01", "--workers", "2", "--bulk-csv",
                                    "--source", "socrata", "--lake", "x"])
    assert done.exit_code == 0, done.output
    assert seen == [Fetch(source="socrata", since="2024-01-01", bulk_csv=True, workers=2)]


def test_the_catalog_leaves_type_names_to_sqlglot_and_footers_to_pyarrow() -> None:
    text = (SRC / "catalog.py").read_text()
    assert "pa.types.is_" not in text and '"varchar"' not in text and '"VARCHAR"' not in text
    assert "Range=" not in text and "pq.read_schema(" in text and "fs.S3FileSystem(" in (SRC / "lake/s3.py").read_text()


def test_kinds_are_typed_literals_not_strings_with_their_values_in_a_comment() -> None:
    commented = re.compile(r":\s*str\s*#[^\n]*\|")
    offenders = {str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if commented.search(p.read_text())}
    assert offenders <= {"query.py"}  # TableInfo.kind, left to the change that restructures query.py
    assert get_type_hints(Event)["kind"] == EventKind and get_type_hints(Check)["severity"] == Literal["error", "warn"]
    assert get_type_hints(Landed)["kind"] == FileKind and get_args(FileKind) == KINDS
    assert set(CONTAINER_SUFFIX) == set(get_args(Container)) and get_type_hints(Detected)["container"] == Container


@pytest.mark.spark
def test_spark_reads_the_same_lockdown_periods_from_the_seed() -> None:
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java")
    pytest.importorskip("pyspark.sql")
    from footfall.engines.spark import SparkEngine

    engine = SparkEngine("local[1]", conf={"spark.sql.shuffle.partitions": "1"})
    try:
        engine.register_source("lockdowns", [str(SEED)], pipeline().spec.sources["lockdowns"])
        _, rows = engine.query(pipeline().steps["lockdown_periods"].sql("spark"))
    finally:
        engine.spark.stop()
    assert rows == [(d.number, d.start, d.end, (d.end - d.start).days + 1) for d in lockdowns()]
