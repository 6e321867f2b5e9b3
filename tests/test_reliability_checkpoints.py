"""A save killed between its renames: `latest` falls back to the previous complete set, in train, test and generate.

The kill is real: train.py runs under a wrapper that sends itself SIGKILL right
after the N-th rename of a staged checkpoint file, so the save code is the one
users run.  With `--save_latest_freq 1` each iteration saves G, D, then the
state (3 renames), so rename 4 is the second save's G (a torn `latest`) and
rename 6 its state (a complete `latest`).
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import HOST_DIR, host_env, run_host, write_aligned_set

pytestmark = pytest.mark.end_to_end(reason="train.py is SIGKILLed inside a save, in a process of its own")

ROOT = HOST_DIR.parents[1]
FLAGS = ["--model", "pix2pix", "--netG", "unet_128", "--ngf", "8", "--ndf", "8", "--load_size", "128",
         "--crop_size", "128", "--gpu_ids", "-1", "--num_threads", "0", "--display_id", "0",
         "--serial_batches", "--no_flip", "--print_freq", "100", "--save_latest_freq", "1"]
TEST_FLAGS = FLAGS[:FLAGS.index("--display_id")]

KILL_AT_RENAME = ["-m", "benchmarks.children.kill_at_rename"]  # SIGKILLs itself after the N-th staged rename


def killed_run(tmp_path, kill_after):
    """Train (many epochs) until SIGKILL lands after staged rename `kill_after`; (common args, run folder)."""
    dataroot = write_aligned_set(tmp_path / "data", "train", count=2)
    common = ["--dataroot", dataroot, "--name", "run", "--checkpoints_dir", tmp_path / "ck", *FLAGS]
    result = subprocess.run([sys.executable, *KILL_AT_RENAME, "train.py", *map(str, common), "--n_epochs", "50",
                             "--n_epochs_decay", "0"], cwd=HOST_DIR, capture_output=True, text=True, timeout=180,
                            env=dict(host_env(), KILL_AT_RENAME=str(kill_after), PYTHONPATH=str(ROOT)))
    assert result.returncode == -9, result.stderr
    return common, tmp_path / "ck" / "run"


def warnings_in(stderr):
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


def test_a_kill_inside_the_renames_falls_back_to_the_previous_set_everywhere(tmp_path):
    common, run = killed_run(tmp_path, kill_after=4)
    state = torch.load(run / "latest_state.pth", weights_only=True)
    assert state["total_iters"] == 1  # the torn set: G of iteration 2, D and state of iteration 1
    assert sorted(p.name for p in run.glob(".previous_latest_*")) == [
        ".previous_latest_net_D.pth", ".previous_latest_net_G.pth", ".previous_latest_state.pth"]
    expected = (f"warning: checkpoint 'latest' in {run} is incomplete (a save was interrupted); using the "
                f"previous complete one (epoch 1, total_iters 1).")

    tested = run_host("test.py", "--dataroot", tmp_path / "data", "--phase", "train", "--name", "run",
                      "--checkpoints_dir", tmp_path / "ck", "--results_dir", tmp_path / "results", *TEST_FLAGS)
    assert tested.returncode == 0, tested.stderr
    assert warnings_in(tested.stderr) == [expected]
    assert f"loading the model from {run / '.previous_latest_net_G.pth'}" in tested.stdout

    (tmp_path / "visible").mkdir()
    Image.fromarray(np.full((128, 128, 3), 90, np.uint8)).save(tmp_path / "visible" / "a.png")
    generated = subprocess.run([sys.executable, "-m", "mrff_plugin.cli", "generate", "--checkpoint", run,
                                "--input", tmp_path / "visible", "--output", tmp_path / "out", "--quiet",
                                "--workers", "0", "--device", "cpu"],
                               cwd=ROOT, env=host_env(), capture_output=True, text=True, timeout=180)
    assert generated.returncode == 0, generated.stderr
    assert warnings_in(generated.stderr) == [expected] and (tmp_path / "out" / "a.png").is_file()

    resumed = run_host("train.py", *common, "--continue_train", "--n_epochs", "2", "--n_epochs_decay", "0")
    assert resumed.returncode == 0, resumed.stderr
    assert warnings_in(resumed.stderr) == [expected]
    final = torch.load(run / "latest_state.pth", weights_only=True)
    assert final["total_iters"] == 4 and final["epoch"] == 2
    assert not list(run.glob(".previous_*")) and not list(run.glob(".partial_*"))


def test_a_kill_after_the_state_rename_resumes_from_the_new_set_without_a_warning(tmp_path):
    common, run = killed_run(tmp_path, kill_after=6)
    assert torch.load(run / "latest_state.pth", weights_only=True)["total_iters"] == 2
    resumed = run_host("train.py", *common, "--continue_train", "--n_epochs", "2", "--n_epochs_decay", "0")
    assert resumed.returncode == 0, resumed.stderr
    assert warnings_in(resumed.stderr) == []
    assert torch.load(run / "latest_state.pth", weights_only=True)["total_iters"] == 4
    assert not list(run.glob(".previous_*"))


def test_a_kill_during_the_first_save_is_refused_with_the_sentence(tmp_path):
    """No previous set exists yet: a first `latest` with only G renamed is never loaded."""
    common, run = killed_run(tmp_path, kill_after=1)
    resumed = run_host("train.py", *common, "--continue_train", "--n_epochs", "2", "--n_epochs_decay", "0")
    assert resumed.returncode == 2
    assert resumed.stderr.strip() == (f"error: checkpoint {run / 'latest_net_D.pth'} does not exist; train "
                                      f"first, or pass the --name, --epoch and --checkpoints_dir of an "
                                      f"existing run.")
