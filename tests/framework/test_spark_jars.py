"""``footfall spark-jars``: the S3A connector's jars out of the hash-pinned sagemaker-pyspark sdist, into the
folder Spark looks in (``$FOOTFALL_SPARK_JARS``, else the user's data folder), reported by ``footfall doctor``.

These build a small sdist of the same layout, offline; tests/project/test_wheel.py fetches the real one from
PyPI with an installed footfall.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest
from support.cli import footfall

from footfall.engines.spark_jars import JARS, SDIST_JARS, SDIST_SHA256, extract
from footfall.errors import FootfallError
from footfall.settings import Settings


def sdist(path: Path, members: dict[str, bytes]) -> Path:
    """A .tar.gz holding ``members`` (names relative to the sdist's jar folder), plus a file beside them."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in {"sagemaker_pyspark-1.4.5/setup.py": b"# not a jar\n",
                           **{f"{SDIST_JARS}/{jar}": data for jar, data in members.items()}}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_jars_come_out_of_an_sdist_whose_hash_is_the_pinned_one(tmp_path: Path) -> None:
    contents = {name: os.urandom(3000) + name.encode() for name in JARS}
    archive = sdist(tmp_path / "s.tar.gz", contents)
    folder = tmp_path / "deep" / "jars"
    assert extract(archive, folder, sha256(archive)) == [folder / name for name in JARS]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == contents


def test_an_sdist_that_is_not_the_published_one_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    archive = sdist(tmp_path / "sagemaker_pyspark-1.4.5.tar.gz", {name: b"PK" for name in JARS})
    folder = tmp_path / "jars"
    done = footfall("spark-jars", str(folder), "--sdist", str(archive))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"error: {archive} is not sagemaker_pyspark-1.4.5.tar.gz as published "
                                        f"(sha256 {sha256(archive)}, expected {SDIST_SHA256})"]
    assert not folder.exists()


def test_an_sdist_without_both_jars_writes_neither(tmp_path: Path) -> None:
    archive = sdist(tmp_path / "s.tar.gz", {JARS[1]: b"PK"})
    with pytest.raises(FootfallError, match=f"holds no {JARS[0]} under {SDIST_JARS}$"):
        extract(archive, tmp_path / "jars", sha256(archive))
    assert list((tmp_path / "jars").iterdir()) == []


@pytest.mark.parametrize("content", [b"not an archive", b"\x1f\x8b\x08\x00truncated"])
def test_an_sdist_that_is_no_archive_is_one_line_and_writes_nothing(tmp_path: Path, content: bytes) -> None:
    archive = tmp_path / "s.tar.gz"
    archive.write_bytes(content)
    with pytest.raises(FootfallError, match=f"^{archive} is not a readable .tar.gz "):
        extract(archive, tmp_path / "jars", sha256(archive))
    assert list((tmp_path / "jars").iterdir()) == []


def test_a_missing_sdist_file_is_one_line(tmp_path: Path) -> None:
    done = footfall("spark-jars", str(tmp_path / "jars"), "--sdist", str(tmp_path / "absent.tar.gz"))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"error: cannot read {tmp_path / 'absent.tar.gz'}: No such file or directory"]


def test_the_jars_folder_is_the_setting_else_the_users_data_folder(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    monkeypatch.delenv("FOOTFALL_SPARK_JARS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert Settings.resolve().jars_folder == tmp_path / "data" / "footfall" / "spark-jars"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert Settings.resolve().jars_folder == tmp_path / "home" / ".local" / "share" / "footfall" / "spark-jars"
    monkeypatch.setenv("FOOTFALL_SPARK_JARS", "~/elsewhere")
    assert Settings.resolve().jars_folder == tmp_path / "home" / "elsewhere"


def test_doctor_looks_in_the_users_data_folder_without_the_setting(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    from footfall.doctor import spark_jars

    monkeypatch.delenv("FOOTFALL_SPARK_JARS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    folder = tmp_path / "footfall" / "spark-jars"
    missing = spark_jars(Settings.resolve())
    assert not missing.ok and missing.detail == (
        f"missing from {folder}: {', '.join(JARS)}; Spark on an s3:// lake needs them (`footfall spark-jars`, or set "
        "FOOTFALL_SPARK_JARS)")
    archive = sdist(tmp_path / "s.tar.gz", {name: b"PK" for name in JARS})
    extract(archive, folder, sha256(archive))
    found = spark_jars(Settings.resolve())
    assert found.ok and found.detail == f"in {folder} (Spark on an s3:// lake)"



def test_a_download_pip_cannot_make_is_one_line_pointing_at_sdist(tmp_path: Path) -> None:
    """No index reachable (pip told to use none, and an empty folder of links): pip's reason, and the way out."""
    (tmp_path / "links").mkdir()
    done = footfall("spark-jars", str(tmp_path / "jars"), env={"PIP_NO_INDEX": "1",
                                                               "PIP_FIND_LINKS": str(tmp_path / "links")})
    assert done.returncode == 1
    (error,) = done.stderr.splitlines()
    assert error.startswith("error: pip could not download sagemaker-pyspark==1.4.5 (")
    assert "No matching distribution found for sagemaker-pyspark==1.4.5" in error
    assert error.endswith("on a machine without the package index, copy sagemaker_pyspark-1.4.5.tar.gz here and "
                          "pass it with --sdist")
    assert not (tmp_path / "jars").exists()
