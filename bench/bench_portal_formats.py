"""Fetching the same counts from the test portal (tests/support/portal.py, loopback) as its CSV, Parquet and XLSX
exports: bytes on the wire and the time to fetch, land and parse each (in process, exports prepared).

    PYTHONPATH=src:tests python bench/bench_portal_formats.py [SENSORS] [DAYS]
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from support.portal import Portal, PortalData

from footfall.lake.local import LocalLake
from footfall.melbourne.generate import generate
from footfall.melbourne.ingest import ingest_melbourne
from footfall.melbourne.run import JobResult, stage


def main(sensors: int = 100, days: int = 120) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = date(2024, 1, 1)
        generate(folder / "live.csv", fmt="ods-csv", seed=6, sensors=sensors, start=start,
                 end=start + timedelta(days=days - 1), locations=folder / "sensors.csv")
        with (folder / "live.csv").open() as handle:
            rows = list(csv.DictReader(handle, delimiter=";"))
        data = PortalData(counts=rows, sensors_csv=(folder / "sensors.csv").read_bytes())
        print(f"{len(rows):,} rows")
        with Portal(data) as portal:
            for export in ("csv", "parquet", "xlsx"):  # each built once first: the portal serves prepared files
                ingest_melbourne(LocalLake.at(folder / f"warm-{export}"), portal.url, archive=False,
                                 export_format=export)
            for export in ("csv", "parquet", "xlsx"):
                lake = LocalLake.at(folder / f"lake-{export}")
                started = time.perf_counter()
                fetched = ingest_melbourne(lake, portal.url, archive=False, export_format=export)
                got = time.perf_counter() - started
                stage(lake, JobResult())
                total = time.perf_counter() - started
                counts = next(f for f in fetched.landed if f.kind == "counts")
                print(f"{export:8} {counts.bytes / 1e6:8.2f} MB  fetch+land {got:6.2f} s  "
                      f"fetch+land+parse {total:6.2f} s")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
