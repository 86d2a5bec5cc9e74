"""Reading the Glue Data Catalog of the ``s3`` fixture's lake (moto's server), and registering it through the CLI."""

from __future__ import annotations

import base64
import io
import json
import re
from types import SimpleNamespace
from typing import Any

import pyarrow.parquet as pq
import sqlglot

from support.cli import footfall
from support.s3 import pointer

# The Glue type of each Parquet type the pipelines write.
GLUE_TYPES = {"int64": "bigint", "int32": "int", "double": "double", "string": "string", "date32[day]": "date",
              "timestamp[us]": "timestamp"}


def register(s3: SimpleNamespace, database: str, *extra: str) -> dict[str, str]:
    """``footfall catalog register`` into ``database``: what it did to each table (created, updated, unchanged)."""
    done = footfall("catalog", "register", "--lake", s3.uri, "--database", database, *extra)
    assert done.returncode == 0, done.stderr
    return {line.split()[1].split(".", 1)[1]: line.split()[0] for line in done.stdout.splitlines()}


def table(s3: SimpleNamespace, database: str, name: str) -> dict[str, Any]:
    return dict(s3.glue.get_table(DatabaseName=database, Name=name)["Table"])


def partitions(s3: SimpleNamespace, database: str, name: str) -> dict[tuple[str, ...], str]:
    """Each partition's values and the folder it is at."""
    pages = s3.glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=name)
    return {tuple(p["Values"]): p["StorageDescriptor"]["Location"] for page in pages for p in page["Partitions"]}


def versions(s3: SimpleNamespace, database: str, name: str) -> int:
    """How many versions of the table Glue keeps: a register that changes nothing adds none."""
    return len(s3.glue.get_table_versions(DatabaseName=database, TableName=name)["TableVersions"])


def published_partitions(s3: SimpleNamespace, path: str) -> dict[tuple[str, ...], str]:
    """Every partition the lake's pointer publishes under ``path`` (``transformed/x``), at the folder holding its
    files: what the catalog must list, and nothing else."""
    expected = {}
    for rel, meta in pointer(s3)["files"].items():
        found = re.fullmatch(rf"{re.escape(path)}/year=(\d+)/month=(\d+)/[^/]+", rel)
        if found:
            expected[found.groups()] = f"{s3.uri}/{meta['key'].rsplit('/', 1)[0]}/"
    for location in expected.values():
        prefix = location.removeprefix(f"s3://{s3.bucket}/")
        listed = s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix)["Contents"]
        assert listed and all(o["Key"].endswith(".parquet") for o in listed)
    return expected


def one_file_table(s3: SimpleNamespace, database: str, name: str, rel: str) -> dict[str, str]:
    """A one-file table points at a folder holding exactly the published ``rel`` and has its columns; their
    Glue types by name."""
    found = table(s3, database, name)
    prefix = found["StorageDescriptor"]["Location"].removeprefix(f"s3://{s3.bucket}/")
    listed = s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix)["Contents"]
    lake_prefix = s3.uri.removeprefix(f"s3://{s3.bucket}/")
    assert [o["Key"] for o in listed] == [f"{lake_prefix}/{pointer(s3)['files'][rel]['key']}"]
    body = s3.client.get_object(Bucket=s3.bucket, Key=listed[0]["Key"])["Body"].read()
    assert [c["Name"] for c in found["StorageDescriptor"]["Columns"]] == pq.read_schema(io.BytesIO(body)).names
    return {c["Name"]: c["Type"] for c in found["StorageDescriptor"]["Columns"]}


def presto_view(s3: SimpleNamespace, database: str, name: str) -> tuple[list[dict[str, str]], set[str]]:
    """A view as Athena stores it: its columns and the tables its SQL (parsed as Athena's) reads."""
    view = table(s3, database, name)
    assert view["TableType"] == "VIRTUAL_VIEW"
    encoded = re.fullmatch(r"/\* Presto View: (.+) \*/", view["ViewOriginalText"])
    assert encoded, view["ViewOriginalText"]
    presto = json.loads(base64.b64decode(encoded.group(1)))
    assert presto["schema"] == database
    parsed = sqlglot.parse_one(presto["originalSql"], read="athena")
    return presto["columns"], {t.name for t in parsed.find_all(sqlglot.exp.Table)}


def assert_every_column_has_the_glue_type_of_its_parquet_type(s3: SimpleNamespace, database: str) -> None:
    for found in s3.glue.get_tables(DatabaseName=database)["TableList"]:
        if found["TableType"] != "EXTERNAL_TABLE":
            continue
        prefix = found["StorageDescriptor"]["Location"].removeprefix(f"s3://{s3.bucket}/")
        key = next(o["Key"] for o in s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix)["Contents"]
                   if o["Key"].endswith(".parquet"))
        schema = pq.read_schema(io.BytesIO(s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()))
        keys = {c["Name"] for c in found["PartitionKeys"]}
        assert [(c["Name"], c["Type"]) for c in found["StorageDescriptor"]["Columns"]] == [
            (f.name, GLUE_TYPES[str(f.type)]) for f in schema if f.name not in keys], found["Name"]
