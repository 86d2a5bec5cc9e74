"""Every container a publication comes in, read as one text table for the format's SQL mapping.

Whatever holds the rows (CSV, a JSON array, JSON lines, a GeoJSON FeatureCollection, Parquet or an XLSX
workbook), the reader yields the format's columns under their normalised names, as text, plus where a row
came from (``_position``, kept on quarantined rows) and a problem the container itself found
(``_problem``, e.g. a row inside merged cells). So a format is described once, whatever its container.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from footfall.melbourne.detect import Detected, normalise
from footfall.melbourne.workbook import PROBLEM as SHEET_PROBLEM
from footfall.melbourne.workbook import ROW, read_sheet
from footfall.sql import literal, quote

POSITION = "_position"
PROBLEM = "_problem"
_NULL = "CAST(NULL AS VARCHAR)"
_MIN_JSON_OBJECT = 2**20


def container_relation(con: duckdb.DuckDBPyConnection, source: Path, detected: Detected, name: str,
                       shown: str | Path) -> str:
    """A table expression with every column the format knows as text (absent ones NULL), ``_position`` and
    ``_problem``. ``name`` prefixes what the reader leaves on the connection (CSV rejects, a sheet)."""
    reader = _READERS[detected.container]
    return reader(con, source, detected, name, shown)


def release(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop what a reader registered on the connection."""
    con.unregister(_sheet_view(name))


def _project(detected: Detected, text_of: dict[str, str], position: str = _NULL, problem: str = _NULL) -> str:
    """The format's columns from ``text_of`` (normalised name -> SQL text), in the format's order."""
    fmt = detected.format
    named = [f"{text_of.get(normalise(c), _NULL)} AS {quote(c)}" for c in fmt.columns]
    if fmt.wide:  # every other column too, under its name as written (a sensor's description)
        fixed = {normalise(c) for c in fmt.columns}
        named += [f"{text_of[normalise(h)]} AS {quote(h)}" for h in detected.header
                  if normalise(h) not in fixed and normalise(h) in text_of]
    return f"{', '.join(named)}, {position} AS {POSITION}, {problem} AS {PROBLEM}"


def _by_name(names: tuple[str, ...], expr: str = "{}") -> dict[str, str]:
    return {normalise(n): expr.format(quote(n)) for n in reversed(names)}


def _csv(con: duckdb.DuckDBPyConnection, source: Path, detected: Detected, name: str, shown: str | Path) -> str:
    columns = "{" + ", ".join(f"{literal(h)}: 'VARCHAR'" for h in detected.header) + "}"
    relation = (f"read_csv({literal(str(source))}, columns = {columns}, auto_detect = false, skip = 1, "
                f"delim = {literal(detected.delimiter)}, quote = '\"', escape = '\"', header = false, "
                f"strict_mode = true, store_rejects = true, rejects_table = {literal(name)}, "
                f"rejects_scan = {literal(name + '_scan')})")
    return f"(SELECT {_project(detected, _by_name(detected.header))} FROM {relation})"


def _json(con: duckdb.DuckDBPyConnection, source: Path, detected: Detected, name: str, shown: str | Path) -> str:
    """JSON keys as the first record wrote them, and every other column of the format under its own name
    (a record may lack a key the first one has, or have one it lacks, as SODA's ``note``)."""
    keys = {normalise(k): k for k in reversed(detected.header)}
    wanted = {normalise(c): keys.get(normalise(c), c) for c in detected.format.columns}
    if detected.format.wide:
        wanted |= {n: k for n, k in keys.items() if n not in wanted}
    columns = "{" + ", ".join(f"{literal(k)}: 'VARCHAR'" for k in dict.fromkeys(wanted.values())) + "}"
    layout = "array" if detected.container == "json" else "newline_delimited"
    relation = f"read_json({literal(str(source))}, format = {literal(layout)}, columns = {columns})"
    return f"(SELECT {_project(detected, {c: quote(k) for c, k in wanted.items()})} FROM {relation})"


def _geojson(con: duckdb.DuckDBPyConnection, source: Path, detected: Detected, name: str,
             shown: str | Path) -> str:
    """Each feature's properties, with the point's coordinates ``[lon, lat]`` where a property lacks them."""
    props = {normalise(k): f"json_extract_string(f -> 'properties', {literal(k)})" for k in reversed(detected.header)}
    for column, index in (("longitude", 0), ("latitude", 1)):  # normalised names are the same
        point = f"json_extract_string(f, '$.geometry.coordinates[{index}]')"
        props[column] = f"COALESCE({props[column]}, {point})" if column in props else point
    relation = (f"(SELECT unnest(features) AS f, generate_subscripts(features, 1) AS n FROM read_json("
                f"{literal(str(source))}, format = 'unstructured', columns = {{'features': 'JSON[]'}}, "
                f"maximum_object_size = {_object_size(source)}))")
    select = _project(detected, props, position="'feature ' || CAST(n AS VARCHAR)")
    return f"(SELECT {select} FROM {relation})"


def _object_size(source: Path) -> int:
    """The largest JSON object the reader must hold for a GeoJSON file: the file, which is one object. DuckDB
    sizes its buffers at twice this whatever the file holds, so a fixed cap (say 1 GiB) is a 2 GiB buffer that
    no default memory limit allows."""
    return max(source.stat().st_size + 1, _MIN_JSON_OBJECT)


def _parquet_text(column: str, sql_type: str) -> str:
    """A typed Parquet column as the text a CSV export would hold: whole-valued floats without ``.0`` (as
    for a workbook), times with an explicit offset, nested values as JSON."""
    kind = sql_type.upper()
    if kind in ("FLOAT", "DOUBLE") or kind.startswith("DECIMAL"):
        return (f"CASE WHEN {column} = trunc({column}) AND abs({column}) < 9007199254740992 "
                f"THEN CAST(CAST({column} AS BIGINT) AS VARCHAR) ELSE CAST({column} AS VARCHAR) END")
    if kind == "TIMESTAMP WITH TIME ZONE":
        return f"strftime(timezone('UTC', {column}), '%Y-%m-%dT%H:%M:%S') || 'Z'"
    if kind.startswith(("STRUCT", "MAP")) or kind.endswith("[]"):
        return f"CAST(to_json({column}) AS VARCHAR)"
    return f"CAST({column} AS VARCHAR)"


def _parquet(con: duckdb.DuckDBPyConnection, source: Path, detected: Detected, name: str,
             shown: str | Path) -> str:
    relation = f"read_parquet({literal(str(source))})"
    types = {str(n): str(t) for n, t, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    text_of = {normalise(n): _parquet_text(quote(n), types[n]) for n in reversed(detected.header) if n in types}
    return f"(SELECT {_project(detected, text_of)} FROM {relation})"


def _sheet_view(name: str) -> str:
    return f"{name}_sheet"


def _xlsx(con: duckdb.DuckDBPyConnection, source: Path, detected: Detected, name: str, shown: str | Path) -> str:
    table = read_sheet(source, shown, len(detected.header))
    con.register(_sheet_view(name), table)
    text_of = {normalise(h): f"c{i}" for i, h in reversed(list(enumerate(detected.header)))}
    position = f"'sheet ' || {literal(repr(detected.sheet))} || ' row ' || CAST({ROW} AS VARCHAR)"
    return f"(SELECT {_project(detected, text_of, position, SHEET_PROBLEM)} FROM {quote(_sheet_view(name))})"


_READERS = {"csv": _csv, "json": _json, "jsonl": _json, "geojson": _geojson, "parquet": _parquet, "xlsx": _xlsx}
