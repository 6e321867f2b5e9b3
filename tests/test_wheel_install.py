"""A built wheel works like the editable install: synth, train, test, generate, the runner and autoload.

The wheel is built from a copy of the checkout (`pip wheel --no-deps`) and installed into a fresh venv
that reuses this environment's torch and other dependencies through a `.pth` path line (path lines do not
run the `.pth` files they add, so the editable install's finder stays off and the only `mrff_plugin` is
the wheel's).  Everything runs outside the checkout, so nothing can be found through it.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import HOST_DIR, host_env

pytestmark = [pytest.mark.slow,
              pytest.mark.end_to_end(reason="installs the built wheel into a fresh virtual environment and runs it "
                                            "outside the checkout")]

ROOT = HOST_DIR.parents[1]
# paths from the checkout's root: what a clone does not have (venv, build output, runs, benchmark output)
NOT_COPIED = {".git", ".venv", "build", "dist", ".pytest_cache", "checkpoints", "results", "datasets", "benchmarks/out"}
SIZE = ["--load_size", "32", "--crop_size", "32", "--ngf", "8", "--ndf", "8"]
ONE_EPOCH = ["--n_epochs", "1", "--n_epochs_decay", "0", "--display_id", "0", "--gpu_ids", "-1",
             "--num_threads", "0", "--max_dataset_size", "2"]


def copy_ignore(folder, names):
    """Leave out caches everywhere and the paths of NOT_COPIED."""
    where = Path(folder).resolve().relative_to(ROOT)
    return [n for n in names if n == "__pycache__" or n.endswith((".pyc", ".egg-info"))
            or (where / n).as_posix() in NOT_COPIED]


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory):
    """(python, mrff) of a fresh venv with the wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=copy_ignore)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp / "wheelhouse"), str(source)], capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel, = (tmp / "wheelhouse").glob("mrff_plugin-*.whl")

    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # this environment's torch & co. (its site folders, also those it reaches through .pth path lines), after
    # the venv's own site-packages, so the wheel's mrff_plugin wins
    reused = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    Path(purelib, "zz_reuse_project_env.pth").write_text("\n".join(reused) + "\n")
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                                "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return python, venv / "bin" / "mrff", Path(purelib)


def run(argv, cwd, timeout=240):
    env = host_env()
    for name in ("PYTHONPATH", "MRFF_HOST", "MRFF_NO_AUTOLOAD"):
        env.pop(name, None)
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_the_wheel_carries_host_presets_and_autoload_and_nothing_of_the_checkout(wheel_venv):
    python, _, purelib = wheel_venv
    assert (purelib / "mrff_plugin_autoload.pth").is_file()
    carried = purelib / "mrff_plugin" / "_bundled"
    assert sorted(p.name for p in (carried / "options").glob("*.txt")) == \
        sorted(p.name for p in (ROOT / "options").glob("*.txt"))
    host_files = sorted(str(p.relative_to(HOST_DIR)) for p in HOST_DIR.rglob("*.py") if "__pycache__" not in p.parts)
    shipped = carried / "third_party" / "pix2pix_toolkit"
    assert sorted(str(p.relative_to(shipped)) for p in shipped.rglob("*.py") if "__pycache__" not in p.parts) \
        == host_files
    where = run([python, "-c", "import mrff_plugin.attach.layout as h; print(h.__file__); print(h.find_host())"], purelib.parent)
    assert where.returncode == 0, where.stderr
    assert where.stdout.split() == [str(purelib / "mrff_plugin" / "attach" / "layout.py"), str(shipped)]


def test_wheel_install_runs_synth_train_test_generate_and_the_runner(wheel_venv, tmp_path):
    python, mrff, purelib = wheel_venv
    synth = run([mrff, "synth", "--out", "data", "--pairs", "2", "--test-pairs", "1", "--size", "32x32",
                 "--quiet"], tmp_path)
    assert synth.returncode == 0, synth.stderr[-3000:]

    # @demo: the preset the wheel carries (mrff_pix2pix, 3 -> 1 channels), shrunk to one tiny epoch
    common = ["--dataroot", "data", "--name", "wheel", "--checkpoints_dir", "ck", *SIZE]
    train = run([mrff, "train", "@demo", *common, *ONE_EPOCH], tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    assert (tmp_path / "ck" / "wheel" / "latest_net_G.pth").is_file()

    test = run([mrff, "test", "@demo", *common, "--gpu_ids", "-1", "--num_threads", "0",
                "--results_dir", "results"], tmp_path)
    assert test.returncode == 0, test.stderr[-3000:]
    fakes = list((tmp_path / "results" / "wheel" / "test_latest" / "images").glob("*_fake_B.png"))
    assert len(fakes) == 1
    with Image.open(fakes[0]) as image:
        assert image.size == (32, 32)

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 64, 3), dtype=np.uint8)).save(photos / "p.png")
    generated = run([mrff, "generate", "--checkpoint", tmp_path / "ck" / "wheel" / "latest_net_G.pth",
                     "--input", photos, "--output", "ir", "--quiet", "--workers", "0"], tmp_path)
    assert generated.returncode == 0, generated.stderr[-3000:]
    with Image.open(tmp_path / "ir" / "p.png") as image:
        assert image.size == (64, 32)

    bench = run([mrff, "bench", "--list"], tmp_path)
    assert bench.returncode == 2 and bench.stdout == ""
    assert bench.stderr.startswith("error: mrff bench runs the benchmark scripts of a repository checkout")
    assert len(bench.stderr.strip().splitlines()) == 1

    # an unmodified toolkit checkout elsewhere (a copy of the bundled host): the runner, then autoload
    upstream = tmp_path / "upstream"
    shutil.copytree(HOST_DIR, upstream, ignore=shutil.ignore_patterns("__pycache__"))
    runner = run([python, "-m", "mrff_plugin", "train.py", "--dataroot", tmp_path / "data", "--name", "up",
                  "--checkpoints_dir", tmp_path / "ck", "--model", "pix2pix", "--netG", "unetpp_fusion",
                  "--dataset_mode", "kaist_aligned", *SIZE, *ONE_EPOCH], upstream)
    assert runner.returncode == 0, runner.stderr[-3000:]
    assert "[Network G] Total number of parameters" in runner.stdout
    assert (tmp_path / "ck" / "up" / "latest_net_G.pth").is_file()
    # autoload: a bare `import models` there attaches the wheel's plugin (define_G comes back wrapped)
    autoload = run([python, "-c", "import sys, models.networks as n; "
                    "print(sys.modules['mrff_plugin'].__file__, hasattr(n.define_G, '__wrapped__'))"], upstream)
    assert autoload.returncode == 0, autoload.stderr[-3000:]
    assert autoload.stdout.split() == [str(purelib / "mrff_plugin" / "__init__.py"), "True"]
