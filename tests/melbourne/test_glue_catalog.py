"""The Melbourne lake in the Glue Data Catalog (moto's server on loopback, boto3 over HTTP): every table of the
pipeline, its sources in the lake included, registered with its columns, partitions and view, and kept up to date
as publications arrive."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

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
from support.samples import ODS, SENSORS, SODA

from footfall.melbourne.job import melbourne, melbourne_lake
from footfall.melbourne.run import run_job
from footfall.settings import Settings

DB = "pedestrian_counting_system"
TABLES = {"raw_counts", "raw_sensors", "hourly_counts", "applied_counts_files", "locations", "quarantine",
          "daily_counts", "monthly_counts", "top10_by_day", "top10_by_month", "top10_by_weekday",
          "top10_by_month_of_year", "lockdown_impact", "growth_last_year", "hourly_profile", "peak_hours", "coverage",
          "quarantine_summary", "outages", "flatlines", "level_shifts", "sensor_health", "top10_by_day_flags",
          "top10_by_month_flags", "resolution", "resolution_summary", "wide_columns", "hourly_counts_located",
          "sensor_runs", "weekly_ratios", "daily_totals", "hour_of_day_totals", "data_gaps"}


def publish(s3: SimpleNamespace, *counts: Path, sensors: tuple[Path, ...] = ()) -> None:
    context = melbourne(Settings.resolve(lake=s3.uri))
    with melbourne_lake(context, write=True) as held:
        run_job(context, held, [str(c) for c in counts], [str(s) for s in sensors])


@pytest.mark.slow
def test_register_creates_tables_with_the_columns_locations_and_partitions_of_the_lake(
        real: Path, s3: SimpleNamespace) -> None:
    publish(s3, real / SODA, real / ODS, sensors=(real / SENSORS,))
    assert set(register(s3, DB).values()) == {"created"}
    assert {t["Name"] for t in s3.glue.get_tables(DatabaseName=DB)["TableList"]} == TABLES

    hourly = table(s3, DB, "hourly_counts")
    assert hourly["TableType"] == "EXTERNAL_TABLE"
    assert hourly["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    assert hourly["StorageDescriptor"]["Location"] == f"{s3.uri}/transformed/hourly_counts/"
    assert [(c["Name"], c["Type"]) for c in hourly["PartitionKeys"]] == [("year", "int"), ("month", "int")]
    assert [(c["Name"], c["Type"]) for c in hourly["StorageDescriptor"]["Columns"]] == [
        ("location_id", "bigint"), ("ts", "timestamp"), ("date", "date"), ("hour", "int"),
        ("direction_1", "bigint"), ("direction_2", "bigint"), ("pedestrians", "bigint"), ("source", "string")]

    # Every partition the pointer publishes, at the folder that holds its files, and nothing else.
    expected = published_partitions(s3, "transformed/hourly_counts")
    assert len(expected) > 20
    assert partitions(s3, DB, "hourly_counts") == expected

    # A one-file table points at a folder holding exactly that file; its columns are the file's.
    assert one_file_table(s3, DB, "top10_by_day", "curated/top10_by_day.parquet")["date"] == "date"

    raw = table(s3, DB, "raw_counts")
    assert raw["StorageDescriptor"]["Location"] == f"{s3.uri}/transformed/raw_counts/"
    assert ("raw_line", "string") in [(c["Name"], c["Type"]) for c in raw["StorageDescriptor"]["Columns"]]

    columns, read = presto_view(s3, DB, "hourly_counts_located")
    assert {"name": "location", "type": "varchar"} in columns
    assert {"name": "pedestrians", "type": "bigint"} in columns
    assert read == {"hourly_counts", "locations"}

    # Every column of every table has the Glue type of its Parquet type, as pinned in support.glue.
    assert_every_column_has_the_glue_type_of_its_parquet_type(s3, DB)


@pytest.mark.slow
def test_a_second_register_changes_nothing(real: Path, s3: SimpleNamespace) -> None:
    publish(s3, real / SODA, sensors=(real / SENSORS,))
    register(s3, DB)
    before = {name: versions(s3, DB, name) for name in TABLES}
    parts = partitions(s3, DB, "hourly_counts")
    assert set(register(s3, DB).values()) == {"unchanged"}
    assert {name: versions(s3, DB, name) for name in TABLES} == before
    assert partitions(s3, DB, "hourly_counts") == parts


@pytest.mark.slow
def test_new_data_updates_only_what_changed(real: Path, s3: SimpleNamespace) -> None:
    publish(s3, real / SODA, sensors=(real / SENSORS,))
    register(s3, DB)
    old = partitions(s3, DB, "hourly_counts")
    publish(s3, real / ODS)
    done = footfall("catalog", "register", "--lake", s3.uri)
    lines = dict(line.split(maxsplit=1)[::-1] for line in done.stdout.splitlines())
    hourly = next(k for k in lines if k.startswith(f"{DB}.hourly_counts "))
    assert lines[hourly] == "unchanged" and "+25 ~0 -0" in hourly
    assert lines[f"{DB}.top10_by_month"] == "updated"
    assert lines[f"{DB}.raw_sensors"] == "unchanged"
    new = partitions(s3, DB, "hourly_counts")
    assert {k: new[k] for k in old} == old


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
