"""A pipeline directory loaded into a validated DAG of SQL steps.

``pipeline.yml`` says how; ``sql/<table>.sql`` says what. The edges come from the SQL alone,
and ``graphlib`` orders them, so a cycle or a reference to nothing is caught before any engine
starts.
"""

from __future__ import annotations

import functools
import graphlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from sqlglot import exp

from footfall import sql as sqlmod
from footfall.errors import SpecError, SqlError
from footfall.fingerprint import RECORD, RESERVED
from footfall.spec import IDENTIFIER, Check, PipelineSpec, Step, load_spec


@dataclass(frozen=True)
class SqlStep:
    """One ``sql/<name>.sql`` file, parsed, with the tables it reads."""

    name: str
    path: Path
    query: exp.Query
    depends_on: frozenset[str]
    settings: Step = field(default_factory=Step)
    overrides: Mapping[str, Path] = field(default_factory=dict)

    def sql(self, dialect: str) -> str:
        """The step's SQL for an engine: its override file if it has one, else transpiled."""
        if dialect in self.overrides:
            return self.overrides[dialect].read_text(encoding="utf-8")
        return sqlmod.transpile(self.query, dialect)


@dataclass(frozen=True)
class Pipeline:
    root: Path
    spec: PipelineSpec
    steps: Mapping[str, SqlStep]
    order: tuple[str, ...]
    views: Mapping[str, SqlStep] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    def checks(self) -> list[tuple[str, Check]]:
        """Every check with the table it applies to, in run order of the tables."""
        position = {name: i for i, name in enumerate([*self.spec.sources, *self.order])}
        found = [(name, c) for name, step in self.steps.items() for c in step.settings.checks]
        found += [(table, c) for table, checks in self.spec.checks.items() for c in checks]
        return sorted(found, key=lambda tc: position[tc[0]])


def load_pipeline(root: Path) -> Pipeline:
    """Load ``root/pipeline.yml`` and ``root/sql/*.sql`` and check they agree.

    Every SQL file -- steps, engine overrides, views and custom checks -- must be one SELECT that reads
    only tables, files inside the pipeline, or generated rows; what ``run`` would refuse, this refuses."""
    if not root.is_dir():
        raise SpecError("no such pipeline directory", path=root)
    spec_path = root / "pipeline.yml"
    spec = load_spec(spec_path)
    roots = [root.resolve()]
    files, overrides = _sql_files(root / "sql")
    steps: dict[str, SqlStep] = {}
    for name, path in files.items():
        if name in spec.sources:
            raise SqlError(f"step {name!r} has the name of a source", path=path)
        query, depends_on = _read_query(path, sqlmod.DIALECT, roots)
        steps[name] = SqlStep(name, path, query, depends_on,
                              spec.steps.get(name, Step()), MappingProxyType(overrides.get(name, {})))
    for name in spec.steps.keys() - steps.keys():
        raise SpecError(f"steps.{name}: no sql/{name}.sql for this step", path=spec_path)
    for name in overrides.keys() - steps.keys():
        raise SqlError(f"override for {name!r} without sql/{name}.sql", path=root / "sql")
    known = set(spec.sources) | set(steps)
    for step in steps.values():
        _known_tables(step.name, step.path, step.depends_on, known)
        for dialect, path in step.overrides.items():
            _known_tables(step.name, path, _read_query(path, dialect, roots)[1], known)
    for name in sorted(RESERVED & known):
        raise SpecError(f"{name!r} is reserved for footfall's record of a run's inputs: name it otherwise",
                        path=spec_path)
    for out in spec.outputs:
        if out.table not in known:
            raise SpecError(f"outputs: unknown table {out.table!r}", path=spec_path)
        if out.zone == RECORD.zone and out.relpath == RECORD.relpath:
            raise SpecError(f"outputs: {RECORD.zone}/{RECORD.relpath} is reserved for footfall's record of a "
                            "run's inputs", path=spec_path)
    for table in spec.checks:
        if table not in known:
            raise SpecError(f"checks: unknown table {table!r}", path=spec_path)
    for table, check in [(n, c) for n, s in spec.steps.items() for c in s.checks] + \
            [(t, c) for t, cs in spec.checks.items() for c in cs]:
        if check.sql is not None:
            try:
                query, depends_on = _parsed(check.sql, spec_path, sqlmod.DIALECT)
                sqlmod.check_reads(query, spec_path, roots)
            except SqlError as e:
                raise SqlError(f"check on {table}: {e.message}", path=spec_path) from None
            _known_tables(f"check on {table}", spec_path, depends_on, known)
    views = _views(root, spec, roots)
    return Pipeline(root, spec, MappingProxyType(steps), _order(steps), MappingProxyType(views))


def _read_query(path: Path, dialect: str, roots: list[Path]) -> tuple[exp.Query, frozenset[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SqlError(f"cannot read: {e}", path=path) from None
    query, depends_on = _parsed(text, path, dialect)
    sqlmod.check_reads(query, path, roots)
    return query, depends_on


@functools.lru_cache(maxsize=1024)
def _parsed(text: str, path: Path, dialect: str) -> tuple[exp.Query, frozenset[str]]:
    """A query and the tables it reads, parsed once per text: a process that loads a pipeline again (a
    notebook, a test, ``top`` after ``run``) pays only for reading its files and checking their paths, which
    can change while the text stays the same. Nothing modifies a parsed query, so loads share them."""
    query = sqlmod.parse(text, path, dialect)
    return query, sqlmod.dependencies(query)


def _known_tables(name: str, path: Path | str, depends_on: frozenset[str], known: set[str]) -> None:
    missing = sorted(depends_on - known)
    if missing:
        what = name if name.startswith("check") else f"step {name!r}"
        raise SqlError(f"{what} reads unknown table {missing[0]!r} (known: {', '.join(sorted(known))})", path=path)


def _views(root: Path, spec: PipelineSpec, roots: list[Path]) -> dict[str, SqlStep]:
    """``views/<name>.sql`` for each declared view; they read published tables, so no step depends on them."""
    views: dict[str, SqlStep] = {}
    for name, view in spec.views.items():
        path = root / "views" / f"{name}.sql"
        if name in spec.steps or name in spec.sources:
            raise SpecError(f"views.{name}: a step or source already has this name", path=root / "pipeline.yml")
        if not path.is_file():
            raise SpecError(f"views.{name}: no views/{name}.sql for this view", path=root / "pipeline.yml")
        query, depends_on = _read_query(path, sqlmod.DIALECT, roots)
        views[name] = SqlStep(name, path, query, depends_on, Step(description=view.description))
    return views


def _sql_files(folder: Path) -> tuple[dict[str, Path], dict[str, dict[str, Path]]]:
    """``name.sql`` files are steps; ``name.<dialect>.sql`` files override a step for one engine."""
    if not folder.is_dir():
        return {}, {}
    files: dict[str, Path] = {}
    overrides: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.glob("*.sql")):
        name, _, dialect = path.stem.partition(".")
        if not IDENTIFIER.match(name) or (dialect and not IDENTIFIER.match(dialect)):
            raise SqlError("a step file is named <table>.sql (letters, digits, _)", path=path)
        if dialect:
            overrides.setdefault(name.lower(), {})[dialect.lower()] = path
        else:
            files[name.lower()] = path
    return files, overrides


def _order(steps: Mapping[str, SqlStep]) -> tuple[str, ...]:
    graph = {name: {d for d in step.depends_on if d in steps} for name, step in steps.items()}
    sorter = graphlib.TopologicalSorter(graph)
    try:
        sorter.prepare()
    except graphlib.CycleError as e:
        cycle = e.args[1]
        raise SqlError(f"steps form a cycle: {' -> '.join(cycle)}", path=steps[cycle[0]].path) from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return tuple(order)
