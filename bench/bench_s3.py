"""An S3 lake, this checkout beside another: a run of the history, a run of one new month, and a fresh `top`,
each a process of its own against moto's S3 server on loopback, alternating the two checkouts.

    python bench/bench_s3.py --rows 1000000 --compare /path/to/other/checkout/src

The other checkout runs with its own ``src`` first on PYTHONPATH (the same installed packages); where it kept a
working copy of an S3 lake, each of its commands gets a fresh one, as a fresh machine would. Each command starts
with an empty read cache, as on a fresh machine, except "month, same machine": the month after the history on
a second lake, with the cache the history's run left.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

from run import Measure, bucket, footfall, generate, measure, moto_server, split_last_month

STEPS = ("history", "month", "month, same machine", "top")


def one(name: str, src: Path | None, endpoint_env: dict[str, str], work: Path, history: Path, month: Path,
        i: int) -> dict[str, Measure]:
    lake = f"s3://{bucket(endpoint_env['AWS_ENDPOINT_URL'], f'{name}-{i}')}/lake"
    env = dict(endpoint_env)
    if src is not None:
        env["PYTHONPATH"] = str(src)

    def fresh(step: str) -> dict[str, str]:
        return {**env, "FOOTFALL_CACHE": str(work / f"cache-{name}-{i}-{step}")}

    again = f"s3://{bucket(endpoint_env['AWS_ENDPOINT_URL'], f'{name}-{i}-again')}/lake"
    found = {"history": measure(footfall("run", "--counts", str(history), "--lake", lake), env=fresh("history")),
             "month": measure(footfall("run", "--counts", str(month), "--lake", lake), env=fresh("month"))}
    measure(footfall("run", "--counts", str(history), "--lake", again), env=fresh("again"))
    found["month, same machine"] = measure(footfall("run", "--counts", str(month), "--lake", again), env=fresh("again"))
    found["top"] = measure(footfall("top", "--by", "month", "--lake", lake), env=fresh("top"))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare", type=Path, required=True, help="the other checkout's src folder")
    parser.add_argument("--work", type=Path, default=Path("/tmp/footfall-bench-s3"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    data, history, month = (args.work / n for n in ("data.csv", "history.csv", "month.csv"))
    generate(data, args.rows)
    label = split_last_month(data, history, month)
    runs: dict[str, list[dict[str, Measure]]] = {"this": [], "other": []}
    loads = []
    with moto_server() as (endpoint, env):
        env = {**env, "AWS_ENDPOINT_URL": endpoint}
        for i in range(args.repeat):
            for name, src in (("this", None), ("other", args.compare)):
                loads.append(os.getloadavg()[0])
                runs[name].append(one(name, src, env, args.work, history, month, i))
                print(name, i, {k: f"{m.seconds:.2f}s {m.peak_mb:.0f}MB" for k, m in runs[name][-1].items()},
                      flush=True)
    print(f"\n{args.rows:,} rows, the new month {label}; medians of {args.repeat}, alternating; load average "
          f"{min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores\n")
    print("| step | this: s | this: MB | other: s | other: MB |\n|---|---|---|---|---|")
    for step in STEPS:
        this = [r[step] for r in runs["this"]]
        other = [r[step] for r in runs["other"]]
        print(f"| {step} | {statistics.median(m.seconds for m in this):.2f} | "
              f"{statistics.median(m.peak_mb for m in this):.0f} | {statistics.median(m.seconds for m in other):.2f} | "
              f"{statistics.median(m.peak_mb for m in other):.0f} |")


if __name__ == "__main__":
    main()
