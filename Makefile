# The two commands: `make report` (run the suite on the demo data) and `make test`.
# Both create .venv on first use (pip from pyproject.toml). Nothing else is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# axe-core (npm), injected into the reports by tests/test_report_pages.py; kept in the venv.
AXE := $(VENV)/node/node_modules/axe-core/axe.min.js

.PHONY: report report-pdf test lint browser axe clean help
help:
	@echo "make report   run the default suite (params/suite.yaml) on the demo data -> outputs/index.html"
	@echo "make report-pdf  the same, with A4 PDFs and first-page pictures (installs Chromium if missing)"
	@echo "make test     run the whole test suite"
	@echo "make lint     ruff over the code"
	@echo "make clean    remove outputs/ (keeps .venv)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Headless Chromium (Debian's package) prints PDFs and runs the browser tests;
# poppler-utils (pdftoppm) pictures a PDF's first page.
browser:
	@{ command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } && \
	  command -v pdftoppm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	  else echo "Install Debian's 'chromium' and 'poppler-utils' packages (PDFs and browser tests need them)"; exit 1; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null; }

# axe-core, the accessibility checker the report tests run in Chromium (npm, from Debian if missing).
axe: $(AXE)
$(AXE): $(STAMP)
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	  else echo "Install Debian's 'npm' package (the accessibility tests need axe-core from npm)"; exit 1; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm install --prefix $(VENV)/node --no-save --no-audit --no-fund --silent axe-core@4

report: $(STAMP)
	@$(MAKE) -s browser || echo "(Chromium could not be installed: reports are made as HTML only)"
	$(BIN)/evallib run $(ARGS)

report-pdf: $(STAMP) browser
	$(BIN)/evallib run --format html,pdf $(ARGS)

test: $(STAMP) browser $(AXE)
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf outputs/*/ outputs/index.html
