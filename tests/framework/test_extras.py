"""A command that needs an optional extra which is not installed says so in one line naming the extra.

Each package is made unimportable in this process (its ``sys.modules`` entries set to None, as Python does for
a module it must not import) and the command is run through ``main()``; the wheel test does the same for real
in a base install.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import run

from footfall.extras import EXTRAS, MissingExtra, install_hint, require


def hide(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def one_error_line(done: subprocess.CompletedProcess[str], extra: str, package: str) -> str:
    assert done.returncode == 1, done.stderr
    errors = [text for text in done.stderr.splitlines() if text.startswith("error: ")]
    assert len(errors) == 1 and done.stderr.strip().endswith(errors[0]), done.stderr  # run's own header may precede
    assert f"needs {package}: pip install 'footfall[{extra}]'" in errors[0]
    assert "Traceback" not in done.stderr and not done.stdout
    return errors[0]


def test_require_hands_back_the_module_when_the_extra_is_installed() -> None:
    assert callable(require("report", "plotly.offline", "the HTML report").get_plotlyjs)


def test_every_extra_in_pyproject_is_known_with_its_package() -> None:
    import tomllib

    declared = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    optional = declared["project"]["optional-dependencies"]
    for extra, package in EXTRAS.items():
        assert any(spec.startswith(package) for spec in optional[extra]), (extra, optional[extra])


def test_a_missing_package_names_the_extra_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    hide(monkeypatch, "plotly", "plotly.offline")
    with pytest.raises(MissingExtra) as raised:
        require("report", "plotly.offline", "the HTML report")
    assert str(raised.value) == "the HTML report needs plotly: pip install 'footfall[report]'"


def test_a_package_that_is_there_but_does_not_import_says_why(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    (tmp_path / "plotly").mkdir()
    (tmp_path / "plotly" / "__init__.py").write_text("import footfall_absent_dependency\n")
    for name in [m for m in sys.modules if m == "plotly" or m.startswith("plotly.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingExtra) as raised:
        require("report", "plotly.offline", "the HTML report")
    assert str(raised.value) == ("the HTML report needs plotly: pip install 'footfall[report]' (plotly is there but "
                                 "does not import: No module named 'footfall_absent_dependency')")


def test_an_unknown_extra_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown extra 'pdf'"):
        install_hint("pdf")


def test_report_without_plotly_is_refused_before_the_lake_is_opened(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    hide(monkeypatch, "plotly", "plotly.offline")
    done = run(["report", "--lake", str(tmp_path / "no-lake"), "--out", str(tmp_path / "r.html")])
    assert done.stderr.splitlines() == [one_error_line(done, "report", "plotly")] == [
        "error: the HTML report needs plotly: pip install 'footfall[report]'"]
    assert not (tmp_path / "no-lake").exists() and not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("command", [
    ["run", "--engine", "spark", "--counts", "{tmp}/none.csv"],
    ["pipeline", "run", "{tmp}/pipe", "--engine", "spark"],
])
def test_the_spark_engine_without_pyspark_is_refused_before_any_work(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path, command: list[str]) -> None:
    hide(monkeypatch, "pyspark", "pyspark.sql")
    lake = tmp_path / "lake"
    done = run([part.format(tmp=tmp_path) for part in command] + ["--lake", str(lake)])
    assert done.stderr.splitlines() == [one_error_line(done, "spark", "pyspark")] == [
        "error: the spark engine needs pyspark: pip install 'footfall[spark]'"]
    assert not lake.exists()


@pytest.mark.parametrize("command", [
    ["top"], ["query", "select 1"], ["report"], ["run", "--counts", "{tmp}/none.csv"], ["catalog", "ddl"],
    ["catalog", "register"],
])
def test_an_s3_lake_without_boto3_is_one_line_naming_the_aws_extra(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path, command: list[str]) -> None:
    hide(monkeypatch, "boto3", "botocore", "botocore.config")
    done = run([part.format(tmp=tmp_path) for part in command] + ["--lake", "s3://bucket/lake"])
    line = one_error_line(done, "aws", "boto3")
    assert line.endswith("an S3 lake needs boto3: pip install 'footfall[aws]'"), line


def test_the_glue_catalog_without_boto3_names_the_aws_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from footfall.aws import client

    hide(monkeypatch, "boto3", "botocore", "botocore.config")
    with pytest.raises(MissingExtra, match=r"^the Glue catalog needs boto3: pip install 'footfall\[aws\]'$"):
        client("glue")


def test_spark_credentials_for_s3_without_boto3_name_the_aws_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from footfall.engines.spark_s3 import S3Access

    hide(monkeypatch, "boto3")
    with pytest.raises(MissingExtra, match=r"^Spark on an S3 lake needs boto3: pip install 'footfall\[aws\]'$"):
        S3Access(endpoint=None, region=None, jars=Path("jars")).runtime_conf()

