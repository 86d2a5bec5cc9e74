"""Apache Spark as an engine: the same pipeline.yml and SQL, transpiled to Spark SQL by sqlglot.

Sources are Spark readers, steps are temporary views (a table read more than once is kept, as a local
checkpoint that cuts its lineage), every table's checks are one query after the last step, partitioned
outputs are Parquet with dynamic partition overwrite, and the one-file outputs (CSV or Parquet) are written
on the driver from one collected result (:mod:`footfall.engines.spark_collect`). Spark pays per job, so the
engine keeps their number small: about 50 for the Melbourne pipeline, whatever the rows. Timestamps are
handled in UTC so wall-clock values pass through unchanged.
"""

from __future__ import annotations

import contextlib
import math
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from footfall import sql as sqlmod
from footfall.engines import Engine
from footfall.engines.spark_collect import Collected, duckdb_columns, union_sql, write_file
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
# Input bytes (compressed, on storage) per shuffle partition: a few times that in memory. Every shuffle of the
# run has this many partitions (adaptive execution, which would coalesce small ones, is off), so it is sized
# for the biggest input.
BYTES_PER_PARTITION = 16 * 2**20
MAX_PARTITIONS = 2000
SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
# Adaptive execution runs every shuffle stage and broadcast as a job of its own, and a checkpoint's stages as
# soon as it is declared (a Melbourne run: 363 jobs on 1 M rows, 47 without it). Off, a query is one job
# plus its broadcasts and scalar subqueries (a `conf` entry turns it back on).
ADAPTIVE = "spark.sql.adaptive.enabled"


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
    CHECKS_TOGETHER: ClassVar[bool] = True

    def __init__(self, master: str = "local[*]", session: Any = None, app_name: str = "footfall",
                 conf: dict[str, str] | None = None, s3: S3Access | None = None) -> None:
        from pyspark.sql import SparkSession

        if session is None:
            builder = SparkSession.builder.master(master).appName(app_name)
            settings = {"spark.driver.memory": DRIVER_MEMORY, "spark.sql.session.timeZone": "UTC",
                        "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                        ADAPTIVE: "false",
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
        self.spark.conf.set(ADAPTIVE, (conf or {}).get(ADAPTIVE, "false"))
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
            kept = frame.localCheckpoint(eager=False)
        except Exception as e:  # the physical plan is made here, so a planning error surfaces here
            raise EngineError(f"{name}: {_first_line(e)}") from None
        self.kept.append(kept)
        self._fresh(kept).createOrReplaceTempView(name)
        return None

    def _fresh(self, kept: Any) -> Any:
        """A checkpoint as a relation of its own: new column identities, no claimed partitioning. A
        checkpoint made without adaptive execution keeps its plan's hash partitioning and the identities of
        the columns it passed through, and Spark then fails to tell apart two readings of one such table in
        one query (``w.location_id cannot be resolved`` when two CTEs group the same kept table)."""
        from pyspark.sql import DataFrame

        jdf = kept._jdf
        return DataFrame(self.spark._jsparkSession.internalCreateDataFrame(
            jdf.queryExecution().toRdd(), jdf.schema(), False), self.spark)

    def query(self, sql: str, limit: int | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        frame = self._sql(sql, "query")
        rows = frame.limit(limit).collect() if limit is not None else frame.collect()
        return list(frame.columns), [tuple(r) for r in rows]

    def write(self, table: str, dest: str, output: Output) -> int:
        """One output by Spark's writers, one job: the row count is observed during the write, not counted by a
        job of its own."""
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

    def write_all(self, outputs: Sequence[tuple[str, str, Output]]) -> Iterator[int]:
        """Partitioned outputs are written by the executors, one job each; every one-file output's table is
        brought to the driver by one collect (:mod:`footfall.engines.spark_collect`) when the first of them
        is due, and written there. A table too large for the driver's result limit, or of types JSON does not
        carry exactly, is written by Spark's writers as :meth:`write` does."""
        collected: dict[str, Collected] | None = None
        for table, dest, output in outputs:
            if output.partition_by:
                yield self.write(table, dest, output)
                continue
            if collected is None:
                collected = self._collect(sorted({t for t, _, o in outputs if not o.partition_by}))
            if table not in collected:
                yield self.write(table, dest, output)
                continue
            if "://" in dest:
                with tempfile.TemporaryDirectory(prefix="footfall-output-") as tmp:
                    local = str(Path(tmp) / Path(dest).name)
                    write_file(collected[table], local, output.format, output.order_by)
                    self._put(local, self.hadoop(dest))
            else:
                Path(dest).parent.mkdir(parents=True, exist_ok=True)
                write_file(collected[table], dest, output.format, output.order_by)
            yield len(collected[table].rows)

    def _collect(self, tables: Sequence[str]) -> dict[str, Collected]:
        """Every row of ``tables`` (those of types JSON carries exactly) from one collect; none when the result
        passes the driver's limit (``spark.driver.maxResultSize``), so Spark's writers take them all."""
        frames = {t: self.spark.table(quote(t, self.dialect)) for t in tables}
        types = {t: duckdb_columns(f.schema) for t, f in frames.items()}
        chosen = [t for t in tables if types[t] is not None]
        if not chosen:
            return {}
        union = self._sql(union_sql(chosen), "outputs")
        try:
            rows = union.collect()
        except Exception as e:  # pyspark raises Py4JJavaError, SparkException, ...
            if "maxResultSize" in str(e):
                return {}
            raise EngineError(f"outputs: {_first_line(e)}") from None
        found = {t: Collected(list(frames[t].columns), types[t] or {}, []) for t in chosen}
        for part, doc in rows:
            found[chosen[part]].rows.append(doc)
        return found

    def _put(self, local: str, dest: str) -> None:
        """A file written on the driver copied to an object URI through Hadoop's filesystem (S3A or EMRFS)."""
        jvm = self.spark._jvm
        target = jvm.org.apache.hadoop.fs.Path(dest)
        fs = target.getFileSystem(self.spark._jsc.hadoopConfiguration())
        fs.copyFromLocalFile(False, True, jvm.org.apache.hadoop.fs.Path(Path(local).resolve().as_uri()), target)

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
            raise EngineError(f"{subject}: {_first_line(e)}") from None


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


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
