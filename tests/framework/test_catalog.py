"""Glue Data Catalog registration against a real Glue API (moto's server on loopback, boto3 over HTTP), on the
framework's own shops pipeline: tables with their columns, partitions and view, kept up to date by later runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest
import sqlglot
from support.cli import footfall
from support.glue import (
    assert_every_column_has_the_glue_type_of_its_parquet_type,
    one_file_table,
    partitions,
    presto_view,
    published_partitions,
    register,
    table,
    versions,
)
from support.s3 import pointer

from footfall.catalog import athena_types, translate

DB = "shops"
TABLES = {"daily_sales", "shops", "monthly_totals", "top_shops", "daily_sales_named"}


def publish(s3: SimpleNamespace, pipeline: Path) -> None:
    done = footfall("pipeline", "run", str(pipeline), "--lake", s3.uri)
    assert done.returncode == 0, done.stderr


def with_april(shops_dir: Path, folder: Path) -> Path:
    """A copy of the pipeline whose seed also holds two sales in April 2024, a month the lake has not seen."""
    copy = folder / "shops"
    shutil.copytree(shops_dir, copy)
    with (copy / "data" / "sales.csv").open("a") as handle:
        handle.write("9001,1,2024-04-02,50\n9002,2,2024-04-03,60\n")
    return copy


@pytest.mark.slow
def test_register_creates_tables_with_the_columns_locations_and_partitions_of_the_lake(
        shops_dir: Path, s3: SimpleNamespace) -> None:
    publish(s3, shops_dir)
    assert set(register(s3, DB, "--pipeline", str(shops_dir)).values()) == {"created"}
    assert {t["Name"] for t in s3.glue.get_tables(DatabaseName=DB)["TableList"]} == TABLES

    daily = table(s3, DB, "daily_sales")
    assert daily["TableType"] == "EXTERNAL_TABLE"
    assert daily["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    assert daily["StorageDescriptor"]["Location"] == f"{s3.uri}/transformed/daily_sales/"
    assert [(c["Name"], c["Type"]) for c in daily["PartitionKeys"]] == [("year", "int"), ("month", "int")]
    assert [(c["Name"], c["Type"]) for c in daily["StorageDescriptor"]["Columns"]] == [
        ("shop_id", "bigint"), ("day", "date"), ("amount", "bigint"), ("sales", "bigint")]

    # Every partition the pointer publishes, at the folder that holds its files, and nothing else.
    expected = published_partitions(s3, "transformed/daily_sales")
    assert sorted(expected) == [("2024", "1"), ("2024", "2"), ("2024", "3")]
    assert partitions(s3, DB, "daily_sales") == expected

    # A one-file table points at a folder holding exactly that file; its columns are the file's.
    assert one_file_table(s3, DB, "top_shops", "curated/top_shops.parquet")["month"] == "string"

    columns, read = presto_view(s3, DB, "daily_sales_named")
    assert {"name": "shop", "type": "varchar"} in columns
    assert {"name": "amount", "type": "bigint"} in columns
    assert read == {"daily_sales", "shops"}

    # Every column of every table has the Glue type of its Parquet type, as pinned in support.glue.
    assert_every_column_has_the_glue_type_of_its_parquet_type(s3, DB)


@pytest.mark.slow
def test_a_second_register_changes_nothing(shops_dir: Path, s3: SimpleNamespace) -> None:
    publish(s3, shops_dir)
    register(s3, DB, "--pipeline", str(shops_dir))
    before = {name: versions(s3, DB, name) for name in TABLES}
    parts = partitions(s3, DB, "daily_sales")
    assert set(register(s3, DB, "--pipeline", str(shops_dir)).values()) == {"unchanged"}
    assert {name: versions(s3, DB, name) for name in TABLES} == before
    assert partitions(s3, DB, "daily_sales") == parts


@pytest.mark.slow
def test_new_data_updates_only_what_changed(shops_dir: Path, s3: SimpleNamespace, tmp_path: Path) -> None:
    publish(s3, shops_dir)
    register(s3, DB, "--pipeline", str(shops_dir))
    old = partitions(s3, DB, "daily_sales")
    april = with_april(shops_dir, tmp_path)
    publish(s3, april)
    done = footfall("catalog", "register", "--lake", s3.uri, "--database", DB, "--pipeline", str(april))
    lines = dict(line.split(maxsplit=1)[::-1] for line in done.stdout.splitlines())
    daily = next(k for k in lines if k.startswith(f"{DB}.daily_sales "))
    assert lines[daily] == "unchanged" and "+1 ~0 -0" in daily
    assert lines[f"{DB}.monthly_totals"] == "updated"
    assert lines[f"{DB}.shops"] == "unchanged"
    new = partitions(s3, DB, "daily_sales")
    assert {k: new[k] for k in old} == old and set(new) - set(old) == {("2024", "4")}


@pytest.mark.slow
def test_ddl_states_the_same_tables_as_athena_sql(shops_dir: Path, s3: SimpleNamespace) -> None:
    publish(s3, shops_dir)
    done = footfall("catalog", "ddl", "--lake", s3.uri, "--database", DB, "--pipeline", str(shops_dir))
    assert done.returncode == 0, done.stderr
    text = done.stdout
    created = re.findall(rf"CREATE EXTERNAL TABLE IF NOT EXISTS `{DB}`\.`(\w+)`", text)
    assert set(created) == TABLES - {"daily_sales_named"}
    assert f'CREATE OR REPLACE VIEW "{DB}"."daily_sales_named" AS' in text
    files = pointer(s3)["files"]
    months = {rel.rsplit("/", 1)[0] for rel in files if rel.startswith("transformed/daily_sales/")}
    assert len(months) == 3 and text.count("  PARTITION (`year` = ") == len(months)
    view_sql = text.split('"daily_sales_named" AS', 1)[1].strip().rstrip(";")
    sqlglot.parse_one(view_sql, read="athena")


@pytest.mark.slow
def test_columns_come_from_the_data_just_written(make_pipeline, s3: SimpleNamespace) -> None:
    yml = "name: p\noutputs:\n  - {table: a, zone: curated}\n"
    first = make_pipeline(yml, {"a": "select 1 as x"}, name="v1")
    assert footfall("pipeline", "run", str(first), "--lake", s3.uri).returncode == 0
    register(s3, DB, "--pipeline", str(first))
    assert [c["Type"] for c in table(s3, DB, "a")["StorageDescriptor"]["Columns"]] == ["int"]
    second = make_pipeline(yml, {"a": "select 'one' as x, 2.5::double as y"}, name="v2")
    assert footfall("pipeline", "run", str(second), "--lake", s3.uri).returncode == 0
    assert register(s3, DB, "--pipeline", str(second)) == {"a": "updated"}
    assert [(c["Name"], c["Type"]) for c in table(s3, DB, "a")["StorageDescriptor"]["Columns"]] == [
        ("x", "string"), ("y", "double")]


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
