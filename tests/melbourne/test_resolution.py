"""Resolution: only the hours that more than one row gives (a duplicate, the repeated hour when daylight saving
ends, an hour a newer file gives again) are resolved; the rest pass through untouched."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from support.counts import archive_row, write_archive_rows

from footfall.lake.local import LocalLake
from footfall.melbourne.run import run


def step_rows(result, name: str) -> int | None:
    return next(e.rows for e in result.run.events if e.kind == "step" and e.name == name)


@pytest.mark.slow
def test_only_hours_given_more_than_once_are_resolved_and_the_rest_pass_through(tmp_path: Path) -> None:
    unique = [archive_row(i, 1 + i % 4, 1 + i // 96, i // 4 % 24, 100 + i) for i in range(1, 400)]
    duplicate = archive_row(1000, 9, 3, 10, 55)
    repeated_hour = [archive_row(1001, 9, 4, 2, 7), archive_row(1002, 9, 4, 2, 8)]  # daylight saving ends
    first = write_archive_rows(tmp_path / "first.csv", [*unique, duplicate, duplicate, *repeated_hour])
    newer = write_archive_rows(tmp_path / "newer.csv",
                               [archive_row(2000, 1, 1, 1, 5000), archive_row(2001, 9, 5, 5, 1)])
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
