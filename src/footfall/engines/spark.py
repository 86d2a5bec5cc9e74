"""Apache Spark as an engine: the same pipeline.yml and SQL, transpiled to Spark SQL by sqlglot.

Sources are Spark readers, steps are temporary views (cached when materialised as tables), outputs are
Parquet with dynamic partition overwrite or one CSV file, moved into place as the DuckDB engine writes
them. Timestamps are handled in UTC so wall-clock values pass through unchanged.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from sqlglot import exp

from footfall import sql as sqlmod
from footfall.engines import Engine
from footfall.errors import EngineError, SqlError
from footfall.spec import Output, Source
from footfall.sql import quote

# DuckDB reader options with a Spark equivalent; DuckDB-only ones are dropped.
OPTION_NAMES = {"delim": "sep", "delimiter": "sep", "sep": "sep", "header": "header", "quote": "quote",
                "escape": "escape", "union_by_name": "mergeSchema", "dateformat": "dateFormat",
                "timestampformat": "timestampFormat"}


PLAN_STRING_LIMIT = 100_000


class SparkEngine(Engine):
    name: ClassVar[str] = "spark"
    dialect: ClassVar[str] = "spark"

    def __init__(self, master: str = "local[*]", session: Any = None, app_name: str = "footfall",
                 conf: dict[str, str] | None = None) -> None:
        from pyspark.sql import SparkSession

        if session is None:
            builder = SparkSession.builder.master(master).appName(app_name)
            settings = {"spark.sql.session.timeZone": "UTC", "spark.ui.enabled": "false",
                        "spark.sql.shuffle.partitions": "8",
                        "spark.sql.sources.partitionOverwriteMode": "dynamic", **(conf or {})}
            for key, value in settings.items():
                builder = builder.config(key, value)
            session = builder.getOrCreate()
        self.spark = session
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        self.spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
        # Each cached step's plan string embeds the plans of the steps it reads; on a deep DAG the driver runs
        # out of heap just describing a plan, so descriptions are cut short (execution is unaffected).
        self.spark.conf.set("spark.sql.maxPlanStringLength", str(PLAN_STRING_LIMIT))
        self.cached: list[str] = []
        self.roots: list[Path] | None = None

    def confine(self, roots: Sequence[Path], files: Sequence[str] = (), spill: Path | None = None) -> None:
        """Spark has no sandbox: every SQL it is given is checked first (one SELECT, no path outside ``roots``)."""
        self.roots = [Path(r) for r in roots]

    def register_source(self, name: str, files: Sequence[str], source: Source) -> None:
        if files:
            options = {OPTION_NAMES[k.lower()]: str(v).lower() if isinstance(v, bool) else str(v)
                       for k, v in source.options.items() if k.lower() in OPTION_NAMES}
            reader = self.spark.read.options(**options)
            if source.format == "csv":
                frame = reader.option("header", options.get("header", "true")).option("inferSchema", "true").csv(
                    list(files))
            elif source.format == "json":
                frame = reader.json(list(files))
            else:
                frame = reader.parquet(*files)
            if source.columns:
                frame = frame.selectExpr(*(f"CAST({quote(c, self.dialect)} AS {spark_type(t)}) AS "
                                           f"{quote(c, self.dialect)}" for c, t in source.columns.items()))
        else:
            assert source.columns, "an empty source has a declared schema (validated in spec)"
            schema = ", ".join(f"{quote(c, self.dialect)} {spark_type(t)}" for c, t in source.columns.items())
            frame = self.spark.createDataFrame([], schema)
        frame.createOrReplaceTempView(name)

    def create(self, name: str, sql: str, materialize: str) -> int | None:
        frame = self._sql(sql, name)
        if materialize == "view":
            frame.createOrReplaceTempView(name)
            return None
        frame = frame.cache()
        frame.createOrReplaceTempView(name)
        self.cached.append(name)
        return int(frame.count())

    def query(self, sql: str, limit: int | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        frame = self._sql(sql, "query")
        rows = frame.limit(limit).collect() if limit is not None else frame.collect()
        return list(frame.columns), [tuple(r) for r in rows]

    def write(self, table: str, dest: str, output: Output) -> int:
        frame = self.spark.table(quote(table, self.dialect))
        rows = int(frame.count())
        if output.order_by:
            frame = frame.orderBy(*output.order_by)
        if output.partition_by:
            if rows == 0 and output.overwrite == "partitions":
                return 0
            writer = frame.write.mode("overwrite").partitionBy(*output.partition_by)
            writer.parquet(dest) if rows else frame.limit(0).write.mode("overwrite").parquet(dest)
            return rows
        with tempfile.TemporaryDirectory(dir=Path(dest).parent) as tmp:
            target = str(Path(tmp) / "out")
            if output.format == "csv":
                frame.coalesce(1).write.option("header", "true").option("dateFormat", "yyyy-MM-dd").option(
                    "timestampFormat", "yyyy-MM-dd HH:mm:ss").option("emptyValue", "").csv(target)
            else:
                frame.coalesce(1).write.parquet(target)
            parts = sorted(Path(target).glob("part-*"))
            if parts and (rows or output.format != "csv"):
                shutil.move(str(parts[0]), dest)
            else:
                Path(dest).write_text(",".join(frame.columns) + "\n")
        return rows

    def close(self) -> None:
        for name in self.cached:
            self.spark.catalog.uncacheTable(name)
        self.cached.clear()

    def _sql(self, sql: str, subject: str) -> Any:
        if self.roots is not None:
            try:
                sqlmod.check_reads(sqlmod.parse(sql, subject, self.dialect), subject, self.roots)
            except SqlError as e:
                raise EngineError(f"{subject}: {e.message}") from None
        try:
            return self.spark.sql(sql)
        except Exception as e:  # pyspark raises its own AnalysisException, ParseException, ...
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise EngineError(f"{subject}: {first}") from None


def spark_type(duckdb_type: str) -> str:
    """A DuckDB column type in Spark's words; plain TIMESTAMP (in a UTC session) rather than TIMESTAMP_NTZ,
    which Spark 3.3 (Glue 4.0) lacks.

    >>> spark_type("BIGINT"), spark_type("VARCHAR"), spark_type("TIMESTAMP")
    ('BIGINT', 'STRING', 'TIMESTAMP')
    """
    return exp.DataType.build(duckdb_type, dialect="duckdb").sql("spark").replace("TIMESTAMP_NTZ", "TIMESTAMP")
