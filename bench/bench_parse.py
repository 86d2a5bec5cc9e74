"""Parsing one generated archive-format file: the parse alone (landed first, then parsed, each timed in process,
on a connection set up as a run's) and the whole ``footfall run``, each in its own process (wall time, peak
RSS). ``--compare SRC`` alternates every measurement with another checkout's ``src`` folder (the code before a
change), so both are measured on the same machine under the same load; the 1-minute load average is noted
beside each run, as the machine may be shared.

    python bench/bench_parse.py --rows 1000000 --rows 6000000 [--repeat 3] [--compare OTHER/src]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from datetime import date
from pathlib import Path

from run import PARSE_HEADING, PY, footfall, generate, measure, section

PARSE = """
import json, sys, time
from pathlib import Path
from footfall.engines.duckdb import connect
from footfall.lake.local import LocalLake
from footfall.melbourne.landing import land_file, parse_file
source, root, out = map(Path, sys.argv[1:4])
lake = LocalLake.at(root)
lake.ensure()
landing = time.perf_counter()
landed, _ = land_file(lake, source, "counts")
landing = time.perf_counter() - landing
with connect(temp_dir=root / "_spill") as con:
    started, cpu = time.perf_counter(), time.process_time()
    staged = parse_file(con, lake, landed)
    out.write_text(json.dumps({"parse": time.perf_counter() - started, "cpu": time.process_time() - cpu,
                               "land": landing, "rows": staged.rows}))
"""


def one(data: Path, work: Path, src: str | None) -> dict[str, float]:
    """Parse alone, then the whole run, with ``src`` first on the import path (None: this checkout)."""
    env = {"PYTHONPATH": src} if src else None
    lake, timing = work / "lake", work / "parse.json"
    shutil.rmtree(lake, ignore_errors=True)
    load = os.getloadavg()[0]
    parse_process = measure([PY, "-c", PARSE, str(data), str(lake), str(timing)], env=env)
    shutil.rmtree(lake, ignore_errors=True)
    whole = measure(footfall("run", "--counts", str(data), "--lake", str(lake)), env=env)
    shutil.rmtree(lake, ignore_errors=True)
    parsed = json.loads(timing.read_text())
    return {"load": load, "land": parsed["land"], "parse": parsed["parse"], "parse_cpu": parsed["cpu"],
            "parse_wall": parse_process.seconds, "parse_peak": parse_process.peak_mb, "run_wall": whole.seconds,
            "run_cpu": whole.cpu_seconds, "run_peak": whole.peak_mb, "load_after": os.getloadavg()[0]}


LOAD = "load"
COLUMNS = {"land": "land (s)", "parse": "parse (s)", "parse_cpu": "parse CPU (s)", "parse_wall": "parse process (s)",
           "parse_peak": "parse process peak (MB)", "run_wall": "footfall run (s)", "run_cpu": "run CPU (s)",
           "run_peak": "run peak (MB)"}


def table(rows: int, runs: dict[str, list[dict[str, float]]]) -> list[str]:
    """One Markdown table: the median of each figure per version, and the load average before each run."""
    repeat = len(next(iter(runs.values())))
    lines = [f"| {rows:,} rows (median of {repeat}) | {' | '.join(COLUMNS.values())} | load (1 min) |",
             "|---|" + "---:|" * len(COLUMNS) + "---|"]
    for name, measured in runs.items():
        med = {key: statistics.median(r[key] for r in measured) for key in COLUMNS}
        cells = " | ".join(f"{med[key]:,.0f}" if key.endswith("peak") else f"{med[key]:.2f}" for key in COLUMNS)
        lines.append(f"| {name} | {cells} | {', '.join(f'{r[LOAD]:.1f}' for r in measured)} |")
    return lines



def write_section(out: Path, lines: list[str]) -> None:
    """Put the parse section into ``out`` (BENCHMARKS.md), in place of the one there, else at its end."""
    text = out.read_text() if out.exists() else ""
    old = section(text, PARSE_HEADING)
    new = "\n".join(lines) + "\n"
    out.write_text(text.replace(old, new + ("\n" if old.endswith("\n\n") else "")) if old else
                   text + ("\n" if text else "") + new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="rows to generate (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare", help="another checkout's src folder, measured alternately as 'before'")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "footfall-bench-parse")
    parser.add_argument("--out", type=Path, help="write the tables into this file's parse section (BENCHMARKS.md)")
    args = parser.parse_args()
    versions = {"before": str(Path(args.compare).resolve()), "after": None} if args.compare else {"this": None}
    lines = [f"{PARSE_HEADING}", "", f"`bench/bench_parse.py` on {date.today()}: each size's archive-format file "
             "(`footfall generate --format archive`, 52 sensors from June 2009) landed and parsed in one process "
             "(land and parse timed in it, CPU = user + system time of the parse), then `footfall run` on it in "
             "another; wall time and peak RSS per process (os.wait4)"
             + (", the versions alternating run by run" if args.compare else "") + "."]
    for rows in args.rows or [1_000_000]:
        args.work.mkdir(parents=True, exist_ok=True)
        data = args.work / f"archive-{rows}.csv"
        if not data.exists():
            generate(data, rows)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in versions}
        for i in range(args.repeat):
            for name, src in versions.items():
                runs[name].append(one(data, args.work, src))
                shown = ", ".join(f"{label} {runs[name][-1][key]:.2f}" for key, label in COLUMNS.items())
                print(f"{rows:,} rows, {name}, run {i + 1}: {shown}, load {runs[name][-1][LOAD]:.1f} -> "
                      f"{runs[name][-1]['load_after']:.1f}", flush=True)
        lines += ["", *table(rows, runs)]
    print("\n".join(lines))
    if args.out:
        write_section(args.out, lines)


if __name__ == "__main__":
    main()
