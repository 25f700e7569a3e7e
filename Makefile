# cropcast: two commands do all set-up on a fresh machine with Python >= 3.11.
#   make demo   create .venv, install cropcast, run `cropcast demo` on the default world
#   make test   create .venv, install cropcast with its dev tools, run ruff and pytest
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cropcast-installed

.PHONY: demo test install clean

demo: $(STAMP)
	$(BIN)/cropcast demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

install: $(STAMP)

# Reinstalled whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "cropcast needs Python >= 3.11; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." \
	       "Run e.g.: make $(MAKECMDGOALS) PYTHON=python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) cropcast-work .pytest_cache .ruff_cache *.egg-info
