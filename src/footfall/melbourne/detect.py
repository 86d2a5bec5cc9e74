"""Recognising which published format a file is, by content.

A file's format is read from its first bytes (BOM, JSON shape, header names and delimiter), never from its
name; a file that matches no format is refused with what it has and the formats expected.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from footfall.errors import InputError
from footfall.melbourne.formats import FORMATS, Format
from footfall.melbourne.inputs import open_regular

SNIFF_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 2**20  # a CSV header line or a first JSON record longer than this is refused
# Sensor columns of a wide file: reading one costs time with the square of its columns (each batch of the
# unpivot binds the whole header): about 30 s at this many on a 2-core machine.
MAX_WIDE_COLUMNS = 16_384


def normalise(name: str) -> str:
    """The one spelling header names are compared in: lower case letters and digits only, so a BOM, case,
    spaces, underscores and parentheses make no difference (``SensingDateTime(Hour)``, ``Sensor ID``,
    ``LocationID`` and ``location_id`` are matched like the field names).

    >>> [normalise(n) for n in ("\ufeffSensingDateTime(Hour)", " Sensor ID", "Total_of_Directions", "LocationID")]
    ['sensingdatetimehour', 'sensorid', 'totalofdirections', 'locationid']
    """
    return re.sub(r"[^0-9a-z]+", "", name.lower())


Container = Literal["csv", "json", "jsonl", "geojson", "parquet", "xlsx"]


@dataclass(frozen=True)
class Detected:
    """What a file turned out to be, and how to read it."""

    format: Format
    container: Container
    delimiter: str = ","
    header: tuple[str, ...] = ()  # the names as written (CSV header, first JSON record's keys, first row, ...)
    sheet: str = ""  # the sheet read, for a workbook


def detect(path: Path, expected_kind: str | None = None, *, shown_as: str | Path | None = None) -> Detected:
    """Recognise a file by its content; the error names the file (``shown_as``, else ``path``) and what
    was expected."""
    shown = shown_as or path
    with open_regular(path, shown) as handle:
        try:
            head = handle.read(SNIFF_BYTES)
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", path=shown) from None
        if not head.strip():
            raise InputError("empty file", path=shown)
        if head.startswith(b"PAR1"):
            detected = _parquet(path, shown)
        elif head.startswith(b"PK\x03\x04"):
            detected = _workbook(path, shown)
        elif b"\x00" in head:
            raise InputError("binary content, not CSV, JSON, XLSX or Parquet", path=shown)
        elif head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"[", b"{")):
            detected = _json(head, handle, shown)
        else:
            detected = _csv_header(head, handle, shown)
    if detected.format.wide and len(detected.header) > MAX_WIDE_COLUMNS + len(detected.format.required):
        raise InputError(f"a wide file of {len(detected.header) - len(detected.format.required):,} sensor columns: "
                         f"footfall reads at most {MAX_WIDE_COLUMNS:,} (a sheet's width; the website's monthly "
                         "files have about a hundred)", path=shown)
    if expected_kind and detected.format.kind != expected_kind:
        flag = "--sensors" if detected.format.kind == "sensors" else "--counts"
        raise InputError(f"this is a {detected.format.kind} file ({detected.format.label}), given as "
                         f"{expected_kind}; pass it with {flag}", path=shown)
    return detected


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def _csv_header(head: bytes, handle: BinaryIO, path: str | Path) -> Detected:
    """The whole first line (read past the sniffed bytes when it is longer), its delimiter and names."""
    if b"\n" not in head and len(head) == SNIFF_BYTES:
        head += handle.readline(MAX_HEADER_BYTES + 1 - len(head))
        if len(head) > MAX_HEADER_BYTES:
            raise InputError(f"the header line is longer than {MAX_HEADER_BYTES // 2**20} MB: not a CSV file "
                             "footfall can read", path=path)
    lines = _text(head).splitlines()
    first = lines[0] if lines else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = tuple(h.strip() for h in next(csv.reader(io.StringIO(first), delimiter=delimiter), []))
    return Detected(_named(header, path, f"header {first[:200]!r}"), "csv", delimiter, header)


def _named(header: tuple[str, ...], path: str | Path, seen: str) -> Format:
    """The format of a table whose columns are ``header``; every column must have a name, once."""
    fmt = _match({normalise(h) for h in header}, path, seen)
    names: dict[str, int] = {}
    for number, name in enumerate(header, 1):
        if not normalise(name):
            raise InputError(f"header column {number} of {len(header)} has no name: every column needs one",
                             path=path)
        if normalise(name) in names:
            raise InputError(f"header names {name!r} twice (columns {names[normalise(name)]} and {number}; names "
                             "are compared without case, spaces or punctuation): which one to read is ambiguous",
                             path=path)
        names[normalise(name)] = number
    return fmt


def _json(head: bytes, handle: BinaryIO, path: str | Path) -> Detected:
    """An array of records, JSON lines, or a GeoJSON FeatureCollection (whose records are the features'
    properties, with the point's coordinates as longitude and latitude)."""
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and re.search(
            rb'"type"\s*:\s*"FeatureCollection"', head[:4096]):
        found = re.search(rb'"properties"\s*:\s*', head)
        if not found:
            raise InputError("a GeoJSON FeatureCollection without feature properties in its first 64 KB", path=path)
        first = _first_record(_text(head[found.end():]), path, container="geojson")
        if first is None or not isinstance(first[1], dict):
            raise InputError("a GeoJSON FeatureCollection whose first feature's properties are not an object",
                             path=path)
        names = tuple(first[1])
        header = names + tuple(c for c in ("longitude", "latitude") if c not in {normalise(k) for k in names})
        return Detected(_named(header, path, f"GeoJSON properties {sorted(names)}"), "geojson", header=header)
    container, keys = _json_keys(head, handle, path)
    return Detected(_match({normalise(k) for k in keys}, path, f"JSON keys {sorted(keys)}"), container,
                    header=tuple(keys))


def _json_keys(head: bytes, handle: BinaryIO, path: str | Path) -> tuple[Container, list[str]]:
    """The container (array or JSON lines) and the keys of the first record, read past the sniffed bytes
    when the record is longer."""
    text = _text(head).lstrip()
    first = _first_record(text, path)
    if first is None and len(head) == SNIFF_BYTES:
        text = _text(head + handle.read(MAX_HEADER_BYTES - len(head))).lstrip()
        first = _first_record(text, path)
    if first is None:
        raise InputError("not valid JSON records (expected an array of objects or JSON lines)", path=path)
    container, record = first
    if not isinstance(record, dict):
        raise InputError(f"JSON records must be objects, found {type(record).__name__}", path=path)
    if container == "jsonl" and "results" in record and isinstance(record["results"], list):
        raise InputError("an Opendatasoft records-API page; use the exports endpoint (CSV/JSON/JSONL) instead",
                         path=path)
    return container, list(record)


def _first_record(text: str, path: str | Path, container: Container | None = None) -> tuple[Container, object] | None:
    """``(container, first record)``, or None when the text holds no complete first value."""
    if container is not None:
        body = text
    elif text.startswith("["):
        body = text[1:].lstrip()
        if body.startswith("]"):
            raise InputError("JSON array holds no records", path=path)
        container = "json"
    else:
        body, container = text, "jsonl"
    try:
        record, _ = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError:
        return None
    except RecursionError:
        raise InputError("JSON nested too deeply to be a record of counts or sensor locations", path=path) from None
    return container, record


def _parquet(path: Path, shown: str | Path) -> Detected:
    """A Parquet export: its column names are the header."""
    import pyarrow.parquet as pq

    try:
        names = tuple(pq.read_schema(path).names)
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"not a readable Parquet file ({str(e).splitlines()[0][:200]})", path=shown) from None
    return Detected(_named(names, shown, f"Parquet columns {list(names)[:40]}"), "parquet", header=names)


def _workbook(path: Path, shown: str | Path) -> Detected:
    """An XLSX workbook (the portal's "Excel" export): the first sheet holds the data, its first row the header;
    other sheets are not read. A zip that is not a workbook is named as such."""
    from footfall.melbourne.workbook import first_sheet_header

    try:
        with zipfile.ZipFile(path) as archive:
            is_workbook = "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError) as e:
        raise InputError(f"a damaged zip or workbook ({e})", path=shown) from None
    if not is_workbook:
        raise InputError("a zip archive, not a workbook: extract the CSV inside and give that", path=shown)
    sheet, header = first_sheet_header(path, shown)
    return Detected(_named(header, shown, f"first row {list(header)[:40]} of sheet {sheet!r}"), "xlsx",
                    header=header, sheet=sheet)


def _match(keys: set[str], path: str | Path, seen: str) -> Format:
    for fmt in FORMATS:
        required = {normalise(name) for name in fmt.required}
        if required <= keys and not keys & {normalise(name) for name in fmt.excludes} and (
                not fmt.wide or keys - required):
            return fmt
    expected = "; ".join(f.label for f in FORMATS)
    raise InputError(f"matches no known format ({seen}); expected one of: {expected}", path=path)
