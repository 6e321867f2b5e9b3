"""`best_net_G.pth` of `--model mrff_pix2pix`: chosen by the score users get, kept across a resume, written whole.

* The score a validation logs is the score `mrff generate --epoch best` gets on the same whole held-out
  images (each image normalised by its own statistics), measured on the PNGs it writes.
* `--continue_train` scores the best_net_G.pth it finds first: a resumed run whose validations are worse
  leaves it byte for byte as it was.
* The file is written through `mrff_plugin.durable.atomic_write`: a failed write leaves the old file.
* A generator whose every held-out output is one flat grey level is never kept, nor kept on a resume.
"""
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import host_env, run_host
from mrff_plugin import metrics
from mrff_plugin.durable import atomic_write
from mrff_plugin.synth import write_dataset

pytestmark = [pytest.mark.slow,
              pytest.mark.end_to_end(reason="the host's train.py and `mrff generate` as a user runs them, resumed")]

# Tiny, reproducible on CPU: 4 training pairs in order, unflipped; 2 held-out pairs of 96x64 (whole images
# are not the 64x64 training crops).
FLAGS = ["--model", "mrff_pix2pix", "--ngf", "8", "--ndf", "8", "--load_size", "64", "--crop_size", "64",
         "--gpu_ids", "-1", "--num_threads", "0", "--display_id", "0", "--serial_batches", "--no_flip",
         "--print_freq", "100", "--val_size", "2"]
VALIDATION = re.compile(r"\(iters: (\d+)\) validation on \d+ pairs: SSIM (\S+) PSNR \S+ dB")


def validations(run):
    """[(iteration, SSIM, replaced best)] of val_log.txt, in order."""
    lines = (run / "val_log.txt").read_text().splitlines()
    return [(int(m.group(1)), float(m.group(2)), "best_net_G.pth" in line)
            for line in lines for m in [VALIDATION.match(line)] if m]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """6 epochs x 4 iterations, validation every 4, a checkpoint set every epoch."""
    tmp = tmp_path_factory.mktemp("best")
    write_dataset(str(tmp / "data"), 4, size=(96, 64), test_pairs=2)
    common = ["--dataroot", tmp / "data", "--name", "run", *FLAGS]
    result = run_host("train.py", *common, "--checkpoints_dir", tmp / "ck", "--n_epochs", "6",
                      "--n_epochs_decay", "0", "--val_freq", "4", "--save_epoch_freq", "1", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return {"tmp": tmp, "common": common, "run": tmp / "ck" / "run"}


def test_the_logged_best_score_is_what_mrff_generate_gets_on_the_whole_held_out_images(trained):
    tmp, run = trained["tmp"], trained["run"]
    held_out = sorted((tmp / "data" / "images").glob("set0[67]/V000/visible/*.jpg"))
    assert len(held_out) == 2
    inputs = tmp / "held_out"
    inputs.mkdir()
    for path in held_out:
        shutil.copy(path, inputs / f"{path.parts[-4]}_{path.name}")
    out = tmp / "generated"
    done = subprocess.run([sys.executable, "-m", "mrff_plugin.cli", "generate", "--checkpoint", run, "--epoch",
                           "best", "--input", inputs, "--output", out, "--device", "cpu", "--quiet"],
                          env=host_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    users = [metrics.ssim(out / f"{path.parts[-4]}_{path.stem}.png", path.parent.parent / "lwir" / path.name)
             for path in held_out]
    logged = validations(run)
    assert [it for it, _, _ in logged] == [4, 8, 12, 16, 20, 24]
    best = max(ssim for _, ssim, _ in logged)
    assert abs(sum(users) / len(users) - best) < 1e-3, (users, logged)
    # the line that wrote best_net_G.pth is the first one with that score
    assert [replaced for _, _, replaced in logged].count(True) >= 1
    assert next(ssim for _, ssim, replaced in reversed(logged) if replaced) == best


def test_a_resumed_run_keeps_the_better_best_it_finds(trained, tmp_path):
    """Resume from epoch 1 for one more epoch: its validations are those of an earlier, weaker generator."""
    logged = validations(trained["run"])
    best_iteration, best = max(((it, ssim) for it, ssim, _ in logged), key=lambda v: (v[1], -v[0]))
    assert best_iteration > 8 and all(ssim < best for it, ssim, _ in logged if it <= 8), logged   # the premise
    run = tmp_path / "ck" / "run"
    shutil.copytree(trained["run"], run)
    before = (run / "best_net_G.pth").read_bytes()
    result = run_host("train.py", *trained["common"], "--checkpoints_dir", tmp_path / "ck", "--continue_train",
                      "--epoch", "1", "--n_epochs", "2", "--n_epochs_decay", "0", "--val_freq", "2", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = validations(run)[len(logged):]
    assert len(resumed) == 2 and all(ssim < best for _, ssim, _ in resumed), resumed
    assert (run / "best_net_G.pth").read_bytes() == before
    assert not any(replaced for _, _, replaced in resumed)
    log = (run / "val_log.txt").read_text()
    restored = re.search(r"resumed: best_net_G.pth scores SSIM (\S+) PSNR", log)
    assert restored and abs(float(restored.group(1)) - best) < 1e-4, log


def test_a_flat_best_is_never_kept_and_a_resumed_flat_best_is_replaced(trained, tmp_path):
    """A generator that writes one grey level for every input (a collapsed run) scores a high SSIM on smooth
    LWIR; best_net_G.pth must never hold one.  Here the resumed run finds a flat best_net_G.pth (every weight
    zeroed: the output is tanh of the last bias, the same everywhere) and replaces it with its first validation."""
    run = tmp_path / "ck" / "run"
    shutil.copytree(trained["run"], run)
    best = torch.load(run / "best_net_G.pth", weights_only=True)
    flat = {k: (torch.zeros_like(v) if k.endswith("weight") else v) for k, v in best.items()}
    torch.save(flat, run / "best_net_G.pth")
    result = run_host("train.py", *trained["common"], "--checkpoints_dir", tmp_path / "ck", "--continue_train",
                      "--epoch", "1", "--n_epochs", "2", "--n_epochs_decay", "0", "--val_freq", "2", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    log = (run / "val_log.txt").read_text()
    assert "resumed: best_net_G.pth writes one flat grey level for every held-out image" in log, log
    resumed = validations(run)[len(validations(trained["run"])):]
    assert resumed and resumed[0][2], resumed                         # the first validation replaces it
    kept = torch.load(run / "best_net_G.pth", weights_only=True)
    assert any(not torch.equal(kept[k], flat[k]) for k in flat)


def test_flat_outputs_are_measured_flat_and_others_are_not():
    from mrff_plugin.training.validation import FLAT_SPREAD, is_flat, score_pairs

    class Grey(torch.nn.Module):   # one grey level whatever the input: a collapsed generator
        def __init__(self):
            super().__init__()
            self.level = torch.nn.Parameter(torch.tensor(0.2))

        def forward(self, x):
            return self.level.expand(x.shape[0], 1, *x.shape[2:])

    torch.manual_seed(0)
    items = [{"A": torch.rand(3, 64, 96) * 2 - 1, "B": torch.rand(1, 64, 96) * 2 - 1} for _ in range(2)]
    _, _, spread = score_pairs(Grey(), items, "unetpp_fusion")
    assert spread.tolist() == [0.0, 0.0] and is_flat(spread)
    assert not is_flat([0.0, FLAT_SPREAD]) and is_flat([0.0, FLAT_SPREAD / 2])   # one image with detail is enough


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "best_net_G.pth"
    torch.save({"w": torch.zeros(2)}, path)
    old = path.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_write(path) as handle:
            handle.write(b"half a checkpoint")
            raise RuntimeError("killed mid-write")
    assert path.read_bytes() == old and os.listdir(tmp_path) == ["best_net_G.pth"]
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.path.isdir(f"/proc/self/fd/{fd}")) or real_fsync(fd))
    old_mask = os.umask(0o022)
    try:
        with atomic_write(path) as handle:
            torch.save({"w": torch.ones(2)}, handle)
    finally:
        os.umask(old_mask)
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.ones(2))
    assert synced == [False, True]                     # the file, then its folder
    assert os.stat(path).st_mode & 0o777 == 0o644      # the umask's mode, not mkstemp's 0600
    assert os.listdir(tmp_path) == ["best_net_G.pth"]


def test_validation_scores_each_whole_image_with_its_own_statistics():
    """score_pairs against the pix2pix paper's own definition (Sec. 3.3): the network in train mode, one image
    at a time, so that every BatchNorm uses that image's statistics; sides padded by reflection and cut back."""
    import copy

    import torch.nn.functional as F

    from mrff_plugin.metrics import tensor_scores
    from mrff_plugin.networks import build
    from mrff_plugin.training.validation import inference_copy, score_pairs
    torch.manual_seed(0)
    net = build("unetpp_fusion", 3, 3, {"ngf": 8, "use_dropout": False}, torch.nn.BatchNorm2d)
    for layer in net.modules():   # running statistics far from any image's own
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.running_mean.fill_(0.5)
            layer.running_var.fill_(4.0)
    items = [{"A": torch.rand(3, 64, 96) * 2 - 1, "B": torch.rand(3, 64, 96) * 2 - 1},
             {"A": torch.rand(3, 50, 70) * 2 - 1, "B": torch.rand(3, 50, 70) * 2 - 1}]
    ssim, psnr, spread = score_pairs(inference_copy(net, torch.device("cpu")), items, "unetpp_fusion")
    reference, running = copy.deepcopy(net).train(), copy.deepcopy(net).eval()
    expected, eval_mode = [], []
    with torch.no_grad():
        for item in items:
            height, width = item["A"].shape[-2:]
            x = F.pad(item["A"][None], (0, -width % 32, 0, -height % 32), mode="reflect")
            expected.append(tensor_scores(reference(x)[..., :height, :width], item["B"][None]))
            eval_mode.append(tensor_scores(running(x)[..., :height, :width], item["B"][None]))
    assert torch.allclose(ssim, torch.cat([s for s, _ in expected]).to(ssim.dtype), atol=1e-4)
    assert (spread > 1).all()                                   # an untrained network's outputs vary
    assert torch.allclose(psnr, torch.cat([p for _, p in expected]).to(psnr.dtype), atol=1e-3)
    assert not torch.allclose(ssim, torch.cat([s for s, _ in eval_mode]).to(ssim.dtype), atol=1e-3)
