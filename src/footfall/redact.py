"""Secrets out of everything footfall prints, logs, raises or stores.

One function, :func:`redact`, for URLs and for any text that may hold one. Secrets are found by name and by
shape: a URL's userinfo (``user:pass@``), the value of every query, fragment or matrix parameter whose name
says it is a credential (see :func:`is_secret`), a parameter inside a URL that is itself a parameter's
value (percent-encoded or not), a JWT, the credentials after ``Bearer`` or ``Authorization:``, and an AWS
access key id all become ``***``. Servers echo what they were sent, so every secret value footfall has sent
(an app token, a password, a signature) is remembered and replaced wherever it shows up later, inside a URL
or not.

Names are matched by what they contain, so a few harmless names are masked too (``monkey``, ``author``,
``passenger``, ``design``): a masked harmless value costs a reader little, a shown credential costs its owner.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from typing import Any
from urllib.parse import quote, unquote

MASK = "***"
# A name containing any of these (in any case, after percent-decoding) holds a credential.
SECRET_PARTS = ("key", "token", "secret", "sig", "pass", "pwd", "auth", "jwt", "bearer", "credential", "session",
                "cookie", "private")
SECRET_PREFIXES = ("x-amz-", "x-goog-")  # every parameter of a presigned S3 or GCS URL
TRAILING = ":,.)]'\""
SHORTEST_KNOWN = 4  # a value footfall sent as a credential is masked wherever it shows up from this length
SHORTEST_GUESSED = 8  # a value only found by its name: shorter ones (an expiry, `host`) would mask ordinary text
MAX_DEPTH = 4  # URLs nested in parameter values, looked into this deep

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/?#\s@]*(?:@[^/?#\s@]*)*)@")
_PARAM = re.compile(r"(^|[?&#;\s])([\w.$%+~\[\]-]+)=([^&#;?\s]*)")  # a name, never a path
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer(?:\s+|%20|\+))([A-Za-z0-9._~+/%-]{6,}=*)")
_AUTHORIZATION = re.compile(r"(?i)\b((?:proxy-)?authorization[\"']?\s*:\s*[\"']?(?:[a-z-]+\s+)?)([^\s\"',;&?#*]+)")
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}\b")
_known: set[str] = set()
_lock = threading.Lock()


def _decoded(text: str) -> str:
    """``text`` percent-decoded until it no longer changes (a name or URL encoded twice is still read)."""
    for _ in range(MAX_DEPTH):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def is_secret(name: str) -> bool:
    """Whether a query parameter's name says its value is a credential.

    >>> [is_secret(n) for n in ("$$app_token", "X-Amz-Date", "Access_Key", "%6Awt", "limit", "where")]
    [True, True, True, True, False, False]
    """
    lowered = _decoded(name).strip().lstrip("$").lower()
    return lowered.startswith(SECRET_PREFIXES) or any(part in lowered for part in SECRET_PARTS)


def remember(*values: str | None, shortest: int = SHORTEST_KNOWN) -> None:
    """Values to mask wherever they appear from now on (in this process), raw, percent-decoded or -encoded."""
    with _lock:
        for value in values:
            if value:
                forms = {value, _decoded(value), quote(_decoded(value), safe="")}
                _known.update(v for v in forms if len(v) >= shortest)


def forget() -> None:
    """Forget every remembered value: a fresh start for work unrelated to what was sent before (each test)."""
    with _lock:
        _known.clear()


def remember_header(value: str | None) -> None:
    """An ``Authorization``-like header value: the whole, its credentials, and a Basic password in clear."""
    if not value:
        return
    remember(value)
    scheme, _, credentials = value.partition(" ")
    remember(credentials)
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return
        remember(password, f"{user}:{password}")


def _mask(text: str, depth: int = 0) -> tuple[str, list[str]]:
    """``text`` with every secret masked where it stands (see the module), and the values masked."""
    found: list[str] = []

    def userinfo(match: re.Match[str]) -> str:
        found.extend(v for v in (match.group(2).partition(":")[2], match.group(2)) if v)
        return f"{match.group(1)}{MASK}@"

    def param(match: re.Match[str]) -> str:
        lead, name, raw = match.groups()
        value = raw.rstrip(TRAILING)  # a URL ending a sentence keeps its punctuation
        if not value or value == MASK:
            return match.group(0)
        if is_secret(name):
            found.append(value)
            return f"{lead}{name}={MASK}{raw[len(value):]}"
        return f"{lead}{name}={_nested(value)}{raw[len(value):]}"

    def _nested(value: str) -> str:
        """A parameter's value that is itself a URL or a query, as given or percent-encoded."""
        if depth >= MAX_DEPTH:
            return value
        inner, secrets = _mask(value, depth + 1)
        decoded = _decoded(value)
        if decoded != value:
            secrets += _mask(decoded, depth + 1)[1]
        found.extend(secrets)
        for secret in sorted(set(secrets), key=len, reverse=True):
            for form in (secret, quote(secret, safe=""), quote(quote(secret, safe=""), safe="")):
                inner = inner.replace(form, MASK)
        return inner

    def whole(match: re.Match[str]) -> str:
        found.append(match.group(0))
        return MASK

    def credentials(match: re.Match[str]) -> str:
        found.append(match.group(2))
        return f"{match.group(1)}{MASK}"

    text = _USERINFO.sub(userinfo, text)
    text = _PARAM.sub(param, text)
    text = _JWT.sub(whole, text)
    text = _AWS_KEY_ID.sub(whole, text)
    text = _AUTHORIZATION.sub(credentials, text)
    text = _BEARER.sub(credentials, text)
    return text, [f for f in found if MASK not in f]


def _guessed(values: list[str]) -> list[str]:
    """Values found by name or shape that are long enough, and not a bare number, to mask everywhere."""
    return [v for v in values if len(v) >= SHORTEST_GUESSED and not v.isdigit()]


def remember_url(url: str) -> None:
    """The secrets a URL is about to carry, so that an echo of them is masked too."""
    remember(*_guessed(_mask(url)[1]))


def redact(text: str) -> str:
    """``text`` (a URL, or a message holding URLs) with every credential replaced by ``***``.

    >>> redact("https://x.org/r.json?$limit=5&$$app_token=abc123&b=1")
    'https://x.org/r.json?$limit=5&$$app_token=***&b=1'
    >>> redact("GET http://ann:s3cret@host/a.csv failed")
    'GET http://***@host/a.csv failed'
    """
    text, found = _mask(text)
    remember(*_guessed(found))
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        text = text.replace(value, MASK)
    return text


def redact_strings(data: Any) -> Any:
    """``data`` (JSON-like: dicts, lists, strings) with every string value redacted; keys are kept."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {k: redact_strings(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_strings(v) for v in data]
    return data
