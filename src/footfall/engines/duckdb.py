"""The embedded default engine: one in-process DuckDB connection per run."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import duckdb

from footfall.engines import Engine
from footfall.errors import EngineError, Interrupted, ResourceError, os_reason
from footfall.spec import Materialize, Output, Source
from footfall.sql import literal, quote

if TYPE_CHECKING:
    from footfall.lake.store import ObjectStore
    from footfall.settings import Settings

READERS = {"csv": "read_csv", "json": "read_json", "parquet": "read_parquet"}
MEMORY_CAP = 768 * 2**20
_OUT_OF_ROOM = {"no space left on device": errno.ENOSPC, "file too large": errno.EFBIG,
                "disk quota exceeded": errno.EDQUOT}
_WRITING = re.compile(r'Could not write file \\?"(.+?)\\?"')


def default_memory_limit() -> str:
    """Half the machine's memory, at most 768 MiB: past that DuckDB spills to the lake's ``_spill/`` instead of
    growing. More buys little: 100 M rows took 233 s with 768 MiB (peak 1.1 GB) and 226 s with 2.8 GiB (peak
    3.4 GB); 6 M rows about 5 % more time for a third less memory (BENCHMARKS.md). The settings'
    ``memory_limit`` (FOOTFALL_MEMORY_LIMIT) overrides."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{min(MEMORY_CAP, total // 2) // 2**20}MB"


def connect(threads: int | None = None, memory_limit: str | None = None,
            temp_dir: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """A connection set up for batch work: all cores, bounded memory, no progress bar, any row order."""
    con = duckdb.connect(config={"preserve_insertion_order": False})
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
    con.execute(f"SET memory_limit = {literal(memory_limit or default_memory_limit())}")
    if temp_dir:
        con.execute(f"SET temp_directory = {literal(str(temp_dir))}")
    return con


def sandbox(con: duckdb.DuckDBPyConnection, directories: Sequence[str | Path] = (),
            files: Sequence[str | Path] = ()) -> None:
    """Confine a connection to ``directories`` (and single ``files``) for good: no other file, no URL, no
    extension, no ATTACH, and no setting can change afterwards -- the configuration is locked. The spill
    folder (``temp_directory``) stays usable."""
    folders = [literal(os.path.join(p, "")) for p in _spellings(directories)]
    paths = [literal(p) for p in _spellings(files)]
    con.execute(f"SET allowed_directories = [{', '.join(folders)}]")
    con.execute(f"SET allowed_paths = [{', '.join(paths)}]")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _spellings(paths: Sequence[str | Path]) -> list[str]:
    """Each path as given (made absolute) and with symbolic links resolved: DuckDB compares the text. An
    object URI is taken as it is."""
    found: list[str] = []
    for path in paths:
        if "://" in str(path):
            found.append(str(path))
            continue
        for spelling in (os.path.abspath(path), os.path.realpath(path)):
            if spelling not in found:
                found.append(spelling)
    return found


def single_select(con: duckdb.DuckDBPyConnection, sql: str, subject: str) -> str:
    """The one SELECT statement in ``sql``, as DuckDB's own parser splits it: the text that runs is checked
    by the parser that runs it, whatever sqlglot made of it."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as e:
        raise EngineError(f"{subject}: {_first_line(e)}") from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        kinds = ", ".join(s.type.name for s in statements) or "nothing"
        raise EngineError(f"{subject}: expected exactly one SELECT statement, found {kinds}")
    return statements[0].query.strip().rstrip(";")


class DuckDBEngine(Engine):
    name: ClassVar[str] = "duckdb"
    dialect: ClassVar[str] = "duckdb"
    REACHES_OBJECT_STORES: ClassVar[bool] = True  # through the store's fsspec filesystem, registered on the connection
    # Each object read or written through a Python filesystem costs several requests, one object at a time: a
    # run reads its sources from the lake's read cache and writes its outputs into it, and the lake uploads them
    # a few at a time (BENCHMARKS.md, "S3 lake"); the next run finds them there.
    READS_LOCAL_COPIES: ClassVar[bool] = True
    WRITES_LOCAL_COPIES: ClassVar[bool] = True

    def __init__(self, threads: int | None = None, memory_limit: str | None = None,
                 temp_dir: str | Path | None = None, store: ObjectStore | None = None) -> None:
        self.con = connect(threads, memory_limit, temp_dir)
        self.temp_dir = temp_dir
        filesystem = store.filesystem() if store is not None else None
        if filesystem is not None:
            self.con.register_filesystem(filesystem)

    @classmethod
    def open(cls, settings: Settings, *, store: ObjectStore | None = None,
             spill: Path | None = None) -> DuckDBEngine:
        return cls(memory_limit=settings.memory_limit, temp_dir=spill, store=store)

    def confine(self, roots: Sequence[str | Path], files: Sequence[str] = (), spill: Path | None = None) -> None:
        if spill is not None and not self.temp_dir:
            self.con.execute(f"SET temp_directory = {literal(str(spill))}")
        sandbox(self.con, roots, files)

    def register_source(self, name: str, files: Sequence[str], source: Source) -> None:
        if files:
            args = ", ".join([f"[{', '.join(literal(f) for f in files)}]",
                              *(f"{quote(k)} = {literal(v)}" for k, v in source.options.items())])
            relation = f"{READERS[source.format]}({args})"
            if source.columns:
                select = ", ".join(f"CAST({quote(c)} AS {t}) AS {quote(c)}" for c, t in source.columns.items())
            else:
                select = "*"
            sql = f"SELECT {select} FROM {relation}"
        else:
            assert source.columns, "an empty source has a declared schema (validated in spec)"
            select = ", ".join(f"CAST(NULL AS {t}) AS {quote(c)}" for c, t in source.columns.items())
            sql = f"SELECT {select} WHERE FALSE"
        self._execute(f"CREATE OR REPLACE VIEW {quote(name)} AS {sql}", name)

    def create(self, name: str, sql: str, materialize: Materialize, readers: int | None = None) -> int | None:
        kind = "VIEW" if materialize == "view" else "TABLE"
        select = single_select(self.con, sql, name)
        self._execute(f"CREATE OR REPLACE {kind} {quote(name)} AS (\n{select}\n)", name)
        return None if kind == "VIEW" else self.count(name)

    def query(self, sql: str, limit: int | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        try:
            cursor = self.con.execute(single_select(self.con, sql, "query"))
            rows = cursor.fetchmany(limit) if limit is not None else cursor.fetchall()
        except duckdb.Error as e:
            raise EngineError(_first_line(e)) from None
        except RuntimeError as e:
            raise _interrupted(e) from None
        return [d[0] for d in cursor.description or []], rows

    def write(self, table: str, dest: str, output: Output) -> int:
        order = f" ORDER BY {', '.join(quote(c) for c in output.order_by)}" if output.order_by else ""
        select = f"SELECT * FROM {quote(table)}{order}"
        if output.format == "csv":
            options = "FORMAT csv, HEADER true"
        elif output.partition_by:
            if "://" not in dest:
                Path(dest).mkdir(parents=True, exist_ok=True)
            cols = ", ".join(quote(c) for c in output.partition_by)
            options = (f"FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({cols}), OVERWRITE_OR_IGNORE true, "
                       "FILENAME_PATTERN 'part-{i}'")
        else:
            options = "FORMAT parquet, COMPRESSION zstd"
        rows = self.count(table)
        if rows == 0 and output.overwrite == "partitions":
            return 0
        if "://" not in dest:
            Path(dest).parent.mkdir(parents=True, exist_ok=True)
        if rows == 0 and output.partition_by:
            dest = f"{dest.rstrip('/')}/part-empty.parquet"
            options = "FORMAT parquet, COMPRESSION zstd"
        self._execute(f"COPY ({select}) TO {literal(dest)} ({options})", table)
        return rows

    def close(self) -> None:
        self.con.close()

    def _execute(self, sql: str, subject: str) -> None:
        try:
            self.con.execute(sql)
        except duckdb.Error as e:
            raise (_out_of_room(e, subject) or EngineError(f"{subject}: {_first_line(e)}")) from None
        except RuntimeError as e:
            raise _interrupted(e) from None


def _interrupted(error: RuntimeError) -> BaseException:
    """DuckDB reports Ctrl-C as ``RuntimeError: Query interrupted``: one line and exit 130, as for any Ctrl-C."""
    return Interrupted("interrupted; nothing was published") if "interrupted" in str(error).lower() else error


def _out_of_room(error: duckdb.Error, subject: str) -> ResourceError | None:
    """A write the disk refused (full, over quota, past a file size limit): one line naming the step, the file
    and what to do, instead of DuckDB's JSON."""
    text = str(error)
    code = next((c for mark, c in _OUT_OF_ROOM.items() if mark in text.lower()), None)
    if code is None:
        return None
    file = _WRITING.search(text)
    where = f" cannot write {file.group(1)}:" if file else ""
    return ResourceError(f"{subject}:{where} {os_reason(OSError(code, os.strerror(code)))}; nothing was published")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
