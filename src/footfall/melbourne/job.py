"""The Melbourne job as the command line and the Glue jobs run it: open the lake once, fetch what is
remote, land, parse, run the pipeline, publish. The framework's session (:mod:`footfall.session`) decides
local or S3; this module decides what to fetch and where it lands."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from footfall.errors import FootfallError
from footfall.lake import Lake
from footfall.melbourne import ingest
from footfall.melbourne.formats import FileKind
from footfall.melbourne.ingest import INCOMING, IngestResult
from footfall.melbourne.portal import PORTAL_URL, SOCRATA_COUNTS_DATASET, SOCRATA_SENSORS_DATASET
from footfall.melbourne.run import JobResult, expand, land, pipeline, prepare_scratch, run, run_on_s3
from footfall.runner import Listener
from footfall.s3direct import DirectLake
from footfall.session import Bars, LakeSession, Notify, open_lake

SCRATCH = (INCOMING,)


@contextlib.contextmanager
def melbourne_lake(location: str, *, write: bool, endpoint: str | None = None, reads: Sequence[str] = (),
                   direct: str | None = None, portal: bool = False, progress: Bars | None = None,
                   notify: Notify | None = None) -> Iterator[LakeSession]:
    """The Melbourne lake at ``location``: held once for a writer (see :func:`footfall.session.open_lake`). A
    direct session's scratch starts with the landed files' manifests, and for an incremental fetch from the
    ``portal`` the parsed live files it resumes from."""
    with open_lake(location, write=write, spec=pipeline().spec, endpoint=endpoint, reads=reads, scratch=SCRATCH,
                   direct=direct, progress=progress, notify=notify) as session:
        if isinstance(session.lake, DirectLake):
            prepare_scratch(session.lake, session.local, portal=portal)
        yield session


@dataclass(frozen=True)
class Fetch:
    """Where the counts come from, as the user said."""

    source: str = "melbourne"
    portal: str | None = None
    since: str | None = None
    until: str | None = None
    full_refresh: bool = False
    socrata_url: str | None = None
    dataset: str = SOCRATA_COUNTS_DATASET
    sensors_dataset: str | None = SOCRATA_SENSORS_DATASET
    bulk_csv: bool = False
    workers: int = 4
    export_format: str = "csv"


def day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FootfallError(f"{flag} must look like YYYY-MM-DD, not {text!r}") from None


def fetch(session: LakeSession, counts: list[str], sensors: list[str], how: Fetch, *, progress: Bars | None = None,
          notify: Notify | None = None) -> tuple[list[str], list[str], int]:
    """Download what is remote into the held lake's landing zone (a direct session's scratch); return the
    local paths still to land and how many downloads landed."""
    lake = session.local
    results: list[IngestResult] = []
    kinds: tuple[tuple[FileKind, Sequence[str]], ...] = (("counts", counts), ("sensors", sensors))
    for kind, items in kinds:
        urls = [i for i in items if i.startswith(("http://", "https://"))]
        if urls:
            results.append(ingest.ingest_urls(lake, urls, kind, progress=progress))
    if not counts and not sensors:
        if how.source == "socrata":
            if not how.socrata_url:
                raise FootfallError("--source socrata needs --socrata-url https://DOMAIN")
            results.append(ingest.ingest_socrata(
                lake, how.socrata_url, how.dataset, how.sensors_dataset, bulk_csv=how.bulk_csv,
                workers=how.workers, app_token=os.environ.get("SOCRATA_APP_TOKEN"), progress=progress))
        elif how.source == "melbourne":
            results.append(ingest.ingest_melbourne(
                lake, how.portal or PORTAL_URL, since=day(how.since, "--since") if how.since else None,
                until=day(how.until, "--until") if how.until else None, full_refresh=how.full_refresh,
                progress=progress, export_format=how.export_format))
        else:
            raise FootfallError(f"unknown source {how.source!r} (melbourne, socrata)")
    for result in results:
        for landed in result.landed:
            if notify:
                notify(f"fetched {landed.kind}/{landed.name} ({landed.bytes / 1e6:,.1f} MB, {landed.format}) "
                       f"from {landed.origin}", "")
        for what in result.unchanged:
            if notify:
                notify(f"unchanged {what}", "dim")
    local = [[i for i in items if not i.startswith(("http://", "https://"))] for items in (counts, sensors)]
    return local[0], local[1], sum(len(r.landed) for r in results)


def run_job(session: LakeSession, counts: Sequence[str] = (), sensors: Sequence[str] = (), *, engine: str = "duckdb",
            engine_options: dict[str, Any] | None = None, listener: Listener | None = None,
            rebuild: bool = False) -> JobResult:
    """Land, parse what is new and rebuild the answers on the held lake (nothing, when nothing is new and
    ``rebuild`` is not set); on a direct session the engine runs against S3 itself."""
    session.recovered(listener)
    if isinstance(session.lake, DirectLake):
        return run_on_s3(session.lake, session.local, counts, sensors, listener=listener,
                         engine_options=engine_options, rebuild=rebuild)
    assert isinstance(session.lake, Lake)
    return run(session.lake, counts, sensors, engine=engine, engine_options=engine_options, listener=listener,
               rebuild=rebuild)


def land_only(session: LakeSession, counts: Sequence[str], sensors: Sequence[str]) -> JobResult:
    """Land local files into the held lake, nothing parsed or run."""
    result = JobResult()
    land(session.local, expand(counts), expand(sensors), result)
    return result
