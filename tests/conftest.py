from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import textwrap
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from support.portal import Portal, portal_data

from footfall.melbourne.generate import generate

# xdist's workers export COLUMNS=80 and LINES=24, and footfall's consoles keep a size found at import for good:
# without them each in-process run's own COLUMNS holds, as it does in a new process.
for _size in ("COLUMNS", "LINES"):
    os.environ.pop(_size, None)

SHARED = Path(__file__).resolve().parents[2] / "shared"
# The checkout keeps the S3A jars where `make spark-jars` puts them (an installed footfall looks in the user's
# data folder unless FOOTFALL_SPARK_JARS names another).
os.environ.setdefault("FOOTFALL_SPARK_JARS", str(Path(__file__).resolve().parents[1] / ".tools" / "spark-jars"))
REAL = SHARED / "data" / "real"


@pytest.fixture(scope="session")
def real() -> Path:
    """The real samples beside the project; tests that need them skip cleanly without them."""
    if not REAL.is_dir():
        pytest.skip(f"real samples not found at {REAL} (../shared is absent)")
    return REAL


PipelineFactory = Callable[..., Path]


@pytest.fixture
def make_pipeline(tmp_path: Path) -> PipelineFactory:
    """Write a pipeline directory from a YAML text and {table: sql} mapping."""

    def make(yml: str, sql: dict[str, str] | None = None, data: dict[str, str] | None = None,
             name: str = "pipe") -> Path:
        root = tmp_path / name
        (root / "sql").mkdir(parents=True, exist_ok=True)
        (root / "pipeline.yml").write_text(textwrap.dedent(yml))
        for table, text in (sql or {}).items():
            (root / "sql" / f"{table}.sql").write_text(textwrap.dedent(text))
        for rel, text in (data or {}).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(textwrap.dedent(text))
        return root

    return make


# moto's request recorder (which tests switch on to count GETs) writes to a file named when moto is imported:
# a temporary one, never the working directory.
os.environ.setdefault("MOTO_RECORDER_FILEPATH", str(Path(tempfile.gettempdir()) / f"footfall-moto-{os.getpid()}"))


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 and Glue API (moto in server mode) on loopback, shared by the session."""
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """A fresh S3 and Glue (the server is reset) and a bucket; boto3 here and in subprocesses talks to it over HTTP."""
    import boto3
    import httpx

    httpx.post(f"{s3_endpoint}/moto-api/reset").raise_for_status()

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_GLUE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    monkeypatch.setenv("FOOTFALL_CACHE", str(tmp_path / "cache"))  # the object lakes' read cache, per test
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-2"})
    return SimpleNamespace(endpoint=s3_endpoint, bucket=bucket, uri=f"s3://{bucket}/melbourne", client=client,
                           glue=boto3.client("glue", endpoint_url=s3_endpoint))


@pytest.fixture
def stated_probes() -> Callable[[str], int]:
    """How many probes RELIABILITY.md states on the one line holding ``marker``: ``N probes``, else the total
    after the last colon of the table's probes cell, else that cell's leading number."""
    import re

    text = (Path(__file__).resolve().parents[1] / "RELIABILITY.md").read_text()

    def stated(marker: str) -> int:
        lines = [line for line in text.splitlines() if marker in line]
        assert len(lines) == 1, f"{marker!r} is on {len(lines)} lines of RELIABILITY.md"
        line = lines[0]
        counted = re.search(r"(\d+) probes", line)
        if counted:
            return int(counted.group(1))
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        cell = next(c for c in reversed(cells) if re.match(r"^\d", c))
        total = re.search(r":\s*(\d+)\s*$", cell)
        return int(total.group(1) if total else re.match(r"\d+", cell).group())

    return stated


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Generated portal files of every format (archive, Opendatasoft CSV, sensors, SODA JSON), by kind."""
    folder = tmp_path_factory.mktemp("portal-data")
    generate(folder / "archive.csv", fmt="archive", seed=5, sensors=6, start=date(2021, 1, 1), end=date(2021, 2, 28))
    generate(folder / "live.csv", fmt="ods-csv", seed=6, sensors=6, start=date(2024, 1, 1), end=date(2024, 3, 31),
             locations=folder / "sensors.csv")
    generate(folder / "soda.json", fmt="soda-json", seed=7, sensors=3, start=date(2019, 1, 1), end=date(2019, 1, 2))
    return {"archive": folder / "archive.csv", "live": folder / "live.csv", "sensors": folder / "sensors.csv",
            "soda": folder / "soda.json"}


@pytest.fixture
def portal(files: dict[str, Path]) -> Iterator[Portal]:
    """Both portals on a real loopback server, serving the ``files`` fixture's files."""
    with Portal(portal_data(files)) as served:
        yield served


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    """A local PySpark session (``local[2]``), one per module: a test module's Spark tests share it."""
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java")
    pyspark = pytest.importorskip("pyspark.sql")
    from footfall.engines.spark import DRIVER_MEMORY

    session = (pyspark.SparkSession.builder.master("local[2]").appName("footfall-tests")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
               .config("spark.driver.memory", DRIVER_MEMORY).getOrCreate())
    yield session
    session.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """For ``--dist loadgroup``: a test that shares a module-scoped fixture stays on its module's worker, so the
    fixture is built once; every other test goes wherever a worker is free, which keeps both busy to the end.
    Every Spark test shares one worker, run in file order as in one process: a Spark session lives as long as
    its process, and two JVMs with 3 GB drivers at once would starve this machine."""
    if not config.pluginmanager.has_plugin("xdist"):
        return
    fixtures = config.pluginmanager.get_plugin("funcmanage")
    for item in items:
        if item.get_closest_marker("spark"):
            item.add_marker(pytest.mark.xdist_group("spark"))
        elif any(definition.scope == "module" for name in getattr(item, "fixturenames", ())
                 for definition in fixtures.getfixturedefs(name, item) or ()):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
