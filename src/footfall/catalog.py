"""The Glue Data Catalog: one EXTERNAL Parquet table per table of an S3 lake, for Athena.

Tables are described from the lake's pointer (locations, partitions) and from the Parquet footers
of the files the newest run wrote (columns, types), never from older files. Registration changes
the catalog only where it differs from that description, so registering twice is a no-op.
``ddl`` prints the same thing as Athena statements for users without Glue API access.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from footfall.aws import aws_errors
from footfall.dag import Pipeline
from footfall.errors import LakeError
from footfall.lake import layout
from footfall.lake.objects import ObjectLake
from footfall.spec import IDENTIFIER, PipelineSpec

PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                  "Parameters": {"serialization.format": "1"}},
}
TABLE_PARAMETERS = {"classification": "parquet", "EXTERNAL": "TRUE", "footfall": "1"}


@dataclass(frozen=True)
class Table:
    name: str
    location: str
    columns: tuple[tuple[str, str], ...]
    partition_keys: tuple[tuple[str, str], ...] = ()
    partitions: tuple[tuple[tuple[str, ...], str], ...] = ()
    description: str = ""


@dataclass(frozen=True)
class View:
    """A view over the lake's tables, in Athena's SQL, with the columns it yields."""

    name: str
    sql: str
    columns: tuple[tuple[str, str], ...]
    description: str = ""


@dataclass(frozen=True)
class Change:
    table: str
    action: Literal["created", "updated", "unchanged"]
    partitions_added: int = 0
    partitions_updated: int = 0
    partitions_removed: int = 0


# DuckDB types sqlglot passes through that Hive lacks, as the smallest Hive type that holds them (Spark's
# INT96 timestamps arrive as nanoseconds)
_HIVE_WIDER = {exp.DataType.Type.USMALLINT: "INT", exp.DataType.Type.UINT: "BIGINT",
               exp.DataType.Type.UBIGINT: "DECIMAL(20,0)", exp.DataType.Type.TIMESTAMP_S: "TIMESTAMP",
               exp.DataType.Type.TIMESTAMP_MS: "TIMESTAMP", exp.DataType.Type.TIMESTAMP_NS: "TIMESTAMP"}


def _widened(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.DataType) and node.this in _HIVE_WIDER:
        return exp.DataType.build(_HIVE_WIDER[node.this], dialect="hive")
    return node


def translate(sql_type: str, source: str, target: str) -> str:
    """A column type in another dialect's words, as Glue writes types (lower case, no spaces).

    >>> translate("DECIMAL(10,2)", "duckdb", "hive"), translate("STRUCT(a VARCHAR)", "duckdb", "hive")
    ('decimal(10,2)', 'struct<a:string>')
    >>> translate("array<string>", "hive", "presto"), translate("string", "hive", "duckdb")
    ('array(varchar)', 'text')
    """
    built: exp.Expr = exp.DataType.build(sql_type, dialect=source)
    if target == "hive":
        built = built.transform(_widened)
    return re.sub(r"([,:])\s+", r"\1", built.sql(dialect=target)).lower()


def athena_types(schema: pa.Schema) -> list[str]:
    """The Hive/Athena names of an Arrow schema's types, read as DuckDB reads them.

    >>> athena_types(pa.schema([("a", pa.int64()), ("b", pa.timestamp("ns")), ("c", pa.list_(pa.string()))]))
    ['bigint', 'timestamp', 'array<string>']
    """
    with duckdb.connect() as con:
        try:
            duckdb_types = [str(t) for t in con.from_arrow(schema.empty_table()).types]
        except (duckdb.Error, pa.ArrowException) as e:
            raise LakeError(f"no Athena type for the Parquet schema: {str(e).splitlines()[0]}") from None
    return [translate(t, "duckdb", "hive") for t in duckdb_types]


def partition_values(path: str) -> tuple[tuple[str, str], ...]:
    """Hive ``key=value`` folders of a partition path.

    >>> partition_values("year=2024/month=5")
    (('year', '2024'), ('month', '5'))
    """
    pairs = tuple(tuple(part.split("=", 1)) for part in PurePosixPath(path).parts)
    if not all(len(p) == 2 and IDENTIFIER.match(p[0]) for p in pairs):
        raise LakeError(f"not a hive partition path: {path}")
    return pairs  # type: ignore[return-value]


def remote_schema(lake: ObjectLake, metas: Iterable[dict[str, Any]]) -> pa.Schema:
    """The unified schema of Parquet files, each read from its footer in a few ranged requests (the file is
    never downloaded whole)."""
    filesystem = lake.store.filesystem()
    schemas = []
    for meta in metas:
        uri = lake.store.uri(meta["key"])
        try:
            with (filesystem.open(uri, "rb") if filesystem is not None else open(uri, "rb")) as handle:
                schemas.append(pq.read_schema(handle))
        except (OSError, pa.ArrowInvalid) as e:
            raise LakeError(f"cannot read the Parquet footer: {str(e).splitlines()[0]}", path=uri) from None
    return pa.unify_schemas(schemas, promote_options="permissive")


def _run_of(key: str, output: layout.Table) -> str:
    return key[len(output.rel) + 1:].split("/", 1)[0]


def catalog_tables(lake: ObjectLake, spec: PipelineSpec) -> list[Table]:
    """The catalog tables an object lake holds: every Parquet output, and every Parquet source folder in the
    lake that no output writes (the parsed raw inputs). Tables with no files yet are left out."""
    pointer = lake.previous
    if pointer is None:
        raise LakeError("nothing was published to this lake yet: run the pipeline first", path=str(lake))
    files: dict[str, dict[str, Any]] = pointer["files"]
    tables: list[Table] = []
    for output in layout.outputs(spec):
        if output.format != "parquet":
            continue
        mine = {rel: meta for rel, meta in files.items() if output.owns(rel)}
        if not mine:
            continue
        newest = max(_run_of(m["key"], output) for m in mine.values())
        schema = remote_schema(lake, [m for m in mine.values() if _run_of(m["key"], output) == newest])
        description = spec.steps[output.step].description if output.step in spec.steps else ""
        name = output.name
        if not output.directory:
            key = next(iter(mine.values()))["key"]
            tables.append(Table(name, lake.store.uri(str(PurePosixPath(key).parent)) + "/",
                                _columns(schema), description=description))
            continue
        units: dict[str, str] = {}
        for rel, meta in mine.items():
            units[output.unit(rel)[len(output.rel) + 1:]] = str(PurePosixPath(meta["key"]).parent)
        keys = partition_values(next(iter(units)))
        partitions = []
        for unit, folder in sorted(units.items()):
            pairs = partition_values(unit)
            if [k for k, _ in pairs] != [k for k, _ in keys]:
                raise LakeError(f"partition {unit} does not match {'/'.join(k for k, _ in keys)}",
                                path=lake.store.uri(output.rel))
            partitions.append((tuple(v for _, v in pairs), lake.store.uri(folder) + "/"))
        key_types = tuple((k, "int" if all(re.fullmatch(r"-?\d{1,9}", p[0][i]) for p in partitions) else "string")
                          for i, (k, _) in enumerate(keys))
        columns = tuple(c for c in _columns(schema) if c[0] not in dict(key_types))
        tables.append(Table(name, lake.store.uri(output.rel) + "/", columns, key_types, tuple(partitions),
                            description))
    written = {t.rel for t in layout.published(spec)}
    for source in spec.sources.values():
        folder = source.path.rstrip("/")
        if source.root != "lake" or source.format != "parquet" or any(c in folder for c in "*?[") \
                or folder in written or folder.endswith(".parquet"):
            continue
        mine = {rel: meta for rel, meta in files.items() if rel.startswith(folder + "/")}
        if mine:
            tables.append(Table(PurePosixPath(folder).name.lower(), lake.store.uri(folder) + "/",
                                _columns(remote_schema(lake, mine.values())), description=source.description))
    names = [t.name for t in tables]
    if len(names) != len(set(names)):
        raise LakeError(f"two tables would share a catalog name: {sorted({n for n in names if names.count(n) > 1})}")
    return tables


def lake_views(pipeline: Pipeline, tables: Iterable[Table]) -> list[View]:
    """The pipeline's views, transpiled to Athena, with column types found by planning each view in DuckDB
    over empty tables shaped like the catalog's (so a view's types follow the data, as its tables' do)."""
    from footfall.engines.duckdb import sandbox, single_select
    from footfall.sql import quote

    known = {t.name: t for t in tables}
    views: list[View] = []
    with duckdb.connect() as con:
        for table in known.values():
            columns = [*table.columns, *table.partition_keys]
            con.execute(f"CREATE TABLE {quote(table.name)} ("
                        + ", ".join(f"{quote(n)} {translate(t, 'hive', 'duckdb')}" for n, t in columns) + ")")
        sandbox(con)
        for name, view in pipeline.views.items():
            missing = sorted(view.depends_on - known.keys())
            if missing:
                raise LakeError(f"view {name} reads {missing[0]!r}, which the lake has no table for yet",
                                path=view.path)
            try:
                schema = con.sql(single_select(con, view.sql("duckdb"), name)).to_arrow_table().schema
            except duckdb.Error as e:
                raise LakeError(f"view {name}: {str(e).strip().splitlines()[0]}", path=view.path) from None
            views.append(View(name, view.sql("athena"), _columns(schema), view.settings.description))
    return views


def describe_lake(lake: ObjectLake, pipeline: Pipeline) -> tuple[list[Table], list[View]]:
    tables = catalog_tables(lake, pipeline.spec)
    return tables, lake_views(pipeline, tables)


def _columns(schema: pa.Schema) -> tuple[tuple[str, str], ...]:
    """Names as Athena keeps them (lower case); a name that is not a plain identifier never reaches DDL."""
    for f in schema:
        if not IDENTIFIER.match(f.name):
            raise LakeError(f"column {f.name!r} is not a plain identifier (letters, digits, _): Athena cannot use it")
    return tuple((f.name.lower(), t) for f, t in zip(schema, athena_types(schema), strict=True))


def table_input(table: Table) -> dict[str, Any]:
    return {
        "Name": table.name,
        "Description": table.description[:2048],
        "TableType": "EXTERNAL_TABLE",
        "Parameters": dict(TABLE_PARAMETERS),
        "PartitionKeys": [{"Name": n, "Type": t} for n, t in table.partition_keys],
        "StorageDescriptor": {"Columns": [{"Name": n, "Type": t} for n, t in table.columns],
                              "Location": table.location, **PARQUET},
    }


def _partition_input(table: Table, values: tuple[str, ...], location: str) -> dict[str, Any]:
    return {"Values": list(values),
            "StorageDescriptor": {"Columns": [{"Name": n, "Type": t} for n, t in table.columns],
                                  "Location": location, **PARQUET}}


def ensure_database(glue: Any, database: str) -> bool:
    """Create the database unless it exists; True when created."""
    try:
        glue.get_database(Name=database)
        return False
    except glue.exceptions.EntityNotFoundException:
        glue.create_database(DatabaseInput={"Name": database,
                                            "Description": "Tables of a footfall lake, registered by footfall"})
        return True


def view_input(view: View, database: str) -> dict[str, Any]:
    """A Glue table Athena reads as a view: the Trino SQL and its columns, encoded as Athena does it."""
    original = {"originalSql": view.sql, "catalog": "awsdatacatalog", "schema": database,
                "columns": [{"name": n, "type": translate(t, "hive", "presto")} for n, t in view.columns]}
    encoded = base64.b64encode(json.dumps(original, sort_keys=True).encode()).decode()
    return {
        "Name": view.name,
        "Description": view.description[:2048],
        "TableType": "VIRTUAL_VIEW",
        "Parameters": {"presto_view": "true", "comment": "Presto View", "footfall": "1"},
        "ViewOriginalText": f"/* Presto View: {encoded} */",
        "ViewExpandedText": "/* Presto View */",
        "PartitionKeys": [],
        "StorageDescriptor": {"Columns": [{"Name": n, "Type": t} for n, t in view.columns], "Location": "",
                              "SerdeInfo": {}},
    }


def _essence(table: dict[str, Any], parameters: Iterable[str]) -> tuple[Any, ...]:
    """What registration decides, so a table Glue decorated with its own fields still compares equal."""
    sd = table.get("StorageDescriptor", {})
    return (table.get("TableType"), table.get("Description", ""), table.get("ViewOriginalText"),
            {k: table.get("Parameters", {}).get(k) for k in parameters},
            [(c["Name"], c["Type"]) for c in table.get("PartitionKeys", [])],
            [(c["Name"], c["Type"]) for c in sd.get("Columns", [])],
            sd.get("Location") or "", sd.get("SerdeInfo", {}).get("SerializationLibrary"))


def upsert_table(glue: Any, database: str, wanted: dict[str, Any]) -> Literal["created", "updated", "unchanged"]:
    """Create the table, update it when it differs, or leave it: returns which."""
    try:
        current = glue.get_table(DatabaseName=database, Name=wanted["Name"])["Table"]
    except glue.exceptions.EntityNotFoundException:
        glue.create_table(DatabaseName=database, TableInput=wanted)
        return "created"
    if _essence(current, wanted["Parameters"]) == _essence(wanted, wanted["Parameters"]):
        return "unchanged"
    glue.update_table(DatabaseName=database, TableInput=wanted)
    return "updated"


def sync_partitions(glue: Any, database: str, table: Table) -> tuple[int, int, int]:
    """Add, re-point and drop partitions so the catalog lists exactly the lake's; returns the three counts."""
    current: dict[tuple[str, ...], dict[str, Any]] = {}
    for page in glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table.name):
        for part in page["Partitions"]:
            current[tuple(part["Values"])] = part
    wanted = dict(table.partitions)
    columns = [(n, t) for n, t in table.columns]
    add = [_partition_input(table, v, loc) for v, loc in wanted.items() if v not in current]
    update = [{"PartitionValueList": list(v), "PartitionInput": _partition_input(table, v, loc)}
              for v, loc in wanted.items() if v in current and (
                  current[v]["StorageDescriptor"].get("Location") != loc
                  or [(c["Name"], c["Type"]) for c in current[v]["StorageDescriptor"].get("Columns", [])] != columns)]
    drop = [{"Values": list(v)} for v in current if v not in wanted]
    for start in range(0, len(add), 100):
        _batch_ok(glue.batch_create_partition(DatabaseName=database, TableName=table.name,
                                              PartitionInputList=add[start:start + 100]), table)
    for start in range(0, len(update), 100):
        _batch_ok(glue.batch_update_partition(DatabaseName=database, TableName=table.name,
                                              Entries=update[start:start + 100]), table)
    for start in range(0, len(drop), 25):
        _batch_ok(glue.batch_delete_partition(DatabaseName=database, TableName=table.name,
                                              PartitionsToDelete=drop[start:start + 25]), table)
    return len(add), len(update), len(drop)


def _batch_ok(response: dict[str, Any], table: Table) -> None:
    errors = response.get("Errors") or []
    if errors:
        first = errors[0].get("ErrorDetail", {})
        raise LakeError(f"Glue refused {len(errors)} partition(s) of {table.name}: "
                        f"{first.get('ErrorCode', '')} {first.get('ErrorMessage', '')}".strip())


def register(glue: Any, database: str, tables: Iterable[Table], views: Iterable[View] = ()) -> list[Change]:
    """Create or update the database, its tables, their partitions and the views; report what changed."""
    if not IDENTIFIER.match(database):
        raise LakeError(f"{database!r} is not a plain database name (letters, digits, _)")
    changes = []
    with aws_errors(f"glue:{database}"):
        ensure_database(glue, database)
        for table in tables:
            action = upsert_table(glue, database, table_input(table))
            added = updated = removed = 0
            if table.partition_keys:
                added, updated, removed = sync_partitions(glue, database, table)
            changes.append(Change(table.name, action, added, updated, removed))
        for view in views:
            changes.append(Change(view.name, upsert_table(glue, database, view_input(view, database))))
    return changes


def _quote_value(value: str, kind: str) -> str:
    return value if kind == "int" else "'" + value.replace("'", "''") + "'"


def ddl(database: str, tables: Iterable[Table], views: Iterable[View] = ()) -> str:
    """Athena statements equivalent to :func:`register` (for users who can run queries but not call Glue)."""
    if not IDENTIFIER.match(database):
        raise LakeError(f"{database!r} is not a plain database name (letters, digits, _)")
    lines = [f"CREATE DATABASE IF NOT EXISTS `{database}`;", ""]
    for table in tables:
        columns = ",\n".join(f"  `{n}` {t}" for n, t in table.columns)
        lines.append(f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{table.name}` (\n{columns}\n)")
        if table.description:
            lines.append("COMMENT '" + table.description.strip().replace("'", "''") + "'")
        if table.partition_keys:
            lines.append("PARTITIONED BY (" + ", ".join(f"`{n}` {t}" for n, t in table.partition_keys) + ")")
        lines += ["STORED AS PARQUET", f"LOCATION '{table.location}'",
                  "TBLPROPERTIES ('classification'='parquet');", ""]
        if table.partitions:
            lines.append(f"ALTER TABLE `{database}`.`{table.name}` ADD IF NOT EXISTS")
            for values, location in table.partitions:
                spec = ", ".join(f"`{k}` = {_quote_value(v, t)}" for (k, t), v in zip(table.partition_keys, values,
                                                                                    strict=True))
                lines.append(f"  PARTITION ({spec}) LOCATION '{location}'")
            lines[-1] += ";"
            lines.append("")
    for view in views:
        lines += [f'CREATE OR REPLACE VIEW "{database}"."{view.name}" AS', view.sql + ";", ""]
    return "\n".join(lines)
