"""Hardening of the lake (issue 18, classes 1, 2 and 10): the engine cannot touch files outside the pipeline
and the lake, no output can destroy the lake and recovery never wedges, and crashes leave nothing behind
nor let a reader see two runs at once. Each class runs every probe in its module-level list."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from support.cli import TIMEOUT, answers, in_process
from support.cli import footfall as footfall_process
from support.synthetic import make_rows, write_archive, write_revision

from footfall.dag import load_pipeline
from footfall.engines.duckdb import DuckDBEngine
from footfall.errors import EngineError, LakeError, SpecError
from footfall.lake.journal import JOURNAL, LocalStaging
from footfall.lake.layout import STAGING
from footfall.lake.local import LocalLake
from footfall.melbourne.job import SCRATCH
from footfall.melbourne.landing import TEMPORARIES
from footfall.spec import PUBLISHED, load_spec

# -- class 1: the engine can touch files outside the pipeline and the lake --------------------------------

STEP = "select 1 as a"
# (file under the pipeline, its text, what the one-line error says, the line it names). {out} is a folder
# outside the pipeline and the lake; every probe would write to it or read from it if it ran.
ESCAPES = [
    ("sql/t.duckdb.sql", "select 1 as a;\ncopy (select 1) to '{out}/copied.csv'", "exactly one SELECT", 2),
    ("sql/t.duckdb.sql", "select 1 as a;\n\nattach '{out}/attached.duckdb' as y", "exactly one SELECT", 3),
    ("sql/t.duckdb.sql", "copy (select 1 as a) to '{out}/copied.csv'", "found COPY", 1),
    ("sql/t.duckdb.sql", "install httpfs", "expected a SELECT", 1),
    ("sql/t.duckdb.sql", "load httpfs", "expected a SELECT", 1),
    ("sql/t.duckdb.sql", "set enable_external_access = true", "found SET", 1),
    ("sql/t.duckdb.sql", "pragma enable_profiling", "expected a SELECT", 1),
    ("sql/t.duckdb.sql", "select * from read_csv('{out}/secret.csv')", "outside the pipeline and the lake", 1),
    ("sql/t.spark.sql", "select 1 as a;\ninsert overwrite directory '{out}/x' select 1", "exactly one SELECT", 2),
    ("sql/t.spark.sql", "select * from parquet.`{out}/secret.parquet`", "outside the pipeline and the lake", 1),
    ("sql/t.sql", "select *\nfrom read_csv('/etc/passwd')", "read_csv('/etc/passwd') reads outside", 2),
    ("sql/t.sql", "select * from read_text('{out}/secret.csv')", "outside the pipeline and the lake", 1),
    ("sql/t.sql", "select * from read_blob('/etc/hostname')", "outside the pipeline and the lake", 1),
    ("sql/t.sql", "select * from glob('{out}/*')", "outside the pipeline and the lake", 1),
    ("sql/t.sql", "select * from sniff_csv('{out}/secret.csv')", "outside the pipeline and the lake", 1),
    ("sql/t.sql", "select * from parquet_scan('{out}/secret.parquet')", "outside the pipeline and the lake", 1),
    ("sql/t.sql", "select * from read_json_auto('{out}/secret.json')", "outside the pipeline and the lake", 1),
    ("sql/t.sql", "select * from read_parquet(['data/ok.parquet', '{out}/secret.parquet'])", "reads outside", 1),
    ("sql/t.sql", "select * from read_csv('../../secret.csv')", "'..' and '~' are not allowed", 1),
    ("sql/t.sql", "select * from read_csv('~/.ssh/id_rsa')", "'..' and '~' are not allowed", 1),
    ("sql/t.sql", "select * from read_csv('https://example.com/x.csv')", "a URL", 1),
    ("sql/t.sql", "select * from read_csv(concat('{out}', '/secret.csv'))", "as a string literal", 1),
    ("sql/t.sql", "select * from query('select * from read_csv(''{out}/secret.csv'')')", "query() is not allowed", 1),
    ("sql/t.sql", "select * from enable_logging(storage = 'file')", "enable_logging() is not allowed", 1),
    ("sql/t.sql", "select * from '{out}/secret.csv'", "unknown table", None),
    ("views/v.sql", "select * from read_csv('{out}/secret.csv')", "outside the pipeline and the lake", 1),
    ("pipeline.yml", "checks:\n  t:\n    - sql: select * from read_csv('{out}/secret.csv')", "check on t", None),
]


def _pipeline(root: Path, rel: str, text: str) -> Path:
    """A one-step pipeline with a view and ``rel`` holding ``text`` (or added to pipeline.yml)."""
    (root / "sql").mkdir(parents=True)
    (root / "views").mkdir()
    (root / "data").mkdir()
    yml = "name: p\nsteps:\n  t: {}\noutputs:\n  - {table: t, zone: curated, format: csv}\n"
    yml += "views:\n  v: {}\n" if rel.startswith("views/") else ""
    (root / "pipeline.yml").write_text(yml + (text + "\n" if rel == "pipeline.yml" else ""))
    (root / "sql" / "t.sql").write_text(STEP)
    if rel != "pipeline.yml":
        (root / rel).write_text(text)
    return root


@pytest.mark.parametrize(("rel", "text", "message", "line"), ESCAPES)
def test_every_sql_file_that_could_escape_is_refused_by_validate_plan_and_run(
        rel: str, text: str, message: str, line: int | None, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("secret\nsealed\n")
    root = _pipeline(tmp_path / "pipe", rel, text.format(out=outside))
    lake = tmp_path / "lake"
    for command in (["validate", str(root)], ["plan", str(root)], ["run", str(root), "--lake", str(lake)]):
        code, out, err = in_process(capsys, monkeypatch, "pipeline", *command)
        assert code == 1, (command, out, err)
        last = err.strip().splitlines()[-1]
        assert len(err.strip().splitlines()) <= 2 and "Traceback" not in err
        assert message in last, last
        where = root / (rel if rel != "pipeline.yml" else "pipeline.yml")
        assert last.startswith(f"error: {where}:{line}: " if line else f"error: {where}: "), last
    assert sorted(p.name for p in outside.iterdir()) == ["secret.csv"]
    assert not (lake / "curated").exists() or not any((lake / "curated").iterdir())


# The engine's own guard, for SQL that reaches it however it got there: (the SQL, whether the sandbox alone
# stops it when the one-SELECT check is bypassed). Copying into the lake is stopped by that check only.
ENGINE_ESCAPES = [
    ("select * from read_csv('{out}/secret.csv')", True),
    ("select * from read_csv(concat('{out}', '/secret.csv'))", True),
    ("select * from read_text('{out}/secret.csv')", True),
    ("select * from glob('{out}/*')", True),
    ("select * from '{out}/secret.csv'", True),
    ("select * from read_csv('{lake}/../outside/secret.csv')", True),
    ("select * from read_csv('http://127.0.0.1:9/secret.csv')", True),
    ("select * from query('select * from read_csv(''{out}/secret.csv'')')", True),
    ("copy (select 1) to '{out}/copied.csv'", True),
    ("select 1 as a; copy (select 1) to '{out}/copied.csv'", True),
    ("copy (select 1) to '{lake}/curated/bypassed.csv'", False),
    ("attach '{out}/attached.duckdb' as y", True),
    ("install httpfs", True),
    ("load httpfs", True),
    ("set lock_configuration = false", True),
    ("set enable_external_access = true", True),
    ("reset enable_external_access", True),
    ("pragma threads = 1", True),
    ("select 1 as a; set allowed_directories = ['/']", True),
]


@pytest.mark.parametrize(("sql", "sandboxed"), ENGINE_ESCAPES)
def test_the_duckdb_engine_itself_cannot_leave_the_pipeline_and_the_lake(sql: str, sandboxed: bool,
                                                                         tmp_path: Path) -> None:
    outside, pipe, lake = tmp_path / "outside", tmp_path / "pipe", tmp_path / "lake"
    for folder in (outside, pipe, lake / "curated"):
        folder.mkdir(parents=True)
    (outside / "secret.csv").write_text("secret\nsealed\n")
    (pipe / "inside.csv").write_text("a\n1\n")
    text = sql.format(out=outside, lake=lake)
    with DuckDBEngine(threads=1) as engine:
        engine.confine([pipe, lake], spill=lake / "_spill")
        with pytest.raises(EngineError):
            engine.create("t", text, "table")
        with pytest.raises(EngineError):
            engine.query(text)
        if sandboxed:
            with pytest.raises(duckdb.Error):
                engine.con.execute(text)
        assert engine.query(f"select a from read_csv('{pipe}/inside.csv')")[1] == [(1,)]
        assert engine.con.execute("select current_setting('enable_external_access')").fetchone() == (False,)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.csv"]
    assert not (lake / "curated" / "bypassed.csv").exists() or not sandboxed


@pytest.mark.slow
def test_a_sandboxed_run_still_reads_its_files_writes_its_outputs_and_spills(make_pipeline, tmp_path: Path) -> None:
    """What the sandbox allows: files inside the pipeline, the lake, staging, and the spill folder under a
    memory limit small enough that the step must spill."""
    count = 600_000
    rows = "\n".join(f"{i},{i * 7 % 1000}" for i in range(count))
    root = make_pipeline("name: p\nsteps:\n  big: {}\n  t: {}\n"
                         "outputs:\n  - {table: t, zone: curated, format: csv}\n"
                         "  - {table: big, zone: transformed, partition_by: [m]}\n",
                         {"t": "select k, count(*) as n from big group by k order by k",
                          "big": "select i % 100 as k, i % 3 as m, md5(cast(i as varchar)) as h from "
                                 "read_csv('" + str(tmp_path / "pipe" / "data" / "rows.csv") + "') "
                                 "order by h"},
                         {"data/rows.csv": "i,v\n" + rows + "\n"})
    from footfall.runner import run_pipeline

    lake = LocalLake.at(tmp_path / "lake")
    with DuckDBEngine(threads=1, memory_limit="24MB") as engine, lake.session():
        result = run_pipeline(load_pipeline(root), lake, engine)
        spilled = engine.con.execute("select max(size) from duckdb_temporary_files()").fetchone()
    assert result.outputs == {"curated/t.csv": 100, "transformed/big": count}
    assert (tmp_path / "lake" / "curated" / "t.csv").read_text().splitlines()[1] == f"0,{count // 100}"
    assert spilled is not None and spilled[0] and spilled[0] > 0, "the step fit in memory: nothing spilled"


SPARK_ESCAPES = [
    "select * from parquet.`{out}/secret.parquet`",
    "select * from csv.`{out}/secret.csv`",
    "select * from json.`file://{out}/secret.json`",
    "select * from parquet.`{lake}/../outside/secret.parquet`",
    "select * from text.`/etc/passwd`",
    "select 1 as a; select 2 as a",
    "insert overwrite directory '{out}/x' select 1",
]


@pytest.mark.spark
@pytest.mark.parametrize("sql", SPARK_ESCAPES)
def test_the_spark_engine_refuses_paths_outside_the_lake_before_running(sql: str, tmp_path: Path) -> None:
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java")
    pytest.importorskip("pyspark.sql")
    from footfall.engines.spark import SparkEngine

    outside, lake = tmp_path / "outside", tmp_path / "lake"
    outside.mkdir()
    (lake / "curated").mkdir(parents=True)
    duckdb.sql(f"copy (select 1 as a) to '{outside}/secret.parquet'")
    duckdb.sql(f"copy (select 2 as a) to '{lake}/curated/mine.parquet'")
    engine = SparkEngine(master="local[1]")
    engine.confine([lake])
    with pytest.raises(EngineError):
        engine.query(sql.format(out=outside, lake=lake))
    assert engine.query(f"select a from parquet.`{lake}/curated/mine.parquet`")[1] == [(2,)]
    assert sorted(p.name for p in outside.iterdir()) == ["secret.parquet"]


def test_catalog_views_are_planned_in_a_sandbox_too(make_pipeline, tmp_path: Path) -> None:
    """A view's SQL runs in DuckDB to find its column types; that connection reads no file either."""
    from dataclasses import replace

    from footfall import sql as sqlmod
    from footfall.catalog import lake_views
    from footfall.dag import SqlStep

    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    root = make_pipeline("name: p\nsteps:\n  t: {}\n", {"t": "select 1 as a"})
    view = SqlStep("v", root / "views" / "v.sql", sqlmod.parse(f"select * from read_csv('{secret}')"), frozenset())
    with pytest.raises(LakeError, match="Permission Error"):
        lake_views(replace(load_pipeline(root), views={"v": view}), [])


# -- class 2: validation accepts outputs that would destroy the lake ---------------------------------------

BAD_OUTPUT_PATHS = [
    (".", "the zone itself"), ("./", "the zone itself"), ("./.", "the zone itself"), ("", "must stay inside"),
    ("/", "must stay inside"), ("//", "must stay inside"), (".\\", "the zone itself"),
    ("a/..", "must stay inside"), ("_staging", "reserves"), ("_versions/t.parquet", "reserves"),
    ("_incoming", "reserves"), (".lock", "reserves"), ("counts/_rejected/x.csv", "reserves"),
    (".hidden.csv", "reserves"), ("t.parquet.part", "temporary"), ("t.tmp", "temporary"),
    (" ", "white space"),
]


@pytest.mark.parametrize(("path", "message"), BAD_OUTPUT_PATHS)
def test_an_output_path_that_is_a_zone_root_empty_or_reserved_is_refused(path: str, message: str,
                                                                          tmp_path: Path) -> None:
    spec = tmp_path / "pipeline.yml"
    spec.write_text(f"name: p\noutputs:\n  - table: t\n    zone: curated\n    path: {json.dumps(path)}\n")
    with pytest.raises(SpecError, match=message) as info:
        load_spec(spec)
    assert info.value.line == 5 and "outputs.0.path" in str(info.value)


# Two outputs (zone, path or None for the default, partitioned) in one pipeline: each pair overlaps.
OVERLAPPING_OUTPUTS = [
    (("curated", "a", False), ("curated", "a/b.parquet", False)),
    (("curated", "a/b.parquet", False), ("curated", "a", False)),
    (("curated", "x.csv", False), ("curated", "./x.csv", False)),
    (("curated", "a/", False), ("curated", "a//c.csv", False)),
    (("transformed", None, True), ("transformed", "t/extra.parquet", False)),
    (("transformed", "deep/t", True), ("transformed", "deep", True)),
]


@pytest.mark.parametrize(("first", "second"), OVERLAPPING_OUTPUTS)
def test_outputs_that_overlap_each_other_are_refused(first: tuple, second: tuple, tmp_path: Path) -> None:
    lines = ["name: p", "outputs:"]
    for zone, path, partitioned in (first, second):
        lines.append(f"  - table: t\n    zone: {zone}" + (f"\n    path: {path}" if path else "")
                     + ("\n    partition_by: [m]" if partitioned else ""))
    (tmp_path / "pipeline.yml").write_text("\n".join(lines) + "\n")
    with pytest.raises(SpecError, match="overlap"):
        load_spec(tmp_path / "pipeline.yml")


# A lake source and an output (zone, path) that publishing would overwrite or swallow.
SOURCE_OVERLAPS = [
    ("landing/counts/*.csv", "landing", "counts/x.csv"),
    ("landing/counts/*.manifest.json", "landing", "counts"),
    ("transformed/raw", "transformed", "raw/x.parquet"),
    ("transformed", "transformed", "t.parquet"),
    ("transformed/raw/*.parquet", "transformed", "raw"),
    ("curated/**/*.csv", "curated", "a/b.csv"),
    ("*/t", "curated", "t/x.parquet"),
    ("./", "curated", "t.csv"),
]


@pytest.mark.parametrize(("source", "zone", "path"), SOURCE_OVERLAPS)
def test_an_output_overlapping_a_lake_source_is_refused(source: str, zone: str, path: str, tmp_path: Path) -> None:
    (tmp_path / "pipeline.yml").write_text(
        f"name: p\nsources:\n  s: {{path: {json.dumps(source)}, format: parquet}}\n"
        f"outputs:\n  - {{table: s, zone: {zone}, path: {json.dumps(path)}}}\n")
    with pytest.raises(SpecError, match="overlaps source s"):
        load_spec(tmp_path / "pipeline.yml")


def test_a_source_may_read_an_output_by_its_exact_path(tmp_path: Path) -> None:
    """How an incremental pipeline reads what its last run published (the Melbourne pipeline does)."""
    (tmp_path / "pipeline.yml").write_text(
        "name: p\nsources:\n  prev: {path: transformed/t/, format: parquet, required: false, columns: {a: INT}}\n"
        "  other: {path: transformed/tt.parquet, format: parquet}\n"
        "outputs:\n  - {table: prev, zone: transformed, path: t, partition_by: [a]}\n"
        "  - {table: other, zone: curated, path: t}\n")
    assert [o.relpath for o in load_spec(tmp_path / "pipeline.yml").outputs] == ["t", "t"]


def test_a_zone_root_output_is_one_line_and_leaves_the_lake_usable(make_pipeline, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's example: `path: "."` used to write a journal that wedged every later command."""
    good = make_pipeline("name: p\nsteps:\n  t: {}\noutputs:\n  - {table: t, zone: curated, format: csv}\n",
                         {"t": "select 1 as a"}, name="good")
    bad = make_pipeline('name: p\nsteps:\n  t: {}\noutputs:\n  - {table: t, zone: curated, path: "."}\n',
                        {"t": "select 1 as a"}, name="bad")
    lake = tmp_path / "lake"
    assert in_process(capsys, monkeypatch, "pipeline", "run", str(good), "--lake", str(lake))[0] == 0
    code, _, err = in_process(capsys, monkeypatch, "pipeline", "run", str(bad), "--lake", str(lake))
    assert code == 1
    assert err.strip().splitlines()[-1] == (f"error: {bad / 'pipeline.yml'}:5: outputs.0.path: output path '.' is "
                                            "the zone itself: name a file or folder inside it")
    assert not any((lake / STAGING).iterdir())
    assert (lake / "curated" / "t.csv").read_text() == "a\n1\n"
    assert in_process(capsys, monkeypatch, "pipeline", "run", str(good), "--lake", str(lake))[0] == 0


def _published(lake: LocalLake, run_id: str, files: dict[str, str], dirs: dict[str, str]) -> LocalStaging:
    """Stage ``files`` (zone/rel: text) and partitioned ``dirs`` (zone/rel: text of its one part)."""
    staging = lake.stage(run_id)
    for where, text in files.items():
        zone, rel = where.split("/", 1)
        staging.path(zone, rel).write_text(text)
    for where, text in dirs.items():
        zone, rel = where.split("/", 1)
        staging.path(zone, f"{rel}/m=1/part-0.parquet").write_text(text)
        staging.mark_directory(zone, rel)
    return staging


OUTPUTS = {"curated/a.csv": "{v} a\n", "curated/b.csv": "{v} b\n", "curated/c.parquet": "{v} c\n"}
DIRS = {"transformed/t": "{v} t\n", "transformed/u": "{v} u\n"}
# A publish moves, in order: transformed/t, transformed/u, curated/a.csv, curated/b.csv, curated/c.parquet.


def _state(lake: LocalLake) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for rel in [*OUTPUTS, *DIRS]:
        path = lake.root / rel / "m=1" / "part-0.parquet" if rel in DIRS else lake.root / rel
        found[rel] = path.read_text() if path.is_file() else None
    return found


def _journal(staging: LocalStaging) -> dict:
    return json.loads((staging.folder / JOURNAL).read_text())


def _break_missing_staged(staging: LocalStaging) -> None:
    (staging.folder / "curated" / "b.csv").unlink()


def _break_missing_staged_dir(staging: LocalStaging) -> None:
    shutil.rmtree(staging.folder / "transformed" / "u")


def _break_zone_root_entry(staging: LocalStaging) -> None:
    data = _journal(staging)
    data["entries"].append({"zone": "curated", "rel": ".", "kind": "dir", "previous": None, "inode": None})
    (staging.folder / JOURNAL).write_text(json.dumps(data))


def _break_escaping_entry(staging: LocalStaging) -> None:
    data = _journal(staging)
    data["entries"].insert(1, {"zone": "curated", "rel": "../../outside", "kind": "file", "previous": None,
                               "inode": None})
    (staging.folder / JOURNAL).write_text(json.dumps(data))


def _break_unknown_zone(staging: LocalStaging) -> None:
    data = _journal(staging)
    data["entries"][3]["zone"] = "etc"
    (staging.folder / JOURNAL).write_text(json.dumps(data))


def _break_not_an_entry(staging: LocalStaging) -> None:
    data = _journal(staging)
    data["entries"][4] = ["curated", "c.parquet"]
    (staging.folder / JOURNAL).write_text(json.dumps(data))


def _break_corrupt_json(staging: LocalStaging) -> None:
    (staging.folder / JOURNAL).write_text('{"version": 2, "entries": [{"zone": "cura')


def _break_empty_journal(staging: LocalStaging) -> None:
    (staging.folder / JOURNAL).write_text("")


def _break_unwritable_target(staging: LocalStaging) -> None:
    lake = staging.root
    (lake / "curated" / "c.parquet").unlink()
    (lake / "curated" / "c.parquet").mkdir()
    (lake / "curated" / "c.parquet" / "keep.txt").write_text("someone's folder\n")


# Each breaks a journaled publish after its first outputs are in place (how many: the second item); the next
# recovery must roll it back, in one line, to the previous outputs.
BROKEN_JOURNALS = [(_break_missing_staged, 3), (_break_missing_staged_dir, 1), (_break_zone_root_entry, 3),
                   (_break_escaping_entry, 3), (_break_unknown_zone, 2), (_break_not_an_entry, 4),
                   (_break_corrupt_json, 3), (_break_empty_journal, 5), (_break_unwritable_target, 3)]


@pytest.mark.parametrize(("breaker", "moved"), BROKEN_JOURNALS, ids=lambda f: getattr(f, "__name__", str(f)))
def test_a_journal_that_cannot_be_replayed_is_rolled_back_in_one_line(breaker, moved: int, tmp_path: Path) -> None:
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    _published(lake, "r1", {k: v.format(v="old") for k, v in OUTPUTS.items()},
               {k: v.format(v="old") for k, v in DIRS.items()}).publish()
    before = _state(lake)
    staging = _published(lake, "r2", {k: v.format(v="new") for k, v in OUTPUTS.items()},
                         {k: v.format(v="new") for k, v in DIRS.items()})
    entries = staging._prepare()
    for entry in entries[:moved]:
        staging._publish_one(entry)
    assert sum(v is not None and v.startswith("new") for v in _state(lake).values()) == moved
    breaker(staging)
    if breaker is _break_unwritable_target:
        before["curated/c.parquet"] = None
    notices = lake.recover()
    assert [n.run_id for n in notices] == ["r2"]
    assert len(notices[0].message.splitlines()) == 1
    assert notices[0].message.startswith("could not publish run r2 (")
    assert notices[0].message.endswith("); the previous outputs were put back")
    assert _state(lake) == before
    assert not any((lake.root / STAGING).iterdir())
    for rel in DIRS:
        assert [p.name for p in (lake.root / rel.replace("/", "/_versions/", 1)).iterdir()] == ["r1"]
    if breaker is _break_unwritable_target:
        assert (lake.root / "curated/c.parquet/keep.txt").read_text() == "someone's folder\n"
        shutil.rmtree(lake.root / "curated/c.parquet")
    _published(lake, "r3", {k: v.format(v="next") for k, v in OUTPUTS.items()},
               {k: v.format(v="next") for k, v in DIRS.items()}).publish()
    assert set(_state(lake).values()) == {v.format(v="next") for v in [*OUTPUTS.values(), *DIRS.values()]}
    assert lake.read(lambda: "readable") == "readable"


def test_a_publish_that_fails_in_process_is_rolled_back_at_once(tmp_path: Path) -> None:
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    _published(lake, "r1", {"curated/a.csv": "old a\n"}, {"transformed/t": "old t\n"}).publish()
    staging = _published(lake, "r2", {"curated/a.csv": "new a\n", "curated/b.csv": "new b\n"},
                         {"transformed/t": "new t\n"})
    (lake.root / "curated/b.csv").mkdir()
    (lake.root / "curated/b.csv/x").write_text("x")
    from footfall.lake.journal import RolledBack

    with pytest.raises(RolledBack, match=r"could not publish run r2 \(Is a directory.*\); the previous outputs "
                                         r"were put back"):
        staging.publish()
    assert (lake.root / "curated/a.csv").read_text() == "old a\n"
    assert (lake.root / "transformed/t/m=1/part-0.parquet").read_text() == "old t\n"
    assert not any((lake.root / STAGING).iterdir())


def test_a_run_on_a_lake_with_a_broken_journal_says_so_and_publishes(make_pipeline, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_pipeline("name: p\nsteps:\n  t: {}\noutputs:\n  - {table: t, zone: curated, format: csv}\n",
                         {"t": "select 2 as a"})
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    (lake.root / "curated/t.csv").write_text("a\n1\n")
    staging = _published(lake, "20260101T000000000000Z-1", {"curated/t.csv": "a\n9\n"}, {})
    staging._prepare()
    (staging.folder / "curated/t.csv").unlink()
    code, _, err = in_process(capsys, monkeypatch, "pipeline", "run", str(root), "--lake", str(lake.root))
    assert code == 0, err
    assert "could not publish run 20260101T000000000000Z-1 (the staged curated/t.csv is missing); the previous " \
           "outputs were put back" in err
    assert (lake.root / "curated/t.csv").read_text() == "a\n2\n"


# -- class 10: crash leftovers and mixed reads -------------------------------------------------------------

# A run is killed (SIGKILL, by itself, at a chosen point) by this wrapper around the real command.
KILLER = textwrap.dedent("""
    import os, signal, sys
    point, arg = os.environ["FOOTFALL_TEST_KILL"].split(":", 1)

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if (point == "rename" and str(dst).endswith(arg)) or (point == "link" and os.path.basename(src).startswith(
                ".") and str(src).endswith(".link") and str(dst).endswith(arg)):
            die()
        return real_replace(src, dst, *args, **kwargs)

    os.replace = replace
    if point == "copy":
        import footfall.melbourne.landing as landing

        def half_copy(handle, dst, *args, **kwargs):
            handle.seek(0)
            with open(dst, "wb") as target:
                target.write(handle.read(int(arg)))
                target.flush()
            die()

        landing.copy_unchanged = half_copy
    if point == "after":
        from footfall.lake.journal import LocalStaging

        real_one = LocalStaging._publish_one

        def publish_one(self, entry):
            real_one(self, entry)
            if f"{entry['zone']}/{entry['rel']}" == arg:
                die()

        LocalStaging._publish_one = publish_one
    from footfall.cli import main

    sys.argv = ["footfall", *sys.argv[1:]]
    main()
""")


def footfall(*args: str, kill: str | None = None, **kwargs) -> subprocess.CompletedProcess[str]:
    """The CLI, or with ``kill`` the CLI in a process that SIGKILLs itself at that point of its publish."""
    if not kill:
        return footfall_process(*args, **kwargs)
    return subprocess.run([sys.executable, "-c", KILLER, *args], capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, "FOOTFALL_TEST_KILL": kill}, **kwargs)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A lake after one publication (baseline) and after a second (reference), run without interruption; the
    second changes every answer the readers show."""
    from footfall.melbourne.run import run

    folder = tmp_path_factory.mktemp("inputs")
    rows = make_rows()
    write_archive(rows, folder / "archive.csv")
    # a revision of December 2021 that makes location 1 the busiest, so the top 10 of those days change
    write_revision([dict(r, count=r["count"] * 30) if r["loc"] == 1 else r for r in rows], folder / "live.csv")
    baseline, reference = folder / "baseline", folder / "reference"
    run(LocalLake.at(baseline), [str(folder / "archive.csv")])
    shutil.copytree(baseline, reference, symlinks=True)
    run(LocalLake.at(reference), [str(folder / "live.csv")])
    for name in ("top10_by_day.csv", "top10_by_day.parquet", "top10_by_month.parquet", "daily_counts.parquet"):
        assert (baseline / "curated" / name).read_bytes() != (reference / "curated" / name).read_bytes(), name
    return {"archive": folder / "archive.csv", "live": folder / "live.csv", "baseline": baseline,
            "reference": reference}


def _leftovers(lake: Path) -> list[str]:
    temporary = (".part", ".tmp", ".link")
    found = [p.relative_to(lake).as_posix() for p in lake.rglob("*") if p.name.endswith(temporary)]
    found += [p.relative_to(lake).as_posix() for p in (lake / "_spill").glob("*")]
    found += [p.relative_to(lake).as_posix() for p in (lake / "landing" / "_incoming").glob("*")]
    return sorted(found)


# Where a run is killed, and the leftover (a glob under the lake) the kill must leave behind.
KILL_POINTS = [
    ("copy:4096", "landing/counts/.*.part"),
    ("rename:.manifest.json", "landing/counts/*.manifest.json.tmp"),
    ("rename:.parquet", "transformed/raw_counts/*.parquet.part"),
    ("link:hourly_counts", "transformed/.hourly_counts.link"),
    ("after:curated/top10_by_day.csv", "_staging/*/PUBLISH"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("kill", "leftover"), KILL_POINTS)
def test_a_run_killed_anywhere_leaves_nothing_behind_after_the_next_run(kill: str, leftover: str,
                                                                        inputs: dict[str, Path],
                                                                        tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(inputs["baseline"], lake, symlinks=True)
    (lake / "_spill").mkdir(exist_ok=True)
    (lake / "_spill" / "duckdb_temp_storage_S32K-0.tmp").write_bytes(b"\0" * 4096)
    (lake / "landing" / "_incoming").mkdir(exist_ok=True)
    (lake / "landing" / "_incoming" / "counts.csv.part").write_text("half a download")
    killed = footfall("run", "--counts", str(inputs["live"]), "--lake", str(lake), kill=kill)
    assert killed.returncode == -9, killed.stderr
    assert list(lake.glob(leftover)), f"the kill at {kill} left no {leftover}"
    done = footfall("run", "--counts", str(inputs["live"]), "--lake", str(lake))
    assert done.returncode == 0, done.stderr
    assert _leftovers(lake) == []
    assert not any((lake / STAGING).iterdir())
    assert answers(lake) == answers(inputs["reference"])


READERS = [("top", "--by", "day"), ("top", "--by", "month"), ("report", "--out", "{tmp}/report.html")]


@pytest.mark.slow
def test_readers_never_answer_from_a_half_published_run(inputs: dict[str, Path], tmp_path: Path) -> None:
    """Killed right after the new top10_by_day.csv is in place, beside the old top10_by_day.parquet: every
    reader refuses in one line until a run finishes the publish, then answers as an uninterrupted run."""
    lake = tmp_path / "lake"
    shutil.copytree(inputs["baseline"], lake, symlinks=True)
    killed = footfall("run", "--counts", str(inputs["live"]), "--lake", str(lake),
                      kill="after:curated/top10_by_day.csv")
    assert killed.returncode == -9
    reference = inputs["reference"] / "curated"
    assert (lake / "curated/top10_by_day.csv").read_bytes() == (reference / "top10_by_day.csv").read_bytes()
    assert (lake / "curated/top10_by_day.parquet").read_bytes() != (reference / "top10_by_day.parquet").read_bytes()
    for reader in READERS:
        args = [a.format(tmp=tmp_path) for a in reader]
        refused = footfall(*args, "--lake", str(lake))
        assert refused.returncode == 1, refused.stdout
        assert refused.stderr.strip().splitlines() == [
            f"error: {lake}: a publish is unfinished (a run was stopped while publishing); run `footfall run` "
            "(or `footfall pipeline run`) to finish it"]
    assert not (tmp_path / "report.html").exists()
    assert footfall("run", "--lake", str(lake), "--counts", str(inputs["live"])).returncode == 0
    for by in ("day", "month"):
        now = footfall("top", "--by", by, "--format", "csv", "--lake", str(lake))
        expected = footfall("top", "--by", by, "--format", "csv", "--lake", str(inputs["reference"]))
        assert now.returncode == 0 and now.stdout == expected.stdout


def test_a_read_overlapping_a_whole_publish_is_read_again(tmp_path: Path) -> None:
    """A publish that starts and ends while a reader is between two files: the reader's first pass mixed
    two runs, so it reads again, and returns one run's answers."""
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    _published(lake, "r1", {"curated/a.csv": "1", "curated/b.csv": "1"}, {}).publish()
    passes: list[tuple[str, str]] = []

    def reader() -> tuple[str, str]:
        a = (lake.root / "curated/a.csv").read_text()
        if not passes:
            _published(lake, "r2", {"curated/a.csv": "2", "curated/b.csv": "2"}, {}).publish()
        b = (lake.root / "curated/b.csv").read_text()
        passes.append((a, b))
        return a, b

    assert lake.read(reader) == ("2", "2")
    assert passes == [("1", "2"), ("2", "2")]
    assert (lake.root / PUBLISHED).read_text() == "r2"


@pytest.mark.slow
def test_a_reader_during_a_live_publish_waits_for_it_and_answers_from_the_new_run(inputs: dict[str, Path],
                                                                                  tmp_path: Path) -> None:
    """The writer is paused inside its publish (half the outputs in place, alive, holding the lock) until the
    reader has started; the reader must answer from the finished publish, as the uninterrupted run would."""
    lake = tmp_path / "lake"
    shutil.copytree(inputs["baseline"], lake, symlinks=True)
    gate = tmp_path / "go"
    pause = textwrap.dedent(f"""
        import os, sys, time
        from pathlib import Path
        from footfall.lake.journal import LocalStaging
        real_one = LocalStaging._publish_one

        def publish_one(self, entry):
            real_one(self, entry)
            if entry["rel"] == "top10_by_day.csv":
                Path({str(tmp_path / "paused")!r}).touch()
                while not Path({str(gate)!r}).exists():
                    time.sleep(0.05)

        LocalStaging._publish_one = publish_one
        from footfall.cli import main
        sys.argv = ["footfall", *sys.argv[1:]]
        main()
    """)
    writer = subprocess.Popen([sys.executable, "-c", pause, "run", "--counts", str(inputs["live"]), "--lake",
                               str(lake)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while not (tmp_path / "paused").exists():
            assert writer.poll() is None, writer.stderr.read() if writer.stderr else ""
            time.sleep(0.05)
        reader = subprocess.Popen([sys.executable, "-m", "footfall", "top", "--by", "day", "--format", "csv",
                                   "--lake", str(lake)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        gate.touch()
        out, err = reader.communicate(timeout=300)
        assert writer.wait(timeout=300) == 0
    finally:
        writer.kill()
    expected = footfall("top", "--by", "day", "--format", "csv", "--lake", str(inputs["reference"]))
    assert reader.returncode == 0, err
    assert out == expected.stdout


def test_the_sweep_touches_only_footfalls_temporary_files(tmp_path: Path) -> None:
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    keep = ["landing/counts/0123456789abcdef0123.csv", "landing/counts/0123456789abcdef0123.manifest.json",
            "transformed/raw_counts/0123456789abcdef0123.parquet", "curated/a.part.csv", "landing/mine/x.csv.part",
            "transformed/t/source=x.part/part-0.parquet", "curated/notes.tmp.txt", "landing/counts/abc.csv.part"]
    sweep = ["landing/counts/0123456789abcdef0123.csv.part", "landing/sensors/0123456789abcdef0123.manifest.json.tmp",
             "transformed/raw_counts/0123456789abcdef0123.parquet.part", "curated/.a.csv.part",
             "transformed/.hourly_counts.link", "_spill/duckdb_temp_block-1.block", "landing/_incoming/d.part",
             ".doctor-abc", ".s3-state.json.tmp"]
    for rel in keep + sweep:
        (lake.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (lake.root / rel).write_text("x")
    with lake.session(SCRATCH, TEMPORARIES):
        pass
    assert sorted(p.relative_to(lake.root).as_posix() for p in lake.root.rglob("*") if p.is_file()
                  and p.name != ".lock") == sorted(keep)


def test_reliability_md_counts_the_probes_the_suite_runs(stated_probes: Callable[[str], int]) -> None:
    """The catalogue's figures for classes 1, 2 and 10 are the lengths of the probe lists above (a single test
    counts as one)."""
    assert stated_probes("(issue 18, class 1)") == len(ESCAPES) + len(ENGINE_ESCAPES) + len(SPARK_ESCAPES) + 1
    assert stated_probes("(class 2)") == (len(BAD_OUTPUT_PATHS) + len(OVERLAPPING_OUTPUTS) + len(SOURCE_OVERLAPS)
                                          + 1 + len(BROKEN_JOURNALS) + 1 + 1)
    assert stated_probes("(class 10)") == len(KILL_POINTS) + len(READERS) + 1 + 1 + 1
