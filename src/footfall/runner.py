"""Run a pipeline: sources, steps in DAG order, checks, then write-audit-publish.

The runner reports what it does through a callback, so a CLI can draw it and a test can
collect it; it never prints.
"""

from __future__ import annotations

import glob
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from footfall.checks import CheckResult, describe, run_all_checks, run_checks
from footfall.dag import Pipeline
from footfall.engines import Engine
from footfall.errors import CheckFailed, SpecError
from footfall.fingerprint import PREVIOUS, RECORD, RECORD_SOURCE, fingerprint
from footfall.lake.base import Lake
from footfall.spec import Check, Source
from footfall.sql import literal

# begin: work starts; unchanged: nothing new since the published run, so nothing is built
EventKind = Literal["begin", "recover", "parse", "source", "step", "check", "output", "publish", "unchanged"]


@dataclass(frozen=True)
class Event:
    """One line of progress: what happened to which table, how many rows, how long."""

    kind: EventKind
    name: str
    rows: int | None = None
    seconds: float = 0.0
    detail: str = ""


@dataclass
class RunResult:
    run_id: str = ""
    events: list[Event] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    outputs: dict[str, int] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    unchanged: bool = False  # nothing new since the published run: no step ran

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed and not c.blocking]


Listener = Callable[[Event], None]


def source_files(pipeline: Pipeline, lake: Lake, name: str, source: Source, local: bool = False) -> list[str]:
    """The files a source matches, sorted; a directory stands for every file below it. The lake answers for
    its own paths (a lake on an object store with the URIs its pointer names)."""
    if source.root == "lake":
        files, where = lake.sources(source.path, source.format, local), str(lake)
    else:
        where = str(pipeline.root)
        pattern = pipeline.root / source.path
        if pattern.is_dir():
            pattern = pattern / "**" / f"*.{source.format}"
        files = sorted(p for p in glob.glob(str(pattern), recursive=True) if Path(p).is_file())
    if not files and source.required:
        raise SpecError(f"source {name!r}: no files match {source.path} (under {where})",
                        path=pipeline.root / "pipeline.yml")
    return files


def published_fingerprint(pipeline: Pipeline, lake: Lake, engine: Engine) -> str | None:
    """The fingerprint the published outputs were computed from, when the lake has one."""
    files = source_files(pipeline, lake, PREVIOUS, RECORD_SOURCE, engine.READS_LOCAL_COPIES)
    if not files:
        return None
    engine.register_source(PREVIOUS, files, RECORD_SOURCE)
    rows = engine.query(f"SELECT fingerprint FROM {PREVIOUS}")[1]
    return str(rows[0][0]) if len(rows) == 1 else None


def check_support(pipeline: Pipeline, engine: Engine) -> None:
    """Refuse, before any work, what the engine says it cannot do."""
    for name, source in pipeline.spec.sources.items():
        if source.format not in engine.SUPPORTED_SOURCE_FORMATS:
            raise SpecError(f"sources.{name}: the {engine.name} engine cannot read {source.format}",
                            path=pipeline.root / "pipeline.yml")
    for out in pipeline.spec.outputs:
        if out.format == "csv" and not engine.SUPPORTS_CSV_OUTPUT:
            raise SpecError(f"outputs: the {engine.name} engine cannot write CSV ({out.table})",
                            path=pipeline.root / "pipeline.yml")
        if out.partition_by and not engine.SUPPORTS_PARTITIONED_OUTPUT:
            raise SpecError(f"outputs: the {engine.name} engine cannot write partitioned output ({out.table})",
                            path=pipeline.root / "pipeline.yml")


def run_pipeline(pipeline: Pipeline, lake: Lake, engine: Engine, *,
                 listener: Listener | None = None, rebuild: bool = False) -> RunResult:
    """Build every step, check, write outputs, publish; or, when the published outputs were computed from
    exactly this run's inputs (:mod:`footfall.fingerprint`) and ``rebuild`` is not set, nothing at all.

    The caller holds the lake for this run (:func:`footfall.lake.open.open_lake`): the runner never locks or
    recovers it. Nothing reaches the lake's zones unless every blocking check passed and every output was
    written in full. On an object lake the engine reads and writes object URIs itself.
    """
    check_support(pipeline, engine)
    result = RunResult()

    def emit(event: Event) -> None:
        result.events.append(event)
        if listener:
            listener(event)

    checks_by_table: dict[str, list[Check]] = {}
    for table, check in pipeline.checks():
        checks_by_table.setdefault(table, []).append(check)

    deferred: list[str] = []

    def check_table(table: str) -> None:
        checks = checks_by_table.get(table, [])
        if not checks:
            return
        if engine.CHECKS_TOGETHER:
            deferred.append(table)
            return
        started = time.perf_counter()
        report(table, run_checks(engine, table, checks), time.perf_counter() - started)

    def check_deferred() -> None:
        """The checks an engine runs together, after the last step, reported in the order they were due."""
        if not deferred:
            return
        started = time.perf_counter()
        found = run_all_checks(engine, [(table, checks_by_table[table]) for table in deferred])
        share = (time.perf_counter() - started) / len(deferred)
        for table, results in zip(deferred, found, strict=True):
            report(table, results, share)

    def report(table: str, found: list[CheckResult], seconds: float) -> None:
        share = seconds / len(found)
        for res in found:
            result.checks.append(res)
            emit(Event("check", describe(table, res.check), res.failures, share,
                       "passed" if res.passed else ("failed" if res.blocking else "warning")))
            if res.blocking:
                raise CheckFailed(res.summary() + "; nothing was published")

    def readers(table: str) -> int:
        """How many times the run reads a table: the steps built from it, its outputs and its checks."""
        steps = sum(1 for step in pipeline.steps.values() if table in step.depends_on)
        outputs = sum(1 for o in pipeline.spec.outputs if o.table == table)
        return steps + outputs + (1 if checks_by_table.get(table) else 0)

    engine.confine([pipeline.root.resolve(), *lake.roots()], spill=lake.spill)
    matched = {name: source_files(pipeline, lake, name, source) for name, source in pipeline.spec.sources.items()}
    inputs = fingerprint(pipeline.root, pipeline.spec, matched)
    if not rebuild and published_fingerprint(pipeline, lake, engine) == inputs:
        emit(Event("unchanged", str(lake), detail="nothing new since the last run: no step ran, the published "
                                                   "outputs stand"))
        result.unchanged = True
        return result
    for name, source in pipeline.spec.sources.items():
        started = time.perf_counter()
        files = source_files(pipeline, lake, name, source, local=True) if engine.READS_LOCAL_COPIES else matched[name]
        engine.register_source(name, files, source)
        emit(Event("source", name, None, time.perf_counter() - started, f"{len(files)} file(s)"))
    for name in pipeline.spec.sources:
        check_table(name)

    for name in pipeline.order:
        step = pipeline.steps[name]
        emit(Event("begin", name, detail="building"))
        started = time.perf_counter()
        materialize = step.settings.materialize if engine.SUPPORTS_VIEWS else "table"
        rows = engine.create(name, step.sql(engine.dialect), materialize, readers=readers(name))
        emit(Event("step", name, rows, time.perf_counter() - started, materialize))
        check_table(name)
    check_deferred()
    engine.create(RECORD.table, f"SELECT {literal(inputs)} AS fingerprint", "table", readers=1)

    staging = lake.stage(local=engine.WRITES_LOCAL_COPIES)
    result.run_id = staging.run_id
    try:
        writes = engine.write_all([(out.table, str(staging.path(out.zone, out.relpath)), out)
                                   for out in pipeline.spec.outputs])
        for out in pipeline.spec.outputs:
            emit(Event("begin", f"{out.zone}/{out.relpath}", detail="writing"))
            started = time.perf_counter()
            rows = next(writes)
            if out.partition_by:
                staging.mark_directory(out.zone, out.relpath, merge=out.overwrite == "partitions")
            result.outputs[f"{out.zone}/{out.relpath}"] = rows
            emit(Event("output", f"{out.zone}/{out.relpath}", rows, time.perf_counter() - started, out.format))
        started = time.perf_counter()
        engine.write(RECORD.table, str(staging.path(RECORD.zone, RECORD.relpath)), RECORD)
        record = f"{RECORD.zone}/{RECORD.relpath}"
        result.published = [rel for rel in staging.publish() if rel != record]
        emit(Event("publish", str(lake), None, time.perf_counter() - started,
                   f"{len(result.published)} output(s)"))
    except BaseException:
        staging.discard()
        raise
    return result
