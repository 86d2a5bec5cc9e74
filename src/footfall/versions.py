"""What a local and an S3 lake both speak of: run ids, outputs and their versions, atomic JSON files."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from footfall.fingerprint import published_outputs
from footfall.spec import Output, PipelineSpec

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


@dataclass(frozen=True)
class OutputPath:
    """Where a pipeline publishes inside the lake: one file, or a directory of (partitioned) files."""

    zone: str
    relpath: str
    directory: bool

    @property
    def rel(self) -> str:
        return f"{self.zone}/{self.relpath}"

    def owns(self, rel: str) -> bool:
        return rel == self.rel if not self.directory else rel.startswith(self.rel + "/")

    def unit(self, rel: str) -> str:
        """The group of files that is versioned together: the file itself, or its partition folder."""
        return rel if not self.directory else str(PurePosixPath(rel).parent)

    def versioned_key(self, rel: str, run_id: str) -> str:
        """``curated/top10_by_day.csv`` -> ``curated/top10_by_day.csv/<run_id>/top10_by_day.csv``;
        ``transformed/hourly_counts/year=2024/x.parquet`` -> ``transformed/hourly_counts/<run_id>/year=2024/x.parquet``.
        """
        inner = PurePosixPath(rel).name if not self.directory else rel[len(self.rel) + 1:]
        return f"{self.rel}/{run_id}/{inner}"


def output_path(output: Output) -> OutputPath:
    return OutputPath(output.zone, output.relpath, bool(output.partition_by))


def output_paths(spec: PipelineSpec) -> tuple[OutputPath, ...]:
    """Every path a run publishes: the pipeline's outputs and the record of its inputs."""
    return tuple(output_path(o) for o in published_outputs(spec))


def output_of(outputs: tuple[OutputPath, ...], rel: str) -> OutputPath | None:
    """The output a lake path belongs to, if any (anything else is an input)."""
    return next((o for o in outputs if o.owns(rel)), None)
