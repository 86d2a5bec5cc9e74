"""A location's coordinates are a usable position or none: NaN, infinite, out-of-range, swapped, 0/0 and
half-given pairs are set aside with a note and counted, never put on the map. Run on the real sensor-locations
and counts samples, modified on the fly."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import duckdb
import pytest
from support import cli

from footfall.sql import literal

SENSORS = "ods_sensor_locations_export_2026-06.csv"
COUNTS = "ods_counts_export_labels_2025-10_5000.csv"

# (latitude, longitude) written into the sensor file, the note footfall must give. Each goes to one location
# whose coordinates in the counts sample are blanked, so the sensor file is its only source of a position.
BAD = [
    (("144.96429485", "-37.81101524"), "latitude outside -90..90 (latitude and longitude swapped?) in the "
                                       "sensor-locations file"),
    (("nan", "144.96"), "a coordinate is NaN in the sensor-locations file"),
    (("-37.81", "NaN"), "a coordinate is NaN in the sensor-locations file"),
    (("inf", "144.96"), "a coordinate is infinite in the sensor-locations file"),
    (("-37.81", "-Infinity"), "a coordinate is infinite in the sensor-locations file"),
    (("95.5", "144.96"), "latitude outside -90..90 in the sensor-locations file"),
    (("-37.81", "200.1"), "longitude outside -180..180 in the sensor-locations file"),
    (("-237.81", "144.96"), "latitude outside -90..90 in the sensor-locations file"),
    (("", "144.96"), "only one of latitude and longitude in the sensor-locations file"),
    (("-37.81", "east"), "only one of latitude and longitude in the sensor-locations file"),
    (("0", "0"), "latitude and longitude both 0 (no position) in the sensor-locations file"),
]
GOOD = [("-90", "180"), ("90", "-180"), ("", "")]  # the bounds are positions; no coordinates is no problem
# One location's sensor pair swapped, its counts' pair kept; another's counts pair NaN, its sensor pair kept.
FALLBACK_NOTES = ["latitude outside -90..90 (latitude and longitude swapped?) in the sensor-locations file",
                  "a coordinate is NaN in the counts"]


def _sensor_rows(real: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO((real / SENSORS).read_text(encoding="utf-8-sig")), delimiter=";"))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def lake(real: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict, dict]:
    """A run over the real samples with BAD, GOOD and FALLBACK coordinates planted: the lake, the pairs planted
    (by location id), the coordinates every other id must keep, and the notes of the FALLBACK ids."""
    folder = tmp_path_factory.mktemp("locations")
    header, rows = _sensor_rows(real)
    lat, lon, loc = header.index("latitude"), header.index("longitude"), header.index("location")
    counted = {int(r[1]) for r in csv.reader(io.StringIO((real / COUNTS).read_text(encoding="utf-8-sig")))
               if r[1].isdigit()}
    ids = sorted({int(r[0]) for r in rows} & counted)
    planted = dict(zip(ids, [pair for pair, _ in BAD] + GOOD, strict=False))
    swapped, nan_in_counts = ids[len(planted)], ids[len(planted) + 1]
    untouched = {}
    for r in rows:
        if int(r[0]) in planted:
            r[lat], r[lon] = planted[int(r[0])]
            r[loc] = ""
        elif int(r[0]) == swapped:
            r[lat], r[lon] = r[lon], r[lat]
        else:
            untouched[int(r[0])] = (r[lat], r[lon])
    with (folder / "sensors.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=";").writerows([header, *rows])
    with (folder / "counts.csv").open("w", newline="", encoding="utf-8") as out:
        reader = csv.reader(io.StringIO((real / COUNTS).read_text(encoding="utf-8-sig")))
        writer = csv.writer(out)
        head = next(reader)
        writer.writerow(head)
        for r in reader:
            if int(r[1]) in planted:
                r[head.index("Location")] = ""
            elif int(r[1]) == nan_in_counts:
                r[head.index("Location")] = "NaN, 144.96"
            elif int(r[1]) == swapped:
                untouched[swapped] = tuple(v.strip() for v in r[head.index("Location")].split(","))
            writer.writerow(r)
    done = cli.footfall("run", "--counts", str(folder / "counts.csv"), "--sensors", str(folder / "sensors.csv"),
                        "--lake", str(folder / "lake"), env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    (folder / "stderr.txt").write_text(done.stderr)
    notes = dict(zip((swapped, nan_in_counts), FALLBACK_NOTES, strict=True))
    return folder / "lake", planted, untouched, notes


def _locations(lake: Path) -> dict[int, tuple[float | None, float | None, str | None]]:
    path = lake / "transformed" / "locations.parquet"
    rows = duckdb.sql("SELECT location_id, latitude, longitude, coordinates_note "
                      f"FROM read_parquet({literal(str(path))})")
    return {int(i): (la, lo, note) for i, la, lo, note in rows.fetchall()}


@pytest.mark.slow
def test_unusable_coordinates_are_set_aside_with_their_reason_and_the_location_kept(lake) -> None:
    root, planted, _, _ = lake
    found = _locations(root)
    bad = dict(zip(list(planted)[:len(BAD)], BAD, strict=True))
    assert len(planted) == len(BAD) + len(GOOD)
    for location_id, (_, note) in bad.items():
        assert location_id in found, "the location is kept"
        assert found[location_id] == (None, None, note)


@pytest.mark.slow
def test_every_position_kept_is_finite_in_range_and_as_published(lake) -> None:
    root, planted, untouched, notes = lake
    found = _locations(root)
    good = list(planted)[len(BAD):]
    assert [found[i][:2] for i in good] == [(-90.0, 180.0), (90.0, -180.0), (None, None)]
    assert all(found[i][2] is None for i in good)
    assert all(found[i][0] is not None and found[i][2] == note for i, note in notes.items()), "the other pair is used"
    for location_id, (la, lo, note) in found.items():
        if la is None:
            continue
        assert math.isfinite(la) and math.isfinite(lo) and -90 <= la <= 90 and -180 <= lo <= 180
        if location_id in untouched:
            assert (la, lo) == tuple(float(v) for v in untouched[location_id])
            assert note == notes.get(location_id)


@pytest.mark.slow
def test_the_run_counts_the_locations_set_aside(lake) -> None:
    root, _, _, _ = lake
    stderr = (root.parent / "stderr.txt").read_text()
    assert f"{len(BAD) + len(FALLBACK_NOTES)} location(s) with unusable coordinates kept without a position" in stderr


@pytest.mark.slow
def test_the_report_map_holds_only_usable_positions(lake, tmp_path: Path) -> None:
    root, planted, _, _ = lake
    done = cli.footfall("report", "--lake", str(root), "--out", str(tmp_path / "report.html"))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "report.html").read_text()
    data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page,
                                re.S).group(1))
    points = data["charts"]["map"]["data"][0]
    assert all(math.isfinite(y) and -90 <= y <= 90 for y in points["y"])
    assert all(math.isfinite(x) and -180 <= x <= 180 for x in points["x"])
    on_map = {t.split(":")[0] for t in points["text"]}
    names = dict(duckdb.sql(f"SELECT location_id, location FROM read_parquet("
                            f"{literal(str(root / 'transformed' / 'locations.parquet'))})").fetchall())
    assert not on_map & {names[i] for i in list(planted)[:len(BAD)]}
    assert "NaN" not in page.split('id="report-data">')[1] and "Infinity" not in page.split('id="report-data">')[1]
