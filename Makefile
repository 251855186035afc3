# Two commands for a newcomer: `make demo` (the whole pipeline on the demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUN ?= runs/demo
DATA ?= demo_data

.PHONY: demo test install check clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

# The demo recipe (recipes.py): folds, the recipe's models, a stack, a submission; then the report.
demo: $(VENV)/.installed
	$(PY) -m challenge.demo --out $(DATA)
	rm -rf $(RUN)
	$(PY) recipes.py --recipe demo --data-dir $(DATA) --run-dir $(RUN) --quiet
	$(PY) report.py --run-dir $(RUN)

# Validate a data folder before training: make check DATA=/path/to/challenge
check: $(VENV)/.installed
	$(PY) -m challenge.check --data-dir $(DATA)

# Two worker processes (pytest-xdist); the tests that share a costly fixture stay in one worker
# (tests/conftest.py: WORKER_GROUPS). `make test TEST_WORKERS=4` on a bigger machine.
TEST_WORKERS ?= 2
test: $(VENV)/.installed
	$(PY) -m pytest -q tests -n $(TEST_WORKERS) --dist loadgroup

clean:
	rm -rf $(VENV) runs cache $(DATA)
