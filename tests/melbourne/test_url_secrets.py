"""Secrets carried in URLs (userinfo, tokens, keys, signatures) are sent where they belong and never shown or
stored: masked in every message, absent from every byte of the lake, never sent to another origin through a
redirect, and absent from the HTTP client's logs and the doctor's findings."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import own_words_error
from support.cli import wide as footfall
from support.portal import EXPORT, FAST, Portal, portal_data

from footfall.redact import redact
from footfall.sources.http import client, download


def stored(root: Path) -> bytes:
    """Every byte of every file under ``root``, to grep for a secret."""
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink())


@pytest.fixture
def other(files: dict[str, Path]) -> Iterator[Portal]:
    """A second server: another port, so another origin."""
    with Portal(portal_data(files)) as p:
        yield p



# --- Class 3: secrets ---------------------------------------------------------------------------------------

SECRET = "Zq7-sentinel-91f3"
URL_SECRET_PROBES = [
    "http://ann:{s}@host.example/x.csv",
    "https://{s}@host.example/x.csv",
    "https://ann:p%40{s}@host.example/x.csv",
    "https://host.example/x.csv?token={s}",
    "https://host.example/x.csv?app_token={s}",
    "https://host.example/x.csv?$$app_token={s}",
    "https://host.example/x.csv?%24%24app_token={s}",
    "https://host.example/x.csv?access_token={s}",
    "https://host.example/x.csv?api_key={s}",
    "https://host.example/x.csv?api-key={s}",
    "https://host.example/x.csv?APIKEY={s}",
    "https://host.example/x.csv?key={s}",
    "https://host.example/x.csv?password={s}",
    "https://host.example/x.csv?pass={s}",
    "https://host.example/x.csv?secret={s}",
    "https://host.example/x.csv?sig={s}",
    "https://host.example/x.csv?signature={s}",
    "https://host.example/x.csv?X-Amz-Signature={s}",
    "https://host.example/x.csv?X-Amz-Security-Token={s}",
    "https://host.example/x.csv?X-Amz-Credential={s}%2F20260101%2Fap-southeast-2%2Fs3%2Faws4_request",
    "https://host.example/x.csv?limit=5&Token={s}&where=a",
    "https://host.example/x.csv#access_token={s}",
    "fetching https://host.example/x.csv?client_secret={s} failed: 403",
]


@pytest.mark.parametrize("template", URL_SECRET_PROBES)
def test_redact_masks_every_kind_of_url_secret(template: str) -> None:
    shown = redact(template.format(s=SECRET))
    assert SECRET not in shown
    assert "***" in shown and "host.example/x.csv" in shown


def test_redact_leaves_urls_without_secrets_alone() -> None:
    plain = "https://host.example/x.csv?limit=5&where=sensing_date%20%3E%3D%20date'2024-01-01'&select=id&order_by=id"
    assert redact(plain) == plain


# (how the URL carries the secret, where the loopback server saw it)
DOWNLOAD_SECRET_PROBES = [
    ("userinfo", "{scheme}://ann:{s}@{host}{path}?delimiter=%3B"),
    ("token", "{scheme}://{host}{path}?delimiter=%3B&token={s}"),
    ("api-key", "{scheme}://{host}{path}?api-key={s}&delimiter=%3B"),
    ("presigned", "{scheme}://{host}{path}?X-Amz-Credential={s}&X-Amz-Security-Token={s}&X-Amz-Signature={s}"),
    ("sig", "{scheme}://{host}{path}?sig={s}"),
    ("password", "{scheme}://{host}{path}?password={s}"),
]


def _url(portal: Portal, template: str, path: str = EXPORT) -> str:
    return template.format(scheme="http", host=portal.url.removeprefix("http://"), path=path, s=SECRET)


def _basic() -> str:
    return base64.b64encode(f"ann:{SECRET}".encode()).decode()


@pytest.mark.parametrize(("name", "template"), DOWNLOAD_SECRET_PROBES)
def test_a_url_with_a_secret_is_fetched_but_never_shown_or_stored(portal: Portal, tmp_path: Path, name: str,
                                                                   template: str) -> None:
    done = footfall("ingest", "--counts", _url(portal, template), "--lake", str(tmp_path / "lake"))
    assert done.returncode == 0, done.stderr
    sent = portal.requests[-1]
    assert SECRET in json.dumps(sent["query"]) or _basic() in sent["headers"].get("Authorization", "")
    for text in (done.stdout, done.stderr):
        assert SECRET not in text and _basic() not in text
    assert "***" in done.stderr
    lake = stored(tmp_path / "lake")
    assert SECRET.encode() not in lake and _basic().encode() not in lake
    manifest = json.loads(next((tmp_path / "lake" / "landing" / "counts").glob("*.manifest.json")).read_text())
    assert "***" in manifest["origin"] and "***" in manifest["fetch"]["url"]


# (what to run, the path the server echoes on, what carries the secret)
ECHO_PROBES = [
    ("url-token", EXPORT, lambda p: ["ingest", "--counts", _url(p, "{scheme}://{host}{path}?token={s}")], {}),
    ("userinfo", EXPORT, lambda p: ["ingest", "--counts", _url(p, "{scheme}://ann:{s}@{host}{path}")], {}),
    ("security-token", EXPORT,
     lambda p: ["ingest", "--counts", _url(p, "{scheme}://{host}{path}?X-Amz-Security-Token={s}")], {}),
    ("socrata-soda", "/resource/", lambda p: ["ingest", "--source", "socrata", "--socrata-url", p.url],
     {"SOCRATA_APP_TOKEN": SECRET}),
    ("socrata-bulk", "/api/views/", lambda p: ["ingest", "--source", "socrata", "--socrata-url", p.url,
                                               "--bulk-csv"], {"SOCRATA_APP_TOKEN": SECRET}),
]


@pytest.mark.parametrize(("name", "prefix", "args", "env"), ECHO_PROBES, ids=[p[0] for p in ECHO_PROBES])
def test_a_server_echoing_the_secret_in_its_error_gets_none_of_it_printed(portal: Portal, tmp_path: Path, name: str,
                                                                         prefix: str, args, env) -> None:
    portal.fail(prefix, "echo", times=100)
    done = footfall(*args(portal), "--lake", str(tmp_path / "lake"), env=env)
    line = own_words_error(done)
    assert "HTTP 403: forbidden: refused" in line, "the server's own reason is kept"
    for text in (done.stdout, done.stderr):
        assert SECRET not in text and _basic() not in text
    assert SECRET.encode() not in stored(tmp_path / "lake")


# (what to run, the prefix the first server sends to the second, the credential header)
REDIRECT_PROBES = [
    ("socrata-soda", "/resource/", lambda p: ["--source", "socrata", "--socrata-url", p.url], "X-App-Token"),
    ("socrata-bulk", "/api/views/", lambda p: ["--source", "socrata", "--socrata-url", p.url, "--bulk-csv"],
     "X-App-Token"),
    ("userinfo", "/api/explore/", lambda p: ["--counts", _url(p, "{scheme}://ann:{s}@{host}{path}?delimiter=%3B")],
     "Authorization"),
]


@pytest.mark.parametrize(("name", "prefix", "args", "header"), REDIRECT_PROBES, ids=[p[0] for p in REDIRECT_PROBES])
def test_credentials_never_follow_a_redirect_to_another_origin(portal: Portal, other: Portal, tmp_path: Path,
                                                               name: str, prefix: str, args, header: str) -> None:
    portal.redirect(prefix, other.url)
    done = footfall("ingest", *args(portal), "--lake", str(tmp_path / "lake"), env={"SOCRATA_APP_TOKEN": SECRET})
    assert done.returncode == 0, done.stderr
    first = [r for r in portal.requests if r["path"].startswith(prefix)]
    assert first and all(header in r["headers"] for r in first), "the first origin was sent the credential"
    followed = [r for r in other.requests if r["path"].startswith(prefix)]
    assert followed, "the redirect was followed"
    assert all(header not in r["headers"] for r in followed)
    assert all(SECRET not in json.dumps(r) and _basic() not in json.dumps(r) for r in other.requests)
    assert SECRET not in done.stderr + done.stdout
    assert SECRET.encode() not in stored(tmp_path / "lake")


def test_a_redirect_within_the_origin_keeps_the_app_token(portal: Portal, tmp_path: Path) -> None:
    portal.data.socrata_token = SECRET
    portal.redirect("/legacy", portal.url, strip=True)
    done = footfall("ingest", "--source", "socrata", "--socrata-url", portal.url + "/legacy", "--lake",
                    str(tmp_path / "lake"), env={"SOCRATA_APP_TOKEN": SECRET})
    assert done.returncode == 0, done.stderr
    assert any(r["path"].startswith("/legacy/") for r in portal.requests)
    assert all(r["headers"].get("X-App-Token") == SECRET for r in portal.requests if r["path"].startswith("/resource/"))


def test_http_client_logs_carry_no_secret(portal: Portal, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with client(FAST) as http:
        download(http, _url(portal, "{scheme}://ann:{s}@{host}{path}?token={s}"), tmp_path / "x.csv", policy=FAST)
    assert "HTTP Request: GET" in caplog.text, "httpx logged the request"
    assert SECRET not in caplog.text and _basic() not in caplog.text


DOCTOR_SECRET_PROBES = ["http://ann:{s}@127.0.0.1:{port}/", "http://127.0.0.1:{port}/?token={s}",
                        "http://127.0.0.1:{port}/?X-Amz-Signature={s}&X-Amz-Credential={s}",
                        "http://127.0.0.1:{port}/?api-key={s}", "http://ann:{s}@127.0.0.1:9/?sig={s}"]


@pytest.mark.parametrize("template", DOCTOR_SECRET_PROBES)
def test_doctor_never_prints_the_portal_secret(portal: Portal, tmp_path: Path, template: str) -> None:
    url = template.format(s=SECRET, port=portal.url.rsplit(":", 1)[1])
    done = footfall("doctor", "--portal", url, "--lake", str(tmp_path / "lake"))
    assert "Traceback" not in done.stderr
    assert "Portal" in done.stdout and "***" in done.stdout
    assert SECRET not in done.stdout + done.stderr


def test_a_redirect_loop_is_one_line(portal: Portal, tmp_path: Path) -> None:
    portal.redirect("/loop", portal.url)
    line = own_words_error(footfall("ingest", "--counts", f"{portal.url}/loop/x.csv?token={SECRET}", "--lake",
                              str(tmp_path / "lake")))
    assert line == f"error: {portal.url}/loop/x.csv?token=***: more than 10 redirects"
    assert len([r for r in portal.requests if r["path"] == "/loop/x.csv"]) == 11
