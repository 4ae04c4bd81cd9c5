# edgewatch developer commands. Only Python 3.11 and the package registries are needed.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# mypy reads the packages under their import names (edgewatch.server, ...) from a tree of
# links, so types are checked across packages, not only inside each folder.
PACKAGES := collector contract detectors server dashboard demo
TYPECHECK := $(VENV)/typecheck

.PHONY: up test lint check bench clean screenshots docs-api

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[all,dev,scale]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## up: install and run server + dashboard + demo fleet on the embedded DuckDB default
up: $(STAMP)
	$(VENV)/bin/edgewatch up

## lint: ruff format check, ruff check, mypy
lint: $(STAMP)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)/edgewatch && touch $(TYPECHECK)/edgewatch/__init__.py
	for p in $(PACKAGES); do ln -s $(CURDIR)/$$p $(TYPECHECK)/edgewatch/$$p; done
	cd $(TYPECHECK) && $(CURDIR)/$(PY) -m mypy --config-file $(CURDIR)/pyproject.toml -p edgewatch

## test: lint + the whole pytest suite (two workers, then the tests marked serial on their own)
test: lint
	$(PY) -m pytest -q -p no:cacheprovider -n 2 --dist loadfile -m "not serial"
	$(PY) -m pytest -q -p no:cacheprovider -m serial

## bench: every benchmark in bench/, printing figures and ratios
bench: $(STAMP)
	@set -e; for f in $(wildcard bench/*.py); do echo "== $$f"; $(PY) $$f; done

## screenshots: regenerate docs/screenshots/ (a real server, the dashboard and headless chromium)
screenshots: $(STAMP)
	$(PY) docs/screenshots/make_screenshots.py

## docs-api: regenerate the REST API reference in docs/reference/ from the server's OpenAPI
docs-api: $(STAMP)
	$(PY) docs/reference/make_openapi.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
