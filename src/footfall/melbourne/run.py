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

from footfall.context import Context
from footfall.dag import Pipeline, load_pipeline
from footfall.engines import Engine
from footfall.engines.duckdb import connect, sandbox
from footfall.errors import InputError
from footfall.lake.layout import Table, answer, write_json
from footfall.lake.local import LocalLake
from footfall.lake.open import Held
from footfall.melbourne.formats import FileKind
from footfall.melbourne.inputs import not_regular, refusal
from footfall.melbourne.landing import (
    Landed,
    land_file,
    landed_files,
    manifest_path,
    parse_file,
    raw_path,
    read_manifest,
    redact_manifests,
)
from footfall.melbourne.schema import PIPELINE_DIR
from footfall.redact import redact
from footfall.runner import Event, Listener, RunResult
from footfall.settings import Settings
from footfall.sql import literal

REJECTED = "_rejected"
KINDS: tuple[FileKind, ...] = ("counts", "sensors")


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


def land(lake: LocalLake, counts: Sequence[Path], sensors: Sequence[Path], result: JobResult) -> None:
    kinds: tuple[tuple[FileKind, Sequence[Path]], ...] = (("counts", counts), ("sensors", sensors))
    for kind, paths in kinds:
        for path in paths:
            landed, new = land_file(lake, path, kind)
            (result.landed if new else result.unchanged).append(landed)


def parse_new(lake: LocalLake, result: JobResult, listener: Listener | None = None,
              parsed: Callable[[Landed], bool] | None = None, memory_limit: str | None = None) -> None:
    """Parse every landed file that has no raw table yet (``parsed`` says which have one, when the lake
    holds only their manifests). A file whose content the reader rejects as a whole is moved aside to
    ``landing/<kind>/_rejected/`` so it cannot block later runs; running out of memory or disk, or an
    interrupt, fails the run and leaves the file in place for the next one."""
    _retry_unexplained_rejections(lake)
    redact_manifests(lake)
    con = connect(memory_limit=memory_limit, temp_dir=lake.spill)
    con.execute("SET TimeZone = 'Australia/Melbourne'")
    sandbox(con, [lake.root])
    try:
        for kind in KINDS:
            for landed in landed_files(lake, kind):
                if parsed(landed) if parsed else raw_path(lake, landed).exists():
                    continue
                if listener:
                    listener(Event("begin", f"{kind}/{landed.name}", detail=f"parsing {landed.bytes / 1e6:,.0f} MB of"))
                started = time.perf_counter()
                try:
                    staged = parse_file(con, lake, landed)
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


def _reject(lake: LocalLake, landed: Landed, reason: str) -> None:
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


def _retry_unexplained_rejections(lake: LocalLake) -> None:
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


def run_job(context: Context, held: Held, counts: Sequence[str] = (), sensors: Sequence[str] = (), *,
            engine: Engine | None = None, listener: Listener | None = None, rebuild: bool = False) -> JobResult:
    """Land ``counts`` and ``sensors`` (paths, globs, directories) in the held lake's work folder, parse what
    is new, let the lake take the new inputs, then rebuild the answers (nothing, when nothing is new and
    ``rebuild`` is not set: :mod:`footfall.fingerprint`) and summarise them from what was published. The one
    path for every lake and engine: on a local lake the work folder is the lake; on an object lake it is a
    temporary one that :func:`footfall.melbourne.job.melbourne_lake` starts with the landed files'
    manifests."""
    if engine is None:
        context.preflight(held)
    counts_paths, sensor_paths = expand(counts), expand(sensors)
    work, lake = held.work, held.lake
    result = JobResult()
    land(work, counts_paths, sensor_paths, result)

    def parsed(landed: Landed) -> bool:
        rel = raw_path(work, landed).relative_to(work.root).as_posix()
        return (work.root / rel).exists() or lake.has(rel)

    lake.lend(work, [rel for kind in KINDS for landed in landed_files(work, kind)
                     if not parsed(landed) and lake.has(rel := f"landing/{kind}/{landed.name}")
                     and not (work.root / rel).exists()])
    parse_new(work, result, listener, parsed, memory_limit=context.settings.memory_limit)
    if not landed_files(work, "counts"):
        raise InputError("the lake holds no counts yet: give files with --counts", path=str(lake))
    lake.take(work)
    result.run = context.run(held, engine=engine, listener=listener, rebuild=rebuild)
    spec = context.pipeline.spec
    summaries = {name: answer(spec, name, zone) for name, zone in SUMMARIES}
    with lake.snapshot([t.rel for t in summaries.values()]) as published:
        lines = quarantine_summary(published, summaries["quarantine_summary"])
        result.hours_folded, result.hours_summed = repeated_hours(published, summaries["resolution_summary"])
        result.coordinates_set_aside = coordinates_set_aside(published, summaries["locations"])
    result.quarantined = sum(r.rows_quarantined for r in lines)
    result.unresolved = [r for r in lines if r.reason.startswith("wide column ")]
    return result


def run(lake: LocalLake, counts: Sequence[str] = (), sensors: Sequence[str] = (), *, engine: str | Engine = "duckdb",
        settings: Settings | None = None, listener: Listener | None = None, rebuild: bool = False) -> JobResult:
    """:func:`run_job` on a local lake the caller holds, with the settings the environment gives (or
    ``settings``) and ``engine`` by name or as one already open (a notebook's, a test's Spark session)."""
    settings = settings or Settings.resolve()
    if isinstance(engine, str):
        settings = settings.but(engine=engine)
    context = Context(pipeline(), settings)
    return run_job(context, Held(lake, lake), counts, sensors, engine=None if isinstance(engine, str) else engine,
                   listener=listener, rebuild=rebuild)


def prepare(held: Held, portal: bool = False) -> None:
    """Bring the landed files' manifests into the held lake's work folder (so the same bytes never land twice),
    and for an incremental portal fetch the parsed live files it resumes from. Nothing to do on a local lake,
    which is its own work folder."""
    lake, work = held.lake, held.work
    lake.lend(work, [rel for kind in KINDS for rel in lake.paths(f"landing/{kind}/*.manifest.json")])
    if portal:
        live = [raw_path(work, f) for f in landed_files(work, "counts") if f.format.startswith("ods_")]
        lake.lend(work, [rel for p in live if lake.has(rel := p.relative_to(work.root).as_posix())])


@dataclass(frozen=True)
class QuarantineLine:
    source: str
    reason: str
    rows_quarantined: int
    files: int


SUMMARIES = (("quarantine_summary", "curated"), ("resolution_summary", "curated"), ("locations", "transformed"))


def _rows(lake: LocalLake, table: Table, sql: str) -> list[tuple[Any, ...]] | None:
    path = lake.path(table.zone, table.relpath)
    if not path.exists():
        return None
    return duckdb.execute(sql.replace("{table}", f"read_parquet({literal(str(path))})")).fetchall()


def quarantine_summary(lake: LocalLake, table: Table) -> list[QuarantineLine]:
    rows = _rows(lake, table, "SELECT source, reason, rows_quarantined, files FROM {table} ORDER BY source, reason")
    return [QuarantineLine(str(s), str(r), int(n), int(f)) for s, r, n, f in rows or []]


def repeated_hours(lake: LocalLake, table: Table) -> tuple[int, int]:
    """Hours given more than once across the lake's publications: folded (identical rows), summed (partial
    records)."""
    rows = _rows(lake, table, "SELECT COALESCE(SUM(hours_folded), 0), COALESCE(SUM(hours_summed), 0) FROM {table}")
    return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)


def coordinates_set_aside(lake: LocalLake, table: Table) -> int:
    """Locations kept without a position because the coordinates published for them are not one."""
    rows = _rows(lake, table, "SELECT COUNT(coordinates_note) FROM {table}")
    return int(rows[0][0]) if rows else 0
