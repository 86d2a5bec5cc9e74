"""The structure the code and its tests promise, checked on the tree as it is: the layering's import contracts,
and a test tree where shared helpers live once in ``tests/support`` and no test module leans on another."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "footfall"
TESTS = ROOT / "tests"


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, by its full dotted name (``from a import b`` counts as ``a`` and ``a.b``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_layering_holds_as_the_import_contracts_state() -> None:
    """The contracts in pyproject.toml (the framework imports nothing of Melbourne, nothing below the CLI imports
    it, the engines know no storage backend), checked on the tree as it is."""
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(linter), "--no-cache"], capture_output=True, text=True, cwd=SRC.parents[1])
    assert done.returncode == 0, done.stdout[-2000:]
    assert "0 broken" in done.stdout


def test_no_test_module_imports_another() -> None:
    """What two test modules share belongs in ``tests/support`` or a conftest; a test module imported by another
    runs its module-level code twice and ties the two together."""
    leaning = {str(path.relative_to(TESTS)): sorted(name for name in imported(path)
                                                     if any(part.startswith(("test_", "conftest"))
                                                            for part in name.split(".")))
               for path in TESTS.rglob("*.py")}
    assert {path: names for path, names in leaning.items() if names} == {}


def test_the_tests_root_holds_only_the_conftest_beside_its_packages() -> None:
    """A helper module at the tests root is importable as a top-level name (``cli``, ``portal``) that shadows a
    package of the same name; the helpers are ``support.*``."""
    assert sorted(p.name for p in TESTS.glob("*.py")) == ["conftest.py"]
    assert (TESTS / "support" / "__init__.py").is_file()


# These run the Melbourne job on purpose, as the one job there is: a `footfall run` takes its lake's lock once
# (test_session), a Spark cluster publishes to S3 what DuckDB gives (test_spark_s3), a killed run's leftovers,
# the job's temporary names included, are swept (test_lake_integrity).
ON_MELBOURNE = {"test_session.py", "test_spark_s3.py", "test_lake_integrity.py"}
OF_MELBOURNE = ("footfall.melbourne", "support.synthetic", "support.portal", "support.samples", "support.markup",
                "support.counts", "support.landing", "support.containers")
MELBOURNE_FIXTURES = {"files", "real", "portal", "markup_lake"}


def test_the_framework_tests_need_nothing_of_melbourne() -> None:
    """The framework knows nothing of pedestrians, and neither do its tests: they run the shops pipeline
    (tests/framework/pipeline) or pipelines of their own, never the Melbourne one, its data or its helpers."""
    leaning: dict[str, list[str]] = {}
    for path in sorted((TESTS / "framework").glob("*.py")):
        if path.name in ON_MELBOURNE:
            continue
        tree = ast.parse(path.read_text())
        fixtures = {arg.arg for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                    for arg in node.args.args if arg.arg in MELBOURNE_FIXTURES}
        found = sorted(n for n in imported(path) if n.startswith(OF_MELBOURNE)) + sorted(fixtures)
        if found:
            leaning[path.name] = found
    assert leaning == {}
