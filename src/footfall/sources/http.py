"""Downloads that survive the network: streamed to disk, retried, resumed, verified, never half-kept.

A body goes to ``<dest>.part`` and is renamed only when complete and checked. Connection errors, read
timeouts, 5xx and 429 are retried with exponential backoff and jitter, honouring ``Retry-After`` and
Opendatasoft's ``reset_time``; an interrupted body is resumed with ``Range`` when the server allows it.
Any other 4xx is final and reported with the portal's own message. Secrets never leave this module:
URLs and server messages are redacted before they reach a message, a log or a manifest, and credentials
(``X-App-Token``, ``Authorization``, a URL's userinfo) never follow a redirect to another origin.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import hashlib
import json
import logging
import os
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from footfall import __version__
from footfall.errors import FootfallError, os_failure
from footfall.redact import is_secret, redact, remember_header, remember_url

MAX_REDIRECTS = 10
CREDENTIAL_HEADERS = ("Authorization", "Proxy-Authorization", "X-App-Token", "Cookie")
Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)


class FetchError(FootfallError):
    """A download that cannot be completed; the message names the (redacted) URL and the server's reason."""


class Retryable(Exception):
    """A response worth asking again for, and how long the server asked us to wait."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


class _Redacting(logging.Filter):
    """httpx and httpcore log every request's URL at INFO and DEBUG: mask its secrets first."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(_Redacting())


@dataclass(frozen=True)
class Fetched:
    """What one download produced, as the landing manifest records it."""

    path: Path
    url: str
    params: dict[str, str] = field(default_factory=dict)
    fetched_at: str = ""
    bytes: int = 0
    sha256: str = ""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = self.path.name
        return data


@dataclass(frozen=True)
class Policy:
    """How hard to try: attempts, the backoff base, and the longest single wait."""

    attempts: int = 5
    backoff: float = 0.5
    max_wait: float = 60.0
    connect_timeout: float = 15.0
    read_timeout: float = 60.0


DEFAULT_POLICY = Policy()


def client(policy: Policy = DEFAULT_POLICY) -> httpx.Client:
    timeout = httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout)
    return httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": f"footfall/{__version__}"})


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def send(http: httpx.Client, method: str, url: str, params: dict[str, str] | None = None,
         headers: dict[str, str] | None = None) -> httpx.Response:
    """A streamed response, redirects followed here rather than by httpx, which keeps custom headers such as
    ``X-App-Token`` on a redirect to another host: once the origin changes, credentials are dropped.
    The caller closes the response."""
    try:
        request = http.build_request(method, url, params=params or None, headers=headers)
    except (httpx.InvalidURL, ValueError) as e:
        raise FetchError(f"{redact(url)}: not a valid URL ({redact(str(e))})") from None
    origin = _origin(request.url)
    remember_url(str(request.url))
    if request.url.username or request.url.password:
        basic = f"{request.url.username}:{request.url.password}".encode()
        remember_header(f"Basic {base64.b64encode(basic).decode()}")
    for name in CREDENTIAL_HEADERS:
        remember_header(request.headers.get(name))
    for _ in range(MAX_REDIRECTS + 1):
        response = http.send(request, stream=True, follow_redirects=False)
        if response.next_request is None:
            return response
        response.close()
        request = response.next_request
        remember_url(str(request.url))  # a presigned URL the portal redirects to carries its own secrets
        if _origin(request.url) != origin:
            for name in CREDENTIAL_HEADERS:
                request.headers.pop(name, None)
            if request.url.userinfo:
                request.url = request.url.copy_with(username=None, password=None)
            origin = _origin(request.url)
    raise FetchError(f"{redact(url)}: more than {MAX_REDIRECTS} redirects")


def _wait(policy: Policy) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, Retryable) and error.wait is not None:
            return min(policy.max_wait, max(0.0, error.wait))
        exponential = policy.backoff * 2 ** (state.attempt_number - 1)
        return float(min(policy.max_wait, exponential * (0.5 + random.random())))  # noqa: S311 - jitter, not crypto

    return wait


def retrying(policy: Policy) -> Retrying:
    return Retrying(stop=stop_after_attempt(policy.attempts), wait=_wait(policy), reraise=True,
                    retry=retry_if_exception(lambda e: isinstance(e, Retryable | httpx.TransportError)))


def server_wait(response: httpx.Response) -> float | None:
    """Seconds the server asked to wait: Retry-After (seconds or an HTTP date) or an Opendatasoft reset_time."""
    header = response.headers.get("Retry-After")
    if header:
        if header.strip().isdigit():
            return float(header)
        with_date = email.utils.parsedate_to_datetime(header)
        return (with_date - datetime.now(UTC)).total_seconds()
    reset = _json(response).get("reset_time")
    if isinstance(reset, str):
        try:
            return (datetime.fromisoformat(reset.replace("Z", "+00:00")) - datetime.now(UTC)).total_seconds()
        except ValueError:
            return None
    return None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.read()[:65536] or b"{}")
    except (ValueError, httpx.HTTPError):
        return {}
    return body if isinstance(body, dict) else {}


def server_message(response: httpx.Response) -> str:
    """The portal's own explanation of an error, from Opendatasoft's or Socrata's JSON."""
    body = _json(response)
    for key in ("message", "error"):
        if isinstance(body.get(key), str) and body[key].strip():
            code = body.get("error_code") or body.get("errorcode") or body.get("code")
            return f"{code}: {body[key].strip()}" if code else body[key].strip()
    return response.reason_phrase or f"HTTP {response.status_code}"


def check_status(response: httpx.Response, url: str) -> None:
    """Raise Retryable for what is worth retrying, FetchError for what is not."""
    if response.status_code == 429 or response.status_code >= 500:
        raise Retryable(f"HTTP {response.status_code}", server_wait(response))
    if response.status_code >= 400:
        raise FetchError(redact(f"{url}: HTTP {response.status_code}: {server_message(response)}"))


def get_json(http: httpx.Client, url: str, params: dict[str, str], headers: dict[str, str] | None = None,
             policy: Policy = DEFAULT_POLICY) -> Any:
    """A small JSON answer, with the same retry policy as downloads."""
    try:
        for attempt in retrying(policy):
            with attempt:
                response = send(http, "GET", url, params, headers)
                try:
                    response.read()
                finally:
                    response.close()
                check_status(response, str(response.url))
                try:
                    return response.json()
                except ValueError:
                    raise FetchError(f"{redact(str(response.url))}: the answer is not JSON") from None
    except (httpx.HTTPError, Retryable) as e:
        raise FetchError(f"{redact(url)}: {gave_up(e, policy)}") from None
    raise AssertionError("unreachable")


def gave_up(error: Exception, policy: Policy) -> str:
    """Why a request failed for good, in words that hold no secret (httpx's messages embed the URL)."""
    if isinstance(error, httpx.TransportError | Retryable):
        reason = str(error) if isinstance(error, Retryable) else type(error).__name__
        return f"{reason} after {policy.attempts} attempts"
    return f"{type(error).__name__}: {redact(str(error))}"


def download(http: httpx.Client, url: str, dest: Path, *, params: dict[str, str] | None = None,
             headers: dict[str, str] | None = None, expect: str | None = None,
             validators: dict[str, str] | None = None, progress: Progress | None = None,
             policy: Policy = DEFAULT_POLICY) -> Fetched | None:
    """Stream ``url`` to ``dest``, hashing the bytes as they are written (the one hash of a download: landing
    takes it over); None when the server says it has not changed (304).

    ``expect`` ("csv", "json", "zip") guards against a portal answering an HTML error page with 200.
    """
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)
    state: dict[str, Any] = {"ranges": False, "validator": None, "hash": None, "hashed": 0}
    try:
        for attempt in retrying(policy):
            with attempt:
                result = _attempt(http, url, part, params or {}, dict(headers or {}), expect, validators or {},
                                  progress, state)
        if result is None:
            part.unlink(missing_ok=True)
            return None
        response_headers, final_url = result
        digest, size = state["hash"].hexdigest(), state["hashed"]
        os.replace(part, dest)
    except (httpx.HTTPError, Retryable) as e:
        part.unlink(missing_ok=True)
        raise FetchError(f"{redact(url)}: {gave_up(e, policy)}") from None
    except OSError as e:  # the disk, not the network
        part.unlink(missing_ok=True)
        raise os_failure(e, f"downloading it into {dest.parent} failed, nothing was landed", redact(url)) from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Fetched(dest, redact(final_url), {k: v for k, v in (params or {}).items() if not is_secret(k)},
                   datetime.now(UTC).isoformat(timespec="seconds"), size, digest, response_headers.get("ETag"),
                   response_headers.get("Last-Modified"), response_headers.get("Content-Type"))


def _attempt(http: httpx.Client, url: str, part: Path, params: dict[str, str], headers: dict[str, str],
             expect: str | None, validators: dict[str, str], progress: Progress | None,
             state: dict[str, Any]) -> tuple[httpx.Headers, str] | None:
    have = part.stat().st_size if part.exists() else 0
    if have and state["ranges"]:
        headers["Range"] = f"bytes={have}-"
        if state["validator"]:
            headers["If-Range"] = state["validator"]
    else:
        have = 0
        headers.pop("Range", None)
    if validators.get("etag"):
        headers["If-None-Match"] = validators["etag"]
    if validators.get("last_modified"):
        headers["If-Modified-Since"] = validators["last_modified"]
    response = send(http, "GET", url, params, headers)
    with contextlib.closing(response):
        if response.status_code == 304:
            return None
        check_status(response, str(response.url))
        _check_type(response, expect, url)
        state["ranges"] = response.headers.get("Accept-Ranges", "").lower() == "bytes"
        state["validator"] = response.headers.get("ETag") or response.headers.get("Last-Modified")
        resumed = response.status_code == 206
        total = _expected_length(response, have if resumed else 0)
        written = have if resumed else 0
        if not resumed:
            state["hash"], state["hashed"] = hashlib.sha256(), 0
        elif state["hash"] is None or state["hashed"] != have:
            with part.open("rb") as kept:
                state["hash"], state["hashed"] = hashlib.file_digest(kept, "sha256"), have
        with part.open("ab" if resumed else "wb") as handle:
            for chunk in response.iter_bytes():
                handle.write(chunk)
                state["hash"].update(chunk)
                written += len(chunk)
                state["hashed"] = written
                if progress:
                    progress(written, total)
        if total is not None and written != total:
            raise Retryable(f"body ended at {written} of {total} bytes")
        return response.headers, str(response.url)


def _expected_length(response: httpx.Response, offset: int) -> int | None:
    length = response.headers.get("Content-Length")
    if length is None or response.headers.get("Content-Encoding"):
        return None
    return offset + int(length)


def _check_type(response: httpx.Response, expect: str | None, url: str) -> None:
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if expect and kind == "text/html":
        raise FetchError(f"{redact(url)}: the portal answered an HTML page where {expect.upper()} was expected")


def sha256_file(path: Path) -> tuple[str, int]:
    """The SHA-256 and size of a whole file, in one read."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest(), os.fstat(handle.fileno()).st_size

