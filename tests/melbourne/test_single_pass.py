"""Each guarantee paid for in as few passes as it needs: the input read once to land it, and only the
hours that more than one row gives resolved."""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from footfall.lake.local import LocalLake
from footfall.melbourne.run import run

HEADER = ["ID", "Date_Time", "Year", "Month", "Mdate", "Day", "Time", "Sensor_ID", "Sensor_Name", "Hourly_Counts"]


def archive_row(row_id: int, location: int, day: int, hour: int, count: int, month: str = "November") -> list[str]:
    stamp = f"{month} {day:02d}, 2019 {(hour % 12) or 12:02d}:00:00 {'AM' if hour < 12 else 'PM'}"
    return [str(row_id), stamp, "2019", month, str(day), "Friday", str(hour), str(location), f"Sensor {location}",
            str(count)]


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    return path


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

    source = write(tmp_path / "counts.csv", [archive_row(i, 1 + i % 5, 1 + i // 120 % 28, i % 24, i)
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
    source = write(tmp_path / "counts.csv", [archive_row(1, 1, 1, 9, 10)])
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


def step_rows(result, name: str) -> int | None:
    return next(e.rows for e in result.run.events if e.kind == "step" and e.name == name)


@pytest.mark.slow
def test_only_hours_given_more_than_once_are_resolved_and_the_rest_pass_through(tmp_path: Path) -> None:
    unique = [archive_row(i, 1 + i % 4, 1 + i // 96, i // 4 % 24, 100 + i) for i in range(1, 400)]
    duplicate = archive_row(1000, 9, 3, 10, 55)
    repeated_hour = [archive_row(1001, 9, 4, 2, 7), archive_row(1002, 9, 4, 2, 8)]  # daylight saving ends
    first = write(tmp_path / "first.csv", [*unique, duplicate, duplicate, *repeated_hour])
    newer = write(tmp_path / "newer.csv", [archive_row(2000, 1, 1, 1, 5000), archive_row(2001, 9, 5, 5, 1)])
    lake = LocalLake.at(str(tmp_path / "lake"))

    once = run(lake, [str(first)])
    assert step_rows(once, "repeated_hours") == 2, "the duplicated hour and the repeated hour, nothing else"
    assert step_rows(once, "hourly_changes") == len(unique) + 2

    again = run(lake, [str(newer)])
    assert step_rows(again, "repeated_hours") == 3, "the newer file's hour 1 of location 1 overlaps the first"
    hourly = str(tmp_path / "lake" / "transformed" / "hourly_counts" / "**" / "*.parquet")
    got = dict(duckdb.sql(f"SELECT location_id || ' ' || ts, pedestrians FROM read_parquet({hourly!r}) WHERE "
                          "location_id = 9 OR (location_id = 1 AND ts = TIMESTAMP '2019-11-01 01:00')").fetchall())
    assert got == {"9 2019-11-03 10:00:00": 55, "9 2019-11-04 02:00:00": 15, "9 2019-11-05 05:00:00": 1,
                   "1 2019-11-01 01:00:00": 5000}
    quarantine = str(tmp_path / "lake" / "transformed" / "quarantine.parquet")
    assert duckdb.sql(f"SELECT reason, input_rows FROM read_parquet({quarantine!r})").fetchall() == [
        ("exact duplicate of another row", 1)]
