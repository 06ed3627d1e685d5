# Two entry points for a fresh machine (see README): `make run` and `make test`.
# Both create or refresh the virtual environment first.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= all
SCALE ?= smoke
# Snakemake jobs run `python -m labelrepro ...`: the venv's python must come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: venv run test test-slurm paper report bench bench-gpu clean-results dryrun-paper

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e .
	$(BIN)/python -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
	touch $(STAMP)

venv: $(STAMP)

## Main job: every implemented target at the chosen scale (default: smoke, CPU is enough).
run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) all --config scale=$(SCALE)

## The test suite: lint, workflow lint, unit tests and end-to-end Snakemake runs.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint
	$(BIN)/python -m pytest

## The real-SLURM test alone (root: installs slurm-wlm + munge, starts a one-node cluster, ~4 min).
test-slurm: $(STAMP)
	bash tests/slurm/run_slurm_test.sh $(abspath $(BIN))/snakemake

## The reproduction report paper/main.pdf, a DAG target: builds whatever it needs at SCALE, then latexmk
## (Debian/Ubuntu: apt-get install latexmk texlive-latex-recommended texlive-fonts-recommended).
paper: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) paper/main.pdf --config scale=$(SCALE)

## Snakemake's self-contained HTML report of every figure and table (after `make run`).
report: $(STAMP)
	$(BIN)/snakemake --report report.html --config scale=$(SCALE)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_sparsity_trainer.py

## Every GPU measurement in one command (< 8 min on one GPU): each CIFAR target's epoch cost and the loader
## comparison, into benchmarks/results/gpu_costs.csv. Order-only venv: never re-installs (GPU boxes are offline).
bench-gpu: | $(STAMP)
	$(BIN)/python benchmarks/bench_gpu.py

dryrun-paper: $(STAMP)
	$(BIN)/snakemake -n all --config scale=paper

clean-results:
	rm -rf results/* figures/*.pdf paper/tables/*.tex paper/tables/*.csv paper/generated .checkpoints
	git checkout -- results/README.md
