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

.PHONY: run test demo bench dist lint clean browser lock

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

run: $(STAMP)
	$(BIN)/footfall run $(ARGS)

# The report's test opens it in Debian's Chromium; install it when missing (root on Debian).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium >/dev/null; } || echo "chromium unavailable: the browser test will skip"

test: $(STAMP) $(CHECKOV) $(MERMAID) browser
	FOOTFALL_CHECKOV=$(abspath $(CHECKOV)) $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

demo: $(STAMP)
	$(BIN)/footfall demo $(ARGS)

bench: $(STAMP)
	$(BIN)/python bench/run.py $(ARGS)

dist: $(STAMP)
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) .tools dist build .pytest_cache
