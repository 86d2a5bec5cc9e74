"""Spark reads and writes an S3 lake itself (S3A on moto's server): the same answers as DuckDB, published
by the pointer's compare-and-swap, and nothing of the lake left on local disk."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from support import cli

from footfall.dag import load_pipeline
from footfall.engines.duckdb import DuckDBEngine
from footfall.errors import CheckFailed, LakeError
from footfall.lake.layout import published as published_tables
from footfall.lake.local import LocalLake
from footfall.lake.objects import ObjectLake
from footfall.lake.open import open_store
from footfall.runner import run_pipeline
from footfall.settings import Settings

pytestmark = pytest.mark.spark

SPEC = """\
name: shops
sources:
  sales: {path: landing/sales/*.csv, format: csv}
steps:
  monthly:
    checks: [{unique: [shop, month]}, {range: {column: total, min: MIN}}]
outputs:
  - {table: monthly, zone: curated, format: csv, order_by: [shop, month]}
  - {table: monthly, zone: curated, order_by: [shop, month]}
  - {table: monthly, zone: transformed, path: monthly, partition_by: [month], overwrite: partitions}
"""
SALES = "id,shop,day,amount\n1,a,2024-01-01,10\n2,b,2024-01-02,20\n3,a,2024-02-01,5\n4,a,2024-01-09,1\n"
MORE = "id,shop,day,amount\n5,c,2024-03-01,7\n"
MONTHLY = """
with s as (select shop, strftime(cast(day as date), '%Y-%m') as month, amount from sales)
select shop, month, cast(sum(amount) as bigint) as total, count(*) as sales from s group by shop, month
"""


def jars_or_skip() -> None:
    from footfall.engines.spark_jars import missing_jars

    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java")
    pytest.importorskip("pyspark")
    folder = Settings.resolve().jars_folder
    if missing_jars(folder):
        pytest.skip(f"the S3A jars are not in {folder} (make spark-jars)")


@pytest.fixture(scope="module")
def spark_s3(s3_endpoint: str) -> Iterator[object]:
    """One in-process session with the S3A connector, pointed at moto's server. The connector must be on the
    JVM's classpath from its start, so a JVM left by an earlier module's session is ended first."""
    jars_or_skip()
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if SparkContext._active_spark_context is not None:  # one an earlier module's engine run left open
        SparkContext._active_spark_context.stop()
    gateway = SparkContext._gateway
    if gateway is not None and SparkContext._active_spark_context is None:
        gateway.shutdown()
        gateway.proc.stdin.close()  # the JVM's gateway server exits when its stdin closes
        gateway.proc.wait(timeout=60)
        SparkContext._gateway = SparkContext._jvm = None

    from footfall.engines.spark_s3 import S3Access

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    access = S3Access(s3_endpoint, "ap-southeast-2", Settings.resolve().jars_folder)
    builder = SparkSession.builder.master("local[2]").appName("footfall-s3-tests")
    for key, value in {**access.static_conf(), "spark.ui.enabled": "false",
                       "spark.sql.shuffle.partitions": "2"}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    yield session
    session.stop()


def objects(s3: SimpleNamespace) -> dict[str, bytes]:
    pages = s3.client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket)
    return {o["Key"]: s3.client.get_object(Bucket=s3.bucket, Key=o["Key"])["Body"].read()
            for page in pages for o in page.get("Contents", [])}


def published(s3: SimpleNamespace, rel: str) -> bytes:
    """A published file, read the way every reader reads one: through the pointer."""
    pointer = json.loads(s3.client.get_object(Bucket=s3.bucket, Key="melbourne/_current.json")["Body"].read())
    key = pointer["files"][rel]["key"]
    return s3.client.get_object(Bucket=s3.bucket, Key=f"melbourne/{key}")["Body"].read()


def upload(s3: SimpleNamespace, rel: str, text: str) -> None:
    """An input as a push stores it (at its lake path), named by the pointer."""
    s3.client.put_object(Bucket=s3.bucket, Key=f"melbourne/{rel}", Body=text.encode())


def direct(s3: SimpleNamespace, pipeline: Any, spark: object, *inputs: tuple[str, str]) -> tuple[ObjectLake, Any]:
    """An object lake holding ``inputs`` (uploaded as new inputs of this run) and a Spark engine on it."""
    from footfall.engines.spark import SparkEngine
    from footfall.engines.spark_s3 import S3Access

    lake = ObjectLake.open(open_store(s3.uri, s3.endpoint), published_tables(pipeline.spec), Path("/nonexistent"))
    for rel, text in inputs:
        upload(s3, rel, text)
        lake.added[rel] = {"size": len(text), "md5": "", "key": rel}
    engine = SparkEngine(session=spark, s3=S3Access(s3.endpoint, "ap-southeast-2", Settings.resolve().jars_folder))
    return lake, engine


def test_spark_writes_the_s3_lake_itself_with_the_answers_duckdb_gives(spark_s3, s3, make_pipeline,
                                                                      tmp_path: Path) -> None:
    root = make_pipeline(SPEC.replace("MIN", "0"), {"monthly": MONTHLY})
    pipeline = load_pipeline(root)
    local = LocalLake.at(tmp_path / "duck")
    for rel, text in (("landing/sales/1.csv", SALES), ("landing/sales/2.csv", MORE)):
        (local.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (local.root / rel).write_text(text)
        with DuckDBEngine(threads=1) as duck:
            run_pipeline(pipeline, local, duck)
        lake, engine = direct(s3, pipeline, spark_s3, (rel, text))
        result = run_pipeline(pipeline, lake, engine)
        assert all(c.passed for c in result.checks)
        assert published(s3, "curated/monthly.csv") == (local.root / "curated/monthly.csv").read_bytes()

    pointer = json.loads(objects(s3)["melbourne/_current.json"])
    partitions = sorted(rel for rel in pointer["files"] if rel.startswith("transformed/monthly/"))
    assert [p.split("/")[2] for p in partitions] == ["month=2024-01", "month=2024-02", "month=2024-03"]
    assert {pointer["files"][p]["key"].split("/")[2] for p in partitions} == {result.run_id}
    assert pointer["files"]["curated/monthly.csv"]["key"] == f"curated/monthly.csv/{result.run_id}/monthly.csv"
    import duckdb

    expected = duckdb.sql(f"select shop, month, total, sales from read_parquet('{local.root}/transformed/monthly/"
                          "**/*.parquet', hive_partitioning = true) order by all").fetchall()
    lake, engine = direct(s3, pipeline, spark_s3)
    engine.register_source("previous", lake.sources("transformed/monthly", "parquet"),
                           SimpleNamespace(format="parquet", options={"hive_partitioning": True}, columns={}))
    _, rows = engine.query("select shop, month, total, sales from previous order by shop, month")
    assert rows == expected


def test_a_failed_spark_run_publishes_nothing_and_leaves_no_objects(spark_s3, s3, make_pipeline) -> None:
    root = make_pipeline(SPEC.replace("MIN", "100"), {"monthly": MONTHLY})
    pipeline = load_pipeline(root)
    lake, engine = direct(s3, pipeline, spark_s3, ("landing/sales/1.csv", SALES))
    with pytest.raises(CheckFailed):
        run_pipeline(pipeline, lake, engine)
    assert sorted(objects(s3)) == ["melbourne/landing/sales/1.csv"]


def test_of_two_spark_writers_only_one_publishes_and_gc_spares_foreign_objects(spark_s3, s3,
                                                                                make_pipeline) -> None:
    root = make_pipeline(SPEC.replace("MIN", "0"), {"monthly": MONTHLY})
    pipeline = load_pipeline(root)
    s3.client.put_object(Bucket=s3.bucket, Key="melbourne/curated/monthly.csv/notes.txt", Body=b"mine")
    first, engine = direct(s3, pipeline, spark_s3, ("landing/sales/1.csv", SALES))
    second, _ = direct(s3, pipeline, spark_s3)
    second.added = dict(first.added)
    runs = [run_pipeline(pipeline, first, engine).run_id]
    with pytest.raises(LakeError, match="another run published"):
        run_pipeline(pipeline, second, engine)
    again = run_pipeline(pipeline, first, engine)  # the same inputs: nothing is built or published
    assert again.unchanged and again.run_id == ""
    rebuilt = run_pipeline(pipeline, first, engine, rebuild=True)  # the same bytes: nothing is re-pointed
    assert rebuilt.run_id
    assert json.loads(objects(s3)["melbourne/_current.json"])["files"]["curated/monthly.csv"]["key"].split("/")[2] \
        == runs[0]
    for i, text in enumerate((MORE, "id,shop,day,amount\n6,d,2024-04-01,3\n")):  # new inputs, new answers
        rel = f"landing/sales/more-{i}.csv"
        upload(s3, rel, text)
        first.added[rel] = {"size": len(text), "md5": "", "key": rel}
        runs.append(run_pipeline(pipeline, first, engine).run_id)
    keys = objects(s3)
    assert keys["melbourne/curated/monthly.csv/notes.txt"] == b"mine"
    versions = {k.split("/")[3] for k in keys if k.startswith("melbourne/curated/monthly.csv/") and "=" not in k
                and not k.endswith("notes.txt")}
    assert versions == set(runs[1:]), "the current and previous versions stay; older and failed ones are gone"


def footfall(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI against the cluster: a Spark job takes longer than a DuckDB run."""
    return cli.footfall(*args, env=env, cwd=cwd, timeout=900)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[object]:
    """A Spark standalone cluster on loopback from the pip PySpark: a master and two one-core workers, each
    in its own process group, all killed at teardown whatever the test did."""
    jars_or_skip()
    from spark_cluster import standalone

    from footfall.errors import EngineError

    with contextlib.ExitStack() as stack:
        try:
            found = stack.enter_context(standalone(tmp_path, workers=2, cores=1, wait_seconds=120))
        except EngineError as e:
            pytest.fail(str(e))
        yield found


def executor_tasks(events: Path) -> dict[str, int]:
    """Tasks that ended, per executor, from the application's event log (the driver is not an executor)."""
    tasks: dict[str, int] = {}
    for log in events.iterdir():
        for line in log.read_text().splitlines():
            event = json.loads(line)
            if event.get("Event") == "SparkListenerTaskEnd":
                executor = event["Task Info"]["Executor ID"]
                tasks[executor] = tasks.get(executor, 0) + 1
    return tasks


@pytest.mark.slow
def test_footfall_run_on_a_standalone_cluster_publishes_to_s3_what_duckdb_gives(cluster, s3, real: Path,
                                                                                tmp_path: Path) -> None:
    from footfall.melbourne.generate import generate
    from footfall.melbourne.run import run

    history = tmp_path / "history.csv"
    generate(history, fmt="archive", seed=5, sensors=4, start=date(2019, 6, 1), end=date(2020, 5, 31))
    counts = [str(history), str(real / "socrata_counts_soda_2019-11_5000.json")]
    sensors = [str(real / "ods_sensor_locations_export_2026-06.csv")]
    run(LocalLake.at(tmp_path / "duck"), counts, sensors)

    secret = f"secret-{uuid.uuid4().hex}"
    conf_dir, events, scratch = tmp_path / "conf", tmp_path / "events", tmp_path / "tmp"
    for folder in (conf_dir, events, scratch):
        folder.mkdir()
    (conf_dir / "spark-defaults.conf").write_text(f"spark.eventLog.enabled true\nspark.eventLog.dir {events}\n")
    env = {**os.environ, **cluster.env, "AWS_SECRET_ACCESS_KEY": secret, "SPARK_CONF_DIR": str(conf_dir),
           "TMPDIR": str(scratch)}
    done = footfall("run", "--engine", "spark", "--spark-master", cluster.master, "--lake", s3.uri, "--s3-endpoint",
                    s3.endpoint, *(f"--counts={c}" for c in counts), *(f"--sensors={s}" for s in sensors),
                    env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    duck = {p.name: p.read_bytes() for p in (tmp_path / "duck/curated").glob("*.csv")}
    assert len(duck) > 10
    assert [name for name, body in duck.items() if published(s3, f"curated/{name}") != body] == []
    assert list(scratch.iterdir()) == [], "the scratch lake was removed from the temp folder"
    assert not (tmp_path / "cache").exists(), "no working copy of the lake was made"

    tasks = executor_tasks(events)
    executors = {e: n for e, n in tasks.items() if e != "driver"}
    assert len(executors) == 2 and all(n > 0 for n in executors.values()), tasks
    assert all(secret not in p.read_text(errors="replace") for p in events.iterdir())
    assert secret not in done.stderr + done.stdout

    top = footfall("top", "--by", "month", "--format", "csv", "--lake", s3.uri, env=env, cwd=tmp_path)
    local = footfall("top", "--by", "month", "--format", "csv", "--lake", str(tmp_path / "duck"), env=env, cwd=tmp_path)
    assert top.returncode == 0, top.stderr
    assert top.stdout == local.stdout and top.stdout.count("\n") > 4


def test_a_missing_s3a_jar_is_one_line(s3, tmp_path: Path) -> None:
    env = {**os.environ, "FOOTFALL_SPARK_JARS": str(tmp_path / "none")}
    done = footfall("run", "--engine", "spark", "--lake", s3.uri, "--counts", str(tmp_path), env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        line for line in done.stderr.strip().splitlines() if "needs the S3A jars" in line or "melbourne" in line]
    assert "hadoop-aws-3.3.1.jar" in done.stderr and "Traceback" not in done.stderr


def test_s3a_settings_come_from_what_footfall_resolves_and_keep_secrets_out_of_the_spark_conf(
        s3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from footfall.engines.spark_jars import JARS
    from footfall.engines.spark_s3 import S3Access

    monkeypatch.setenv("FOOTFALL_SPARK_JARS", "/nowhere")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token-value")

    def resolve() -> S3Access:
        settings = Settings.resolve()
        return S3Access(settings.s3_endpoint, settings.region, settings.jars_folder)

    access = resolve()
    assert (access.endpoint, access.region) == (s3.endpoint, "ap-southeast-2")
    runtime = access.runtime_conf()
    assert runtime["fs.s3a.endpoint"] == s3.endpoint and runtime["fs.s3a.path.style.access"] == "true"
    assert runtime["fs.s3a.secret.key"] == "testing" and runtime["fs.s3a.session.token"] == "token-value"
    assert runtime["fs.s3a.aws.credentials.provider"].endswith("TemporaryAWSCredentialsProvider")
    with pytest.raises(Exception, match="needs the S3A jars, missing from /nowhere"):
        access.static_conf()
    for name in JARS:
        (tmp_path / name).write_bytes(b"PK")
    monkeypatch.setenv("FOOTFALL_SPARK_JARS", str(tmp_path))
    access = resolve()
    static = access.static_conf()
    assert static["spark.jars"].split(",") == [str(tmp_path / name) for name in JARS]
    assert not any(v in value for value in static.values() for v in ("testing", "token-value"))
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert resolve().runtime_conf()["fs.s3a.endpoint"] == "s3.ap-southeast-2.amazonaws.com"


PIPELINE_SPEC = """\
name: shops
sources:
  sales: {path: data/sales.csv, root: pipeline, format: csv}
steps:
  monthly:
    checks: [{unique: [shop, month]}]
outputs:
  - {table: monthly, zone: curated, format: csv, order_by: [shop, month]}
  - {table: monthly, zone: transformed, path: monthly, partition_by: [month]}
"""


def test_pipeline_run_with_spark_on_s3_writes_the_lake_itself_without_a_working_copy(s3, make_pipeline,
                                                                                    tmp_path: Path) -> None:
    jars_or_skip()
    root = make_pipeline(PIPELINE_SPEC, {"monthly": MONTHLY}, {"data/sales.csv": SALES})
    local = footfall("pipeline", "run", str(root), "--lake", str(tmp_path / "duck"), env=dict(os.environ),
                     cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    done = footfall("pipeline", "run", str(root), "--engine", "spark", "--spark-master", "local[2]", "--lake", s3.uri,
                    "--s3-endpoint", s3.endpoint, env=dict(os.environ), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert published(s3, "curated/monthly.csv") == (tmp_path / "duck/curated/monthly.csv").read_bytes()
    assert not (tmp_path / "cache").exists(), "no working copy of the lake was made"
    pointer = json.loads(s3.client.get_object(Bucket=s3.bucket, Key="melbourne/_current.json")["Body"].read())
    assert any(rel.startswith("transformed/monthly/month=2024-01/") for rel in pointer["files"])
