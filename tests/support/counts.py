"""Counts files written line by line, in the archive's and the Opendatasoft export's layouts."""

import csv
from pathlib import Path

LEGACY_HEADER = "ID,Date_Time,Year,Month,Mdate,Day,Time,Sensor_ID,Sensor_Name,Hourly_Counts\n"
ODS_HEADER = "ID,Location_ID,Sensing_Date,HourDay,Direction_1,Direction_2,Total_of_Directions,Sensor_Name,Location\n"


def ods_row(location: str = "41", day: str = "2025-10-01", hour: str = "5", d1: str = "3", d2: str = "4",
            total: str = "7") -> str:
    """One hour of one location in the Opendatasoft export's layout, every value quoted as text."""
    return f'1,"{location}",{day},"{hour}","{d1}","{d2}","{total}",Swa295_T,"-37.81, 144.96"\n'


def archive_row(row_id: int, location: int, day: int, hour: int, count: int, month: str = "November") -> list[str]:
    """One hour of one location in November 2019 (or ``month``), in the archive's layout."""
    stamp = f"{month} {day:02d}, 2019 {(hour % 12) or 12:02d}:00:00 {'AM' if hour < 12 else 'PM'}"
    return [str(row_id), stamp, "2019", month, str(day), "Friday", str(hour), str(location), f"Sensor {location}",
            str(count)]


def write_archive_rows(path: Path, rows: list[list[str]]) -> Path:
    """``rows`` (from :func:`archive_row`) under the archive's header."""
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([LEGACY_HEADER.strip().split(","), *rows])
    return path
