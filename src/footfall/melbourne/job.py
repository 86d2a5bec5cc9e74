"""The Melbourne job as the command line, the Glue jobs, the benchmark and the tests run it: one
:class:`~footfall.context.Context` over the Melbourne pipeline; open the lake once, fetch what is remote,
land, parse, run the pipeline, publish. The framework decides how a lake is opened; this module decides
what to fetch and where it lands."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from datetime import date

from footfall.context import Context
from footfall.errors import FootfallError
from footfall.lake.open import Held
from footfall.melbourne import ingest
from footfall.melbourne.formats import FileKind
from footfall.melbourne.ingest import INCOMING, IngestResult
from footfall.melbourne.landing import TEMPORARIES
from footfall.melbourne.portal import Fetch, portal_url
from footfall.melbourne.run import JobResult, expand, land, pipeline, prepare
from footfall.settings import Settings
from footfall.sources.http import Progress

SCRATCH = (INCOMING,)
Bars = Callable[[str], Progress]  # a progress bar per download: label -> update
Notify = Callable[[str, str], None]  # (message, style): what the job did, for a person to read


def melbourne(settings: Settings | None = None) -> Context:
    """The Melbourne pipeline's context: the settings the environment gives, or ``settings``."""
    return Context(pipeline(), settings or Settings.resolve())


@contextlib.contextmanager
def melbourne_lake(context: Context, *, write: bool, portal: bool = False) -> Iterator[Held]:
    """The Melbourne lake, held once for a writer; an object lake's work folder starts with the landed files'
    manifests, and for an incremental fetch from the ``portal`` the parsed live files it resumes from."""
    with context.lake(write=write, scratch=SCRATCH, temporaries=TEMPORARIES) as held:
        if write:
            prepare(held, portal=portal)
        yield held


def day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FootfallError(f"{flag} must look like YYYY-MM-DD, not {text!r}") from None


def fetch(context: Context, held: Held, counts: list[str], sensors: list[str], how: Fetch, *,
          progress: Bars | None = None, notify: Notify | None = None) -> tuple[list[str], list[str], int]:
    """Download what is remote into the held lake's landing zone (its work folder); return the local paths
    still to land and how many downloads landed."""
    lake = held.work
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
                workers=how.workers, app_token=context.settings.socrata_app_token, progress=progress))
        elif how.source == "melbourne":
            results.append(ingest.ingest_melbourne(
                lake, how.portal or portal_url(context.settings),
                since=day(how.since, "--since") if how.since else None,
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


def land_only(held: Held, counts: Sequence[str], sensors: Sequence[str]) -> JobResult:
    """Land local files into the held lake, nothing parsed or run; an object lake takes them at once."""
    result = JobResult()
    land(held.work, expand(counts), expand(sensors), result)
    held.lake.take(held.work)
    held.lake.publish_inputs()
    return result
