"""Synthetic pedestrian counts shaped like the City of Melbourne's, in any format it has published.

One DuckDB ``COPY`` streams every row from ``range()`` to disk, so 100 M rows need no more memory
than 1 M, and pseudo-randomness comes from ``hash(seed, sensor, hour)`` rather than a random
generator, so the same seed gives the same bytes on any number of threads.

Shape: sensor ids 1..S (the legacy Sensor_ID is the location id), each with its own level (tens to a
few thousand an hour at peak) and leaning to commuters or to leisure; a daily cycle (quiet nights,
peaks at the morning and evening commute and at lunch) and a weekly one; one sensor in ten installed
during the first tenth of the period; counts down to 20-40% during Melbourne's six lockdowns; about
0.5% of hours missing (absent rows, not zeros); sensor 3 renamed halfway (``Pelham St (S)`` to
``Pelham St (South)``); sensor 2 shaped like sensor 1 and reporting exactly its counts for two weeks
(ties); zero counts at night; local time with daylight saving: no 2 o'clock on the first Sunday of October.

With ``faults``, sensors also fail the ways real ones do (see :func:`planted_faults`): an outage, a day
and more of zeros, a day and more of one repeated count, and a level shift after "maintenance".
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

import duckdb

from footfall.errors import OutputError
from footfall.melbourne.lockdowns import lockdowns
from footfall.output import check_target, replacing
from footfall.sql import literal

FORMATS = ("archive", "rows-csv", "soda-json", "ods-csv")
MISSING_PER_MILLE = 5
HOURLY_SHAPE = (0.05, 0.03, 0.02, 0.015, 0.02, 0.06, 0.2, 0.55, 0.95, 0.7, 0.6, 0.75, 1.0, 0.95, 0.75, 0.7, 0.8,
                1.0, 0.85, 0.6, 0.45, 0.35, 0.25, 0.12)
NAMES = ("Bourke Street Mall (North)", "Bourke Street Mall (South)", "Pelham St (S)", "Town Hall (West)",
         "Princes Bridge", "Flinders Street Station Underpass", "Birrarung Marr", "Sandridge Bridge",
         "Webb Bridge", "Southern Cross Station", "Victoria Point", "Waterfront City", "Lonsdale St (South)",
         "Lygon St (West)", "Flinders St-Elizabeth St (East)", "Flinders St-Spark La", "Collins Place (South)",
         "Collins Place (North)", "Chinatown-Swanston St (North)", "QV Market-Elizabeth St (West)",
         "Melbourne Central", "State Library", "Little Collins St-Swanston St (East)", "Southbank",
         "Spencer St-Collins St (North)", "Alfred Place", "Queen St (West)", "Lonsdale St-Spring St (West)",
         "Swanston St-Little Lonsdale St (West)", "Flinders Ln-Degraves St (South)", "The Arts Centre",
         "Tin Alley-Swanston St (West)", "Elizabeth St-La Trobe St (East)", "Faraday St-Lygon St (West)",
         "Grattan St-Swanston St (West)", "Monash Rd-Swanston St (West)", "Bourke St-Russell St (West)",
         "Melbourne Convention Exhibition Centre", "Lincoln-Swanston (West)", "City Square")


@dataclass(frozen=True)
class Fault:
    """One planted sensor fault: ``start`` is its first hour, ``end`` its last (inclusive)."""

    kind: Literal["outage", "flatline", "level shift"]
    sensor: int
    start: datetime
    end: datetime
    detail: str

    def __str__(self) -> str:
        return (f"{self.kind} at sensor {self.sensor}, {self.start:%Y-%m-%d %H:00} .. {self.end:%Y-%m-%d %H:00} "
                f"({self.detail})")


FAULT_SENSORS = 8
FAULT_DAYS = 120
SHIFT_FACTOR = 2.5
FLAT_VALUE = 37


def planted_faults(start: date, end: date) -> list[Fault]:
    """Where ``--faults`` breaks which sensor, at fixed fractions of the period (midnight-aligned): a 10-day
    outage at sensor 4 (25%), 72 hours of zeros at sensor 5 (45%), 30 hours of the count 37 at sensor 6 (55%),
    and sensor 8 counting 2.5 times as many from 70% of the period to its end."""
    days = (end - start).days + 1

    def at(fraction: float) -> datetime:
        return datetime.combine(start + timedelta(days=int(days * fraction)), datetime.min.time())

    last = datetime.combine(end, datetime.min.time()) + timedelta(hours=23)
    return [Fault("outage", 4, at(0.25), at(0.25) + timedelta(hours=239), "240 missing hours"),
            Fault("flatline", 5, at(0.45), at(0.45) + timedelta(hours=71), "72 hours of 0"),
            Fault("flatline", 6, at(0.55), at(0.55) + timedelta(hours=29), f"30 hours of {FLAT_VALUE}"),
            Fault("level shift", 8, at(0.70), last, f"counts x{SHIFT_FACTOR} to the end")]


def _between(fault: Fault) -> str:
    return (f"sensor_id = {fault.sensor} AND ts >= TIMESTAMP '{fault.start.isoformat(sep=' ')}' "
            f"AND ts <= TIMESTAMP '{fault.end.isoformat(sep=' ')}'")


@dataclass(frozen=True)
class GenerateSummary:
    path: Path
    format: str
    rows: int
    sensors: int
    start: date
    end: date
    bytes: int
    faults: tuple[Fault, ...] = ()


def end_for_rows(rows: int, sensors: int, start: date) -> date:
    """The last day that makes the sensors x hours grid about ``rows`` (before ~1.5% lost to missing hours
    and late installations)."""
    hours = math.ceil(rows / sensors / 0.985)
    return start + timedelta(days=max(0, math.ceil(hours / 24) - 1))


def _grid_sql(seed: int, sensors: int, start: date, end: date, faults: Sequence[Fault] = ()) -> str:
    """Every (sensor, local hour) row with its count, sensor-major so the file is not in time order."""
    hours = ((end - start).days + 1) * 24
    outages = "".join(f" AND NOT ({_between(f)})" for f in faults if f.kind == "outage")
    factor = "".join(f" * CASE WHEN {_between(f)} THEN {SHIFT_FACTOR} ELSE 1 END" for f in faults
                     if f.kind == "level shift")
    flat = [(f, 0 if "of 0" in f.detail else FLAT_VALUE) for f in faults if f.kind == "flatline"]
    count = "raw_n"
    if flat:
        count = "CASE " + " ".join(f"WHEN {_between(f)} THEN {v}" for f, v in flat) + " ELSE raw_n END"
    shape = "[" + ", ".join(str(x) for x in HOURLY_SHAPE) + "]"
    lockdown = " OR ".join(f"(ts >= TIMESTAMP '{d.start}' AND ts < TIMESTAMP '{d.end}' + INTERVAL 1 DAY)"
                           for d in lockdowns())
    return f"""
    WITH grid AS (
        SELECT i,
               CAST(i // {hours} AS BIGINT) + 1 AS sensor_id,
               TIMESTAMP '{start.isoformat()}' + to_hours(CAST(i % {hours} AS BIGINT)) AS ts
        FROM range(0, {sensors * hours}) AS r(i)
    ),
    shaped AS (
        SELECT i, sensor_id, ts,
               -- sensor 2 is shaped like sensor 1 throughout, so copying it is not a change of level
               CASE WHEN sensor_id = 2 THEN 1 ELSE sensor_id END AS profile,
               -- sensor 2 copies sensor 1 for two weeks: ties in the daily totals
               CASE WHEN sensor_id = 2 AND ts >= TIMESTAMP '{start.isoformat()}' + INTERVAL 30 DAY
                         AND ts < TIMESTAMP '{start.isoformat()}' + INTERVAL 44 DAY THEN 1 ELSE sensor_id END AS twin
        FROM grid
        WHERE hash({seed}, sensor_id, ts, 'missing') % 1000 >= {MISSING_PER_MILLE}
          AND NOT (month(ts) = 10 AND dayofweek(ts) = 0 AND day(ts) <= 7 AND hour(ts) = 2)
          AND (sensor_id % 10 <> 7 OR ts >= TIMESTAMP '{start.isoformat()}'
               + to_hours(CAST(hash({seed}, sensor_id, 'install') % {max(1, hours // 10)} AS BIGINT))){outages}
    ),
    counted AS (
        SELECT i, sensor_id, ts,
               CAST(round(
                   (20 + hash({seed}, profile, 'level') % 2500)
                   * {shape}[hour(ts) + 1]
                   * CASE WHEN dayofweek(ts) IN (0, 6)
                          THEN (CASE WHEN hash({seed}, profile, 'leisure') % 3 = 0 THEN 1.25 ELSE 0.6 END) ELSE 1.0 END
                   * CASE WHEN {lockdown} THEN 0.2 + (hash({seed}, profile, 'lockdown') % 200) / 1000.0 ELSE 1.0 END
                   * (0.85 + (hash({seed}, twin, ts, 'noise') % 300) / 1000.0){factor}
               ) AS BIGINT) AS raw_n,
               (hash({seed}, sensor_id, 'split') % 60 + 20) / 100.0 AS split
        FROM shaped
    )
    SELECT i, sensor_id, ts, {count} AS n, split
    FROM counted
    """


def _name_sql(sensors: int, start: date, end: date) -> str:
    """The legacy Sensor_Name of a row: a description, with sensor 3 renamed halfway through."""
    names = "[" + ", ".join(literal(n) for n in NAMES) + "]"
    middle = start + (end - start) / 2
    return (f"CASE WHEN sensor_id = 3 AND ts >= TIMESTAMP '{middle.isoformat()}' THEN 'Pelham St (South)' "
            f"WHEN sensor_id <= {len(NAMES)} THEN {names}[sensor_id] "
            f"ELSE 'Sensor ' || CAST(sensor_id AS VARCHAR) END")


def _code_sql() -> str:
    letters = "regexp_replace(name, '[^A-Za-z]', '', 'g')"
    return f"upper(left({letters}, 1)) || lower(substr({letters}, 2, 2)) || CAST(sensor_id AS VARCHAR) || '_T'"


def _select(fmt: str, seed: int, sensors: int, start: date, end: date,
            faults: Sequence[Fault] = ()) -> tuple[str, str]:
    """The SELECT producing the file and the COPY options that write it."""
    grid = _grid_sql(seed, sensors, start, end, faults)
    rows = f"(SELECT *, {_name_sql(sensors, start, end)} AS name FROM ({grid}))"
    if fmt in ("archive", "rows-csv"):
        stamp = "'%B %d, %Y %I:%M:%S %p'" if fmt == "archive" else "'%m/%d/%Y %I:%M:%S %p'"
        count = ("CASE WHEN n >= 1000 THEN format('{:,}', n) ELSE CAST(n AS VARCHAR) END" if fmt == "archive"
                 else "CAST(n AS VARCHAR)")
        return (f"""SELECT i + 1 AS "ID", strftime(ts, {stamp}) AS "Date_Time", year(ts) AS "Year",
                   monthname(ts) AS "Month", day(ts) AS "Mdate", dayname(ts) AS "Day", hour(ts) AS "Time",
                   sensor_id AS "Sensor_ID", name AS "Sensor_Name", {count} AS "Hourly_Counts" FROM {rows}""",
                "FORMAT csv, HEADER true")
    if fmt == "soda-json":
        return (f"""SELECT CAST(i + 1 AS VARCHAR) AS id, strftime(ts, '%Y-%m-%dT%H:%M:%S.000') AS date_time,
                   CAST(year(ts) AS VARCHAR) AS year, monthname(ts) AS month, CAST(day(ts) AS VARCHAR) AS mdate,
                   dayname(ts) AS day, CAST(hour(ts) AS VARCHAR) AS time, CAST(sensor_id AS VARCHAR) AS sensor_id,
                   name AS sensor_name, CAST(n AS VARCHAR) AS hourly_counts FROM {rows}""",
                "FORMAT json, ARRAY true")
    if fmt == "ods-csv":
        return (f"""SELECT CAST(sensor_id AS VARCHAR) || CAST(hour(ts) AS VARCHAR) || strftime(ts, '%Y%m%d') AS id,
                   sensor_id AS location_id, strftime(ts, '%Y-%m-%d') AS sensing_date, hour(ts) AS hourday,
                   CAST(round(n * split) AS BIGINT) AS direction_1, n - CAST(round(n * split) AS BIGINT) AS direction_2,
                   n AS pedestriancount, {_code_sql()} AS sensor_name,
                   {_coordinate('lat')} || ', ' || {_coordinate('lon')} AS location FROM {rows}""",
                "FORMAT csv, HEADER true, DELIMITER ';'")
    raise ValueError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")


def _coordinate(axis: str) -> str:
    base, spread = ("-37.83", 0.03) if axis == "lat" else ("144.95", 0.03)
    return (f"CAST(round({base} + (hash(sensor_id, '{axis}') % 10000) / 10000.0 * {spread}, 8) AS VARCHAR)")


def generate(out: Path, *, fmt: str = "archive", seed: int = 0, sensors: int = 60, start: date = date(2019, 1, 1),
             end: date = date(2019, 12, 31), rows: int | None = None, locations: Path | None = None,
             threads: int | None = None, faults: bool = False) -> GenerateSummary:
    """Write one synthetic publication to ``out`` (and a sensor-locations file to ``locations``); with
    ``faults``, the sensor faults of :func:`planted_faults` too."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
    if sensors < 1:
        raise ValueError("--sensors must be at least 1")
    if rows is not None:
        if rows < 1:
            raise ValueError("--rows must be at least 1")
        end = end_for_rows(rows, sensors, start)
    if end < start:
        raise ValueError(f"the end ({end}) is before the start ({start})")
    planted: list[Fault] = []
    if faults:
        if sensors < FAULT_SENSORS or (end - start).days + 1 < FAULT_DAYS:
            raise ValueError(f"--faults needs at least {FAULT_SENSORS} sensors and {FAULT_DAYS} days")
        planted = planted_faults(start, end)
    select, options = _select(fmt, seed, sensors, start, end, planted)
    for target in (out, locations):
        if target is not None:
            check_target(target)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
        with replacing(out) as tmp:
            try:
                written = con.execute(f"COPY ({select}) TO {literal(str(tmp))} ({options})").fetchone()
            except duckdb.IOException as e:
                raise OutputError(f"cannot be written: {_reason(e)}", path=out) from None
        if locations is not None:
            _write_locations(con, locations, seed, sensors, start, end)
    finally:
        con.close()
    return GenerateSummary(out, fmt, int(written[0]) if written else 0, sensors, start, end, out.stat().st_size,
                           tuple(planted))


def _reason(error: duckdb.Error) -> str:
    """The operating system's words inside DuckDB's message (``File too large``, ``No space left``...)."""
    found = re.search(r'"exception_message":"(.*?)"[,}]', str(error))
    return found.group(1).rsplit(": ", 1)[-1] if found else str(error).splitlines()[0]


def _write_locations(con: duckdb.DuckDBPyConnection, path: Path, seed: int, sensors: int, start: date,
                     end: date) -> None:
    """The latest description of every sensor, as the Opendatasoft sensor-locations export writes it."""
    rows = con.execute(f"""
        SELECT sensor_id, name, {_code_sql()} AS code, {_coordinate('lat')} AS lat, {_coordinate('lon')} AS lon
        FROM (SELECT sensor_id, {_name_sql(sensors, start, end)} AS name
              FROM (SELECT CAST(s AS BIGINT) AS sensor_id, TIMESTAMP '{end.isoformat()}' AS ts
                    FROM range(1, {sensors + 1}) AS r(s)))
        ORDER BY sensor_id""").fetchall()
    with replacing(path) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["location_id", "sensor_description", "sensor_name", "installation_date", "note",
                         "location_type", "status", "direction_1", "direction_2", "latitude", "longitude",
                         "location"])
        for sensor_id, name, code, lat, lon in rows:
            writer.writerow([sensor_id, name, code, start.isoformat(), "", "Outdoor", "A", "North", "South", lat, lon,
                             f"{lat}, {lon}"])
