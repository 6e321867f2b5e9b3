"""A hurried user's day: nested paths, files for folders, commands run twice or restarted with other flags,
names with spaces and non-ASCII characters, read-only inputs.  Each gives one sentence or says what it did."""
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import HOST_DIR, host_env, run_host, write_aligned_set

pytestmark = pytest.mark.end_to_end(reason="commands run twice, restarted, or on odd paths: the exit codes and "
                                           "one-line errors a user sees")

ROOT = HOST_DIR.parents[1]
NET = ["--model", "pix2pix", "--netG", "resnet_6blocks", "--ngf", "8", "--load_size", "64", "--crop_size", "64",
       "--gpu_ids", "-1"]
TRAIN = [*NET, "--ndf", "8", "--display_id", "0", "--num_threads", "0", "--n_epochs", "1", "--n_epochs_decay", "0"]
NAME = "mein Lauf ü"  # a space and a non-ASCII letter


def mrff(*args):
    return subprocess.run([sys.executable, "-m", "mrff_plugin.cli", *map(str, args)], cwd=ROOT, env=host_env(),
                          capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One finished tiny run whose data folder and run name hold spaces and non-ASCII characters."""
    tmp = tmp_path_factory.mktemp("careless")
    dataroot = write_aligned_set(tmp / "Daten mit Leerzeichen é", "train", count=2, size=64)
    write_aligned_set(dataroot, "test", count=1, size=64, seed=3)
    common = ["--dataroot", dataroot, "--name", NAME, "--checkpoints_dir", tmp / "ck"]
    result = run_host("train.py", *common, *TRAIN)
    assert result.returncode == 0, result.stderr
    return {"tmp": tmp, "dataroot": dataroot, "common": common, "run": tmp / "ck" / NAME}


def test_dataroot_that_is_a_file_is_one_sentence(trained, tmp_path):
    image = trained["dataroot"] / "train" / "pair_0.png"
    result = run_host("train.py", "--dataroot", image, "--name", "r", "--checkpoints_dir", tmp_path, *TRAIN)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: --dataroot {image} is a file; pass the folder that holds the "
                                     f"'train' folder of images.")


def test_a_run_folder_inside_the_images_the_dataset_reads_is_refused_before_anything_is_written(trained, tmp_path):
    dataroot = write_aligned_set(tmp_path / "data", "train", count=2, size=64)
    nested = dataroot / "train" / "checkpoints"
    result = run_host("train.py", "--dataroot", dataroot, "--name", "r", "--checkpoints_dir", nested, *TRAIN)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: --checkpoints_dir {nested} puts the run folder {nested / 'r'} "
                                     f"inside {dataroot / 'train'}, whose images are all read as data; pass a "
                                     f"--checkpoints_dir outside it.")
    assert not nested.exists()


def test_the_same_training_command_twice_moves_the_earlier_checkpoints_aside(trained, tmp_path):
    run = tmp_path / "ck" / NAME
    shutil.copytree(trained["run"], run)
    before = {p.name: p.read_bytes() for p in run.glob("*.pth")}
    common = [trained["common"][0], trained["dataroot"], "--name", NAME, "--checkpoints_dir", tmp_path / "ck"]
    result = run_host("train.py", *common, *TRAIN)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (f"note: {run} held checkpoints of an earlier run; moved its 3 .pth files to "
                                     f"{run / 'earlier_1'} (pass --continue_train to resume a run instead).")
    assert {p.name: p.read_bytes() for p in (run / "earlier_1").glob("*.pth")} == before
    assert (run / "latest_net_G.pth").is_file()


def test_a_resume_with_other_flags_says_which_and_shows_no_scheduler_warning(trained, tmp_path):
    run = tmp_path / "ck" / NAME
    shutil.copytree(trained["run"], run)
    common = [trained["common"][0], trained["dataroot"], "--name", NAME, "--checkpoints_dir", tmp_path / "ck"]
    result = run_host("train.py", *common, *TRAIN[:-3], "2", "--n_epochs_decay", "0", "--continue_train",
                      "--lr", "0.01", "--batch_size", "2")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (f"note: resuming {run / 'latest_state.pth'} with flags that differ from the "
                                     f"saved run: --batch_size 2 (saved 1), --lr 0.01 (saved 0.0002; the saved "
                                     f"optimizer state keeps the saved value).")


@pytest.fixture
def read_only_copy(trained, tmp_path):
    """The trained run folder and the data, behind a read-only bind mount (needs root; skipped otherwise)."""
    source = tmp_path / "source"
    shutil.copytree(trained["run"], source / "ck" / NAME)
    shutil.copytree(trained["dataroot"], source / "data")
    view = tmp_path / "ro"
    view.mkdir()
    if subprocess.run(["mount", "--bind", str(source), str(view)], capture_output=True).returncode != 0:
        pytest.skip("bind mounts need root")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], capture_output=True).returncode != 0:
            pytest.skip("cannot remount read-only")
        yield view
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)


def test_testing_and_generating_from_a_read_only_run_folder_work(read_only_copy, tmp_path):
    run = read_only_copy / "ck" / NAME
    tested = run_host("test.py", "--dataroot", read_only_copy / "data", "--name", NAME,
                      "--checkpoints_dir", read_only_copy / "ck", "--results_dir", tmp_path / "results", *NET)
    assert tested.returncode == 0, tested.stderr
    assert tested.stderr.strip() == f"note: test_opt.txt not written (Read-only file system); {run} is only read."
    assert (tmp_path / "results" / NAME / "test_latest" / "images" / "pair_0_fake_B.png").is_file()
    generated = mrff("generate", "--checkpoint", run, "--input", read_only_copy / "data" / "test",
                     "--output", tmp_path / "out", "--quiet", "--workers", "0", "--device", "cpu")
    assert generated.returncode == 0, generated.stderr
    assert (tmp_path / "out" / "pair_0.png").is_file()


def test_generate_output_inside_equal_to_or_under_a_file_of_the_input(trained, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(2):
        Image.fromarray(np.full((64, 64, 3), 60 * i, np.uint8)).save(inputs / f"v{i}.png")
    common = ["generate", "--checkpoint", trained["run"], "--input", inputs, "--quiet", "--workers", "0",
              "--device", "cpu"]
    for _ in range(2):  # the second run finds its results done and does not take them for inputs
        nested = mrff(*common, "--output", inputs / "out")
        assert nested.returncode == 0, nested.stderr
    assert sorted(p.relative_to(inputs).as_posix() for p in inputs.rglob("*.png")) == [
        "out/v0.png", "out/v1.png", "v0.png", "v1.png"]
    assert "wrote 0 images" in nested.stdout and "skipped 2 already done" in nested.stdout
    same = mrff(*common, "--output", inputs)
    assert same.returncode == 2
    assert same.stderr.strip() == (f"mrff generate: --output {inputs} is the --input folder; pass another folder, "
                                   f"so that the results are neither mixed with nor taken for the input images.")
    under_file = mrff(*common, "--output", inputs / "v0.png" / "x")
    assert under_file.returncode == 2
    assert under_file.stderr.strip() == (f"mrff generate: --output {inputs / 'v0.png' / 'x'}: {inputs / 'v0.png'} "
                                         f"is a file, not a folder; pass a folder for the generated PNGs.")


def test_evaluate_given_a_file_says_it_is_a_file(tmp_path):
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    result = mrff("evaluate", image)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"mrff evaluate: {image} is a file; give a test.py result folder such as "
                                     f"results/<name>/test_latest.")
