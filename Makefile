# Softmax Lab: `make run` sets up and starts the dashboard; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Offline build machines keep the real data beside the checkout; elsewhere the app downloads it.
SHARED_DATA := $(abspath ../shared/data/fashion-mnist)
export SOFTMAX_LAB_DATA ?= $(if $(wildcard $(SHARED_DATA)/*.gz),$(SHARED_DATA),)

# `make setup TORCH_INDEX=cpu`: torch and torchvision from PyTorch's CPU-only wheels (no CUDA libraries).
TORCH_INDEX ?=
CPU_WHEELS := https://download.pytorch.org/whl/cpu

.PHONY: run test setup setup-dev lint bench clean i18n

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(if $(filter cpu,$(TORCH_INDEX)),$(BIN)/pip install -q torch torchvision --index-url $(CPU_WHEELS))
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-cluster.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

run: setup
	$(BIN)/softmax-lab serve

test: setup-dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: setup-dev
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python benchmarks/bench_train.py

# The interface's words: extract every _()/ngettext()/N_() string into the template, then bring each
# language's .po up to date with it (new strings come untranslated; tests/test_i18n.py fails until done).
# A new language: $(BIN)/pybabel init -i $(I18N)/softmax_lab.pot -d $(I18N) -D softmax_lab -l <locale>
I18N := softmax_core/i18n/locale
i18n: setup
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output --no-wrap \
		--project softmax-lab --copyright-holder "Softmax Lab" -o $(I18N)/softmax_lab.pot .
	$(BIN)/pybabel update -i $(I18N)/softmax_lab.pot -d $(I18N) -D softmax_lab --no-fuzzy-matching --no-wrap --ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache artifacts
