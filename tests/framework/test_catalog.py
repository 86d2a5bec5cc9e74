"""Glue Data Catalog registration against a real Glue API (moto's server on loopback, boto3 over HTTP)."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from support.cli import footfall
from support.s3 import pointer
from support.samples import ODS, SENSORS, SODA

from footfall.catalog import athena_types, translate
from footfall.melbourne.run import pipeline, run
from footfall.s3 import working_copy

DB = "pedestrian_counting_system"
# the Glue type of each Parquet type the Melbourne pipeline writes
GLUE_TYPES = {"int64": "bigint", "int32": "int", "double": "double", "string": "string", "date32[day]": "date",
              "timestamp[us]": "timestamp"}
TABLES = {"raw_counts", "raw_sensors", "hourly_counts", "applied_counts_files", "locations", "quarantine",
          "daily_counts", "monthly_counts", "top10_by_day", "top10_by_month", "top10_by_weekday",
          "top10_by_month_of_year", "lockdown_impact", "growth_last_year", "hourly_profile", "peak_hours", "coverage",
          "quarantine_summary", "outages", "flatlines", "level_shifts", "sensor_health", "top10_by_day_flags",
          "top10_by_month_flags", "resolution", "resolution_summary", "wide_columns", "hourly_counts_located",
          "sensor_runs", "weekly_ratios", "daily_totals", "hour_of_day_totals", "data_gaps"}


def publish(s3: SimpleNamespace, *counts: Path, sensors: tuple[Path, ...] = ()) -> None:
    with working_copy(s3.uri, pipeline().spec, write=True) as remote:
        run(remote.work, [str(c) for c in counts], [str(s) for s in sensors])


def register(s3: SimpleNamespace, *extra: str) -> dict[str, str]:
    done = footfall("catalog", "register", "--lake", s3.uri, "--database", DB, *extra)
    assert done.returncode == 0, done.stderr
    return {line.split()[1].split(".", 1)[1]: line.split()[0] for line in done.stdout.splitlines()}


def table(s3: SimpleNamespace, name: str, database: str = DB) -> dict:
    return s3.glue.get_table(DatabaseName=database, Name=name)["Table"]


def partitions(s3: SimpleNamespace, name: str) -> dict[tuple[str, ...], str]:
    pages = s3.glue.get_paginator("get_partitions").paginate(DatabaseName=DB, TableName=name)
    return {tuple(p["Values"]): p["StorageDescriptor"]["Location"] for page in pages for p in page["Partitions"]}


def versions(s3: SimpleNamespace, name: str) -> int:
    return len(s3.glue.get_table_versions(DatabaseName=DB, TableName=name)["TableVersions"])


@pytest.mark.slow
def test_register_creates_tables_with_the_columns_locations_and_partitions_of_the_lake(
        real: Path, s3: SimpleNamespace) -> None:
    publish(s3, real / SODA, real / ODS, sensors=(real / SENSORS,))
    assert set(register(s3).values()) == {"created"}
    assert {t["Name"] for t in s3.glue.get_tables(DatabaseName=DB)["TableList"]} == TABLES

    hourly = table(s3, "hourly_counts")
    assert hourly["TableType"] == "EXTERNAL_TABLE"
    assert hourly["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    assert hourly["StorageDescriptor"]["Location"] == f"{s3.uri}/transformed/hourly_counts/"
    assert [(c["Name"], c["Type"]) for c in hourly["PartitionKeys"]] == [("year", "int"), ("month", "int")]
    assert [(c["Name"], c["Type"]) for c in hourly["StorageDescriptor"]["Columns"]] == [
        ("location_id", "bigint"), ("ts", "timestamp"), ("date", "date"), ("hour", "int"),
        ("direction_1", "bigint"), ("direction_2", "bigint"), ("pedestrians", "bigint"), ("source", "string")]

    # Every partition the pointer publishes, at the folder that holds its files, and nothing else.
    files = pointer(s3)["files"]
    expected = {}
    for rel, meta in files.items():
        found = re.fullmatch(r"transformed/hourly_counts/year=(\d+)/month=(\d+)/[^/]+", rel)
        if found:
            expected[found.groups()] = f"{s3.uri}/{meta['key'].rsplit('/', 1)[0]}/"
    assert len(expected) > 20
    assert partitions(s3, "hourly_counts") == expected
    for location in expected.values():
        prefix = location.removeprefix(f"s3://{s3.bucket}/")
        listed = s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix)["Contents"]
        assert listed and all(o["Key"].endswith(".parquet") for o in listed)

    # A one-file table points at a folder holding exactly that file; its columns are the file's.
    top = table(s3, "top10_by_day")
    prefix = top["StorageDescriptor"]["Location"].removeprefix(f"s3://{s3.bucket}/")
    listed = s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix)["Contents"]
    assert [o["Key"] for o in listed] == [f"melbourne/{files['curated/top10_by_day.parquet']['key']}"]
    body = s3.client.get_object(Bucket=s3.bucket, Key=listed[0]["Key"])["Body"].read()
    schema = pq.read_schema(io.BytesIO(body))
    assert [c["Name"] for c in top["StorageDescriptor"]["Columns"]] == schema.names
    assert dict((c["Name"], c["Type"]) for c in top["StorageDescriptor"]["Columns"])["date"] == "date"

    raw = table(s3, "raw_counts")
    assert raw["StorageDescriptor"]["Location"] == f"{s3.uri}/transformed/raw_counts/"
    assert ("raw_line", "string") in [(c["Name"], c["Type"]) for c in raw["StorageDescriptor"]["Columns"]]

    view = table(s3, "hourly_counts_located")
    assert view["TableType"] == "VIRTUAL_VIEW"
    encoded = re.fullmatch(r"/\* Presto View: (.+) \*/", view["ViewOriginalText"]).group(1)
    presto = json.loads(base64.b64decode(encoded))
    assert presto["schema"] == DB
    assert {"name": "location", "type": "varchar"} in presto["columns"]
    assert {"name": "pedestrians", "type": "bigint"} in presto["columns"]
    parsed = sqlglot.parse_one(presto["originalSql"], read="athena")
    assert {t.name for t in parsed.find_all(sqlglot.exp.Table)} == {"hourly_counts", "locations"}

    # Every column of every table has the Glue type of its Parquet type, as pinned here.
    for found in s3.glue.get_tables(DatabaseName=DB)["TableList"]:
        if found["TableType"] != "EXTERNAL_TABLE":
            continue
        prefix = found["StorageDescriptor"]["Location"].removeprefix(f"s3://{s3.bucket}/")
        key = next(o["Key"] for o in s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix)["Contents"]
                   if o["Key"].endswith(".parquet"))
        schema = pq.read_schema(io.BytesIO(s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()))
        keys = {c["Name"] for c in found["PartitionKeys"]}
        assert [(c["Name"], c["Type"]) for c in found["StorageDescriptor"]["Columns"]] == [
            (f.name, GLUE_TYPES[str(f.type)]) for f in schema if f.name not in keys], found["Name"]


@pytest.mark.slow
def test_a_second_register_changes_nothing(real: Path, s3: SimpleNamespace) -> None:
    publish(s3, real / SODA, sensors=(real / SENSORS,))
    register(s3)
    before = {name: versions(s3, name) for name in TABLES}
    parts = partitions(s3, "hourly_counts")
    assert set(register(s3).values()) == {"unchanged"}
    assert {name: versions(s3, name) for name in TABLES} == before
    assert partitions(s3, "hourly_counts") == parts


@pytest.mark.slow
def test_new_data_updates_only_what_changed(real: Path, s3: SimpleNamespace) -> None:
    publish(s3, real / SODA, sensors=(real / SENSORS,))
    register(s3)
    old = partitions(s3, "hourly_counts")
    publish(s3, real / ODS)
    done = footfall("catalog", "register", "--lake", s3.uri)
    lines = dict(line.split(maxsplit=1)[::-1] for line in done.stdout.splitlines())
    hourly = next(k for k in lines if k.startswith(f"{DB}.hourly_counts "))
    assert lines[hourly] == "unchanged" and "+25 ~0 -0" in hourly
    assert lines[f"{DB}.top10_by_month"] == "updated"
    assert lines[f"{DB}.raw_sensors"] == "unchanged"
    new = partitions(s3, "hourly_counts")
    assert {k: new[k] for k in old} == old


@pytest.mark.slow
def test_columns_come_from_the_data_just_written(make_pipeline, s3: SimpleNamespace) -> None:
    yml = "name: p\noutputs:\n  - {table: a, zone: curated}\n"
    first = make_pipeline(yml, {"a": "select 1 as x"}, name="v1")
    assert footfall("pipeline", "run", str(first), "--lake", s3.uri).returncode == 0
    register(s3, "--pipeline", str(first))
    assert [c["Type"] for c in table(s3, "a")["StorageDescriptor"]["Columns"]] == ["int"]
    second = make_pipeline(yml, {"a": "select 'one' as x, 2.5::double as y"}, name="v2")
    assert footfall("pipeline", "run", str(second), "--lake", s3.uri).returncode == 0
    assert register(s3, "--pipeline", str(second)) == {"a": "updated"}
    assert [(c["Name"], c["Type"]) for c in table(s3, "a")["StorageDescriptor"]["Columns"]] == [
        ("x", "string"), ("y", "double")]


@pytest.mark.slow
def test_ddl_states_the_same_tables_as_athena_sql(real: Path, s3: SimpleNamespace) -> None:
    publish(s3, real / SODA, sensors=(real / SENSORS,))
    done = footfall("catalog", "ddl", "--lake", s3.uri)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    created = re.findall(rf"CREATE EXTERNAL TABLE IF NOT EXISTS `{DB}`\.`(\w+)`", text)
    assert set(created) == TABLES - {"hourly_counts_located"}
    assert f'CREATE OR REPLACE VIEW "{DB}"."hourly_counts_located" AS' in text
    files = pointer(s3)["files"]
    partitioned = ("transformed/hourly_counts/", "transformed/daily_totals/", "transformed/hour_of_day_totals/")
    months = {rel.rsplit("/", 1)[0] for rel in files if rel.startswith(partitioned)}
    assert len(months) == 6 and text.count("  PARTITION (`year` = ") == len(months)
    view_sql = text.split('"hourly_counts_located" AS', 1)[1].strip().rstrip(";")
    sqlglot.parse_one(view_sql, read="athena")


def test_the_catalog_needs_an_s3_lake(tmp_path: Path) -> None:
    done = footfall("catalog", "ddl", "--lake", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.strip() == ("error: the catalog describes an S3 lake: give --lake s3://bucket/prefix "
                                   f"(not '{tmp_path}')")


def test_a_column_name_athena_cannot_use_is_refused_before_any_ddl(make_pipeline, s3: SimpleNamespace) -> None:
    root = make_pipeline("name: p\noutputs:\n  - {table: a, zone: curated}\n",
                         {"a": 'select 1 as "x`) ; drop table y; --"'})
    assert footfall("pipeline", "run", str(root), "--lake", s3.uri).returncode == 0
    done = footfall("catalog", "ddl", "--lake", s3.uri, "--pipeline", str(root))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == ("error: column 'x`) ; drop table y; --' is not a plain identifier "
                                   "(letters, digits, _): Athena cannot use it")


@pytest.mark.parametrize(("arrow", "glue", "presto"), [
    (pa.int64(), "bigint", "bigint"), (pa.int32(), "int", "integer"), (pa.float64(), "double", "double"),
    (pa.float32(), "float", "real"), (pa.string(), "string", "varchar"), (pa.large_string(), "string", "varchar"),
    (pa.date32(), "date", "date"), (pa.timestamp("us"), "timestamp", "timestamp"),
    (pa.timestamp("ns"), "timestamp", "timestamp"), (pa.bool_(), "boolean", "boolean"),
    (pa.binary(), "binary", "varbinary"), (pa.uint32(), "bigint", "bigint"),
    (pa.uint64(), "decimal(20,0)", "decimal(20,0)"), (pa.decimal128(10, 2), "decimal(10,2)", "decimal(10,2)"),
    (pa.list_(pa.string()), "array<string>", "array(varchar)"),
])
def test_arrow_types_become_the_glue_and_presto_types_athena_reads(arrow: pa.DataType, glue: str,
                                                                   presto: str) -> None:
    assert athena_types(pa.schema([("c", arrow)])) == [glue]
    assert translate(glue, "hive", "presto") == presto
