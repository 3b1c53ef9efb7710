# The two commands: `make report` (run the suite on the demo data) and `make test`.
# Both create .venv on first use (pip from pyproject.toml). Nothing else is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: report test lint browser clean help
help:
	@echo "make report   run the default suite (params/suite.yaml) on the demo data -> outputs/index.html"
	@echo "make test     run the whole test suite"
	@echo "make lint     ruff over the code"
	@echo "make clean    remove outputs/ (keeps .venv)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Headless Chromium (Debian's package) renders PDFs and runs the browser tests.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	  elif command -v sudo >/dev/null 2>&1; then \
	    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	  else echo "Chromium is needed for PDFs and browser tests: install Debian's 'chromium' package"; exit 1; fi; }

report: $(STAMP)
	$(BIN)/evallib run $(ARGS)

test: $(STAMP) browser
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf outputs/*/ outputs/index.html
