# The README's two commands: `make demo` and `make test`. Both work on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.genebert-installed
# torch/torchvision first, from the exact builds that lie on this machine's disk (a bare
# `torch` requirement resolved alone pulls a multi-GB CUDA download). pyproject keeps ranges.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-cache-dir --upgrade pip
	$(PY) -m pip install --quiet --no-cache-dir $(TORCH_SPEC)
	$(PY) -m pip install --quiet --no-cache-dir -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m genebert.cli demo

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q tests

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check genebert tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/bench_tokenizer.py
	$(PY) benchmarks/bench_train_step.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
