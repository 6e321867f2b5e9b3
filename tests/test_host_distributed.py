"""torchrun on CPU (gloo): processes train one model together and only rank 0 writes files."""
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from conftest import HOST_DIR, host_env, write_aligned_set

pytestmark = [pytest.mark.slow,
              pytest.mark.end_to_end(reason="torchrun starts, and is signalled with, rank processes of its own")]

FLAGS = ["--model", "pix2pix", "--netG", "unet_128", "--ngf", "8", "--ndf", "8", "--load_size", "128",
         "--crop_size", "128", "--gpu_ids", "-1", "--display_id", "0", "--num_threads", "0"]

# Runs one training step with the host's own pieces and writes, per rank, a digest of
# all parameters before and after the step, the sampler used and the batch's file
# (to its own file: output of two processes on one pipe can interleave).
ONE_STEP = textwrap.dedent("""
    import hashlib, os, sys
    sys.path.insert(0, os.getcwd())
    import torch
    from data import create_dataset
    from models import create_model
    from options.train_options import TrainOptions
    from util import distributed

    def digest(model):
        h = hashlib.sha256()
        for name in model.model_names:
            for p in model._bare(name).parameters():
                h.update(p.detach().numpy().tobytes())
        return h.hexdigest()[:16]

    opt = TrainOptions().parse()
    distributed.init_from_env(opt.gpu_ids)
    dataset = create_dataset(opt)
    model = create_model(opt)
    model.setup(opt)
    before = digest(model)
    batch = next(iter(dataset))
    model.set_input(batch)
    model.optimize_parameters()
    sampler = type(dataset.sampler).__name__ if dataset.sampler is not None else "none"
    rank = distributed.get_rank()
    with open(os.path.join(os.environ["STEP_REPORT_DIR"], f"rank{rank}.txt"), "w") as report:
        report.write(f"RANK {rank} before {before} after {digest(model)} "
                     f"sampler {sampler} file {os.path.basename(batch['A_paths'][0])}")
    distributed.shutdown()
""")


def torchrun(nproc, *args, timeout=180, **env):
    """Run `torchrun --standalone --nproc_per_node=nproc args` in the host folder.

    It runs in its own process group so that, on a timeout, the workers are
    stopped together with the launcher.
    """
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               *map(str, args)]
    process = subprocess.Popen(command, cwd=HOST_DIR, env=dict(host_env(), **env), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def one_step(tmp_path, nproc):
    dataroot = write_aligned_set(tmp_path / "data", count=4)
    script = tmp_path / "one_step.py"
    script.write_text(ONE_STEP)
    reports = tmp_path / "reports"
    reports.mkdir()
    result = torchrun(nproc, script, "--dataroot", dataroot, "--name", "dist",
                      "--checkpoints_dir", tmp_path / "checkpoints", *FLAGS, STEP_REPORT_DIR=str(reports))
    assert result.returncode == 0, result.stderr[-3000:]
    text = "\n".join(p.read_text() for p in sorted(reports.iterdir()))
    return re.findall(r"RANK (\d) before (\w+) after (\w+) sampler (\w+) file (\S+)", text)


def test_two_processes_hold_identical_weights_after_a_step(tmp_path):
    ranks = one_step(tmp_path, 2)
    assert [r[0] for r in ranks] == ["0", "1"]
    (_, before0, after0, sampler0, file0), (_, before1, after1, sampler1, file1) = ranks
    assert sampler0 == sampler1 == "DistributedSampler"
    assert file0 != file1, "both ranks trained on the same image: the data was not split"
    assert before0 == before1, "ranks started from different weights"
    assert after0 != before0, "the step changed nothing"
    assert after0 == after1, "gradients were not averaged: the ranks' weights differ after one step"


def test_a_single_torchrun_process_uses_no_distributed_sampler(tmp_path):
    ranks = one_step(tmp_path, 1)
    assert len(ranks) == 1
    _, before, after, sampler, _ = ranks[0]
    assert sampler == "none" and before != after


def test_torchrun_train_script_writes_files_from_rank_zero_only(tmp_path):
    dataroot = write_aligned_set(tmp_path / "data", count=4)
    result = torchrun(2, "train.py", "--dataroot", dataroot, "--name", "dist",
                      "--checkpoints_dir", tmp_path / "checkpoints", *FLAGS, "--n_epochs", "1",
                      "--n_epochs_decay", "0", "--print_freq", "1", "--display_freq", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "checkpoints" / "dist"
    log = (run / "loss_log.txt").read_text().splitlines()
    assert sum(line.startswith("=====") for line in log) == 1, "more than one process opened the loss log"
    # 4 images over 2 processes, batch 1: two iterations of 2 images each, logged once each
    assert [re.search(r"iters: (\d+)", l).group(1) for l in log if l.startswith("(epoch")] == ["2", "4"]
    assert sorted(p.name for p in run.iterdir() if p.name != ".train.lock") == ["latest_net_D.pth", "latest_net_G.pth", "latest_state.pth",
                                                     "loss_log.txt", "train_opt.txt", "web"]
    assert result.stdout.count("[Network G] Total number of parameters") == 1


# Runs train.py in this process and writes its exit status to EXIT_REPORT_DIR/rank<RANK>.txt
# (torchrun's own status says nothing about its workers once it is stopped by a signal).
RECORD_EXIT = textwrap.dedent("""
    import os, runpy, sys
    report = os.path.join(os.environ["EXIT_REPORT_DIR"], "rank" + os.environ["RANK"])
    open(report + ".pid", "w").write(str(os.getpid()))
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.getcwd())
    code = "exception"
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exc.code
        raise
    finally:
        open(report + ".txt", "w").write(str(code))
""")


def test_ctrl_c_under_torchrun_stops_every_rank_at_one_iteration_with_a_resumable_set(tmp_path):
    """SIGINT to torchrun's process group (what the terminal sends): every rank exits 130, nothing hangs.

    Rank 0 saves every iteration (--save_latest_freq 1), so a rank that stopped on
    its own flag would leave the other waiting in DDP's all-reduce.
    """
    dataroot = write_aligned_set(tmp_path / "data", count=4)
    wrapper = tmp_path / "record_exit.py"
    wrapper.write_text(RECORD_EXIT)
    reports = tmp_path / "reports"
    reports.mkdir()
    run = tmp_path / "checkpoints" / "dist"
    common = ["--dataroot", dataroot, "--name", "dist", "--checkpoints_dir", tmp_path / "checkpoints", *FLAGS,
              "--save_latest_freq", "1", "--print_freq", "1000"]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               wrapper, "train.py", *map(str, common), "--n_epochs", "1000", "--n_epochs_decay", "0"]
    process = subprocess.Popen(command, cwd=HOST_DIR, env=dict(host_env(), EXIT_REPORT_DIR=str(reports)),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.time() + 120
        while not (run / "latest_state.pth").exists() and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
        sent = time.time()
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        took = time.time() - sent
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        for pid_file in reports.glob("*.pid"):  # torchrun's workers run in sessions of their own
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
    codes = {p.stem: p.read_text() for p in reports.glob("*.txt")}
    assert codes == {"rank0": "130", "rank1": "130"}, stderr[-3000:]
    assert took < 45, f"the ranks took {took:.0f} s to stop"
    assert stderr.count("saved the 'interrupted' checkpoint") == 1, stderr[-3000:]
    state = torch.load(run / "interrupted_state.pth", weights_only=True)
    resumed = subprocess.run([sys.executable, "train.py", *map(str, common), "--continue_train", "--epoch",
                              "interrupted", "--n_epochs", str(state["epoch"] + 1), "--n_epochs_decay", "0"],
                             cwd=HOST_DIR, env=host_env(), capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    assert torch.load(run / "latest_state.pth", weights_only=True)["total_iters"] > state["total_iters"]
