"""Parsing the same rows from CSV, Parquet and XLSX: the generator's Opendatasoft rows, written with label
headers as the portal's exports would hold them, each landed and parsed by footfall (land + parse, in process).

    PYTHONPATH=src python bench/bench_formats.py [ROWS]
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

from footfall.lake.local import LocalLake
from footfall.melbourne.generate import generate
from footfall.melbourne.landing import land_file, parse_file

LABELS = ["ID", "Location_ID", "Sensing_Date", "HourDay", "Direction_1", "Direction_2", "Total_of_Directions",
          "Sensor_Name", "Location"]


def write_all(folder: Path, rows: int) -> dict[str, Path]:
    source = folder / "ods.csv"
    generate(source, fmt="ods-csv", seed=3, sensors=100, start=date(2023, 4, 1), rows=rows)
    with source.open() as handle:
        records = list(csv.reader(handle, delimiter=";"))[1:]
    paths = {"csv": folder / "export.csv", "parquet": folder / "export.parquet", "xlsx": folder / "export.xlsx"}
    with paths["csv"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LABELS)
        writer.writerows(records)
    columns = list(zip(*records, strict=True))
    typed = {name: pa.array([int(v) for v in column]) if name not in ("Sensing_Date", "Sensor_Name", "Location")
             else pa.array(column) for name, column in zip(LABELS, columns, strict=True)}
    pq.write_table(pa.table(typed), paths["parquet"])
    book = xlsxwriter.Workbook(str(paths["xlsx"]), {"constant_memory": True})
    sheet = book.add_worksheet("Data")
    sheet.write_row(0, 0, LABELS)
    for r, record in enumerate(records, 1):
        sheet.write_row(r, 0, [int(v) if i in (0, 1, 3, 4, 5, 6) else v for i, v in enumerate(record)])
    book.close()
    return paths


def main(rows: int = 270_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = write_all(folder, rows)
        totals = {}
        for container, path in paths.items():
            lake = LocalLake.at(folder / f"lake-{container}")
            lake.ensure()
            started = time.perf_counter()
            landed, _ = land_file(lake, path, "counts")
            with duckdb.connect() as con:
                staged = parse_file(con, lake, landed)
                total = con.sql(f"select sum(pedestrians) from '{lake.root}/transformed/raw_counts/*.parquet'")
                totals[container] = total.fetchall()[0][0]
            seconds = time.perf_counter() - started
            print(f"{container:8} {path.stat().st_size / 1e6:8.1f} MB {staged.rows:>9,} rows {seconds:6.2f} s")
        assert len(set(totals.values())) == 1, totals


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 270_000)
