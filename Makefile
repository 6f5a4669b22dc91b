# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
BUNDLE ?= assets/default_bundle
SAMPLES ?= assets/samples
OUT ?= station-out/$(shell date +%Y%m%d-%H%M%S)

.PHONY: run test lint format inspect bundle clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Runtime only (no torch): what an operator's machine needs.
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# Everything the tests need: runtime + training (torch, scikit-learn) + line adapters + dev tools.
$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[train,line,dev]"
	touch $@ $(VENV)/.runtime

# Opens the window; without a display (Linux, no DISPLAY or WAYLAND_DISPLAY) it says so and
# runs the batch inspection of the samples instead.
run: $(VENV)/.runtime
	@if [ "$$(uname)" = Linux ] && [ -z "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  echo "No display found: running the batch inspection of $(SAMPLES) instead of the window."; \
	  $(BIN)/station inspect $(SAMPLES) --bundle $(BUNDLE) --out $(OUT) --overlays all; \
	else \
	  $(BIN)/station --bundle $(BUNDLE) --source $(SAMPLES); \
	fi

inspect: $(VENV)/.runtime
	$(BIN)/station inspect $(SAMPLES) --bundle $(BUNDLE) --out $(OUT)

# lint-imports checks the dependency contracts in pyproject.toml ([tool.importlinter]).
test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python -m pytest -q

# Rebuilds the default bundle and samples from the real data (about 32 minutes on 2 CPU cores).
bundle: $(VENV)/.dev
	bench/build_default_bundle.sh

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache .import_linter_cache
