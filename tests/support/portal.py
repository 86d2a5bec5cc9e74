"""A real HTTP server on loopback that answers like the two portals, with their limits and faults.

Opendatasoft: a dataset's description, exports (csv/json/jsonl/parquet/xlsx, `where` on sensing_date, delimiter,
labels), records (limit <= 100, offset + limit <= 10000, 400 JSON errors), the attachment list and the archive zip,
ETag / Last-Modified / 304 and Range. Socrata: SODA JSON paging (`$limit` default 1000, `$offset`, `$order=:id`,
`$select=count(*)`), rows.csv, a required app token. Faults are injected per path prefix, including a
server that echoes everything it was sent (URL and headers) in its error, and redirects per path prefix to
any base URL (another port is another origin).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from footfall.melbourne.portal import ARCHIVE_ATTACHMENT as ARCHIVE_ID
from footfall.melbourne.portal import COUNTS_DATASET as COUNTS
from footfall.melbourne.portal import SENSORS_DATASET as SENSORS
from footfall.sources.http import Policy

# A client policy for a loopback portal: every retry and timeout is short.
FAST = Policy(attempts=4, backoff=0.01, max_wait=0.05, connect_timeout=2.0, read_timeout=0.5)
ODS_FIELDS = ["id", "location_id", "sensing_date", "hourday", "direction_1", "direction_2", "pedestriancount",
              "sensor_name", "location"]
ODS_LABELS = ["ID", "Location_ID", "Sensing_Date", "HourDay", "Direction_1", "Direction_2", "Total_of_Directions",
              "Sensor_Name", "Location"]
# The counts' CSV export, the path most downloads ask for.
EXPORT = f"/api/explore/v2.1/catalog/datasets/{COUNTS}/exports/csv"
WHERE = re.compile(r"^\s*sensing_date\s*(>=|<=|>|<|=)\s*date'(\d{4}-\d{2}-\d{2})'\s*$")


@dataclass
class Fault:
    kind: str
    times: int


@dataclass
class PortalData:
    """What the portal serves: hourly rows (dicts with ODS_FIELDS), sensor CSV bytes, archive CSV bytes,
    and SODA records per dataset."""

    counts: list[dict[str, str]] = field(default_factory=list)
    sensors_csv: bytes = b""
    archive_csv: bytes = b""
    archive_name: str = "pedestrian-counts-2009-2022.csv"
    soda: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    socrata_token: str | None = None


class _Server(ThreadingHTTPServer):
    """A client hanging up is what the fault tests provoke, not a server error worth a traceback on stderr
    (where the CLI run in the test's process would show it as its own)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Portal:
    def __init__(self, data: PortalData) -> None:
        self.data = data
        self.faults: dict[str, list[Fault]] = {}
        self.requests: list[dict[str, Any]] = []
        self.redirects: dict[str, tuple[str, bool]] = {}
        self.built: dict[tuple[str, str], bytes] = {}  # Parquet/XLSX export bodies, built once per query
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self._archive_zip = self._zip(data.archive_csv)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Portal:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, prefix: str, kind: str, times: int = 1) -> None:
        """The next ``times`` requests whose path starts with ``prefix`` meet fault ``kind``."""
        with self.lock:
            self.faults.setdefault(prefix, []).append(Fault(kind, times))

    def redirect(self, prefix: str, base: str, strip: bool = False) -> None:
        """Requests whose path starts with ``prefix`` are sent with a 302 to ``base`` + the path (without the
        prefix when ``strip``) + the query."""
        with self.lock:
            self.redirects[prefix] = (base, strip)

    def take_fault(self, path: str) -> str | None:
        with self.lock:
            for prefix, faults in self.faults.items():
                if path.startswith(prefix) and faults:
                    fault = faults[0]
                    fault.times -= 1
                    if fault.times <= 0:
                        faults.pop(0)
                    return fault.kind
        return None

    def replace_archive(self, csv_bytes: bytes) -> None:
        self.data.archive_csv = csv_bytes
        self._archive_zip = self._zip(csv_bytes)

    def _zip(self, csv_bytes: bytes) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(self.data.archive_name, csv_bytes)
        return buffer.getvalue()

    def archive_path(self) -> str:
        return f"/api/datasets/1.0/{COUNTS}/attachments/{ARCHIVE_ID}/"

    def build(self, path: str, query: dict[str, str], make: Any) -> bytes:
        """An export body made once per path and query (a portal serves prepared exports)."""
        key = (path, json.dumps(query, sort_keys=True))
        if key not in self.built:
            self.built[key] = make()
        return self.built[key]

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]


def _handler(portal: Portal) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            with portal.lock:
                portal.requests.append({"path": parts.path, "query": query, "headers": dict(self.headers)})
            for prefix, (base, strip) in portal.redirects.items():
                if parts.path.startswith(prefix):
                    target = base + (self.path[len(prefix):] if strip else self.path)
                    return self.reply(302, b"", "text/plain", {"Location": target})
            fault = portal.take_fault(parts.path)
            if fault in ("500", "503"):
                return self.reply(int(fault), json.dumps({"error": "server trouble"}).encode(), "application/json")
            if fault in ("500-now", "503-now"):
                return self.reply(int(fault[:3]), json.dumps({"error": "server trouble"}).encode(), "application/json",
                                  {"Retry-After": "0"})
            if fault == "echo":
                said = f"refused {self.path} from {self.client_address[0]} with {dict(self.headers)}"
                return self.reply(403, json.dumps({"code": "forbidden", "message": said}).encode(), "application/json")
            if fault == "429":
                return self.reply(429, b'{"error": "slow down"}', "application/json", {"Retry-After": "0"})
            if fault == "429-ods":
                body = {"errorcode": 10002, "reset_time": "2000-01-01T00:00:00+00:00", "limit_time_unit": "day",
                        "call_limit": 10, "error": "Too many requests on the domain. Please contact the domain "
                        "administrator."}
                return self.reply(429, json.dumps(body).encode(), "application/json")
            if fault == "html":
                return self.reply(200, b"<html><body>Maintenance</body></html>", "text/html")
            if fault == "stall":
                time.sleep(1.5)
            try:
                status, body, kind, headers = self.route(parts.path, query)
            except Refused as e:
                return self.reply(e.status, json.dumps(e.body).encode(), "application/json")
            if fault == "truncated-zip" and kind == "application/zip":
                body = body[: len(body) // 2]
            return self.reply(status, body, kind, headers, cut=fault == "cut")

        def route(self, path: str, q: dict[str, str]) -> tuple[int, bytes, str, dict[str, str]]:
            base = "/api/explore/v2.1/catalog/datasets/"
            if path in (f"{base}{COUNTS}", f"{base}{SENSORS}"):
                return 200, json.dumps({"dataset_id": path.rsplit("/", 1)[1]}).encode(), "application/json", {}
            if path == f"{base}{COUNTS}/exports/csv":
                return 200, export_csv(portal.data.counts, q), "text/csv; charset=utf-8", {}
            if path == f"{base}{COUNTS}/exports/parquet":
                body = portal.build(path, q, lambda: export_parquet(ordered(portal.data.counts, q)))
                return 200, body, "application/octet-stream", {}
            if path == f"{base}{COUNTS}/exports/xlsx":
                body = portal.build(path, q, lambda: export_xlsx(ordered(portal.data.counts, q), ODS_FIELDS,
                                                                 ODS_LABELS))
                return 200, body, XLSX_TYPE, {}
            if path == f"{base}{SENSORS}/exports/parquet":
                rows = sensor_rows(portal.data.sensors_csv)
                return 200, export_parquet(rows, {"location_id"}), "application/octet-stream", {}
            if path == f"{base}{SENSORS}/exports/xlsx":
                rows = sensor_rows(portal.data.sensors_csv)
                return 200, export_xlsx(rows, list(rows[0]), list(rows[0]), {"location_id"}), XLSX_TYPE, {}
            if path in (f"{base}{COUNTS}/exports/json", f"{base}{COUNTS}/exports/jsonl"):
                rows = filter_rows(portal.data.counts, q.get("where"))
                lines = [json.dumps(r) for r in rows]
                text = "[" + ",".join(lines) + "]" if path.endswith("json") else "\n".join(lines) + "\n"
                return 200, text.encode(), "application/json", {}
            if path == f"{base}{COUNTS}/records":
                return 200, records(portal.data.counts, q), "application/json", {}
            if path == f"{base}{SENSORS}/exports/csv":
                return 200, portal.data.sensors_csv, "text/csv; charset=utf-8", {}
            if path == f"/api/v2/catalog/datasets/{COUNTS}/attachments":
                listing = {"attachments": [{"metas": {"id": ARCHIVE_ID, "title": "May 2009 to 14 Dec 2022"},
                                            "links": [{"rel": "self", "href": portal.url + portal.archive_path()}]}]}
                return 200, json.dumps(listing).encode(), "application/json", {}
            if path == portal.archive_path():
                return self.conditional(portal._archive_zip, "application/zip")
            match = re.fullmatch(r"/resource/([\w-]+)\.json", path)
            if match:
                return 200, soda(portal, match.group(1), q, self.headers), "application/json", {}
            match = re.fullmatch(r"/api/views/([\w-]+)/rows\.csv", path)
            if match:
                check_token(portal, self.headers)
                return 200, rows_csv(portal.data.soda.get(match.group(1), [])), "text/csv", {}
            raise Refused(404, {"error": "not found"})

        def conditional(self, body: bytes, kind: str) -> tuple[int, bytes, str, dict[str, str]]:
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            modified = "Mon, 02 Jan 2023 00:00:00 GMT"
            headers = {"ETag": etag, "Last-Modified": modified, "Accept-Ranges": "bytes"}
            if self.headers.get("If-None-Match") == etag:
                return 304, b"", kind, headers
            wanted = self.headers.get("Range")
            if wanted and self.headers.get("If-Range", etag) == etag:
                start = int(re.fullmatch(r"bytes=(\d+)-", wanted).group(1))  # type: ignore[union-attr]
                headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
                return 206, body[start:], kind, headers
            return 200, body, kind, headers

        def reply(self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None,
                  cut: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if status == 304:
                return
            if cut:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                time.sleep(0.2)
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.wfile.write(body)

    return Handler


class Refused(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def filter_rows(rows: list[dict[str, str]], where: str | None) -> list[dict[str, str]]:
    """Apply an ODSQL ``where`` made of sensing_date comparisons joined by ``and``; anything else is a 400."""
    if not where:
        return rows
    tests = []
    for clause in re.split(r"\s+and\s+", where.strip(), flags=re.I):
        match = WHERE.match(clause)
        if not match:
            raise Refused(400, {"error_code": "ODSQLError", "message": f"ODSQL query is malformed: {clause}"})
        tests.append((match.group(1), date.fromisoformat(match.group(2))))
    ops = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
           "<": lambda a, b: a < b, "=": lambda a, b: a == b}
    return [r for r in rows if all(ops[op](date.fromisoformat(r["sensing_date"]), d) for op, d in tests)]


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_INTEGERS = {"id", "location_id", "hourday", "direction_1", "direction_2", "pedestriancount"}


def ordered(rows: list[dict[str, str]], q: dict[str, str]) -> list[dict[str, str]]:
    chosen = filter_rows(rows, q.get("where"))
    if q.get("order_by"):
        chosen = sorted(chosen, key=lambda r: (r["sensing_date"], int(r["hourday"]), int(r["location_id"])))
    return chosen


def sensor_rows(sensors_csv: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(sensors_csv.decode("utf-8-sig")), delimiter=";"))


def _typed(key: str, value: str, integers: set[str]) -> object:
    if value and key in integers:
        return int(value)
    if value and key == "sensing_date":
        return date.fromisoformat(value)
    return value or None


def export_parquet(rows: list[dict[str, str]], integers: set[str] = _INTEGERS) -> bytes:
    """Typed columns, as a Parquet export holds them: whole numbers as integers, dates as dates."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    keys = list(rows[0]) if rows else ODS_FIELDS
    table = pa.table({k: pa.array([_typed(k, r.get(k, ""), integers) for r in rows]) for k in keys})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def export_xlsx(rows: list[dict[str, str]], keys: list[str], labels: list[str],
                integers: set[str] = _INTEGERS) -> bytes:
    """The first sheet with label headers; numbers and dates as typed cells."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("pedestrian-counting-system")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, labels)
    for r, row in enumerate(rows, 1):
        for c, key in enumerate(keys):
            value = _typed(key, row.get(key, ""), integers)
            if isinstance(value, date):
                sheet.write_datetime(r, c, datetime.combine(value, datetime.min.time()), dates)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def export_csv(rows: list[dict[str, str]], q: dict[str, str]) -> bytes:
    chosen = ordered(rows, q)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=q.get("delimiter", ";"), lineterminator="\r\n")
    writer.writerow(ODS_LABELS if q.get("use_labels") == "true" else ODS_FIELDS)
    for r in chosen:
        writer.writerow([r[f] for f in ODS_FIELDS])
    return out.getvalue().encode()


def records(rows: list[dict[str, str]], q: dict[str, str]) -> bytes:
    limit, offset = int(q.get("limit", "10")), int(q.get("offset", "0"))
    if limit > 100:
        raise Refused(400, {"error_code": "InvalidRESTParameterError",
                            "message": f"Invalid value for limit API parameter: {limit} was found but -1 <= limit "
                                       "<= 100 is expected."})
    if offset + limit > 10000:
        raise Refused(400, {"error_code": "InvalidRESTParameterError",
                            "message": "Invalid value for offset API parameter: offset + limit should be lower than "
                                       "10000"})
    chosen = filter_rows(rows, q.get("where"))
    return json.dumps({"total_count": len(chosen), "results": chosen[offset: offset + limit]}).encode()


def check_token(portal: Portal, headers: Any) -> None:
    if portal.data.socrata_token and headers.get("X-App-Token") != portal.data.socrata_token:
        raise Refused(403, {"code": "authentication_required", "error": True,
                            "message": "You must provide a valid app token"})


def soda(portal: Portal, dataset: str, q: dict[str, str], headers: Any) -> bytes:
    check_token(portal, headers)
    rows = portal.data.soda.get(dataset)
    if rows is None:
        raise Refused(404, {"code": "dataset.missing", "error": True, "message": f"Not found: {dataset}"})
    if q.get("$select", "").replace(" ", "").lower() == "count(*)":
        return json.dumps([{"count": str(len(rows))}]).encode()
    ordered = sorted(rows, key=lambda r: int(r.get(":id", r.get("id", "0")))) if q.get("$order") == ":id" else rows
    limit, offset = int(q.get("$limit", "1000")), int(q.get("$offset", "0"))
    return json.dumps(ordered[offset: offset + limit]).encode()


def rows_csv(rows: list[dict[str, str]]) -> bytes:
    """Socrata's bulk CSV: the counts with the legacy capitalised header, any other dataset as its keys."""
    keys = list(rows[0]) if rows else []
    out = io.StringIO()
    writer = csv.writer(out)
    if "date_time" in keys:
        writer.writerow(["ID", "Date_Time", "Year", "Month", "Mdate", "Day", "Time", "Sensor_ID", "Sensor_Name",
                         "Hourly_Counts"])
        keys = ["id", "date_time", "year", "month", "mdate", "day", "time", "sensor_id", "sensor_name",
                "hourly_counts"]
    else:
        writer.writerow(keys)
    for r in rows:
        writer.writerow([r.get(k, "") for k in keys])
    return out.getvalue().encode()


def portal_data(files: dict[str, Path]) -> PortalData:
    """What the loopback portals serve, from the `files` fixture's generated files."""
    with files["live"].open() as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    soda_rows = json.loads(files["soda"].read_text())
    return PortalData(counts=rows, sensors_csv=files["sensors"].read_bytes(), archive_csv=files["archive"].read_bytes(),
                      soda={"b2ak-trbp": soda_rows, "h57g-5234": [
                          {"sensor_id": str(i), "sensor_description": f"Sensor {i}", "sensor_name": f"S{i}_T"}
                          for i in range(1, 4)]})
