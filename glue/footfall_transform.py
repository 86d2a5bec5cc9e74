"""AWS Glue job: parse what landed, rebuild the answers, publish them.

Glue passes `--JOB_NAME`, `--lake`, `--pipeline` and more as `--key value` pairs; keys it adds itself
are ignored.
"""

from __future__ import annotations

import argparse
import sys


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="footfall_transform")
    parser.add_argument("--JOB_NAME", default="footfall-transform")
    parser.add_argument("--lake", required=True)
    parser.add_argument("--pipeline", default="melbourne")
    parser.add_argument("--database", default="pedestrian_counting_system")
    known, _ = parser.parse_known_args(argv)
    return known


def main(argv: list[str]) -> None:
    from footfall.lake import Lake
    from footfall.melbourne.run import run

    args = arguments(argv)
    if args.pipeline != "melbourne":
        raise SystemExit(f"unknown pipeline {args.pipeline!r}")
    result = run(Lake.at(args.lake))
    print(f"{args.JOB_NAME}: {len(result.run.published)} output(s) published, {result.quarantined} quarantined")


if __name__ == "__main__":
    main(sys.argv[1:])
