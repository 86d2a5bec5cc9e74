"""`make bench`: footfall against the typical pandas solution and a single-query DuckDB lower bound.

Every approach runs as its own process on the same generated input; wall time and peak RSS are read
for that process alone (os.wait4), and each figure is the median of several runs. Results go to
BENCHMARKS.md beside this folder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOURS_TO_2020 = 24 * 365 * 11  # generated counts start in June 2009
ROOT = HERE.parent
PY = sys.executable
# The checkout's S3A jars (`make spark-jars`), for the Spark runs on an S3 lake, unless the caller named others.
os.environ.setdefault("FOOTFALL_SPARK_JARS", str(ROOT / ".tools" / "spark-jars"))


@dataclass(frozen=True)
class Measure:
    seconds: float
    peak_mb: float
    cpu_seconds: float = 0.0  # user + system time of the process: less swayed than wall time by a busy machine


def measure(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Measure:
    """Run one process to completion; its own wall time and peak resident memory."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **env} if env else None)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err[-2000:]}")
    return Measure(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def median(runs: list[Measure]) -> Measure:
    return Measure(statistics.median(m.seconds for m in runs), statistics.median(m.peak_mb for m in runs))


def footfall(*args: str) -> list[str]:
    return [PY, "-m", "footfall", *args]


def generate(path: Path, rows: int, seed: int = 1, sensors: int = 52) -> Measure:
    """Melbourne-shaped: about 52 sensors from June 2009, as long as ``rows`` needs."""
    if path.exists():
        path.unlink()
    return measure(footfall("generate", "--rows", str(rows), "--sensors", str(sensors), "--start", "2009-06-01",
                            "--format", "archive", "--seed", str(seed), str(path)))


def split_last_month(source: Path, history: Path, month: Path) -> str:
    """History without its last calendar month, and that month alone, both in the archive format.

    Runs in a child process: a child's peak RSS starts at its parent's size when it forks, so the
    measuring process must stay small."""
    code = f"from bench_split import split; print(split({str(source)!r}, {str(history)!r}, {str(month)!r}))"
    done = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True, cwd=HERE,
                          env={**os.environ, "PYTHONPATH": str(HERE)})
    return done.stdout.strip()


def run_all(work: Path, rows: int, repeat: int, huge_rows: int, spark_rows: int = 0) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    data = work / "archive.csv"
    results: dict = {"rows": rows, "generate": generate(data, rows), "bytes": data.stat().st_size,
                     "load": [os.getloadavg()[0]]}
    approaches = {
        "footfall run (end to end, every answer)": lambda i: footfall("run", "--counts", str(data), "--lake",
                                                                       str(work / f"lake-{i}")),
        "pandas read_csv + groupby + nlargest (two top-10s)": lambda i: [PY, str(HERE / "pandas_top10.py"),
                                                                          str(data), str(_fresh(work / f"pd-{i}"))],
        "DuckDB single query (two top-10s, lower bound)": lambda i: [PY, str(HERE / "duckdb_top10.py"), str(data),
                                                                      str(_fresh(work / f"db-{i}"))],
        HIGH_MEMORY: lambda i: footfall("run", "--counts", str(data), "--lake", str(work / f"lake-{i}")),
    }
    results["approaches"] = {}
    for name, cmd in approaches.items():
        runs = []
        for i in range(repeat):
            shutil.rmtree(work / f"lake-{i}", ignore_errors=True)
            runs.append(measure(cmd(i), env={"FOOTFALL_MEMORY_LIMIT": HIGH_LIMIT} if name == HIGH_MEMORY else None))
            print(f"{name}: run {i + 1}: {runs[-1].seconds:.2f} s, {runs[-1].peak_mb:.0f} MB", flush=True)
        results["approaches"][name] = median(runs)

    history, month = work / "history.csv", work / "month.csv"
    results["month"] = split_last_month(data, history, month)
    base = work / "lake-history"
    shutil.rmtree(base, ignore_errors=True)
    measure(footfall("run", "--counts", str(history), "--lake", str(base)))
    runs = []
    for i in range(repeat):
        lake = work / f"lake-incr-{i}"
        shutil.rmtree(lake, ignore_errors=True)
        shutil.copytree(base, lake, symlinks=True)
        runs.append(measure(footfall("run", "--counts", str(month), "--lake", str(lake))))
        print(f"incremental month: run {i + 1}: {runs[-1].seconds:.2f} s, {runs[-1].peak_mb:.0f} MB", flush=True)
    results["incremental"] = median(runs)
    runs = []
    for i in range(repeat):  # the month again, on the lake that already holds it: nothing new
        runs.append(measure(footfall("run", "--counts", str(month), "--lake", str(work / f"lake-incr-{i}"))))
        print(f"nothing new: run {i + 1}: {runs[-1].seconds:.2f} s, {runs[-1].peak_mb:.0f} MB", flush=True)
    results["nothing_new"] = median(runs)

    results["profile"] = profile(data, work / "lake-profile")
    results["load"].append(os.getloadavg()[0])
    results["top"] = median([measure(footfall("top", "--by", "month", "--lake", str(work / "lake-profile")))
                             for _ in range(repeat)])
    results["s3"] = s3_runs(work, data, history, month, repeat)
    if spark_rows:
        results["spark"] = spark_runs(work, data, rows, spark_rows, repeat)

    if huge_rows:
        big = work / "huge.csv"
        # Enough sensors that the hours end before today: later ones would be quarantined as implausible.
        sensors = max(52, -(-huge_rows // HOURS_TO_2020))
        results["huge_generate"] = generate(big, huge_rows, seed=2, sensors=sensors)
        results["huge_bytes"] = big.stat().st_size
        shutil.rmtree(work / "lake-huge", ignore_errors=True)
        try:
            results["huge"] = measure(footfall("run", "--counts", str(big), "--lake", str(work / "lake-huge")))
        except SystemExit as failed:  # a run that fails at scale is a result to report, not a lost benchmark
            results["huge_failed"] = [ln for ln in str(failed).splitlines() if ln.strip()][-1][:200]
        results["huge_rows"] = huge_rows
        if "huge" in results:
            print(f"huge: {results['huge'].seconds:.1f} s, {results['huge'].peak_mb:.0f} MB", flush=True)
        big.unlink()
        shutil.rmtree(work / "lake-huge", ignore_errors=True)
    return results


@contextlib.contextmanager
def moto_server() -> Iterator[tuple[str, dict[str, str]]]:
    """moto's S3 server in its own process on loopback (in memory); its endpoint and the environment that
    points footfall at it."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([PY, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": "us-east-1"}
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            time.sleep(0.1)
        yield endpoint, env
    finally:
        server.terminate()
        server.wait(timeout=30)


def bucket(endpoint: str, name: str) -> str:
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                 aws_secret_access_key="bench").create_bucket(Bucket=name)
    return name


def s3_runs(work: Path, data: Path, history: Path, month: Path, repeat: int) -> dict[str, Measure]:
    """The same runs on an S3 lake: moto's S3 server in its own process on loopback (in memory, so this
    is footfall's transfer work without network latency or bandwidth limits)."""
    full, incremental, reader = [], [], []
    with moto_server() as (endpoint, moto):
        for i in range(repeat):
            for name in (f"full-{i}", f"incr-{i}"):
                bucket(endpoint, name)
            env = {**moto, "FOOTFALL_CACHE": str(_fresh(work / f"s3-cache-{i}"))}  # none left by an earlier bench
            full.append(measure(footfall("run", "--counts", str(data), "--lake", f"s3://full-{i}/lake"), env=env))
            measure(footfall("run", "--counts", str(history), "--lake", f"s3://incr-{i}/lake"), env=env)
            incremental.append(measure(footfall("run", "--counts", str(month), "--lake", f"s3://incr-{i}/lake"),
                                       env=env))
            reader.append(measure(footfall("top", "--by", "month", "--lake", f"s3://full-{i}/lake"), env=env))
            print(f"S3: run {i + 1}: full {full[-1].seconds:.2f} s, month {incremental[-1].seconds:.2f} s, "
                  f"top {reader[-1].seconds:.2f} s", flush=True)
    return {"full": median(full), "incremental": median(incremental), "top": median(reader)}


SPARK_LOCAL = "Spark local[2], local lake"
MAX_SPARK_JOBS = 60
SPARK_S3 = "Spark local[2], S3 lake (moto on loopback)"
SPARK_CLUSTER = "Spark standalone (master + 2 one-core workers), S3 lake"
SPARK_FULL = "Spark local[2], local lake, on the benchmark's own input (vs its full run above)"


def spark_runs(work: Path, data: Path, rows: int, spark_rows: int, repeat: int) -> dict:
    """The Spark engine beside the DuckDB engine on one input (the benchmark's own when ``spark_rows`` equals
    its rows, else one generated alike): local[2] on a local lake, local[2] on an S3 lake, and a standalone
    cluster started here (a master and two one-core workers on 127.0.0.1) on an S3 lake. One run each (a
    Spark run is long); the DuckDB engine's figure is the median of ``repeat``. Every curated CSV of the
    local Spark run is compared with the DuckDB engine's."""
    from spark_cluster import standalone

    load = [os.getloadavg()[0]]
    source = data
    if spark_rows != rows:
        source = work / "spark-input.csv"
        generate(source, spark_rows)
    duck = []
    for i in range(repeat):
        duck.append(measure(footfall("run", "--counts", str(source), "--lake", str(_fresh(work / f"spark-duck-{i}")))))
        print(f"Spark input, DuckDB engine: run {i + 1}: {duck[-1].seconds:.2f} s", flush=True)
    spark = ["--engine", "spark", "--counts", str(source)]
    runs = {"DuckDB engine, local lake": median(duck)}
    lake = _fresh(work / "spark-local")
    runs[SPARK_LOCAL] = measure(footfall("run", *spark, "--spark-master", "local[2]", "--lake", str(lake)))
    print(f"{SPARK_LOCAL}: {runs[SPARK_LOCAL].seconds:.2f} s", flush=True)
    differ = sorted(p.name for p in (work / "spark-duck-0/curated").glob("*.csv")
                    if not (lake / "curated" / p.name).is_file() or (lake / "curated" / p.name).read_bytes()
                    != p.read_bytes())
    with moto_server() as (endpoint, env):
        runs[SPARK_S3] = measure(footfall("run", *spark, "--spark-master", "local[2]", "--lake",
                                          f"s3://{bucket(endpoint, 'spark-local')}/lake"), env=env)
        print(f"{SPARK_S3}: {runs[SPARK_S3].seconds:.2f} s", flush=True)
        with standalone(_fresh(work / "spark-cluster"), workers=2, cores=1, memory="2g") as cluster:
            runs[SPARK_CLUSTER] = measure(footfall("run", *spark, "--spark-master", cluster.master, "--lake",
                                                   f"s3://{bucket(endpoint, 'spark-cluster')}/lake"),
                                          env={**env, **cluster.env})
        print(f"{SPARK_CLUSTER}: {runs[SPARK_CLUSTER].seconds:.2f} s", flush=True)
    if spark_rows != rows:  # the 5x target is on the benchmark's own input, against its full run
        runs[SPARK_FULL] = measure(footfall("run", "--engine", "spark", "--counts", str(data), "--spark-master",
                                            "local[2]", "--lake", str(_fresh(work / "spark-full"))))
        print(f"{SPARK_FULL}: {runs[SPARK_FULL].seconds:.2f} s", flush=True)
    load.append(os.getloadavg()[0])
    return {"rows": spark_rows, "full_rows": rows, "runs": runs, "differ": differ, "load": load,
            "profile": spark_profile(source, work / "spark-profile")}


def spark_profile(data: Path, lake: Path) -> dict[str, list[float]]:
    """Where a Spark run's time goes: seconds and Spark jobs per phase of one in-process ``local[2]`` run,
    jobs read from Spark's own status tracker as each phase ends (the JVM's start excluded)."""
    code = f"""
import json, time
from pyspark.sql import SparkSession
from footfall.lake.local import LocalLake
from footfall.melbourne.run import run
from footfall.settings import Settings
phases = {{}}
seen = [0]
def listener(e):
    if e.kind == "begin":
        return
    session = SparkSession.getActiveSession()
    jobs = len(session.sparkContext.statusTracker().getJobIdsForGroup(None)) if session else 0
    phase = phases.setdefault(e.kind, [0.0, 0])
    phase[0] += e.seconds
    phase[1] += jobs - seen[0]
    seen[0] = jobs
started = time.perf_counter()
run(LocalLake.at({str(lake)!r}), [{str(data)!r}], engine="spark",
    settings=Settings.resolve(spark_master="local[2]"), listener=listener)
phases["total in process"] = [time.perf_counter() - started, seen[0]]
print(json.dumps(phases))
"""
    shutil.rmtree(lake, ignore_errors=True)
    done = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def profile(data: Path, lake: Path) -> dict[str, float]:
    """Where the time of one full run goes, from the pipeline's own events (in-process, so no startup)."""
    code = f"""
import json, time
LANDING = {LANDING!r}
from footfall.lake.local import LocalLake
from footfall.melbourne.run import run
events = []
started = time.perf_counter()
run(LocalLake.at({str(lake)!r}), [{str(data)!r}], listener=events.append)
total = time.perf_counter() - started
phases = {{}}
for e in events:
    if e.kind == "begin":
        continue
    key = e.name if e.kind == "step" and e.seconds > 0.5 else ("other steps" if e.kind == "step" else e.kind)
    phases[key] = phases.get(key, 0.0) + e.seconds
phases[LANDING] = total - sum(phases.values())
phases["total in process"] = total
print(json.dumps(phases))
"""
    shutil.rmtree(lake, ignore_errors=True)
    done = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def report(results: dict, repeat: int, previous: dict[str, float], previous_when: str) -> str:
    footfall_m, pandas_m, lower_m, high_m = results["approaches"].values()
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {datetime.now(UTC):%Y-%m-%d}: {machine()}.",
        f"Python {platform.python_version()}, footfall {version('footfall')}, DuckDB {version('duckdb')}, "
        f"pandas {version('pandas')}, pyarrow {version('pyarrow')}.",
        "",
        f"Input: {results['rows']:,} rows of the 2009–2022 archive format (`footfall generate --format archive`), "
        f"{results['bytes'] / 1e6:,.0f} MB of CSV. Each figure is the median of {repeat} runs; time is the whole "
        "process's wall time, memory its peak resident set (os.wait4). Load average (1 min) when the runs "
        f"began and after the profile: {results['load'][0]:.1f}, {results['load'][-1]:.1f} on {os.cpu_count()} "
        "cores; above the core count, other work shared the machine and every figure is slower than alone.",
        "",
        "| approach | wall time (s) | peak RSS (MB) | time vs lower bound | footfall speed-up |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, m in results["approaches"].items():
        lines.append(f"| {name} | {m.seconds:.2f} | {m.peak_mb:,.0f} | {m.seconds / lower_m.seconds:.2f}x | "
                     f"{m.seconds / footfall_m.seconds:.2f}x |")
    incr, again = results["incremental"], results["nothing_new"]
    lines += [
        "",
        f"Incremental: adding one month ({results['month']}) to the lake holding the rest of that history: "
        f"{incr.seconds:.2f} s, {incr.peak_mb:,.0f} MB peak, {100 * incr.seconds / footfall_m.seconds:.0f}% of the "
        "full run.",
        "",
        f"Nothing new: the same month given again to that lake (landed already, so nothing is parsed or built): "
        f"{again.seconds:.2f} s, {again.peak_mb:,.0f} MB peak, {100 * again.seconds / footfall_m.seconds:.0f}% of the "
        "full run.",
    ]
    if "huge" in results:
        huge = results["huge"]
        lines += ["", f"Scale: {results['huge_rows']:,} rows ({results['huge_bytes'] / 1e9:,.1f} GB of CSV): "
                  f"footfall end to end {huge.seconds:,.0f} s, peak RSS {huge.peak_mb:,.0f} MB (generating the "
                  f"file: {results['huge_generate'].seconds:,.0f} s, {results['huge_generate'].peak_mb:,.0f} MB)."]
    if "s3" in results:
        s3 = results["s3"]
        lines += ["", "## On S3", "",
                  "The same runs with `--lake s3://...`, against moto's S3 server in its own process on loopback "
                  "(in memory: the cost of pulling, hashing, uploading and switching the pointer, without "
                  "network latency). Each history run starts with an empty read cache; the month follows the history "
                  "with the cache it left, as on the machine that ran it; `top` downloads what it reads.", "",
                  "| command | local lake (s) | local peak (MB) | S3 lake (s) | S3 peak (MB) | S3 / local |",
                  "|---|---:|---:|---:|---:|---:|"]
        for name, local, remote in (("footfall run, whole history", footfall_m, s3["full"]),
                                    ("footfall run, one new month", incr, s3["incremental"]),
                                    ("footfall top --by month", results["top"], s3["top"])):
            lines.append(f"| {name} | {local.seconds:.2f} | {local.peak_mb:,.0f} | {remote.seconds:.2f} | "
                         f"{remote.peak_mb:,.0f} | {remote.seconds / local.seconds:.2f}x |")
    if "spark" in results:
        lines += spark_section(results["spark"], footfall_m)
    ratio = footfall_m.seconds / lower_m.seconds
    checks = [
        ("full run within 3x of the single-query bound (the goal: 1.5x)", ratio <= 3, f"{ratio:.1f}x"),
        ("at least 5x faster than pandas", pandas_m.seconds >= 5 * footfall_m.seconds,
         f"{pandas_m.seconds / footfall_m.seconds:.1f}x faster"),
        ("peak RSS of the full run under 1 GB", footfall_m.peak_mb < 1024,
         f"{footfall_m.peak_mb:,.0f} MB ({high_m.peak_mb:,.0f} MB at {high_m.seconds / footfall_m.seconds:.2f}x "
         f"the time with FOOTFALL_MEMORY_LIMIT={HIGH_LIMIT})"),
        ("one new month under 10% of the full run", incr.seconds < 0.1 * footfall_m.seconds,
         f"{100 * incr.seconds / footfall_m.seconds:.0f}%"),
        ("a re-run with nothing new under 5% of the full run", again.seconds < 0.05 * footfall_m.seconds,
         f"{100 * again.seconds / footfall_m.seconds:.0f}%"),
    ]
    if "huge_failed" in results:
        checks.append((f"{results['huge_rows'] / 1e6:,.0f} M rows under 120 s and 3 GB", False,
                       f"failed: {results['huge_failed']}"))
    elif "huge" in results:
        huge = results["huge"]
        checks.append((f"{results['huge_rows'] / 1e6:,.0f} M rows under 120 s and 3 GB",
                       huge.seconds < 120 and huge.peak_mb < 3072, f"{huge.seconds:,.0f} s, {huge.peak_mb:,.0f} MB"))
    else:
        checks.append(("100 M rows under 120 s and 3 GB", None, "not run (--huge-rows 0)"))
    checks += spark_targets(results.get("spark"), footfall_m)
    lines += ["", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {'not measured' if ok is None else 'yes' if ok else 'no'} |"
              for name, ok, value in checks]
    lines += ["", "## Where the time goes", "",
              "One full run in process (no interpreter start-up), from the pipeline's own timings (steps under "
              f"0.5 s summed as other steps), next to the same profile of the previous `make bench` ({previous_when}):",
              "", "| phase | previous (s) | this run (s) |", "|---|---:|---:|"]
    now = results["profile"]
    names = [n for n in now if n not in (LANDING, TOTAL)]
    names += [n for n in previous if n not in now and n not in (LANDING, TOTAL)]
    for name in [*names, LANDING, TOTAL]:
        before = f"{previous[name]:.2f}" if name in previous else "–"
        current = f"{now[name]:.2f}" if name in now else "–"
        lines.append(f"| {name} | {before} | {current} |")
    return "\n".join(lines)


def spark_section(spark: dict, full_run: Measure) -> list[str]:
    runs = spark["runs"]
    duck = next(iter(runs.values()))
    same = ("every curated CSV of the local Spark run is byte-identical to the DuckDB engine's" if not spark["differ"]
            else f"curated CSVs that differ from the DuckDB engine's: {', '.join(spark['differ'])}")
    lines = ["", "## Spark", "",
             f"`footfall run --engine spark` on {spark['rows']:,} generated rows (`--spark-rows`), whole process "
             "wall time including the JVM's start; one run each, the DuckDB engine's the median of the repeats. "
             "The standalone cluster is started by the benchmark on 127.0.0.1 from the pip PySpark's "
             f"`spark-class`. Load average (1 min) before and after: {spark['load'][0]:.1f}, {spark['load'][-1]:.1f}. "
             f"Answers: {same}.", "",
             "| engine | wall time (s) | vs DuckDB engine |", "|---|---:|---:|"]
    lines += [f"| {name} | {m.seconds:.2f} | {m.seconds / duck.seconds:.1f}x |" for name, m in runs.items()
              if name != SPARK_FULL]
    if SPARK_FULL in runs:
        lines.append(f"| {SPARK_FULL}, {spark['full_rows']:,} rows | {runs[SPARK_FULL].seconds:.2f} | "
                     f"{runs[SPARK_FULL].seconds / full_run.seconds:.1f}x |")
    lines += ["", "Where a local[2] run's time goes (one more run, in process, without the JVM's start): seconds and "
              "Spark jobs per phase, the jobs from Spark's status tracker.", "",
              "| phase | seconds | Spark jobs |", "|---|---:|---:|"]
    lines += [f"| {name} | {seconds:.2f} | {jobs:.0f} |" for name, (seconds, jobs) in spark["profile"].items()]
    return lines


def spark_targets(spark: dict | None, full_run: Measure) -> list[tuple[str, bool | None, str]]:
    """The Spark targets; each is judged only on the input it names (the 5x one on the benchmark's own input,
    against its full run, when the Spark runs use another; the job count on any input, since a run's jobs
    follow the pipeline, not the rows)."""
    one = "Spark local[2] on 1 M rows under 25 s including JVM start"
    six = "Spark local[2] within 5x of the DuckDB engine on 6 M rows"
    jobs = f"Spark jobs per run at most {MAX_SPARK_JOBS}"
    if spark is None:
        return [(name, None, "not run (--spark-rows 0)") for name in (one, six, jobs)]
    runs, rows = spark["runs"], spark["rows"]
    local = runs[SPARK_LOCAL].seconds
    first = (one, local < 25 if 0.9e6 <= rows <= 1.1e6 else None, f"{local:.1f} s at {rows / 1e6:,.1f} M rows")
    duck = next(iter(runs.values())).seconds
    if SPARK_FULL in runs:
        rows, local, duck = spark["full_rows"], runs[SPARK_FULL].seconds, full_run.seconds
    second = (six, local <= 5 * duck if rows >= 6e6 else None, f"{local / duck:.1f}x at {rows / 1e6:,.1f} M rows")
    counted = int(spark["profile"]["total in process"][1])
    third = (jobs, counted <= MAX_SPARK_JOBS, f"{counted} jobs at {spark['rows'] / 1e6:,.1f} M rows")
    return [first, second, third]


LANDING = "landing (hash, copy) and the rest"
HIGH_LIMIT = "3GB"
HIGH_MEMORY = f"footfall run, FOOTFALL_MEMORY_LIMIT={HIGH_LIMIT} (the default was 3 GiB before 2026-11-26)"
TOTAL = "total in process"
WHY_HEADING = "## Why, and what it would take"  # written by hand from the profile: kept here

# bench/bench_parse.py writes this section; a full benchmark keeps it.
PARSE_HEADING = "## Parse"
S3_HEADING = "## S3 lake, before and after"  # written by bench_s3.py, kept here


def section(text: str, heading: str) -> str:
    """The part of a Markdown ``text`` from the line that starts with ``heading`` to the next second-level
    heading, or "" when there is none."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    if start is None:
        return ""
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "".join(lines[start:end])


def previous_profile(text: str) -> tuple[dict[str, float], str]:
    """The last column of the previous BENCHMARKS.md's profile, and the day it was measured, so each run shows
    its profile beside the one before it."""
    header = next((line.split(" on ", 1)[1] for line in text.splitlines()
                   if line.startswith("Measured by `make bench` on ")), "none")
    when, _, where = header.partition(": ")
    if where and where.rstrip(".") != machine():
        when += f", on another machine: {where.rstrip('.')}; the two columns are not comparable"
    profile: dict[str, float] = {}
    for line in section(text, "## Where the time goes").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("phase", "---") and cells[2] not in ("–", "---:"):
            with contextlib.suppress(ValueError):
                profile[cells[0]] = float(cells[2])
    return profile, when


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=6_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--huge-rows", type=int, default=100_000_000, help="0 to skip the scale run")
    parser.add_argument("--spark-rows", type=int, default=1_000_000,
                        help="rows for the Spark runs (1 M: the 25 s target; local[2] also runs on --rows for the 5x "
                             "target); 0 to skip Spark")
    parser.add_argument("--work", type=Path, default=HERE / "results")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    old = args.out.read_text() if args.out.exists() else ""
    results = run_all(args.work, args.rows, args.repeat, args.huge_rows, args.spark_rows)
    text = report(results, args.repeat, *previous_profile(old))
    kept = "".join(part for part in (section(old, WHY_HEADING), section(old, PARSE_HEADING),
                                     section(old, S3_HEADING)) if part)
    args.out.write_text(text + (f"\n\n{kept}" if kept else "\n"))
    print(text)


if __name__ == "__main__":
    main()
