# Two commands matter: `make grade` (instructors) and `make test` (the grader's own suite).
# Both set up what they need: a virtualenv, a Docker engine, the runtime image.
PYTHON      ?= python3
VENV        ?= .venv
SUBMISSIONS ?= submissions
REPORTS     ?= reports
PYTEST_ARGS ?=
BENCH_ARGS  ?=
EXPORTS     ?= exports
ASSIGNMENT  ?= uppercase
PLATFORMS   := gradescope prairielearn autolab classroom

BIN := $(VENV)/bin

.PHONY: grade test lint bench image engine chromium venv clean $(addprefix export-,$(PLATFORMS))

grade: venv image
	$(BIN)/grader grade $(SUBMISSIONS) --out $(REPORTS)

test: venv image chromium lint
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

# Style and types: ruff (lint and format) and mypy, as configured in pyproject.toml.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: venv image
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# One per platform: what its instructor uploads, in $(EXPORTS)/ (docs/platforms.md says where it goes).
$(addprefix export-,$(PLATFORMS)): export-%: venv
	$(BIN)/grader export $* --out $(EXPORTS) --assignment $(ASSIGNMENT)

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

engine:
	scripts/ensure-docker-engine.sh

# Headless Chromium renders the HTML reports in tests/html/.
chromium:
	scripts/ensure-chromium.sh

image: engine
	scripts/build-images.sh

clean:
	-$(BIN)/grader clean 2>/dev/null
	rm -rf $(VENV) $(REPORTS) $(EXPORTS) .pytest_cache build *.egg-info
	-docker image rm socketlab-runtime:latest 2>/dev/null
