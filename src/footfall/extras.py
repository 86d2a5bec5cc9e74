"""The optional extras (``pip install 'footfall[EXTRA]'``): which package each brings, and the one line a command
gives when it needs one that is not installed, instead of a traceback from deep inside the run.

Every import of an optional package that a command can reach first goes through :func:`require`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from footfall.errors import FootfallError

# extra -> the package it installs, as pyproject.toml's optional-dependencies name them.
EXTRAS: dict[str, str] = {"aws": "boto3", "spark": "pyspark", "report": "plotly"}


class MissingExtra(FootfallError):
    """A command needs an optional package that is not installed (or does not import)."""


def install_hint(extra: str) -> str:
    """What to type to get ``extra``'s package.

    >>> install_hint("report")
    "pip install 'footfall[report]'"
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r} (extras: {', '.join(EXTRAS)})")
    return f"pip install 'footfall[{extra}]'"


def extra_of(package: str) -> str | None:
    """The extra that installs ``package``, if one does.

    >>> extra_of("pyspark"), extra_of("duckdb")
    ('spark', None)
    """
    return next((extra for extra, name in EXTRAS.items() if name == package), None)


def require(extra: str, module: str, needed_for: str) -> ModuleType:
    """``module`` (from ``extra``'s package) imported, or a :class:`MissingExtra` whose one line names the extra.

    ``needed_for`` says what the user asked for, e.g. "the HTML report". A package that is there but fails to
    import (one of its own dependencies missing) gets the import's error appended, since reinstalling the
    extra is then the likely fix but not a certain one.
    """
    hint = install_hint(extra)
    package = EXTRAS[extra]
    try:
        return importlib.import_module(module)
    except ImportError as e:
        absent = isinstance(e, ModuleNotFoundError) and (e.name or "").split(".")[0] == module.split(".")[0]
        cause = "" if absent else f" ({package} is there but does not import: {e})"
        raise MissingExtra(f"{needed_for} needs {package}: {hint}{cause}") from None
