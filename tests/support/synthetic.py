"""Three years of synthetic Melbourne counts with the traps the answers must get right (DST days, a partial day,
a tie at rank 10, a renamed location, a duplicate and a garbage row, a later revision), as the portal's files."""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta
from pathlib import Path

LOCATIONS = range(1, 13)
HOURS = (8, 12, 17, 23)
FULL_DAYS = {date(2021, 4, 4), date(2021, 10, 3), date(2020, 6, 15)}  # DST end, DST start, an ordinary day
TIE_DAY = date(2020, 2, 3)
PARTIAL = (5, date(2021, 3, 1))  # location 5 reports only one hour that day
RENAMED = (3, date(2020, 1, 1), "Pelham St (S)", "Pelham St (South)")
LOCKDOWNS = [(date(2020, 3, 31), date(2020, 5, 12)), (date(2020, 7, 9), date(2020, 10, 27)),
             (date(2021, 2, 13), date(2021, 2, 17)), (date(2021, 5, 28), date(2021, 6, 10)),
             (date(2021, 7, 16), date(2021, 7, 27)), (date(2021, 8, 5), date(2021, 10, 21))]


def in_lockdown(day: date) -> bool:
    return any(start <= day <= end for start, end in LOCKDOWNS)


def hours_of(day: date) -> list[int]:
    if day == date(2021, 10, 3):
        return [h for h in range(24) if h != 2]
    if day in FULL_DAYS:
        return list(range(24))
    return list(HOURS)


def make_rows() -> list[dict]:
    """Archive-shaped rows: (id, location, ts, count, name)."""
    rng = random.Random(7)
    rows: list[dict] = []
    day = date(2019, 1, 1)
    while day <= date(2021, 12, 31):
        for loc in LOCATIONS:
            base = 100 * loc + (40 if day.weekday() < 5 else -30)
            factor = (0.2 + 0.05 * loc) if in_lockdown(day) else (1.0 + 0.03 * loc * (day.year - 2019))
            hours = [12] if (loc, day) == PARTIAL else hours_of(day)
            for hour in hours:
                count = int(base * factor) + rng.randrange(0, 60)
                if day == TIE_DAY and loc == 3:
                    count = 247  # the same totals as location 2 on that day
                if day == TIE_DAY and loc == 2:
                    count = 247
                name = f"Sensor {loc}"
                if loc == RENAMED[0]:
                    name = RENAMED[2] if day < RENAMED[1] else RENAMED[3]
                rows.append({"loc": loc, "ts": datetime(day.year, day.month, day.day, hour), "count": count,
                             "name": name})
        day += timedelta(days=1)
    # the repeated hour when daylight saving ends, published as a second row
    rows.append({"loc": 2, "ts": datetime(2021, 4, 4, 2), "count": 33, "name": "Sensor 2"})
    for i, row in enumerate(rows, 1):
        row["id"] = str(i)
    return rows


def write_archive(rows: list[dict], path: Path) -> None:
    with path.open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["ID", "Date_Time", "Year", "Month", "Mdate", "Day", "Time", "Sensor_ID", "Sensor_Name",
                    "Hourly_Counts"])
        for r in rows:
            ts = r["ts"]
            w.writerow([r["id"], ts.strftime("%B %d, %Y %I:%M:%S %p"), ts.year, ts.strftime("%B"), ts.day,
                        ts.strftime("%A"), ts.hour, r["loc"], r["name"], f"{r['count']:,}"])
        w.writerow([rows[0]["id"], rows[0]["ts"].strftime("%B %d, %Y %I:%M:%S %p"), 2019, "January", 1,
                    "Tuesday", rows[0]["ts"].hour, rows[0]["loc"], rows[0]["name"], rows[0]["count"]])
        w.writerow(["999999", "garbage", 2019, "January", 1, "Tuesday", 0, 1, "Sensor 1", 5])


def write_revision(rows: list[dict], path: Path) -> list[dict]:
    """A newer (Opendatasoft) publication revising December 2021 at location 1."""
    revised = [dict(r, count=r["count"] + 5) for r in rows if r["loc"] == 1 and r["ts"] >= datetime(2021, 12, 1)]
    with path.open("w", newline="") as handle:
        w = csv.writer(handle, delimiter=";")
        w.writerow(["id", "location_id", "sensing_date", "hourday", "direction_1", "direction_2",
                    "pedestriancount", "sensor_name", "location"])
        for r in revised:
            ts = r["ts"]
            w.writerow([f"{r['loc']}{ts.hour}{ts:%Y%m%d}", r["loc"], f"{ts:%Y-%m-%d}", ts.hour, r["count"] - 2, 2,
                        r["count"], "Sen1_T", "-37.81, 144.96"])
    return revised
