"""Inputs read strictly and safely: each class of bad input, probed with several inputs through the real
CLI (or the real landing and parsing code), must end in a quarantine with its reason or one clear line."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from support.cli import answers, footfall, one_line_error
from support.landing import parsed_text

from footfall.errors import InputError
from footfall.lake import Lake
from footfall.melbourne.detect import MAX_HEADER_BYTES, SNIFF_BYTES, detect
from footfall.melbourne.landing import land_file, landed_files

LEGACY_HEADER = "ID,Date_Time,Year,Month,Mdate,Day,Time,Sensor_ID,Sensor_Name,Hourly_Counts\n"
ODS_HEADER = "ID,Location_ID,Sensing_Date,HourDay,Direction_1,Direction_2,Total_of_Directions,Sensor_Name,Location\n"


def ods_row(location: str = "41", day: str = "2025-10-01", hour: str = "5", d1: str = "3", d2: str = "4",
            total: str = "7") -> str:
    return f'1,"{location}",{day},"{hour}","{d1}","{d2}","{total}",Swa295_T,"-37.81, 144.96"\n'


# ---- class 7: silent changes to data ---------------------------------------------------------------

# (what, location id, count, directions, the reason it must be quarantined with)
NUMBER_PROBES = [
    ("decimal id", "2.5", "7", ("3", "4"), "location id not a whole number"),
    ("hex id", "0x10", "7", ("3", "4"), "location id not a whole number"),
    ("underscore id", "1_0", "7", ("3", "4"), "location id not a whole number"),
    ("exponent id", "1e1", "7", ("3", "4"), "location id not a whole number"),
    ("plus-signed id", "+5", "7", ("3", "4"), "location id not a whole number"),
    ("binary id", "0b101", "7", ("3", "4"), "location id not a whole number"),
    ("negative id", "-3", "7", ("3", "4"), "location id out of range (negative, or too large)"),
    ("id over BIGINT", "99999999999999999999", "7", ("3", "4"), "location id out of range (negative, or too large)"),
    ("letters for an id", "abc", "7", ("3", "4"), "missing or non-numeric location id"),
    ("decimal count", "41", "1.5", ("1", "1"), "count not a whole number"),
    ("hex count", "41", "0x10", ("8", "8"), "count not a whole number"),
    ("underscore count", "41", "1_0", ("5", "5"), "count not a whole number"),
    ("exponent count", "41", "1e3", ("500", "500"), "count not a whole number"),
    ("plus-signed count", "41", "+5", ("2", "3"), "count not a whole number"),
    ("decimal comma count", "41", "1,5", ("1", "1"), "count not a whole number"),
    ("misplaced separator", "41", "12,34", ("1", "1"), "count not a whole number"),
    ("trailing letters", "41", "12abc", ("6", "6"), "count not a whole number"),
    ("count over BIGINT", "41", "99999999999999999999", ("1", "1"), "implausible count (over 1,000,000 in an hour)"),
    ("count under BIGINT", "41", "-99999999999999999999", ("1", "1"), "negative count"),
    ("decimal direction", "41", "7", ("3.5", "3.5"), "direction count not a whole number of 0 or more"),
    ("hex direction", "41", "16", ("0x10", "0"), "direction count not a whole number of 0 or more"),
    ("negative direction", "41", "7", ("-3", "10"), "direction count not a whole number of 0 or more"),
]


@pytest.mark.parametrize(("what", "location", "count", "directions", "reason"), NUMBER_PROBES,
                         ids=[p[0] for p in NUMBER_PROBES])
def test_a_number_that_is_not_a_whole_number_in_decimal_digits_is_quarantined_not_coerced(
        tmp_path: Path, what: str, location: str, count: str, directions: tuple[str, str], reason: str) -> None:
    (row,) = parsed_text(tmp_path, "counts.csv", ODS_HEADER + ods_row(location, d1=directions[0], d2=directions[1],
                                                                 total=count))
    assert row["reason"] == reason
    assert (row["raw_location_id"], row["raw_count"]) == (location, count), "the raw text is kept for the quarantine"


# Lines that split into more fields than the header names: read by position, their extra fields used to be
# dropped without a word (an unquoted "2,691" became 2).
SPLIT_PROBES = [
    ("unquoted thousands separator", LEGACY_HEADER + "1,01-Nov-2019 17:00,2019,November,1,Friday,17,34,A,2,691\n"),
    ("one field too many", ODS_HEADER + '1,41,2025-10-01,5,3,4,7,Swa295_T,"-37.81, 144.96",extra\n'),
    ("unquoted decimal comma", ODS_HEADER + '1,41,2025-10-01,5,3,4,7,5,Swa295_T,"-37.81, 144.96"\n'),
]


@pytest.mark.parametrize(("what", "content"), SPLIT_PROBES, ids=[p[0] for p in SPLIT_PROBES])
def test_a_line_with_more_fields_than_the_header_is_quarantined_not_truncated(tmp_path: Path, what: str,
                                                                             content: str) -> None:
    (row,) = parsed_text(tmp_path, "counts.csv", content)
    assert row["reason"].startswith("malformed CSV line 2: Expected Number of Columns"), row["reason"]
    assert row["raw_line"] == content.splitlines()[1]


# (text as published, the value it means)
WHOLE_NUMBERS = [("7", 7), ("0", 0), (" 8 ", 8), ("\t9", 9), ("2,691", 2691), ("234,567", 234567),
                 ("1,000,000", 1000000), ("007", 7), ("1000000", 1000000)]


@pytest.mark.parametrize(("text", "value"), WHOLE_NUMBERS)
def test_whole_numbers_with_thousands_separators_and_spaces_are_read(tmp_path: Path, text: str, value: int) -> None:
    row_text = f'1,"11/01/2019 05:00:00 PM",2019,November,1,Friday,17,"{text}",A,"{text}"\n'
    (row,) = parsed_text(tmp_path, "rows.csv", LEGACY_HEADER + row_text)
    assert (row["location_id"], row["pedestrians"], row["reason"]) == (value, value, None)


def _soon(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(minute=0, second=0, microsecond=0, tzinfo=None)


# (format, file text, the reason) for times outside the data's plausible range
TIME_PROBES = [
    ("legacy year 0001", LEGACY_HEADER + "1,11/01/0001 05:00:00 PM,1,November,1,Friday,17,34,A,300\n",
     "time before 2009-01-01 (before the first sensor)"),
    ("legacy year 1900", LEGACY_HEADER + "1,01-JUN-1900 00:00,1900,June,1,Friday,0,34,A,300\n",
     "time before 2009-01-01 (before the first sensor)"),
    ("legacy year 2100", LEGACY_HEADER + '1,"December 31, 2100 11:00:00 PM",2100,December,31,Friday,23,34,A,3\n',
     "time more than a day after the run (in the future)"),
    ("ods 2008-12-31", ODS_HEADER + ods_row(day="2008-12-31", hour="23"),
     "time before 2009-01-01 (before the first sensor)"),
    ("ods year 2100", ODS_HEADER + ods_row(day="2100-12-31"), "time more than a day after the run (in the future)"),
    ("ods three days ahead", ODS_HEADER + ods_row(day=f"{_soon(3):%Y-%m-%d}", hour="0"),
     "time more than a day after the run (in the future)"),
    ("2023 year 0001", "timestamp,locationid,total_of_directions\n0001-01-01T10:00:00+10:00,3,5\n",
     "time before 2009-01-01 (before the first sensor)"),
    ("2023 year 1900 naive", "timestamp,locationid,total_of_directions\n1900-06-01T10:00:00,3,5\n",
     "time before 2009-01-01 (before the first sensor)"),
    ("2023 year 2100", "timestamp,locationid,total_of_directions\n2100-01-01T00:00:00Z,3,5\n",
     "time more than a day after the run (in the future)"),
    ("soda json 2100", json.dumps([{"id": "1", "date_time": "2100-11-01T17:00:00.000", "time": "17",
                                    "sensor_id": "34", "hourly_counts": "300"}]),
     "time more than a day after the run (in the future)"),
    ("legacy hour 5.5", LEGACY_HEADER + "1,11/01/2019 05:00:00 PM,2019,November,1,Friday,5.5,34,A,300\n",
     "unparseable time"),
    ("ods hour 5.5", ODS_HEADER + ods_row(hour="5.5"), "unparseable time"),
]


@pytest.mark.parametrize(("what", "content", "reason"), TIME_PROBES, ids=[p[0] for p in TIME_PROBES])
def test_a_time_outside_the_plausible_range_is_quarantined_with_its_reason(tmp_path: Path, what: str,
                                                                           content: str, reason: str) -> None:
    (row,) = parsed_text(tmp_path, "counts.json" if content.startswith("[") else "counts.csv", content)
    assert row["reason"] == reason


def test_the_first_plausible_hour_and_today_are_kept(tmp_path: Path) -> None:
    rows = parsed_text(tmp_path, "counts.csv", ODS_HEADER + ods_row(day="2009-01-01", hour="0")
                  + ods_row(location="42", day=f"{_soon(0):%Y-%m-%d}", hour="0"))
    assert [r["reason"] for r in rows] == [None, None]


# Naive times in schemas defined in Melbourne time, and times with offsets, side by side.
ZONED_2023 = ("timestamp,locationid,direction_1,direction_2,total_of_directions\n"
              "2023-05-01T23:00:00,3,1,2,3\n"  # naive: Melbourne wall-clock time
              "2023-05-01 00:00:00,4,5,5,10\n"
              "2023-05-01T13:00:00+00:00,5,1,1,2\n"  # 23:00 in Melbourne
              "2023-09-30T14:00:00Z,6,2,2,4\n")  # 2023-10-01 00:00 in Melbourne (AEST, before the change)
ZONED_LEGACY = (LEGACY_HEADER + "1,11/01/2019 11:00:00 PM,2019,November,1,Friday,23,34,A,300\n"
                "2,01-Nov-2019 00:00,2019,November,1,Friday,0,35,B,12\n")
ZONED_SODA = json.dumps([{"id": "9", "date_time": "2019-11-02T23:00:00.000", "time": "23", "sensor_id": "36",
                          "hourly_counts": "40"}])
TIME_ZONES = ["UTC", "America/New_York", "Pacific/Kiritimati", "Australia/Melbourne"]


@pytest.fixture(scope="module")
def zoned_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("zoned")
    (folder / "2023.csv").write_text(ZONED_2023)
    (folder / "legacy.csv").write_text(ZONED_LEGACY)
    (folder / "soda.json").write_text(ZONED_SODA)
    return folder


@pytest.mark.slow
def test_naive_times_are_melbourne_time_whatever_the_machine_time_zone(zoned_inputs: Path, tmp_path: Path) -> None:
    """The same files under each TZ: the same hours, and byte-identical answers."""
    by_zone = {}
    for zone in TIME_ZONES:
        lake = tmp_path / zone.replace("/", "-")
        done = footfall("run", *(a for f in ("2023.csv", "legacy.csv", "soda.json") for a in ("--counts",
                        str(zoned_inputs / f))), "--lake", str(lake), env={"TZ": zone})
        assert done.returncode == 0, done.stderr
        hours = duckdb.sql(f"select location_id, strftime(ts, '%Y-%m-%d %H:%M') from read_parquet('{lake}/"
                           "transformed/hourly_counts/**/*.parquet', hive_partitioning = false) order by 1").fetchall()
        assert hours == [(3, "2023-05-01 23:00"), (4, "2023-05-01 00:00"), (5, "2023-05-01 23:00"),
                         (6, "2023-10-01 00:00"), (34, "2019-11-01 23:00"), (35, "2019-11-01 00:00"),
                         (36, "2019-11-02 23:00")], f"TZ={zone}"
        by_zone[zone] = answers(lake)
    assert "top10_by_day.csv" in by_zone["UTC"]
    for zone in TIME_ZONES:
        assert by_zone[zone] == by_zone["UTC"], f"TZ={zone} changes the answers"


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


# ---- class 8: hangs --------------------------------------------------------------------------------

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
    with Lake.at(lake).lock():
        pass  # the lock is free again


def test_landing_opens_a_path_that_became_a_fifo_without_blocking(tmp_path: Path) -> None:
    """Between the listing and the read a file may be replaced: the read itself refuses a FIFO."""
    lake = Lake.at(tmp_path / "lake")
    lake.ensure()
    with pytest.raises(InputError, match="is a FIFO"):
        land_file(lake, _fifo(tmp_path), "counts")


# ---- class 9: a file that changes while it is copied -----------------------------------------------

# The source is changed from inside the landing process at a chosen moment, through an audit hook on
# `open` (so the moment is exact): at every open of the source after the first, or when the stored copy
# is opened for writing (after the source is open, before a byte of it is read).
CHANGE_SCRIPT = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from footfall.errors import InputError
    from footfall.lake import Lake
    from footfall.melbourne.landing import land_file
    source, lake, when, how = Path(sys.argv[1]), Lake.at(sys.argv[2]), sys.argv[3], sys.argv[4]
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


# ---- class 11 (headers) and 6 (parsing): one clear line ----------------------------------------------

NAMES = [f"Extra_Column_{i:05d}" for i in range(SNIFF_BYTES // 19 + 50)]


def _cut_into_a_copy() -> str:
    """Unique names, the last one crossing the 64 KB mark so that its cut is the name of another column."""
    start = LEGACY_HEADER.strip() + "," + ",".join(f"c{i}" for i in range(1000)) + ","
    filler = "f" * (SNIFF_BYTES - 2 - len(start) - 1) + ","
    header = start + filler + "c1_continues_past_the_mark"
    assert header.index("c1_continues") == SNIFF_BYTES - 2
    return header


# (what, header line, the error; None when the file must parse)
HEADER_PROBES = [
    ("required names after 64 KB", ",".join(NAMES) + "," + LEGACY_HEADER.strip(), None),
    ("a name across the 64 KB mark", LEGACY_HEADER.strip() + "," + ",".join(NAMES), None),
    ("a name cut at 64 KB into a copy of another", _cut_into_a_copy(), None),
    ("an empty name", "ID,Date_Time,,Year,Month,Mdate,Day,Time,Sensor_ID,Sensor_Name,Hourly_Counts",
     "header column 3 of 11 has no name: every column needs one"),
    ("a trailing delimiter", LEGACY_HEADER.strip() + ",",
     "header column 11 of 11 has no name: every column needs one"),
    ("a blank name", "ID,Date_Time, ,Year,Month,Mdate,Day,Time,Sensor_ID,Sensor_Name,Hourly_Counts",
     "header column 3 of 11 has no name: every column needs one"),
    ("a duplicate name", LEGACY_HEADER.strip() + ",Sensor_ID",
     "header names 'Sensor_ID' twice (columns 8 and 11; names are compared without case, spaces or punctuation): "
     "which one to read is ambiguous"),
    ("a duplicate in another case", LEGACY_HEADER.strip() + ",hourly_counts",
     "header names 'hourly_counts' twice (columns 10 and 11; names are compared without case, spaces or punctuation): "
     "which one to read is ambiguous"),
    ("a duplicate in another spelling", LEGACY_HEADER.strip() + ",Sensor ID",
     "header names 'Sensor ID' twice (columns 8 and 11; names are compared without case, spaces or punctuation): "
     "which one to read is ambiguous"),
    ("a duplicate unused name", LEGACY_HEADER.strip() + ",Note,NOTE",
     "header names 'NOTE' twice (columns 11 and 12; names are compared without case, spaces or punctuation): "
     "which one to read is ambiguous"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("what", "header", "error"), HEADER_PROBES, ids=[p[0] for p in HEADER_PROBES])
def test_long_empty_and_duplicate_header_names_give_the_real_problem(tmp_path: Path, what: str, header: str,
                                                                    error: str | None) -> None:
    names = header.split(",")
    values = {"ID": "1", "Date_Time": "01-Nov-2019 17:00", "Time": "17", "Sensor_ID": "34", "Hourly_Counts": "300"}
    path = tmp_path / "counts.csv"
    path.write_text(header + "\n" + ",".join(values.get(n, "x") for n in names) + "\n")
    done = footfall("run", "--counts", str(path), "--lake", str(tmp_path / "lake"))
    if error is None:
        assert done.returncode == 0, done.stderr
        top = duckdb.sql(f"select location_id, pedestrians from '{tmp_path}/lake/curated/daily_counts.parquet'")
        assert top.fetchall() == [(34, 300)]
    else:
        assert one_line_error(done) == f"error: {path}: {error}"


@pytest.mark.slow
def test_a_header_line_over_16_mb_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "counts.csv"
    with path.open("w") as handle:
        handle.write(LEGACY_HEADER.strip())
        handle.write(",x" * (MAX_HEADER_BYTES // 2 + 1) + "\n1\n")
    line = one_line_error(footfall("run", "--counts", str(path), "--lake", str(tmp_path / "lake")))
    assert line == f"error: {path}: the header line is longer than 16 MB: not a CSV file footfall can read"


GOOD_RECORD = '{"id": "1", "date_time": "2019-11-01T17:00:00.000", "sensor_id": "34", "hourly_counts": "300"}'

# (what, file name, content)
NESTED_JSON_PROBES = [
    ("arrays", "deep.json", "[" * 100_000),
    ("objects", "deep.json", '{"a":' * 50_000 + "1" + "}" * 50_000),
    ("a record's value", "deep.json", '[{"sensor_id": ' + "[" * 100_000 + "]" * 100_000 + "}]"),
    ("JSON lines", "deep.jsonl", '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}\n" + GOOD_RECORD + "\n"),
]


@pytest.mark.parametrize(("what", "name", "content"), NESTED_JSON_PROBES, ids=[p[0] for p in NESTED_JSON_PROBES])
def test_deeply_nested_json_is_one_line(tmp_path: Path, what: str, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    line = one_line_error(footfall("run", "--counts", str(path), "--lake", str(tmp_path / "lake")))
    assert line == f"error: {path}: JSON nested too deeply to be a record of counts or sensor locations"


def test_a_first_json_record_longer_than_64_kb_is_read(tmp_path: Path) -> None:
    record = json.loads(GOOD_RECORD) | {"sensor_name": "x" * (SNIFF_BYTES + 10)}
    path = tmp_path / "counts.json"
    path.write_text(json.dumps([record]))
    assert detect(path).format.name == "legacy_counts"


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
    assert landed_files(Lake.at(lake), "counts")
    again = footfall("run", "--counts", str(million), "--lake", str(lake))
    assert again.returncode == 0 and "1 parsed" in again.stderr, again.stderr


def test_reliability_md_counts_the_probes_the_suite_runs() -> None:
    """The catalogue's figures are the lengths of the probe lists above (a single test counts as one)."""
    text = (Path(__file__).resolve().parents[2] / "RELIABILITY.md").read_text()
    section = text.split("### Inputs read strictly", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ") and line[2].isdigit()]
    stated = [(row[0].strip("| "), int(row[3])) for row in rows]
    assert stated == [
        ("7", len(NUMBER_PROBES) + len(SPLIT_PROBES)), ("7", len(WHOLE_NUMBERS)), ("7", len(TIME_PROBES)),
        ("7", len(TIME_ZONES)), ("4", len(MEMORY_PROBES) + len(DISK_PROBES)), ("8", len(NON_REGULAR_PROBES) + 1),
        ("9", len(CHANGE_PROBES)), ("11", len(HEADER_PROBES) + 1), ("6", len(NESTED_JSON_PROBES) + 1),
        ("6", len(BAD_MEMORY_LIMITS)), ("6", len(INTERRUPT_PROBES))]
