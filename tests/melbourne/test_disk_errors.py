"""When the disk or the lake's path is at fault, one line names the input or file, the step, and what to do:
a full disk (a real small tmpfs), a file size limit, a read-only file system, a lake path that is a file or lies
under one. Nothing half-landed or half-published is left behind."""

from __future__ import annotations

import resource
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from support.cli import one_line_error
from support.cli import wide as footfall
from support.portal import COUNTS as COUNTS_DATASET
from support.portal import Portal, portal_data

COUNTS = "ods_counts_export_labels_2025-10_5000.csv"  # 392 KB; its lake takes about 1.6 MB
FULL = "no space left on the disk: free some space, or use a lake on another disk"


def one_error(done: subprocess.CompletedProcess[str]) -> str:
    """The only error line, the last on stderr, with no traceback and nothing of DuckDB's internals."""
    line = one_line_error(done)
    assert "IO Error" not in done.stderr, done.stderr
    return line


@contextmanager
def tmpfs(path: Path, size: str, *options: str) -> Iterator[Path]:
    """A real file system of ``size`` at ``path``; skipped where mounting is not permitted (not root)."""
    path.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a small file system")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()}): needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _grow(path: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True, capture_output=True)


def _landed(lake: Path) -> list[str]:
    folder = lake / "landing" / "counts"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("command", [pytest.param("run", marks=pytest.mark.slow), "ingest"])
def test_a_full_disk_while_landing_names_the_input_the_step_and_what_to_do(real: Path, tmp_path: Path,
                                                                           command: str) -> None:
    with tmpfs(tmp_path / "small", "300k") as disk:
        counts = real / COUNTS
        line = one_error(footfall(command, "--counts", str(counts), "--lake", str(disk / "lake")))
        assert line == (f"error: {counts}: landing it into {disk / 'lake' / 'landing' / 'counts'} failed, nothing was "
                        f"landed: {FULL}")
        assert _landed(disk / "lake") == [], "no part of the copy is left"
        _grow(disk, "8m")
        assert footfall(command, "--counts", str(counts), "--lake", str(disk / "lake")).returncode == 0


@pytest.mark.parametrize("source", ["export", "socrata"])
def test_a_full_disk_while_downloading_names_the_url_the_step_and_what_to_do(files: dict[str, Path], tmp_path: Path,
                                                                             source: str) -> None:
    with Portal(portal_data(files)) as portal, tmpfs(tmp_path / "small", "8k") as disk:
        if source == "export":
            url = f"{portal.url}/api/explore/v2.1/catalog/datasets/{COUNTS_DATASET}/exports/csv?delimiter=%3B"
            args = ["--counts", url]
        else:
            url = f"{portal.url}/resource/b2ak-trbp.json"
            args = ["--source", "socrata", "--socrata-url", portal.url, "--sensors-dataset", ""]
        line = one_error(footfall("ingest", *args, "--lake", str(disk / "lake")))
        assert line.startswith(f"error: {url}: downloading it into {disk / 'lake' / 'landing' / '_incoming'}")
        assert line.endswith(f"failed, nothing was landed: {FULL}")
        assert [p for p in (disk / "lake" / "landing").rglob("*") if p.is_file()] == []


@pytest.mark.slow
@pytest.mark.parametrize("size", ["450k", "600k", "1000k", "1500k"])
def test_a_full_disk_after_landing_is_one_line_naming_the_step_and_publishes_nothing(real: Path, tmp_path: Path,
                                                                                     size: str) -> None:
    """Sizes that fill the disk while parsing, or in one of the steps: each is named, with the file."""
    with tmpfs(tmp_path / "small", size) as disk:
        lake = disk / "lake"
        line = one_error(footfall("run", "--counts", str(real / COUNTS), "--lake", str(lake)))
        assert FULL in line or "out of disk space while parsing" in line
        if "while parsing" not in line:
            step, _, rest = line.removeprefix("error: ").partition(": ")
            assert step.isidentifier() and rest.startswith(f"cannot write {lake}/_staging/"), line
            assert line.endswith("; nothing was published")
        assert not (lake / ".published").exists()
        _grow(disk, "8m")
        assert footfall("run", "--lake", str(lake), "--counts", str(real / COUNTS)).returncode == 0
        assert (lake / ".published").exists()


@pytest.mark.slow
def test_a_file_size_limit_while_landing_is_one_line_saying_so(real: Path, tmp_path: Path) -> None:
    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    counts = real / COUNTS
    done = footfall("run", "--counts", str(counts), "--lake", str(tmp_path / "lake"), timeout=120,
                    preexec_fn=limited)
    assert one_error(done) == (f"error: {counts}: landing it into {tmp_path / 'lake' / 'landing' / 'counts'} failed, "
                               "nothing was landed: file too large for this process's file size limit (ulimit -f): "
                               "raise the limit")
    assert _landed(tmp_path / "lake") == []


# Every command that takes --lake, as a user types it (`{lake}` is the lake path); a writer and a reader run
# in the fast suite, the others are slow.
COMMANDS = [
    ["run", "--counts", "{counts}", "--lake", "{lake}"],
    ["ingest", "--counts", "{counts}", "--lake", "{lake}"],
    ["top", "--by", "month", "--lake", "{lake}"],
    ["report", "--lake", "{lake}", "--out", "{tmp}/r.html"],
    ["query", "select * from locations", "--lake", "{lake}"],
    ["pipeline", "run", "{pipeline}", "--lake", "{lake}"],
]
FAST = ("run", "top")


def _each(commands: list[list[str]]) -> list:
    return [pytest.param(c, id="-".join(c[:2]) if c[0] == "pipeline" else c[0],
                         marks=() if c[0] in FAST else pytest.mark.slow) for c in commands]


def _args(command: list[str], lake: Path, tmp_path: Path, real: Path) -> list[str]:
    from footfall.melbourne.schema import PIPELINE_DIR

    values = {"lake": str(lake), "tmp": str(tmp_path), "counts": str(real / COUNTS), "pipeline": str(PIPELINE_DIR)}
    return [a.format(**values) for a in command]


@pytest.mark.parametrize("command", _each(COMMANDS))
def test_a_lake_path_that_is_a_file_or_under_one_is_one_line_saying_so(real: Path, tmp_path: Path,
                                                                      command: list[str]) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("not a lake")
    line = one_error(footfall(*_args(command, afile, tmp_path, real)))
    assert line == f"error: {afile}: is a file, not a folder: a lake is a folder (give another path)"
    line = one_error(footfall(*_args(command, afile / "lake", tmp_path, real)))
    assert line == f"error: {afile / 'lake'}: cannot be a lake: {afile} is a file, not a folder"
    assert afile.read_text() == "not a lake"


@pytest.mark.parametrize("command", _each([c for c in COMMANDS if c[0] in ("run", "ingest", "pipeline")]))
def test_a_lake_on_a_read_only_file_system_is_one_line_saying_so(real: Path, tmp_path: Path,
                                                                command: list[str]) -> None:
    with tmpfs(tmp_path / "ro", "1m", "ro") as disk:
        line = one_error(footfall(*_args(command, disk / "lake", tmp_path, real)))
        assert line == (f"error: {disk / 'lake'}: cannot create the lake: the file system is read-only: use a lake "
                        "on a writable disk")


def test_doctor_says_a_lake_on_a_file_or_a_read_only_disk_in_one_line(tmp_path: Path) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("not a lake")
    lines = {}
    with tmpfs(tmp_path / "ro", "1m", "ro") as disk:
        for name, lake in (("file", afile), ("under", afile / "lake"), ("ro", disk / "lake")):
            done = footfall("doctor", "--lake", str(lake), "--portal", "http://127.0.0.1:9")
            lines[name] = [line for line in done.stdout.splitlines() if " Lake " in line]
    assert lines == {
        "file": [f"missing  Lake     {afile}: is a file, not a folder: a lake is a folder (give another path)"],
        "under": [f"missing  Lake     {afile / 'lake'}: cannot be a lake: {afile} is a file, not a folder"],
        "ro": [f"missing  Lake     {tmp_path / 'ro' / 'lake'} is not writable: the file system is read-only: use a "
               "lake on a writable disk"],
    }
