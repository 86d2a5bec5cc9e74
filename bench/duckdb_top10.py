"""The lower bound: one DuckDB query per answer, only the two top-10s, straight from the CSV."""

from __future__ import annotations

import sys

import duckdb


def main(path: str, out: str) -> None:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("""
        CREATE TABLE daily AS
        SELECT CAST(Sensor_ID AS BIGINT) AS location_id,
               CAST(strptime(Date_Time, '%B %d, %Y %I:%M:%S %p') AS DATE) AS date,
               SUM(CAST(replace(Hourly_Counts, ',', '') AS BIGINT)) AS pedestrians
        FROM read_csv(?, all_varchar = true)
        GROUP BY ALL""", [path])
    con.execute(f"""COPY (SELECT * FROM (SELECT date, RANK() OVER (PARTITION BY date ORDER BY pedestrians DESC)
        AS rank, location_id, pedestrians FROM daily) WHERE rank <= 10 ORDER BY ALL) TO '{out}/top10_by_day.csv'""")
    con.execute(f"""COPY (SELECT * FROM (SELECT month, RANK() OVER (PARTITION BY month ORDER BY pedestrians DESC)
        AS rank, location_id, pedestrians FROM (SELECT strftime(date, '%Y-%m') AS month, location_id,
        SUM(pedestrians) AS pedestrians FROM daily GROUP BY ALL)) WHERE rank <= 10 ORDER BY ALL)
        TO '{out}/top10_by_month.csv'""")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
