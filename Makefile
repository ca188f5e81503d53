# nuage: two commands matter. `make run` starts the API with its worker on the embedded defaults;
# `make test` lints and runs the whole suite. Everything they need is installed into .venv here.
PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
BIN := $(VENV)/bin
# HOST, PORT and NUAGE_DATA_DIR may be set; their defaults live in src/nuage/config.py.

.PHONY: run test lint fmt install bytecode clean bench screenshot

install: $(VENV)/.installed
	@if [ "$$(cat $(VENV)/.installed)" != "$(LIBVIRT_EXTRA)" ]; then rm -f $(VENV)/.installed; $(MAKE) --no-print-directory $(VENV)/.installed; fi

# The libvirt driver's binding is built only where the system has libvirt's headers
# (scripts/libvirt-setup.sh installs them; .ci/run runs it first).
LIBVIRT_EXTRA := $(shell pkg-config --exists libvirt 2>/dev/null && echo --extra libvirt)

$(VENV)/.installed: pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --inexact --quiet --compile-bytecode \
		$(LIBVIRT_EXTRA)
	@echo "$(LIBVIRT_EXTRA)" > $@

# Bytecode for every module, made once: where PYTHONDONTWRITEBYTECODE is set (as on CI) each new
# process would otherwise compile the ~1,200 modules it imports again, about a second of CPU
# for every `nuage` command and every server a test starts. Only changed sources are compiled.
bytecode: install
	@$(BIN)/python -m compileall -q src

run: bytecode
	@$(BIN)/nuage db upgrade
	@$(BIN)/nuage demo $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

lint: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# Four pytest processes side by side (scripts/run-tests.sh); PYTEST_ARGS: one plain run instead.
test: lint bytecode
	scripts/run-tests.sh $(PYTEST_ARGS)

# The README's picture of the web console (docs/console.png), taken by its libvirt browser test.
screenshot: install
	NUAGE_UPDATE_SCREENSHOT=1 $(BIN)/pytest -q -p no:warnings tests/web/test_console_libvirt.py -k screen

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
