"""The legacy Socrata API (the original design's source; retired in Melbourne, alive on other portals).

Either the bulk ``rows.csv`` or SODA JSON paged by ``$order=:id`` with ``$limit``/``$offset``, planned
from ``$select=count(*)`` and fetched by several workers, written as one JSON array in offset order.
The app token travels only in the ``X-App-Token`` header.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from footfall.errors import os_failure
from footfall.redact import redact
from footfall.sources.http import (
    DEFAULT_POLICY,
    Fetched,
    FetchError,
    Policy,
    Progress,
    download,
    get_json,
    sha256_file,
)


def _headers(app_token: str | None) -> dict[str, str]:
    return {"X-App-Token": app_token} if app_token else {}


def fetch_rows_csv(http: httpx.Client, base_url: str, dataset: str, dest_dir: Path, *, app_token: str | None = None,
                   progress: Progress | None = None, policy: Policy = DEFAULT_POLICY) -> Fetched:
    url = f"{base_url.rstrip('/')}/api/views/{dataset}/rows.csv"
    fetched = download(http, url, dest_dir / f"{dataset}-rows.csv", params={"accessType": "DOWNLOAD"},
                       headers=_headers(app_token), expect="csv", progress=progress, policy=policy)
    assert fetched is not None, "no validators were sent"
    return fetched


def row_count(http: httpx.Client, url: str, headers: dict[str, str], policy: Policy) -> int:
    answer = get_json(http, url, {"$select": "count(*)"}, headers, policy)
    try:
        first = answer[0]
        return int(next(iter(first.values())))
    except (IndexError, KeyError, TypeError, ValueError, StopIteration):
        raise FetchError(f"{redact(url)}: unexpected answer to $select=count(*)") from None


def fetch_soda_json(http: httpx.Client, base_url: str, dataset: str, dest_dir: Path, *, workers: int = 4,
                    page_size: int = 50_000, app_token: str | None = None, progress: Progress | None = None,
                    policy: Policy = DEFAULT_POLICY) -> Fetched:
    """Every row of a dataset as one JSON array, exactly the rows of a sequential ``$order=:id`` fetch.
    ``progress`` gets bytes written and the size expected from the rows still to come."""
    url = f"{base_url.rstrip('/')}/resource/{dataset}.json"
    headers = _headers(app_token)
    total = row_count(http, url, headers, policy)
    offsets = list(range(0, total, page_size))
    dest = dest_dir / f"{dataset}.json"
    part = dest.with_name(dest.name + ".part")

    def page(offset: int) -> list[Any]:
        rows = get_json(http, url, {"$order": ":id", "$limit": str(page_size), "$offset": str(offset)}, headers,
                        policy)
        if not isinstance(rows, list):
            raise FetchError(f"{redact(url)}: a page is not a JSON list")
        expected = min(page_size, total - offset)
        if len(rows) != expected:
            raise FetchError(f"{redact(url)}: the page at offset {offset} has {len(rows)} rows, {expected} expected "
                             "(did the dataset change during the download?)")
        return rows

    written = 0
    size = 1
    try:
        with part.open("w", encoding="utf-8") as sink, ThreadPoolExecutor(max(1, workers)) as pool:
            sink.write("[")
            pending: list[Future[list[Any]]] = []
            queue = iter(offsets)
            for _ in range(max(1, workers) * 2):
                offset = next(queue, None)
                if offset is not None:
                    pending.append(pool.submit(page, offset))
            first = True
            while pending:
                rows = pending.pop(0).result()
                offset = next(queue, None)
                if offset is not None:
                    pending.append(pool.submit(page, offset))
                for row in rows:
                    size += sink.write(("" if first else ",\n") + json.dumps(row, separators=(",", ":")))
                    first = False
                written += len(rows)
                if progress:
                    progress(size, round(size * total / written) if written else None)
            sink.write("]\n")
        os.replace(part, dest)
    except OSError as e:  # the disk, not the network
        raise os_failure(e, f"downloading it into {dest_dir} failed, nothing was landed", redact(url)) from None
    finally:
        part.unlink(missing_ok=True)
    digest, size = sha256_file(dest)
    return Fetched(dest, redact(url), {"$order": ":id", "$limit": str(page_size), "pages": str(len(offsets))},
                   datetime.now(UTC).isoformat(timespec="seconds"), size, digest)
