"""What a careless or hostile user meets at footfall's surface: secrets never shown or stored, outputs never
written through whatever sits at the path, one line instead of a traceback, user text printed literally.

Each class runs its probes from a module-level list; RELIABILITY.md counts them.
"""

from __future__ import annotations

import base64
import csv
import json
import logging
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from support.cli import one_line_error
from support.cli import wide as footfall
from support.portal import COUNTS, FAST, Portal, portal_data

from footfall.melbourne.generate import generate
from footfall.redact import redact
from footfall.sources.http import client, download

EXPORT = f"/api/explore/v2.1/catalog/datasets/{COUNTS}/exports/csv"


def one_error(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The single error line of a failed command, after checking it is the only one, the last, and not a bug."""
    line = one_line_error(done, code)
    assert "unexpected" not in line, line
    return line


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
    line = one_error(done)
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


# --- Class 5: outputs written only as regular files in existing folders ------------------------------------


def _symlink_to_file(target: Path) -> None:
    (target.parent / "precious.txt").write_text("keep me")
    target.symlink_to(target.parent / "precious.txt")


def _device(target: Path) -> None:
    try:
        os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root")


# (what sits at the path, how to make it, the word the error uses)
TARGET_PROBES = [
    ("symlink-to-file", _symlink_to_file, "symbolic link"),
    ("dangling-symlink", lambda t: t.symlink_to(t.parent / "nowhere.html"), "symbolic link"),
    ("symlink-to-directory", lambda t: t.symlink_to(t.parent), "symbolic link"),
    ("fifo", lambda t: os.mkfifo(t), "FIFO"),
    ("character-device", _device, "character device"),
    ("directory", lambda t: t.mkdir(), "directory"),
    ("missing-folder", lambda t: None, "does not exist"),
    ("folder-is-a-file", lambda t: t.parent.write_text("x"), "not a folder"),
]
WRITERS = ["report --out", "generate OUT", "generate --locations", "query --out"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small published lake, its sensors named with rich markup and emoji codes."""
    folder = tmp_path_factory.mktemp("surface")
    generate(folder / "counts.csv", fmt="archive", seed=3, sensors=len(MARKUP_PROBES), start=date(2021, 1, 1),
             end=date(2021, 1, 31), locations=folder / "sensors.csv")
    with (folder / "sensors.csv").open() as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    for row, name in zip(rows[1:], MARKUP_PROBES, strict=True):
        row[1] = name
    with (folder / "sensors.csv").open("w", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows(rows)
    done = footfall("run", "--counts", str(folder / "counts.csv"), "--sensors", str(folder / "sensors.csv"), "--lake",
                    str(folder / "lake"))
    assert done.returncode == 0, done.stderr
    return folder / "lake"


def _write(writer: str, target: Path, lake: Path, spare: Path) -> subprocess.CompletedProcess[str]:
    if writer == "report --out":
        return footfall("report", "--lake", str(lake), "--out", str(target))
    if writer == "generate OUT":
        return footfall("generate", str(target), "--sensors", "2", "--end", "2019-01-02")
    if writer == "query --out":
        return footfall("query", "select * from locations", "--lake", str(lake), "--format", "csv", "--out",
                        str(target))
    return footfall("generate", str(spare), "--sensors", "2", "--end", "2019-01-02", "--locations", str(target))


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes | None]]:
    return {p.name: (p.lstat().st_mode, p.read_bytes() if stat.S_ISREG(p.lstat().st_mode) else None)
            for p in folder.iterdir()} if folder.is_dir() else {}


@pytest.mark.slow
@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize(("kind", "make", "word"), TARGET_PROBES, ids=[p[0] for p in TARGET_PROBES])
def test_an_output_path_that_is_not_a_regular_file_in_an_existing_folder_is_refused(
        lake: Path, tmp_path: Path, writer: str, kind: str, make: Callable[[Path], None], word: str) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = {"missing-folder": folder / "missing" / "answer.html",
              "folder-is-a-file": folder / "plain" / "answer.html"}.get(kind, folder / "answer.html")
    make(target)
    before = _snapshot(folder)
    line = one_error(_write(writer, target, lake, tmp_path / "counts.csv"))
    assert word in line and str(target) in line
    assert _snapshot(folder) == before, "nothing at the path, beside it or through it changed"
    assert not (folder / "missing").exists()
    assert not (tmp_path / "counts.csv").exists(), "every target is checked before anything is written"
    if kind == "symlink-to-file":
        assert (folder / "precious.txt").read_text() == "keep me"


def test_an_output_replaces_a_regular_file_and_leaves_nothing_beside_it(lake: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    done = footfall("report", "--lake", str(lake), "--out", str(target))
    assert done.returncode == 0, done.stderr
    assert target.read_text().startswith("<!doctype html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


@pytest.mark.slow
def test_a_write_that_fails_midway_leaves_the_previous_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "counts.csv"
    target.write_text("previous content\n")

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    done = footfall("generate", str(target), "--sensors", "20", "--end", "2019-03-01", preexec_fn=small_disk)
    assert one_error(done) == f"error: {target}: cannot be written: File too large"
    assert target.read_text() == "previous content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counts.csv"]


# --- Class 6: one line, never a traceback ------------------------------------------------------------------

# (the server's persistent fault, where, the flags, the exit code, what the line says)
SERVER_FAULT_PROBES = [
    ("soda-500", "/resource/", "500-now", ["--source", "socrata"], 1, "HTTP 500 after 5 attempts"),
    ("soda-503", "/resource/", "503-now", ["--source", "socrata"], 1, "HTTP 503 after 5 attempts"),
    ("soda-429", "/resource/", "429", ["--source", "socrata"], 1, "HTTP 429 after 5 attempts"),
    ("bulk-500", "/api/views/", "500-now", ["--source", "socrata", "--bulk-csv"], 1, "HTTP 500 after 5 attempts"),
    ("attachments-503", f"/api/v2/catalog/datasets/{COUNTS}/attachments", "503-now", [], 0, ""),
    ("archive-503", f"/api/datasets/1.0/{COUNTS}/attachments/", "503-now", [], 1, "HTTP 503 after 5 attempts"),
    ("export-500", EXPORT, "500-now", [], 1, "HTTP 500 after 5 attempts"),
]


@pytest.mark.parametrize(("name", "prefix", "fault", "flags", "code", "says"), SERVER_FAULT_PROBES,
                         ids=[p[0] for p in SERVER_FAULT_PROBES])
def test_a_server_failing_forever_is_one_line(portal: Portal, tmp_path: Path, name: str, prefix: str, fault: str,
                                              flags: list[str], code: int, says: str) -> None:
    portal.fail(prefix, fault, times=1000)
    url = ["--socrata-url", portal.url] if "socrata" in flags else ["--portal", portal.url]
    done = footfall("ingest", *flags, *url, "--lake", str(tmp_path / "lake"))
    if code == 0:
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        assert len([r for r in portal.requests if r["path"].startswith(prefix)]) == 5
    else:
        assert says in one_error(done, code)


@pytest.mark.parametrize("flags", [["--source", "socrata", "--socrata-url", "http://127.0.0.1:9"],
                                   ["--portal", "http://127.0.0.1:9"]])
@pytest.mark.slow
def test_a_refused_connection_is_one_line(tmp_path: Path, flags: list[str]) -> None:
    line = one_error(footfall("ingest", *flags, "--lake", str(tmp_path / "lake")))
    assert "ConnectError after 5 attempts" in line and "127.0.0.1:9" in line


@pytest.mark.slow
def test_ctrl_c_during_a_download_is_one_line_and_exit_130(portal: Portal, tmp_path: Path) -> None:
    """Typer turns a Ctrl-C outside footfall's own handlers into a silent exit 130; the user still reads why."""
    portal.fail(EXPORT, "stall", times=1)
    process = subprocess.Popen([sys.executable, "-m", "footfall", "ingest", "--portal", portal.url, "--lake",
                                str(tmp_path / "lake")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "COLUMNS": "200"})
    try:
        deadline = time.monotonic() + 60
        while not any(r["path"] == EXPORT for r in portal.requests):
            assert process.poll() is None and time.monotonic() < deadline, "the export was never asked for"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert stderr.rstrip("\n").splitlines()[-1] == "interrupted" and "Traceback" not in stderr, stderr


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


DAMAGE_PROBES = [("truncated", _truncate), ("garbage", lambda p: p.write_bytes(os.urandom(3000))),
                 ("empty", lambda p: p.write_bytes(b"")), ("text", lambda p: p.write_text("date,rank\n"))]
READERS = {"top": ["top"], "top-month": ["top", "--by", "month"], "top-json": ["top", "--format", "json"],
           "report": ["report", "--out", "{tmp}/r.html"]}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(("kind", "damage"), DAMAGE_PROBES, ids=[p[0] for p in DAMAGE_PROBES])
def test_a_damaged_curated_parquet_is_one_line_for_readers(lake: Path, tmp_path: Path, reader: str, kind: str,
                                                           damage: Callable[[Path], None]) -> None:
    copy = tmp_path / "lake"
    shutil.copytree(lake, copy, symlinks=True)
    for table in ("top10_by_day", "top10_by_month", "coverage"):
        damage(copy / "curated" / f"{table}.parquet")
    args = [a.format(tmp=tmp_path) for a in READERS[reader]]
    line = one_error(footfall(*args, "--lake", str(copy)))
    assert "the answers cannot be read" in line and "`footfall run` rebuilds them" in line


MANIFEST_PROBES = [("not-json", "{not json"), ("empty", ""), ("a-list", "[1, 2]"), ("no-fields", '{"file_id": "x"}'),
                   ("unknown-format", None)]


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "text"), MANIFEST_PROBES, ids=[p[0] for p in MANIFEST_PROBES])
def test_a_damaged_manifest_is_one_line_and_the_advice_works(lake: Path, tmp_path: Path, kind: str,
                                                             text: str | None) -> None:
    copy = tmp_path / "lake"
    shutil.copytree(lake, copy, symlinks=True)
    manifest = next((copy / "landing" / "counts").glob("*.manifest.json"))
    if text is None:
        text = json.dumps({**json.loads(manifest.read_text()), "format": "nope"})
    manifest.write_text(text)
    counts = str(lake.parent / "counts.csv")
    line = one_error(footfall("run", "--counts", counts, "--lake", str(copy)))
    assert str(manifest) in line and "damaged manifest" in line
    for reader in (["top"], ["report", "--out", str(tmp_path / "r.html")]):
        assert footfall(*reader, "--lake", str(copy)).returncode == 0, "readers do not need the manifests"
    manifest.unlink()
    assert footfall("run", "--counts", counts, "--lake", str(copy)).returncode == 0


def test_a_damaged_parsed_file_under_run_is_one_line(lake: Path, tmp_path: Path) -> None:
    copy = tmp_path / "lake"
    shutil.copytree(lake, copy, symlinks=True)
    for parsed in (copy / "transformed").glob("raw_*/*.parquet"):
        _truncate(parsed)
    line = one_error(footfall("run", "--counts", str(lake.parent / "counts.csv"), "--lake", str(copy)))
    assert "transformed/raw_" in line


@pytest.mark.slow
def test_an_unexpected_exception_is_one_line_and_debug_shows_its_traceback(tmp_path: Path) -> None:
    script = ("import sys, footfall.cli as cli\n"
              "@cli.app.command('boom')\n"
              "def boom() -> None:\n"
              "    raise ZeroDivisionError('the second line\\nis dropped')\n"
              "sys.argv[0] = 'footfall'\n"
              "cli.main()\n")
    plain = subprocess.run([sys.executable, "-c", script, "boom"], capture_output=True, text=True, timeout=60)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert plain.stderr.splitlines() == ["error: unexpected ZeroDivisionError: the second line (a bug in footfall: "
                                         "run again with --debug for the traceback)"]
    debug = subprocess.run([sys.executable, "-c", script, "--debug", "boom"], capture_output=True, text=True,
                           timeout=60)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "ZeroDivisionError" in debug.stderr


# --- Class 11 (markup): user text printed literally --------------------------------------------------------

MARKUP_PROBES = ["[bold]loud[/bold]", "x[/]", ":smile:", "[red]", "[link=http://e.org]y[/link]", ":thumbs_up:[/i]"]


@pytest.mark.parametrize("name", MARKUP_PROBES)
def test_a_lake_path_with_markup_is_printed_literally(tmp_path: Path, name: str) -> None:
    line = one_error(footfall("top", "--lake", str(tmp_path / name)))
    assert f"{tmp_path / name}: no top10_by_day in this lake yet" in line


@pytest.mark.parametrize("name", MARKUP_PROBES)
def test_a_run_on_a_lake_named_with_markup_prints_it_literally(tmp_path: Path, name: str) -> None:
    done = footfall("run", "--lake", name, "--counts", f"missing-{name}.csv", cwd=tmp_path)
    line = one_error(done)
    assert done.stderr.splitlines()[0] == f"melbourne -> {name}"
    assert name in line


def test_table_values_with_markup_are_printed_literally(lake: Path) -> None:
    done = footfall("top", "--by", "month", "--lake", str(lake))
    assert done.returncode == 0, done.stderr
    for name in MARKUP_PROBES:
        assert name in done.stdout
    assert "😄" not in done.stdout and "👍" not in done.stdout


def test_a_redirect_loop_is_one_line(portal: Portal, tmp_path: Path) -> None:
    portal.redirect("/loop", portal.url)
    line = one_error(footfall("ingest", "--counts", f"{portal.url}/loop/x.csv?token={SECRET}", "--lake",
                              str(tmp_path / "lake")))
    assert line == f"error: {portal.url}/loop/x.csv?token=***: more than 10 redirects"
    assert len([r for r in portal.requests if r["path"] == "/loop/x.csv"]) == 11


def test_reliability_md_counts_the_probes_the_suite_runs(stated_probes: Callable[[str], int]) -> None:
    """The catalogue's figures for classes 3, 5, 6 and 11 are the lengths of the probe lists above (a single test
    counts as one)."""
    assert stated_probes("45 probes") == (len(URL_SECRET_PROBES) + 1 + len(DOWNLOAD_SECRET_PROBES) + len(ECHO_PROBES)
                                          + len(REDIRECT_PROBES) + 1 + 1 + len(DOCTOR_SECRET_PROBES))
    assert stated_probes("naming a symlink") == len(TARGET_PROBES) * len(WRITERS)
    assert stated_probes("answering 500, 503 or 429 forever") == len(SERVER_FAULT_PROBES) + 2
    assert stated_probes("damaged manifest") == len(MANIFEST_PROBES)
    assert stated_probes("curated Parquet under") == len(DAMAGE_PROBES) * len(READERS)
    assert stated_probes("`:smile:`") == 2 * len(MARKUP_PROBES) + 1
