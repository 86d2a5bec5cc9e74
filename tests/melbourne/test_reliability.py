"""Nothing lost, nothing half-written: crashes, concurrent runs and bad input, through the real CLI."""

from __future__ import annotations

import multiprocessing
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from support.cli import answers, footfall
from support.counts import LEGACY_HEADER
from support.synthetic import make_rows, write_archive, write_revision

from footfall.lake.local import LocalLake

KILL_POINTS = 20
SEED = 20261124



def hourly_rows(lake: Path) -> list[tuple]:
    return duckdb.sql(f"select * from read_parquet('{lake}/transformed/hourly_counts/**/"
                      "*.parquet', hive_partitioning = false) order by location_id, ts").fetchall()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    rows = make_rows()
    write_archive(rows, folder / "archive.csv")
    write_revision(rows, folder / "live.csv")
    reference = folder / "reference"
    assert footfall("run", "--counts", str(folder / "archive.csv"), "--lake", str(reference)).returncode == 0
    baseline = folder / "baseline"
    shutil.copytree(reference, baseline, symlinks=True)
    assert footfall("run", "--counts", str(folder / "live.csv"), "--lake", str(reference)).returncode == 0
    return {"folder": folder, "archive": folder / "archive.csv", "live": folder / "live.csv",
            "baseline": baseline, "reference": reference}


@pytest.mark.slow
def test_sigkill_at_random_points_never_breaks_the_answers(inputs: dict[str, Path], tmp_path: Path) -> None:
    """Kill `footfall run` at seeded random moments; the previous answers stay intact and readable, and the
    next run ends with exactly the answers of an uninterrupted run."""
    before, after = answers(inputs["baseline"]), answers(inputs["reference"])
    assert before != after
    started = time.perf_counter()
    probe = tmp_path / "probe"
    shutil.copytree(inputs["baseline"], probe, symlinks=True)
    assert footfall("run", "--counts", str(inputs["live"]), "--lake", str(probe)).returncode == 0
    duration = time.perf_counter() - started
    rng = random.Random(SEED)
    phases: dict[str, int] = {}
    for i in range(KILL_POINTS):
        lake = tmp_path / f"lake{i}"
        shutil.copytree(inputs["baseline"], lake, symlinks=True)
        proc = subprocess.Popen([sys.executable, "-m", "footfall", "run", "--counts", str(inputs["live"]),
                                 "--lake", str(lake)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        phase = _phase(lake, after)
        phases[phase] = phases.get(phase, 0) + 1
        now = answers(lake)
        assert set(now) == set(before)
        for name, content in now.items():
            assert content in (before[name], after[name]), f"kill {i}: {name} is neither the old nor the new answer"
        for name in now:
            duckdb.sql(f"select count(*) from read_csv('{lake}/curated/{name}')").fetchall()
        again = footfall("run", "--counts", str(inputs["live"]), "--lake", str(lake))
        assert again.returncode == 0, again.stderr
        assert answers(lake) == after, f"kill {i} ({phase}): the next run differs from an uninterrupted run"
        assert hourly_rows(lake) == hourly_rows(inputs["reference"])
        assert not any((lake / "_staging").iterdir())
    print(f"\nkill points by phase reached: {dict(sorted(phases.items()))}")


def _phase(lake: Path, after: dict[str, bytes]) -> str:
    """How far a killed run got: by what it left in the lake."""
    if answers(lake) == after:
        return "published"
    if any((lake / "_staging").glob("*/PUBLISH")):
        return "publishing"
    if any((lake / "_staging").iterdir()):
        return "writing outputs"
    manifests = list((lake / "landing" / "counts").glob("*.manifest.json"))
    raws = list((lake / "transformed" / "raw_counts").glob("*.parquet"))
    if len(raws) >= 2:
        return "transforming"
    if len(manifests) >= 2:
        return "parsing"
    return "starting or landing"


@pytest.mark.slow
def test_two_runs_give_byte_identical_csvs_and_the_same_parquet_rows(inputs: dict[str, Path],
                                                                     tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(inputs["reference"], lake, symlinks=True)
    first_csv, first_rows = answers(lake), hourly_rows(lake)
    done = footfall("run", "--counts", str(inputs["archive"]), "--counts", str(inputs["live"]), "--lake", str(lake))
    assert done.returncode == 0
    assert "0 file(s) landed, 2 unchanged, 0 parsed" in done.stderr
    assert answers(lake) == first_csv
    assert hourly_rows(lake) == first_rows


def _hold(root: str, ready) -> None:
    with LocalLake.at(root).lock():
        ready.set()
        time.sleep(600)


@pytest.mark.slow
def test_a_second_run_on_a_busy_lake_exits_with_a_clear_message_and_a_dead_holder_frees_it(
        inputs: dict[str, Path], tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(lake), ready))
    holder.start()
    try:
        assert ready.wait(10)
        busy = footfall("run", "--counts", str(inputs["live"]), "--lake", str(lake))
        assert busy.returncode == 1
        assert busy.stderr.strip().splitlines()[-1] == (
            f"error: {lake}: the lake is in use by footfall pid {holder.pid}; try again when it ends")
        assert not (lake / "curated").exists() or not any((lake / "curated").iterdir())
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(10)
    assert footfall("run", "--counts", str(inputs["live"]), "--lake", str(lake)).returncode == 0


GOOD = "1,11/01/2019 05:00:00 PM,2019,November,1,Friday,17,34,Flinders St-Spark La,300\n"


@pytest.mark.parametrize(("name", "content", "code", "message"), [
    ("empty.csv", b"", 1, "empty file"),
    ("header.csv", LEGACY_HEADER.encode(), 1, "has no data rows"),
    ("garbage.bin", bytes(range(256)) * 4, 1, "binary content, not CSV, JSON, XLSX or Parquet"),
    ("tabs.tsv", LEGACY_HEADER.replace(",", "\t").encode() + GOOD.replace(",", "\t").encode(), 1,
     "matches no known format"),
    ("object.json", b'{"sensor_id": "1", "date_time": "2019-11-01T17:00:00.000"}', 1, "matches no known format"),
    ("renamed.csv", LEGACY_HEADER.replace("Hourly_Counts", "Hourly_Count").encode() + GOOD.encode(), 1,
     "header 'ID,Date_Time,Year,Month,Mdate,Day,Time,Sensor_ID,Sensor_Name,Hourly_Count'"),
])
def test_unusable_files_fail_with_one_line_and_publish_nothing(tmp_path: Path, name: str, content: bytes,
                                                               code: int, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    done = footfall("run", "--counts", str(path), "--lake", str(tmp_path / "lake"))
    assert done.returncode == code
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {path}: ") and message in last
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "lake" / "curated").exists() or not any((tmp_path / "lake" / "curated").iterdir())


def test_bad_rows_are_quarantined_with_reasons_and_good_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(LEGACY_HEADER + GOOD
                    + '2,"November 01, 2019 06:00:00 PM",2019,November,1,Friday,18,34,Flinders St-Spark La,'
                    + '"1,200"\n'
                    + "3,01-Nov-2019 19:00,2019,November,1,Friday,19,34,Flinders St-Spark La,-5\n"
                    + "4,01-Nov-2019 20:00,2019,November,1,Friday,20,34,Flinders St-Spark La,many\n"
                    + "5,01-Nov-2019 21:00,2019,November,1,Friday,21,34,Flinders St-Spark La,99999999999999999999\n"
                    + "6,01-Nov-2019 22:00,2019,November,1,Friday,22,999,Nowhere Lane,7\n"
                    + GOOD
                    + "7,01-Nov-2019 23:00,2019,November,1,Fri")
    lake = tmp_path / "lake"
    done = footfall("run", "--counts", str(path), "--lake", str(lake), "--strict")
    assert done.returncode == 4, done.stderr
    assert "5 row(s) quarantined" in done.stderr
    summary = duckdb.sql(f"select reason, rows_quarantined from '{lake}/curated/quarantine_summary.parquet' "
                         "order by reason").fetchall()
    assert [r[0].split(":")[0] for r in summary] == [
        "exact duplicate of another row", "implausible count (over 1,000,000 in an hour)", "malformed CSV line 9",
        "missing or non-numeric count", "negative count"]
    assert sum(r[1] for r in summary) == 5
    daily = duckdb.sql(f"select location_id, location, pedestrians from '{lake}/curated/daily_counts.parquet' "
                       "order by location_id").fetchall()
    assert daily == [(34, "Flinders St-Spark La", 300 + 1200), (999, "Nowhere Lane", 7)]


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_leaves_the_lake_as_it_was(inputs: dict[str, Path], tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(inputs["baseline"], lake, symlinks=True)
    before = answers(lake)

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    done = subprocess.run([sys.executable, "-m", "footfall", "run", "--counts", str(inputs["live"]), "--lake",
                           str(lake)], capture_output=True, text=True, timeout=300, preexec_fn=small_disk)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "Traceback" not in done.stderr
    assert "File too large" in last or "too large" in last.lower()
    assert answers(lake) == before
    assert footfall("run", "--counts", str(inputs["live"]), "--lake", str(lake)).returncode == 0
    assert answers(lake) == answers(inputs["reference"])


def test_missing_and_dangling_paths_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "dangling.csv").symlink_to(tmp_path / "nowhere.csv")
    for path in (tmp_path / "missing.csv", tmp_path / "dangling.csv", tmp_path / "empty-dir"):
        if path.name == "empty-dir":
            path.mkdir()
        done = footfall("run", "--counts", str(path), "--lake", str(tmp_path / "lake"))
        assert done.returncode == 1
        assert done.stderr.strip().splitlines()[-1] in (f"error: {path}: no such file",
                                                       f"error: {path}: no files match")


def test_a_config_path_cannot_escape_the_lake(make_pipeline, tmp_path: Path) -> None:
    root = make_pipeline("name: p\nsources:\n  s: {path: ../../etc/passwd, format: csv}\n")
    done = footfall("pipeline", "run", str(root), "--lake", str(tmp_path / "lake"))
    assert done.returncode == 1
    assert "must stay inside its root" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("crash_after", [0, 1, 2, 5, 14, 27])
def test_a_run_dying_midway_through_publishing_is_finished_by_the_next(inputs: dict[str, Path], tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       crash_after: int) -> None:
    """The journal is written and `crash_after` outputs are in place when the process dies; the next run
    must first finish that publish, then compute from it."""
    from footfall.lake.journal import LocalStaging
    from footfall.melbourne.run import run

    lake = tmp_path / "lake"
    shutil.copytree(inputs["baseline"], lake, symlinks=True)
    real = LocalStaging._publish_one
    calls = {"n": 0}

    def dying(self: LocalStaging, entry: dict) -> None:
        if calls["n"] == crash_after:
            raise KeyboardInterrupt("killed while publishing")
        calls["n"] += 1
        real(self, entry)

    monkeypatch.setattr(LocalStaging, "_publish_one", dying)
    with pytest.raises(KeyboardInterrupt), LocalLake.at(lake).session():
        run(LocalLake.at(lake), [str(inputs["live"])])
    assert any((lake / "_staging").glob("*/PUBLISH")), "the journal survives the crash"
    monkeypatch.setattr(LocalStaging, "_publish_one", real)
    with LocalLake.at(lake).session() as notices:
        run(LocalLake.at(lake), [str(inputs["live"])])
    assert [n.message for n in notices] == ["finished publishing the outputs of an interrupted run"]
    assert answers(lake) == answers(inputs["reference"])
    assert hourly_rows(lake) == hourly_rows(inputs["reference"])
