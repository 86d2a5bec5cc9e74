from __future__ import annotations

from pathlib import Path

import pytest
from support.portal import Portal

from footfall.doctor import examine
from footfall.melbourne.portal import COUNTS_DATASET
from footfall.settings import Settings


def test_doctor_finds_a_healthy_machine(tmp_path: Path, portal: Portal) -> None:
    settings = Settings.resolve(lake=str(tmp_path / "lake"))
    findings = {f.name: f for f in examine(settings, portal.url, COUNTS_DATASET)}
    assert findings["Python"].ok and findings["duckdb"].ok and findings["Lake"].ok
    assert findings["Portal"].ok and findings["Portal"].detail == f"{portal.url} answers"


def test_doctor_says_what_is_missing_in_plain_words(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    settings = Settings.resolve(lake=str(blocker / "lake"))
    findings = {f.name: f for f in examine(settings, "http://127.0.0.1:9", COUNTS_DATASET)}
    assert not findings["Lake"].ok and findings["Lake"].required
    assert findings["Lake"].detail == f"{blocker / 'lake'}: cannot be a lake: {blocker} is a file, not a folder"
    assert not findings["Portal"].ok and not findings["Portal"].required
    assert "cannot be reached" in findings["Portal"].detail


def test_an_s3_lake_is_probed_with_the_credentials_at_hand(s3) -> None:
    settings = Settings.resolve(lake=s3.uri)
    found = {f.name: f for f in examine(settings, "http://127.0.0.1:9", COUNTS_DATASET)}["Lake"]
    assert found.ok and found.detail == f"{s3.uri} is reachable, nothing published yet"
    settings = Settings.resolve(lake=f"s3://{s3.bucket}-gone/x")
    missing = {f.name: f for f in examine(settings, "http://127.0.0.1:9", COUNTS_DATASET)}["Lake"]
    assert not missing.ok and "the bucket does not exist" in missing.detail


def test_doctor_says_whether_the_s3a_jars_are_there_and_where_it_looks(tmp_path: Path, portal: Portal,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from footfall.engines.spark_jars import JARS

    folder = tmp_path / "jars"
    monkeypatch.setenv("FOOTFALL_SPARK_JARS", str(folder))
    settings = Settings.resolve(lake=str(tmp_path / "lake"))
    missing = {f.name: f for f in examine(settings, portal.url, COUNTS_DATASET)}["S3A jars"]
    assert not missing.ok and not missing.required
    assert missing.detail.startswith(f"missing from {folder}: hadoop-aws-3.3.1.jar, aws-java-sdk-bundle-1.11.901.jar")
    folder.mkdir()
    for name in JARS:
        (folder / name).write_bytes(b"PK")
    settings = Settings.resolve(lake=str(tmp_path / "lake"))
    found = {f.name: f for f in examine(settings, portal.url, COUNTS_DATASET)}["S3A jars"]
    assert found.ok and found.detail == f"in {folder} (Spark on an s3:// lake)"
