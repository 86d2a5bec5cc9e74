"""The lake on S3, against a real S3 API (moto's server on loopback) through boto3 over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from support.cli import footfall

from footfall.errors import LakeError
from footfall.melbourne.run import pipeline, run
from footfall.s3 import POINTER, S3Lake, working_copy

SODA = "socrata_counts_soda_2019-11_5000.json"
ODS = "ods_counts_export_labels_2025-10_5000.csv"
SENSORS = "ods_sensor_locations_export_2026-06.csv"



def pointer(s3: SimpleNamespace) -> dict:
    return json.loads(s3.client.get_object(Bucket=s3.bucket, Key=f"melbourne/{POINTER}")["Body"].read())


def remote_bytes(s3: SimpleNamespace, rel: str) -> bytes:
    """A published file read the way any S3 client would: through the pointer, with boto3 alone."""
    key = pointer(s3)["files"][rel]["key"]
    return s3.client.get_object(Bucket=s3.bucket, Key=f"melbourne/{key}")["Body"].read()


def keys(s3: SimpleNamespace) -> set[str]:
    pages = s3.client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


ANSWERS = ("curated/top10_by_day.csv", "curated/top10_by_month.csv", "curated/daily_counts.csv",
           "curated/monthly_counts.csv", "curated/coverage.csv", "curated/quarantine_summary.csv")


@pytest.mark.slow
def test_run_on_s3_publishes_the_same_answers_as_a_local_lake(real: Path, s3: SimpleNamespace,
                                                                tmp_path: Path) -> None:
    local = tmp_path / "local"
    done = footfall("run", "--lake", str(local), "--counts", str(real / SODA), "--counts", str(real / ODS),
                    "--sensors", str(real / SENSORS))
    assert done.returncode == 0, done.stderr
    # Two machines, each with its own working copy, one file each: the second continues from what the first pushed.
    first = footfall("run", "--lake", s3.uri, "--counts", str(real / SODA), "--sensors", str(real / SENSORS),
                     env={"FOOTFALL_CACHE": str(tmp_path / "machine-1")})
    assert first.returncode == 0, first.stderr
    second = footfall("run", "--lake", s3.uri, "--counts", str(real / ODS),
                      env={"FOOTFALL_CACHE": str(tmp_path / "machine-2")})
    assert second.returncode == 0, second.stderr
    assert "pulled" in second.stderr and "pushed" in second.stderr
    for rel in ANSWERS:
        assert remote_bytes(s3, rel) == (local / rel).read_bytes(), rel
    top = footfall("top", "--lake", s3.uri, "--by", "month", "--format", "csv",
                   env={"FOOTFALL_CACHE": str(tmp_path / "reader")})
    assert top.returncode == 0, top.stderr
    assert top.stdout == footfall("top", "--lake", str(local), "--by", "month", "--format", "csv").stdout
    # The zones as on disk: landed files at their landing path, hourly counts hive-partitioned under transformed/.
    published = pointer(s3)["files"]
    assert any(rel.startswith("landing/counts/") and rel.endswith(".manifest.json") for rel in published)
    assert any(rel.startswith("transformed/raw_counts/") for rel in published)
    hourly = [m["key"] for rel, m in published.items() if rel.startswith("transformed/hourly_counts/")]
    assert hourly and all("/year=" in k and "/month=" in k for k in hourly)


@pytest.mark.slow
def test_unchanged_partitions_keep_their_objects_and_a_rerun_uploads_nothing(real: Path, s3: SimpleNamespace) -> None:
    spec = pipeline().spec
    with working_copy(s3.uri, spec, write=True) as remote:
        run(remote.work, [str(real / SODA)], [str(real / SENSORS)])
    before = pointer(s3)
    with working_copy(s3.uri, spec, write=True) as remote:
        run(remote.work, [str(real / ODS)])
    after = pointer(s3)
    old_months = {rel: m for rel, m in before["files"].items() if rel.startswith("transformed/hourly_counts/")}
    assert old_months and all(after["files"][rel]["key"] == m["key"] for rel, m in old_months.items())
    assert len([r for r in after["files"] if r.startswith("transformed/hourly_counts/")]) > len(old_months)
    listing = keys(s3)
    with working_copy(s3.uri, spec, write=True) as remote:
        run(remote.work, [str(real / ODS)])
    assert remote.pushed is not None and remote.pushed.files == 0
    assert pointer(s3) == after and keys(s3) == listing


@pytest.mark.slow
def test_a_push_that_fails_midway_leaves_the_previous_outputs_readable(real: Path, s3: SimpleNamespace,
                                                                       tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    spec = pipeline().spec
    with working_copy(s3.uri, spec, write=True) as remote:
        run(remote.work, [str(real / SODA)], [str(real / SENSORS)])
    before = pointer(s3)
    old_answer = remote_bytes(s3, "curated/top10_by_month.csv")

    upload, calls = S3Lake._upload, []

    def failing_upload(self: S3Lake, path: Path, key: str, rel: str, md5: str, progress=None) -> None:
        calls.append(rel)
        if len(calls) == 6:
            raise ConnectionError("network gone")
        upload(self, path, key, rel, md5, progress)

    monkeypatch.setattr(S3Lake, "_upload", failing_upload)
    with pytest.raises(ConnectionError), working_copy(s3.uri, spec, write=True) as remote:
        run(remote.work, [str(real / ODS)])
    monkeypatch.setattr(S3Lake, "_upload", upload)
    assert len(calls) >= 6
    assert pointer(s3) == before
    listing = keys(s3)
    for meta in before["files"].values():
        assert f"melbourne/{meta['key']}" in listing
    assert remote_bytes(s3, "curated/top10_by_month.csv") == old_answer
    reader = footfall("top", "--lake", s3.uri, "--by", "month", "--format", "csv",
                      env={"FOOTFALL_CACHE": str(tmp_path / "reader")})
    assert reader.returncode == 0 and "2019-11" in reader.stdout and "2025-10" not in reader.stdout

    # The same working copy is verified against S3 on the next pull, and the next run publishes in full;
    # the failed run's partial uploads are collected, and objects footfall did not write are left alone.
    foreign = {"melbourne/landing/README.txt", "melbourne/curated/top10_by_day.csv/notes.txt",
               "melbourne/transformed/other/data.parquet"}
    for key in foreign:
        s3.client.put_object(Bucket=s3.bucket, Key=key, Body=b"not footfall's")
    with working_copy(s3.uri, spec, write=True) as remote:
        run(remote.work, [str(real / ODS)])
    assert "2025-10" in remote_bytes(s3, "curated/top10_by_month.csv").decode()
    named = {f"melbourne/{m['key']}" for p in (before, pointer(s3)) for m in p["files"].values()}
    assert keys(s3) == named | {f"melbourne/{POINTER}"} | foreign


@pytest.mark.slow
def test_a_failed_run_pushes_nothing(real: Path, s3: SimpleNamespace, tmp_path: Path) -> None:
    bad = tmp_path / "not-counts.csv"
    bad.write_text("this,is\nnot,pedestrian counts\n")
    done = footfall("run", "--lake", s3.uri, "--counts", str(bad))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert keys(s3) == set()


def test_a_missing_bucket_is_one_line(s3: SimpleNamespace) -> None:
    done = footfall("top", "--lake", f"s3://{s3.bucket}-missing/melbourne")
    assert done.returncode == 1
    assert done.stderr.strip() == (f"error: s3://{s3.bucket}-missing/melbourne: the bucket does not exist "
                                   "(create it first, or check the name)")


def test_a_bad_lake_uri_is_refused() -> None:
    with pytest.raises(LakeError, match="not an S3 lake location"):
        S3Lake.open("s3://Bad_Bucket/x", ())


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
def test_denied_credentials_are_one_line_and_never_echo_the_secret(strict_s3: SimpleNamespace, who: str,
                                                                   tmp_path: Path) -> None:
    key_id, secret = ("AKIANOTAREALKEY12345", "wrong-secret-0123456789") if who == "unknown key" \
        else (strict_s3.key_id, strict_s3.secret)
    env = {"AWS_ENDPOINT_URL": strict_s3.endpoint, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_DEFAULT_REGION": "us-east-1", "FOOTFALL_CACHE": str(tmp_path)}
    done = footfall("top", "--lake", "s3://guarded/melbourne", env=env)
    assert done.returncode == 1
    line = done.stderr.strip()
    assert line.startswith("error: s3://guarded/melbourne: access denied (")
    assert line.endswith("check the AWS credentials and their permissions")
    assert "\n" not in line and secret not in done.stderr + done.stdout


@pytest.mark.slow
def test_the_working_copy_drops_outputs_the_pointer_does_not_name(real: Path, s3: SimpleNamespace) -> None:
    spec = pipeline().spec
    with working_copy(s3.uri, spec, write=True) as remote:
        run(remote.work, [str(real / SODA)], [str(real / SENSORS)])
    stray = remote.work.path("curated", "top10_by_day.csv")
    stray.write_text("not what S3 holds\n")
    (remote.work.root / ".s3-state.json").unlink()
    with working_copy(s3.uri, spec, write=False) as reader:
        assert reader.work == remote.work
        assert stray.read_bytes() == remote_bytes(s3, "curated/top10_by_day.csv")
    shutil.rmtree(remote.work.root)


@pytest.mark.slow
def test_two_writers_at_once_one_publishes_and_the_other_is_told(real: Path, s3: SimpleNamespace,
                                                                  tmp_path: Path) -> None:
    spec = pipeline().spec
    with pytest.raises(LakeError, match="another run published to this lake while this one ran"), \
            working_copy(s3.uri, spec, write=True, work_dir=tmp_path / "a") as slow:
        run(slow.work, [str(real / SODA)], [str(real / SENSORS)])
        with working_copy(s3.uri, spec, write=True, work_dir=tmp_path / "b") as fast:
            run(fast.work, [str(real / ODS)], [str(real / SENSORS)])
    winner = pointer(s3)
    assert "2025-10" in remote_bytes(s3, "curated/top10_by_month.csv").decode()
    # The loser's landed file is still in its working copy: its next run publishes it on top of the winner's.
    with working_copy(s3.uri, spec, write=True, work_dir=tmp_path / "a") as again:
        run(again.work)
    assert pointer(s3)["run_id"] != winner["run_id"]
    answer = remote_bytes(s3, "curated/top10_by_month.csv").decode()
    assert "2019-11" in answer and "2025-10" in answer


@pytest.mark.slow
def test_the_pointer_is_switched_only_if_nobody_else_switched_it(real: Path, s3: SimpleNamespace) -> None:
    spec = pipeline().spec
    with working_copy(s3.uri, spec, write=True) as remote:
        run(remote.work, [str(real / SODA)], [str(real / SENSORS)])
    current = pointer(s3)
    with pytest.raises(LakeError, match="another run published"):
        remote._switch({**current, "run_id": "late"}, etag='"0123456789abcdef0123456789abcdef"')
    with pytest.raises(LakeError, match="another run published"):
        remote._switch({**current, "run_id": "late"}, etag=None)
    assert pointer(s3) == current


@pytest.mark.slow
def test_a_reader_downloads_only_what_it_reads(real: Path, s3: SimpleNamespace, tmp_path: Path) -> None:
    spec = pipeline().spec
    with working_copy(s3.uri, spec, write=True) as remote:
        run(remote.work, [str(real / SODA)], [str(real / SENSORS)])
    reads = ("curated/top10_by_day.parquet", "curated/top10_by_month.parquet")
    with working_copy(s3.uri, spec, write=False, work_dir=tmp_path / "reader", reads=reads) as reader:
        assert reader.pulled.files == 2
        assert sorted(reader.local_files()) == sorted(reads)


@pytest.mark.slow
def test_a_retired_input_is_deleted_one_push_later(real: Path, s3: SimpleNamespace) -> None:
    """An input dropped from the lake (a file moved aside) stays one more generation, then goes."""
    spec = pipeline().spec
    with working_copy(s3.uri, spec, write=True) as remote:
        run(remote.work, [str(real / SODA)], [str(real / SENSORS)])
    manifest = next(rel for rel in pointer(s3)["files"] if rel.startswith("landing/sensors/")
                    and rel.endswith(".manifest.json"))
    with working_copy(s3.uri, spec, write=True) as remote:
        (remote.work.root / manifest).rename(remote.work.root / "kept-aside.json")
    assert manifest not in pointer(s3)["files"] and pointer(s3)["retired"] == [manifest]
    assert f"melbourne/{manifest}" in keys(s3)
    with working_copy(s3.uri, spec, write=True) as remote:
        run(remote.work, [str(real / ODS)])
    assert f"melbourne/{manifest}" not in keys(s3)


@pytest.mark.slow
def test_a_tampered_pointer_cannot_make_a_pull_write_outside_the_lake(real: Path, s3: SimpleNamespace,
                                                                      tmp_path: Path) -> None:
    spec = pipeline().spec
    with working_copy(s3.uri, spec, write=True) as remote:
        run(remote.work, [str(real / SODA)], [str(real / SENSORS)])
    bad = pointer(s3)
    meta = bad["files"]["curated/top10_by_day.csv"]
    bad["files"]["transformed/hourly_counts/../../../../escaped.csv"] = meta
    s3.client.put_object(Bucket=s3.bucket, Key=f"melbourne/{POINTER}", Body=json.dumps(bad).encode())
    done = footfall("top", "--lake", s3.uri, env={"FOOTFALL_CACHE": str(tmp_path / "reader")})
    assert done.returncode == 1
    assert done.stderr.strip() == (f"error: {s3.uri}/{POINTER}: the lake's pointer names a path outside the lake: "
                                   "'transformed/hourly_counts/../../../../escaped.csv'")
    assert not list(tmp_path.rglob("escaped.csv"))
