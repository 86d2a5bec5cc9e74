"""Fetching into the landing zone: the Opendatasoft portal, the legacy Socrata API, or any URL.

Downloads go to ``landing/_incoming/`` (the lake's own disk, so landing is a rename) as ``.part``
files that become real only when complete and verified; then each is landed like a local file (named by
content, so an unchanged publication is never landed twice). A second ingest from the portal asks only
for the days after the last one landed, minus an overlap window the portal may still revise.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import duckdb

from footfall.errors import FootfallError, InputError
from footfall.lake.local import LocalLake
from footfall.melbourne.formats import FileKind
from footfall.melbourne.landing import Landed, land_file, landed_files, raw_path
from footfall.melbourne.portal import ARCHIVE_ATTACHMENT, COUNTS_DATASET, SENSORS_DATASET
from footfall.melbourne.workbook import has_data_rows
from footfall.redact import redact
from footfall.sources import opendatasoft, socrata
from footfall.sources.http import DEFAULT_POLICY, Fetched, Policy, Progress, client, download
from footfall.sql import literal

OVERLAP_DAYS = 7
INCOMING = "landing/_incoming"  # downloads in progress: a folder of temporaries the lake's sweep empties
ProgressFactory = Callable[[str], Progress]


@dataclass
class IngestResult:
    landed: list[Landed] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def add(self, landed: Landed, new: bool, what: str) -> None:
        if new:
            self.landed.append(landed)
        else:
            self.unchanged.append(what)


def incoming(lake: LocalLake) -> Path:
    """A clean folder for downloads in progress, on the lake's disk."""
    folder = lake.path(*INCOMING.split("/"))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _land(lake: LocalLake, result: IngestResult, fetched: Fetched, path: Path, kind: FileKind, source: str,
          extra: dict[str, Any] | None = None) -> None:
    if _no_rows(path):
        result.unchanged.append(f"{source}: no rows in {fetched.url}")
        return
    try:
        landed, new = land_file(lake, path, kind, origin=fetched.url, move=True,
                                fetch={**fetched.to_dict(), "source": source, **(extra or {})},
                                hashed=(fetched.sha256, fetched.bytes) if path == fetched.path else None)
    except InputError as e:
        raise InputError(e.message, path=fetched.url) from None
    result.add(landed, new, f"{source}: {fetched.url}")


def _no_rows(path: Path) -> bool:
    """An export holding a header only (an incremental fetch with nothing new), in any export format."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return bool(pq.ParquetFile(path).metadata.num_rows == 0)
        except (OSError, ValueError):
            return False  # landing names the problem
    if path.suffix == ".xlsx":
        try:
            return not has_data_rows(path)
        except (KeyError, StopIteration, ET.ParseError, zipfile.BadZipFile, OSError, ValueError):
            return False
    with path.open("rb") as handle:
        return len(handle.read(1 << 16).splitlines()) <= 1 and path.suffix == ".csv"


def last_live_date(lake: LocalLake) -> date | None:
    """The last date of Opendatasoft counts already parsed into the lake."""
    files = [raw_path(lake, f) for f in landed_files(lake, "counts") if f.format.startswith("ods_")]
    files = [p for p in files if p.exists()]
    if not files:
        return None
    sources = ", ".join(literal(str(p)) for p in files)
    found = duckdb.execute(f"SELECT MAX(CAST(ts AS DATE)) FROM read_parquet([{sources}]) "
                           "WHERE reason IS NULL").fetchall()
    return found[0][0] if found and found[0][0] else None


def archive_validators(lake: LocalLake) -> dict[str, str]:
    """ETag / Last-Modified of the archive as last fetched, for a conditional GET."""
    fetched = [f.fetch for f in landed_files(lake, "counts") if f.fetch.get("source") == "archive"]
    if not fetched:
        return {}
    last = fetched[-1]
    return {k: last[k] for k in ("etag", "last_modified") if last.get(k)}


def ingest_melbourne(lake: LocalLake, portal: str, *, since: date | None = None, until: date | None = None,
                     full_refresh: bool = False, archive: bool = True, overlap_days: int = OVERLAP_DAYS,
                     progress: ProgressFactory | None = None, policy: Policy = DEFAULT_POLICY,
                     export_format: str = "csv") -> IngestResult:
    """The current portal: sensor locations, the 2009-2022 archive (when changed), and the live counts
    from the last landed date minus ``overlap_days`` (or ``since``/``until``; everything on a full refresh),
    as the portal's ``export_format`` export (csv, parquet or xlsx)."""
    if export_format not in opendatasoft.EXPORT_FORMATS:
        raise FootfallError(f"--format {export_format!r} is not an export format of the portal (one of: "
                            f"{', '.join(opendatasoft.EXPORT_FORMATS)})")
    lake.ensure()
    result = IngestResult()
    folder = incoming(lake)
    try:
        with client(policy) as http:
            sensors = opendatasoft.fetch_sensors(http, portal, SENSORS_DATASET, folder, policy=policy,
                                                 progress=_bar(progress, "sensor locations"), fmt=export_format)
            _land(lake, result, sensors, sensors.path, "sensors", "sensors")
            if archive:
                validators = {} if full_refresh else archive_validators(lake)
                got = opendatasoft.fetch_archive(http, portal, COUNTS_DATASET, ARCHIVE_ATTACHMENT, folder,
                                                 validators=validators,
                                                 progress=_bar(progress, "2009-2022 archive"), policy=policy)
                if got is None:
                    result.unchanged.append("archive: not modified since the last fetch")
                else:
                    fetched, members = got
                    for member in members:
                        _land(lake, result, fetched, member, "counts", "archive", {"member": member.name})
            if since is None and not full_refresh:
                last = last_live_date(lake)
                since = last - timedelta(days=overlap_days) if last else None
            counts = opendatasoft.fetch_counts(http, portal, COUNTS_DATASET, folder, since=since, until=until,
                                               progress=_bar(progress, "hourly counts"), policy=policy,
                                               fmt=export_format)
            _land(lake, result, counts, counts.path, "counts", "live",
                  {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def ingest_socrata(lake: LocalLake, base_url: str, dataset: str, sensors_dataset: str | None = None, *,
                   bulk_csv: bool = False, workers: int = 4, page_size: int = 50_000, app_token: str | None = None,
                   progress: ProgressFactory | None = None, policy: Policy = DEFAULT_POLICY) -> IngestResult:
    """A Socrata dataset of counts (and optionally of sensor locations): bulk CSV or paged SODA JSON."""
    lake.ensure()
    result = IngestResult()
    folder = incoming(lake)
    try:
        with client(policy) as http:
            pairs: tuple[tuple[FileKind, str | None], ...] = (("counts", dataset), ("sensors", sensors_dataset))
            for kind, ds in pairs:
                if not ds:
                    continue
                bar = _bar(progress, f"{ds} ({kind})")
                if bulk_csv:
                    fetched = socrata.fetch_rows_csv(http, base_url, ds, folder, app_token=app_token, progress=bar,
                                                     policy=policy)
                else:
                    fetched = socrata.fetch_soda_json(http, base_url, ds, folder, workers=workers, page_size=page_size,
                                                      app_token=app_token, progress=bar, policy=policy)
                _land(lake, result, fetched, fetched.path, kind, f"socrata {ds}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def ingest_urls(lake: LocalLake, urls: list[str], kind: FileKind, *, progress: ProgressFactory | None = None,
                policy: Policy = DEFAULT_POLICY) -> IngestResult:
    """Any http(s) URL of a published file; its format is recognised from the content once downloaded."""
    lake.ensure()
    result = IngestResult()
    folder = incoming(lake)
    try:
        with client(policy) as http:
            for i, url in enumerate(urls):
                try:
                    path = urlsplit(url).path
                except ValueError as e:  # a malformed IPv6 host
                    raise InputError(f"not a valid URL ({e})", path=redact(url)) from None
                name = Path(path.split(";")[0].rstrip("/")).name or f"download-{i}"  # no matrix params
                fetched = download(http, url, folder / f"{i}-{name}", progress=_bar(progress, redact(url)),
                                   policy=policy)
                if fetched is None:
                    raise InputError("the server answered 304 Not Modified to a plain GET", path=redact(url))
                _land(lake, result, fetched, fetched.path, kind, "url")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def _bar(progress: ProgressFactory | None, label: str) -> Progress | None:
    return progress(label) if progress else None
