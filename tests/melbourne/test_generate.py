from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from footfall.melbourne.detect import detect
from footfall.melbourne.generate import FORMATS, generate


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gen") / "archive.csv"
    generate(path, fmt="archive", seed=7, sensors=12, start=date(2019, 3, 1), end=date(2021, 4, 30),
             locations=path.with_name("locations.csv"))
    return path


def table(path: Path) -> duckdb.DuckDBPyRelation:
    return duckdb.sql(f"""select Sensor_ID as sensor, Sensor_Name as name, Time as hour,
        strptime(Date_Time, '%B %d, %Y %I:%M:%S %p') as ts, cast(replace(Hourly_Counts, ',', '') as bigint) as n
        from read_csv('{path}', all_varchar = true)""")


def test_every_format_is_recognised_as_what_it_imitates(tmp_path: Path) -> None:
    expected = {"archive": "legacy_counts", "rows-csv": "legacy_counts", "soda-json": "legacy_counts",
                "ods-csv": "ods_counts"}
    for fmt in FORMATS:
        path = tmp_path / f"{fmt}.out"
        generate(path, fmt=fmt, seed=1, sensors=3, start=date(2020, 1, 1), end=date(2020, 1, 3))
        assert detect(path).format.name == expected[fmt]


def test_headers_and_keys_match_the_real_publications(real: Path, tmp_path: Path) -> None:
    soda = tmp_path / "soda.json"
    generate(soda, fmt="soda-json", seed=1, sensors=2, start=date(2020, 1, 1), end=date(2020, 1, 1))
    real_keys = set(json.loads((real / "socrata_counts_soda_2019-11_5000.json").read_text())[0])
    generated = json.loads(soda.read_text())
    assert set(generated[0]) == real_keys
    assert all(isinstance(v, str) for record in generated for v in record.values())
    ods = tmp_path / "ods.csv"
    generate(ods, fmt="ods-csv", seed=1, sensors=2, start=date(2020, 1, 1), end=date(2020, 1, 1))
    with (real / "ods_counts_export_labels_2025-10_5000.csv").open() as handle:
        labels = [h.lower() for h in next(csv.reader(handle))]
    header = ods.read_text().splitlines()[0].split(";")
    assert [h.replace("pedestriancount", "total_of_directions") for h in header] == labels
    row = next(csv.DictReader(ods.open(), delimiter=";"))
    assert row["id"] == f"{row['location_id']}{row['hourday']}{row['sensing_date'].replace('-', '')}"
    assert int(row["pedestriancount"]) == int(row["direction_1"]) + int(row["direction_2"])


def test_the_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    for path, seed in ((a, 3), (b, 3), (c, 4)):
        generate(path, fmt="archive", seed=seed, sensors=5, start=date(2020, 1, 1), end=date(2020, 2, 1), threads=2)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_rows_asks_for_about_that_many(tmp_path: Path) -> None:
    summary = generate(tmp_path / "n.csv", fmt="rows-csv", seed=1, sensors=20, rows=50_000)
    assert 0.97 * 50_000 <= summary.rows <= 1.03 * 50_000
    assert sum(1 for _ in (tmp_path / "n.csv").open()) - 1 == summary.rows


def test_daylight_saving_days_in_local_time(archive: Path) -> None:
    t = table(archive)
    october = t.filter("cast(ts as date) = date '2019-10-06'").aggregate("count(distinct hour(ts))").fetchall()
    assert october == [(23,)]
    assert t.filter("cast(ts as date) = date '2019-10-06' and hour(ts) = 2").fetchall() == []
    april = t.filter("cast(ts as date) = date '2020-04-05' and hour(ts) = 2 and sensor = '1'").fetchall()
    assert len(april) <= 1


def test_missing_hours_are_absent_rows_and_counts_are_never_negative(archive: Path) -> None:
    t = table(archive)
    per_sensor = t.filter("sensor = '1'").aggregate("count(*), min(n), count(*) filter (where n = 0)").fetchall()[0]
    full_grid = ((date(2021, 4, 30) - date(2019, 3, 1)).days + 1) * 24 - 3  # three October days lose hour 2
    assert 0.98 * full_grid <= per_sensor[0] < full_grid
    assert t.aggregate("min(n)").fetchall()[0][0] >= 0


def test_thousands_separators_in_the_archive(archive: Path) -> None:
    assert '"1,' in archive.read_text() or '"2,' in archive.read_text()


def test_lockdowns_dip_below_the_same_weeks_a_year_before(archive: Path) -> None:
    t = table(archive)
    during = t.filter("ts >= '2020-04-06' and ts < '2020-05-04'").aggregate("sum(n)").fetchall()[0][0]
    before = t.filter("ts >= '2019-04-08' and ts < '2019-05-06'").aggregate("sum(n)").fetchall()[0][0]
    assert during < 0.5 * before


def test_two_sensors_tie_and_one_is_renamed(archive: Path) -> None:
    t = table(archive)
    daily = t.filter("sensor in ('1', '2') and ts >= '2019-04-01' and ts < '2019-04-14'").aggregate(
        "cast(ts as date) as d, sensor, sum(n) as total", "cast(ts as date), sensor").fetchall()
    by_day: dict = {}
    for d, sensor, total in daily:
        by_day.setdefault(d, {})[sensor] = total
    assert sum(1 for v in by_day.values() if len(v) == 2 and v["1"] == v["2"]) >= 5
    names = t.filter("sensor = '3'").aggregate("name, min(ts), max(ts)", "name").order("2").fetchall()
    assert [n for n, _, _ in names] == ["Pelham St (S)", "Pelham St (South)"]


def test_locations_file_lists_each_sensor_once_with_its_latest_name(archive: Path) -> None:
    rows = list(csv.DictReader(archive.with_name("locations.csv").open(), delimiter=";"))
    assert [int(r["location_id"]) for r in rows] == list(range(1, 13))
    assert rows[2]["sensor_description"] == "Pelham St (South)"
    assert detect(archive.with_name("locations.csv")).format.name == "ods_sensors"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"fmt": "xlsx"}, "unknown format"),
    ({"sensors": 0}, "at least 1"),
    ({"start": date(2020, 2, 1), "end": date(2020, 1, 1)}, "before the start"),
])
def test_bad_arguments_are_one_line_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(tmp_path / "x.csv", **kwargs)
