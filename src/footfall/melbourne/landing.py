"""Landing and staging: raw files kept as given, then parsed once into canonical raw tables.

``landing/<kind>/<file_id>.<ext>`` holds each publication byte for byte, named by its content
hash so the same file never lands twice; a manifest beside it (written last, so its presence means
the file is complete) records where it came from, when, its size, hash and rows.
``transformed/raw_<kind>/<file_id>.parquet`` is that file parsed into the canonical columns
``pipeline.yml`` declares. Both steps skip what is already done, which makes re-runs incremental.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, get_args

import duckdb
import pyarrow as pa

from footfall.errors import (
    FootfallError,
    InputError,
    Interrupted,
    LakeError,
    ResourceError,
    escaped,
    name_bytes,
    os_failure,
)
from footfall.lake.layout import write_json
from footfall.lake.local import LocalLake
from footfall.melbourne.containers import POSITION, PROBLEM, container_relation, release
from footfall.melbourne.detect import Container, Detected, detect, normalise
from footfall.melbourne.formats import (
    FORMATS,
    INTEGER_PATTERN,
    MAX_HOURLY_COUNT,
    SENSOR_COLUMNS,
    WIDE_MISSING,
    FileKind,
    Format,
    blank,
)
from footfall.melbourne.inputs import copy_unchanged, open_regular, snapshot
from footfall.melbourne.schema import parsed_count_columns
from footfall.redact import redact, redact_strings
from footfall.sql import literal, quote

KINDS: tuple[FileKind, ...] = get_args(FileKind)
CONTAINER_SUFFIX = {container: f".{container}" for container in get_args(Container)}
# What landing and parsing write under a temporary name (file ids are 20 hex digits), swept after a killed run.
TEMPORARIES = re.compile(r"(?:landing/[^/]+|transformed/raw_[^/]+)/[0-9a-f]{20}"
                         r"(?:\.(?:csv|json|jsonl|parquet)\.part|\.manifest\.json\.tmp)")


@dataclass(frozen=True)
class Landed:
    """One file in the landing zone, as its manifest describes it."""

    file_id: str
    kind: FileKind
    format: str
    container: Container
    delimiter: str
    header: tuple[str, ...]
    origin: str
    landed_at: str
    bytes: int
    sha256: str
    rows: int | None = None
    rejected: int | None = None
    fetch: dict[str, Any] = field(default_factory=dict)
    sheet: str = ""
    missing: int | None = None  # values of a wide file that are missing hours (na, undefined, empty)
    origin_hex: str = ""  # the origin's bytes, where they are not UTF-8 (``origin`` then shows them escaped)

    @property
    def name(self) -> str:
        return self.file_id + CONTAINER_SUFFIX[self.container]

    @property
    def file_key(self) -> int:
        """The file id as a number: parsed rows carry this instead of strings, which are costly per row."""
        return int(self.file_id[:15], 16)

    def detected(self) -> Detected:
        fmt = next(f for f in FORMATS if f.name == self.format)
        return Detected(fmt, self.container, self.delimiter, self.header, self.sheet)


def _manifest(landed: Landed) -> dict[str, Any]:
    generation = next(f.generation for f in FORMATS if f.name == landed.format)
    return {**asdict(landed), "origin": redact(landed.origin), "fetch": redact_strings(landed.fetch),
            "file_key": landed.file_key, "generation": generation}


def manifest_path(lake: LocalLake, kind: FileKind, file_id: str) -> Path:
    return lake.path("landing", kind, f"{file_id}.manifest.json")


def land_file(lake: LocalLake, source: Path, kind: FileKind, origin: str | None = None,
              fetch: dict[str, Any] | None = None, move: bool = False,
              hashed: tuple[str, int] | None = None) -> tuple[Landed, bool]:
    """Put a file into the landing zone unless the same bytes are there; return it and whether it is new.

    One read hashes the file and looks it up, so bytes already landed are never written again. A new file
    is then copied by the kernel from the same open file, refused if it changed since that read, and
    described (format, header) from the stored copy: the manifest tells the truth about the bytes kept.
    ``move`` takes over a file footfall downloaded itself, and ``hashed`` (SHA-256, size) is the hash taken while
    downloading it, so a download is hashed once."""
    detect(source, kind)
    with open_regular(source) as handle:
        seen = snapshot(handle, hashed if move else None)
        known = _known(lake, kind, seen.sha256)
        if known:
            if move:
                source.unlink()
            return known, False
        folder = lake.path("landing", kind)
        stored = source if move else folder / f".{uuid.uuid4().hex}.part"  # hidden, swept after a crash
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not move:
                copy_unchanged(handle, stored, seen, shown_as=source)
        except OSError as e:
            raise _landing_failed(e, folder, source) from None
    try:
        detected = detect(stored, kind, shown_as=source)
        landed = Landed(file_id=seen.sha256[:20], kind=kind, format=detected.format.name,
                        container=detected.container, delimiter=detected.delimiter, header=detected.header,
                        sheet=detected.sheet, origin=escaped(origin or str(source)),
                        origin_hex=_origin_hex(origin or str(source)),
                        landed_at=datetime.now(UTC).isoformat(timespec="microseconds"),
                        bytes=seen.size, sha256=seen.sha256, fetch=_text(fetch or {}))
        os.replace(stored, folder / landed.name)
        try:
            write_json(manifest_path(lake, kind, landed.file_id), _manifest(landed))
        except BaseException:
            (folder / landed.name).unlink(missing_ok=True)  # a file without its manifest is not landed
            raise
    except OSError as e:
        if not move:
            stored.unlink(missing_ok=True)
        raise _landing_failed(e, folder, source) from None
    except BaseException:
        if not move:
            stored.unlink(missing_ok=True)
        raise
    return landed, True


def _landing_failed(error: OSError, folder: Path, source: Path) -> FootfallError:
    """The OS refused a write while landing: one line naming the input, the step and what to do."""
    return os_failure(error, f"landing it into {folder} failed, nothing was landed", source)


def _origin_hex(name: str) -> str:
    """A name whose bytes are not UTF-8 is stored escaped in ``origin`` (JSON readers refuse anything else), and
    its bytes here in hex, so the name as given is never lost; empty for every other name."""
    return "" if escaped(name) == name else name_bytes(name).hex()


def _text(value: Any) -> Any:
    """``value`` with every string in it made valid UTF-8 (a URL given on the command line can hold bytes that
    are not), so the manifest it goes into stays readable."""
    if isinstance(value, str):
        return escaped(value)
    if isinstance(value, dict):
        return {_text(k): _text(v) for k, v in value.items()}
    return [_text(v) for v in value] if isinstance(value, list | tuple) else value


def _known(lake: LocalLake, kind: FileKind, digest: str) -> Landed | None:
    manifest = manifest_path(lake, kind, digest[:20])
    return read_manifest(manifest) if manifest.exists() else None


def read_manifest(path: Path) -> Landed:
    """A manifest as ``land_file`` wrote it; one damaged by hand or by the disk is named in one line."""
    try:
        data = json.loads(path.read_text())
        data["header"] = tuple(data.get("header", ()))
        landed = Landed(**{k: v for k, v in data.items() if k in Landed.__dataclass_fields__})
        if landed.format not in {f.name for f in FORMATS} or landed.container not in CONTAINER_SUFFIX:
            raise ValueError(f"unknown format {landed.format!r} in a {landed.container!r} container")
    except (ValueError, TypeError, AttributeError) as e:
        raise LakeError(f"a damaged manifest ({type(e).__name__}: {e}): delete it and land its file again",
                        path=path) from None
    return landed


def landed_files(lake: LocalLake, kind: FileKind) -> list[Landed]:
    """Every complete landed file of a kind, oldest first."""
    folder = lake.path("landing", kind)
    found = [read_manifest(p) for p in folder.glob("*.manifest.json")] if folder.is_dir() else []
    return sorted(found, key=lambda f: (f.landed_at, f.file_id))


def redact_manifests(lake: LocalLake) -> None:
    """Rewrite, with its secrets masked, any manifest (of a landed or a set-aside file) an earlier version
    stored with a credential in its ``origin``, ``fetch`` or ``rejection`` (the pipeline reads manifests as a
    table, so they would reach its outputs)."""
    for kind in KINDS:
        for path in lake.path("landing", kind).rglob("*.manifest.json"):
            try:
                data = json.loads(path.read_text())
            except ValueError:
                continue  # damaged: reading it names it (a landed one), or it stays aside (a rejected one)
            if not isinstance(data, dict):
                continue
            masked = {**data, **{k: redact_strings(data[k]) for k in ("origin", "fetch", "rejection") if k in data}}
            if masked != data:
                write_json(path, masked)


def raw_path(lake: LocalLake, landed: Landed) -> Path:
    return lake.path("transformed", f"raw_{landed.kind}", f"{landed.file_id}.parquet")


def parse_file(con: duckdb.DuckDBPyConnection, lake: LocalLake, landed: Landed) -> Landed:
    """Parse one landed file into ``transformed/raw_<kind>/``; rows that cannot be read are kept
    with a reason (structurally broken CSV lines included), so the file's every row is accounted for."""
    target = raw_path(lake, landed)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = lake.path("landing", landed.kind, landed.name)
    detected = landed.detected()
    rejects = f"rejects_{landed.file_id}"
    tmp = target.with_name(target.name + ".part")
    try:
        reader = container_relation(con, source, detected, rejects, shown=landed.origin)
        missing = None
        if detected.format.wide:
            reader, missing = _unpivot(con, reader, detected, rejects + "_long")
        select = _canonical_select(detected.format, landed, reader)
        rows = con.execute(f"COPY ({select}) TO {literal(str(tmp))} (FORMAT parquet)").fetchone()
        rejected = 0
        if detected.container == "csv":
            rejected = _stage_rejects(con, landed, rejects, source, target)
        os.replace(tmp, target)
        _release(con, rejects)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        _release(con, rejects)
        if isinstance(e, duckdb.Error):
            raise _parse_error(e, con, detected.format, landed) from None
        if isinstance(e, KeyboardInterrupt) or (isinstance(e, RuntimeError) and "interrupted" in str(e).lower()):
            raise Interrupted(f"interrupted while parsing; {_KEPT}", path=landed.origin) from None
        raise
    count = int(rows[0]) if rows else 0
    if count == 0 and rejected == 0 and not missing:
        target.unlink(missing_ok=True)
        raise InputError("has no data rows (a header or an empty list only)", path=landed.origin)
    staged = Landed(**{**asdict(landed), "rows": count, "rejected": rejected, "missing": missing})
    write_json(manifest_path(lake, landed.kind, landed.file_id), _manifest(staged))
    return staged


# What the reader says about the bytes themselves; any other failure (memory, disk, an interrupt, a bug)
# is not the file's fault, so the file must not be set aside for it.
CONTENT_ERRORS = (duckdb.InvalidInputException, duckdb.ConversionException)
_KEPT = "the file stays landed and the next run parses it"
_OUT_OF_DISK = ("no space left", "file too large", "quota", "max_temp_directory_size", "temp directory")


def _parse_error(error: duckdb.Error, con: duckdb.DuckDBPyConnection, fmt: Format, landed: Landed) -> BaseException:
    """The one-line error for a parse that failed: a content error (the caller sets the file aside), a
    resource error (the file stays for the next run), or an interrupt."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    inner = re.search(r'"exception_message":"((?:[^"\\]|\\.)*)"', message)
    if inner:
        message = inner.group(1).replace('\\"', '"')
    if isinstance(error, duckdb.InterruptException):
        return Interrupted(f"interrupted while parsing; {_KEPT}", path=landed.origin)
    if isinstance(error, CONTENT_ERRORS):
        return InputError(f"cannot read as {fmt.label}: {message}", path=landed.origin)
    if any(mark in message.lower() for mark in _OUT_OF_DISK):
        return ResourceError(f"out of disk space while parsing ({message}); free some and run again: {_KEPT}",
                             path=landed.origin)
    if isinstance(error, duckdb.OutOfMemoryException):
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()
        return ResourceError(f"out of memory while parsing (memory limit {limit[0] if limit else '?'}): raise it "
                             f"with FOOTFALL_MEMORY_LIMIT, e.g. FOOTFALL_MEMORY_LIMIT=4GB; {_KEPT}", path=landed.origin)
    return ResourceError(f"parsing failed, not because of the file's content ({message}); {_KEPT}",
                         path=landed.origin)


def _meta(fmt: Format, landed: Landed) -> str:
    """Where a row came from: a numeric file key for counts (the manifest says the rest), the full
    provenance for the small sensor-location files."""
    if fmt.kind == "counts":
        return f"CAST({landed.file_key} AS BIGINT) AS file_key"
    return (f"{literal(landed.file_id)} AS file_id, {literal(fmt.name)} AS source, "
            f"{fmt.generation} AS generation, {literal(landed.landed_at)} AS published")


EARLIEST_TIME = "2009-01-01"  # the archive starts 2009-05-01; the first sensors were installed in March 2009
OUT_OF_RANGE_ID = "location id out of range (negative, or too large)"
NEGATIVE_COUNT = "negative count"
IMPLAUSIBLE_COUNT = f"implausible count (over {MAX_HOURLY_COUNT:,} in an hour)"
TOO_EARLY = f"time before {EARLIEST_TIME} (before the first sensor)"
TOO_LATE = "time more than a day after the run (in the future)"
BAD_DIRECTION = "direction count not a whole number of 0 or more"


def _integer_reason(raw: str, what: str, overflow: str) -> str:
    """Why a whole-number column has no value: nothing there, not a whole number in decimal digits, or
    digits too large to hold (``overflow``, an SQL expression)."""
    return (f"CASE WHEN {blank(raw)} OR NOT regexp_matches({raw}, '[0-9]') THEN 'missing or non-numeric {what}' "
            f"WHEN NOT regexp_full_match({raw}, '{INTEGER_PATTERN}') THEN '{what} not a whole number' "
            f"ELSE {overflow} END")


def _canonical_select(fmt: Format, landed: Landed, reader: str) -> str:
    """Canonical columns plus a reason; the raw text is kept only where a row is bad (it is what the
    quarantine shows), which keeps the parsed files small."""
    exprs = ", ".join(f"{sql} AS {quote(col)}" for col, sql in fmt.exprs)
    out_of_range = literal(OUT_OF_RANGE_ID)
    bad_id = "" if fmt.wide else (
        f"WHEN location_id IS NULL THEN {_integer_reason('raw_location_id', 'location id', out_of_range)} "
        f"WHEN location_id < 0 THEN {out_of_range} ")
    if fmt.kind == "sensors":
        reason = f"COALESCE({PROBLEM}, CASE {bad_id}END)"
        cols = ", ".join(quote(c) for c in SENSOR_COLUMNS)
    else:
        count_overflow = (f"CASE WHEN regexp_matches(raw_count, '^\\s*-') THEN {literal(NEGATIVE_COUNT)} "
                          f"ELSE {literal(IMPLAUSIBLE_COUNT)} END")
        # A CASE, not AND: the text is looked at only where the value is missing.
        direction_unread = " OR ".join(f"CASE WHEN direction_{i} IS NULL THEN NOT {blank(f'raw_direction_{i}')} "
                                       "ELSE false END" for i in (1, 2))
        reason = (f"COALESCE({PROBLEM}, CASE {bad_id}"
                  f"WHEN ts IS NULL THEN 'unparseable time' "
                  f"WHEN ts < TIMESTAMP '{EARLIEST_TIME}' THEN {literal(TOO_EARLY)} "
                  "WHEN ts > CAST(timezone('Australia/Melbourne', now()) AS TIMESTAMP) + INTERVAL 1 DAY "
                  f"THEN {literal(TOO_LATE)} "
                  f"WHEN pedestrians IS NULL THEN {_integer_reason('raw_count', 'count', count_overflow)} "
                  f"WHEN pedestrians < 0 THEN {literal(NEGATIVE_COUNT)} "
                  f"WHEN pedestrians > {MAX_HOURLY_COUNT} THEN {literal(IMPLAUSIBLE_COUNT)} "
                  f"WHEN {direction_unread} OR direction_1 < 0 OR direction_2 < 0 THEN {literal(BAD_DIRECTION)} "
                  "END)")
        raw_text = {"raw_location_id", "raw_time", "raw_count"}
        cols = ", ".join(f"CASE WHEN reason IS NULL THEN NULL ELSE {quote(c)} END AS {quote(c)}" if c in raw_text
                         else quote(c) for c in parsed_count_columns())
    # A bad sensor row keeps its fields' text (as JSON) beside where it came from: its quarantine entry has
    # no raw_location_id, raw_time or raw_count columns to hold them.
    raw_row = (f"json_object({', '.join(f'{literal(c)}, {quote(c)}' for c in fmt.columns)})"
               if fmt.kind == "sensors" else "NULL")
    raw_line = f"concat_ws(' ', {POSITION}, _raw_row)" if fmt.kind == "sensors" else POSITION
    return (f"SELECT {_meta(fmt, landed)}, {cols}, reason, "
            f"CASE WHEN reason IS NULL THEN NULL ELSE {raw_line} END AS raw_line "
            f"FROM (SELECT *, {reason} AS reason FROM (SELECT {exprs}, {POSITION}, {PROBLEM}, "
            f"CAST({raw_row} AS VARCHAR) AS _raw_row FROM {reader}))")


def _stage_rejects(con: duckdb.DuckDBPyConnection, landed: Landed, rejects: str, source: Path, target: Path) -> int:
    """CSV lines the reader could not split into the header's columns or decode, kept as quarantined rows
    with the line as the file holds it."""
    found = con.execute(f"""
        SELECT 'malformed CSV line ' || line || ': ' || arg_min(error_message, column_idx),
               arg_min(csv_line, column_idx), min(line_byte_position),
               bool_or(error_type IN ('INVALID ENCODING', 'INVALID UNICODE'))
        FROM {quote(rejects)} GROUP BY line ORDER BY line""").fetchall()
    path = target.with_name(f"{landed.file_id}-rejects.parquet")
    if found:
        with source.open("rb") as handle:
            lines = [_raw_line(handle, start, text.count("\n") + 1) if undecodable else text
                     for _, text, start, undecodable in found]
        lines_table = pa.table({"reason": [r for r, *_ in found], "raw_line": lines})
        fmt = landed.detected().format
        nulls = ", ".join(f"CAST(NULL AS {t}) AS {quote(c)}" for c, t in parsed_count_columns().items())
        con.register(f"{rejects}_lines", lines_table)
        try:
            con.execute(f"COPY (SELECT {_meta(fmt, landed)}, {nulls}, reason, raw_line "
                        f"FROM {quote(rejects + '_lines')}) TO {literal(str(path))} (FORMAT parquet)")
        finally:
            con.unregister(f"{rejects}_lines")
    _drop_rejects(con, rejects)
    return len(found)


def _raw_line(handle: BinaryIO, position: int, lines: int) -> str:
    """The record whose first line holds byte ``position`` (the reader's offset, which can sit a byte or two
    into the line), ``lines`` lines of the file, as UTF-8 text whose bytes that are not UTF-8 show as
    ``\\xff``: the reader's own copy has them replaced."""
    back = max(0, position - 64)
    handle.seek(back)
    cut = handle.read(position - back).rfind(b"\n")
    handle.seek(back + cut + 1 if cut >= 0 else back)
    return b"".join(handle.readline() for _ in range(lines)).rstrip(b"\r\n").decode("utf-8", "backslashreplace")


def _drop_rejects(con: duckdb.DuckDBPyConnection, rejects: str) -> None:
    con.execute(f"DROP TABLE IF EXISTS {quote(rejects)}")
    con.execute(f"DROP TABLE IF EXISTS {quote(rejects + '_scan')}")


def _missing(value: str) -> str:
    """SQL: a wide file's value is a missing hour. One that starts with a digit (nearly every value) is not,
    whatever its ends: the trim could not take that digit off, so no missing word could be left."""
    return (f"CASE WHEN {value} IS NULL THEN true WHEN ascii({value}) BETWEEN 48 AND 57 THEN false "
            f"ELSE lower(trim({value}, ' \t\r\n')) IN ({', '.join(map(literal, WIDE_MISSING))}) END")


# Columns a wide file is unpivoted by at a time. DuckDB unpivots through lists as long as the column list, a
# vector (2,048 rows) at a time: 10,000 columns at once would hold 2,048 x 10,000 names and values (over
# 600 MB) whatever the file's size; 1,024 at a time hold about 64 MB.
UNPIVOT_COLUMNS = 1024


def _unpivot(con: duckdb.DuckDBPyConnection, reader: str, detected: Detected, table: str) -> tuple[str, int]:
    """A wide table as one row per (date, hour, column) whose value is present, and how many values are
    missing hours. The columns are unpivoted a batch at a time (each reading only its columns) into a
    temporary table, so memory follows the values, not the number of columns times a vector."""
    fixed = {normalise(c) for c in detected.format.columns}
    kept = ", ".join([quote(c) for c in detected.format.columns] + [quote(POSITION), quote(PROBLEM)])
    columns = [quote(h) for h in detected.header if normalise(h) not in fixed]
    for start in range(0, len(columns), UNPIVOT_COLUMNS):
        batch = ", ".join(columns[start:start + UNPIVOT_COLUMNS])
        select = (f"SELECT {kept}, sensor_column, value FROM (SELECT {kept}, {batch} FROM {reader}) "
                  f"UNPIVOT INCLUDE NULLS (value FOR sensor_column IN ({batch}))")
        con.execute(f"INSERT INTO {quote(table)} {select}" if start else
                    f"CREATE OR REPLACE TEMP TABLE {quote(table)} AS {select}")
    found = con.execute(f"SELECT COUNT(*) FROM {quote(table)} WHERE {_missing('value')}").fetchone()
    return f"(SELECT * FROM {quote(table)} WHERE NOT {_missing('value')})", int(found[0]) if found else 0


def _release(con: duckdb.DuckDBPyConnection, rejects: str) -> None:
    """Drop what parsing a file left on the connection."""
    release(con, rejects)
    con.execute(f"DROP TABLE IF EXISTS {quote(rejects + '_long')}")

