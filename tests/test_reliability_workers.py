"""A broken image read in a data-loader worker is the same one sentence as with --num_threads 0.

Every run here has workers on (--num_threads 2, or more than the machine's CPUs,
which the host caps without torch's worker-count warning).
"""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import HOST_DIR, host_env, run_host, write_aligned_set
from test_kaist_aligned import make_kaist_tree

ROOT = HOST_DIR.parents[1]
NET = ["--netG", "resnet_6blocks", "--ngf", "8", "--ndf", "8", "--load_size", "64", "--crop_size", "64",
       "--gpu_ids", "-1", "--display_id", "0", "--n_epochs", "1", "--n_epochs_decay", "0"]


def one_line(result):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def aligned_with_a_broken_image(tmp_path_factory):
    root = write_aligned_set(tmp_path_factory.mktemp("aligned") / "data", "train", count=3, size=64)
    bad = root / "train" / "pair_1.png"
    bad.write_bytes(bad.read_bytes()[:100])
    return root, bad


def test_train_with_more_workers_than_cpus_prints_the_broken_aligned_image_as_one_sentence(
        aligned_with_a_broken_image, tmp_path):
    """--num_threads 64 is capped at the usable CPUs: no torch worker-count warning either."""
    root, bad = aligned_with_a_broken_image
    result = run_host("train.py", "--dataroot", root, "--name", "r", "--checkpoints_dir", tmp_path,
                      "--model", "pix2pix", *NET, "--num_threads", "64")
    assert one_line(result).startswith(f"error: {bad} is truncated or not a readable image (")
    assert result.stderr.strip().endswith("); replace or delete it.")


def test_test_script_with_workers_prints_the_broken_image_as_one_sentence(aligned_with_a_broken_image, tmp_path):
    root, bad = aligned_with_a_broken_image
    good = write_aligned_set(tmp_path / "good", "train", count=1, size=64)
    trained = run_host("train.py", "--dataroot", good, "--name", "r", "--checkpoints_dir", tmp_path / "ck",
                       "--model", "pix2pix", *NET, "--num_threads", "2")
    assert trained.returncode == 0, trained.stderr
    result = run_host("test.py", "--dataroot", root, "--phase", "train", "--name", "r", "--model", "pix2pix",
                      *NET[:NET.index("--display_id")], "--checkpoints_dir", tmp_path / "ck",
                      "--results_dir", tmp_path / "results", "--num_threads", "2")
    assert one_line(result).startswith(f"error: {bad} is truncated or not a readable image (")


@pytest.fixture(scope="module")
def kaist_with_a_broken_image(tmp_path_factory):
    root = make_kaist_tree(tmp_path_factory.mktemp("kaist"), {"set00": 1, "set06": 1}, frames=3, size=(64, 64))
    return root


def test_train_with_workers_prints_a_broken_kaist_frame_as_one_sentence(kaist_with_a_broken_image, tmp_path):
    bad = kaist_with_a_broken_image / "images/set00/V000/lwir/I00001.png"
    original = bad.read_bytes()
    bad.write_bytes(b"not a png")
    try:
        result = run_host("train.py", "--dataroot", kaist_with_a_broken_image, "--name", "r",
                          "--checkpoints_dir", tmp_path, "--model", "pix2pix", "--dataset_mode", "kaist_aligned",
                          *NET, "--num_threads", "2")
    finally:
        bad.write_bytes(original)
    line = one_line(result)
    assert line.startswith(f"error: {bad}: cannot be read as an image") and "--skip_bad_images" in line


def test_mrff_validation_with_a_broken_held_out_frame_is_one_sentence(kaist_with_a_broken_image, tmp_path):
    bad = kaist_with_a_broken_image / "images/set06/V000/visible/I00000.png"
    original = bad.read_bytes()
    bad.write_bytes(original[:50])
    try:
        result = run_host("train.py", "--dataroot", kaist_with_a_broken_image, "--name", "r",
                          "--checkpoints_dir", tmp_path, "--model", "mrff_pix2pix", "--ngf", "8", "--ndf", "8",
                          "--load_size", "64", "--crop_size", "64", "--gpu_ids", "-1", "--display_id", "0",
                          "--n_epochs", "1", "--n_epochs_decay", "0", "--num_threads", "2",
                          "--val_freq", "1", "--val_size", "2")
    finally:
        bad.write_bytes(original)
    line = one_line(result)
    assert str(bad) in line and line.startswith("error: ") and "Traceback" not in result.stderr


def test_mrff_generate_with_workers_names_the_broken_image_in_one_sentence(tmp_path):
    good = write_aligned_set(tmp_path / "good", "train", count=1, size=64)
    trained = run_host("train.py", "--dataroot", good, "--name", "r", "--checkpoints_dir", tmp_path / "ck",
                       "--model", "pix2pix", *NET, "--num_threads", "0")
    assert trained.returncode == 0, trained.stderr
    (tmp_path / "visible").mkdir()
    for i in range(3):
        Image.fromarray(np.full((64, 64, 3), 40 * i, np.uint8)).save(tmp_path / "visible" / f"v{i}.png")
    bad = tmp_path / "visible" / "v1.png"
    bad.write_bytes(bad.read_bytes()[:40])
    result = subprocess.run([sys.executable, "-m", "mrff_plugin.cli", "generate", "--checkpoint",
                             tmp_path / "ck" / "r", "--input", tmp_path / "visible", "--output", tmp_path / "out",
                             "--workers", "2", "--quiet", "--device", "cpu"],
                            cwd=ROOT, env=host_env(), capture_output=True, text=True, timeout=180)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert str(bad) in lines[0] and "Traceback" not in result.stderr
