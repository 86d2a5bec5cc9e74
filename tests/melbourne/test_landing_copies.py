"""Landing copies a file once and exactly: one read to hash and copy it, a copy that does not follow later edits
of the user's file, a file changing while it is copied stored as hashed or refused, and only regular files read
(a pipe, a socket or a device is refused up front instead of hanging)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.cli import footfall, one_line_error
from support.counts import LEGACY_HEADER, ODS_HEADER, archive_row, ods_row, write_archive_rows

from footfall.errors import InputError
from footfall.lake.local import LocalLake
from footfall.melbourne.landing import land_file
from footfall.melbourne.run import run

OPENS = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from footfall.lake.local import LocalLake
    from footfall.melbourne.landing import land_file

    source, lake = Path(sys.argv[1]), LocalLake.at(sys.argv[2])
    lake.ensure()
    opened = []

    def hook(event, args):
        if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)) and os.fsdecode(args[0]) == str(source):
            opened.append(event)

    sys.addaudithook(hook)
    landed, new = land_file(lake, source, "counts")
    print(json.dumps({"opens": len(opened), "new": new, "name": landed.name, "sha256": landed.sha256}))
""")


def test_landing_a_new_file_opens_it_once_to_hash_and_copy_besides_the_format_sniff(tmp_path: Path) -> None:
    import json

    source = write_archive_rows(tmp_path / "counts.csv", [archive_row(i, 1 + i % 5, 1 + i // 120 % 28, i % 24, i)
                                             for i in range(1, 5000)])
    done = subprocess.run([sys.executable, "-c", OPENS, str(source), str(tmp_path / "lake")], capture_output=True,
                          text=True, timeout=120, check=True)
    outcome = json.loads(done.stdout)
    assert outcome["new"] and outcome["opens"] == 2, "one open to sniff the format, one to hash and copy"
    stored = tmp_path / "lake" / "landing" / "counts" / outcome["name"]
    assert stored.read_bytes() == source.read_bytes()
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == outcome["sha256"]


@pytest.mark.slow
def test_the_landed_copy_does_not_follow_later_edits_of_the_users_file(tmp_path: Path) -> None:
    source = write_archive_rows(tmp_path / "counts.csv", [archive_row(1, 1, 1, 9, 10)])
    lake = LocalLake.at(str(tmp_path / "lake"))
    landed = run(lake, [str(source)]).landed[0]
    stored = tmp_path / "lake" / "landing" / "counts" / landed.name
    kept = stored.read_bytes()
    assert os.stat(stored).st_ino != os.stat(source).st_ino and os.stat(source).st_nlink == 1
    with source.open("r+b") as handle:  # edited in place, as an editor saving over it would
        handle.seek(len(kept) - 3)
        handle.write(b"99\n")
    assert stored.read_bytes() == kept
    assert hashlib.sha256(kept).hexdigest() == landed.sha256


# ---- only regular files --------------------------------------------------------------------------------

def _fifo(folder: Path) -> Path:
    path = folder / "counts.csv"
    os.mkfifo(path)
    return path


def _socket(folder: Path) -> Path:
    path = folder / "counts.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    return path


def _in_folder(folder: Path) -> Path:
    (folder / "in").mkdir()
    os.mkfifo(folder / "in" / "counts.csv")
    return folder / "in"


def _linked(folder: Path) -> Path:
    os.mkfifo(folder / "pipe")
    (folder / "counts.csv").symlink_to(folder / "pipe")
    return folder / "counts.csv"


# (what, how to make it, the flag, how the path is given, what the error says it is)
NON_REGULAR_PROBES = [
    ("fifo", _fifo, "--counts", "{}", "a FIFO (named pipe)"),
    ("fifo as sensors", _fifo, "--sensors", "{}", "a FIFO (named pipe)"),
    ("socket", _socket, "--counts", "{}", "a socket"),
    ("character device", lambda _: Path("/dev/zero"), "--counts", "{}", "a character device"),
    ("fifo in a folder", _in_folder, "--counts", "{}", "a FIFO (named pipe)"),
    ("fifo matched by a glob", _in_folder, "--counts", "{}/*.csv", "a FIFO (named pipe)"),
    ("symlink to a fifo", _linked, "--counts", "{}", "a FIFO (named pipe)"),
]


@pytest.mark.parametrize(("what", "make", "flag", "given", "kind"), NON_REGULAR_PROBES,
                         ids=[p[0] for p in NON_REGULAR_PROBES])
@pytest.mark.slow
def test_a_fifo_socket_or_device_is_refused_up_front_instead_of_hanging(tmp_path: Path, what: str, make, flag: str,
                                                                        given: str, kind: str) -> None:
    path = make(tmp_path)
    lake = tmp_path / "lake"
    args = [flag, given.format(path)]
    if flag == "--sensors":
        good = tmp_path / "good.csv"
        good.write_text(ODS_HEADER + ods_row())
        args += ["--counts", str(good)]
    line = one_line_error(footfall("run", *args, "--lake", str(lake), timeout=60))
    assert line.endswith(f": is {kind}, not a regular file: give a file (footfall never reads pipes or devices)")
    assert not (lake / "landing").exists() or not any((lake / "landing").rglob("*.*"))
    with LocalLake.at(lake).lock():
        pass  # the lock is free again


def test_landing_opens_a_path_that_became_a_fifo_without_blocking(tmp_path: Path) -> None:
    """Between the listing and the read a file may be replaced: the read itself refuses a FIFO."""
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    with pytest.raises(InputError, match="is a FIFO"):
        land_file(lake, _fifo(tmp_path), "counts")


# ---- a file that changes while it is copied -----------------------------------------------

# The source is changed from inside the landing process at a chosen moment, through an audit hook on
# `open` (so the moment is exact): at every open of the source after the first, or when the stored copy
# is opened for writing (after the source is open, before a byte of it is read).
CHANGE_SCRIPT = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from footfall.errors import InputError
    from footfall.lake.local import LocalLake
    from footfall.melbourne.landing import land_file
    source, lake, when, how = Path(sys.argv[1]), LocalLake.at(sys.argv[2]), sys.argv[3], sys.argv[4]
    header, row = source.read_text().splitlines(keepends=True)[:2]
    versions = [source.read_bytes()]
    opened = {"source": 0}

    def change():
        last = versions[-1]
        if how == "truncate":
            content = (header + row).encode()
        elif how == "rewrite":  # the same size, one digit changed
            content = last[:-2] + (b"1" if last[-2:-1] == b"0" else b"0") + b"\\n"
        else:
            content = last + row.encode()
        versions.append(content)
        if how == "replace":
            source.with_name("new").write_bytes(content)
            os.replace(source.with_name("new"), source)
        else:
            with open(os.open(source, os.O_WRONLY | os.O_TRUNC), "wb") as handle:
                handle.write(content)

    def hook(event, args):
        if event != "open" or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        name = os.fsdecode(args[0])
        if name == str(source) and args[2] is not None and not (args[2] & (os.O_WRONLY | os.O_RDWR)):
            opened["source"] += 1
            if when == "reopen" and opened["source"] > 1:
                change()
        elif when == "store" and name.endswith(".part") and "landing" in name:
            change()

    sys.addaudithook(hook)
    try:
        landed, _ = land_file(lake, source, "counts")
    except InputError as e:
        print(json.dumps({"error": str(e)}))
    else:
        stored = lake.root / "landing" / "counts" / landed.name
        print(json.dumps({"sha256": landed.sha256, "bytes": landed.bytes, "file_id": landed.file_id,
                          "header": list(landed.header), "stored": stored.read_text(),
                          "versions": [v.decode() for v in versions]}))
""")

CHANGE_PROBES = [(when, how) for when in ("reopen", "store") for how in ("append", "truncate", "rewrite", "replace")]


@pytest.mark.slow
@pytest.mark.parametrize(("when", "how"), CHANGE_PROBES)
def test_a_file_changing_while_it_is_landed_is_stored_as_hashed_or_refused(tmp_path: Path, when: str,
                                                                           how: str) -> None:
    source = tmp_path / "counts.csv"
    source.write_text(LEGACY_HEADER + "".join(f"{i},11/01/2019 05:00:00 PM,2019,November,1,Friday,17,34,A,300\n"
                                              for i in range(1, 2000)))
    done = subprocess.run([sys.executable, "-c", CHANGE_SCRIPT, str(source), str(tmp_path / "lake"), when, how],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    landing = tmp_path / "lake" / "landing" / "counts"
    if "error" in outcome:
        assert outcome["error"] == (f"{source}: changed while it was being copied into the lake; nothing was "
                                    "landed: give it again once it is complete")
        assert not any(landing.iterdir())
        return
    import hashlib

    stored = outcome["stored"].encode()
    assert hashlib.sha256(stored).hexdigest() == outcome["sha256"], "the manifest's hash is of what is stored"
    assert outcome["file_id"] == outcome["sha256"][:20] and outcome["bytes"] == len(stored)
    assert outcome["stored"] in outcome["versions"], "what is stored is one whole version of the file"
    assert [p.name for p in landing.iterdir() if p.suffix == ".part"] == []
