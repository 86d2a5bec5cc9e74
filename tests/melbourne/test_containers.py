"""Every schema in every container and header style: the same rows give the same parsed rows and the same
answers, and a workbook's oddities end in one clear line or a counted quarantine."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.cli import answers, footfall, one_line_error
from support.containers import CONTAINERS, write, write_xlsx
from support.landing import parsed

from footfall.engines.duckdb import connect
from footfall.errors import InputError
from footfall.lake.local import LocalLake
from footfall.melbourne.detect import detect
from footfall.melbourne.landing import land_file, parse_file

# Each schema's rows hold an hour given twice identically (folded) and an hour given as two partial records
# (added up), as the real 2023 export does.
SCHEMAS = {
    "legacy_counts": (
        ["ID", "Date_Time", "Year", "Month", "Mdate", "Day", "Time", "Sensor_ID", "Sensor_Name", "Hourly_Counts"],
        [["1", "11/01/2019 05:00:00 PM", "2019", "November", "1", "Friday", "17", "34", "Flinders St-Spark La", "300"],
         ["1", "11/01/2019 05:00:00 PM", "2019", "November", "1", "Friday", "17", "34", "Flinders St-Spark La", "300"],
         ["2", "11/01/2019 06:00:00 PM", "2019", "November", "1", "Friday", "18", "34", "Flinders St-Spark La", "21"],
         ["3", "11/01/2019 06:00:00 PM", "2019", "November", "1", "Friday", "18", "34", "Flinders St-Spark La", "2"],
         ["4", "11/02/2019 01:00:00 AM", "2019", "November", "2", "Saturday", "1", "35", "Alfred Place", "7"]]),
    "ods_counts": (
        ["id", "location_id", "sensing_date", "hourday", "direction_1", "direction_2", "pedestriancount",
         "sensor_name", "location"],
        [["4152025101", "41", "2025-10-01", "5", "3", "4", "7", "Swa295_T", "-37.81, 144.96"],
         ["4152025101", "41", "2025-10-01", "5", "3", "4", "7", "Swa295_T", "-37.81, 144.96"],
         ["4162025101", "41", "2025-10-01", "6", "10", "11", "21", "Swa295_T", "-37.81, 144.96"],
         ["4162025101", "41", "2025-10-01", "6", "1", "1", "2", "Swa295_T", "-37.81, 144.96"],
         ["4202025102", "42", "2025-10-02", "0", "0", "0", "0", "Col12_T", "-37.82, 144.97"]]),
    "ods_counts_labels": (
        ["ID", "Location_ID", "Sensing_Date", "HourDay", "Direction_1", "Direction_2", "Total_of_Directions",
         "Sensor_Name", "Location"],
        [["4152025101", "41", "2025-10-01", "5", "3", "4", "7", "Swa295_T", "-37.81, 144.96"],
         ["4152025101", "41", "2025-10-01", "5", "3", "4", "7", "Swa295_T", "-37.81, 144.96"],
         ["4162025101", "41", "2025-10-01", "6", "10", "11", "21", "Swa295_T", "-37.81, 144.96"],
         ["4162025101", "41", "2025-10-01", "6", "1", "1", "2", "Swa295_T", "-37.81, 144.96"],
         ["4202025102", "42", "2025-10-02", "0", "0", "0", "0", "Col12_T", "-37.82, 144.97"]]),
    "ods_counts_2023": (
        ["timestamp", "locationid", "direction_1", "direction_2", "total_of_directions"],
        [["2023-08-31T02:00:00+10:00", "3", "1", "2", "3"],
         ["2023-08-31T02:00:00+10:00", "3", "1", "2", "3"],
         ["2023-08-31T00:00:00+10:00", "3", "10", "11", "21"],
         ["2023-08-31T00:00:00+10:00", "3", "1", "1", "2"],
         ["2023-10-01T23:00:00+11:00", "4", "5", "5", "10"]]),
    "ods_counts_2023_labels": (
        ["SensingDateTime(Hour)", "LocationID", "Direction_1", "Direction_2", "Total_of_Directions"],
        [["2023-08-31T02:00:00+10:00", "3", "1", "2", "3"],
         ["2023-08-31T02:00:00+10:00", "3", "1", "2", "3"],
         ["2023-08-31T00:00:00+10:00", "3", "10", "11", "21"],
         ["2023-08-31T00:00:00+10:00", "3", "1", "1", "2"],
         ["2023-10-01T23:00:00+11:00", "4", "5", "5", "10"]]),
}


COLUMNS = {"counts": ("location_id", "ts", "direction_1", "direction_2", "pedestrians", "reason"),
           "sensors": ("location_id", "sensor_description", "sensor_code", "installation_date", "installation_year",
                       "status", "latitude", "longitude", "reason")}


def canonical(tmp_path: Path, path: Path, kind: str = "counts") -> tuple[str, str, list[tuple]]:
    """``path``'s format, container and canonical rows, sorted."""
    done = parsed(tmp_path, path, kind, COLUMNS[kind])
    return done.format, done.container, done.rows


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("schema", SCHEMAS)
def test_the_same_rows_parse_the_same_in_every_container(tmp_path: Path, schema: str, container: str) -> None:
    header, rows = SCHEMAS[schema]
    fmt, _, expected = canonical(tmp_path / "csv", write(tmp_path / "in-csv", "csv", header, rows))
    assert fmt == schema
    assert all(r[-1] is None for r in expected) and len(expected) == 5
    fmt, kind, got = canonical(tmp_path / "other", write(tmp_path / "in", container, header, rows))
    assert (fmt, kind) == (schema, container.split("-")[0])
    assert got == expected


def test_the_2023_labels_convert_both_offsets_to_melbourne_time(tmp_path: Path) -> None:
    header, rows = SCHEMAS["ods_counts_2023_labels"]
    _, _, got = canonical(tmp_path, write(tmp_path / "in", "csv", header, rows))
    assert sorted({str(r[1]) for r in got}) == ["2023-08-31 00:00:00", "2023-08-31 02:00:00", "2023-10-01 23:00:00"]


def test_a_typed_parquet_time_with_a_zone_is_converted_to_melbourne_time(tmp_path: Path) -> None:
    path = tmp_path / "typed.parquet"
    moment = dt.datetime(2023, 8, 30, 16, 0, tzinfo=dt.UTC)  # 02:00 in Melbourne (+10:00)
    pq.write_table(pa.table({"timestamp": pa.array([moment], pa.timestamp("us", tz="UTC")),
                             "locationid": pa.array([3], pa.int32()), "total_of_directions": pa.array([21.0])}),
                   path)
    _, _, rows = canonical(tmp_path, path)
    assert [(r[0], str(r[1]), r[4], r[5]) for r in rows] == [(3, "2023-08-31 02:00:00", 21, None)]


@pytest.mark.parametrize("header", [
    "sensingdatetime(hour);locationid;direction_1;direction_2;total_of_directions",
    "\ufeffSENSINGDATETIME (HOUR),Location ID,Direction 1,Direction 2,Total of Directions",
    "Sensing DateTime Hour,location_id_x,Direction_1,Direction_2,Total_Of_Directions",
])
def test_label_headers_match_in_any_case_spacing_delimiter_or_bom(tmp_path: Path, header: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(header + "\n")
    if "location_id_x" in header:
        with pytest.raises(Exception, match="matches no known format"):
            detect(path)
        return
    assert detect(path).format.name == "ods_counts_2023_labels"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The 2023 labelled rows run end to end from a CSV, a workbook and a Parquet file."""
    folder = tmp_path_factory.mktemp("runs")
    header, rows = SCHEMAS["ods_counts_2023_labels"]
    lakes = {}
    for container in ("csv", "xlsx", "parquet-typed"):
        path = write(folder / container, container, header, rows)
        done = footfall("run", "--counts", str(path), "--lake", str(folder / f"lake-{container}"))
        assert done.returncode == 0, done.stderr
        lakes[container] = folder / f"lake-{container}"
    return lakes


@pytest.mark.slow
def test_a_workbook_and_a_parquet_file_give_the_answers_of_the_csv(runs: dict[str, Path]) -> None:
    csv_answers = answers(runs["csv"])
    daily = duckdb.sql(f"select location_id, date, pedestrians from '{runs['csv']}/curated/daily_counts.parquet' "
                       "order by all").fetchall()
    assert daily == [(3, dt.date(2023, 8, 31), 26), (4, dt.date(2023, 10, 1), 10)], "3 + (21 + 2) and 10"
    assert answers(runs["xlsx"]) == csv_answers
    assert answers(runs["parquet-typed"]) == csv_answers


# ---- workbooks as analysts have them -----------------------------------------------------------------

COUNTS_HEADER, COUNTS_ROWS = SCHEMAS["ods_counts_labels"]


def _run(tmp_path: Path, path: Path) -> subprocess.CompletedProcess[str]:
    return footfall("run", "--counts", str(path), "--lake", str(tmp_path / "lake"))


def _quarantine(tmp_path: Path) -> list[tuple[str, str | None]]:
    return duckdb.sql(f"select reason, raw_line from '{tmp_path}/lake/transformed/quarantine.parquet' "
                      "where reason not like 'exact duplicate%' order by all").fetchall()


@pytest.mark.slow
def test_an_extra_sheet_is_not_read_the_first_sheet_is_the_data(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "export.xlsx", COUNTS_HEADER, COUNTS_ROWS, sheets=("Data", "Notes", "Chart"))
    assert _run(tmp_path, path).returncode == 0
    assert detect(path).sheet == "Data"


@pytest.mark.parametrize(("what", "sheets", "rows", "message"), [
    ("an empty first sheet", ("Empty", "Data"), None,
     "the first sheet ('Empty') is empty: footfall reads the data from the first sheet"),
    ("a header-only sheet", ("Data",), [], "has no data rows (a header or an empty list only)"),
])
@pytest.mark.slow
def test_an_empty_or_header_only_first_sheet_is_one_line(tmp_path: Path, what: str, sheets: tuple[str, ...],
                                                         rows: list | None, message: str) -> None:
    path = tmp_path / "export.xlsx"
    if rows is None:
        import xlsxwriter

        book = xlsxwriter.Workbook(str(path))
        book.add_worksheet(sheets[0])
        book.add_worksheet(sheets[1]).write_row(0, 0, COUNTS_HEADER)
        book.close()
    else:
        write_xlsx(path, COUNTS_HEADER, rows, sheets=sheets)
    assert one_line_error(_run(tmp_path, path)) == f"error: {path}: {message}"


@pytest.mark.slow
def test_a_formula_gives_its_cached_value_or_a_counted_quarantine(tmp_path: Path) -> None:
    def formulas(book, sheet) -> None:
        sheet.write_formula(1, 6, "=E2+F2", None, 7)  # cached 7, as Excel saves it
        sheet.write_formula(5, 6, "=E6+F6", None, "")  # never calculated: no cached value

    path = write_xlsx(tmp_path / "export.xlsx", COUNTS_HEADER, COUNTS_ROWS, edit=formulas)
    assert _run(tmp_path, path).returncode == 0
    assert _quarantine(tmp_path) == [("missing or non-numeric count", "sheet 'Data' row 6")]
    daily = duckdb.sql(f"select location_id, pedestrians from '{tmp_path}/lake/curated/daily_counts.parquet' "
                       "order by all").fetchall()
    assert daily == [(41, 30)]


@pytest.mark.slow
def test_merged_cells_in_the_data_are_a_counted_quarantine_and_in_the_header_one_line(tmp_path: Path) -> None:
    def merge_rows(book, sheet) -> None:
        sheet.merge_range(3, 1, 4, 1, 41)  # Location_ID of rows 4 and 5

    path = write_xlsx(tmp_path / "export.xlsx", COUNTS_HEADER, COUNTS_ROWS, edit=merge_rows)
    assert _run(tmp_path, path).returncode == 0
    reason = "in merged cells B4:B5 of the sheet (which row a merged value belongs to is unknown)"
    assert _quarantine(tmp_path) == [(reason, "sheet 'Data' row 4"), (reason, "sheet 'Data' row 5")]

    def merge_header(book, sheet) -> None:
        sheet.merge_range(0, 7, 0, 8, "Sensor")

    path = write_xlsx(tmp_path / "header.xlsx", COUNTS_HEADER, COUNTS_ROWS, edit=merge_header)
    line = one_line_error(footfall("run", "--counts", str(path), "--lake", str(tmp_path / "other")))
    assert line == (f"error: {path}: merged cells H1:I1 in the header row of sheet 'Data': unmerge them so every "
                    "column has its own name")


def test_excel_dates_and_times_are_read_as_iso_and_naive_times_as_melbourne_time(tmp_path: Path) -> None:
    def typed_time(book, sheet) -> None:
        stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        sheet.write_datetime(1, 0, dt.datetime(2023, 8, 31, 2, 0), stamp)

    header, rows = SCHEMAS["ods_counts_2023_labels"]
    path = write_xlsx(tmp_path / "typed.xlsx", header, rows[:1], edit=typed_time)
    _, _, got = canonical(tmp_path, path)
    assert [(r[0], str(r[1]), r[4]) for r in got] == [(3, "2023-08-31 02:00:00", 3)]


def test_a_fractional_number_in_a_workbook_is_quarantined_not_rounded(tmp_path: Path) -> None:
    rows = [row[:] for row in COUNTS_ROWS[:1]]
    rows[0][6] = "7.5"
    path = write_xlsx(tmp_path / "export.xlsx", COUNTS_HEADER, [[*rows[0][:6], 7.5, *rows[0][7:]]])
    _, _, got = canonical(tmp_path, path)
    assert [r[-1] for r in got] == ["count not a whole number"]


@pytest.mark.parametrize(("content", "message"), [
    (b"PK\x03\x04not really a zip", "a damaged zip or workbook"),
    (b"PAR1 not really parquet", "not a readable Parquet file"),
])
@pytest.mark.slow
def test_a_damaged_workbook_or_parquet_file_is_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "export.bin"
    path.write_bytes(content)
    assert one_line_error(_run(tmp_path, path)).startswith(f"error: {path}: {message}")


@pytest.mark.slow
def test_a_zip_that_is_not_a_workbook_says_to_extract_it(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "archive.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("counts.csv", "a,b\n")
    assert one_line_error(_run(tmp_path, path)) == (
        f"error: {path}: a zip archive, not a workbook: extract the CSV inside and give that")


# ---- sensor locations -------------------------------------------------------------------------------

SOCRATA_2016 = (
    ["Sensor ID", "Sensor Name", "Sensor Description", "Status", "Upload Date", "Year Installed", "Location Type",
     "Geometry", "Latitude", "Longitude"],
    [["22", "Eli274_T", "Flinders St-Elizabeth St (East)", "Installed", "19/08/2016 12:39:50 PM +0000", "2013",
      "Outdoor", "(-37.8178644478193, 144.965068228214)", "-37.8178644478193", "144.965068228214"],
     ["41", "Swa295_T", "Flinders La-Swanston St (West)", "Installed", "19/08/2016 12:39:50 PM +0000", "",
      "Outdoor", "(-37.81, 144.96)", "-37.81", "144.96"]])


@pytest.mark.parametrize("container", ["csv", "xlsx", "parquet-typed"])
def test_the_2016_socrata_label_export_reads_description_as_the_name_and_keeps_the_year(
        tmp_path: Path, container: str) -> None:
    fmt, _, rows = canonical(tmp_path, write(tmp_path / "in", container, *SOCRATA_2016), "sensors")
    assert fmt == "legacy_sensors_labels"
    assert rows[0] == (22, "Flinders St-Elizabeth St (East)", "Eli274_T", None, 2013, "Installed",
                       pytest.approx(-37.8178644478193), pytest.approx(144.965068228214), None)
    assert rows[1][3:5] == (None, None)


def test_geojson_sensor_locations_take_the_point_as_longitude_and_latitude(tmp_path: Path) -> None:
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [144.96516718, -37.81380668]},
                 "properties": {"location_id": 2, "sensor_description": "Bourke Street Mall (South)",
                                "sensor_name": "Bou283_T", "installation_date": "2009-03-30", "status": "A"}}]
    path = tmp_path / "sensors.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    fmt, container, rows = canonical(tmp_path, path, "sensors")
    assert (fmt, container) == ("ods_sensors", "geojson")
    assert rows == [(2, "Bourke Street Mall (South)", "Bou283_T", dt.date(2009, 3, 30), 2009, "A",
                     pytest.approx(-37.81380668), pytest.approx(144.96516718), None)]


@pytest.mark.slow
def test_a_sensor_description_becomes_the_location_name(tmp_path: Path) -> None:
    counts = write(tmp_path / "c", "csv", *SCHEMAS["ods_counts_labels"])
    sensors = write(tmp_path / "s", "xlsx", *SOCRATA_2016)
    done = footfall("run", "--counts", str(counts), "--sensors", str(sensors), "--lake", str(tmp_path / "lake"))
    assert done.returncode == 0, done.stderr
    names = duckdb.sql(f"select location_id, location from '{tmp_path}/lake/transformed/locations.parquet' "
                       "order by all").fetchall()
    assert names == [(22, "Flinders St-Elizabeth St (East)"), (41, "Flinders La-Swanston St (West)"),
                     (42, "Col12_T")]


# ---- repeated hours ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_repeated_hours_are_counted_per_publication_in_the_summary_and_the_run_line(tmp_path: Path) -> None:
    legacy = write(tmp_path / "a", "csv", *SCHEMAS["legacy_counts"])
    labels = write(tmp_path / "b", "xlsx", *SCHEMAS["ods_counts_2023_labels"])
    done = footfall("run", "--counts", str(legacy), "--counts", str(labels), "--lake", str(tmp_path / "lake"))
    assert done.returncode == 0, done.stderr
    assert "repeated hours: 2 folded (identical rows), 2 summed (partial records)" in done.stderr
    summary = duckdb.sql(f"select source, files, hours, hours_folded, rows_folded, hours_summed, rows_summed "
                         f"from '{tmp_path}/lake/curated/resolution_summary.csv' order by source").fetchall()
    assert summary == [("legacy_counts", 1, 3, 1, 1, 1, 2), ("ods_counts_2023_labels", 1, 3, 1, 1, 1, 2)]
    before = (tmp_path / "lake/curated/resolution_summary.csv").read_text()
    again = footfall("run", "--counts", str(labels), "--lake", str(tmp_path / "lake"))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "lake/curated/resolution_summary.csv").read_text() == before, "kept for applied files"


# ---- the website's wide monthly files ----------------------------------------------------------------

WIDE = (["Date", "Hour", "Bourke Street Mall (North)", "Southbank", "Melbourne Central", "Nowhere St"],
        [["01/04/2026", "0", "10", "na", "5", "3"],
         ["01/04/2026", "1", "undefined", "", "7", "4"],
         ["02/04/2026", "0", "11", "2", "x", ""]])
SENSORS = ("location_id;sensor_description;sensor_name;installation_date;status;latitude;longitude\n"
           "1;Bourke Street Mall (North);Bou292_T;2009-03-24;A;-37.81;144.96\n"
           "3;melbourne central ;Swa295_T;2009-03-25;A;-37.81;144.96\n"
           "7;Nowhere St;Now1_T;2020-01-01;A;-37.80;144.95\n8;Nowhere St;Now2_T;2020-01-01;A;-37.80;144.95\n")
OLDER_NAME = ("ID,Date_Time,Year,Month,Mdate,Day,Time,Sensor_ID,Sensor_Name,Hourly_Counts\n"
              "1,11/01/2019 05:00:00 PM,2019,November,1,Friday,17,24,Southbank,300\n")


def _daily(lake: Path) -> list[tuple]:
    return duckdb.sql(f"select location_id, date, pedestrians from '{lake}/curated/daily_counts.parquet' "
                      "where date >= '2026-01-01' order by all").fetchall()


@pytest.mark.slow
@pytest.mark.parametrize("container", ["csv", "xlsx", "parquet"])
def test_a_wide_file_resolves_its_columns_through_every_description_the_lake_knows(tmp_path: Path,
                                                                                    container: str) -> None:
    wide = write(tmp_path / "in", container, *WIDE)
    lake = tmp_path / "lake"
    first = footfall("run", "--counts", str(wide), "--lake", str(lake))
    assert first.returncode == 0, first.stderr
    assert "unresolved wide column 'Southbank' matches no location id: 1 value(s) quarantined" in first.stderr
    assert "4 missing hour(s) in wide files (na, undefined or empty)" in first.stderr
    assert _daily(lake) == []

    (tmp_path / "sensors.csv").write_text(SENSORS)
    (tmp_path / "older.csv").write_text(OLDER_NAME)
    second = footfall("run", "--sensors", str(tmp_path / "sensors.csv"), "--counts", str(tmp_path / "older.csv"),
                      "--lake", str(lake))
    assert second.returncode == 0, second.stderr
    assert _daily(lake) == [(1, dt.date(2026, 4, 1), 10), (1, dt.date(2026, 4, 2), 11),
                            (3, dt.date(2026, 4, 1), 12), (24, dt.date(2026, 4, 2), 2)]
    summary = dict(duckdb.sql(f"select reason, rows_quarantined from '{lake}/curated/quarantine_summary.csv' "
                              "where source = 'website_wide'").fetchall())
    assert summary == {"missing or non-numeric count": 1,
                       "wide column 'Nowhere St' matches several location ids (7, 8)": 2}
    assert "unresolved wide column 'Nowhere St' matches several location ids (7, 8): 2 value(s)" in second.stderr


def test_a_long_layout_with_a_date_and_an_hour_is_not_taken_for_a_wide_file(tmp_path: Path) -> None:
    path = tmp_path / "teaching.csv"
    path.write_text("Date,Day_of_week,Hour,SensorID,SensorName,PedestrianCount\n2019-11-01,Friday,17,34,A,300\n")
    with pytest.raises(Exception, match="matches no known format"):
        detect(path)


# ---- memory: every container parses at the default limit and at a low one ----------------------------

LOW_MEMORY = "256MB"


def staged(tmp_path: Path, path: Path, kind: str = "counts", memory_limit: str | None = None) -> int:
    """Land and parse one file on a connection set up as a run's (its memory limit included); the rows parsed
    without a reason."""
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    landed, _ = land_file(lake, path, kind)
    con = connect(memory_limit=memory_limit)
    try:
        parse_file(con, lake, landed)
        found = con.execute(f"select count(*) from read_parquet('{lake.root}/transformed/raw_{kind}/*.parquet', "
                            "union_by_name = true) where reason is null").fetchone()
    finally:
        con.close()
    return found[0] if found else 0


def _geojson(folder: Path, features: int) -> Path:
    path = folder / "sensors.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [144.96 + i / 1000, -37.81]},
         "properties": {"location_id": i, "sensor_description": f"Place {i}", "sensor_name": f"P{i}_T",
                        "installation_date": "2009-03-30", "status": "A"}} for i in range(1, features + 1)]}))
    return path


def _wide(columns: int, days: int = 1) -> tuple[list[str], list[list[str]]]:
    return (["Date", "Hour", *(f"Sensor {i}" for i in range(columns))],
            [[f"{day:02d}/04/2026", str(hour), *(str((hour * i) % 97) for i in range(columns))]
             for day in range(1, days + 1) for hour in range(24)])


@pytest.mark.parametrize("memory_limit", [None, LOW_MEMORY], ids=["default", "low"])
@pytest.mark.parametrize("container", [*CONTAINERS, "geojson", "wide-csv", "wide-xlsx", "wide-parquet"])
def test_every_container_parses_at_the_default_and_a_low_memory_limit(tmp_path: Path, container: str,
                                                                      memory_limit: str | None) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    if container == "geojson":
        assert staged(tmp_path, _geojson(folder, 60), "sensors", memory_limit) == 60
        return
    if container.startswith("wide"):
        assert staged(tmp_path, write(folder, container[5:], *_wide(40, days=2)), memory_limit=memory_limit) == 1920
        return
    header, rows = SCHEMAS["ods_counts"]
    assert staged(tmp_path, write(folder, container, header, rows), memory_limit=memory_limit) == len(rows)


@pytest.mark.slow
def test_a_wide_file_of_thousands_of_columns_parses_at_a_low_memory_limit(tmp_path: Path) -> None:
    """Unpivoting 3,000 columns at once needs over 256 MB whatever the file's size (24 rows, 0.2 MB)."""
    path = write(tmp_path / "in", "csv", *_wide(3000))
    assert staged(tmp_path, path, memory_limit=LOW_MEMORY) == 24 * 3000


# ---- workbooks whose cells would need more memory than their data -----------------------------------


def _edited_sheet(tmp_path: Path, edit: Callable[[bytes], bytes], name: str = "export.xlsx",
                  part: str = "xl/worksheets/sheet1.xml") -> Path:
    """A two-row workbook (header and one row of counts) whose ``part`` (the first sheet's XML) is changed by
    ``edit``."""
    import zipfile

    plain = write_xlsx(tmp_path / "plain.xlsx", COUNTS_HEADER, COUNTS_ROWS[:1])
    path = tmp_path / name
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, edit(data) if item.filename == part else data)
    return path


def _with_rows(rows: bytes, dimension: bytes | None = None) -> Callable[[bytes], bytes]:
    """Rows put after the sheet's own; ``dimension`` replaces its <dimension> (b"" drops it)."""
    def edit(xml: bytes) -> bytes:
        xml = xml.replace(b"</sheetData>", rows + b"</sheetData>")
        if dimension is not None:
            xml = re.sub(rb'<dimension ref="[^"]*"/>', dimension, xml)
        return xml
    return edit


def _letters(column: int) -> bytes:
    """Excel's letters for a 1-based column number (1 -> A, 27 -> AA)."""
    letters = b""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = bytes([65 + rest]) + letters
    return letters


_SPARSE = b"".join(b'<row r="%d"><c r="%s%d"><v>1</v></c></row>' % (r * 50, _letters(r * 8), r * 50)
                   for r in range(3, 2003))
HUGE_SHEETS = {
    "one cell at XFD200000": _with_rows(b'<row r="200000"><c r="XFD200000" t="inlineStr"><is><t>x</t></is></c></row>'),
    "a column far out (XFD1100)": _with_rows(b'<row r="1100"><c r="XFD1100"><v>1</v></c></row>'),
    "a row index past Excel's (J5000000)": _with_rows(b'<row r="5000000"><c r="J5000000"><v>1</v></c></row>'),
    "a lying small dimension": _with_rows(b'<row r="200000"><c r="XFD200000"><v>1</v></c></row>',
                                          b'<dimension ref="A1:J2"/>'),
    "no dimension": _with_rows(b'<row r="200000"><c r="XFD200000"><v>1</v></c></row>', b""),
    "2,000 sparse cells on a diagonal": _with_rows(_SPARSE),
    "cells without references": _with_rows(b'<row r="3000">' + b"<c><v>1</v></c>" * 6000 + b"</row>"),
    "lower-case letters beside a far cell": _with_rows(b'<row r="3000"><c r="aaa3000"><v>1</v></c>'
                                                       b'<c r="XFD3000"><v>1</v></c></row>'),
    "leading zeros beside a far row": _with_rows(b'<row r="2000000"><c r="J2000000"><v>1</v></c></row>'
                                                 b'<row r="3"><c r="J00000000003"><v>1</v></c></row>'),
    "a reference hidden after a quoted '>'": _with_rows(
        b'<row r="200000"><c t="n" s=">" r="XFD200000"><v>1</v></c></row>'),
}


@pytest.mark.parametrize("edit", HUGE_SHEETS.values(), ids=HUGE_SHEETS)
def test_a_workbook_whose_cells_span_more_than_memory_allows_is_refused_before_reading(
        tmp_path: Path, edit: Callable[[bytes], bytes]) -> None:
    path = _edited_sheet(tmp_path, edit)
    with pytest.raises(InputError, match=r"the first sheet spans A1:[A-Z]+[0-9]+ \([0-9,]+ cells; footfall reads "
                                         r"at most 16,777,216 from a workbook\): delete stray cells"):
        staged(tmp_path, path)


@pytest.mark.parametrize("edit", [
    pytest.param(_with_rows(b"", b'<dimension ref="A1:XFD1048576"/>'), id="a lying huge dimension"),
    pytest.param(_with_rows(b'<row r="1048576"><c r="J1048576"><v>1</v></c></row>'), id="a cell in Excel's last row",
                 marks=pytest.mark.slow),  # 10 M positions to read: about 5 s
])
def test_a_workbook_is_judged_by_its_cells_not_its_dimension(tmp_path: Path,
                                                               edit: Callable[[bytes], bytes]) -> None:
    assert staged(tmp_path, _edited_sheet(tmp_path, edit)) >= 1


def test_a_workbook_whose_reader_dies_is_refused_in_one_line_and_the_process_lives(tmp_path: Path) -> None:
    """The reader reserves room for as many shared strings as the file declares; a count of 10**18 overflows
    it (a count of four billion asks this machine for 96 GB and aborts). It runs in a child process."""
    path = _edited_sheet(tmp_path, lambda xml: re.sub(rb'([cC]ount)="[0-9]+"', rb'\1="10' + b"0" * 17 + b'"', xml),
                         part="xl/sharedStrings.xml")
    with pytest.raises(InputError, match=r"the workbook's reader (failed \(.*capacity overflow\)|was killed by "
                                         r"SIG[A-Z]+), likely asking for more memory than the machine has \([0-9,]+ "
                                         r"GB\): save the first sheet as CSV and give that"):
        staged(tmp_path, path)


@pytest.mark.slow
def test_a_workbook_is_read_under_an_address_space_cap_the_user_set(tmp_path: Path) -> None:
    """The reader's child caps its own address space; under a lower cap it keeps that one instead of failing."""
    import resource

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 8 * 2**30))

    path = write(tmp_path / "in", "xlsx", COUNTS_HEADER, COUNTS_ROWS)
    done = footfall("run", "--counts", str(path), "--lake", str(tmp_path / "lake"), preexec_fn=cap)
    assert done.returncode == 0, done.stderr
    assert "1 parsed" in done.stderr


def test_a_header_cell_past_column_xfd_is_one_line(tmp_path: Path) -> None:
    path = _edited_sheet(tmp_path, lambda xml: xml.replace(b'r="A1"', b'r="ZZZZZZZZ1"'))
    with pytest.raises(InputError, match=r"cannot read the workbook \(a cell past column XFD"):
        detect(path)


@pytest.mark.slow
def test_a_workbook_too_large_to_read_is_set_aside_and_later_runs_succeed(tmp_path: Path) -> None:
    huge = _edited_sheet(tmp_path, HUGE_SHEETS["one cell at XFD200000"], "huge.xlsx")
    good = write(tmp_path / "good", "csv", COUNTS_HEADER, COUNTS_ROWS)
    assert "the first sheet spans A1:XFD200000" in one_line_error(footfall(
        "run", "--counts", str(good), "--counts", str(huge), "--lake", str(tmp_path / "lake")))
    rejected = list((tmp_path / "lake/landing/counts/_rejected").glob("*.manifest.json"))
    assert [json.loads(m.read_text())["origin"] for m in rejected] == [str(huge)]
    again = footfall("run", "--counts", str(good), "--lake", str(tmp_path / "lake"))
    assert again.returncode == 0, again.stderr
    assert len(duckdb.sql(f"select * from '{tmp_path}/lake/curated/daily_counts.csv'").fetchall()) == 2


def test_a_wide_file_wider_than_a_sheet_is_refused_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "in", "csv", *_wide(16_385))
    with pytest.raises(InputError, match=r"a wide file of 16,385 sensor columns: footfall reads at most 16,384 "):
        detect(path)
    assert detect(write(tmp_path / "ok", "csv", *_wide(16_384))).format.name == "website_wide"
