# Every target bootstraps its own virtual environment: a fresh machine needs only Python 3.11+ (and Java for Spark).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# checkov pins its own dependency tree, so it lives in a venv of its own.
CHECKOV_VENV := .tools/checkov
CHECKOV      := $(CHECKOV_VENV)/bin/checkov
# Mermaid (from npm) parses the diagrams in the docs, inside the same headless Chromium.
MERMAID      := .tools/mermaid/node_modules/mermaid/dist/mermaid.min.js
# PySpark has no S3 connector: `footfall spark-jars` fetches hadoop-aws and the AWS SDK it was built against
# (from the hash-pinned sagemaker-pyspark sdist on PyPI). The checkout keeps them in .tools/spark-jars, where
# everything make runs (tests, bench, run, demo) looks, unless FOOTFALL_SPARK_JARS already names a folder.
SPARK_JARS   := .tools/spark-jars
S3A_JAR      := $(SPARK_JARS)/hadoop-aws-3.3.1.jar
export FOOTFALL_SPARK_JARS ?= $(abspath $(SPARK_JARS))

.PHONY: run test test-fast demo bench dist lint clean browser lock spark-jars

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs are pinned to constraints.txt, so a new release of a dependency cannot turn a fresh clone red.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

# Re-pin: the newest releases pyproject.toml's bounds allow, resolved in a throwaway venv (then run make test).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e ".[dev]"
	{ sed -n '1,2p' constraints.txt; .lock-venv/bin/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .lock-venv

$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet "checkov>=3.2"

$(MERMAID):
	@command -v npm >/dev/null 2>&1 && npm install --prefix .tools/mermaid --no-audit --no-fund --silent \
		"mermaid@11" || echo "npm unavailable: the Mermaid test will skip"

# The hadoop-aws jar is written last, so its being there means both are.
$(S3A_JAR): | $(STAMP)
	$(BIN)/footfall spark-jars $(SPARK_JARS)

spark-jars: $(S3A_JAR)

run: $(STAMP)
	$(BIN)/footfall run $(ARGS)

# The report's test opens it in Debian's Chromium; install it when missing (root on Debian).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium >/dev/null; } || echo "chromium unavailable: the browser test will skip"

# Two pytest-xdist workers; the tests that share a module-scoped fixture stay on one, so it is built once, and
# all Spark tests share one (the groups are set in tests/conftest.py). WORKERS=1 runs everything in one process.
WORKERS ?= 2
XDIST   := $(if $(filter 1,$(WORKERS)),-p no:xdist,-n $(WORKERS) --dist loadgroup)

test: $(STAMP) $(CHECKOV) $(MERMAID) $(S3A_JAR) browser
	FOOTFALL_CHECKOV=$(abspath $(CHECKOV)) $(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# The unmarked tests, in under a minute: no JVM, no browser, no checkov, nothing slow (markers in pyproject.toml).
FAST_TESTS := not slow and not spark and not browser and not infra
test-fast: lint
	$(BIN)/python -m pytest -m "$(FAST_TESTS)" $(XDIST) $(PYTEST_ARGS)

# Style, types (mypy, strict) and the layering's import contracts (import-linter, in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

demo: $(STAMP)
	$(BIN)/footfall demo $(ARGS)

bench: $(STAMP) $(S3A_JAR)
	$(BIN)/python bench/run.py $(ARGS)

dist: $(STAMP)
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) .tools dist build .pytest_cache
