"""Parsing pays for bad values only: each column's typed fast path gives exactly what its text rules give, on
every tricky value, and a file of good rows with a few bad ones quarantines those alone, in every container."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from support.containers import CONTAINERS, write

from footfall.engines.duckdb import connect
from footfall.lake.local import LocalLake
from footfall.melbourne.formats import (
    coordinate,
    coordinate_text,
    hour,
    hour_text,
    trimmed,
    whole_number,
    whole_number_text,
)
from footfall.melbourne.landing import land_file, parse_file

NUMBERS = ["0", "5", "05", "007", "-5", "-0", "+5", "1e2", "2.5", "7.0", "1_000", "0x10", "1,234", "-1,234", "1,23",
           "1,2345", ",123", "1,234,5", "0,000", "12,345,678", "1 2", "3x", "abc", "-", "", "\u0661\u0662",
           "9223372036854775807", "-9223372036854775808", "9223372036854775808", "9,223,372,036,854,775,808",
           "2147483648", "23", "24", "99", "100", "-1"]
COORDINATES = ["-37.81, 144.96", "-37.81,144.96", "(-37.81, 144.96)", "-37.81 , 144.96", "-37.81,\t144.96",
               '{"lat": -37.81, "lon": 144.96}', '{"lon": 1}', "(-37.81, 144.96", "-37.81, 144.96)", "{bad",
               "-37.81, 144.96(", ")1, 2", "1e400, 2", "nan, inf", "0x10, 1", "1_0, 2", ".5, 5.", "+1.5, -2",
               "-37.81", "1,5", "a, b", "", ","]
TEXTS = ["Bourke St", "Swanston St (West)", "2024-02-14", "November 01, 2019 05:00:00 PM", "a b", "", "x"]


def _blanks(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every character ``trim`` strips (asked of DuckDB itself, over the Basic Multilingual Plane) and the ASCII
    whitespace the casts skip: the characters on which a fast path could part from its text rules."""
    stripped = con.execute("SELECT chr(CAST(i AS INTEGER)) FROM range(1, 65536) AS t(i) "
                           "WHERE (i < 55296 OR i > 57343) AND trim(chr(CAST(i AS INTEGER)) || 'a') = 'a'").fetchall()
    return sorted({c for (c,) in stripped} | set(" \t\n\v\f\r"))


def _tricky(con: duckdb.DuckDBPyConnection, bases: list[str]) -> list[str | None]:
    """``bases`` as given, and with each blank character before, after and on both sides of them."""
    values: list[str | None] = [None, *bases]
    for blank in _blanks(con):
        values += [v for base in bases for v in (blank + base, base + blank, blank + base + blank, blank * 2)]
    return values


FAST_AND_TEXT: dict[str, tuple[Callable[[str], str], Callable[[str], str], list[str]]] = {
    "whole number": (whole_number, whole_number_text, NUMBERS),
    "hour": (hour, hour_text, NUMBERS),
    "trimmed text": (trimmed, lambda col: f"trim({col})", TEXTS + NUMBERS),
    "latitude": (lambda col: coordinate(col, 1, "lat"), lambda col: coordinate_text(col, 1, "lat"), COORDINATES),
    "longitude": (lambda col: coordinate(col, 2, "lon"), lambda col: coordinate_text(col, 2, "lon"), COORDINATES),
}


def _answer(con: duckdb.DuckDBPyConnection, sql: str, value: str | None) -> object:
    """The value of ``sql`` over ``value``, or the error it raises (JSON that does not parse refuses the file)."""
    try:
        found = con.execute(f"SELECT {sql} FROM (SELECT CAST(? AS VARCHAR) AS v)", [value]).fetchone()
    except duckdb.Error as e:
        return f"error: {e}"
    return found[0] if found else None


@pytest.mark.parametrize("rule", FAST_AND_TEXT)
def test_each_typed_fast_path_gives_what_the_text_rules_give_on_every_tricky_value(rule: str) -> None:
    fast, text, bases = FAST_AND_TEXT[rule]
    with duckdb.connect() as con:
        values = _tricky(con, bases)
        json = [v for v in values if v and "{" in v]  # one at a time: some raise, and must raise alike
        con.register("tricky", pa.table({"v": pa.array([v for v in values if v not in json], pa.string())}))
        differ = con.execute(f"SELECT v, {fast('v')}, {text('v')} FROM tricky "
                             f"WHERE ({fast('v')}) IS DISTINCT FROM ({text('v')})").fetchall()
        differ += [(v, a, b) for v in json if (a := _answer(con, fast("v"), v)) != (b := _answer(con, text("v"), v))]
        answered = con.execute(f"SELECT count(*) FROM tricky WHERE ({fast('v')}) IS NOT NULL").fetchone()
    assert differ == []
    assert answered and answered[0] > len(bases) // 4  # the comparison is not between two NULLs only


LEGACY_HEADER = ["ID", "Date_Time", "Year", "Month", "Mdate", "Day", "Time", "Sensor_ID", "Sensor_Name",
                 "Hourly_Counts"]
# (Date_Time, Time, Sensor_ID, Sensor_Name, Hourly_Counts) -> (location_id, ts, pedestrians, reason)
LEGACY_ROWS = [
    (("November 01, 2019 05:00:00 PM", "17", "34", "Flinders St-Spark La", "300"),
     (34, "2019-11-01 17:00:00", 300, None)),
    (("November 01, 2019 06:00:00 PM", "18", "34", "Flinders St-Spark La", "1,234"),
     (34, "2019-11-01 18:00:00", 1234, None)),
    (("November 01, 2019 07:00:00 PM", "19", "34", " Flinders St-Spark La ", " 21 "),
     (34, "2019-11-01 19:00:00", 21, None)),
    (("November 01, 2019 08:00:00 PM", "20", "034", "Flinders St-Spark La", "0"), (34, "2019-11-01 20:00:00", 0, None)),
    ((" 11/01/2019 09:00:00 PM", " 21", "35", "Alfred Place", "12,345"), (35, "2019-11-01 21:00:00", 12345, None)),
    (("November 01, 2019 10:00:00 PM", "22", "35", "Alfred Place", "2.5"),
     (35, "2019-11-01 22:00:00", None, "count not a whole number")),
    (("November 01, 2019 11:00:00 PM", "23", "35", "Alfred Place", "-3"),
     (35, "2019-11-01 23:00:00", -3, "negative count")),
    (("not a date", "5", "35", "Alfred Place", "7"), (35, None, 7, "unparseable time")),
    (("November 02, 2019 01:00:00 AM", "1", "+35", "Alfred Place", "7"),
     (None, "2019-11-02 01:00:00", 7, "location id not a whole number")),
    (("November 02, 2019 02:00:00 AM", "2", "35", "Alfred Place", "1,23"),
     (35, "2019-11-02 02:00:00", None, "count not a whole number")),
]
ODS_HEADER = ["ID", "Location_ID", "Sensing_Date", "HourDay", "Direction_1", "Direction_2", "Total_of_Directions",
              "Sensor_Name", "Location"]
# (Location_ID, Sensing_Date, HourDay, Direction_1, Direction_2, Total, Location)
#   -> (location_id, ts, direction_1, direction_2, pedestrians, latitude, longitude, reason)
ODS_ROWS = [
    (("41", "2025-10-01", "5", "3", "4", "7", "-37.81, 144.96"),
     (41, "2025-10-01 05:00:00", 3, 4, 7, -37.81, 144.96, None)),
    (("41", " 2025-10-01 ", "06", "10", "11", "21", "(-37.81, 144.96)"),
     (41, "2025-10-01 06:00:00", 10, 11, 21, -37.81, 144.96, None)),
    (("41", "2025-10-01", "7", "1", "1", "2", " -37.81 ,144.96 "),
     (41, "2025-10-01 07:00:00", 1, 1, 2, -37.81, 144.96, None)),
    (("42", "2025-10-02", "0", "0", "0", "0", "-37.82, 144.97"), (42, "2025-10-02 00:00:00", 0, 0, 0, -37.82, 144.97,
                                                                   None)),
    (("42", "2025-10-02", "24", "1", "1", "2", "-37.82, 144.97"),
     (42, None, 1, 1, 2, -37.82, 144.97, "unparseable time")),
    (("42", "2025-10-02", "1", "x", "1", "2", "-37.82, 144.97"),
     (42, "2025-10-02 01:00:00", None, 1, 2, -37.82, 144.97, "direction count not a whole number of 0 or more")),
    (("42", "2025-10-02", "2", "1", "1", "1e2", "-37.82, 144.97"),
     (42, "2025-10-02 02:00:00", 1, 1, None, -37.82, 144.97, "count not a whole number")),
]


# Typed Parquet is left out: a typed column cannot hold "2.5" or "x" beside whole numbers. A workbook is read in
# a child process (about 2 s): slow.
TEXT_CONTAINERS = [pytest.param(c, marks=pytest.mark.slow) if c == "xlsx" else c for c in CONTAINERS
                   if c != "parquet-typed"]


def _parsed(tmp_path: Path, path: Path, columns: str) -> list[tuple]:
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    landed, _ = land_file(lake, path, "counts")
    with connect() as con:
        parse_file(con, lake, landed)
        rows = con.sql(f"SELECT {columns} FROM read_parquet('{lake.root}/transformed/raw_counts/*.parquet')")
        return _sorted(rows.fetchall())


def _sorted(rows: list[tuple]) -> list[tuple]:
    return sorted(rows, key=repr)


@pytest.mark.parametrize("container", TEXT_CONTAINERS)
def test_a_few_bad_legacy_rows_among_good_ones_are_quarantined_alone(tmp_path: Path, container: str) -> None:
    rows = [[str(n), t, "2019", "November", "1", "Friday", h, i, name, c]
            for n, ((t, h, i, name, c), _) in enumerate(LEGACY_ROWS, 1)]
    got = _parsed(tmp_path, write(tmp_path / "in", container, LEGACY_HEADER, rows),
                  "location_id, CAST(ts AS VARCHAR), pedestrians, reason")
    assert got == _sorted([expected for _, expected in LEGACY_ROWS])


@pytest.mark.parametrize("container", TEXT_CONTAINERS)
def test_a_few_bad_opendatasoft_rows_among_good_ones_are_quarantined_alone(tmp_path: Path, container: str) -> None:
    rows = [["1", i, d, h, d1, d2, c, "Swa295_T", loc] for (i, d, h, d1, d2, c, loc), _ in ODS_ROWS]
    got = _parsed(tmp_path, write(tmp_path / "in", container, ODS_HEADER, rows),
                  "location_id, CAST(ts AS VARCHAR), direction_1, direction_2, pedestrians, latitude, longitude, "
                  "reason")
    assert got == _sorted([expected for _, expected in ODS_ROWS])
