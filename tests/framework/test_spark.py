"""The Spark engine runs a pipeline written for DuckDB and publishes the same answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall.dag import Pipeline, load_pipeline
from footfall.engines.duckdb import DuckDBEngine
from footfall.lake.local import LocalLake
from footfall.runner import run_pipeline

pytestmark = pytest.mark.spark

SPEC = """\
name: shops
sources:
  sales: {path: data/sales.csv, root: pipeline, format: csv}
  extra: {path: data/none/*.csv, root: pipeline, format: csv, required: false, columns: {k: INTEGER}}
steps:
  monthly:
    checks: [{unique: [shop, month]}, {range: {column: total, min: 0}}]
outputs:
  - {table: monthly, zone: curated, format: csv, order_by: [shop, month]}
  - {table: monthly, zone: curated, order_by: [shop, month]}
  - {table: monthly, zone: transformed, path: monthly, partition_by: [month]}
  - {table: extra, zone: curated, format: csv}
"""
SALES = "id,shop,day,amount\n1,a,2024-01-01,10\n2,b,2024-01-02,20\n3,a,2024-02-01,5\n4,a,2024-01-09,1\n"
MONTHLY = """
with s as (select shop, strftime(cast(day as date), '%Y-%m') as month, amount from sales)
select shop, month, cast(sum(amount) as bigint) as total, count(*) as sales from s group by shop, month
"""


def test_the_same_pipeline_gives_the_same_answers_on_spark(spark: object, make_pipeline, tmp_path: Path) -> None:
    from footfall.engines.spark import SparkEngine

    root = make_pipeline(SPEC, {"monthly": MONTHLY}, {"data/sales.csv": SALES})
    pipeline = load_pipeline(root)
    with DuckDBEngine(threads=1) as duck:
        run_pipeline(pipeline, LocalLake.at(tmp_path / "duck"), duck)
    with SparkEngine(session=spark) as engine:
        result = run_pipeline(pipeline, LocalLake.at(tmp_path / "spark"), engine)
    assert all(c.passed for c in result.checks)
    for name in ("monthly.csv", "extra.csv"):
        assert (tmp_path / "spark/curated" / name).read_bytes() == (tmp_path / "duck/curated" / name).read_bytes()
    import duckdb

    def rows(lake: str, path: str) -> list[tuple]:
        return duckdb.sql(f"select shop, month, total, sales from read_parquet('{tmp_path}/{lake}/{path}', "
                          "hive_partitioning = true) order by all").fetchall()

    assert rows("spark", "transformed/monthly/**/*.parquet") == rows("duck", "transformed/monthly/**/*.parquet")
    assert rows("spark", "curated/monthly.parquet") == rows("duck", "curated/monthly.parquet")


def test_a_spark_sql_error_is_one_line_naming_the_step(spark: object, make_pipeline, tmp_path: Path) -> None:
    from footfall.engines.spark import SparkEngine
    from footfall.errors import EngineError

    root = make_pipeline(SPEC, {"monthly": "select no_such_column from sales"}, {"data/sales.csv": SALES})
    with SparkEngine(session=spark) as engine, pytest.raises(EngineError, match=r"^monthly: ") as info:
        run_pipeline(load_pipeline(root), LocalLake.at(tmp_path / "lake"), engine)
    assert "\n" not in str(info.value)


def test_the_shops_pipeline_gives_byte_identical_answers_on_spark(spark: object, shops: Pipeline,
                                                                 tmp_path: Path) -> None:
    """Its view step, checks, partitioned output replaced by partition and CSV answers, on both engines."""
    import duckdb

    from footfall.engines.spark import SparkEngine

    with DuckDBEngine(threads=1) as duck:
        run_pipeline(shops, LocalLake.at(tmp_path / "duck"), duck)
    with SparkEngine(session=spark) as engine:
        result = run_pipeline(shops, LocalLake.at(tmp_path / "spark"), engine)
    assert len(result.checks) == 8 and all(c.passed for c in result.checks)
    for name in ("monthly_totals.csv", "top_shops.csv"):
        duck_csv = (tmp_path / "duck/curated" / name).read_bytes()
        assert (tmp_path / "spark/curated" / name).read_bytes() == duck_csv and duck_csv.count(b"\n") == 10

    def rows(lake: str) -> list[tuple]:
        return duckdb.sql(f"select * from read_parquet('{tmp_path}/{lake}/transformed/daily_sales/**/*.parquet', "
                          "hive_partitioning = true) order by all").fetchall()

    assert rows("spark") == rows("duck") and len(rows("duck")) > 200


def test_a_step_read_twice_is_kept_with_its_lineage_cut_and_one_read_once_is_a_view(spark: object) -> None:
    from footfall.engines.spark import SparkEngine

    with SparkEngine(session=spark) as engine:
        engine.create("base", "select id, id % 3 as k from range(100)", "view")
        engine.create("twice", "select k, count(*) as n from base group by k", "view", readers=2)
        engine.create("once", "select k, count(*) as n from base group by k", "table", readers=1)

        def plan(name: str) -> str:
            return spark.table(name)._jdf.queryExecution().analyzed().toString()

        assert "LogicalRDD" in plan("twice") and "Range" not in plan("twice"), "kept: its own plan, no lineage"
        assert "LogicalRDD" not in plan("once") and "Range" in plan("once"), "read once: a view over its input"
        assert sorted(engine.query("select k, n from twice")[1]) == [(0, 34), (1, 33), (2, 33)]
        assert len(engine.kept) == 1
    assert engine.kept == []


def test_shuffle_partitions_follow_the_inputs_size(spark: object, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from footfall.engines import spark as spark_engine
    from footfall.spec import Source

    monkeypatch.setattr(spark_engine, "BYTES_PER_PARTITION", 1000)
    data = tmp_path / "big.csv"
    data.write_text("a\n" + "1234567\n" * 312)  # 2,498 bytes: three partitions of 1,000
    with spark_engine.SparkEngine(session=spark) as engine:
        engine.register_source("big", [str(data)], Source(path="big.csv", format="csv"))
        partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
    assert partitions == max(spark.sparkContext.defaultParallelism, 3) == 3


def test_one_file_outputs_are_written_from_one_collect_with_the_spark_writers_bytes(spark: object,
                                                                                     tmp_path: Path) -> None:
    """Every one-file output's table comes to the driver in one job; each CSV is byte for byte what Spark's
    writer gives, each Parquet file holds the same rows, and a partitioned output is still Spark's."""
    import duckdb

    from footfall.engines.spark import SparkEngine
    from footfall.spec import Output

    tricky = """select * from values
        (2, 'plain', 1.5, date '2024-01-02', timestamp '2024-01-02 03:04:05', true),
        (1, 'comma, "quote"', cast('NaN' as double), null, timestamp '2024-01-02 00:00:00.25', false),
        (3, '', cast('-Infinity' as double), date '2024-02-29', null, null),
        (4, null, 1e-7, date '1999-12-31', timestamp '1999-12-31 23:59:59', true),
        (5, 'two\nlines', -0.0, date '2024-01-02', timestamp '2024-01-02 03:04:05', false)
        as t(id, name, x, day, ts, flag)"""
    outputs = [Output(table="tricky", zone="curated", format="csv", order_by=["day", "id"]),
               Output(table="tricky", zone="curated", order_by=["day", "id"]),
               Output(table="small", zone="curated", format="csv"),
               Output(table="tricky", zone="transformed", partition_by=["flag"])]
    tracker = spark.sparkContext.statusTracker()
    with SparkEngine(session=spark) as engine:
        engine.create("tricky", tricky, "table", readers=len(outputs))
        engine.create("small", "select id from tricky where id > 3", "view", readers=1)
        expected = tmp_path / "expected"
        expected.mkdir()
        engine.write("tricky", str(expected / "tricky.csv"), outputs[0])
        engine.write("small", str(expected / "small.csv"), outputs[2])
        engine.query("select count(*) from tricky")  # the checkpoint computed, as the run's checks do first
        dests = [str(tmp_path / name) for name in ("tricky.csv", "tricky.parquet", "small.csv", "flag")]
        writes = engine.write_all([(o.table, d, o) for o, d in zip(outputs, dests, strict=True)])
        before = len(tracker.getJobIdsForGroup(None))
        rows = [next(writes) for _ in range(3)]
        one_file_jobs = len(tracker.getJobIdsForGroup(None)) - before
        rows.append(next(writes))
    assert rows == [5, 5, 2, 5]
    assert one_file_jobs == 1, "one collect for every one-file output"
    assert (tmp_path / "tricky.csv").read_bytes() == (expected / "tricky.csv").read_bytes()
    assert (tmp_path / "small.csv").read_bytes() == (expected / "small.csv").read_bytes() == b"id\n4\n5\n"
    assert b'"comma, \\"quote\\""' in (tmp_path / "tricky.csv").read_bytes()
    back = duckdb.sql(f"select id, name, x, day, ts, flag from '{tmp_path}/tricky.parquet'").fetchall()
    want = [tuple(r) for r in spark.sql(f"{tricky} order by day nulls first, id").collect()]
    assert [r[0] for r in back] == [r[0] for r in want] == [1, 4, 2, 5, 3]
    assert [str(r) for r in back] == [str(r) for r in want]
    assert sorted(p.name for p in (tmp_path / "flag").iterdir() if p.is_dir()) == [
        "flag=__HIVE_DEFAULT_PARTITION__", "flag=false", "flag=true"]


def test_one_file_outputs_past_the_drivers_result_limit_are_written_by_spark_instead(spark: object,
                                                                                     tmp_path: Path) -> None:
    from footfall.engines.spark import SparkEngine
    from footfall.spec import Output

    # The context's own conf, read by each task set as it starts; the collected rows are compressed, so the
    # text is hashes rather than one repeated letter.
    live = spark.sparkContext._jsc.sc().conf()
    limit = live.get("spark.driver.maxResultSize", "1g")
    output = Output(table="wide", zone="curated", format="csv", order_by=["id"])
    live.set("spark.driver.maxResultSize", "1m")
    try:
        with SparkEngine(session=spark) as engine:
            engine.create("wide", "select id, concat(sha2(string(id), 256), sha2(string(id), 512)) as text "
                          "from range(20000)", "table", readers=2)
            assert engine._collect(["wide"]) == {}, "past the limit, nothing is collected"
            rows = list(engine.write_all([("wide", str(tmp_path / "wide.csv"), output)]))
            engine.write("wide", str(tmp_path / "expected.csv"), output)
    finally:
        live.set("spark.driver.maxResultSize", limit)
    assert rows == [20000]
    assert (tmp_path / "wide.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()
