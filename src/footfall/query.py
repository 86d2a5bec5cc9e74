"""Ad hoc, read-only DuckDB SQL over a lake's tables, by the names the pipeline gives them.

A table is a Parquet (or CSV) output of the pipeline, named after its file or folder
(``curated/top10_by_day.parquet`` is ``top10_by_day``, ``transformed/hourly_counts/`` is
``hourly_counts``), and the pipeline's ``views/*.sql`` are views over them. A directory output is read
from the version its symlink names when the query starts, so a publish during the query cannot mix
two versions.

Read-only twice over: the statement is checked before it runs (:mod:`footfall.readonly`: anything but a
query, a table name that is not a lake table, a table function other than a row generator and a function
off the allow list are refused); then it runs on a connection with external access off, only the tables'
files (a partitioned table's version folder) and a private spill folder allowed, and the configuration
locked.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import duckdb
from sqlglot import exp

from footfall.dag import Pipeline
from footfall.errors import FootfallError, LakeError, SqlError
from footfall.lake.layout import Table
from footfall.lake.local import LocalLake
from footfall.output import replacing
from footfall.readonly import lake_tables, needed, referenced, too_deep_expression
from footfall.sql import DIALECT, literal, quote

ANSWER_FORMATS = ("table", "csv", "json", "parquet")
T = TypeVar("T")


# -- the sandboxed connection ------------------------------------------------------------------------


def table_files(lake: LocalLake, table: Table) -> list[Path]:
    """The files of a table as published now (a directory output through the version its symlink names)."""
    path = lake.path(table.zone, table.relpath)
    if not table.directory:
        return [path.resolve()] if path.is_file() else []
    folder = path.resolve()
    return sorted(p for p in folder.rglob(f"*.{table.format}") if p.is_file()) if folder.is_dir() else []


@functools.cache
def _private() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="footfall-query-")  # mode 0700, removed when the process ends


def spill_folder() -> Path:
    """A folder that does not exist yet, in a private folder of this process, for one connection's spill files.

    DuckDB allows its temporary folder whatever ``allowed_directories`` says (its default is ``.tmp`` in the
    working folder, where anything may lie), so a query connection's is one that only DuckDB creates, fills
    and removes."""
    return Path(_private().name) / uuid.uuid4().hex


def open_tables(lake: LocalLake, pipeline: Pipeline, tables: Sequence[Table], views: Iterable[str] = ()
            ) -> duckdb.DuckDBPyConnection:
    """A connection with ``tables`` and the pipeline's ``views`` defined, then locked down: no file outside the
    tables' files (a partitioned table's: its version's folders) and its private spill folder, no Python object
    read as a table, no extension, no configuration change."""
    published = lake.read(lambda: {t.name: table_files(lake, t) for t in tables})  # one run's outputs, not two
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    folders: set[str] = set()
    paths: set[str] = set()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET python_enable_replacements = false")
        con.execute(f"SET temp_directory = {literal(str(spill_folder()))}")
        for table in tables:
            files = published[table.name]
            if not files:
                raise LakeError(f"no {table.name} in this lake yet ({table.rel}): run the pipeline first",
                                path=lake.root)
            if table.directory:
                folders.update(str(f.parent) + os.sep for f in files)
            else:
                paths.update(str(f) for f in files)
            reader = "read_parquet" if table.format == "parquet" else "read_csv"
            options = ", hive_partitioning = true, union_by_name = true" if table.directory else ""
            listed = ", ".join(literal(str(f)) for f in files)
            con.execute(f"CREATE VIEW {quote(table.name)} AS SELECT * FROM {reader}([{listed}]{options})")
        for name in views:
            con.execute(f"CREATE VIEW {quote(name)} AS {pipeline.views[name].sql(DIALECT)}")
        con.execute(f"SET allowed_directories = [{', '.join(literal(f) for f in sorted(folders))}]")
        con.execute(f"SET allowed_paths = [{', '.join(literal(p) for p in sorted(paths))}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except duckdb.Error as e:
        con.close()
        raise LakeError(f"cannot open the lake's tables: {first_line(e)}", path=lake.root) from None
    except BaseException:
        con.close()
        raise
    return con


def open_for(lake: LocalLake, pipeline: Pipeline, statement: exp.Expr) -> duckdb.DuckDBPyConnection:
    """The sandboxed connection for one checked statement: only the tables it names."""
    names = referenced(statement)
    return open_tables(lake, pipeline, needed(pipeline, names), [n for n in pipeline.views if n in names])


def first_line(error: Exception) -> str:
    """DuckDB's message without its context lines, with the position when it gives one."""
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    deep = too_deep_expression(lines[0])
    if deep:
        return deep
    where = next((line.split(":", 1)[0] for line in lines[1:] if line.startswith("LINE ")), "")
    return f"{lines[0]} ({where.lower()})" if where else lines[0]


# -- running, with a way to stop -------------------------------------------------------------------


def run_cancellable(con: duckdb.DuckDBPyConnection, work: Callable[[], T],
                    waiting: Callable[[float], None] | None = None) -> T:
    """Run ``work`` (which uses ``con``) in a thread, calling ``waiting(elapsed)`` while it runs; Ctrl-C interrupts
    the query (``con.interrupt()``), waits for it to stop, and re-raises the KeyboardInterrupt."""
    box: dict[str, Any] = {}
    done = threading.Event()  # not Thread.join: a join that Ctrl-C interrupts marks the thread as ended

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as e:  # carried to the caller's thread
            box["error"] = e
        finally:
            done.set()

    threading.Thread(target=target, name="footfall-query", daemon=True).start()
    started = time.monotonic()
    try:
        while not done.wait(0.1):
            if waiting:
                waiting(time.monotonic() - started)
    except KeyboardInterrupt:
        con.interrupt()
        done.wait()
        raise
    error = box.get("error")
    if isinstance(error, duckdb.InterruptException):
        raise KeyboardInterrupt
    if isinstance(error, duckdb.Error):
        raise SqlError(first_line(error)) from None
    if error is not None:
        raise error
    value: T = box["value"]
    return value


# -- answers ----------------------------------------------------------------------------------------


@dataclass
class Answer:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    more: bool = False  # rows were left out (table format shows at most ``limit``)


def fetch(con: duckdb.DuckDBPyConnection, sql: str, limit: int) -> Answer:
    cursor = con.execute(sql)
    rows = cursor.fetchmany(limit + 1)
    return Answer([d[0] for d in cursor.description or []], rows[:limit], len(rows) > limit)


def text(value: Any) -> str:
    return "" if value is None else str(value)


def write(con: duckdb.DuckDBPyConnection, sql: str, fmt: str, target: Path | None,
          stdout: IO[str] | None = None, lakes: Iterable[Path] = ()) -> int:
    """Stream the answer as CSV, JSON (an array of objects, one a line) or Parquet into ``target`` (a regular
    file outside ``lakes`` and any other lake, written next to it and moved into place when complete) or
    ``stdout``; return the rows written."""
    if fmt == "parquet" and target is None:
        raise FootfallError("--format parquet needs --out FILE")
    if target is None:
        return _write_text(con, sql, fmt, stdout)  # type: ignore[arg-type]
    with replacing(target, lakes) as tmp:
        if fmt == "parquet":
            return _write_parquet(con, sql, tmp)
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            rows = _write_text(con, sql, fmt, handle)
    return rows


def _write_parquet(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> int:
    import pyarrow.parquet as pq

    reader = con.sql(sql).to_arrow_reader(100_000)
    rows = 0
    with pq.ParquetWriter(str(path), reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def _write_text(con: duckdb.DuckDBPyConnection, sql: str, fmt: str, handle: IO[str]) -> int:
    cursor = con.execute(sql)
    columns = [d[0] for d in cursor.description or []]
    rows = 0
    writer = csv.writer(handle, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writerow(columns)
    else:
        handle.write("[")
    while batch := cursor.fetchmany(10_000):
        if writer:
            writer.writerows([text(v) for v in row] for row in batch)
        else:
            handle.write("".join(("\n" if rows + i == 0 else ",\n") + json.dumps(dict(zip(columns, row, strict=True)),
                                                                                default=str)
                                 for i, row in enumerate(batch)))
        rows += len(batch)
    if not writer:
        handle.write("\n]\n" if rows else "]\n")
    return rows


# -- the table list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableInfo:
    name: str
    kind: str  # table | view
    rows: int | None
    columns: tuple[tuple[str, str], ...]


def describe(lake: LocalLake, pipeline: Pipeline) -> list[TableInfo]:
    """Every table the lake holds with its columns and row count (from the Parquet footers), then the views
    whose tables are all present, with their columns."""
    present = [t for t in lake_tables(pipeline).values() if table_files(lake, t)]
    names = {t.name for t in present}
    views = [n for n, v in pipeline.views.items() if v.depends_on <= names]
    con = open_tables(lake, pipeline, present, views)
    try:
        found = []
        for name, kind in [*((t.name, "table") for t in present), *((v, "view") for v in views)]:
            columns = tuple((str(r[0]), str(r[1])) for r in con.execute(f"DESCRIBE {quote(name)}").fetchall())
            counted = con.execute(f"SELECT COUNT(*) FROM {quote(name)}").fetchone() if kind == "table" else None
            rows = int(counted[0]) if counted else None
            found.append(TableInfo(name, kind, rows, columns))
    finally:
        con.close()
    return sorted(found, key=lambda t: (t.kind, t.name))


def statements_of(stream: Iterable[str]) -> Iterator[str]:
    """SQL statements read from an interactive stream, each ended by ``;`` (or by the end of the input)."""
    buffer = io.StringIO()
    for line in stream:
        buffer.write(line)
        if line.rstrip().endswith(";"):
            yield buffer.getvalue().strip()
            buffer = io.StringIO()
    rest = buffer.getvalue().strip()
    if rest:
        yield rest
