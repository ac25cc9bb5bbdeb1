# Recurrence Lab. Two commands on a fresh machine (Debian, Python 3.11):
#   make run    set up .venv with requirements.txt and start the dashboard on http://localhost:8501
#   make test   set up .venv with the test requirements too, then lint (ruff) and the whole suite

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
ADDRESS ?= localhost
PORT    ?= 8501

.PHONY: run test lint gpu clean

$(BIN)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.dev: $(BIN)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(BIN)/.runtime
	$(BIN)/python -m streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT)

test: $(BIN)/.dev
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest

lint: $(BIN)/.dev
	$(BIN)/python -m ruff check .

gpu: $(BIN)/.runtime
	$(BIN)/python -m pip install --quiet -r requirements-gpu.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/artifacts
