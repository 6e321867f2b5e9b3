"""Robustness of the host's train.py/test.py: exact resume, Ctrl-C, NaN losses, bad folders and checkpoints."""
import json
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import HOST_DIR, host_env, run_host, write_aligned_set

pytestmark = pytest.mark.end_to_end(reason="Ctrl-C, kills and resumes of train.py need processes of their own")

# Tiny pix2pix on 2 pairs, in order and unflipped, so that runs are reproducible on CPU.
FLAGS = ["--model", "pix2pix", "--netG", "unet_128", "--ngf", "8", "--ndf", "8", "--load_size", "128",
         "--crop_size", "128", "--gpu_ids", "-1", "--num_threads", "0", "--display_id", "0",
         "--serial_batches", "--no_flip", "--print_freq", "100"]


TEST_FLAGS = FLAGS[:FLAGS.index("--display_id")]  # the network and data flags test.py shares


def weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """4 epochs x 2 iterations in one go, with iter_<N> checkpoints every 3 iterations (one mid-epoch)."""
    tmp = tmp_path_factory.mktemp("straight")
    dataroot = write_aligned_set(tmp / "data", "train", count=2)
    common = ["--dataroot", dataroot, "--name", "run", *FLAGS, "--n_epochs", "2", "--n_epochs_decay", "2"]
    result = run_host("train.py", *common, "--checkpoints_dir", tmp / "ck", "--save_by_iter",
                      "--save_latest_freq", "3")
    assert result.returncode == 0, result.stderr
    return {"tmp": tmp, "common": common, "run": tmp / "ck" / "run",
            "test": ["--dataroot", dataroot, "--name", "run", "--phase", "train", *TEST_FLAGS]}


def copy_as_latest(source_dir, label, target_dir):
    target_dir.mkdir(parents=True)
    for suffix in ("net_G", "net_D", "state"):
        shutil.copy(source_dir / f"{label}_{suffix}.pth", target_dir / f"latest_{suffix}.pth")


@pytest.mark.parametrize("label", ["iter_3", "iter_6"])
def test_resume_from_a_saved_iteration_reproduces_the_straight_run_bit_for_bit(straight, tmp_path, label):
    """Kill after the save (keep only that checkpoint), resume, and land on the straight run's weights.

    Tolerance 0: on CPU with one thread every operation is deterministic, and the
    state file restores optimizers, schedulers, epoch position and the torch and
    Python RNGs (dropout, crop/flip draws, loader seed).
    """
    copy_as_latest(straight["run"], label, tmp_path / "ck" / "run")
    result = run_host("train.py", *straight["common"], "--checkpoints_dir", tmp_path / "ck", "--continue_train")
    assert result.returncode == 0, result.stderr
    for net in ("G", "D"):
        expected = weights(straight["run"] / f"latest_net_{net}.pth")
        resumed = weights(tmp_path / "ck" / "run" / f"latest_net_{net}.pth")
        assert expected.keys() == resumed.keys()
        for key in expected:
            assert torch.equal(expected[key], resumed[key]), f"{net}.{key} differs after resuming from {label}"


def test_net_files_stay_plain_state_dicts_and_state_holds_resume_data(straight):
    net_g = weights(straight["run"] / "latest_net_G.pth")
    assert all(isinstance(v, torch.Tensor) for v in net_g.values())
    state = weights(straight["run"] / "iter_6_state.pth")
    assert (state["epoch"], state["epoch_iter"], state["total_iters"]) == (3, 2, 6)
    assert state["opt"]["netG"] == "unet_128" and len(state["optimizers"]) == 2
    assert set(state["net_sha256"]) == {"G", "D"} and state["rng"]["torch"].dtype == torch.uint8
    assert not list(straight["run"].glob(".partial_*")) and not list(straight["run"].glob(".tmp_*"))


def test_weights_from_another_save_are_refused_and_latest_is_left_alone(straight, tmp_path):
    """A net file that is not the one the state lists (killed between renames) stops the resume."""
    run = tmp_path / "ck" / "run"
    copy_as_latest(straight["run"], "iter_3", run)
    shutil.copy(straight["run"] / "iter_6_net_G.pth", run / "latest_net_G.pth")
    before = {p.name: p.read_bytes() for p in run.glob("latest_*")}
    result = run_host("train.py", *straight["common"], "--checkpoints_dir", tmp_path / "ck", "--continue_train")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "latest_net_G.pth does not belong to" in result.stderr and "--epoch" in result.stderr
    assert {p.name: p.read_bytes() for p in run.glob("latest_*")} == before


def test_truncated_checkpoint_is_one_sentence_naming_the_file(straight, tmp_path):
    run = tmp_path / "ck" / "run"
    copy_as_latest(straight["run"], "iter_3", run)
    data = (run / "latest_net_G.pth").read_bytes()
    (run / "latest_net_G.pth").write_bytes(data[: len(data) // 2])
    result = run_host("test.py", *straight["test"], "--checkpoints_dir", tmp_path / "ck",
                      "--results_dir", tmp_path / "results")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: checkpoint {run / 'latest_net_G.pth'} is truncated or corrupt; "
                                     f"delete it or pick another --epoch (or --load_iter).")


def test_nan_loss_stops_without_saving_and_keeps_the_last_good_checkpoint(straight, tmp_path):
    """Trigger: the saved optimizer state is given lr 1e20, so D's first Adam step makes G's GAN loss NaN.

    (--lr alone would not do: --continue_train restores the learning rate saved with the optimizer.)
    """
    run = tmp_path / "ck" / "run"
    copy_as_latest(straight["run"], "iter_3", run)
    state = weights(run / "latest_state.pth")
    for optimizer in state["optimizers"]:
        for group in optimizer["param_groups"]:
            group["lr"] = 1e20
    torch.save(state, run / "latest_state.pth")
    before = {p.name: p.read_bytes() for p in run.glob("latest_net_*")}
    result = run_host("train.py", *straight["common"], "--checkpoints_dir", tmp_path / "ck", "--continue_train")
    assert result.returncode == 2
    assert "error: loss G_GAN became nan at epoch 2, iteration 4;" in result.stderr
    assert {p.name: p.read_bytes() for p in run.glob("latest_net_*")} == before


def test_ctrl_c_saves_an_interrupted_checkpoint_that_resumes(straight, tmp_path):
    common = [*straight["common"][:-4], "--n_epochs", "500", "--n_epochs_decay", "0",
              "--checkpoints_dir", tmp_path / "ck"]
    process = subprocess.Popen([sys.executable, "train.py", *map(str, common)], cwd=HOST_DIR, env=host_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = tmp_path / "ck" / "run"
    deadline = time.time() + 60
    while not (run / "latest_state.pth").exists() and time.time() < deadline:  # first epoch saved
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "saved the 'interrupted' checkpoint" in stderr and "Traceback" not in stderr
    state = weights(run / "interrupted_state.pth")
    assert weights(run / "interrupted_net_G.pth").keys() == weights(run / "latest_net_G.pth").keys()
    resumed = run_host("train.py", *common[:-6], "--n_epochs", str(state["epoch"] + 1), "--n_epochs_decay", "0",
                       "--checkpoints_dir", tmp_path / "ck", "--continue_train", "--epoch", "interrupted")
    assert resumed.returncode == 0, resumed.stderr
    assert weights(run / "latest_state.pth")["total_iters"] > state["total_iters"]


@pytest.mark.parametrize("flag", ["--checkpoints_dir", "--results_dir"])
def test_unwritable_output_folder_fails_before_anything_runs(straight, tmp_path, flag):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    script, args = ("train.py", straight["common"]) if flag == "--checkpoints_dir" else ("test.py", straight["test"])
    result = run_host(script, *args, "--checkpoints_dir", straight["tmp"] / "ck", flag, blocker / "sub")
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: {flag} folder {blocker / 'sub'}")
    assert f"pass a writable {flag}." in result.stderr and "Traceback" not in result.stderr


def test_batch_larger_than_the_dataset_and_empty_dataroot(tmp_path):
    dataroot = write_aligned_set(tmp_path / "data", "train", count=2)
    big = run_host("train.py", "--dataroot", dataroot, "--name", "r", "--checkpoints_dir", tmp_path / "ck",
                   *FLAGS, "--batch_size", "3")
    assert big.returncode == 2
    assert big.stderr.strip() == (f"error: --batch_size 3 is larger than the 2 training images in {dataroot}; "
                                  f"pass --batch_size 2 or less.")
    (tmp_path / "empty" / "train").mkdir(parents=True)
    (tmp_path / "empty" / "train" / "notes.txt").write_text("not an image")
    empty = run_host("train.py", "--dataroot", tmp_path / "empty", "--name", "r",
                     "--checkpoints_dir", tmp_path / "ck", *FLAGS)
    assert empty.returncode == 2 and "no images in" in empty.stderr and "Traceback" not in empty.stderr


def test_test_results_of_inputs_sharing_a_file_name_do_not_overwrite_each_other(straight, tmp_path):
    """Frame names that restart in every video: the second I00000 gets its folder in the name."""
    for video in ("V000", "V001"):
        write_aligned_set(tmp_path / "data" / "train", video, count=1, seed=len(video) + int(video[-1]))
    args = [arg if arg != straight["test"][1] else tmp_path / "data" for arg in straight["test"]]
    result = run_host("test.py", *args, "--checkpoints_dir", straight["tmp"] / "ck",
                      "--results_dir", tmp_path / "results")
    assert result.returncode == 0, result.stderr
    images = tmp_path / "results" / "run" / "train_latest" / "images"
    assert sorted(p.name for p in images.glob("*real_A.png")) == ["V001_pair_0_real_A.png", "pair_0_real_A.png"]
    first, second = (np.asarray(Image.open(images / n)) for n in ("pair_0_real_A.png", "V001_pair_0_real_A.png"))
    assert not np.array_equal(first, second)


def test_checkpoint_of_another_output_nc_names_the_flag_and_the_saved_value(straight, tmp_path):
    result = run_host("test.py", *straight["test"], "--output_nc", "1", "--checkpoints_dir", straight["tmp"] / "ck",
                      "--results_dir", tmp_path / "results")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: --output_nc 1 contradicts {straight['run'] / 'latest_state.pth'}, "
                                     f"which says {straight['run'] / 'latest_net_G.pth'} was trained with "
                                     f"--output_nc 3; pass --output_nc 3.")
    assert not (tmp_path / "results" / "run" / "train_latest" / "images").exists()


def test_kill_resume_benchmark_smoke(tmp_path):
    """Two SIGKILL trials of benchmarks/kill_resume.py (a random kill, a kill while a set is written)."""
    out = tmp_path / "kill_resume.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks.kill_resume", "--trials", "2", "--out", str(out)],
                            cwd=HOST_DIR.parents[1], env=host_env(), capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "survived 2/2"
    report = json.loads(out.read_text())
    assert report["total"] == 2 and all(t["survived"] for t in report["trials"])
    assert all(t["resumed"] for t in report["trials"])  # each kill came after a save and was resumed from
    assert [t["mode"] for t in report["trials"]] == ["random", "in_staging"]
