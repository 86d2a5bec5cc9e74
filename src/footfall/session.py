"""One way to open a lake, and one session per run.

A location is a local directory or ``s3://bucket/prefix``; this is the one place that tells them apart.
A writer's session ensures the lake, takes its lock and recovers what a killed run left, once; the job
below works on the held lake and never locks again. On S3 the session is a working copy pulled first and
pushed when the work succeeds, or, for an engine that reads and writes object storage itself
(``direct``), the S3 lake as that engine sees it with a temporary local lake for landing and parsing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from footfall.errors import FootfallError
from footfall.journal import Notice
from footfall.lake import Lake
from footfall.runner import Event, Listener
from footfall.versions import output_paths

if TYPE_CHECKING:
    from footfall.s3 import S3Lake
    from footfall.s3direct import DirectLake
    from footfall.spec import PipelineSpec

Bars = Callable[[str], Callable[[int, int | None], None]]  # a progress bar per transfer: label -> update
Notify = Callable[[str, str], None]  # (message, style): what the session did, for a person to read


@dataclass
class LakeSession:
    """A lake held for one run (or opened for one read)."""

    lake: Lake | DirectLake  # what the pipeline runs on
    local: Lake  # where files land and parse: the lake, its working copy, or a temporary lake beside S3
    notices: list[Notice] = field(default_factory=list)  # what recovery did
    remote: S3Lake | None = None  # the S3 lake behind a working copy or a direct session

    @property
    def direct(self) -> bool:
        """Whether the engine reads and writes the object store itself (``local`` is only a scratch)."""
        return self.lake is not self.local

    def __str__(self) -> str:
        return str(self.remote or self.lake)

    def recovered(self, listener: Listener | None) -> None:
        """Tell a run's listener what recovery did, as its first events."""
        for notice in self.notices:
            if listener:
                listener(Event("recover", notice.run_id, detail=notice.message))


def is_s3(location: str) -> bool:
    return str(location).startswith("s3://")


@contextlib.contextmanager
def open_lake(location: str, *, write: bool, spec: PipelineSpec | None = None, endpoint: str | None = None,
              reads: Sequence[str] = (), scratch: Sequence[str] = (), direct: str | None = None,
              progress: Bars | None = None, notify: Notify | None = None) -> Iterator[LakeSession]:
    """The lake at ``location``, held for a writer (``write``) or opened for a reader.

    ``spec`` names the outputs an S3 lake versions; ``reads`` the lake paths a reader needs (nothing else is
    pulled); ``scratch`` the lake-relative folders the job keeps only temporaries in (swept, never pushed);
    ``direct`` the URI scheme an engine that reaches S3 itself speaks (``s3a``, ``s3``), for a writer."""
    if not is_s3(location):
        lake = Lake.at(location)
        if not write:
            yield LakeSession(lake, lake)
            return
        with lake.session(scratch) as notices:
            yield LakeSession(lake, lake, notices)
        return
    if spec is None:
        raise FootfallError("an S3 lake needs the pipeline whose outputs it holds")
    if direct and write:
        with _direct(location, spec, endpoint, direct) as session:
            yield session
        return
    from footfall.s3 import working_copy

    with working_copy(location, spec, write=write, endpoint_url=endpoint, reads=reads, scratch=scratch,
                      progress=progress) as remote:
        if notify:
            notify(f"pulled {remote.pulled.files} file(s), {remote.pulled.bytes / 1e6:,.1f} MB, from {remote} "
                   f"({remote.pulled.kept} already here) into {remote.work}", "dim")
        notices = remote.work.recover(scratch) if write else []
        yield LakeSession(remote.work, remote.work, notices, remote)
    if notify and remote.pushed is not None:
        notify(f"pushed {remote.pushed.files} file(s), {remote.pushed.bytes / 1e6:,.1f} MB, to {remote} "
               f"({remote.pushed.kept} unchanged, {remote.pushed.deleted} superseded object(s) deleted)", "")


@contextlib.contextmanager
def _direct(location: str, spec: PipelineSpec, endpoint: str | None, scheme: str) -> Iterator[LakeSession]:
    """Nothing to lock or recover: a run publishes by one compare-and-swap of the pointer, or not at all."""
    from footfall.s3direct import DirectLake, scratch_lake

    with scratch_lake() as scratch:
        lake = DirectLake.open(location, spec, endpoint_url=endpoint, scheme=scheme, scratch=scratch.root)
        yield LakeSession(lake, scratch, remote=lake.remote)


def s3_lake(location: str, spec: PipelineSpec, endpoint: str | None, purpose: str) -> S3Lake:
    """An S3 lake as it is published, nothing pulled (to describe it to a catalog); ``purpose`` says why a
    local location will not do."""
    from footfall.s3 import S3Lake

    if not is_s3(location):
        raise FootfallError(f"{purpose}: give --lake s3://bucket/prefix (not {location!r})")
    return S3Lake.open(location, output_paths(spec), endpoint_url=endpoint)
