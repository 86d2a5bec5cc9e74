"""Running the footfall CLI from tests, the way a user does: through ``main()``, its error handling included.

``footfall()`` runs the command in this process (importing DuckDB, pyarrow and Typer in a new Python costs
about a second a call) with its own argv, environment, working directory and standard streams, all restored
afterwards, and returns what a process would have: exit code, stdout, stderr. ``process=True`` (or any
``subprocess.run`` argument such as ``preexec_fn``) runs a real process instead, for what only one can show:
signals, resource limits, the time zone at start, a hung run bounded by a timeout.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import pytest

TIMEOUT = 300
# Read once when a process starts (DuckDB's ICU time zone), so only a real process sees them change.
AT_START = frozenset({"TZ"})


def footfall(*args: str, env: Mapping[str, str] | None = None, timeout: float | None = None, process: bool = False,
             cwd: str | Path | None = None, input: str | None = None,
             **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``footfall *args``; ``env`` is laid over this process's environment, ``cwd`` and ``input`` as for
    ``subprocess.run``. In this process unless ``process`` is set, a ``timeout`` must bound a hang, ``kwargs``
    are given, ``env`` sets a variable read at start or the run starts Spark."""
    if process or timeout is not None or kwargs or AT_START & set(env or {}) or _starts_spark(args):
        return subprocess.run([sys.executable, "-m", "footfall", *args], capture_output=True, text=True,
                              timeout=timeout or TIMEOUT, env={**os.environ, **(env or {})}, cwd=cwd, input=input,
                              **kwargs)
    return run(args, env=env, cwd=cwd, input=input)


def _starts_spark(args: tuple[str, ...]) -> bool:
    """A Spark run's JVM lives as long as the process that started it, so it gets a process of its own."""
    return any(a in ("spark", "--engine=spark") or a.startswith("spark://") for a in args)


def run(args: list[str] | tuple[str, ...], env: Mapping[str, str] | None = None, cwd: str | Path | None = None,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    """``main()`` with ``args`` as its command line; an exception it lets through (``--debug``) is printed as
    Python prints one and exits 1, as the process would."""
    from footfall.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with _isolated(["footfall", *args], env, cwd, input, stdout, stderr):
        try:
            main()
            code = 0
        except SystemExit as done:
            code = _exit_code(done.code, stderr)
        except Exception:
            traceback.print_exc(file=stderr)
            code = 1
    return subprocess.CompletedProcess(["footfall", *args], code, _text(stdout), _text(stderr))


def _exit_code(code: object, stderr: io.StringIO) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=stderr)
    return 1


def _text(stream: io.StringIO) -> str:
    """What a text-mode pipe hands back: universal newlines."""
    return stream.getvalue().replace("\r\n", "\n").replace("\r", "\n")


@contextlib.contextmanager
def _isolated(argv: list[str], env: Mapping[str, str] | None, cwd: str | Path | None, input: str | None,
              stdout: io.StringIO, stderr: io.StringIO) -> Iterator[None]:
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved = sys.argv, sys.stdin, sys.stdout, sys.stderr
    try:
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        others = set(threading.enumerate()) - {threading.current_thread()}
        sys.argv, sys.stdin = argv, io.StringIO(input or "")
        sys.stdout, sys.stderr = _Routed(stdout, saved[2], others), _Routed(stderr, saved[3], others)
        yield
    finally:
        sys.argv, sys.stdin, sys.stdout, sys.stderr = saved
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


class _Routed(io.TextIOBase):
    """A standard stream for one run: what the run's threads write is captured; what threads that were already
    running write (a test server answering a client that hung up) goes where it went before."""

    def __init__(self, captured: io.StringIO, before: IO[str], others: set[threading.Thread]) -> None:
        self.captured, self.before, self.others = captured, before, others

    def write(self, text: str) -> int:
        target = self.before if threading.current_thread() in self.others else self.captured
        return target.write(text)

    def flush(self) -> None:
        self.before.flush()

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


def wide(*args: str, env: Mapping[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``footfall *args`` on a wide terminal, so a line is never wrapped and one error stays one line."""
    return footfall(*args, env={"COLUMNS": "200", **(env or {})}, **kwargs)


def one_line_error(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The command failed with ``code`` and a single error line, the last on stderr, never a traceback nor a bug
    (``error: unexpected ...``); that line."""
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert done.stderr.rstrip("\n").splitlines()[-1] == errors[0], done.stderr
    assert not errors[0].startswith("error: unexpected "), errors[0]
    return errors[0]


def own_words_error(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """:func:`one_line_error`, and the line has no "unexpected" anywhere: footfall's own words, never a bug report
    nor a library's surprise passed on."""
    line = one_line_error(done, code)
    assert "unexpected" not in line, line
    return line


def answers(lake: Path) -> dict[str, bytes]:
    """The curated CSVs a run published, by name, as bytes: two lakes agree when these are equal."""
    return {p.name: p.read_bytes() for p in sorted((lake / "curated").glob("*.csv"))}


def in_process(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
               *args: str) -> tuple[int, str, str]:
    """``footfall *args`` in this process through ``main()``: exit code, stdout, stderr."""
    done = run(list(args))
    return done.returncode, done.stdout, done.stderr
