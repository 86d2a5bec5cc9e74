"""One-file outputs of the Spark engine written on the driver from one collected result.

Spark schedules a job per write (and, with adaptive execution, per shuffle stage before it), so two writes
(CSV and Parquet) for each of some thirty small answers cost more than the answers themselves. Instead, one
query unions every such table, each row carried as one JSON text that holds its values and its CSV line as
Spark's own CSV writer would write it (``to_csv``, the writer's options), and one ``collect`` brings them all
to the driver. There DuckDB sorts each table by its output's ``order_by`` with Spark's null ordering, writes
the Parquet file and hands back the CSV lines. Partitioned outputs (the big tables) never come here.

The CSV files are byte for byte what the Spark writer gave (the same generator formats each line); the
Parquet files hold the same columns and values, written by DuckDB. A table whose column types the JSON
text cannot carry exactly is left to Spark's writers (:func:`duckdb_columns` answers None for it).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from footfall.sql import literal, quote

# The options of the engine's CSV writer, so each line is the one the writer would have written.
CSV_OPTIONS = {"dateFormat": "yyyy-MM-dd", "timestampFormat": "yyyy-MM-dd HH:mm:ss", "emptyValue": ""}
# Timestamps in the JSON text to the microsecond, which DuckDB reads back exactly.
JSON_OPTIONS = {"dateFormat": "yyyy-MM-dd", "timestampFormat": "yyyy-MM-dd HH:mm:ss.SSSSSS"}
# The Spark types a JSON text carries without loss, in DuckDB's words.
SPARK_TO_DUCKDB = {"tinyint": "TINYINT", "smallint": "SMALLINT", "int": "INTEGER", "bigint": "BIGINT",
                   "float": "FLOAT", "double": "DOUBLE", "boolean": "BOOLEAN", "string": "VARCHAR",
                   "date": "DATE", "timestamp": "TIMESTAMP", "timestamp_ntz": "TIMESTAMP"}
LINE = "__csv_line"


@dataclass(frozen=True)
class Collected:
    """One table's rows on the driver: each a JSON text of its values and its CSV line (key ``LINE``)."""

    columns: list[str]
    types: dict[str, str]  # column -> DuckDB type
    rows: list[str]


def duckdb_columns(schema: Any) -> dict[str, str] | None:
    """A Spark schema's columns as DuckDB types, or None when one of them is not carried exactly by JSON
    (decimals, binaries, nested types), or a column is named like the CSV line's key.

    >>> from pyspark.sql.types import StructType, StructField, LongType, StringType
    >>> duckdb_columns(StructType([StructField("n", LongType()), StructField("s", StringType())]))
    {'n': 'BIGINT', 's': 'VARCHAR'}
    """
    types: dict[str, str] = {}
    for field in schema.fields:
        found = SPARK_TO_DUCKDB.get(field.dataType.simpleString())
        if found is None or field.name == LINE or field.name in types:
            return None
        types[field.name] = found
    return types


def _options(options: dict[str, str]) -> str:
    return f"map({', '.join(f'{literal(k)}, {literal(v)}' for k, v in options.items())})"


def union_sql(tables: Sequence[str]) -> str:
    """One query over ``tables``: column ``part`` the table's index, ``doc`` each row's JSON text with its CSV
    line. A union of scans adds no shuffle, so collecting it is one job.

    >>> print(union_sql(["t"]))  # doctest: +NORMALIZE_WHITESPACE
    SELECT 0 AS part, to_json(struct(*, to_csv(struct(*), map('dateFormat', 'yyyy-MM-dd',
    'timestampFormat', 'yyyy-MM-dd HH:mm:ss', 'emptyValue', '')) AS `__csv_line`), map('dateFormat',
    'yyyy-MM-dd', 'timestampFormat', 'yyyy-MM-dd HH:mm:ss.SSSSSS')) AS doc FROM `t`
    """
    line = f"to_csv(struct(*), {_options(CSV_OPTIONS)}) AS {quote(LINE, 'spark')}"
    return " UNION ALL ".join(
        f"SELECT {i} AS part, to_json(struct(*, {line}), {_options(JSON_OPTIONS)}) AS doc FROM {quote(t, 'spark')}"
        for i, t in enumerate(tables))


def write_file(table: Collected, dest: str, file_format: str, order_by: Sequence[str]) -> None:
    """Write ``table`` at the local path ``dest`` as ``file_format``, sorted by ``order_by`` with nulls first
    (Spark's order) and then by the CSV line (rows equal in their keys are in some order either way).

    The CSV file is what Spark's writer makes of the same rows: a header of the column names, then each
    row's line, every line ended by a newline."""
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        carried = {**table.types, LINE: "VARCHAR"}
        con.execute(f"CREATE TABLE collected ({', '.join(f'{quote(c)} {t}' for c, t in carried.items())})")
        with tempfile.TemporaryDirectory(prefix="footfall-collect-") as tmp:
            if table.rows:
                docs = Path(tmp) / "rows.json"
                docs.write_text("\n".join(table.rows) + "\n", encoding="utf-8")
                spec = ", ".join(f"{literal(c)}: {literal(t)}" for c, t in carried.items())
                con.execute(f"INSERT INTO collected SELECT * FROM read_json({literal(str(docs))}, "
                            f"format = 'newline_delimited', columns = {{{spec}}}, "
                            "timestampformat = '%Y-%m-%d %H:%M:%S.%f', dateformat = '%Y-%m-%d')")
        order = ", ".join([*(f"{quote(c)} ASC NULLS FIRST" for c in order_by), quote(LINE)])
        if file_format == "csv":
            lines = con.execute(f"SELECT {quote(LINE)} FROM collected ORDER BY {order}").fetchall()
            text = "".join(f"{line}\n" for line in [",".join(table.columns), *(str(r[0]) for r in lines)])
            Path(dest).write_text(text, encoding="utf-8", newline="")
        else:
            select = ", ".join(quote(c) for c in table.columns)
            con.execute(f"COPY (SELECT {select} FROM collected ORDER BY {order}) TO {literal(dest)} "
                        "(FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.close()
