"""A resource error is not a bad file: running out of memory or disk while parsing, an unusable memory limit or a
Ctrl-C fail the run in one line and keep the landed file for the next run."""


from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.cli import footfall, one_line_error
from support.counts import ODS_HEADER, ods_row

from footfall.lake.local import LocalLake
from footfall.melbourne.landing import landed_files

# ---- class 4: a resource error is not a bad file ---------------------------------------------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Generated files big enough to need more than a few MB to parse."""
    folder = tmp_path_factory.mktemp("generated")
    files = {}
    for fmt, suffix in (("rows-csv", "csv"), ("soda-json", "json"), ("ods-csv", "csv")):
        files[fmt] = folder / f"{fmt}.{suffix}"
        assert footfall("generate", str(files[fmt]), "--rows", "100000", "--format", fmt).returncode == 0
    return files


def _parse_state(lake: Path) -> tuple[list[str], list[str], list[str]]:
    """(landed, set aside, parsed) file names."""
    landing, rejected, raw = lake / "landing/counts", lake / "landing/counts/_rejected", lake / "transformed/raw_counts"
    return (sorted(p.name for p in landing.glob("*.*")),
            sorted(p.name for p in rejected.glob("*")) if rejected.is_dir() else [],
            sorted(p.name for p in raw.glob("*")) if raw.is_dir() else [])


# (format, FOOTFALL_MEMORY_LIMIT too small to parse it)
MEMORY_PROBES = [("rows-csv", "16MB"), ("rows-csv", "4MB"), ("soda-json", "16MB"), ("ods-csv", "8MB")]


@pytest.mark.slow
@pytest.mark.parametrize(("fmt", "limit"), MEMORY_PROBES)
def test_running_out_of_memory_while_parsing_fails_the_run_and_keeps_the_file(generated: dict[str, Path],
                                                                              tmp_path: Path, fmt: str,
                                                                              limit: str) -> None:
    lake = tmp_path / "lake"
    assert footfall("ingest", "--counts", str(generated[fmt]), "--lake", str(lake)).returncode == 0
    landed = _parse_state(lake)[0]
    line = one_line_error(footfall("run", "--counts", str(generated[fmt]), "--lake", str(lake),
                                   env={"FOOTFALL_MEMORY_LIMIT": limit}))
    assert line.startswith(f"error: {generated[fmt]}: out of memory while parsing (memory limit ")
    assert "FOOTFALL_MEMORY_LIMIT=" in line and "the file stays landed" in line
    assert _parse_state(lake) == (landed, [], [])
    done = footfall("run", "--counts", str(generated[fmt]), "--lake", str(lake))
    assert done.returncode == 0, done.stderr
    assert "0 file(s) landed, 1 unchanged, 1 parsed" in done.stderr


# RLIMIT_FSIZE: the largest file this process may write; the parsed Parquet of 100,000 rows is larger.
DISK_PROBES = [("rows-csv", 64 * 1024), ("soda-json", 256 * 1024), ("ods-csv", 128 * 1024)]


@pytest.mark.slow
@pytest.mark.parametrize(("fmt", "limit"), DISK_PROBES)
def test_running_out_of_disk_while_parsing_fails_the_run_and_keeps_the_file(generated: dict[str, Path],
                                                                            tmp_path: Path, fmt: str,
                                                                            limit: int) -> None:
    lake = tmp_path / "lake"
    assert footfall("ingest", "--counts", str(generated[fmt]), "--lake", str(lake)).returncode == 0
    landed = _parse_state(lake)[0]

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    line = one_line_error(footfall("run", "--counts", str(generated[fmt]), "--lake", str(lake),
                                   preexec_fn=small_disk))
    assert line.startswith(f"error: {generated[fmt]}: out of disk space while parsing (Could not write file ")
    assert "File too large" in line and "the file stays landed" in line
    assert _parse_state(lake) == (landed, [], [])
    done = footfall("run", "--counts", str(generated[fmt]), "--lake", str(lake))
    assert done.returncode == 0, done.stderr
    assert "1 parsed" in done.stderr


@pytest.mark.slow
def test_a_file_set_aside_without_a_recorded_reason_is_parsed_again(generated: dict[str, Path],
                                                                     tmp_path: Path) -> None:
    """Earlier versions set files aside for running out of memory too, and recorded no reason: the next run
    takes such a file back and parses it."""
    lake = tmp_path / "lake"
    assert footfall("ingest", "--counts", str(generated["rows-csv"]), "--lake", str(lake)).returncode == 0
    landing = lake / "landing/counts"
    (landing / "_rejected").mkdir()
    for path in list(landing.glob("*.*")):
        path.rename(landing / "_rejected" / path.name)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"sensor_id": "1", "date_time": "2019-11-01T17:00:00.000", "hourly_counts": "1"}, {]')
    assert "cannot read as" in one_line_error(footfall("run", "--counts", str(bad), "--lake", str(lake)))
    landed, rejected, _ = _parse_state(lake)
    assert len(landed) == 2 and len(rejected) == 2, "the good file is back; the bad one is set aside"
    reasons = [json.loads(p.read_text()).get("rejection") for p in (landing / "_rejected").glob("*.manifest.json")]
    assert len(reasons) == 1 and reasons[0].startswith("cannot read as legacy hourly counts")
    done = footfall("run", "--counts", str(generated["rows-csv"]), "--lake", str(lake))
    assert done.returncode == 0, done.stderr
    assert _parse_state(lake)[1] == rejected, "a file set aside for its content stays aside"
    assert "cannot read as" in one_line_error(footfall("run", "--counts", str(bad), "--lake", str(lake))), (
        "given again, it is tried again")



# Values of FOOTFALL_MEMORY_LIMIT that DuckDB cannot use.
BAD_MEMORY_LIMITS = ["bogus", "100", "4 parsecs", "-1GB", "1.5.5GB", "4GBB"]


@pytest.mark.slow
@pytest.mark.parametrize("value", BAD_MEMORY_LIMITS)
def test_a_bad_memory_limit_is_one_line_naming_the_variable_and_an_example(tmp_path: Path, value: str) -> None:
    path = tmp_path / "counts.csv"
    path.write_text(ODS_HEADER + ods_row())
    line = one_line_error(footfall("run", "--counts", str(path), "--lake", str(tmp_path / "lake"),
                                   env={"FOOTFALL_MEMORY_LIMIT": value}))
    assert line == (f"error: FOOTFALL_MEMORY_LIMIT must be an amount of memory such as 4GB or 512MB, not "
                    f"{value!r}")


@pytest.fixture(scope="module")
def million(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("million") / "counts.csv"
    assert footfall("generate", str(path), "--rows", "1000000", "--format", "rows-csv").returncode == 0
    return path


# (where the interrupt lands: what must exist in the lake when SIGINT is sent)
INTERRUPT_PROBES = ["transformed/raw_counts/*.part"]


@pytest.mark.slow
@pytest.mark.parametrize("moment", INTERRUPT_PROBES)
def test_ctrl_c_while_parsing_exits_130_and_keeps_the_landed_file(million: Path, tmp_path: Path,
                                                                  moment: str) -> None:
    lake = tmp_path / "lake"
    assert footfall("ingest", "--counts", str(million), "--lake", str(lake)).returncode == 0
    landed = _parse_state(lake)[0]
    proc = subprocess.Popen([sys.executable, "-m", "footfall", "run", "--counts", str(million), "--lake", str(lake)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while not list(lake.glob(moment)):
            assert proc.poll() is None, "the parse ended before it could be interrupted"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, "", stderr)
    line = one_line_error(done, code=130)
    assert line == f"error: {million}: interrupted while parsing; the file stays landed and the next run parses it"
    assert _parse_state(lake) == (landed, [], [])
    assert landed_files(LocalLake.at(lake), "counts")
    again = footfall("run", "--counts", str(million), "--lake", str(lake))
    assert again.returncode == 0 and "1 parsed" in again.stderr, again.stderr
