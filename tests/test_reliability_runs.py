"""One training run per run folder (flock), and a disk that fills up during a save."""
import hashlib
import re
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from conftest import HOST_DIR, host_env, run_host, write_aligned_set

pytestmark = pytest.mark.end_to_end(reason="run-folder locks are held by, and freed with, killed train.py "
                                           "processes; ENOSPC is injected in a wrapper process")

FLAGS = ["--model", "pix2pix", "--netG", "unet_128", "--ngf", "8", "--ndf", "8", "--load_size", "128",
         "--crop_size", "128", "--gpu_ids", "-1", "--num_threads", "0", "--display_id", "0",
         "--print_freq", "100", "--save_latest_freq", "1"]


def train_args(dataroot, checkpoints, epochs):
    return ["train.py", "--dataroot", dataroot, "--name", "run", "--checkpoints_dir", checkpoints, *FLAGS,
            "--n_epochs", str(epochs), "--n_epochs_decay", "0"]


def wait_for(path, seconds=90):
    deadline = time.time() + seconds
    while not path.exists() and time.time() < deadline:
        time.sleep(0.2)
    assert path.exists(), f"{path} never appeared"


def test_a_second_run_on_the_same_folder_is_refused_and_a_killed_runs_lock_never_blocks(tmp_path):
    dataroot = write_aligned_set(tmp_path / "data", count=2)
    run = tmp_path / "ck" / "run"
    first = subprocess.Popen([sys.executable, *map(str, train_args(dataroot, tmp_path / "ck", 1000))],
                             cwd=HOST_DIR, env=host_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(run / "latest_state.pth")
        options_before = (run / "train_opt.txt").read_bytes()
        second = run_host(*train_args(dataroot, tmp_path / "ck", 1))
        assert second.returncode == 2
        assert second.stderr.strip() == (
            f"error: the run folder {run} is in use by another training run (pid {first.pid}); wait for it to "
            f"finish, or pass another --name (or --checkpoints_dir) to start a separate run.")
        assert (run / "train_opt.txt").read_bytes() == options_before
    finally:
        first.kill()  # SIGKILL: the lock file stays behind, the lock itself goes with the process
        first.wait()
    assert (run / ".train.lock").read_text().strip() == str(first.pid)
    third = run_host(*train_args(dataroot, tmp_path / "ck", 1), "--continue_train")
    assert third.returncode == 0, third.stderr


# ---------------------------------------------------------------- disk full

def assert_latest_is_the_first_complete_set(run):
    state = torch.load(run / "latest_state.pth", weights_only=True)
    assert state["total_iters"] == 1
    for name, digest in state["net_sha256"].items():
        assert hashlib.sha256((run / f"latest_net_{name}.pth").read_bytes()).hexdigest() == digest
        torch.load(run / f"latest_net_{name}.pth", weights_only=True)
    assert not [p.name for p in run.iterdir() if p.name.startswith((".partial_", ".tmp_"))]


DISK_FULL = re.compile(r"error: the disk holding (.+) is full: the checkpoint needs (\d+) bytes \(([\d.]+) MB\) and "
                       r"(\d+) bytes are free, so nothing was replaced; free space \(or pass another "
                       r"--checkpoints_dir\) and resume with --continue_train\.")


@pytest.fixture
def small_disk(tmp_path):
    """A real 12 MB tmpfs: room for one checkpoint set of the tiny model (8.5 MB), not for two."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); test_injected_enospc covers the same path")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_during_a_save_keeps_the_previous_set_and_says_how_many_bytes(tmp_path, small_disk):
    dataroot = write_aligned_set(tmp_path / "data", count=2)
    result = run_host(*train_args(dataroot, small_disk, 5))
    run = small_disk / "run"
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    match = DISK_FULL.fullmatch(line)
    assert match, line
    assert match.group(1) == str(run)
    set_size = sum(p.stat().st_size for p in run.glob("latest_*.pth"))
    needed, free = int(match.group(2)), int(match.group(4))
    assert abs(needed - set_size) < 4096 and free < needed
    assert_latest_is_the_first_complete_set(run)


ENOSPC_AT_FSYNC = textwrap.dedent("""
    import errno, os, runpy, stat, sys
    calls, real_fsync = [0], os.fsync

    def fsync(fd):  # the 4th file written (G of the second save) finds the disk full; folders' fsyncs not counted
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            return real_fsync(fd)
        calls[0] += 1
        if calls[0] == 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    os.fsync = fsync
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.getcwd())
    runpy.run_path(sys.argv[0], run_name="__main__")
""")


def test_injected_enospc_during_a_save_keeps_the_previous_set(tmp_path):
    """The same path without a mount: ENOSPC from the write of the second save's first file."""
    dataroot = write_aligned_set(tmp_path / "data", count=2)
    wrapper = tmp_path / "enospc.py"
    wrapper.write_text(ENOSPC_AT_FSYNC)
    result = subprocess.run([sys.executable, wrapper, *map(str, train_args(dataroot, tmp_path / "ck", 5))],
                            cwd=HOST_DIR, env=host_env(), capture_output=True, text=True, timeout=180)
    assert result.returncode == 2, result.stderr
    match = DISK_FULL.fullmatch(result.stderr.strip())
    assert match and match.group(1) == str(tmp_path / "ck" / "run"), result.stderr
    assert_latest_is_the_first_complete_set(tmp_path / "ck" / "run")
