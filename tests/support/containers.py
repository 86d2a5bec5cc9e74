"""Writing the same rows in every container the portals offer: CSV (either delimiter, with or without BOM),
a JSON array, JSON lines, Parquet (text or typed columns) and XLSX (numbers and dates as typed cells)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CONTAINERS = ("csv", "csv-semicolon-bom", "json", "jsonl", "parquet", "parquet-typed", "xlsx")


def _typed(value: str) -> object:
    """A value as a typed export holds it: whole numbers as numbers, ISO dates as dates, the rest as text."""
    if value.isdigit():
        return int(value)
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else value
    except ValueError:
        return value


def write(folder: Path, container: str, header: list[str], rows: list[list[str]], stem: str = "data") -> Path:
    """``rows`` of text under ``header`` in ``container``; an empty string is an empty cell."""
    folder.mkdir(parents=True, exist_ok=True)
    if container.startswith("csv"):
        path = folder / f"{stem}.csv"
        semicolon = container == "csv-semicolon-bom"
        with path.open("w", newline="", encoding="utf-8-sig" if semicolon else "utf-8") as handle:
            writer = csv.writer(handle, delimiter=";" if semicolon else ",")
            writer.writerow(header)
            writer.writerows(rows)
        return path
    if container in ("json", "jsonl"):
        path = folder / f"{stem}.{container}"
        records = [json.dumps({k: v for k, v in zip(header, row, strict=True) if v != ""}) for row in rows]
        path.write_text("[" + ",\n".join(records) + "]" if container == "json" else "\n".join(records) + "\n")
        return path
    if container.startswith("parquet"):
        path = folder / f"{stem}.parquet"
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
        if container == "parquet":
            table = pa.table({h: pa.array([v or None for v in c], pa.string()) for h, c in zip(header, columns,
                                                                                                  strict=True)})
        else:
            table = pa.table({h: pa.array([_typed(v) if v else None for v in c]) for h, c in zip(header, columns,
                                                                                                 strict=True)})
        pq.write_table(table, path)
        return path
    if container == "xlsx":
        return write_xlsx(folder / f"{stem}.xlsx", header, rows)
    raise ValueError(container)


def write_xlsx(path: Path, header: list[str], rows: list[list[object]], *, sheets: tuple[str, ...] = ("Data",),
               edit=None) -> Path:
    """A workbook as Excel writes one: numbers and ISO dates as typed cells. ``edit`` changes it before saving."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    first = book.add_worksheet(sheets[0])
    first.write_row(0, 0, header)
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row):
            typed = _typed(value) if isinstance(value, str) else value
            if typed == "":
                continue
            if isinstance(typed, dt.date):
                first.write_datetime(r, c, dt.datetime.combine(typed, dt.time()), date_format)
            elif isinstance(typed, int | float):
                first.write_number(r, c, typed)
            else:
                first.write_string(r, c, str(typed))
    for name in sheets[1:]:
        book.add_worksheet(name).write_row(0, 0, ["not", "the", "data"])
    if edit:
        edit(book, first)
    book.close()
    return path
