"""One way in: a pipeline, its settings, its lake and its engine, for the CLIs, the Glue jobs, the
benchmark and the tests alike (as SQLMesh's ``Context``).

The lake mode follows from the location and the engine's declared capabilities: an object store is
reached by the engine itself when it :attr:`~footfall.engines.Engine.REACHES_OBJECT_STORES`, and refused in
one line when it does not; no caller asks for an engine by name to decide how to open a lake.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from footfall.dag import Pipeline
from footfall.engines import Engine, engine_class
from footfall.errors import FootfallError
from footfall.lake.layout import Table, published
from footfall.lake.local import LocalLake
from footfall.lake.open import Held, open_lake
from footfall.runner import Event, Listener, RunResult, run_pipeline
from footfall.settings import Settings


@dataclass
class Context:
    pipeline: Pipeline
    settings: Settings = field(default_factory=Settings.resolve)

    @property
    def tables(self) -> tuple[Table, ...]:
        """What the pipeline publishes, as tables."""
        return published(self.pipeline.spec)

    @contextlib.contextmanager
    def lake(self, *, write: bool, scratch: Sequence[str] = (), temporaries: re.Pattern[str] | None = None
             ) -> Iterator[Held]:
        """The settings' lake, held once for a writer (see :func:`footfall.lake.open.open_lake`)."""
        with open_lake(self.settings.lake, self.tables, write=write, scratch=scratch, temporaries=temporaries,
                       endpoint=self.settings.s3_endpoint, region=self.settings.region,
                       cache=self.settings.cache) as held:
            yield held

    @contextlib.contextmanager
    def read(self, prefixes: Sequence[str] = ()) -> Iterator[LocalLake]:
        """The published files under ``prefixes`` (every table's without) as a local lake, all of one publish:
        the lake itself when it is local, else just those objects, downloaded for the read."""
        with self.lake(write=False) as held, held.lake.snapshot(prefixes) as local:
            yield local

    def preflight(self, held: Held) -> type[Engine]:
        """The settings' engine class, once it is known to be able to run on the held lake: refused in one
        line before any work otherwise."""
        cls = engine_class(self.settings.engine)
        if held.store is not None and not cls.REACHES_OBJECT_STORES:
            raise FootfallError(f"the {cls.name} engine cannot reach {held.store.location}: use a local lake or "
                                "another engine")
        cls.preflight(self.settings, held.store)
        return cls

    @contextlib.contextmanager
    def engine(self, held: Held) -> Iterator[Engine]:
        """The settings' engine, set up to reach the held lake."""
        cls = self.preflight(held)
        with cls.open(self.settings, store=held.store, spill=held.lake.spill) as engine:
            yield engine

    def run(self, held: Held, *, engine: Engine | None = None, listener: Listener | None = None,
            rebuild: bool = False) -> RunResult:
        """Run the pipeline on the held lake: steps, checks, publish (or nothing, when nothing is new), on the
        settings' engine or on ``engine``, one the caller opened and closes."""
        for notice in held.notices:
            if listener:
                listener(Event("recover", notice.run_id, detail=notice.message))
        if engine is not None:
            return run_pipeline(self.pipeline, held.lake, engine, listener=listener, rebuild=rebuild)
        with self.engine(held) as opened:
            return run_pipeline(self.pipeline, held.lake, opened, listener=listener, rebuild=rebuild)
