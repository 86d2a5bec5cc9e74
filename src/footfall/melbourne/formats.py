"""Every format the City of Melbourne has published, recognised by content and mapped to one shape.

A file's format is read from its first bytes (BOM, JSON shape, header names and delimiter),
never from its name. Each format is a mapping from its own columns to the canonical raw columns
below, written as SQL expressions over text, so one parse turns any publication into
``raw_counts`` or ``raw_sensors`` rows. Rows that cannot be read keep their raw text and get a
``reason``; nothing is dropped here.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from footfall.errors import InputError

SNIFF_BYTES = 64 * 1024

# Date_Time variants of the legacy CSV (archive, rows.csv over the years) and SODA JSON.
LEGACY_TIME_FORMATS = (
    "%B %d, %Y %I:%M:%S %p",  # November 01, 2019 05:00:00 PM   (2009-2022 archive)
    "%m/%d/%Y %I:%M:%S %p",  # 11/01/2019 05:00:00 PM          (rows.csv, 2019-2022; month first)
    "%d-%b-%Y %H:%M",  # 01-JUN-2009 00:00                     (rows.csv, to 2017)
    "%d-%B-%Y %H:%M",  # 01-November-2017 17:00                (rows.csv, to 2017)
    "%Y-%m-%dT%H:%M:%S.%g",  # 2019-11-01T17:00:00.000         (SODA JSON)
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
)

MAX_HOURLY_COUNT = 1_000_000

COUNT_COLUMNS = ("raw_id", "raw_location_id", "raw_time", "raw_count", "location_id", "ts",
                 "direction_1", "direction_2", "pedestrians", "sensor_description", "sensor_code",
                 "latitude", "longitude")
SENSOR_COLUMNS = ("location_id", "sensor_description", "sensor_code", "installation_date", "status",
                  "note", "location_type", "direction_1", "direction_2", "latitude", "longitude")


@dataclass(frozen=True)
class Format:
    """One published layout: how to recognise it and how its columns map to the canonical ones."""

    name: str
    kind: str  # "counts" | "sensors"
    label: str
    required: frozenset[str]
    optional: frozenset[str]
    generation: int  # newer publication systems win over older ones for the same hour
    exprs: tuple[tuple[str, str], ...]  # (canonical column, SQL over the raw text columns)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(sorted(self.required | self.optional))


def _int(col: str) -> str:
    return f"TRY_CAST(NULLIF(replace(trim({col}), ',', ''), '') AS BIGINT)"


def _coord(col: str, index: int, json_key: str) -> str:
    """``"lat, lon"`` (CSV), ``"(lat, lon)"`` (legacy CSV) or ``{"lon":..,"lat":..}`` (JSON)."""
    return (f"CASE WHEN starts_with(trim({col}), '{{') THEN TRY_CAST(json_extract_string({col}, '$.{json_key}') "
            f"AS DOUBLE) ELSE TRY_CAST(trim(split_part(trim({col}, '() '), ',', {index})) AS DOUBLE) END")


_LEGACY_FORMATS_SQL = "[" + ", ".join(f"'{f}'" for f in LEGACY_TIME_FORMATS) + "]"
_LEGACY_TIME = f"try_strptime(trim(date_time), {_LEGACY_FORMATS_SQL})"
_LEGACY_HOUR = "TRY_CAST(trim(time) AS INTEGER)"

LEGACY_COUNTS = (
    ("raw_id", "id"),
    ("raw_location_id", "sensor_id"),
    ("raw_time", "date_time"),
    ("raw_count", "hourly_counts"),
    ("location_id", _int("sensor_id")),
    # The Time column is the hour; the archive's September 2010 rows carry 00:00 in Date_Time.
    ("ts", f"CASE WHEN {_LEGACY_HOUR} BETWEEN 0 AND 23 THEN date_trunc('day', {_LEGACY_TIME}) "
           f"+ to_hours({_LEGACY_HOUR}) ELSE date_trunc('hour', {_LEGACY_TIME}) END"),
    ("direction_1", "CAST(NULL AS BIGINT)"),
    ("direction_2", "CAST(NULL AS BIGINT)"),
    ("pedestrians", _int("hourly_counts")),
    ("sensor_description", "NULLIF(trim(sensor_name), '')"),
    ("sensor_code", "CAST(NULL AS VARCHAR)"),
    ("latitude", "CAST(NULL AS DOUBLE)"),
    ("longitude", "CAST(NULL AS DOUBLE)"),
)

_ODS_HOUR = "TRY_CAST(trim(hourday) AS INTEGER)"


def _ods_counts(count_col: str) -> tuple[tuple[str, str], ...]:
    return (
        ("raw_id", "id"),
        ("raw_location_id", "location_id"),
        ("raw_time", "concat_ws(' ', sensing_date, hourday)"),
        ("raw_count", count_col),
        ("location_id", _int("location_id")),
        ("ts", f"CASE WHEN {_ODS_HOUR} BETWEEN 0 AND 23 THEN TRY_CAST(trim(sensing_date) AS DATE) "
               f"+ to_hours({_ODS_HOUR}) END"),
        ("direction_1", _int("direction_1")),
        ("direction_2", _int("direction_2")),
        ("pedestrians", _int(count_col)),
        ("sensor_description", "CAST(NULL AS VARCHAR)"),
        ("sensor_code", "NULLIF(trim(sensor_name), '')"),
        ("latitude", _coord("location", 1, "lat")),
        ("longitude", _coord("location", 2, "lon")),
    )


ODS_2023_COUNTS = (
    ("raw_id", "CAST(NULL AS VARCHAR)"),
    ("raw_location_id", "locationid"),
    ("raw_time", "timestamp"),
    ("raw_count", "total_of_directions"),
    ("location_id", _int("locationid")),
    # ISO with an offset: converted to Melbourne wall-clock time, the grain of every other format.
    ("ts", "date_trunc('hour', CAST(timezone('Australia/Melbourne', TRY_CAST(trim(timestamp) AS TIMESTAMPTZ))"
           " AS TIMESTAMP))"),
    ("direction_1", _int("direction_1")),
    ("direction_2", _int("direction_2")),
    ("pedestrians", _int("total_of_directions")),
    ("sensor_description", "CAST(NULL AS VARCHAR)"),
    ("sensor_code", "CAST(NULL AS VARCHAR)"),
    ("latitude", "CAST(NULL AS DOUBLE)"),
    ("longitude", "CAST(NULL AS DOUBLE)"),
)


def _sensors(id_col: str) -> tuple[tuple[str, str], ...]:
    return (
        ("location_id", _int(id_col)),
        ("sensor_description", "NULLIF(trim(sensor_description), '')"),
        ("sensor_code", "NULLIF(trim(sensor_name), '')"),
        ("installation_date", "TRY_CAST(replace(left(trim(installation_date), 10), '/', '-') AS DATE)"),
        ("status", "NULLIF(trim(status), '')"),
        ("note", "NULLIF(NULLIF(trim(note), ''), '<Null>')"),
        ("location_type", "NULLIF(trim(location_type), '')"),
        ("direction_1", "NULLIF(trim(direction_1), '')"),
        ("direction_2", "NULLIF(trim(direction_2), '')"),
        ("latitude", "TRY_CAST(trim(latitude) AS DOUBLE)"),
        ("longitude", "TRY_CAST(trim(longitude) AS DOUBLE)"),
    )


_LEGACY_COUNT_COLS = frozenset({"date_time", "sensor_id", "hourly_counts"})
_LEGACY_EXTRA = frozenset({"id", "year", "month", "mdate", "day", "time", "sensor_name"})
_ODS_COUNT_COLS = frozenset({"location_id", "sensing_date", "hourday"})
_ODS_EXTRA = frozenset({"id", "direction_1", "direction_2", "sensor_name", "location"})
_SENSOR_EXTRA = frozenset({"sensor_description", "sensor_name", "installation_date", "note", "location_type",
                           "status", "direction_1", "direction_2", "latitude", "longitude", "location"})

FORMATS: tuple[Format, ...] = (
    Format("legacy_counts", "counts", "legacy hourly counts (Socrata rows.csv / 2009-2022 archive / SODA JSON: "
           "ID, Date_Time, ..., Sensor_ID, Sensor_Name, Hourly_Counts)",
           _LEGACY_COUNT_COLS, _LEGACY_EXTRA, 1, LEGACY_COUNTS),
    Format("ods_counts", "counts", "Opendatasoft hourly counts (location_id, sensing_date, hourday, "
           "direction_1, direction_2, pedestriancount, ...)",
           _ODS_COUNT_COLS | {"pedestriancount"}, _ODS_EXTRA, 2, _ods_counts("pedestriancount")),
    Format("ods_counts_labels", "counts", "Opendatasoft hourly counts with label headers (Location_ID, "
           "Sensing_Date, HourDay, ..., Total_of_Directions)",
           _ODS_COUNT_COLS | {"total_of_directions"}, _ODS_EXTRA, 2, _ods_counts("total_of_directions")),
    Format("ods_counts_2023", "counts", "Opendatasoft hourly counts, 2023 schema (timestamp, locationid, "
           "direction_1, direction_2, total_of_directions)",
           frozenset({"timestamp", "locationid", "total_of_directions"}),
           frozenset({"direction_1", "direction_2"}), 2, ODS_2023_COUNTS),
    Format("legacy_sensors", "sensors", "legacy sensor locations (sensor_id, sensor_description, sensor_name, "
           "installation_date, status, ...)",
           frozenset({"sensor_id", "sensor_description"}), _SENSOR_EXTRA, 1, _sensors("sensor_id")),
    Format("ods_sensors", "sensors", "Opendatasoft sensor locations (location_id, sensor_description, "
           "sensor_name, installation_date, ...)",
           frozenset({"location_id", "sensor_description"}), _SENSOR_EXTRA, 2, _sensors("location_id")),
)


@dataclass(frozen=True)
class Detected:
    """What a file turned out to be, and how to read it."""

    format: Format
    container: str  # "csv" | "json" | "jsonl"
    delimiter: str = ","
    header: tuple[str, ...] = ()


def detect(path: Path, expected_kind: str | None = None) -> Detected:
    """Recognise a file by its content; the error names the file and what was expected."""
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except IsADirectoryError:
        raise InputError("is a directory, not a data file", path=path) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path=path) from None
    if not head.strip():
        raise InputError("empty file", path=path)
    if b"\x00" in head:
        raise InputError("binary content, not CSV or JSON", path=path)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        container, keys = _json_keys(stripped, path)
        detected = Detected(_match(keys, path, f"JSON keys {sorted(keys)}"), container)
    else:
        first = text.splitlines()[0] if text.splitlines() else ""
        delimiter = ";" if first.count(";") > first.count(",") else ","
        header = tuple(next(csv.reader(io.StringIO(first), delimiter=delimiter), []))
        keys = {h.strip().lower() for h in header}
        detected = Detected(_match(keys, path, f"header {first[:200]!r}"), "csv", delimiter,
                            tuple(h.strip() for h in header))
    if expected_kind and detected.format.kind != expected_kind:
        flag = "--sensors" if detected.format.kind == "sensors" else "--counts"
        raise InputError(f"this is a {detected.format.kind} file ({detected.format.label}), given as "
                         f"{expected_kind}; pass it with {flag}", path=path)
    return detected


def _json_keys(text: str, path: Path) -> tuple[str, set[str]]:
    """The container (array or JSON lines) and the keys of the first record."""
    decoder = json.JSONDecoder()
    if text.startswith("["):
        body = text[1:].lstrip()
        if body.startswith("]"):
            raise InputError("JSON array holds no records", path=path)
        container = "json"
    else:
        body = text
        container = "jsonl"
    try:
        first, _ = decoder.raw_decode(body)
    except json.JSONDecodeError:
        raise InputError("not valid JSON records (expected an array of objects or JSON lines)", path=path) from None
    if not isinstance(first, dict):
        raise InputError(f"JSON records must be objects, found {type(first).__name__}", path=path)
    if container == "jsonl" and "results" in first and isinstance(first["results"], list):
        raise InputError("an Opendatasoft records-API page; use the exports endpoint (CSV/JSON/JSONL) instead",
                         path=path)
    return container, {k.lower() for k in first}


def _match(keys: set[str], path: Path, seen: str) -> Format:
    for fmt in FORMATS:
        if fmt.required <= keys:
            return fmt
    expected = "; ".join(f.label for f in FORMATS)
    raise InputError(f"matches no known format ({seen}); expected one of: {expected}", path=path)
