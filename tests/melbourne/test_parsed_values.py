"""Values read strictly: a number that is not a whole number in decimal digits, a line with more fields than its
header or a time outside the plausible range is quarantined with its reason, never coerced; naive times are
Melbourne time whatever the machine's time zone."""


from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from support.cli import answers, footfall
from support.counts import LEGACY_HEADER, ODS_HEADER, ods_row
from support.landing import parsed_text

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
