"""Ad hoc, read-only DuckDB SQL over a lake's tables, by the names the pipeline gives them.

A table is a Parquet (or CSV) output of the pipeline, named after its file or folder
(``curated/top10_by_day.parquet`` is ``top10_by_day``, ``transformed/hourly_counts/`` is
``hourly_counts``), and the pipeline's ``views/*.sql`` are views over them. A directory output is read
from the version its symlink names when the query starts, so a publish during the query cannot mix
two versions.

Read-only twice over: the statement is parsed with sqlglot and anything but a query is refused before
it runs (so is every table name that is not a lake table, since DuckDB would read an unknown name that
looks like a file, and every file function on a path outside the lake); then it runs on a connection
with external access off, only the tables' folders allowed, and the configuration locked.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from footfall.dag import Pipeline
from footfall.errors import FootfallError, LakeError, SqlError
from footfall.lake import Lake
from footfall.output import replacing
from footfall.sql import DIALECT, FILE_READERS, literal, quote

FORMATS = ("table", "csv", "json", "parquet")
READ_ONLY = (exp.Query, exp.Describe, exp.Summarize)
REFUSED_FUNCTIONS = frozenset({"query", "query_table"})  # they run SQL given as a string, past the parser
FILE_FUNCTIONS = FILE_READERS | {"from_csv_auto", "st_read"}
WRITE_WORDS = frozenset({"COPY", "ATTACH", "DETACH", "INSTALL", "LOAD", "CREATE", "INSERT", "UPDATE", "DELETE",
                         "DROP", "ALTER", "SET", "RESET", "PRAGMA", "CALL", "EXPORT", "IMPORT", "USE", "CHECKPOINT",
                         "VACUUM", "TRUNCATE", "MERGE", "BEGIN", "COMMIT", "ROLLBACK", "PREPARE", "EXECUTE"})
T = TypeVar("T")


class QueryRefused(FootfallError):
    """The statement would write, leave the lake, or read what is not a lake table."""


@dataclass(frozen=True)
class LakeTable:
    """A pipeline output as a queryable table."""

    name: str
    zone: str
    relpath: str
    format: str
    directory: bool

    @property
    def rel(self) -> str:
        """The lake path a reader pulls: a file, or a folder prefix ending in ``/``."""
        return f"{self.zone}/{self.relpath}" + ("/" if self.directory else "")


def lake_tables(pipeline: Pipeline) -> dict[str, LakeTable]:
    """Every output by its table name; a table written as Parquet and CSV is read from the Parquet."""
    found: dict[str, LakeTable] = {}
    for out in sorted(pipeline.spec.outputs, key=lambda o: o.format != "parquet"):
        leaf = Path(out.relpath).name
        name = (leaf if out.partition_by else leaf.removesuffix(f".{out.format}")).lower()
        if name not in found:
            found[name] = LakeTable(name, out.zone, out.relpath, out.format, bool(out.partition_by))
    return found


def needed(pipeline: Pipeline, names: Iterable[str]) -> list[LakeTable]:
    """The lake tables behind ``names``, views expanded to the tables they read."""
    tables = lake_tables(pipeline)
    result: dict[str, LakeTable] = {}
    for name in names:
        if name in pipeline.views:
            result.update({d: tables[d] for d in pipeline.views[name].depends_on if d in tables})
        elif name in tables:
            result[name] = tables[name]
    return list(result.values())


def known_names(pipeline: Pipeline) -> list[str]:
    return sorted({*lake_tables(pipeline), *pipeline.views})


# -- the guard ---------------------------------------------------------------------------------------


def parse_read_only(sql: str, pipeline: Pipeline) -> exp.Expression:
    """The one statement of ``sql``, or a one-line refusal of what it would do, before anything runs."""
    quiet = logging.getLogger("sqlglot")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its "falling back to a Command" warning: the refusal says it in one line
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as e:
        _refuse_by_first_word(sql)
        first = e.errors[0] if e.errors else {}
        raise SqlError(f"SQL syntax error at line {first.get('line', '?')}, column {first.get('col', '?')}: "
                       f"{first.get('description', 'cannot parse')}") from None
    except TokenError as e:
        raise SqlError(f"SQL syntax error: {e}") from None
    finally:
        quiet.setLevel(level)
    if not statements:
        raise SqlError("no SQL statement given")
    for statement in statements:
        _refuse_writes(statement)
    if len(statements) > 1:
        raise QueryRefused(f"one statement at a time: found {len(statements)}")
    statement = statements[0]
    known = set(known_names(pipeline))
    for name in referenced(statement):
        if name not in known:
            raise QueryRefused(f"unknown table {name!r} (tables: {', '.join(sorted(known))})")
    return statement


def _refuse_by_first_word(sql: str) -> None:
    """A statement sqlglot cannot parse (EXPORT DATABASE, ...) is still refused by what it starts with."""
    try:
        tokens = sqlglot.tokenize(sql, read=DIALECT)
    except TokenError:
        return
    word = tokens[0].text.upper() if tokens else ""
    if word in WRITE_WORDS:
        raise QueryRefused(_refusal(word))


def _refusal(word: str) -> str:
    if word == "COPY":
        return "footfall query is read-only: COPY is refused (give --out FILE and footfall writes the answer)"
    return f"footfall query is read-only: {word} is refused (only SELECT, WITH, DESCRIBE, SUMMARIZE)"


def _refuse_writes(statement: exp.Expression) -> None:
    if not isinstance(statement, READ_ONLY):
        word = str(statement.this).upper() if isinstance(statement, exp.Command) else statement.key.upper()
        raise QueryRefused(_refusal(word.split()[0] if word.split() else "this statement"))
    for node in statement.walk():
        if isinstance(node, exp.Into) or (isinstance(node, exp.Select) and node.args.get("into")):
            raise QueryRefused(_refusal("SELECT INTO"))
        if isinstance(node, exp.Func) and function_name(node) in REFUSED_FUNCTIONS:
            raise QueryRefused(f"{function_name(node)}() is refused: it runs SQL from a string")


def function_name(node: exp.Func) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def referenced(statement: exp.Expression) -> set[str]:
    """Every table name the statement reads, without its own CTEs; qualified names are refused."""
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    names: set[str] = set()
    for table in statement.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue
        if table.args.get("db") or table.args.get("catalog"):
            raise QueryRefused(f"{table.sql(DIALECT)}: only the lake's tables can be read, by their plain names")
        if table.name.lower() not in ctes:
            names.add(table.name.lower())
    return names


def file_paths(statement: exp.Expression) -> Iterator[tuple[str, str]]:
    """(function, path) for every file a function of the statement would read; a path that is not a
    literal cannot be checked and is refused."""
    for node in statement.walk():
        if not isinstance(node, exp.Func):
            continue
        name = function_name(node)
        if not (name in FILE_FUNCTIONS or name.startswith("read_") or name.endswith("_scan")):
            continue
        first = node.this if isinstance(node.this, exp.Expression) else (node.expressions or [None])[0]
        values = first.expressions if isinstance(first, exp.Array) else [first]
        for value in values:
            if not (isinstance(value, exp.Literal) and value.is_string):
                raise QueryRefused(f"{name}(): give the file as a literal path inside the lake")
            yield name, value.this


def check_paths(statement: exp.Expression, root: Path) -> None:
    """Refuse file functions on paths outside the lake (relative paths are relative to the working directory,
    as DuckDB reads them)."""
    base = root.resolve()
    for name, text in file_paths(statement):
        inside = False
        if "://" not in text:
            fixed = text.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0]
            path = Path(os.path.normpath(Path.cwd() / fixed)).resolve()
            inside = path == base or base in path.parents
        if not inside:
            raise QueryRefused(f"{name}() reads {text!r}, outside the lake ({base})")


# -- the sandboxed connection ------------------------------------------------------------------------


def table_files(lake: Lake, table: LakeTable) -> list[Path]:
    """The files of a table as published now (a directory output through the version its symlink names)."""
    path = lake.path(table.zone, table.relpath)
    if not table.directory:
        return [path.resolve()] if path.is_file() else []
    folder = path.resolve()
    return sorted(p for p in folder.rglob(f"*.{table.format}") if p.is_file()) if folder.is_dir() else []


def connect(lake: Lake, pipeline: Pipeline, tables: Sequence[LakeTable], views: Iterable[str] = ()
            ) -> duckdb.DuckDBPyConnection:
    """A connection with ``tables`` and the pipeline's ``views`` defined, then locked down: no file outside the
    tables' folders, no extension, no configuration change."""
    published = lake.read(lambda: {t.name: table_files(lake, t) for t in tables})  # one run's outputs, not two
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    folders: set[str] = set()
    try:
        con.execute("SET enable_progress_bar = false")
        for table in tables:
            files = published[table.name]
            if not files:
                raise LakeError(f"no {table.name} in this lake yet ({table.rel}): run the pipeline first",
                                path=lake.root)
            folders.update(str(f.parent) + os.sep for f in files)
            reader = "read_parquet" if table.format == "parquet" else "read_csv"
            options = ", hive_partitioning = true, union_by_name = true" if table.directory else ""
            listed = ", ".join(literal(str(f)) for f in files)
            con.execute(f"CREATE VIEW {quote(table.name)} AS SELECT * FROM {reader}([{listed}]{options})")
        for name in views:
            con.execute(f"CREATE VIEW {quote(name)} AS {pipeline.views[name].sql(DIALECT)}")
        con.execute(f"SET allowed_directories = [{', '.join(literal(f) for f in sorted(folders))}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except duckdb.Error as e:
        con.close()
        raise LakeError(f"cannot open the lake's tables: {first_line(e)}", path=lake.root) from None
    except BaseException:
        con.close()
        raise
    return con


def open_for(lake: Lake, pipeline: Pipeline, statement: exp.Expression) -> duckdb.DuckDBPyConnection:
    """The sandboxed connection for one checked statement: only the tables it names."""
    check_paths(statement, lake.root)
    names = referenced(statement)
    return connect(lake, pipeline, needed(pipeline, names), [n for n in pipeline.views if n in names])


def first_line(error: Exception) -> str:
    """DuckDB's message without its context lines, with the position when it gives one."""
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
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
    return box["value"]


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
          stdout: IO[str] | None = None) -> int:
    """Stream the answer as CSV, JSON (an array of objects, one a line) or Parquet into ``target`` (a regular
    file, written next to it and moved into place when complete) or ``stdout``; return the rows written."""
    if fmt == "parquet" and target is None:
        raise FootfallError("--format parquet needs --out FILE")
    if target is None:
        return _write_text(con, sql, fmt, stdout)  # type: ignore[arg-type]
    with replacing(target) as tmp:
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


def describe(lake: Lake, pipeline: Pipeline) -> list[TableInfo]:
    """Every table the lake holds with its columns and row count (from the Parquet footers), then the views
    whose tables are all present, with their columns."""
    present = [t for t in lake_tables(pipeline).values() if table_files(lake, t)]
    names = {t.name for t in present}
    views = [n for n, v in pipeline.views.items() if v.depends_on <= names]
    con = connect(lake, pipeline, present, views)
    try:
        found = []
        for name, kind in [*((t.name, "table") for t in present), *((v, "view") for v in views)]:
            columns = tuple((str(r[0]), str(r[1])) for r in con.execute(f"DESCRIBE {quote(name)}").fetchall())
            rows = int(con.execute(f"SELECT COUNT(*) FROM {quote(name)}").fetchone()[0]) if kind == "table" else None
            found.append(TableInfo(name, kind, rows, columns))
    finally:
        con.close()
    return sorted(found, key=lambda t: (t.kind, t.name))


def statements_of(stream: IO[str]) -> Iterator[str]:
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
