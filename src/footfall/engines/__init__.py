"""Engines run a pipeline's SQL. Each declares what it supports as class constants, so the
runner asks instead of guessing, and the SQL stays engine-neutral."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from footfall.errors import FootfallError
from footfall.extras import require
from footfall.spec import Materialize, Output, Source

if TYPE_CHECKING:
    from footfall.lake.store import ObjectStore
    from footfall.settings import Settings


class Engine(ABC):
    name: ClassVar[str]
    dialect: ClassVar[str]
    REACHES_OBJECT_STORES: ClassVar[bool] = False  # reads and writes object URIs itself (else: local lakes only)
    READS_LOCAL_COPIES: ClassVar[bool] = False  # reads an object lake's sources from a local cache, not the store
    WRITES_LOCAL_COPIES: ClassVar[bool] = False  # writes an object lake's outputs as local files the lake uploads
    SUPPORTS_VIEWS: ClassVar[bool] = True
    SUPPORTS_CSV_OUTPUT: ClassVar[bool] = True
    SUPPORTS_PARTITIONED_OUTPUT: ClassVar[bool] = True
    SUPPORTED_SOURCE_FORMATS: ClassVar[frozenset[str]] = frozenset({"csv", "json", "parquet"})
    # Run every table's checks as one query after the last step (an engine that pays per job), rather than
    # each table's as it is built (which stops a run at its first failing table).
    CHECKS_TOGETHER: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def open(cls, settings: Settings, *, store: ObjectStore | None = None, spill: Path | None = None) -> Engine:
        """The engine as ``settings`` configure it; ``store``: the object store whose URIs it will read and
        write (only for an engine that :attr:`REACHES_OBJECT_STORES`); ``spill``: a folder for temporary data."""

    @classmethod  # noqa: B027 - engines with nothing to check need no override
    def preflight(cls, settings: Settings, store: ObjectStore | None = None) -> None:
        """Refuse in one line, before any work, what :meth:`open` would refuse (a missing connector)."""

    @abstractmethod
    def confine(self, roots: Sequence[str | Path], files: Sequence[str] = (), spill: Path | None = None) -> None:
        """From now on touch no file outside ``roots`` (the pipeline, the lake) and ``files`` (sources given
        by path), whatever the SQL says; ``spill`` is where the engine may put temporary data."""

    @abstractmethod
    def register_source(self, name: str, files: Sequence[str], source: Source) -> None:
        """Expose files as table ``name``; with no files, an empty table of ``source.columns``."""

    @abstractmethod
    def create(self, name: str, sql: str, materialize: Materialize, readers: int | None = None) -> int | None:
        """Build a step; return its row count when it is cheap to know (tables), else None. ``readers`` is how
        many times the run will read it (None: not known), for an engine that keeps only what is reused."""

    @abstractmethod
    def query(self, sql: str, limit: int | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a read-only query (in the engine's dialect) and fetch its rows."""

    @abstractmethod
    def write(self, table: str, dest: str, output: Output) -> int:
        """Write a table to ``dest`` as ``output`` says; return the row count written."""

    def write_all(self, outputs: Sequence[tuple[str, str, Output]]) -> Iterator[int]:
        """Write each ``(table, dest, output)`` in turn, yielding its row count as it is written. An engine
        that pays per job may write several together; each file is still complete when its count is yielded."""
        for table, dest, output in outputs:
            yield self.write(table, dest, output)

    def count(self, table: str) -> int:
        from footfall.sql import quote

        return int(self.query(f"SELECT COUNT(*) FROM {quote(table, self.dialect)}")[1][0][0])

    def close(self) -> None:  # noqa: B027 - engines without resources need no cleanup
        """Release the engine's resources."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# name -> (module, class, (the extra it needs, a module of that extra) or None): an engine is one module and one
# entry here.
ENGINES: dict[str, tuple[str, str, tuple[str, str] | None]] = {
    "duckdb": ("footfall.engines.duckdb", "DuckDBEngine", None),
    "spark": ("footfall.engines.spark", "SparkEngine", ("spark", "pyspark.sql")),
}


def check_engine(name: str) -> None:
    """Refuse, in one line, an unknown engine or one whose extra is not installed: commands call this before
    fetching or opening anything, so a missing pyspark is said at once."""
    if name not in ENGINES:
        raise FootfallError(f"unknown engine {name!r} (engines: {', '.join(ENGINES)})")
    _, _, extra = ENGINES[name]
    if extra:
        require(extra[0], extra[1], f"the {name} engine")


def engine_class(name: str) -> type[Engine]:
    """An engine's class by name, importing optional ones only when asked for."""
    check_engine(name)
    module, cls, _ = ENGINES[name]
    found: type[Engine] = getattr(importlib.import_module(module), cls)
    return found
