"""One line, never a traceback: a server failing forever, a refused connection, Ctrl-C, damaged answers, manifests
or parsed files, and even a bug each end in a single line (the bug's traceback only with --debug)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.cli import own_words_error
from support.cli import wide as footfall
from support.portal import COUNTS, EXPORT, Portal

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
        assert says in own_words_error(done, code)


@pytest.mark.parametrize("flags", [["--source", "socrata", "--socrata-url", "http://127.0.0.1:9"],
                                   ["--portal", "http://127.0.0.1:9"]])
@pytest.mark.slow
def test_a_refused_connection_is_one_line(tmp_path: Path, flags: list[str]) -> None:
    line = own_words_error(footfall("ingest", *flags, "--lake", str(tmp_path / "lake")))
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
def test_a_damaged_curated_parquet_is_one_line_for_readers(markup_lake: Path, tmp_path: Path, reader: str, kind: str,
                                                           damage: Callable[[Path], None]) -> None:
    copy = tmp_path / "lake"
    shutil.copytree(markup_lake, copy, symlinks=True)
    for table in ("top10_by_day", "top10_by_month", "coverage"):
        damage(copy / "curated" / f"{table}.parquet")
    args = [a.format(tmp=tmp_path) for a in READERS[reader]]
    line = own_words_error(footfall(*args, "--lake", str(copy)))
    assert "the answers cannot be read" in line and "`footfall run` rebuilds them" in line


MANIFEST_PROBES = [("not-json", "{not json"), ("empty", ""), ("a-list", "[1, 2]"), ("no-fields", '{"file_id": "x"}'),
                   ("unknown-format", None)]


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "text"), MANIFEST_PROBES, ids=[p[0] for p in MANIFEST_PROBES])
def test_a_damaged_manifest_is_one_line_and_the_advice_works(markup_lake: Path, tmp_path: Path, kind: str,
                                                             text: str | None) -> None:
    copy = tmp_path / "lake"
    shutil.copytree(markup_lake, copy, symlinks=True)
    manifest = next((copy / "landing" / "counts").glob("*.manifest.json"))
    if text is None:
        text = json.dumps({**json.loads(manifest.read_text()), "format": "nope"})
    manifest.write_text(text)
    counts = str(markup_lake.parent / "counts.csv")
    line = own_words_error(footfall("run", "--counts", counts, "--lake", str(copy)))
    assert str(manifest) in line and "damaged manifest" in line
    for reader in (["top"], ["report", "--out", str(tmp_path / "r.html")]):
        assert footfall(*reader, "--lake", str(copy)).returncode == 0, "readers do not need the manifests"
    manifest.unlink()
    assert footfall("run", "--counts", counts, "--lake", str(copy)).returncode == 0


def test_a_damaged_parsed_file_under_run_is_one_line(markup_lake: Path, tmp_path: Path) -> None:
    copy = tmp_path / "lake"
    shutil.copytree(markup_lake, copy, symlinks=True)
    for parsed in (copy / "transformed").glob("raw_*/*.parquet"):
        _truncate(parsed)
    line = own_words_error(footfall("run", "--counts", str(markup_lake.parent / "counts.csv"), "--lake", str(copy)))
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
