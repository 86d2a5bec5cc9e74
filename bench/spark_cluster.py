"""A Spark standalone cluster on this machine, from the pip PySpark's own ``spark-class``: a master and
workers on 127.0.0.1, each in its own process group, all ended when the ``with`` block ends, however it
ends. The tests and the benchmark run footfall against it to show that a real cluster's executors do the work.
It lives with the benchmark, beside which ``python bench/run.py`` finds it; the tests import it through
pytest's ``pythonpath``. It is not part of the package: no production run starts a cluster.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from footfall.errors import EngineError


@dataclass(frozen=True)
class Cluster:
    master: str
    env: dict[str, str]  # what a client (spark-submit, footfall) needs in its environment


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def standalone(folder: Path, workers: int = 2, cores: int = 1, memory: str = "1g",
               wait_seconds: float = 120) -> Iterator[Cluster]:
    """Start a master and ``workers`` workers of ``cores`` cores each; ``folder`` gets their logs and work
    folders. Raises EngineError when the cluster does not come up."""
    import httpx
    import pyspark

    home = Path(pyspark.__file__).parent
    client_env = {"SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
    env = {**os.environ, **client_env}
    port, ui = free_port(), free_port()
    master = f"spark://127.0.0.1:{port}"
    logs = folder / "cluster-logs"
    logs.mkdir(parents=True, exist_ok=True)
    commands = [["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                 "--webui-port", str(ui)]]
    commands += [["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", str(cores), "--memory",
                  memory, "--webui-port", str(free_port()), "--work-dir", str(folder / f"worker{i}"), master]
                 for i in range(1, workers + 1)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for i, command in enumerate(commands):
            with (logs / f"{i}.log").open("wb") as log:
                processes.append(subprocess.Popen([str(home / "bin/spark-class"), *command], env=env, stdout=log,
                                                  stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + wait_seconds
        while _alive_workers(httpx, ui) < workers:
            if any(p.poll() is not None for p in processes):
                raise EngineError("a Spark cluster process exited: " + " | ".join(
                    p.read_text(errors="replace")[-300:] for p in sorted(logs.iterdir())))
            if time.monotonic() > deadline:
                raise EngineError(f"the Spark cluster did not come up with {workers} workers in {wait_seconds:.0f} s")
            time.sleep(0.5)
        yield Cluster(master, client_env)
    finally:
        for process in reversed(processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _alive_workers(httpx: object, ui: int) -> int:
    try:
        state = httpx.get(f"http://127.0.0.1:{ui}/json/", timeout=5).json()  # type: ignore[attr-defined]
    except (httpx.HTTPError, ValueError):  # type: ignore[attr-defined]
        return 0
    return len([w for w in state.get("workers", []) if w.get("state") == "ALIVE"])
