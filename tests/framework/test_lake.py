from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from footfall.errors import LakeError
from footfall.lake.journal import JOURNAL
from footfall.lake.local import LocalLake


def test_paths_from_config_cannot_escape_the_lake(tmp_path: Path) -> None:
    lake = LocalLake.at(tmp_path)
    for bad in ("../x", "/etc/passwd", "a/../../b", "s3://bucket/x"):
        with pytest.raises(LakeError):
            lake.path("curated", bad)
    with pytest.raises(LakeError, match="unknown zone"):
        lake.path("attic", "x")


def _hold_lock(root: str, ready, release) -> None:
    with LocalLake.at(root).lock():
        ready.set()
        release.wait(30)


def test_a_second_writer_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(tmp_path), ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(LakeError, match=rf"in use by footfall pid {holder.pid}"), LocalLake.at(tmp_path).lock():
            pass
    finally:
        release.set()
        holder.join(10)
    with LocalLake.at(tmp_path).lock():
        pass


ASK_FOR_THE_LOCK = """
import sys
from footfall.errors import LakeError
from footfall.lake.local import LocalLake
try:
    with LocalLake.at(sys.argv[1]).lock():
        print("acquired")
except LakeError as e:
    print(e)
"""


def another_process_asks_for_the_lock(root: Path) -> list[str]:
    """What a separate process (not a fork, which would inherit this one's holds) is told; its output lines."""
    done = subprocess.run([sys.executable, "-c", ASK_FOR_THE_LOCK, str(root)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.slow
def test_a_second_hold_is_refused_even_in_the_holding_process_and_the_first_hold_survives_it(tmp_path: Path) -> None:
    """A run locks once and hands the held lake down; a second hold anywhere is another writer."""
    refused = f"{tmp_path}: the lake is in use by footfall pid {os.getpid()}; try again when it ends"
    lake = LocalLake.at(tmp_path)
    with lake.lock():
        with pytest.raises(LakeError) as second, LocalLake.at(tmp_path).lock():
            pass
        assert str(second.value) == refused
        assert another_process_asks_for_the_lock(tmp_path) == [refused], "the refused hold released the lake"
    assert another_process_asks_for_the_lock(tmp_path) == ["acquired"]


def _hold_lock_forever(root: str) -> None:
    with LocalLake.at(root).lock():
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_crashed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    proc = multiprocessing.get_context("fork").Process(target=_hold_lock_forever, args=(str(tmp_path),))
    proc.start()
    proc.join(10)
    assert proc.exitcode == -signal.SIGKILL
    with LocalLake.at(tmp_path).lock():
        pass


def test_unjournaled_staging_is_dropped_and_journaled_staging_rolls_forward(tmp_path: Path) -> None:
    lake = LocalLake.at(tmp_path)
    lake.ensure()
    (lake.root / "curated/a.csv").write_text("old\n")
    abandoned = lake.stage("run-1")
    abandoned.path("curated", "a.csv").write_text("abandoned\n")
    assert lake.recover() == []
    assert not abandoned.folder.exists()
    committed = lake.stage("run-2")
    committed.path("curated", "a.csv").write_text("new\n")
    part = committed.path("transformed", "t/m=1/part-0.parquet")
    part.write_text("x")
    committed.mark_directory("transformed", "t")
    entries = committed.staged()
    assert entries == [("transformed", "t"), ("curated", "a.csv")]
    (committed.folder / JOURNAL).write_text('[["curated", "a.csv"], ["transformed", "t"]]')
    assert (lake.root / "curated/a.csv").read_text() == "old\n"
    assert [notice.run_id for notice in lake.recover()] == ["run-2"]
    assert (lake.root / "curated/a.csv").read_text() == "new\n"
    assert (lake.root / "transformed/t/m=1/part-0.parquet").read_text() == "x"
    assert (lake.root / "transformed/t").is_symlink()


def test_publishing_a_directory_twice_keeps_one_version(tmp_path: Path) -> None:
    lake = LocalLake.at(tmp_path)
    lake.ensure()
    for run_id, value in (("r1", "one"), ("r2", "two")):
        staging = lake.stage(run_id)
        staging.path("transformed", "t/part.txt").write_text(value)
        staging.mark_directory("transformed", "t")
        staging.publish()
    assert (lake.root / "transformed/t/part.txt").read_text() == "two"
    assert [p.name for p in (lake.root / "transformed/_versions/t").iterdir()] == ["r2"]


def test_a_merge_publish_replaces_only_the_partitions_it_holds(tmp_path: Path) -> None:
    lake = LocalLake.at(tmp_path)
    lake.ensure()
    first = lake.stage("r1")
    for part, value in (("m=1", "one"), ("m=2", "two")):
        first.path("transformed", f"t/{part}/part-0.parquet").write_text(value)
    first.mark_directory("transformed", "t")
    first.publish()
    kept = (lake.root / "transformed/t/m=1/part-0.parquet").stat().st_ino
    second = lake.stage("r2")
    second.path("transformed", "t/m=2/part-0.parquet").write_text("TWO")
    second.path("transformed", "t/m=3/part-0.parquet").write_text("three")
    second.mark_directory("transformed", "t", merge=True)
    second.publish()
    root = lake.root / "transformed/t"
    assert {p.parent.name: p.read_text() for p in root.rglob("part-0.parquet")} == {
        "m=1": "one", "m=2": "TWO", "m=3": "three"}
    assert (root / "m=1/part-0.parquet").stat().st_ino == kept, "carried over as a hard link"
    assert not (root / "_MERGE").exists()
