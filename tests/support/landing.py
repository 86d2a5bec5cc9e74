"""Landing and parsing one file with the real code, to see the canonical rows a run would go on with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from footfall.engines.duckdb import connect
from footfall.lake.local import LocalLake
from footfall.melbourne.landing import land_file, parse_file


@dataclass(frozen=True)
class Parsed:
    """What one file parsed into: its format, its container and its canonical rows (sorted)."""

    format: str
    container: str
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def parsed(tmp_path: Path, path: Path, kind: str = "counts", columns: Sequence[str] = ()) -> Parsed:
    """Land ``path`` in a lake under ``tmp_path`` and parse it, on a connection set up as a run's (its default
    memory limit included); the rows hold ``columns``, or every canonical column."""
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    landed, _ = land_file(lake, path, kind)
    with connect() as con:
        parse_file(con, lake, landed)
        rel = con.sql(f"select {', '.join(columns) or '*'} from read_parquet("
                      f"'{lake.root}/transformed/raw_{kind}/*.parquet', union_by_name = true) order by all")
        return Parsed(landed.format, landed.container, rel.columns, rel.fetchall())


def parsed_text(tmp_path: Path, name: str, content: str, kind: str = "counts") -> list[dict[str, Any]]:
    """The canonical rows of a file called ``name`` holding ``content``."""
    path = tmp_path / name
    path.write_text(content)
    return parsed(tmp_path, path, kind).records()
