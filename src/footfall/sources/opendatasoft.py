"""Opendatasoft's Explore API v2.1 (the City of Melbourne's current portal; its address and dataset ids are in
``footfall.melbourne.portal``).

Everything comes through the exports endpoint (the records endpoint cannot page past 10,000 rows), in
Melbourne's local time: semicolon CSV with field names by default, or the compact Parquet export, or the
XLSX one; the 2009-2022 history comes from the zip attached to the hourly dataset.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from datetime import date
from pathlib import Path

import httpx

from footfall.redact import redact
from footfall.sources.http import DEFAULT_POLICY, Fetched, FetchError, Policy, Progress, download, get_json


def dataset_url(portal: str, dataset: str) -> str:
    """
    >>> dataset_url("https://data.example.org/", "x")
    'https://data.example.org/api/explore/v2.1/catalog/datasets/x'
    """
    return f"{portal.rstrip('/')}/api/explore/v2.1/catalog/datasets/{dataset}"


def export_url(portal: str, dataset: str, fmt: str = "csv") -> str:
    """
    >>> export_url("https://data.example.org/", "x")
    'https://data.example.org/api/explore/v2.1/catalog/datasets/x/exports/csv'
    """
    return f"{dataset_url(portal, dataset)}/exports/{fmt}"


def date_filter(since: date | None, until: date | None) -> str | None:
    """An ODSQL ``where`` on sensing_date, both bounds inclusive.

    >>> date_filter(date(2026, 8, 1), date(2026, 8, 31))
    "sensing_date >= date'2026-08-01' and sensing_date <= date'2026-08-31'"
    """
    parts = []
    if since:
        parts.append(f"sensing_date >= date'{since.isoformat()}'")
    if until:
        parts.append(f"sensing_date <= date'{until.isoformat()}'")
    return " and ".join(parts) or None


EXPORT_FORMATS = ("csv", "parquet", "xlsx")


def csv_params(where: str | None = None, order_by: str | None = None) -> dict[str, str]:
    return export_params("csv", where, order_by)


def export_params(fmt: str, where: str | None = None, order_by: str | None = None) -> dict[str, str]:
    """The query of an export: everything, in Melbourne time; CSV with ``;`` and field names."""
    params = {"limit": "-1", "timezone": "Australia/Melbourne"}
    if fmt == "csv":
        params |= {"delimiter": ";", "use_labels": "false"}
    if where:
        params["where"] = where
    if order_by:
        params["order_by"] = order_by
    return params


def fetch_counts(http: httpx.Client, portal: str, dataset: str, dest_dir: Path, *, since: date | None = None,
                 until: date | None = None, progress: Progress | None = None,
                 policy: Policy = DEFAULT_POLICY, fmt: str = "csv") -> Fetched:
    """The hourly counts of ``dataset`` for [since, until] (everything when both are None), one file of export
    ``fmt``."""
    name = f"counts-{since or 'start'}-{until or 'latest'}.{fmt}"
    params = export_params(fmt, date_filter(since, until), "sensing_date,hourday,location_id")
    fetched = download(http, export_url(portal, dataset, fmt), dest_dir / name, params=params, expect=fmt,
                       progress=progress, policy=policy)
    assert fetched is not None, "no validators were sent"
    return fetched


def fetch_sensors(http: httpx.Client, portal: str, dataset: str, dest_dir: Path, *,
                  progress: Progress | None = None,
                  policy: Policy = DEFAULT_POLICY, fmt: str = "csv") -> Fetched:
    fetched = download(http, export_url(portal, dataset, fmt), dest_dir / f"sensor-locations.{fmt}",
                       params=export_params(fmt), expect=fmt, progress=progress, policy=policy)
    assert fetched is not None, "no validators were sent"
    return fetched


def archive_url(http: httpx.Client, portal: str, dataset: str, attachment: str,
                policy: Policy = DEFAULT_POLICY) -> str:
    """The archive's address from the dataset's attachment list, or that of the known ``attachment`` when the
    list has none."""
    known = f"{portal.rstrip('/')}/api/datasets/1.0/{dataset}/attachments/{attachment}/"
    try:
        listing = get_json(http, f"{portal.rstrip('/')}/api/v2/catalog/datasets/{dataset}/attachments", {},
                           policy=policy)
    except FetchError:
        return known
    items = listing.get("attachments") if isinstance(listing, dict) else None
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        links = item.get("links")
        href = next((link["href"] for link in links if isinstance(link, dict) and isinstance(link.get("href"), str)
                     and link["href"]), None) if isinstance(links, list) else None
        metas = item.get("metas")
        ident = metas.get("id") if isinstance(metas, dict) else None
        if href and "2009" in (ident if isinstance(ident, str) else "") + href:
            return str(href)
    return known


def fetch_archive(http: httpx.Client, portal: str, dataset: str, attachment: str, dest_dir: Path, *,
                  validators: dict[str, str] | None = None, progress: Progress | None = None,
                  policy: Policy = DEFAULT_POLICY) -> tuple[Fetched, list[Path]] | None:
    """Download the 2009-2022 zip (None when unchanged since ``validators``), check it, extract its CSVs."""
    url = archive_url(http, portal, dataset, attachment, policy)
    zipped = dest_dir / "archive.zip"
    fetched = download(http, url, zipped, expect="zip", validators=validators, progress=progress, policy=policy)
    if fetched is None:
        return None
    try:
        members = _extract(zipped, dest_dir)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise FetchError(f"{redact(url)}: the archive is not a complete zip ({e})") from None
    finally:
        zipped.unlink(missing_ok=True)
    return fetched, members


def _extract(zipped: Path, dest_dir: Path) -> list[Path]:
    out: list[Path] = []
    with zipfile.ZipFile(zipped) as archive:
        bad = archive.testzip()
        if bad:
            raise zipfile.BadZipFile(f"member {bad} is corrupt")
        members = [m for m in archive.infolist() if m.filename.lower().endswith(".csv") and not m.is_dir()]
        if not members:
            raise zipfile.BadZipFile("no CSV inside")
        for member in members:
            target = dest_dir / Path(member.filename).name
            part = target.with_name(target.name + ".part")
            try:
                with archive.open(member) as source, part.open("wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
                os.replace(part, target)
            finally:
                part.unlink(missing_ok=True)
            out.append(target)
    return out
