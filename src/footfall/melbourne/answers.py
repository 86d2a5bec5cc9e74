"""Reading answers back from the curated zone, for the CLI and the report."""

from __future__ import annotations

import re
from typing import Any

import duckdb

from footfall.errors import FootfallError, InputError, LakeError
from footfall.lake.layout import answer
from footfall.lake.local import LocalLake
from footfall.spec import PipelineSpec
from footfall.sql import literal

PERIOD = {"day": ("date", re.compile(r"^\d{4}-\d{2}-\d{2}$"), "YYYY-MM-DD"),
          "month": ("month", re.compile(r"^\d{4}-\d{2}$"), "YYYY-MM")}


def reads(spec: PipelineSpec, by: str) -> list[str]:
    """The lake paths ``top`` reads: the ranked table and its health flags, nothing else."""
    return [answer(spec, name).rel for name in (f"top10_by_{by}", f"top10_by_{by}_flags") if by in PERIOD]


def curated(lake: LocalLake, spec: PipelineSpec, table: str) -> str:
    """The Parquet file of a curated answer, or a clear error when the lake has none yet."""
    found = answer(spec, table)
    path = lake.path(found.zone, found.relpath)
    if not path.exists():
        raise FootfallError(f"no {table} in this lake yet: run `footfall run` first", path=lake.root)
    return literal(str(path))


def unreadable(lake: LocalLake, error: duckdb.Error) -> LakeError:
    """A curated file DuckDB cannot read (truncated, overwritten, not Parquet), said in one line."""
    first = next((t.strip() for t in str(error).splitlines() if t.strip()), type(error).__name__)
    return LakeError(f"the answers cannot be read ({first}): `footfall run` rebuilds them", path=lake.root)


def top10(lake: LocalLake, spec: PipelineSpec, by: str,
          period: str | None) -> tuple[list[str], list[tuple[Any, ...]], str]:
    """The top-10 rows of one date or month (the latest when none is given), from one published run."""
    try:
        return lake.read(lambda: _top10(lake, spec, by, period))
    except duckdb.Error as e:
        raise unreadable(lake, e) from None


def _top10(lake: LocalLake, spec: PipelineSpec, by: str,
           period: str | None) -> tuple[list[str], list[tuple[Any, ...]], str]:
    if by not in PERIOD:
        raise InputError(f"--by must be day or month, not {by!r}")
    column, pattern, shape = PERIOD[by]
    source = curated(lake, spec, f"top10_by_{by}")
    con = duckdb.connect()
    if period is None:
        latest = con.execute(f"SELECT CAST(MAX({column}) AS VARCHAR) FROM {source}").fetchone()
        if not latest or latest[0] is None:
            raise FootfallError(f"top10_by_{by} is empty", path=lake.root)
        period = str(latest[0])
    elif not pattern.match(period):
        raise InputError(f"--{column} must look like {shape}, not {period!r}")
    cursor = con.execute(f"SELECT {column}, rank, location_id, location, pedestrians FROM {source} "
                         f"WHERE CAST({column} AS VARCHAR) = ? ORDER BY rank, location_id", [period])
    rows = cursor.fetchall()
    if not rows:
        span = con.execute(f"SELECT CAST(MIN({column}) AS VARCHAR), CAST(MAX({column}) AS VARCHAR) "
                           f"FROM {source}").fetchone()
        raise FootfallError(f"no data for {period}; the lake covers {span[0]} .. {span[1]}" if span else
                            f"no data for {period}")
    columns = [d[0] for d in cursor.description]
    flags = health_flags(con, lake, spec, by, column, period)
    return ([*columns, "flags"],
            [(*row, flags.get(row[2], "")) for row in rows], period)


def health_flags(con: duckdb.DuckDBPyConnection, lake: LocalLake, spec: PipelineSpec, by: str, column: str,
                 period: str) -> dict[int, str]:
    """location_id -> the health findings its ranked row sits on (the top-10 companion table), for one period;
    empty for a lake published before the companion existed."""
    flags = answer(spec, f"top10_by_{by}_flags")
    path = lake.path(flags.zone, flags.relpath)
    if not path.exists():
        return {}
    rows = con.execute(f"SELECT location_id, flags FROM read_parquet({literal(str(path))}) "
                       f"WHERE CAST({column} AS VARCHAR) = ?", [period]).fetchall()
    return {int(location_id): str(flags) for location_id, flags in rows}
