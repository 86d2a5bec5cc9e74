"""Ingestion against a real HTTP server on loopback replaying the portals' formats, limits and faults."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from support.cli import answers, footfall
from support.portal import ARCHIVE_ID, COUNTS, FAST, Portal

from footfall.lake.local import LocalLake
from footfall.melbourne.ingest import ingest_melbourne, ingest_socrata
from footfall.sources import opendatasoft, socrata
from footfall.sources.http import FetchError, client, download, get_json

SENTINEL = "sentinel-token-7f3a9c"
REAL_SHA256, REAL_NEW = hashlib.sha256, hashlib.new



@pytest.mark.slow
def test_a_portal_run_gives_the_answers_of_a_run_on_the_same_files(portal: Portal, files: dict[str, Path],
                                                                   tmp_path: Path) -> None:
    fetched = footfall("run", "--lake", str(tmp_path / "portal"), env={"FOOTFALL_PORTAL_URL": portal.url})
    assert fetched.returncode == 0, fetched.stderr
    local = footfall("run", "--counts", str(files["archive"]), "--counts", str(files["live"]), "--sensors",
                     str(files["sensors"]), "--lake", str(tmp_path / "files"))
    assert local.returncode == 0, local.stderr
    assert answers(tmp_path / "portal") == answers(tmp_path / "files")
    exports = [r for r in portal.requests if r["path"].endswith(f"{COUNTS}/exports/csv")]
    assert exports and "where" not in exports[0]["query"], "a first run asks for everything"


@pytest.mark.slow
def test_a_second_run_fetches_only_the_overlap_window_and_changes_nothing(portal: Portal, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    env = {"FOOTFALL_PORTAL_URL": portal.url}
    assert footfall("run", "--lake", str(lake), env=env).returncode == 0
    first = answers(lake)
    portal.requests.clear()
    again = footfall("run", "--lake", str(lake), env=env)
    assert again.returncode == 0, again.stderr
    export = next(r for r in portal.requests if r["path"].endswith(f"{COUNTS}/exports/csv"))
    since = date(2024, 3, 31) - timedelta(days=7)
    assert export["query"]["where"] == f"sensing_date >= date'{since.isoformat()}'"
    archive = next(r for r in portal.requests if r["path"].endswith(f"{ARCHIVE_ID}/"))
    assert archive["headers"].get("If-None-Match"), "the archive is asked for only if changed"
    assert "unchanged archive: not modified since the last fetch" in again.stderr
    publications = "resolution_summary.csv"  # counts publications: the overlap window is one more
    assert {k: v for k, v in answers(lake).items() if k != publications} == {
        k: v for k, v in first.items() if k != publications}


@pytest.mark.slow
def test_the_portal_default_is_overridable_and_unreachable_portal_is_one_line(tmp_path: Path) -> None:
    done = footfall("run", "--lake", str(tmp_path / "lake"), "--portal", "http://127.0.0.1:9",
                    env={"FOOTFALL_PORTAL_URL": ""})
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: http://127.0.0.1:9/api/explore/v2.1/catalog/datasets/")
    assert "ConnectError" in last and "Traceback" not in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["429", "429-ods", "500", "503", "cut", "stall"])
def test_transient_faults_recover_to_the_complete_archive(portal: Portal, tmp_path: Path, fault: str) -> None:
    portal.fail(f"/api/datasets/1.0/{COUNTS}/attachments", fault, times=2)
    with client(FAST) as http:
        fetched = download(http, portal.url + portal.archive_path(), tmp_path / "archive.zip", expect="zip",
                           policy=FAST)
    assert fetched is not None
    assert (tmp_path / "archive.zip").read_bytes() == portal._archive_zip
    assert list(tmp_path.iterdir()) == [tmp_path / "archive.zip"]


def test_a_cut_body_is_resumed_with_range(portal: Portal, tmp_path: Path) -> None:
    portal.fail(portal.archive_path(), "cut")
    with client(FAST) as http:
        download(http, portal.url + portal.archive_path(), tmp_path / "a.zip", expect="zip", policy=FAST)
    ranged = [r for r in portal.requests if r["path"] == portal.archive_path() and "Range" in r["headers"]]
    assert ranged and ranged[0]["headers"]["Range"].startswith("bytes=")
    assert int(ranged[0]["headers"]["Range"][6:-1]) > 0
    assert (tmp_path / "a.zip").read_bytes() == portal._archive_zip


def test_a_resumed_download_is_hashed_over_all_its_bytes(portal: Portal, tmp_path: Path) -> None:
    portal.fail(portal.archive_path(), "cut")
    with client(FAST) as http:
        fetched = download(http, portal.url + portal.archive_path(), tmp_path / "a.zip", expect="zip", policy=FAST)
    assert any("Range" in r["headers"] for r in portal.requests)
    assert fetched and (fetched.sha256, fetched.bytes) == (hashlib.sha256(portal._archive_zip).hexdigest(),
                                                           len(portal._archive_zip))


class CountingHash:
    """A SHA-256 that adds the bytes it is given to ``total``."""

    def __init__(self, total: list[int]) -> None:
        self.real, self.total = REAL_SHA256(), total

    def update(self, data: bytes) -> None:
        self.total[0] += memoryview(data).nbytes
        self.real.update(data)

    def hexdigest(self) -> str:
        return self.real.hexdigest()


def test_each_download_is_hashed_once_and_its_manifest_holds_the_stored_bytes_hash(
        portal: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed = [0]
    monkeypatch.setattr(hashlib, "sha256", lambda: CountingHash(hashed))
    monkeypatch.setattr(hashlib, "new", lambda name: CountingHash(hashed) if name == "sha256" else REAL_NEW(name))
    lake = LocalLake.at(tmp_path / "lake")
    result = ingest_melbourne(lake, portal.url, archive=False, policy=FAST)
    monkeypatch.undo()
    assert len(result.landed) == 2
    stored = [lake.path("landing", landed.kind, landed.name) for landed in result.landed]
    assert hashed[0] == sum(p.stat().st_size for p in stored)
    for landed, path in zip(result.landed, stored, strict=True):
        assert landed.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("fault", "message"), [
    ("truncated-zip", "the archive is not a complete zip"),
    ("html", "answered an HTML page where ZIP was expected"),
])
def test_broken_bodies_fail_clearly_and_leave_no_partial_files(portal: Portal, tmp_path: Path, fault: str,
                                                               message: str) -> None:
    portal.fail(portal.archive_path(), fault, times=10)
    lake = LocalLake.at(tmp_path / "lake")
    with pytest.raises(FetchError, match=message):
        ingest_melbourne(lake, portal.url, policy=FAST)
    leftovers = [p for p in (tmp_path / "lake" / "landing").rglob("*") if p.is_file() and "sensors" not in p.parts]
    assert leftovers == []


def test_persistent_server_errors_give_up_with_a_clear_message(portal: Portal, tmp_path: Path) -> None:
    portal.fail(f"/api/explore/v2.1/catalog/datasets/{COUNTS}/exports", "503", times=100)
    with client(FAST) as http, pytest.raises(FetchError, match=r"HTTP 503 after 4 attempts"):
        opendatasoft.fetch_counts(http, portal.url, COUNTS, tmp_path, policy=FAST)
    assert list(tmp_path.iterdir()) == []


def test_a_4xx_is_not_retried_and_carries_the_portal_message(portal: Portal) -> None:
    url = f"{portal.url}/api/explore/v2.1/catalog/datasets/{COUNTS}/records"
    with client(FAST) as http:
        with pytest.raises(FetchError, match=r"HTTP 400: InvalidRESTParameterError: Invalid value for limit"):
            get_json(http, url, {"limit": "1000"}, policy=FAST)
        with pytest.raises(FetchError, match=r"offset \+ limit should be lower than 10000"):
            get_json(http, url, {"limit": "100", "offset": "9950"}, policy=FAST)
        with pytest.raises(FetchError, match=r"ODSQLError: ODSQL query is malformed"):
            get_json(http, url, {"limit": "10", "where": "sensing_date ~ 3"}, policy=FAST)
    assert sum(1 for r in portal.requests if r["path"].endswith("/records")) == 3


def test_the_records_endpoint_pages_within_its_limits(portal: Portal) -> None:
    url = f"{portal.url}/api/explore/v2.1/catalog/datasets/{COUNTS}/records"
    with client(FAST) as http:
        page = get_json(http, url, {"limit": "100", "offset": "0", "where": "sensing_date = date'2024-01-01'"},
                        policy=FAST)
    assert page["total_count"] == sum(1 for r in portal.data.counts if r["sensing_date"] == "2024-01-01")
    assert len(page["results"]) == min(100, page["total_count"])


def test_export_where_bounds_are_exact(portal: Portal, tmp_path: Path) -> None:
    with client(FAST) as http:
        fetched = opendatasoft.fetch_counts(http, portal.url, COUNTS, tmp_path, since=date(2024, 2, 1),
                                            until=date(2024, 2, 29), policy=FAST)
    with fetched.path.open() as handle:
        days = {r["sensing_date"] for r in csv.DictReader(handle, delimiter=";")}
    assert min(days) == "2024-02-01" and max(days) == "2024-02-29"


@pytest.mark.slow
def test_concurrent_soda_paging_returns_exactly_the_sequential_rows(portal: Portal, tmp_path: Path) -> None:
    import json

    with client(FAST) as http:
        one = socrata.fetch_soda_json(http, portal.url, "b2ak-trbp", tmp_path / "one", workers=1, page_size=7,
                                      policy=FAST) if (tmp_path / "one").mkdir() is None else None
        four = socrata.fetch_soda_json(http, portal.url, "b2ak-trbp", tmp_path / "four", workers=4, page_size=7,
                                       policy=FAST) if (tmp_path / "four").mkdir() is None else None
    assert one and four
    sequential, concurrent = json.loads(one.path.read_text()), json.loads(four.path.read_text())
    assert concurrent == sequential
    assert len(sequential) == len(portal.data.soda["b2ak-trbp"])
    assert len({r["id"] for r in sequential}) == len(sequential)
    assert one.sha256 == four.sha256


def test_the_app_token_is_sent_but_never_logged_stored_or_shown(portal: Portal, tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    portal.data.socrata_token = SENTINEL
    caplog.set_level(logging.DEBUG)
    lake = LocalLake.at(tmp_path / "lake")
    result = ingest_socrata(lake, portal.url, "b2ak-trbp", "h57g-5234", workers=2, page_size=10, app_token=SENTINEL,
                            policy=FAST)
    assert len(result.landed) == 2
    assert all(r["headers"].get("X-App-Token") == SENTINEL for r in portal.requests if "/resource/" in r["path"])
    for path in (tmp_path / "lake").rglob("*"):
        if path.is_file():
            assert SENTINEL.encode() not in path.read_bytes(), path
    assert SENTINEL not in caplog.text
    with pytest.raises(FetchError) as refused:
        ingest_socrata(lake, portal.url, "b2ak-trbp", None, app_token="wrong-" + SENTINEL, policy=FAST)
    assert "You must provide a valid app token" in str(refused.value)
    assert SENTINEL not in str(refused.value)
    done = footfall("ingest", "--source", "socrata", "--socrata-url", portal.url, "--lake", str(tmp_path / "cli"),
                    env={"SOCRATA_APP_TOKEN": SENTINEL})
    assert done.returncode == 0, done.stderr
    assert SENTINEL not in done.stderr + done.stdout


@pytest.mark.slow
def test_socrata_soda_and_bulk_csv_land_the_same_rows(portal: Portal, tmp_path: Path) -> None:
    soda = footfall("run", "--source", "socrata", "--socrata-url", portal.url, "--lake", str(tmp_path / "soda"))
    bulk = footfall("run", "--source", "socrata", "--socrata-url", portal.url, "--bulk-csv", "--lake",
                    str(tmp_path / "bulk"))
    assert soda.returncode == 0 and bulk.returncode == 0, soda.stderr + bulk.stderr
    assert answers(tmp_path / "soda")["top10_by_day.csv"] == answers(tmp_path / "bulk")["top10_by_day.csv"]


@pytest.mark.slow
def test_a_url_given_to_counts_is_downloaded_and_recognised(portal: Portal, tmp_path: Path) -> None:
    url = f"{portal.url}/api/explore/v2.1/catalog/datasets/{COUNTS}/exports/csv?delimiter=%3B&use_labels=true"
    done = footfall("run", "--counts", url, "--lake", str(tmp_path / "lake"))
    assert done.returncode == 0, done.stderr
    assert "ods_counts_labels" in done.stderr, done.stderr


@pytest.mark.spark
def test_the_glue_entry_points_run_with_arguments_as_glue_passes_them(portal: Portal, s3: SimpleNamespace) -> None:
    from footfall.engines.spark_jars import missing_jars
    from footfall.settings import Settings

    if shutil.which("java") is None:
        pytest.skip("the transform job runs on Spark, which needs Java")
    folder = Settings.resolve().jars_folder
    if missing_jars(folder):
        pytest.skip(f"outside Glue the transform job reads S3 through the S3A jars, not in {folder}")
    root = Path(__file__).resolve().parents[2] / "glue"
    glue_args = ["--JOB_NAME", "footfall-dev-ingest", "--lake", s3.uri, "--portal", portal.url,
                 "--job-bookmark-option", "job-bookmark-disable", "--TempDir", "s3://bucket/_glue-temp/",
                 "--enable-continuous-cloudwatch-log", "true"]
    ingest = subprocess.run([sys.executable, str(root / "footfall_ingest.py"), *glue_args], capture_output=True,
                            text=True, timeout=300)
    assert ingest.returncode == 0, ingest.stderr
    assert "footfall-dev-ingest: 3 file(s) landed" in ingest.stdout
    transform = subprocess.run([sys.executable, str(root / "footfall_transform.py"), *glue_args, "--pipeline",
                                "melbourne", "--database", "pedestrian_counting_system"], capture_output=True,
                               text=True, timeout=600)
    assert transform.returncode == 0, transform.stderr
    assert "output(s) published on spark" in transform.stdout
    registered = s3.glue.get_tables(DatabaseName="pedestrian_counting_system")["TableList"]
    assert f"catalog pedestrian_counting_system: {len(registered)} created, 0 updated, 0 unchanged" in transform.stdout
    assert {"top10_by_day", "sensor_health", "hourly_counts_located"} <= {t["Name"] for t in registered}
    published = json.loads(s3.client.get_object(Bucket=s3.bucket, Key="melbourne/_current.json")["Body"].read())
    assert "curated/top10_by_day.csv" in published["files"]
    table = s3.glue.get_table(DatabaseName="pedestrian_counting_system", Name="top10_by_day")["Table"]
    assert table["StorageDescriptor"]["Location"].startswith(f"{s3.uri}/curated/top10_by_day.parquet/")


@pytest.mark.slow
@pytest.mark.parametrize("export", ["parquet", "xlsx"])
def test_the_portal_parquet_or_xlsx_export_gives_the_answers_of_the_csv_export(portal: Portal, tmp_path: Path,
                                                                              export: str) -> None:
    env = {"FOOTFALL_PORTAL_URL": portal.url}
    assert footfall("run", "--lake", str(tmp_path / "csv"), env=env).returncode == 0
    done = footfall("run", "--format", export, "--lake", str(tmp_path / export), env=env)
    assert done.returncode == 0, done.stderr
    exports = {r["path"].rsplit("/", 1)[-1] for r in portal.requests if "/exports/" in r["path"]}
    assert exports == {"csv", export}
    same = {name for name in answers(tmp_path / "csv") if not name.endswith("_summary.csv")}
    assert {n: answers(tmp_path / export)[n] for n in same} == {n: answers(tmp_path / "csv")[n] for n in same}
    again = footfall("ingest", "--format", export, "--lake", str(tmp_path / export), env=env)
    assert again.returncode == 0, again.stderr
    query = next(r["query"] for r in reversed(portal.requests) if r["path"].endswith(f"{COUNTS}/exports/{export}"))
    assert query["where"].startswith("sensing_date >= date'"), "the incremental window applies to every format"
    nothing = footfall("ingest", "--format", export, "--since", "2030-01-01", "--lake", str(tmp_path / export),
                       env=env)
    assert nothing.returncode == 0, nothing.stderr
    assert "unchanged live: no rows in" in nothing.stderr


def test_an_unknown_export_format_is_one_line(tmp_path: Path) -> None:
    done = footfall("ingest", "--format", "pdf", "--lake", str(tmp_path / "lake"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "error: --format 'pdf' is not an export format of the portal (one of: csv, parquet, xlsx)")
