# cropcast: two commands do all set-up on a fresh machine with Python >= 3.11.
#   make demo   create .venv, install cropcast, run `cropcast demo` on the default world
#   make test   create .venv, install cropcast with its dev tools, run ruff and pytest
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cropcast-installed
# The package's files by name: the editable install is a tree of links to them (strict
# mode), so adding or removing one reinstalls; editing one does not need to.
TREE := $(VENV)/.cropcast-tree
PACKAGE_DIRS := cropcast features models forecast configs

.PHONY: demo test install clean FORCE

demo: $(STAMP)
	$(BIN)/cropcast demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

install: $(STAMP)

# Rewritten only when the list of package files changes, so make sees a new date only then.
$(TREE): FORCE
	@mkdir -p $(VENV)
	@find $(PACKAGE_DIRS) -name __pycache__ -prune -o -type f -print | LC_ALL=C sort > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

# Reinstalled whenever pyproject.toml or the list of package files changes.
$(STAMP): pyproject.toml $(TREE)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "cropcast needs Python >= 3.11; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." \
	       "Run e.g.: make $(MAKECMDGOALS) PYTHON=python3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=strict
	touch $@

clean:
	rm -rf $(VENV) build cropcast-work .pytest_cache .ruff_cache *.egg-info
