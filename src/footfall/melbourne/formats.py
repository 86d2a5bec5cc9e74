"""Every format the City of Melbourne has published, mapped to one shape (``detect.py`` recognises which one a
file is, by content). Each format is a mapping from its own columns to the canonical raw columns that
``pipeline.yml`` declares (``schema.py``), written as SQL expressions over text, so one parse turns any
publication into ``raw_counts`` or ``raw_sensors`` rows. Rows that cannot be read keep their raw text and get a
``reason``; nothing is dropped here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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

SENSOR_COLUMNS = ("location_id", "sensor_description", "sensor_code", "installation_date", "installation_year",
                  "status", "note", "location_type", "direction_1", "direction_2", "latitude", "longitude")


FileKind = Literal["counts", "sensors"]


@dataclass(frozen=True)
class Format:
    """One published layout: how to recognise it and how its columns map to the canonical ones."""

    name: str
    kind: FileKind
    label: str
    required: frozenset[str]
    optional: frozenset[str]
    generation: int  # newer publication systems win over older ones for the same hour
    exprs: tuple[tuple[str, str], ...]  # (canonical column, SQL over the raw text columns)
    # Wide: one column per sensor, headed by its description; the other columns unpivoted into
    # ``sensor_column`` (the header name) and ``value`` before ``exprs`` apply. Not this format when any
    # of ``excludes`` is a column (a long layout that also has a date and an hour).
    wide: bool = False
    excludes: frozenset[str] = frozenset()

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(sorted(self.required | self.optional))


# A whole number as the publications write one: decimal digits, optionally with thousands separators
# ("2,691", legacy CSV) and a minus sign (so a negative count is named as such), surrounded by any
# whitespace. Anything else (2.5, 0x10, 1_0, 1e3, +5, 1,5) is not read as a number: DuckDB's own cast
# would round or reinterpret it.
INTEGER_PATTERN = r"^\s*(-?(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+))\s*$"
_HOUR_PATTERN = r"^\s*([0-9]{1,2})\s*$"
# An ISO time that ends in an offset (Z, +10, +10:00, +1000); without one it is Melbourne wall-clock time.
_OFFSET_PATTERN = r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?\s*(?:Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)$"


def whole_number(col: str) -> str:
    """The value of a whole-number column, NULL where the text is not one (the reason says why).

    The typed cast answers first, but only where the text is exactly what the cast gives back (plain digits
    with no leading zero, a minus, or thousands separators in their places), nearly every value: DuckDB's cast
    alone also reads ``+5``, ``1e2``, ``1_000``, ``0x10`` and rounds ``2.5``, which the text rules below
    refuse. Every other value goes to those rules, so the value and the reason are the text rules' own."""
    return (f"CASE WHEN CAST(TRY_CAST({col} AS BIGINT) AS VARCHAR) = {col} THEN TRY_CAST({col} AS BIGINT) "
            f"WHEN regexp_full_match({col}, '[0-9]{{1,3}}(,[0-9]{{3}})+') "
            f"THEN TRY_CAST(replace({col}, ',', '') AS BIGINT) ELSE {whole_number_text(col)} END")


def whole_number_text(col: str) -> str:
    """The text rules for a whole number, the reference: what :func:`whole_number` gives for a value its typed
    cast does not vouch for."""
    return (f"CASE WHEN regexp_full_match({col}, '[0-9]+') THEN TRY_CAST({col} AS BIGINT) "
            f"ELSE TRY_CAST(replace(NULLIF(regexp_extract({col}, '{INTEGER_PATTERN}', 1), ''), ',', '') AS BIGINT) END")


def hour(col: str) -> str:
    """An hour of the day as written (0-99 read, the range checked by the caller); the typed cast answers where
    the text is exactly what it gives back, as for :func:`whole_number`."""
    return (f"CASE WHEN TRY_CAST({col} AS INTEGER) BETWEEN 0 AND 99 "
            f"AND CAST(TRY_CAST({col} AS INTEGER) AS VARCHAR) = {col} THEN TRY_CAST({col} AS INTEGER) "
            f"ELSE {hour_text(col)} END")


def hour_text(col: str) -> str:
    """The text rules for an hour, the reference :func:`hour` falls back to."""
    return (f"CASE WHEN regexp_full_match({col}, '[0-9]{{1,2}}') THEN TRY_CAST({col} AS INTEGER) "
            f"ELSE TRY_CAST(NULLIF(regexp_extract({col}, '{_HOUR_PATTERN}', 1), '') AS INTEGER) END")


def _ascii(col: str) -> str:
    """SQL: the text is ASCII (as many characters as bytes), so the only one of them ``trim`` strips is a space
    (it strips every Unicode space separator: no-break, em and ideographic spaces too)."""
    return f"length({col}) = strlen({col})"


def trimmed(col: str) -> str:
    """SQL: ``trim(col)`` without building a new string where the text is ASCII with no space at either end,
    nearly every value (a string built per value is a large part of parsing a big file)."""
    return (f"CASE WHEN {_ascii(col)} AND NOT (starts_with({col}, ' ') OR ends_with({col}, ' ')) THEN {col} "
            f"ELSE trim({col}) END")


def blank(col: str) -> str:
    """SQL: the text column is absent or only whitespace."""
    return f"({col} IS NULL OR trim({col}, ' \t\r\n') = '')"


def coordinate(col: str, index: int, json_key: str) -> str:
    """``"lat, lon"`` (CSV), ``"(lat, lon)"`` (legacy CSV) or ``{"lon":..,"lat":..}`` (JSON).

    An ASCII text whose ends are neither spaces nor brackets (nearly every CSV value) is split as it is: the
    trims would leave it unchanged, and trimming a part only takes spaces off its ends, which the cast to
    DOUBLE skips anyway (with tabs and line breaks, but not the Unicode spaces ``trim`` also strips)."""
    plain = (f"{_ascii(col)} AND ascii({col}) NOT IN (32, 40, 41, 123) "
             f"AND NOT (ends_with({col}, ' ') OR ends_with({col}, '(') OR ends_with({col}, ')'))")
    return (f"CASE WHEN starts_with({col}, '{{') THEN TRY_CAST(json_extract_string({col}, '$.{json_key}') AS DOUBLE) "
            f"WHEN {plain} THEN TRY_CAST(split_part({col}, ',', {index}) AS DOUBLE) "
            f"ELSE {coordinate_text(col, index, json_key)} END")


def coordinate_text(col: str, index: int, json_key: str) -> str:
    """The text rules for a coordinate, the reference :func:`coordinate` falls back to."""
    return (f"CASE WHEN starts_with(trim({col}), '{{') THEN TRY_CAST(json_extract_string({col}, '$.{json_key}') "
            f"AS DOUBLE) ELSE TRY_CAST(trim(split_part(trim({col}, '() '), ',', {index})) AS DOUBLE) END")


_LEGACY_FORMATS_SQL = "[" + ", ".join(f"'{f}'" for f in LEGACY_TIME_FORMATS) + "]"
_LEGACY_TIME = f"try_strptime({trimmed('date_time')}, {_LEGACY_FORMATS_SQL})"
_LEGACY_HOUR = hour("time")

LEGACY_COUNTS = (
    ("raw_id", "id"),
    ("raw_location_id", "sensor_id"),
    ("raw_time", "date_time"),
    ("raw_count", "hourly_counts"),
    ("location_id", whole_number("sensor_id")),
    # The Time column is the hour; the archive's September 2010 rows carry 00:00 in Date_Time.
    # A Time that is present but not an hour makes the row's time unreadable rather than silently 00:00.
    ("ts", f"CASE WHEN {_LEGACY_HOUR} BETWEEN 0 AND 23 THEN date_trunc('day', {_LEGACY_TIME}) "
           f"+ to_hours({_LEGACY_HOUR}) WHEN {blank('time')} THEN date_trunc('hour', {_LEGACY_TIME}) END"),
    ("direction_1", "CAST(NULL AS BIGINT)"),
    ("direction_2", "CAST(NULL AS BIGINT)"),
    ("raw_direction_1", "CAST(NULL AS VARCHAR)"),
    ("raw_direction_2", "CAST(NULL AS VARCHAR)"),
    ("pedestrians", whole_number("hourly_counts")),
    ("sensor_description", f"NULLIF({trimmed('sensor_name')}, '')"),
    ("sensor_code", "CAST(NULL AS VARCHAR)"),
    ("latitude", "CAST(NULL AS DOUBLE)"),
    ("longitude", "CAST(NULL AS DOUBLE)"),
)

_ODS_HOUR = hour("hourday")


def _ods_counts(count_col: str) -> tuple[tuple[str, str], ...]:
    return (
        ("raw_id", "id"),
        ("raw_location_id", "location_id"),
        ("raw_time", "concat_ws(' ', sensing_date, hourday)"),
        ("raw_count", count_col),
        ("location_id", whole_number("location_id")),
        ("ts", f"CASE WHEN {_ODS_HOUR} BETWEEN 0 AND 23 THEN TRY_CAST({trimmed('sensing_date')} AS DATE) "
               f"+ to_hours({_ODS_HOUR}) END"),
        ("direction_1", whole_number("direction_1")),
        ("direction_2", whole_number("direction_2")),
        ("raw_direction_1", "direction_1"),
        ("raw_direction_2", "direction_2"),
        ("pedestrians", whole_number(count_col)),
        ("sensor_description", "CAST(NULL AS VARCHAR)"),
        ("sensor_code", f"NULLIF({trimmed('sensor_name')}, '')"),
        ("latitude", coordinate("location", 1, "lat")),
        ("longitude", coordinate("location", 2, "lon")),
    )


def _ods_2023(time_col: str) -> tuple[tuple[str, str], ...]:
    """The 2023 schema; ``time_col`` is ``timestamp`` (field names) or ``sensingdatetime_hour`` (labels)."""
    return (
        ("raw_id", "CAST(NULL AS VARCHAR)"),
        ("raw_location_id", "locationid"),
        ("raw_time", time_col),
        ("raw_count", "total_of_directions"),
        ("location_id", whole_number("locationid")),
        # ISO with an offset: converted to Melbourne wall-clock time, the grain of every other format. Without
        # one it already is Melbourne time; read as such, never in the session's (the machine's) time zone.
        ("ts", f"date_trunc('hour', CASE WHEN regexp_matches({trimmed(time_col)}, '{_OFFSET_PATTERN}') "
               f"THEN timezone('Australia/Melbourne', TRY_CAST({trimmed(time_col)} AS TIMESTAMPTZ)) "
               f"ELSE TRY_CAST({trimmed(time_col)} AS TIMESTAMP) END)"),
        ("direction_1", whole_number("direction_1")),
        ("direction_2", whole_number("direction_2")),
        ("raw_direction_1", "direction_1"),
        ("raw_direction_2", "direction_2"),
        ("pedestrians", whole_number("total_of_directions")),
        ("sensor_description", "CAST(NULL AS VARCHAR)"),
        ("sensor_code", "CAST(NULL AS VARCHAR)"),
        ("latitude", "CAST(NULL AS DOUBLE)"),
        ("longitude", "CAST(NULL AS DOUBLE)"),
    )


# Missing values of the wide monthly files: absent hours, as elsewhere, not bad rows.
WIDE_MISSING = ("na", "undefined", "")
_WIDE_HOUR = hour("hour")
WIDE_COUNTS = (
    ("raw_id", "CAST(NULL AS VARCHAR)"),
    ("raw_location_id", "sensor_column"),
    ("raw_time", "concat_ws(' ', date, hour)"),
    ("raw_count", "value"),
    ("location_id", "CAST(NULL AS BIGINT)"),  # resolved by the pipeline from the descriptions the lake knows
    ("ts", f"CASE WHEN {_WIDE_HOUR} BETWEEN 0 AND 23 THEN CAST(try_strptime(trim(date), ['%d/%m/%Y', '%Y-%m-%d']) "
           f"AS DATE) + to_hours({_WIDE_HOUR}) END"),
    ("direction_1", "CAST(NULL AS BIGINT)"),
    ("direction_2", "CAST(NULL AS BIGINT)"),
    ("raw_direction_1", "CAST(NULL AS VARCHAR)"),
    ("raw_direction_2", "CAST(NULL AS VARCHAR)"),
    ("pedestrians", whole_number("value")),
    ("sensor_description", trimmed("sensor_column")),
    ("sensor_code", "CAST(NULL AS VARCHAR)"),
    ("latitude", "CAST(NULL AS DOUBLE)"),
    ("longitude", "CAST(NULL AS DOUBLE)"),
)

_INSTALLED = "TRY_CAST(replace(left(trim(installation_date), 10), '/', '-') AS DATE)"


def _sensors(id_col: str, installed: str = _INSTALLED,
             year: str = f"CAST(EXTRACT(YEAR FROM {_INSTALLED}) AS INTEGER)") -> tuple[tuple[str, str], ...]:
    return (
        ("location_id", whole_number(id_col)),
        ("raw_location_id", id_col),
        ("sensor_description", "NULLIF(trim(sensor_description), '')"),
        ("sensor_code", "NULLIF(trim(sensor_name), '')"),
        ("installation_date", installed),
        ("installation_year", year),
        ("status", "NULLIF(trim(status), '')"),
        ("note", "NULLIF(NULLIF(trim(note), ''), '<Null>')"),
        ("location_type", "NULLIF(trim(location_type), '')"),
        ("direction_1", "NULLIF(trim(direction_1), '')"),
        ("direction_2", "NULLIF(trim(direction_2), '')"),
        ("latitude", "TRY_CAST(trim(latitude) AS DOUBLE)"),
        ("longitude", "TRY_CAST(trim(longitude) AS DOUBLE)"),
    )


# The 2016 labelled export gives only the year a sensor was installed: the date stays unknown (NULL) rather
# than a made-up 1 January, and the year is kept in raw_sensors.installation_year.
_YEAR_ONLY = _sensors("sensor_id", "CAST(NULL AS DATE)",
                      "CASE WHEN regexp_full_match(trim(year_installed), '(19|20)[0-9]{2}') "
                      "THEN CAST(trim(year_installed) AS INTEGER) END")

_LEGACY_COUNT_COLS = frozenset({"date_time", "sensor_id", "hourly_counts"})
_LEGACY_EXTRA = frozenset({"id", "year", "month", "mdate", "day", "time", "sensor_name"})
_ODS_COUNT_COLS = frozenset({"location_id", "sensing_date", "hourday"})
_ODS_EXTRA = frozenset({"id", "direction_1", "direction_2", "sensor_name", "location"})
_SENSOR_EXTRA = frozenset({"sensor_description", "sensor_name", "installation_date", "note", "location_type",
                           "status", "direction_1", "direction_2", "latitude", "longitude", "location"})

# The order matters only where one layout's names include another's: the first whose required names are all
# present wins (the 2016 labelled sensor export has every name of the legacy one, plus year_installed).
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
           frozenset({"direction_1", "direction_2"}), 2, _ods_2023("timestamp")),
    Format("ods_counts_2023_labels", "counts", "Opendatasoft hourly counts, 2023 schema with label headers "
           "(SensingDateTime(Hour), LocationID, Direction_1, Direction_2, Total_of_Directions)",
           frozenset({"sensingdatetime_hour", "locationid", "total_of_directions"}),
           frozenset({"direction_1", "direction_2"}), 2, _ods_2023("sensingdatetime_hour")),
    Format("website_wide", "counts", "the pedestrian-counting website's monthly download, wide (Date, Hour, "
           "one column per sensor headed by its description)",
           frozenset({"date", "hour"}), frozenset(), 2, WIDE_COUNTS, wide=True,
           excludes=frozenset({"day_of_week", "sensorid", "sensor_id", "sensorname", "sensor_name", "locationid",
                               "location_id", "pedestriancount", "hourly_counts", "total_of_directions", "count"})),
    Format("legacy_sensors_labels", "sensors", "legacy sensor locations with label headers (2016: Sensor ID, "
           "Sensor Name, Sensor Description, Status, Upload Date, Year Installed, ...)",
           frozenset({"sensor_id", "sensor_description", "year_installed"}),
           _SENSOR_EXTRA | {"upload_date", "geometry"}, 1, _YEAR_ONLY),
    Format("legacy_sensors", "sensors", "legacy sensor locations (sensor_id, sensor_description, sensor_name, "
           "installation_date, status, ...)",
           frozenset({"sensor_id", "sensor_description"}), _SENSOR_EXTRA, 1, _sensors("sensor_id")),
    Format("ods_sensors", "sensors", "Opendatasoft sensor locations (location_id, sensor_description, "
           "sensor_name, installation_date, ...)",
           frozenset({"location_id", "sensor_description"}), _SENSOR_EXTRA, 2, _sensors("location_id")),
)
