# GradProm reproduction: the two commands a new user runs are `make reproduce` and `make test`.
# Each installs what it needs first (Deno from npm when none is on PATH, the npm packages from
# deno.lock, and the Debian packages for notebook execution when running as root).
SHELL := /bin/bash
DENO_VERSION := 2.9.6
NOTEBOOK_DEBS := python3-nbclient python3-nbformat python3-jupyter-client
FIGURE_DEBS := chromium fonts-dejavu-core
NATIVE_DEBS := libdnnl2
NOTEBOOK_UI_DEBS := jupyter-notebook
NBCONVERT_DEBS := jupyter-nbconvert
NOTEBOOK_PORT ?= 8888
# Independent references the tests compare against: scikit-image, scipy and nibabel fixtures and
# readers, PIL for the layout fixtures, and ITK-written MetaImage files.
TEST_DEBS := python3-numpy python3-scipy python3-skimage python3-nibabel python3-pil insighttoolkit5-examples \
  jupyter-nbconvert jupyter-notebook
LOCAL_DENO := $(CURDIR)/.tools/node_modules/.bin/deno
DENO := $(shell command -v deno 2>/dev/null || echo $(LOCAL_DENO))
export DENO_NO_UPDATE_CHECK := 1
export NO_COLOR := 1

.PHONY: help setup deno npm-deps notebook-deps nbconvert-deps figure-deps native-deps test-deps test check reproduce figures kernel notebook clean

help:
	@echo "make reproduce   run the paper experiments on the embedded data and execute the notebooks"
	@echo "make test        formatting, lint, type-check and the test suite"
	@echo "make check       formatting, lint and type-check only"
	@echo "make figures     every paper figure as PNG and SVG under results/figures/ (headless Chromium)"
	@echo "make kernel      install the Deno Jupyter kernel for interactive use"
	@echo "make notebook    start Jupyter Notebook on 127.0.0.1 with the Deno kernel and the notebooks"
	@echo "make clean       remove results/ (executed notebooks, tables, the results cache)"

setup: deno npm-deps

# Deno: the one on PATH, else a pinned copy installed from npm into .tools/.
deno:
	@if command -v deno >/dev/null 2>&1; then \
	  echo "deno: using $$(command -v deno) ($$(deno --version | head -1))"; \
	elif [ -x "$(LOCAL_DENO)" ]; then \
	  echo "deno: using $(LOCAL_DENO)"; \
	else \
	  command -v npm >/dev/null 2>&1 || { echo "error: Deno is not on PATH and npm is missing to install it."; \
	    echo "  Install Node.js/npm (Debian: apt-get install -y npm), or Deno $(DENO_VERSION) itself, and retry."; exit 1; }; \
	  echo "deno: installing deno@$(DENO_VERSION) from npm into .tools/"; \
	  npm install --prefix .tools --no-audit --no-fund --no-package-lock --loglevel=error deno@$(DENO_VERSION) >/dev/null || { \
	    echo "error: 'npm install deno@$(DENO_VERSION)' failed (is the npm registry reachable?)"; exit 1; }; \
	  "$(LOCAL_DENO)" --version | head -1; \
	fi

# npm packages, exactly as pinned in deno.lock (fails if deno.json and deno.lock disagree).
npm-deps: deno
	@log=$$(mktemp); if $(DENO) install --frozen >"$$log" 2>&1; then rm -f "$$log"; \
	  echo "npm packages: installed as pinned in deno.lock"; else cat "$$log"; rm -f "$$log"; \
	  echo "error: 'deno install --frozen' failed: deno.lock does not match deno.json,"; \
	  echo "  or the npm registry is unreachable."; exit 1; fi

# Debian packages that run notebooks headlessly (Jupyter's own executor, nbclient).
notebook-deps:
	@if /usr/bin/python3 -c 'import nbclient, nbformat, jupyter_client' 2>/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "notebooks: installing Debian packages $(NOTEBOOK_DEBS)"; \
	  (apt-get install -y --no-install-recommends $(NOTEBOOK_DEBS) >/dev/null 2>&1 || \
	   (apt-get update -qq && apt-get install -y --no-install-recommends $(NOTEBOOK_DEBS) >/dev/null)) || { \
	    echo "error: could not install $(NOTEBOOK_DEBS) with apt-get"; exit 1; }; \
	else \
	  echo "error: notebook execution needs /usr/bin/python3 with nbclient. As root run:"; \
	  echo "  apt-get install -y --no-install-recommends $(NOTEBOOK_DEBS)"; exit 1; \
	fi

# nbconvert for the HTML copies of the executed notebooks (optional: without it reproduce says so
# in the report and goes on).
nbconvert-deps:
	@if [ -x /usr/bin/jupyter-nbconvert ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "notebooks: installing Debian package $(NBCONVERT_DEBS) (HTML copies of the notebooks)"; \
	  (apt-get install -y --no-install-recommends $(NBCONVERT_DEBS) >/dev/null 2>&1 || \
	   (apt-get update -qq && apt-get install -y --no-install-recommends $(NBCONVERT_DEBS) >/dev/null)) || \
	  echo "warning: could not install $(NBCONVERT_DEBS); the notebooks get no HTML copies"; \
	else echo "note: as root, 'apt-get install -y $(NBCONVERT_DEBS)' adds HTML copies of the executed notebooks"; fi

# oneDNN for the native onednn backend (optional: without it the slower wasm backend runs).
native-deps:
	@if ls /usr/lib/*/libdnnl.so.2 >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "native: installing Debian package $(NATIVE_DEBS) (oneDNN)"; \
	  (apt-get install -y --no-install-recommends $(NATIVE_DEBS) >/dev/null 2>&1 || \
	   (apt-get update -qq && apt-get install -y --no-install-recommends $(NATIVE_DEBS) >/dev/null)) || \
	  echo "warning: could not install $(NATIVE_DEBS); the wasm backend will be used"; \
	else echo "note: as root, 'apt-get install -y libdnnl2' enables the faster onednn backend"; fi

# Debian's Chromium and the font family figures are drawn with, for `deno task figures`.
figure-deps:
	@if { [ -n "$$CHROMIUM_PATH" ] || [ -x /usr/bin/chromium ]; } && \
	    [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "figures: installing Debian packages $(FIGURE_DEBS)"; \
	  (apt-get install -y --no-install-recommends $(FIGURE_DEBS) >/dev/null 2>&1 || \
	   (apt-get update -qq && apt-get install -y --no-install-recommends $(FIGURE_DEBS) >/dev/null)) || { \
	    echo "error: could not install $(FIGURE_DEBS) with apt-get"; exit 1; }; \
	else \
	  echo "error: figure export needs Chromium and DejaVu fonts. As root run:"; \
	  echo "  apt-get install -y --no-install-recommends $(FIGURE_DEBS)"; exit 1; \
	fi

# The independent references of the tests (Debian's /usr/bin/python3 and its packages).
# Without them the tests that need them are skipped, each with its reason in its name.
test-deps:
	@if /usr/bin/python3 -c 'import numpy, scipy.io, skimage.metrics, nibabel, PIL' 2>/dev/null && \
	    dpkg -s insighttoolkit5-examples jupyter-nbconvert jupyter-notebook >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "tests: installing Debian packages $(TEST_DEBS)"; \
	  (apt-get install -y --no-install-recommends $(TEST_DEBS) >/dev/null 2>&1 || \
	   (apt-get update -qq && apt-get install -y --no-install-recommends $(TEST_DEBS) >/dev/null)) || { \
	    echo "error: could not install $(TEST_DEBS) with apt-get"; exit 1; }; \
	else \
	  echo "error: the tests' reference implementations need Debian packages. As root run:"; \
	  echo "  apt-get install -y --no-install-recommends $(TEST_DEBS)"; exit 1; \
	fi

check: setup
	$(DENO) task check

test: setup native-deps
	@$(MAKE) --no-print-directory notebook-deps || echo "warning: notebook tests will be skipped (see above)"
	@$(MAKE) --no-print-directory figure-deps || echo "warning: figure export tests will be skipped (see above)"
	@$(MAKE) --no-print-directory test-deps || echo "warning: tests against reference implementations will be skipped (see above)"
	$(DENO) task check
	$(DENO) task test

reproduce: setup native-deps notebook-deps nbconvert-deps
	$(DENO) task reproduce

figures: setup figure-deps
	$(DENO) task figures

# The Deno Jupyter kernel for JupyterLab / VS Code (writes the user's kernelspec).
kernel: setup
	$(DENO) run -A tools/kernel.ts

# Jupyter Notebook (Debian's classic one) on loopback, with the kernel and the project's notebooks.
notebook: kernel
	@if command -v jupyter-notebook >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "notebook: installing Debian package $(NOTEBOOK_UI_DEBS)"; \
	  (apt-get install -y --no-install-recommends $(NOTEBOOK_UI_DEBS) >/dev/null 2>&1 || \
	   (apt-get update -qq && apt-get install -y --no-install-recommends $(NOTEBOOK_UI_DEBS) >/dev/null)) || { \
	    echo "error: could not install $(NOTEBOOK_UI_DEBS) with apt-get"; exit 1; }; \
	else \
	  echo "error: Jupyter Notebook is not installed. As root run:"; \
	  echo "  apt-get install -y --no-install-recommends $(NOTEBOOK_UI_DEBS)"; \
	  echo "  (or pip install notebook), then make notebook again."; exit 1; \
	fi
	@echo "notebook: Jupyter Notebook on http://127.0.0.1:$(NOTEBOOK_PORT)/ (the URL with its token follows;"
	@echo "          open a notebook, pick the kernel \"Deno (GradProm)\"; Ctrl-C stops the server)"
	jupyter-notebook --ip=127.0.0.1 --port=$(NOTEBOOK_PORT) --no-browser --notebook-dir=notebooks \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root)

clean:
	rm -rf results/
