"""The S3A connector's jars: where Spark looks for them, and how ``footfall spark-jars`` fetches them.

PySpark from PyPI ships Hadoop's client without the S3A connector. The ``sagemaker-pyspark`` 1.4.5 sdist on
PyPI carries ``hadoop-aws`` 3.3.1 and the AWS SDK bundle it was built against; ``footfall spark-jars``
downloads that sdist with pip, pinned by its sha256 (pip checks it, and so does this module), and keeps only
those two jars. They are looked for in ``$FOOTFALL_SPARK_JARS`` when set, else in the user's data folder
(``$XDG_DATA_HOME/footfall/spark-jars``, by default ``~/.local/share/footfall/spark-jars``). On AWS Glue,
EMRFS serves ``s3://`` itself and none of this is used.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import IO

from footfall.errors import FootfallError
from footfall.output import replacing

CONNECTOR, BUNDLE = "hadoop-aws-3.3.1.jar", "aws-java-sdk-bundle-1.11.901.jar"
JARS = (CONNECTOR, BUNDLE)
JARS_ENV = "FOOTFALL_SPARK_JARS"
SDIST = "sagemaker-pyspark==1.4.5"
SDIST_FILE = "sagemaker_pyspark-1.4.5.tar.gz"
SDIST_SHA256 = "05ca2d5081d7138ce29a8fb0a9cba077f28c825288ed07aed46a82e63c0bf1fb"
SDIST_JARS = "sagemaker_pyspark-1.4.5/deps/jars"  # where the two jars sit inside the sdist


def missing_jars(folder: Path) -> list[str]:
    return [name for name in JARS if not (folder / name).is_file()]


def fetch(folder: Path, sdist: Path | None = None) -> list[Path]:
    """Put the two jars into ``folder`` from the pinned sdist: ``sdist`` when given (a copy carried to an
    offline machine), else downloaded from the package index by this Python's pip. Nothing is written unless
    the sdist's sha256 is the pinned one; each jar lands whole or not at all."""
    with tempfile.TemporaryDirectory(prefix="footfall-spark-jars-") as tmp:
        if sdist is None:
            sdist = _download(Path(tmp))
        return extract(sdist, folder)


def extract(sdist: Path, folder: Path, sha256: str = SDIST_SHA256) -> list[Path]:
    """The two jars out of ``sdist`` into ``folder``, once its sha256 is checked against ``sha256`` (on the
    same open file the jars are then read from, so what was checked is what is unpacked)."""
    try:
        file = sdist.open("rb")
    except OSError as e:
        raise FootfallError(f"cannot read {sdist}: {e.strerror}") from None
    with file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()
        if digest != sha256:
            raise FootfallError(f"{sdist} is not {SDIST_FILE} as published (sha256 {digest}, expected {sha256})")
        file.seek(0)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise FootfallError(f"cannot create {folder}: {e.strerror}") from None
        try:
            return _unpack(file, sdist, folder)
        except (tarfile.TarError, gzip.BadGzipFile, EOFError) as e:
            raise FootfallError(f"{sdist} is not a readable .tar.gz ({e or type(e).__name__})") from None


def _unpack(file: IO[bytes], sdist: Path, folder: Path) -> list[Path]:
    with tarfile.open(fileobj=file, mode="r:gz") as archive:
        found = {name: _read(archive, f"{SDIST_JARS}/{name}") for name in JARS}
        sources = {name: source for name, source in found.items() if source is not None}
        if len(sources) < len(JARS):
            absent = [name for name in JARS if name not in sources]
            raise FootfallError(f"{sdist} holds no {', '.join(absent)} under {SDIST_JARS}")
        for name in (BUNDLE, CONNECTOR):  # the connector last: `make spark-jars` takes it as the sign of both
            with replacing(folder / name) as part, part.open("wb") as target:
                shutil.copyfileobj(sources[name], target, 1 << 20)
    return [folder / name for name in JARS]


def _read(archive: tarfile.TarFile, member: str) -> IO[bytes] | None:
    """A regular file of the archive, opened; None when there is none by that name."""
    try:
        return archive.extractfile(member)
    except KeyError:
        return None


def _download(into: Path) -> Path:
    """The pinned sdist, downloaded by pip with ``--require-hashes`` (so a different file is refused)."""
    requirements = into / "requirements.txt"
    requirements.write_text(f"{SDIST} --hash=sha256:{SDIST_SHA256}\n")
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                           "--require-hashes", "-r", str(requirements), "-d", str(into)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = [t.strip() for t in (done.stderr or done.stdout).splitlines() if t.strip()]
        reason = said[-1] if said else f"exit code {done.returncode}"
        raise FootfallError(f"pip could not download {SDIST} ({reason}); on a machine without the package "
                            f"index, copy {SDIST_FILE} here and pass it with --sdist")
    return into / SDIST_FILE
