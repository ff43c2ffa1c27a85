# leadscore — `make run` serves the whole pipeline; `make test` proves it.
# Everything a fresh machine needs beyond Python 3.11+, a JDK 17+ and Maven is
# installed here: the virtual environment, the project, the Kafka jars.

# The first python3.11 on the PATH. Debian's PGO+LTO build ran the scorer in ~11% less time,
# but the empty Faust agent the worker's ratio target is measured against gained more (the
# collector's figures were mixed); see bench/RESULTS.md, session 15, before switching.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Installing compiles scorer/ with mypyc (setup.py), so a changed scorer source reinstalls.
SCORER_SOURCES := $(filter-out scorer/__init__.py,$(wildcard scorer/*.py))

.PHONY: run demo test lint typecheck browser unit integration e2e bench install broker-start broker-stop clean

$(STAMP): pyproject.toml setup.py $(SCORER_SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/leadscore run

demo: $(STAMP)
	$(BIN)/leadscore demo

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The snippet's tests drive Debian's Chromium through Playwright (never a downloaded browser);
# ffmpeg makes their test video.
browser:
	@{ test -x /usr/bin/chromium && command -v ffmpeg >/dev/null; } || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium ffmpeg >/dev/null; }

# pytest starts the broker through deploy/kafka/broker.sh when none is running
# and stops what it started (tests/conftest.py).
test: lint typecheck browser
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration tests/e2e

# The benchmarks need the broker: one is started here when none runs, and stopped after.
bench: $(STAMP)
	@started=; if ! deploy/kafka/broker.sh status >/dev/null; then \
	  deploy/kafka/broker.sh start || exit 1; started=1; fi; \
	trap 'test -z "$$started" || deploy/kafka/broker.sh stop' EXIT; \
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

broker-start:
	deploy/kafka/broker.sh start

broker-stop:
	deploy/kafka/broker.sh stop

clean: broker-stop
	rm -rf var $(VENV)
