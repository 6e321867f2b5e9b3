"""Build wheels/: what benchmarks/gpu_check.py needs beyond the GPU machine's own Python.

    .venv/bin/python -m benchmarks.gpu_wheels [--python-version 3.12] [--no-onnx]   # here, with PyPI
    pip install --no-index --no-deps wheels/*.whl                                    # there, offline

That machine has torch, torchvision, numpy, pillow, scipy, matplotlib and torchmetrics (and what they
need: packaging, sympy, typing_extensions ...).  The rest travels as wheels, at the versions installed
in this .venv, so the GPU runs what the tests here ran:

* pure Python (py3-none-any, good for any Python 3): the plugin itself (`pip wheel --no-deps .`, with
  the bundled host and presets inside), dominate, tqdm, and pytest with iniconfig, pluggy and pygments;
  for the `mrff export` test onnxscript, onnx-ir, flatbuffers and protobuf's pure-Python wheel;
* compiled, so downloaded for the target Python (`--python-version`, manylinux x86_64): onnx,
  onnxruntime and ml_dtypes (the export test only; `--no-onnx` leaves them out and that test skips).

Visdom and tornado are not needed: the CUDA tests run with --display_id 0.
"""
import argparse
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.common import ROOT

PURE = ("dominate", "tqdm", "pytest", "iniconfig", "pluggy", "pygments")
PURE_ONNX = ("onnxscript", "onnx-ir", "protobuf", "flatbuffers")
COMPILED_ONNX = ("onnx", "onnxruntime", "ml_dtypes")


def pinned(names):
    """name==version as installed here (the versions the test suite ran with)."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in names]


def pip(*args):
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "wheels", help="folder for the wheels (default: wheels/)")
    p.add_argument("--python-version", default="3.12", help="the GPU machine's Python, for compiled wheels")
    p.add_argument("--no-onnx", action="store_true", help="leave out the `mrff export` test's packages")
    args = p.parse_args(argv)
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    dest = ["--dest", str(args.out)]
    pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(args.out), str(ROOT))   # the plugin
    pure = PURE + (() if args.no_onnx else PURE_ONNX)
    pip("download", "--no-deps", "--only-binary=:all:", "--python-version", args.python_version, "--implementation", "py",
        "--abi", "none", "--platform", "any", *dest, *pinned(pure))
    if not args.no_onnx:
        pip("download", "--no-deps", "--only-binary=:all:", "--python-version", args.python_version,
            "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_27_x86_64",
            "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64", *dest,
            *pinned(COMPILED_ONNX))
    wheels = sorted(args.out.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels) / 2 ** 20
    print(f"{len(wheels)} wheels, {size:.1f} MB in {args.out}; on the GPU machine: "
          f"pip install --no-index --no-deps {args.out.name}/*.whl")


if __name__ == "__main__":
    main()
