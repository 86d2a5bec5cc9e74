"""Outputs are written only as regular files in existing folders: whatever sits at the path (a symlink, a FIFO,
a device, a folder) is refused before anything is written, and a write that fails midway leaves the previous file
whole."""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from support.cli import own_words_error
from support.cli import wide as footfall

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
        markup_lake: Path, tmp_path: Path, writer: str, kind: str, make: Callable[[Path], None], word: str) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = {"missing-folder": folder / "missing" / "answer.html",
              "folder-is-a-file": folder / "plain" / "answer.html"}.get(kind, folder / "answer.html")
    make(target)
    before = _snapshot(folder)
    line = own_words_error(_write(writer, target, markup_lake, tmp_path / "counts.csv"))
    assert word in line and str(target) in line
    assert _snapshot(folder) == before, "nothing at the path, beside it or through it changed"
    assert not (folder / "missing").exists()
    assert not (tmp_path / "counts.csv").exists(), "every target is checked before anything is written"
    if kind == "symlink-to-file":
        assert (folder / "precious.txt").read_text() == "keep me"


def test_an_output_replaces_a_regular_file_and_leaves_nothing_beside_it(markup_lake: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    done = footfall("report", "--lake", str(markup_lake), "--out", str(target))
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
    assert own_words_error(done) == f"error: {target}: cannot be written: File too large"
    assert target.read_text() == "previous content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counts.csv"]
