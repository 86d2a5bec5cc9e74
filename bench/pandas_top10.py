"""The typical public solution: pandas read_csv, groupby, nlargest for the two top-10s."""

from __future__ import annotations

import sys

import pandas as pd


def main(path: str, out: str) -> None:
    df = pd.read_csv(path, thousands=",", usecols=["Date_Time", "Sensor_ID", "Sensor_Name", "Hourly_Counts"])
    df["Date_Time"] = pd.to_datetime(df["Date_Time"], format="%B %d, %Y %I:%M:%S %p")
    df["date"] = df["Date_Time"].dt.date
    df["month"] = df["Date_Time"].dt.strftime("%Y-%m")
    daily = df.groupby(["date", "Sensor_ID"], as_index=False)["Hourly_Counts"].sum()
    top_day = daily.set_index("Sensor_ID").groupby("date")["Hourly_Counts"].nlargest(10).reset_index()
    monthly = df.groupby(["month", "Sensor_ID"], as_index=False)["Hourly_Counts"].sum()
    top_month = monthly.set_index("Sensor_ID").groupby("month")["Hourly_Counts"].nlargest(10).reset_index()
    top_day.to_csv(f"{out}/top10_by_day.csv", index=False)
    top_month.to_csv(f"{out}/top10_by_month.csv", index=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
