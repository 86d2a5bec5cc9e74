"""What a run's answers were computed from, so that a run with nothing new can leave them as they are.

A run's fingerprint is a hash of the pipeline's own files (its YAML, SQL and seeds), footfall's version,
and the files every source matched, each by name and, on a local lake, size and modification time.
Sources that read the pipeline's own outputs back (``hourly_previous`` reading ``transformed/hourly_counts``)
are left out: they change with every publish, and they are what the last run wrote. The fingerprint is
published with the outputs, as one more output (:data:`RECORD`), so it always names the answers beside it;
a run that finds the published one equal to its own builds nothing.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from footfall import __version__
from footfall.spec import Output, PipelineSpec, Source

RECORD = Output(table="footfall_run", zone="transformed")  # transformed/footfall_run.parquet
RECORD_SOURCE = Source(path=f"{RECORD.zone}/{RECORD.relpath}", format="parquet", required=False,
                       columns={"fingerprint": "VARCHAR"},
                       description="The fingerprint of the inputs the published outputs were computed from.")
PREVIOUS = "footfall_run_previous"
RESERVED = frozenset({RECORD.table, PREVIOUS})  # no step, source or output of a pipeline may take these names


def published_outputs(spec: PipelineSpec) -> tuple[Output, ...]:
    """Every output a run publishes: the pipeline's, then the record of its inputs."""
    return (*spec.outputs, RECORD)


def fed_back(spec: PipelineSpec, source: Source) -> bool:
    """Whether a source reads what the pipeline itself publishes.

    >>> spec = PipelineSpec.model_validate({"name": "p", "outputs": [
    ...     {"table": "h", "zone": "transformed", "partition_by": ["y"]}]})
    >>> fed_back(spec, Source(path="transformed/h", format="parquet")), fed_back(spec, RECORD_SOURCE)
    (True, True)
    >>> fed_back(spec, Source(path="landing/counts/*.csv", format="csv"))
    False
    """
    if source.root != "lake":
        return False
    path = source.path.strip("/")
    return any(path == rel or path.startswith(rel + "/")
               for rel in (f"{o.zone}/{o.relpath}" for o in published_outputs(spec)))


def fingerprint(root: Path, spec: PipelineSpec, files: Mapping[str, Sequence[str]]) -> str:
    """The hash of what a run reads: ``root``'s files, footfall's version, and ``files`` (source name ->
    the files it matched) for every source that is not fed back."""
    digest = hashlib.sha256(f"footfall {__version__}\n".encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not _hidden(p.relative_to(root).parts)):
        digest.update(f"pipeline {path.relative_to(root).as_posix()} {path.stat().st_size}\n".encode())
        digest.update(path.read_bytes())
    for name in sorted(files):
        source = spec.sources.get(name)
        if source is None or fed_back(spec, source) or source.root == "pipeline":
            continue
        for file in sorted(files[name]):
            digest.update(f"source {name} {_identity(file)}\n".encode())
    return digest.hexdigest()


def _hidden(parts: Iterable[str]) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in parts)


def _identity(file: str) -> str:
    """A local file by path, size and modification time; an object URI by itself (object stores are read
    through names that change with the content: content-addressed landing, versioned outputs)."""
    if "://" in file:
        return file
    stat = os.stat(file)
    return f"{file} {stat.st_size} {stat.st_mtime_ns}"
