"""One settings object: what a run is told by flags, the environment and defaults, resolved once.

Every environment variable footfall reads is read here (:meth:`Settings.resolve`); everything below
takes the resolved values. A flag given wins over the environment, which wins over the default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from footfall.errors import FootfallError

PREFIX = "FOOTFALL_"
# What DuckDB's memory_limit takes: a number and a unit (bytes, KB .. TB, KiB .. TiB), or a percentage.
MEMORY_PATTERN = r"(?i)\d+(?:\.\d+)?\s*(?:b|bytes?|[kmgt](?:i?b)?|(?:kilo|mega|giga|tera)bytes?|%)"


@dataclass(frozen=True)
class Settings:
    lake: str = "lake"  # FOOTFALL_LAKE: a folder, s3://bucket/prefix or file:///folder
    engine: str = "duckdb"
    spark_master: str = "local[*]"
    s3_endpoint: str | None = None  # AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL
    region: str | None = None  # AWS_REGION, else AWS_DEFAULT_REGION
    memory_limit: str | None = None  # FOOTFALL_MEMORY_LIMIT, for the DuckDB engine
    spark_jars: Path | None = None  # FOOTFALL_SPARK_JARS, else $XDG_DATA_HOME/footfall/spark-jars
    data_home: Path = Path("~/.local/share")  # XDG_DATA_HOME
    cache: Path = Path("~/.cache/footfall")  # FOOTFALL_CACHE, else $XDG_CACHE_HOME/footfall: object lakes' read caches
    socrata_app_token: str | None = field(default=None, repr=False)  # SOCRATA_APP_TOKEN
    extra: Mapping[str, str] = field(default_factory=dict)  # the other FOOTFALL_* variables, for a job's own use

    @classmethod
    def resolve(cls, environ: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        """Settings from ``flags`` (None: not given), then ``environ`` (the process's by default), then the
        defaults."""
        env = os.environ if environ is None else environ

        def first(*names: str) -> str | None:
            return next((env[n] for n in names if env.get(n)), None)

        found: dict[str, Any] = {
            "lake": first("FOOTFALL_LAKE"),
            "s3_endpoint": first("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
            "region": first("AWS_REGION", "AWS_DEFAULT_REGION"),
            "memory_limit": first("FOOTFALL_MEMORY_LIMIT"),
            "spark_jars": Path(jars).expanduser() if (jars := first("FOOTFALL_SPARK_JARS")) else None,
            "data_home": Path(first("XDG_DATA_HOME") or "~/.local/share").expanduser(),
            "cache": Path(first("FOOTFALL_CACHE") or Path(first("XDG_CACHE_HOME") or "~/.cache") / "footfall")
            .expanduser(),
            "socrata_app_token": first("SOCRATA_APP_TOKEN"),
            "extra": {k[len(PREFIX):]: v for k, v in env.items() if k.startswith(PREFIX)},
        }
        found.update({k: v for k, v in flags.items() if v is not None})
        settings = cls(**{k: v for k, v in found.items() if v is not None})
        settings.check()
        return settings

    def check(self) -> None:
        if self.memory_limit and not re.fullmatch(MEMORY_PATTERN, self.memory_limit.strip()):
            raise FootfallError(f"FOOTFALL_MEMORY_LIMIT must be an amount of memory such as 4GB or 512MB, "
                                f"not {self.memory_limit!r}")

    def but(self, **changes: Any) -> Settings:
        """These settings with some values replaced (None leaves a value as it is)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def jars_folder(self) -> Path:
        """Where the S3A jars for Spark are looked for and fetched to."""
        return self.spark_jars or self.data_home / "footfall" / "spark-jars"
