"""The Melbourne job: land the given files, parse what is new, run the pipeline, publish.

Business rules live in ``pipeline/`` (YAML + SQL); this module only moves files and calls the
framework, so the same pipeline runs on any engine.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from footfall.dag import Pipeline, load_pipeline
from footfall.engines import get_engine
from footfall.engines.duckdb import connect, sandbox
from footfall.errors import InputError
from footfall.lake import SPILL, Lake
from footfall.melbourne.formats import FileKind
from footfall.melbourne.inputs import not_regular, refusal
from footfall.melbourne.landing import (
    Landed,
    land_file,
    landed_files,
    manifest_path,
    raw_path,
    read_manifest,
    redact_manifests,
    stage_file,
)
from footfall.melbourne.schema import PIPELINE_DIR
from footfall.redact import redact
from footfall.runner import Event, RunResult, run_pipeline
from footfall.s3direct import DirectLake, pattern_regex
from footfall.sql import literal
from footfall.versions import write_json

REJECTED = "_rejected"


def pipeline() -> Pipeline:
    return load_pipeline(PIPELINE_DIR)


@dataclass
class JobResult:
    landed: list[Landed] = field(default_factory=list)
    unchanged: list[Landed] = field(default_factory=list)
    staged: list[Landed] = field(default_factory=list)
    run: RunResult = field(default_factory=RunResult)
    quarantined: int = 0
    hours_folded: int = 0
    hours_summed: int = 0
    coordinates_set_aside: int = 0  # locations whose coordinates are not a usable position (locations.coordinates_note)
    unresolved: list[QuarantineLine] = field(default_factory=list)

    @property
    def missing_hours(self) -> int:
        """Values of the wide files parsed in this run that are missing hours (na, undefined, empty)."""
        return sum(f.missing or 0 for f in self.staged)


def expand(patterns: Iterable[str]) -> list[Path]:
    """Paths, globs and directories as the user gave them, each one required to match something. Anything
    that is not a regular file (a FIFO, socket or device) is refused here, before the lake is touched:
    reading one could block forever."""
    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern).expanduser()
        if path.is_dir():
            matches = _files(p for p in path.iterdir() if not p.name.startswith("."))
        elif glob.has_magic(pattern):
            matches = _files(Path(p) for p in glob.glob(str(path), recursive=True))
        else:
            if not path.exists():
                raise InputError("no such file", path=pattern)
            matches = _files([path])
        if not matches:
            raise InputError("no files match", path=pattern)
        found.extend(m for m in matches if m not in found)
    return found


def _files(paths: Iterable[Path]) -> list[Path]:
    """The regular files among ``paths``, sorted; folders and dangling links are passed over, anything
    else is an error."""
    files = []
    for path in paths:
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        what = not_regular(mode)
        if what == "a directory":
            continue
        if what:
            raise refusal(path, what)
        files.append(path)
    return sorted(files)


def land(lake: Lake, counts: Sequence[Path], sensors: Sequence[Path], result: JobResult) -> None:
    kinds: tuple[tuple[FileKind, Sequence[Path]], ...] = (("counts", counts), ("sensors", sensors))
    for kind, paths in kinds:
        for path in paths:
            landed, new = land_file(lake, path, kind)
            (result.landed if new else result.unchanged).append(landed)


def stage(lake: Lake, result: JobResult, listener: Callable[[Event], None] | None = None,
          parsed: Callable[[Landed], bool] | None = None) -> None:
    """Parse every landed file that has no raw table yet (``parsed`` says which have one, when the lake
    holds only their manifests). A file whose content the reader rejects as a whole is moved aside to
    ``landing/<kind>/_rejected/`` so it cannot block later runs; running out of memory or disk, or an
    interrupt, fails the run and leaves the file in place for the next one."""
    _retry_unexplained_rejections(lake)
    redact_manifests(lake)
    con = connect(temp_dir=lake.root / SPILL)
    con.execute("SET TimeZone = 'Australia/Melbourne'")
    sandbox(con, [lake.root])
    try:
        for kind in ("counts", "sensors"):
            for landed in landed_files(lake, kind):
                if parsed(landed) if parsed else raw_path(lake, landed).exists():
                    continue
                if listener:
                    listener(Event("begin", f"{kind}/{landed.name}", detail=f"parsing {landed.bytes / 1e6:,.0f} MB of"))
                started = time.perf_counter()
                try:
                    staged = stage_file(con, lake, landed)
                except InputError as e:
                    _reject(lake, landed, e.message)
                    raise
                result.staged.append(staged)
                if listener:
                    listener(Event("parse", f"{kind}/{landed.name}", staged.rows, time.perf_counter() - started,
                                   f"{staged.format}; {staged.rejected or 0} malformed line(s)"
                                   + (f"; {staged.missing:,} missing hour(s)" if staged.missing else "")))
    finally:
        con.close()


def _reject(lake: Lake, landed: Landed, reason: str) -> None:
    """Set a file whose content cannot be read aside, its manifest saying why."""
    folder = lake.path("landing", landed.kind, REJECTED)
    folder.mkdir(parents=True, exist_ok=True)
    source = lake.path("landing", landed.kind, landed.name)
    if source.exists():
        shutil.move(source, folder / landed.name)
    manifest = manifest_path(lake, landed.kind, landed.file_id)
    data = json.loads(manifest.read_text())
    write_json(folder / manifest.name, {**data, "rejection": redact(reason)})
    manifest.unlink()


def _retry_unexplained_rejections(lake: Lake) -> None:
    """Files set aside without a recorded reason (by versions that also set files aside for running out
    of memory or disk) go back to the landing zone to be parsed again; a content error sets them aside
    again, this time with the reason."""
    for kind in ("counts", "sensors"):
        folder = lake.path("landing", kind, REJECTED)
        if not folder.is_dir():
            continue
        for manifest in folder.glob("*.manifest.json"):
            if "rejection" in json.loads(manifest.read_text()):
                continue
            landed = read_manifest(manifest)
            if manifest_path(lake, kind, landed.file_id).exists():  # landed again since
                (folder / landed.name).unlink(missing_ok=True)
                manifest.unlink()
                continue
            if (folder / landed.name).exists():
                os.replace(folder / landed.name, lake.path("landing", kind, landed.name))
            os.replace(manifest, manifest_path(lake, kind, landed.file_id))


def run(lake: Lake, counts: Sequence[str] = (), sensors: Sequence[str] = (), *, engine: str = "duckdb",
        engine_options: dict[str, Any] | None = None, listener: Callable[[Event], None] | None = None,
        rebuild: bool = False) -> JobResult:
    """Land ``counts`` and ``sensors`` (paths, globs, directories), then rebuild the answers (nothing, when
    nothing is new and ``rebuild`` is not set: :mod:`footfall.fingerprint`), on a lake the caller holds
    (:meth:`Lake.session`, or :func:`footfall.melbourne.job.melbourne_lake`)."""
    counts_paths, sensor_paths = expand(counts), expand(sensors)
    the_pipeline = pipeline()
    result = JobResult()
    land(lake, counts_paths, sensor_paths, result)
    stage(lake, result, listener)
    if not landed_files(lake, "counts"):
        raise InputError("the lake holds no counts yet: give files with --counts", path=lake.root)
    options = dict(engine_options or {})
    if engine == "duckdb":
        options.setdefault("temp_dir", str(lake.root / SPILL))
    with get_engine(engine, **options) as eng:
        result.run = run_pipeline(the_pipeline, lake, eng, listener=listener, rebuild=rebuild)
    summary = quarantine_summary(lake)
    result.quarantined = sum(r.rows_quarantined for r in summary)
    result.unresolved = [r for r in summary if r.reason.startswith("wide column ")]
    result.hours_folded, result.hours_summed = repeated_hours(lake)
    result.coordinates_set_aside = coordinates_set_aside(lake)
    return result


def prepare_scratch(remote: DirectLake, scratch: Lake, portal: bool = False) -> None:
    """Bring the landed files' manifests into the scratch lake (so the same bytes never land twice), and for
    an incremental portal fetch the parsed live files it resumes from."""
    published = remote.files()
    manifests = [rel for kind in ("counts", "sensors") for rel in published
                 if pattern_regex(f"landing/{kind}/*.manifest.json").fullmatch(rel)]
    remote.fetch(scratch, manifests)
    if portal:
        live = [raw_path(scratch, f) for f in landed_files(scratch, "counts") if f.format.startswith("ods_")]
        remote.fetch(scratch, [rel for p in live if (rel := p.relative_to(scratch.root).as_posix()) in published])


def run_on_s3(remote: DirectLake, scratch: Lake, counts: Sequence[str] = (), sensors: Sequence[str] = (), *,
              engine_options: dict[str, Any] | None = None,
              listener: Callable[[Event], None] | None = None, rebuild: bool = False) -> JobResult:
    """The job on an S3 lake that Spark reads and writes itself. Landing and parsing new files stay single-node
    (DuckDB, once per file) in ``scratch``, a temporary lake holding only manifests (see
    :func:`prepare_scratch`) and the files to parse; their results are uploaded, then every step runs on the
    executors against S3."""
    counts_paths, sensor_paths = expand(counts), expand(sensors)
    the_pipeline = pipeline()
    result = JobResult()
    published = remote.files()
    land(scratch, counts_paths, sensor_paths, result)

    def parsed(landed: Landed) -> bool:
        return raw_path(scratch, landed).relative_to(scratch.root).as_posix() in published

    remote.fetch(scratch, [rel for kind in ("counts", "sensors") for landed in landed_files(scratch, kind)
                           if not parsed(landed) and (rel := f"landing/{kind}/{landed.name}") in published
                           and not (scratch.root / rel).exists()])
    stage(scratch, result, listener, parsed)
    if not landed_files(scratch, "counts"):
        raise InputError("the lake holds no counts yet: give files with --counts", path=str(remote))
    remote.upload_inputs(scratch)
    with get_engine("spark", **(engine_options or {})) as eng:
        result.run = run_pipeline(the_pipeline, remote, eng, listener=listener, rebuild=rebuild)
        total = eng.query("SELECT COALESCE(SUM(rows_quarantined), 0) FROM quarantine_summary")[1]
        result.quarantined = int(total[0][0])
        hours = eng.query("SELECT COALESCE(SUM(hours_folded), 0), COALESCE(SUM(hours_summed), 0) "
                          "FROM resolution_summary")[1]
        result.hours_folded, result.hours_summed = int(hours[0][0]), int(hours[0][1])
        notes = eng.query(f"SELECT {SET_ASIDE} FROM locations")[1]
        result.coordinates_set_aside = int(notes[0][0])
        wide = eng.query("SELECT source, reason, rows_quarantined, files FROM quarantine_summary "
                         "WHERE reason LIKE 'wide column %' ORDER BY source, reason")[1]
        result.unresolved = [QuarantineLine(str(s), str(r), int(n), int(f)) for s, r, n, f in wide]
    return result


@dataclass(frozen=True)
class QuarantineLine:
    source: str
    reason: str
    rows_quarantined: int
    files: int


def quarantine_summary(lake: Lake) -> list[QuarantineLine]:
    path = lake.path("curated", "quarantine_summary.parquet")
    if not path.exists():
        return []
    rows = duckdb.execute(f"SELECT source, reason, rows_quarantined, files FROM read_parquet({literal(str(path))}) "
                          "ORDER BY source, reason").fetchall()
    return [QuarantineLine(str(s), str(r), int(n), int(f)) for s, r, n, f in rows]


def repeated_hours(lake: Lake) -> tuple[int, int]:
    """Hours given more than once across the lake's publications: folded (identical rows), summed (partial
    records)."""
    path = lake.path("curated", "resolution_summary.parquet")
    if not path.exists():
        return 0, 0
    found = duckdb.execute(f"SELECT COALESCE(SUM(hours_folded), 0), COALESCE(SUM(hours_summed), 0) "
                           f"FROM read_parquet({literal(str(path))})").fetchall()
    return int(found[0][0]), int(found[0][1])


SET_ASIDE = "COUNT(coordinates_note)"


def coordinates_set_aside(lake: Lake) -> int:
    """Locations kept without a position because the coordinates published for them are not one."""
    path = lake.path("transformed", "locations.parquet")
    if not path.exists():
        return 0
    return int(duckdb.execute(f"SELECT {SET_ASIDE} FROM read_parquet({literal(str(path))})").fetchall()[0][0])
