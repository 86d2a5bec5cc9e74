"""Credentials under any name or shape are sent where they belong and never printed, raised or stored: each
probe runs the CLI against a real loopback portal and searches stdout, stderr and every byte of the lake
(and the report) for the secret, raw and percent-encoded."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from support.cli import wide as footfall
from support.portal import EXPORT, Portal

from footfall.redact import forget

SECRET = "Kp2-sentinel-58d1"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJLcDItc2VudGluZWwtNThkMSJ9.Kp2-sentinel-58d1-signature"
FORMS = (SECRET, quote(SECRET, safe=""), JWT)

# How a URL carries the secret (the query after EXPORT, or the whole URL with {base}).
URL_PROBES = {
    "access_key": "?delimiter=%3B&access_key={s}",
    "jwt": "?jwt={jwt}",
    "bearer": "?bearer={s}",
    "session": "?Session={s}&delimiter=%3B",
    "encoded-name": "?ACCESS%5FKEY={s}",
    "encoded-twice": "?%2561ccess_key={s}",
    "repeated": "?token=public&token={s}&TOKEN={s}",
    "semicolons": "?lang=en;auth={s};sig={s}",
    "nested-url": "?next=" + quote("https://other.example/x?X-Amz-Signature={s}&a=1", safe="{}"),
    "amz-date-and-credential": "?X-Amz-Date=20260101T000000Z&X-Amz-Credential={s}%2F20260101%2Fs3%2Faws4_request",
    "user-token": "{scheme}://{s}@{host}" + EXPORT,
}


# Each probe runs a download (about a second): these run in the fast suite, every other one is slow.
FAST_PROBES = ("access_key", "jwt", "encoded-name", "nested-url", "matrix")


def _probes(names: list[str]) -> list:
    return [pytest.param(n, id=n, marks=() if n in FAST_PROBES else pytest.mark.slow) for n in names]


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    """Each probe on its own: a secret masked because an earlier probe in this process sent it proves nothing."""
    forget()
    yield
    forget()


def _url(portal: Portal, probe: str) -> str:
    template = URL_PROBES[probe]
    scheme, host = portal.url.split("://")
    if template.startswith("{scheme}"):
        return template.format(scheme=scheme, host=host, s=SECRET, jwt=JWT)
    return portal.url + EXPORT + template.format(s=SECRET, jwt=JWT)


def _stored(*roots: Path) -> bytes:
    return b"".join(p.read_bytes() for root in roots for p in sorted([root, *root.rglob("*")])
                    if p.is_file() and not p.is_symlink())


def _hidden(text: str | bytes) -> bool:
    data = text.encode() if isinstance(text, str) else text
    return all(form.encode() not in data for form in FORMS)


@pytest.mark.parametrize("probe", _probes(list(URL_PROBES)))
def test_a_credential_under_any_name_is_sent_but_never_printed_or_stored(portal: Portal, tmp_path: Path,
                                                                          probe: str) -> None:
    done = footfall("ingest", "--counts", _url(portal, probe), "--lake", str(tmp_path / "lake"))
    assert done.returncode == 0, done.stderr
    sent = portal.requests[-1]
    assert SECRET in json.dumps(sent) or JWT in json.dumps(sent) or "Authorization" in sent["headers"]
    assert _hidden(done.stdout + done.stderr), done.stderr
    assert _hidden(_stored(tmp_path / "lake"))
    manifest = json.loads(next((tmp_path / "lake" / "landing" / "counts").glob("*.manifest.json")).read_text())
    assert "***" in manifest["origin"] and manifest["origin"] == manifest["fetch"]["url"]
    assert manifest["origin"].startswith("http://") and EXPORT in manifest["origin"]


@pytest.mark.parametrize("probe", _probes([*URL_PROBES, "matrix"]))
def test_a_server_echoing_a_credential_under_any_name_gets_none_of_it_printed(portal: Portal, tmp_path: Path,
                                                                               probe: str) -> None:
    portal.fail(EXPORT, "echo", times=100)
    url = portal.url + EXPORT + f";jsessionid={SECRET}" if probe == "matrix" else _url(portal, probe)
    done = footfall("ingest", "--counts", url, "--lake", str(tmp_path / "lake"))
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "HTTP 403: forbidden: refused" in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    assert _hidden(done.stdout + done.stderr), done.stderr
    assert _hidden(_stored(tmp_path / "lake"))


DOCTOR_PROBES = ["?access_key={s}", "?jwt={jwt}", "?bearer={s}", "?X-Amz-Date=20260101T000000Z&x-amz-credential={s}",
                 ";jsessionid={s}", "?ACCESS%5FKEY={s}", "?next=" + quote("https://o.example/?sig={s}", safe="{}"),
                 "?note=Bearer%20{s}"]


@pytest.mark.parametrize("template", DOCTOR_PROBES)
def test_doctor_never_prints_a_portal_credential_from_the_environment(portal: Portal, tmp_path: Path,
                                                                      template: str) -> None:
    url = portal.url + "/" + template.format(s=SECRET, jwt=JWT)
    done = footfall("doctor", "--lake", str(tmp_path / "lake"), env={"FOOTFALL_PORTAL_URL": url})
    assert "Traceback" not in done.stderr
    portal_line = next(line for line in done.stdout.splitlines() if " Portal " in line)
    assert "***" in portal_line and portal.url in portal_line
    assert _hidden(done.stdout + done.stderr), done.stdout


@pytest.mark.slow
def test_a_run_and_its_report_store_no_credential_and_older_manifests_are_scrubbed(portal: Portal, tmp_path: Path,
                                                                                    files: dict[str, Path]) -> None:
    """A lake whose manifest an earlier version stored with the credential in it is rewritten by the next
    run, so the pipeline, which reads manifests as a table, never carries it into its outputs."""
    lake = tmp_path / "lake"
    url = _url(portal, "access_key")
    assert footfall("ingest", "--counts", url, "--lake", str(lake)).returncode == 0
    manifest = next((lake / "landing" / "counts").glob("*.manifest.json"))
    older = json.loads(manifest.read_text())
    older["origin"] = older["fetch"]["url"] = url
    manifest.write_text(json.dumps(older))
    rejected = lake / "landing" / "counts" / "_rejected"
    rejected.mkdir()
    (rejected / f"{'0' * 20}.manifest.json").write_text(json.dumps({**older, "file_id": "0" * 20,
                                                                    "rejection": f"cannot read {url}"}))
    done = footfall("run", "--sensors", str(files["sensors"]), "--lake", str(lake))
    assert done.returncode == 0, done.stderr
    report = footfall("report", "--lake", str(lake), "--out", str(tmp_path / "report.html"))
    assert report.returncode == 0, report.stderr
    assert _hidden(done.stdout + done.stderr + report.stdout + report.stderr)
    assert _hidden(_stored(lake, tmp_path / "report.html"))
    assert json.loads(manifest.read_text())["origin"].endswith("access_key=***")
    assert json.loads((rejected / f"{'0' * 20}.manifest.json").read_text())["rejection"].endswith("access_key=***")


# (command, the URL as given): a URL that cannot be parsed is the user's mistake, not a bug in footfall.
MALFORMED_PROBES = [
    (["ingest", "--counts"], "http://ann:{s}@[::1/x.csv"),
    (["ingest", "--counts"], "http://ann:{s}@host:abc/x.csv?token={s}"),
    (["ingest", "--source", "socrata", "--socrata-url"], "http://ann:{s}@host:abc"),
    (["run", "--portal"], "http://[::1/?access_key={s}"),
]


@pytest.mark.parametrize(("command", "template"), MALFORMED_PROBES)
def test_a_malformed_url_is_one_line_with_its_secrets_masked(tmp_path: Path, command: list[str],
                                                            template: str) -> None:
    done = footfall(*command, template.format(s=SECRET), "--lake", str(tmp_path / "lake"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "not a valid URL (" in last and "unexpected" not in last, last
    assert "***" in last and _hidden(done.stdout + done.stderr)


def test_doctor_names_a_malformed_portal_url_without_its_secret(tmp_path: Path) -> None:
    done = footfall("doctor", "--lake", str(tmp_path / "lake"), env={"FOOTFALL_PORTAL_URL": f"http://ann:{SECRET}@h:abc/"})
    portal_line = next(line for line in done.stdout.splitlines() if " Portal " in line)
    assert "not a valid URL (Invalid port: 'abc')" in portal_line and "http://***@h:abc/" in portal_line
    assert _hidden(done.stdout + done.stderr) and "Traceback" not in done.stderr


@pytest.mark.slow
def test_a_debug_traceback_has_its_secrets_masked_too() -> None:
    script = ("import sys, footfall.cli as cli\n"
              "@cli.app.command('boom')\n"
              "def boom() -> None:\n"
              f"    raise ValueError('cannot fetch http://ann:{SECRET}@h/x?access_key={SECRET} with Bearer {SECRET}')\n"
              "sys.argv[0] = 'footfall'\n"
              "cli.main()\n")
    done = subprocess.run([sys.executable, "-c", script, "--debug", "boom"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and "Traceback" in done.stderr
    assert "ValueError: cannot fetch http://***@h/x?access_key=*** with Bearer ***" in done.stderr
    assert _hidden(done.stderr)
