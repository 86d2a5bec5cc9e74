"""AWS Glue job: fetch the portal into the lake's landing zone (an S3 lake on Glue).

Glue passes `--JOB_NAME`, `--lake`, `--portal` and more as `--key value` pairs; keys it adds itself
(`--job-bookmark-option`, `--TempDir`, ...) are ignored.
"""

from __future__ import annotations

import argparse
import sys


def arguments(argv: list[str]) -> argparse.Namespace:
    from footfall.melbourne.portal import PORTAL_URL

    parser = argparse.ArgumentParser(prog="footfall_ingest")
    parser.add_argument("--JOB_NAME", default="footfall-ingest")
    parser.add_argument("--lake", required=True)
    parser.add_argument("--portal", default=PORTAL_URL)
    parser.add_argument("--full-refresh", default="false")
    known, _ = parser.parse_known_args(argv)
    return known


def main(argv: list[str]) -> None:
    from footfall.melbourne.ingest import ingest_melbourne
    from footfall.melbourne.job import melbourne, melbourne_lake
    from footfall.settings import Settings

    args = arguments(argv)
    refresh = args.full_refresh.lower() == "true"
    context = melbourne(Settings.resolve(lake=args.lake))
    with melbourne_lake(context, write=True, portal=True) as held:
        result = ingest_melbourne(held.work, args.portal, full_refresh=refresh)
        held.lake.take(held.work)
        held.lake.publish_inputs()
    print(f"{args.JOB_NAME}: {len(result.landed)} file(s) landed, {len(result.unchanged)} unchanged")


if __name__ == "__main__":
    main(sys.argv[1:])
