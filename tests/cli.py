"""Running the footfall CLI from tests, the way a user does: a process of its own, through ``main()``.

A real process keeps each run's exit code, stderr, signals, environment and time zone its own, so every test
sees exactly what a user would; one timeout bounds a hung run instead of hanging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

TIMEOUT = 300


def footfall(*args: str, env: Mapping[str, str] | None = None, timeout: float = TIMEOUT,
             **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``footfall *args`` in a new Python; ``env`` is laid over this process's environment, ``kwargs`` go to
    ``subprocess.run`` (``cwd``, ``input``, ``preexec_fn``)."""
    return subprocess.run([sys.executable, "-m", "footfall", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, **kwargs)


def answers(lake: Path) -> dict[str, bytes]:
    """The curated CSVs a run published, by name, as bytes: two lakes agree when these are equal."""
    return {p.name: p.read_bytes() for p in sorted((lake / "curated").glob("*.csv"))}


def in_process(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
               *args: str) -> tuple[int, str, str]:
    """``footfall *args`` in this process through ``main()`` (its error handling included), for the many quick
    refusals where a new Python would cost more than the check; exit code, stdout, stderr."""
    from footfall.cli import main

    monkeypatch.setattr(sys, "argv", ["footfall", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main()
    captured = capsys.readouterr()
    return int(done.value.code or 0), captured.out, captured.err
