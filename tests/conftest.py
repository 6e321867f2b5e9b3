"""Shared test helpers: where the bundled host lives and small generated image sets.

Checkpoints shared by the whole run (session fixtures) live in fixtures_checkpoints.py, imported at the end.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

HOST_DIR = Path(__file__).resolve().parents[1] / "third_party" / "pix2pix_toolkit"
# the reason of pytest.mark.end_to_end for tests that run the host's scripts (pytest.ini)
HOST_SCRIPTS = ("the host's train.py/test.py as a user runs them: register() patches the host's top-level modules "
                "(models, data, util, options), which must not stay in the pytest process")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two pytest-xdist workers on a 2-core machine: each must use one thread, and so must
    # every process it starts (two workers of 2 torch threads each oversubscribe the cores, and torch's
    # spinning threads then slow every test down).
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
    import torch
    torch.set_num_threads(1)


def write_aligned_set(root, phase="train", count=3, size=128, seed=0):
    """Write `count` A|B side-by-side PNGs (each half size x size) into root/phase.

    B is a smooth function of A (an inverted, blurred copy), so the pairs are learnable.
    """
    rng = np.random.default_rng(seed)
    folder = Path(root) / phase
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        a = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
        a = np.asarray(Image.fromarray(a).resize((size, size), Image.BILINEAR))
        b = 255 - a
        Image.fromarray(np.concatenate([a, b], axis=1)).save(folder / f"pair_{i}.png")
    return Path(root)


def write_unaligned_set(root, phase="train", count=3, size=64, seed=0):
    """Write `count` random PNGs into root/<phase>A and root/<phase>B."""
    rng = np.random.default_rng(seed)
    for domain in ("A", "B"):
        folder = Path(root) / f"{phase}{domain}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(image).save(folder / f"{domain.lower()}_{i}.png")
    return Path(root)


def inverse_colour_map(png, colormap="inferno"):
    """A PNG colour-mapped by mrff_plugin.training.visuals -> (H, W) values in [0, 1], by the nearest of 256 colours."""
    from matplotlib import colormaps
    lut = np.round(colormaps[colormap](np.linspace(0.0, 1.0, 256))[:, :3] * 255)    # (256, 3)
    with Image.open(png) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float64)                     # (H, W, 3)
    nearest = ((rgb[:, :, None, :] - lut[None, None]) ** 2).sum(-1).argmin(-1)      # (H, W)
    return nearest / 255.0


def host_env():
    """Environment for host subprocesses: one thread each (the CI machine has 2 cores)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("WORLD_SIZE", None)
    return env


def run_host(*args, timeout=180):
    """Run `python <args>` in the host folder; return the CompletedProcess (text output)."""
    return subprocess.run([sys.executable, *map(str, args)], cwd=HOST_DIR, env=host_env(),
                          capture_output=True, text=True, timeout=timeout)


def mrff_in_process(*args):
    """`mrff ARGS...` through mrff_plugin.cli.main in this process (no interpreter and torch start-up per call);
    a CompletedProcess with its exit code and printed text, as a separate process would give."""
    import contextlib
    import io
    from mrff_plugin.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:   # argparse's usage errors
            code = exit_.code if isinstance(exit_.code, int) else 2
    return subprocess.CompletedProcess(["mrff", *map(str, args)], code, out.getvalue(), err.getvalue())


def pytest_collection_modifyitems(config, items):
    """Every `end_to_end` mark says in one line why its test must run separate processes (pytest.ini).

    Under pytest-xdist (`make test`: whole files per worker, in this order) the files holding end-to-end
    tests, the long ones, go first, so that the short in-process files fill the end and neither worker is
    left alone with a long file while the other has nothing to do.
    """
    for item in items:
        for mark in item.iter_markers("end_to_end"):
            reason = mark.kwargs.get("reason", "")
            if not reason.strip() or "\n" in reason:
                raise pytest.UsageError(f"{item.nodeid}: pytest.mark.end_to_end needs reason=\"<one line>\"")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        long_files = {item.path for item in items if item.get_closest_marker("end_to_end")}
        items.sort(key=lambda item: item.path not in long_files)   # stable: the order within each group stays


@pytest.fixture
def aligned_dataroot(tmp_path):
    """A dataroot with train/ and test/ folders of three 128x128 A|B pairs."""
    root = tmp_path / "aligned"
    write_aligned_set(root, "train", seed=0)
    write_aligned_set(root, "test", seed=1)
    return root


@pytest.fixture
def unaligned_dataroot(tmp_path):
    """A dataroot with trainA/ and trainB/ folders of three 64x64 images each."""
    return write_unaligned_set(tmp_path / "unaligned")


from fixtures_checkpoints import tiny_checkpoint  # noqa: E402,F401 (session fixtures; imports this module's helpers)
