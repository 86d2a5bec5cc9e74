"""Data gaps against sensor faults: hours the whole city missed are reported once, as data gaps, and never as
an outage of each sensor; a sensor's faults are judged only over the hours the lake holds."""

from __future__ import annotations

import bisect
import csv
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import duckdb
import pytest

from footfall.lake.local import LocalLake
from footfall.melbourne.generate import planted_faults
from footfall.melbourne.run import run
from footfall.sql import literal

HOUR = timedelta(hours=1)
WEEK = 168
EARLY = (date(2017, 1, 1), date(2017, 6, 30))  # a clean first period, then a hole of 18 months
LATE = (date(2019, 1, 1), date(2019, 12, 31))  # the faulty period
STOP = date(2019, 3, 5)  # a day on which no sensor of the city reported


def read(lake: Path, table: str) -> list[dict]:
    with (lake / "curated" / f"{table}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def stamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


def hourly(lake: Path) -> dict[int, list[datetime]]:
    """Each location's reported hours, sorted, from the published hourly table."""
    con = duckdb.connect()
    rows = con.execute(f"SELECT location_id, ts FROM read_parquet({literal(str(lake / 'transformed/hourly_counts'))}"
                       " || '/**/*.parquet', hive_partitioning = true) ORDER BY location_id, ts").fetchall()
    found: dict[int, list[datetime]] = defaultdict(list)
    for location, ts in rows:
        found[location].append(ts)
    return dict(found)


@dataclass(frozen=True)
class Gap:
    start: datetime
    end: datetime
    before: int
    after: int
    most: int
    location_hours: int


def reference_data_gaps(hours: dict[int, list[datetime]]) -> list[Gap]:
    """docs/definitions.md, data gaps, hour by hour: an hour from the first reported to the last is a data-gap hour
    when no location reported in it, or fewer than half of the smaller of the locations that reported in the week
    before and in the week after; runs of at least two such hours are data gaps."""
    first = min(h[0] for h in hours.values())
    last = max(h[-1] for h in hours.values())

    def within(ts: list[datetime], low: datetime, high: datetime) -> bool:
        i = bisect.bisect_left(ts, low)
        return i < len(ts) and ts[i] <= high

    reporting: dict[datetime, int] = defaultdict(int)
    for ts in hours.values():
        for t in ts:
            reporting[t] += 1
    judged = []
    t = first
    while t <= last:
        before = sum(within(ts, t - WEEK * HOUR, t - HOUR) for ts in hours.values())
        after = sum(within(ts, t + HOUR, t + WEEK * HOUR) for ts in hours.values())
        now = reporting.get(t, 0)
        judged.append((t, now == 0 or 2 * now < min(before, after), before, after, now))
        t += HOUR
    gaps, run = [], []
    for row in [*judged, (None, False, 0, 0, 0)]:
        if row[1]:
            run.append(row)
            continue
        if len(run) >= 2:
            gaps.append(Gap(run[0][0], run[-1][0], run[0][2], run[-1][3], max(r[4] for r in run),
                            sum(r[4] for r in run)))
        run = []
    return gaps


def as_gaps(rows: list[dict]) -> list[Gap]:
    return [Gap(stamp(r["start_ts"]), stamp(r["end_ts"]), int(r["sensors_before"]), int(r["sensors_after"]),
                int(r["most_reporting"]), int(r["location_hours"])) for r in rows]


def reference_outages(hours: dict[int, list[datetime]], gaps: list[Gap]) -> set[tuple[int, datetime, datetime, int]]:
    """docs/definitions.md, outages: a location's missing hours outside every data gap, as runs; a run is an
    outage when at least 24 hours and twice the median of the location's runs."""
    in_gap = {g.start + i * HOUR for g in gaps for i in range(int((g.end - g.start) / HOUR) + 1)}
    found = set()
    for location, ts in hours.items():
        pieces = []
        for previous, current in pairwise(ts):
            piece: list[datetime] = []
            for i in range(1, int((current - previous) / HOUR)):
                hour = previous + i * HOUR
                if hour in in_gap:
                    if piece:
                        pieces.append(piece)
                    piece = []
                else:
                    piece.append(hour)
            if piece:
                pieces.append(piece)
        if not pieces:
            continue
        median = statistics.median(len(p) for p in pieces)
        found |= {(location, p[0], p[-1], len(p)) for p in pieces if len(p) >= 24 and len(p) >= 2 * median}
    return found


def as_outages(rows: list[dict]) -> set[tuple[int, datetime, datetime, int]]:
    return {(int(r["location_id"]), stamp(r["start_ts"]), stamp(r["end_ts"]), int(r["hours"])) for r in rows}


def without_day(source: Path, target: Path, day: date) -> None:
    """The archive file without any row of ``day``: a day on which the whole city's counting stopped."""
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT * FROM read_csv({literal(str(source))}, all_varchar = true, header = true)
                          WHERE NOT ("Year" = '{day.year}' AND "Month" = '{day:%B}' AND "Mdate" = '{day.day}'))
                    TO {literal(str(target))} (FORMAT csv, HEADER true)""")


@pytest.fixture(scope="module")
def holey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """(a) a lake of two periods with 18 months between them, (b) a day on which the city stopped, and (c) the
    planted faults of ``generate --faults``, one of them a sensor down while the others report. The first period
    has sensors 1-6, the second 1-12 (sensor 7 is installed a few weeks into each period it is in)."""
    from footfall.melbourne.generate import generate

    folder = tmp_path_factory.mktemp("holey")
    generate(folder / "early.csv", seed=5, sensors=6, start=EARLY[0], end=EARLY[1])
    generate(folder / "late-whole.csv", seed=5, sensors=12, start=LATE[0], end=LATE[1], faults=True)
    without_day(folder / "late-whole.csv", folder / "late.csv", STOP)
    run(LocalLake.at(folder / "lake"), [str(folder / "early.csv"), str(folder / "late.csv")])
    return folder / "lake"


@pytest.fixture(scope="module")
def reference(holey: Path) -> tuple[dict[int, list[datetime]], list[Gap]]:
    """The holey lake's hourly table and its data gaps recomputed hour by hour (once for the module)."""
    hours = hourly(holey)
    return hours, reference_data_gaps(hours)


def test_a_hole_of_months_and_a_city_wide_stop_are_two_data_gaps_listed_once(holey: Path) -> None:
    gaps = as_gaps(read(holey, "data_gaps"))
    # 6 sensors the week before the hole, 11 the week after it (sensor 7 is installed later)
    hole = Gap(datetime(2017, 7, 1), datetime(2018, 12, 31, 23), 6, 11, 0, 0)
    stop = Gap(datetime.combine(STOP, datetime.min.time()), datetime.combine(STOP, datetime.min.time()) + 23 * HOUR,
               12, 12, 0, 0)
    assert gaps == [hole, stop]
    assert [int(r["hours"]) for r in read(holey, "data_gaps")] == [13176, 24]


def test_data_gaps_equal_an_hour_by_hour_recomputation_from_the_hourly_table(holey: Path, reference: tuple) -> None:
    assert as_gaps(read(holey, "data_gaps")) == reference[1]


def test_only_the_sensor_down_while_the_others_report_has_an_outage(holey: Path, reference: tuple) -> None:
    fault = next(f for f in planted_faults(*LATE) if f.kind == "outage")
    outages = read(holey, "outages")
    assert [int(o["location_id"]) for o in outages] == [fault.sensor]
    assert stamp(outages[0]["start_ts"]) <= fault.start and stamp(outages[0]["end_ts"]) >= fault.end
    assert as_outages(outages) == reference_outages(*reference)


def test_every_planted_fault_is_still_found_and_nothing_else_is_flagged(holey: Path) -> None:
    planted = planted_faults(*LATE)
    flat = {f.sensor for f in planted if f.kind == "flatline"}
    assert sorted(int(f["location_id"]) for f in read(holey, "flatlines")) == sorted(flat)
    shift = next(f for f in planted if f.kind == "level shift")
    assert {int(s["location_id"]) for s in read(holey, "level_shifts")} == {shift.sensor}
    health = {int(r["location_id"]): r for r in read(holey, "sensor_health")}
    flagged = {i for i, r in health.items() if r["outages"] != "0" or r["flatlines"] != "0"
               or r["level_shift_weeks"] != "0"}
    assert flagged == {f.sensor for f in planted}
    assert {i for i, r in health.items() if r["status"] == "check"} == {shift.sensor}


def assert_coverage_counts_the_data_gaps(lake: Path, hours: dict[int, list[datetime]], gaps: list[Gap]) -> None:
    """docs/definitions.md, coverage: data-gap hours of each location's span, and the share of its other hours
    that it reported, recomputed hour by hour."""
    coverage = {int(r["location_id"]): r for r in read(lake, "coverage")}
    all_gaps = {g.start + i * HOUR for g in gaps for i in range(int((g.end - g.start) / HOUR) + 1)}
    for location, ts in hours.items():
        in_gaps = sum(max(0, int((min(g.end, ts[-1]) - max(g.start, ts[0])) / HOUR) + 1) for g in gaps)
        held = int((ts[-1] - ts[0]) / HOUR) + 1 - in_gaps
        row = coverage[location]
        assert int(row["data_gap_hours"]) == in_gaps
        expected = round(sum(t not in all_gaps for t in ts) * 100 / held, 2) if held else None
        assert (float(row["coverage_held_pct"]) if row["coverage_held_pct"] else None) == expected


def test_coverage_counts_the_data_gap_hours_of_each_span(holey: Path, reference: tuple) -> None:
    assert_coverage_counts_the_data_gaps(holey, *reference)
    coverage = {int(r["location_id"]): r for r in read(holey, "coverage")}
    assert int(coverage[1]["data_gap_hours"]) == 13176 + 24 and int(coverage[8]["data_gap_hours"]) == 24


@pytest.mark.slow
def test_a_lake_of_two_disjoint_real_periods_flags_only_faults_inside_them(real: Path, tmp_path: Path) -> None:
    """The real 2019-11 SODA sample and the real 2023-2025 export: the years between are one data gap, no sensor
    has an outage across it, and every finding and data gap equals an independent computation."""
    lake = tmp_path / "lake"
    run(LocalLake.at(lake), [str(real / "socrata_counts_soda_2019-11_5000.json"),
                        str(real / "ods_counts_export_labels_2025-10_5000.csv")],
        [str(real / "ods_sensor_locations_export_2026-06.csv")])
    hours = hourly(lake)
    gaps = as_gaps(read(lake, "data_gaps"))
    assert gaps == reference_data_gaps(hours)
    hole = [g for g in gaps if g.start <= datetime(2019, 11, 6) and g.end >= datetime(2023, 10, 1)]
    assert len(hole) == 1 and hole[0].most == 0
    outages = read(lake, "outages")
    assert as_outages(outages) == reference_outages(hours, gaps)
    held_dense = (datetime(2019, 11, 1, 17), datetime(2019, 11, 5, 14))
    assert outages and all(held_dense[0] <= stamp(o["start_ts"]) <= stamp(o["end_ts"]) <= held_dense[1]
                           for o in outages)
    health = read(lake, "sensor_health")
    assert {r["location_id"] for r in health if r["status"] == "check"} == {o["location_id"] for o in outages}
    assert {int(r["location_id"]): (int(r["outages_90d"]), int(r["flatlines_90d"]), int(r["level_shift_weeks_90d"]))
            for r in health} == reference_recent_counts(lake, hours, gaps)
    assert_coverage_counts_the_data_gaps(lake, hours, gaps)


def reference_recent_counts(lake: Path, hours: dict[int, list[datetime]], gaps: list[Gap]
                            ) -> dict[int, tuple[int, int, int]]:
    """docs/definitions.md, health row: per location, the outages, flatlines and level-shift weeks that end on or
    after the earliest of the 90 latest dates with a reported hour outside every data gap."""
    in_gap = {g.start + i * HOUR for g in gaps for i in range(int((g.end - g.start) / HOUR) + 1)}
    held = sorted({t.date() for ts in hours.values() for t in ts if t not in in_gap}, reverse=True)
    recent_start = held[:90][-1]
    counts: dict[int, list[int]] = {location: [0, 0, 0] for location in hours}
    for i, (table, end) in enumerate((("outages", "end_date"), ("flatlines", "end_date"),
                                      ("level_shifts", "week_end"))):
        for row in read(lake, table):
            if date.fromisoformat(row[end]) >= recent_start:
                counts[int(row["location_id"])][i] += 1
    return {location: tuple(c) for location, c in counts.items()}


@pytest.mark.slow
def test_the_last_90_days_are_the_days_the_lake_holds(tmp_path: Path) -> None:
    """Five faulty months of 2019 and a lone December 2021: the last 90 days are December and the 59 latest days
    of 2019, so the level shift of August 2019 is recent, and the 23 empty months before December are not
    counted as days."""
    from footfall.melbourne.generate import generate

    period = (date(2019, 5, 1), date(2019, 9, 30))
    generate(tmp_path / "faulty.csv", seed=5, sensors=12, start=period[0], end=period[1], faults=True)
    generate(tmp_path / "december.csv", fmt="ods-csv", seed=5, sensors=12, start=date(2021, 12, 1),
             end=date(2021, 12, 31))
    lake = tmp_path / "lake"
    run(LocalLake.at(lake), [str(tmp_path / "faulty.csv"), str(tmp_path / "december.csv")])
    assert [(g.start, g.end) for g in as_gaps(read(lake, "data_gaps"))] == [
        (datetime(2019, 10, 1), datetime(2021, 11, 30, 23))]
    health = {int(r["location_id"]): r for r in read(lake, "sensor_health")}
    found = {location: (int(r["outages_90d"]), int(r["flatlines_90d"]), int(r["level_shift_weeks_90d"]))
             for location, r in health.items()}
    hours = hourly(lake)
    assert found == reference_recent_counts(lake, hours, reference_data_gaps(hours))
    shift = next(f for f in planted_faults(*period) if f.kind == "level shift")
    outage = next(f for f in planted_faults(*period) if f.kind == "outage")
    assert health[shift.sensor]["status"] == "check" and health[outage.sensor]["status"] == "ok"
    assert [r["status"] for r in health.values()].count("check") < len(health) / 2


def test_the_recent_counts_of_the_holey_lake_equal_an_independent_computation(holey: Path, reference: tuple) -> None:
    health = {int(r["location_id"]): r for r in read(holey, "sensor_health")}
    found = {location: (int(r["outages_90d"]), int(r["flatlines_90d"]), int(r["level_shift_weeks_90d"]))
             for location, r in health.items()}
    assert found == reference_recent_counts(holey, *reference)


def test_the_report_draws_the_hole_once_as_a_band_and_only_the_sensor_outage_as_a_bar(holey: Path) -> None:
    from footfall.melbourne.report import Answers, health_chart, history_chart

    answers = Answers(LocalLake.at(holey))
    health = health_chart(answers).figure
    outage_rows = {y for t in health["data"] if t["name"] == "outage" for y in t["y"] if y}
    fault = next(f for f in planted_faults(*LATE) if f.kind == "outage")
    assert outage_rows == {f"Town Hall (West) ({fault.sensor})"}
    bands = [(s["x0"], s["x1"]) for s in health["layout"]["shapes"] if s["name"] == "data gap"]
    assert bands == [("2017-07-01 00:00:00", "2019-01-01 00:00:00"), ("2019-03-05 00:00:00", "2019-03-06 00:00:00")]
    history = history_chart(answers).figure["layout"]["shapes"]
    assert [(s["x0"], s["x1"]) for s in history if s["name"] == "data gap"] == bands
