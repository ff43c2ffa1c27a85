# leadscore — `make run` serves the whole pipeline; `make test` proves it.
# Everything a fresh machine needs beyond Python 3.11+, a JDK 17+ and Maven is
# installed here: the virtual environment, the project, the Kafka jars.

# The distribution's python3.11 where it is whole (venv and C headers): Debian builds it with
# profile-guided optimization and LTO, as the python:3.11-slim image of deploy/Dockerfile is
# built. A pyenv build defaults to neither (and a shared libpython): the scorer took ~12% more
# time per event on it (bench/RESULTS.md, session 15). `make PYTHON=...` picks another;
# `make clean` drops the venv.
PYTHON ?= $(shell for p in /usr/bin/python3.11 python3.11 python3; do \
  $$p -c 'import ensurepip, os, sysconfig as s; assert os.path.exists(s.get_paths()["include"] + "/Python.h")' \
  2>/dev/null && { command -v $$p; exit 0; }; done; echo python3)
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
