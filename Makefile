# The commands of the README: `make book`, `make test` and `make smoke`. Each sets up what it needs on a fresh
# machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# A CPU build of torch is picked when no torch is installed (a bare `pip install torch` pulls a CUDA build).
TORCH_SPEC ?= torch==2.13.0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: book test smoke variants exercises grade sandbox env system browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[book,grade,dev]"
	touch $(STAMP)

env: $(STAMP)

## Build the book into _build/html, executing every notebook at the quick size; warnings are errors.
## Each chapter's measurements are computed once per build and cached in _build/.claims-cache for the appendix.
## Torch on one CPU thread (runtime.KERNEL_ENV): little slower alone, far faster when the machine is busy; no
## progress bars (a bar saved in a page is a frozen widget).
book: $(STAMP) system
	rm -rf _build/.claims-cache
	CAUSAL_LESSONS_QUICK=1 CAUSAL_LESSONS_CACHE=$(CURDIR)/_build/.claims-cache CAUSAL_LESSONS_THREADS=1 TQDM_DISABLE=1 \
		$(BIN)/jupyter-book build . --all -W -n --keep-going

## Generate student notebooks and autograder zips into exercises/<slug>/dist/.
exercises: $(STAMP)
	$(BIN)/python exercises/build.py

## Grade every .ipynb in SUBMISSIONS with EXERCISE's autograder into one CSV of scores per question, with integrity
## flags (exercises/grade.py; options TIMEOUT=seconds per submission, JOBS=submissions at once). Each submission runs
## in a bubblewrap sandbox: read-only files, no network, no process left behind. Where bubblewrap cannot run, it
## refuses; UNSAFE=1 grades unsandboxed (see the instructor guide, book/appendix/instructors.md).
grade: $(STAMP) $(if $(UNSAFE),,sandbox)
	$(if $(and $(SUBMISSIONS),$(EXERCISE)),,$(error usage: make grade SUBMISSIONS=folder EXERCISE=slug [TIMEOUT=300] [JOBS=1] [UNSAFE=1]))
	$(BIN)/python exercises/grade.py $(EXERCISE) $(SUBMISSIONS) --timeout $(or $(TIMEOUT),300) --jobs $(or $(JOBS),1) \
		$(if $(UNSAFE),--unsafe-no-sandbox)

## bubblewrap (Debian package): the sandbox of `make grade` (and of its tests). Where AppArmor forbids the user
## namespaces it needs (Ubuntu 23.10 and later), a CI runner (CI set) allows them; elsewhere a warning says so.
sandbox:
	@command -v bwrap >/dev/null || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q bubblewrap)
	@bwrap --ro-bind / / --unshare-all --cap-drop ALL -- true 2>/dev/null || \
		if [ -n "$$CI" ] && [ "$$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null)" = 1 ]; then \
			$(SUDO) sysctl -q -w kernel.apparmor_restrict_unprivileged_userns=0; \
		else \
			echo "warning: bubblewrap cannot create its namespaces here: make grade refuses to grade without UNSAFE=1" \
				"(book/appendix/instructors.md says what to do)" >&2; \
		fi

## graphviz's dot (Debian package) draws the causal diagrams.
system:
	@command -v dot >/dev/null || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q graphviz)

## Headless Chromium and its driver (Debian packages) for the browser test of the book.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium chromium-driver)

## Run every test: package, data, grading proofs, the book build and the browser check (at 1280 and 390 px,
## screenshots in _build/screenshots/). The smoke pass is not part of it: see `make smoke`.
test: $(STAMP) system browser sandbox
	CAUSAL_LESSONS_QUICK=1 $(BIN)/python -m pytest --durations=25

## Build the book three more ways -- torch on one CPU thread, on two, and every seed offset by 100 -- and read every
## page of each build as `make test` does: no page, claim row or test may hang on one run's particular values.
variants: $(STAMP) system browser
	for variant in CAUSAL_LESSONS_THREADS=1 CAUSAL_LESSONS_THREADS=2 CAUSAL_LESSONS_SEED_OFFSET=100; do \
		echo "== $$variant"; \
		env $$variant CAUSAL_LESSONS_QUICK=1 $(BIN)/python -m pytest -p no:cacheprovider tests/test_book.py || exit 1; \
	done

## Execute every notebook (pages and labs) at the smoke size -- the full size's data and models, at most 2 steps
## per training loop, one seed -- and report each one's time. `bench/full_size.py` runs them at the full size.
smoke: $(STAMP) system
	$(BIN)/python -m pytest -m smoke --durations=0 tests/test_smoke.py

clean:
	rm -rf _build exercises/*/dist
