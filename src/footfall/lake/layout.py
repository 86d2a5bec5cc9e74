"""What every lake speaks of, whatever holds it: its zones and own folders, run ids, atomic JSON, and the
published-table model (one :class:`Table` per output, derived from the pipeline's spec)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from footfall.errors import LakeError
from footfall.fingerprint import published_outputs
from footfall.spec import ZONES, Output, PipelineSpec, relative_path

STAGING = "_staging"  # a run's private outputs, before they are published
SPILL = "_spill"  # where an engine may put temporary data
RUN_ID = re.compile(r"\d{8}T\d{12}Z-\d+")


def new_run_id() -> str:
    """Sortable, unique enough for one lake: UTC time plus the process id.

    >>> bool(RUN_ID.fullmatch(new_run_id()))
    True
    """
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + f"-{os.getpid()}"


def write_json(path: Path, data: Any, **options: Any) -> None:
    """One line of JSON, replacing ``path`` whole (a reader never sees half of it); one line so that any
    JSON-lines reader, DuckDB's or Spark's, reads manifests as a table."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True, **options) + "\n")
    os.replace(tmp, path)


def lake_path(root: Path, zone: str, *parts: str) -> Path:
    """A path inside a zone of the lake at ``root``; config-given parts can never leave the lake.

    >>> lake_path(Path("/l"), "curated", "a.csv")
    PosixPath('/l/curated/a.csv')
    >>> lake_path(Path("/l"), "curated", "../x")
    Traceback (most recent call last):
    ...
    footfall.errors.LakeError: path '../x' must stay inside its root (relative, no '..')
    """
    if zone not in (*ZONES, STAGING):
        raise LakeError(f"unknown zone {zone!r} (zones: {', '.join(ZONES)})")
    for part in parts:
        try:
            relative_path(part)
        except ValueError as e:
            raise LakeError(str(e)) from None
    return root.joinpath(zone, *parts)


def inside(rel: str) -> bool:
    """Whether a lake path read from storage stays in a zone: a tampered pointer cannot name anything else.

    >>> inside("curated/top10_by_day.csv"), inside("curated/../../etc/passwd"), inside("/etc/passwd")
    (True, False, False)
    """
    try:
        relative_path(rel)
    except ValueError:
        return False
    return rel.split("/", 1)[0] in ZONES


@dataclass(frozen=True)
class Table:
    """A published output as a table: its name for readers (``query``, the catalog), where it lives in the
    lake, and how it is stored (one file, or a folder of partitioned files published as one unit)."""

    name: str
    step: str  # the pipeline step it is written from
    zone: str
    relpath: str
    format: str
    directory: bool

    @property
    def rel(self) -> str:
        return f"{self.zone}/{self.relpath}"

    @property
    def prefix(self) -> str:
        """The lake path a reader needs: the file, or the folder with a trailing ``/``."""
        return self.rel + ("/" if self.directory else "")

    def owns(self, rel: str) -> bool:
        return rel == self.rel if not self.directory else rel.startswith(self.rel + "/")

    def unit(self, rel: str) -> str:
        """The group of files that is replaced together: the file itself, or its partition folder."""
        return rel if not self.directory else str(PurePosixPath(rel).parent)

    def versioned_key(self, rel: str, run_id: str) -> str:
        """Where one run's copy of a file of this table is stored in an object store:
        ``curated/top10_by_day.csv`` -> ``curated/top10_by_day.csv/<run_id>/top10_by_day.csv``;
        ``transformed/hourly_counts/year=2024/x.parquet`` -> ``transformed/hourly_counts/<run_id>/year=2024/x.parquet``.

        >>> table(Output(table="a", zone="curated", format="csv")).versioned_key("curated/a.csv", "r1")
        'curated/a.csv/r1/a.csv'
        """
        inner = PurePosixPath(rel).name if not self.directory else rel[len(self.rel) + 1:]
        return f"{self.rel}/{run_id}/{inner}"


def table(output: Output) -> Table:
    """An output as a table; its name is the file's stem, or the folder's name for a partitioned one.

    >>> table(Output(table="hourly", zone="transformed", partition_by=["year"])).prefix
    'transformed/hourly/'
    """
    leaf = PurePosixPath(output.relpath).name
    name = (leaf if output.partition_by else leaf.removesuffix(f".{output.format}")).lower()
    return Table(name, output.table, output.zone, output.relpath, output.format, bool(output.partition_by))


def outputs(spec: PipelineSpec) -> tuple[Table, ...]:
    """The pipeline's own outputs as tables (what readers and the catalog are shown)."""
    return tuple(table(o) for o in spec.outputs)


def published(spec: PipelineSpec) -> tuple[Table, ...]:
    """Every table a run publishes: the pipeline's outputs and the record of its inputs."""
    return tuple(table(o) for o in published_outputs(spec))


def table_of(tables: Sequence[Table], rel: str) -> Table | None:
    """The table a lake path belongs to, if any (anything else is an input)."""
    return next((t for t in tables if t.owns(rel)), None)


def by_name(tables: Iterable[Table]) -> dict[str, Table]:
    """Tables by name; a table written as Parquet and CSV is read from the Parquet."""
    found: dict[str, Table] = {}
    for t in sorted(tables, key=lambda t: t.format != "parquet"):
        found.setdefault(t.name, t)
    return found


def answer(spec: PipelineSpec, name: str, zone: str = "curated") -> Table:
    """The Parquet table a pipeline publishes under ``name``: how a reader finds an answer without writing its
    path by hand."""
    for t in published(spec):
        if t.name == name and t.zone == zone and t.format == "parquet":
            return t
    raise LakeError(f"the pipeline publishes no {zone} table {name!r}")
