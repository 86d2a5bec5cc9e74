"""``footfall doctor``: what this machine has, what is missing, in plain words."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from footfall.errors import FootfallError, os_reason
from footfall.extras import extra_of, install_hint
from footfall.redact import redact
from footfall.settings import Settings


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str
    required: bool = True


def python() -> Finding:
    version = ".".join(map(str, sys.version_info[:3]))
    return Finding("Python", sys.version_info >= (3, 11), f"{version} (3.11 or newer needed)")


def package(name: str, required: bool, purpose: str) -> Finding:
    try:
        return Finding(name, True, f"{importlib.metadata.version(name)} ({purpose})", required)
    except importlib.metadata.PackageNotFoundError:
        extra = extra_of(name)
        hint = install_hint(extra) if extra else f"pip install {name}"
        return Finding(name, False, f"not installed, needed for {purpose}: {hint}", required)


def java() -> Finding:
    found = shutil.which("java")
    if not found:
        return Finding("Java", False, "not found: the Spark engine needs Java 17 (e.g. apt-get install "
                       "openjdk-17-jre-headless)", required=False)
    done = subprocess.run([found, "-version"], capture_output=True, text=True, timeout=30)
    first = (done.stderr or done.stdout).strip().splitlines()[:1]
    return Finding("Java", done.returncode == 0, first[0] if first else found, required=False)


def spark_jars(settings: Settings) -> Finding:
    """The S3A connector Spark needs for an s3:// lake outside Glue, and where footfall looks for it."""
    from footfall.engines.spark_jars import JARS_ENV, missing_jars

    folder = settings.jars_folder
    missing = missing_jars(folder)
    if missing:
        return Finding("S3A jars", False, f"missing from {folder}: {', '.join(missing)}; Spark on an s3:// lake "
                       f"needs them (`footfall spark-jars`, or set {JARS_ENV})", required=False)
    return Finding("S3A jars", True, f"in {folder} (Spark on an s3:// lake)", required=False)


def object_lake(settings: Settings) -> Finding:
    """Reach the object store with the credentials at hand, and read what was last published."""
    from footfall.lake.open import open_store
    from footfall.lake.pointer import Pointer

    try:
        store = open_store(settings.lake, settings.s3_endpoint, settings.region)
        published, _ = Pointer(store).read()
    except FootfallError as e:
        return Finding("Lake", False, str(e))
    state = f"last published by run {published['run_id']}" if published else "nothing published yet"
    return Finding("Lake", True, f"{store.location} is reachable, {state}")


def lake_writable(settings: Settings) -> Finding:
    from footfall.lake.local import LocalLake
    from footfall.lake.open import scheme

    if scheme(settings.lake) is not None:
        return object_lake(settings)
    root = Path(settings.lake).expanduser().resolve()
    try:
        LocalLake(root).refuse_a_file()
    except FootfallError as e:
        return Finding("Lake", False, str(e))
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".doctor-"):
            pass
    except OSError as e:
        return Finding("Lake", False, f"{root} is not writable: {os_reason(e)}")
    free = shutil.disk_usage(root).free / 1e9
    return Finding("Lake", True, f"{root} is writable, {free:,.1f} GB free")


def portal(url: str, dataset: str) -> Finding:
    """Whether the portal answers for ``dataset``, probed like a download (redirects followed, credentials kept
    to its origin)."""
    from footfall.sources.http import Policy, client, send
    from footfall.sources.opendatasoft import dataset_url

    shown = redact(url)
    try:
        with client(Policy(connect_timeout=5.0, read_timeout=5.0)) as http:
            response = send(http, "GET", dataset_url(url, dataset))
            response.close()
    except httpx.HTTPError as e:
        return Finding("Portal", False, f"{shown} cannot be reached ({type(e).__name__}); `footfall run` needs it, "
                       "or give files with --counts", required=False)
    except FootfallError as e:
        return Finding("Portal", False, redact(str(e)), required=False)
    if response.status_code >= 400:
        return Finding("Portal", False, f"{shown} answered HTTP {response.status_code}", required=False)
    return Finding("Portal", True, f"{shown} answers", required=False)


def examine(settings: Settings, portal_url: str, dataset: str) -> list[Finding]:
    """Every check; the portal (the job's, given by the command line) probed for one of its datasets."""
    return [
        python(),
        package("duckdb", True, "the embedded engine"),
        package("pyarrow", True, "Parquet"),
        package("pyspark", False, "the Spark engine"),
        java(),
        spark_jars(settings),
        package("boto3", False, "S3 lakes and the Glue catalog"),
        package("plotly", False, "the HTML report"),
        lake_writable(settings),
        portal(portal_url, dataset),
    ]
