# Two commands matter: `make grade` (instructors) and `make test` (the grader's own suite).
# Both set up what they need: a virtualenv, a Docker engine, the runtime image.
PYTHON      ?= python3
VENV        ?= .venv
SUBMISSIONS ?= submissions
REPORTS     ?= reports
PYTEST_ARGS ?=
BENCH_ARGS  ?=

BIN := $(VENV)/bin

.PHONY: grade test bench image engine venv clean

grade: venv image
	$(BIN)/grader grade $(SUBMISSIONS) --out $(REPORTS)

test: venv image
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

bench: venv image
	$(BIN)/python -m bench.run $(BENCH_ARGS)

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

engine:
	scripts/ensure-docker-engine.sh

image: engine
	scripts/build-images.sh

clean:
	-$(BIN)/grader clean 2>/dev/null
	rm -rf $(VENV) $(REPORTS) .pytest_cache build *.egg-info
	-docker image rm socketlab-runtime:latest 2>/dev/null
