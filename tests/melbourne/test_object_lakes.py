"""The Melbourne job on a lake in an object store (S3 on moto's server over HTTP, and a folder store) gives
byte for byte what a local lake gives, run after run; readers fetch only the objects of what they read; an
S3 user's mistakes are one line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import boto3
import httpx
import pytest
from support.cli import footfall

from footfall.lake.open import open_store
from footfall.lake.pointer import POINTER

SODA = "socrata_counts_soda_2019-11_5000.json"
ODS = "ods_counts_export_labels_2025-10_5000.csv"
SENSORS = "ods_sensor_locations_export_2026-06.csv"


def published(location: str) -> dict[str, bytes]:
    """The curated CSVs the pointer names, read through the store: what a local lake's answers are compared to."""
    store = open_store(location)
    got = store.get(POINTER)
    assert got is not None
    files = json.loads(got[0])["files"]
    found: dict[str, bytes] = {}
    for rel, meta in sorted(files.items()):
        if rel.startswith("curated/") and rel.endswith(".csv"):
            body = store.get(meta["key"])
            assert body is not None
            found[rel.removeprefix("curated/")] = body[0]
    return found


def local_answers(lake: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((lake / "curated").glob("*.csv"))}


@pytest.fixture(params=["s3", "folder"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "s3":
        return str(request.getfixturevalue("s3").uri)
    return f"file://{tmp_path / 'store'}"


@pytest.mark.slow
def test_a_run_on_an_object_lake_publishes_what_a_local_lake_gives_run_after_run(real: Path, location: str,
                                                                                tmp_path: Path) -> None:
    local = tmp_path / "local"
    for counts in ([SODA], [ODS]):
        for lake in (str(local), location):
            args = [arg for c in counts for arg in ("--counts", str(real / c))]
            done = footfall("run", "--lake", lake, *args, "--sensors", str(real / SENSORS))
            assert done.returncode == 0, done.stderr
        assert published(location) == local_answers(local)
    top = footfall("top", "--lake", location, "--by", "month", "--format", "csv")
    assert top.returncode == 0, top.stderr
    assert top.stdout == footfall("top", "--lake", str(local), "--by", "month", "--format", "csv").stdout
    again = footfall("run", "--lake", location, "--counts", str(real / ODS))
    assert again.returncode == 0 and "nothing new" in again.stderr, again.stderr


@pytest.mark.slow
def test_top_on_s3_gets_only_the_objects_of_the_table_it_reads(real: Path, s3: SimpleNamespace) -> None:
    done = footfall("run", "--lake", s3.uri, "--counts", str(real / SODA), "--sensors", str(real / SENSORS))
    assert done.returncode == 0, done.stderr
    pointer = json.loads(s3.client.get_object(Bucket=s3.bucket, Key=f"melbourne/{POINTER}")["Body"].read())
    wanted = {f"/{s3.bucket}/melbourne/{pointer['files'][rel]['key']}"
              for rel in ("curated/top10_by_month.parquet", "curated/top10_by_month_flags.parquet")}
    httpx.post(f"{s3.endpoint}/moto-api/recorder/reset-recording").raise_for_status()
    httpx.post(f"{s3.endpoint}/moto-api/recorder/start-recording").raise_for_status()
    try:
        top = footfall("top", "--lake", s3.uri, "--by", "month", "--format", "csv")
    finally:
        httpx.post(f"{s3.endpoint}/moto-api/recorder/stop-recording").raise_for_status()
    assert top.returncode == 0, top.stderr
    recording = httpx.get(f"{s3.endpoint}/moto-api/recorder/download-recording").text
    gets = [httpx.URL(e["url"]).path for e in map(json.loads, recording.splitlines()) if e["method"] == "GET"]
    objects = {path for path in gets if not path.endswith(f"/{POINTER}") and "?" not in path}
    assert objects == wanted, sorted(objects)
    assert f"/{s3.bucket}/melbourne/{POINTER}" in gets


@pytest.mark.slow
def test_a_failed_run_on_s3_publishes_nothing(s3: SimpleNamespace, tmp_path: Path) -> None:
    bad = tmp_path / "not-counts.csv"
    bad.write_text("this,is\nnot,pedestrian counts\n")
    done = footfall("run", "--lake", s3.uri, "--counts", str(bad))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert s3.client.list_objects_v2(Bucket=s3.bucket).get("KeyCount") == 0


def test_a_missing_bucket_is_one_line(s3: SimpleNamespace) -> None:
    done = footfall("top", "--lake", f"s3://{s3.bucket}-missing/melbourne")
    assert done.returncode == 1
    assert done.stderr.strip() == (f"error: s3://{s3.bucket}-missing/melbourne: the bucket does not exist "
                                   "(create it first, or check the name)")


def test_a_bad_lake_location_is_one_line() -> None:
    for location, message in (("s3://Bad_Bucket/x", "s3://Bad_Bucket/x: not an S3 lake location"),
                              ("ftp://host/x", "ftp://host/x: unsupported lake location (a folder, or s3://, "
                                               "file://)")):
        done = footfall("top", "--lake", location)
        assert done.returncode == 1 and done.stderr.strip().startswith(f"error: {message}"), done.stderr


@pytest.fixture(scope="module")
def strict_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """An S3 API that checks credentials and IAM policies: after the first four requests (set-up),
    every request must be signed by a known user and allowed by its policy."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path_factory.mktemp("moto") / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "4"}, stdout=log, stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        admin = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "setup",
                 "aws_secret_access_key": "setup"}
        boto3.client("s3", **admin).create_bucket(Bucket="guarded")
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="reader")
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        iam.put_user_policy(UserName="reader", PolicyName="deny-s3", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}))
        yield SimpleNamespace(endpoint=endpoint, key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.mark.parametrize("who", ["unknown key", "denied by policy"])
def test_denied_credentials_are_one_line_and_never_echo_the_secret(strict_s3: SimpleNamespace, who: str) -> None:
    key_id, secret = ("AKIANOTAREALKEY12345", "wrong-secret-0123456789") if who == "unknown key" \
        else (strict_s3.key_id, strict_s3.secret)
    env = {"AWS_ENDPOINT_URL": strict_s3.endpoint, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_DEFAULT_REGION": "us-east-1"}
    done = footfall("top", "--lake", "s3://guarded/melbourne", env=env)
    assert done.returncode == 1
    line = done.stderr.strip()
    assert line.startswith("error: s3://guarded/melbourne: access denied (")
    assert line.endswith("check the AWS credentials and their permissions")
    assert "\n" not in line and secret not in done.stderr + done.stdout
