"""Apache Spark as an engine: the same pipeline.yml and SQL, transpiled to Spark SQL by sqlglot.

Sources are Spark readers, steps are temporary views (a table read more than once is kept, as a local
checkpoint that cuts its lineage), outputs are Parquet with dynamic partition overwrite or one CSV file,
moved into place as the DuckDB engine writes them. Timestamps are handled in UTC so wall-clock values pass
through unchanged.
"""

from __future__ import annotations

import contextlib
import math
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from footfall import sql as sqlmod
from footfall.engines import Engine
from footfall.engines.spark_s3 import S3Access, on_glue
from footfall.errors import EngineError, SqlError
from footfall.spec import Materialize, Output, Source
from footfall.sql import quote

if TYPE_CHECKING:
    from footfall.lake.store import ObjectStore
    from footfall.settings import Settings

# DuckDB reader options with a Spark equivalent; DuckDB-only ones are dropped.
OPTION_NAMES = {"delim": "sep", "delimiter": "sep", "sep": "sep", "header": "header", "quote": "quote",
                "escape": "escape", "union_by_name": "mergeSchema", "dateformat": "dateFormat",
                "timestampformat": "timestampFormat"}


PLAN_STRING_LIMIT = 100_000
# Local mode runs every task in the driver, which also holds the kept steps of a deep DAG: Spark's 1 GB
# default runs out of heap on the Melbourne pipeline (a `conf` entry overrides it).
DRIVER_MEMORY = "3g"
# Input bytes (compressed, on storage) per shuffle partition: a few times that in memory. Adaptive execution
# coalesces what turns out smaller, so this only has to be large enough for the biggest input.
BYTES_PER_PARTITION = 16 * 2**20
MAX_PARTITIONS = 2000
SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"


class SparkEngine(Engine):
    name: ClassVar[str] = "spark"
    dialect: ClassVar[str] = "spark"
    REACHES_OBJECT_STORES: ClassVar[bool] = True  # through Hadoop's filesystems: S3A, or EMRFS on Glue

    @classmethod
    def open(cls, settings: Settings, *, store: ObjectStore | None = None,
             spill: Path | None = None) -> SparkEngine:
        """On an S3 lake outside Glue, with the S3A connector set up as the settings resolve it."""
        return cls(settings.spark_master, s3=cls._s3(settings, store))

    @classmethod
    def preflight(cls, settings: Settings, store: ObjectStore | None = None) -> None:
        s3 = cls._s3(settings, store)
        if s3 is not None:
            s3.static_conf()  # names the missing S3A jars in one line

    @staticmethod
    def _s3(settings: Settings, store: ObjectStore | None) -> S3Access | None:
        if store is not None and store.uri("").startswith("s3://") and not on_glue():
            return S3Access(settings.s3_endpoint, settings.region, settings.jars_folder)
        return None

    def __init__(self, master: str = "local[*]", session: Any = None, app_name: str = "footfall",
                 conf: dict[str, str] | None = None, s3: S3Access | None = None) -> None:
        from pyspark.sql import SparkSession

        if session is None:
            builder = SparkSession.builder.master(master).appName(app_name)
            settings = {"spark.driver.memory": DRIVER_MEMORY, "spark.sql.session.timeZone": "UTC",
                        "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                        "spark.sql.adaptive.enabled": "true",
                        "spark.sql.adaptive.coalescePartitions.enabled": "true",
                        "spark.sql.sources.partitionOverwriteMode": "dynamic",
                        **(s3.static_conf() if s3 else {}), **(conf or {})}
            for key, value in settings.items():
                builder = builder.config(key, value)
            session = builder.getOrCreate()
        if s3:
            s3.apply(session)
            quiet(session, "org.apache.hadoop.fs.s3a")
        self.spark = session
        quiet(self.spark, "org.apache.spark.sql.catalyst.util.StringUtils")  # "truncated the plan string"
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        self.spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
        # Each cached step's plan string embeds the plans of the steps it reads; on a deep DAG the driver runs
        # out of heap just describing a plan, so descriptions are cut short (execution is unaffected).
        self.spark.conf.set("spark.sql.maxPlanStringLength", str(PLAN_STRING_LIMIT))
        self.spark.conf.set("spark.sql.adaptive.enabled", "true")
        self.sized = SHUFFLE_PARTITIONS not in (conf or {})
        self.input_bytes = 0
        self.kept: list[Any] = []
        self.single: dict[tuple[str, tuple[str, ...]], Any] = {}
        self.roots: list[Path] | None = None
        self.s3a = s3 is not None  # Hadoop's S3A connector names S3 objects s3a://

    def hadoop(self, uri: str) -> str:
        """An object URI as Spark's filesystem for it names it.

        >>> SparkEngine.hadoop(type("E", (), {"s3a": True})(), "s3://b/k")  # type: ignore[arg-type]
        's3a://b/k'
        """
        return "s3a://" + uri[len("s3://"):] if self.s3a and uri.startswith("s3://") else uri

    def confine(self, roots: Sequence[str | Path], files: Sequence[str] = (), spill: Path | None = None) -> None:
        """Spark has no sandbox: every SQL it is given is checked first (one SELECT, no path outside the local
        ``roots``; no object URI at all)."""
        self.roots = [Path(r) for r in roots if "://" not in str(r)]

    def register_source(self, name: str, files: Sequence[str], source: Source) -> None:
        files = [self.hadoop(f) for f in files]
        if files:
            options = {OPTION_NAMES[k.lower()]: str(v).lower() if isinstance(v, bool) else str(v)
                       for k, v in source.options.items() if k.lower() in OPTION_NAMES}
            reader = self.spark.read.options(**options)
            if source.format == "csv":
                frame = reader.option("header", options.get("header", "true")).option("inferSchema", "true").csv(
                    list(files))
            elif source.format == "json":
                if source.columns:  # read by name with the declared types: no job just to infer a schema
                    reader = reader.schema(self._schema(source))
                frame = reader.json(list(files))
            elif str(source.options.get("hive_partitioning", "")).lower() == "true":
                frame = self._hive_parquet(reader, files)
            else:
                frame = reader.parquet(*files)
            if source.columns:
                frame = frame.selectExpr(*(f"CAST({quote(c, self.dialect)} AS {spark_type(t)}) AS "
                                           f"{quote(c, self.dialect)}" for c, t in source.columns.items()))
            self._size_shuffle(frame)
        else:
            assert source.columns, "an empty source has a declared schema (validated in spec)"
            frame = self.spark.createDataFrame([], self._schema(source))
        frame.createOrReplaceTempView(name)

    def _schema(self, source: Source) -> str:
        """A source's declared columns as a Spark DDL schema."""
        return ", ".join(f"{quote(c, self.dialect)} {spark_type(t)}" for c, t in (source.columns or {}).items())

    def _size_shuffle(self, frame: Any) -> None:
        """``spark.sql.shuffle.partitions`` from the inputs' size as Spark's file index already knows it
        (no extra read): at least one partition per core, more when the inputs are large."""
        if not self.sized:
            return
        self.input_bytes += int(str(frame._jdf.queryExecution().optimizedPlan().stats().sizeInBytes()))
        self.spark.conf.set(SHUFFLE_PARTITIONS, str(shuffle_partitions(
            self.input_bytes, self.spark.sparkContext.defaultParallelism)))

    def _hive_parquet(self, reader: Any, files: Sequence[str]) -> Any:
        """Parquet files under ``key=value`` folders, with those keys as columns. Each group of files under
        one base folder is read with that base (an S3 lake keeps each partition under the run that wrote
        it, so one output can span several bases), and the groups are unioned by name."""
        groups: dict[str, list[str]] = {}
        for file in files:
            match = re.search(r"/[^/=]+=[^/]*/", file)
            groups.setdefault(file[:match.start()] if match else str(Path(file).parent), []).append(file)
        frames = [reader.option("basePath", base).parquet(*group) for base, group in sorted(groups.items())]
        frame = frames[0]
        for other in frames[1:]:
            frame = frame.unionByName(other, allowMissingColumns=True)
        return frame

    def create(self, name: str, sql: str, materialize: Materialize, readers: int | None = None) -> int | None:
        """A step read more than once is kept as a local checkpoint: computed by the first job that reads it,
        kept on the executors, and a plan of its own, so later steps neither recompute it nor carry (and
        re-plan) the whole DAG above it. A step read once is a view, whatever it is declared as: keeping it
        would cost more than it saves. Without ``readers``, a table is kept and a view is not. No job
        runs just for a row count."""
        frame = self._sql(sql, name)
        if not (readers > 1 if readers is not None else materialize != "view"):
            frame.createOrReplaceTempView(name)
            return None
        try:
            frame = frame.localCheckpoint(eager=False)
        except Exception as e:  # the physical plan is made here, so a planning error surfaces here
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise EngineError(f"{name}: {first}") from None
        frame.createOrReplaceTempView(name)
        self.kept.append(frame)
        return None

    def query(self, sql: str, limit: int | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        frame = self._sql(sql, "query")
        rows = frame.limit(limit).collect() if limit is not None else frame.collect()
        return list(frame.columns), [tuple(r) for r in rows]

    def write(self, table: str, dest: str, output: Output) -> int:
        """One job per output: the row count is observed during the write, not counted by a job of its own."""
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        dest = self.hadoop(dest)
        frame = self.spark.table(quote(table, self.dialect))
        observed = Observation()
        if output.partition_by:
            counted = (frame.orderBy(*output.order_by) if output.order_by else frame).observe(
                observed, F.count(F.lit(1)).alias("rows"))
            counted.write.mode("overwrite").partitionBy(*output.partition_by).parquet(dest)
            rows = int(observed.get["rows"])
            if rows == 0 and output.overwrite != "partitions":
                frame.limit(0).write.mode("overwrite").parquet(dest)
            return rows
        counted = self._one_file(table, frame, output).observe(observed, F.count(F.lit(1)).alias("rows"))
        if "://" in dest:
            return self._write_object(counted, observed, dest, output)
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=Path(dest).parent) as tmp:
            target = str(Path(tmp) / "out")
            self._save(counted, output, target)
            rows = int(observed.get["rows"])
            parts = sorted(Path(target).glob("part-*"))
            if parts and (rows or output.format != "csv"):
                shutil.move(str(parts[0]), dest)
            else:
                Path(dest).write_text(",".join(frame.columns) + "\n")
        return rows

    def _one_file(self, table: str, frame: Any, output: Output) -> Any:
        """The table in one sorted partition: one shuffle into one task that sorts it (a global sort would
        first sample its input), kept so that the CSV and the Parquet of one output are one computation."""
        key = (table, tuple(output.order_by or ()))
        if key not in self.single:
            single = frame.repartition(1)
            if output.order_by:
                single = single.sortWithinPartitions(*output.order_by)
            self.single[key] = single.localCheckpoint(eager=False)
            self.kept.append(self.single[key])
        return self.single[key]

    @staticmethod
    def _save(frame: Any, output: Output, target: str) -> None:
        if output.format == "csv":
            frame.write.option("header", "true").option("dateFormat", "yyyy-MM-dd").option(
                "timestampFormat", "yyyy-MM-dd HH:mm:ss").option("emptyValue", "").csv(target)
        else:
            frame.write.parquet(target)

    def _write_object(self, counted: Any, observed: Any, dest: str, output: Output) -> int:
        """One file at an object URI: the executor writes it beside ``dest``, the driver renames it there
        through Hadoop's filesystem (S3A or EMRFS), so no byte passes through the driver."""
        jvm = self.spark._jvm
        target = jvm.org.apache.hadoop.fs.Path(dest)
        fs = target.getFileSystem(self.spark._jsc.hadoopConfiguration())
        scratch = dest.rsplit("/", 1)[0] + "/_writing"
        self._save(counted, output, scratch)
        rows = int(observed.get["rows"])
        parts = sorted(str(s.getPath().toString()) for s in fs.listStatus(jvm.org.apache.hadoop.fs.Path(scratch))
                       if s.getPath().getName().startswith("part-"))
        if parts and (rows or output.format != "csv"):
            if not fs.rename(jvm.org.apache.hadoop.fs.Path(parts[0]), target):
                raise EngineError(f"{output.table}: could not move the written file to {dest}")
        else:
            stream = fs.create(target, True)
            stream.write(bytearray((",".join(counted.columns) + "\n").encode()))
            stream.close()
        fs.delete(jvm.org.apache.hadoop.fs.Path(scratch), True)
        return rows

    def close(self) -> None:
        """Free the kept tables' blocks (the session may outlive the engine)."""
        for frame in self.kept:
            with contextlib.suppress(Exception):
                frame._jdf.queryExecution().logical().rdd().unpersist(False)
        self.kept.clear()
        self.single.clear()

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


def quiet(session: Any, logger: str) -> None:
    """Only errors from ``logger``: its warnings say nothing a user can act on."""
    levels = session._jvm.org.apache.logging.log4j
    levels.core.config.Configurator.setLevel(logger, levels.Level.ERROR)


def shuffle_partitions(input_bytes: int, cores: int) -> int:
    """One shuffle partition per core at least, one per BYTES_PER_PARTITION of input beyond that.

    >>> shuffle_partitions(10 * 2**20, 2), shuffle_partitions(500 * 2**20, 2), shuffle_partitions(2**62, 8)
    (2, 32, 2000)
    """
    return max(cores, min(MAX_PARTITIONS, math.ceil(input_bytes / BYTES_PER_PARTITION)))


def spark_type(duckdb_type: str) -> str:
    """A DuckDB column type in Spark's words; plain TIMESTAMP (in a UTC session) rather than TIMESTAMP_NTZ,
    which Spark 3.3 (Glue 4.0) lacks.

    >>> spark_type("BIGINT"), spark_type("VARCHAR"), spark_type("TIMESTAMP")
    ('BIGINT', 'STRING', 'TIMESTAMP')
    """
    return exp.DataType.build(duckdb_type, dialect="duckdb").sql("spark").replace("TIMESTAMP_NTZ", "TIMESTAMP")
