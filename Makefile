# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
EXTRAS := test,bench,viz,plot,progress,data

.PHONY: demo test lint bench clean

# The set-up is quiet: pip's output goes to .venv/install.log, and is shown only if it fails.
$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1 \
		&& $(PY) -m pip install --quiet -e '.[$(EXTRAS)]' >> $(VENV)/install.log 2>&1 \
		|| (cat $(VENV)/install.log; echo "make: installing into $(VENV) failed (log above)"; exit 1)
	@rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)
	@$(PY) -m nn.demo

lint: $(STAMP)
	$(PY) -m ruff check autodiff nn tests benchmarks
	$(PY) -m mypy

test: lint
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/bench_engine.py
	$(PY) benchmarks/bench_digits.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
