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
# PySpark has no S3 connector; the sagemaker-pyspark sdist on PyPI ships hadoop-aws and the AWS SDK it was
# built against. Only those two jars are kept (FOOTFALL_SPARK_JARS may name another folder).
SPARK_JARS   := .tools/spark-jars
SAGEMAKER    := sagemaker-pyspark==1.4.5 --hash=sha256:05ca2d5081d7138ce29a8fb0a9cba077f28c825288ed07aed46a82e63c0bf1fb
S3A_JAR      := $(SPARK_JARS)/hadoop-aws-3.3.1.jar

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

# The bundle lands first, so the hadoop-aws jar being there means both are.
$(S3A_JAR): | $(BIN)/python
	rm -rf $(SPARK_JARS).tmp && mkdir -p $(SPARK_JARS).tmp $(SPARK_JARS)
	echo "$(SAGEMAKER)" > $(SPARK_JARS).tmp/requirements.txt
	$(BIN)/pip download --quiet --no-deps --no-binary :all: --require-hashes -r $(SPARK_JARS).tmp/requirements.txt \
		-d $(SPARK_JARS).tmp
	tar -xzf $(SPARK_JARS).tmp/sagemaker_pyspark-1.4.5.tar.gz -C $(SPARK_JARS).tmp --strip-components=3 \
		sagemaker_pyspark-1.4.5/deps/jars/hadoop-aws-3.3.1.jar sagemaker_pyspark-1.4.5/deps/jars/aws-java-sdk-bundle-1.11.901.jar
	mv $(SPARK_JARS).tmp/aws-java-sdk-bundle-1.11.901.jar $(SPARK_JARS)/
	mv $(SPARK_JARS).tmp/hadoop-aws-3.3.1.jar $(SPARK_JARS)/
	rm -rf $(SPARK_JARS).tmp

spark-jars: $(S3A_JAR)

run: $(STAMP)
	$(BIN)/footfall run $(ARGS)

# The report's test opens it in Debian's Chromium; install it when missing (root on Debian).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium >/dev/null; } || echo "chromium unavailable: the browser test will skip"

# Two pytest-xdist workers; a module's tests stay on one, so its shared fixtures are built once, and all Spark
# tests share one (the groups are set in tests/conftest.py). WORKERS=1 runs everything in one process.
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
