"""The bundled host trains CycleGAN on an unaligned set through train.py (CPU, tiny networks)."""
import math
import re

import pytest
import torch

from conftest import HOST_SCRIPTS, run_host

pytestmark = [pytest.mark.slow,
              pytest.mark.end_to_end(reason=HOST_SCRIPTS)]

CYCLE_LOSSES = ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]


def test_cycle_gan_trains_a_few_iterations_on_unaligned_data(unaligned_dataroot, tmp_path):
    result = run_host("train.py", "--dataroot", unaligned_dataroot, "--name", "cg",
                      "--checkpoints_dir", tmp_path / "checkpoints", "--model", "cycle_gan",
                      "--netG", "resnet_6blocks", "--ngf", "8", "--ndf", "8", "--load_size", "72",
                      "--crop_size", "64", "--gpu_ids", "-1", "--display_id", "0", "--num_threads", "0",
                      "--n_epochs", "1", "--n_epochs_decay", "0", "--print_freq", "1", "--display_freq", "1")
    assert result.returncode == 0, result.stderr
    run = tmp_path / "checkpoints" / "cg"
    lines = [l for l in (run / "loss_log.txt").read_text().splitlines() if l.startswith("(epoch")]
    assert len(lines) == 3
    for line in lines:
        losses = dict(re.findall(r"(\w+): ([-\d.naif]+) ", line.split(")", 1)[1]))
        assert list(losses) == CYCLE_LOSSES
        assert all(math.isfinite(float(v)) for v in losses.values())
    for net in ("G_A", "G_B", "D_A", "D_B"):
        assert (run / f"latest_net_{net}.pth").is_file()
    g_a = torch.load(run / "latest_net_G_A.pth", weights_only=True)
    assert g_a["model.1.weight"].shape == (8, 3, 7, 7)  # the 7x7 stem of a ResNet generator with ngf 8
    # the training page shows every CycleGAN visual of epoch 1
    images = sorted(p.name for p in (run / "web" / "images").iterdir())
    assert images == sorted(f"epoch001_{v}.png" for v in
                            ("real_A", "fake_B", "rec_A", "idt_B", "real_B", "fake_A", "rec_B", "idt_A"))
    assert "epoch001_rec_A.png" in (run / "web" / "index.html").read_text()


def test_training_without_a_model_says_cycle_gan_is_the_default_and_names_pix2pix(unaligned_dataroot, tmp_path):
    # a visible -> LWIR command without --model trains the host's default, CycleGAN; its identity loss cannot
    # map 3 channels to 1, and the sentence must point such a user to paired training
    result = run_host("train.py", "--dataroot", unaligned_dataroot, "--name", "no_model",
                      "--checkpoints_dir", tmp_path / "checkpoints", "--input_nc", "3", "--output_nc", "1",
                      "--gpu_ids", "-1", "--display_id", "0", "--num_threads", "0", "--ngf", "8", "--ndf", "8")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: --model cycle_gan (the default) with --lambda_identity 0.5 needs --input_nc == --output_nc (got 3 "
        "and 1); pass --model pix2pix to train on aligned pairs, or --lambda_identity 0 for CycleGAN.")
