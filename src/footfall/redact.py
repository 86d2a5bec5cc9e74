"""Secrets out of everything footfall prints, logs, raises or stores.

One function, :func:`redact`, for URLs and for any text that may hold one: a URL's userinfo
(``user:pass@``) and the values of secret query or fragment parameters become ``***``. Servers echo
what they were sent, so every secret value footfall has sent (an app token, a password, a signature)
is remembered and replaced wherever it shows up later, inside a URL or not.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from urllib.parse import unquote

MASK = "***"
SECRET_NAMES = frozenset({
    "token", "app_token", "access_token", "refresh_token", "id_token", "auth", "auth_token", "api_key", "api-key",
    "apikey", "key", "password", "passwd", "pass", "pwd", "secret", "client_secret", "sig", "signature",
    "x-amz-signature", "x-amz-security-token", "x-amz-credential", "x-goog-signature", "x-goog-credential",
})
SECRET_PARTS = ("token", "secret", "passw", "signature", "credential", "apikey", "api_key", "api-key", "private")
TRAILING = ":,.)]'\""
SHORTEST_KNOWN = 4  # shorter remembered values are masked only where they stand as a parameter or a password

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/?#\s@]*(?:@[^/?#\s@]*)*)@")
_PARAM = re.compile(r"([?&#;])([^=&#;?\s]+)=([^&#;\s]*)")
_known: set[str] = set()
_lock = threading.Lock()


def is_secret(name: str) -> bool:
    """Whether a query parameter's name says its value is a credential.

    >>> [is_secret(n) for n in ("$$app_token", "X-Amz-Signature", "API-KEY", "limit", "where")]
    [True, True, True, False, False]
    """
    lowered = unquote(name).strip().lstrip("$").lower()
    return lowered in SECRET_NAMES or any(part in lowered for part in SECRET_PARTS)


def remember(*values: str | None) -> None:
    """Values to mask wherever they appear from now on (in this process), raw or percent-decoded."""
    with _lock:
        for value in values:
            if value:
                _known.update(v for v in (value, unquote(value)) if len(v) >= SHORTEST_KNOWN)


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


def _mask(text: str) -> tuple[str, list[str]]:
    """``text`` with userinfo and secret parameter values masked where they stand, and the values masked."""
    found: list[str] = []

    def userinfo(match: re.Match[str]) -> str:
        found.extend(v for v in (match.group(2).partition(":")[2], match.group(2)) if v)
        return f"{match.group(1)}{MASK}@"

    def param(match: re.Match[str]) -> str:
        value = match.group(3).rstrip(TRAILING)  # a URL ending a sentence keeps its punctuation
        if not is_secret(match.group(2)) or not value or value == MASK:
            return match.group(0)
        found.append(value)
        return f"{match.group(1)}{match.group(2)}={MASK}{match.group(3)[len(value):]}"

    return _PARAM.sub(param, _USERINFO.sub(userinfo, text)), found


def remember_url(url: str) -> None:
    """The secrets a URL is about to carry, so that an echo of them is masked too."""
    remember(*_mask(url)[1])


def redact(text: str) -> str:
    """``text`` (a URL, or a message holding URLs) with every credential replaced by ``***``.

    >>> redact("https://x.org/r.json?$limit=5&$$app_token=abc123&b=1")
    'https://x.org/r.json?$limit=5&$$app_token=***&b=1'
    >>> redact("GET http://ann:s3cret@host/a.csv failed")
    'GET http://***@host/a.csv failed'
    """
    text, found = _mask(text)
    remember(*found)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        text = text.replace(value, MASK)
    return text
