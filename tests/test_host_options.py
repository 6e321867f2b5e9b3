"""The bundled host's scripts: GAN objectives, CPU fallback, resume, and one-line errors."""
import pytest
import torch

from conftest import HOST_SCRIPTS, run_host, write_aligned_set

pytestmark = [pytest.mark.slow,
              pytest.mark.end_to_end(reason=HOST_SCRIPTS)]

SMALL = ["--ngf", "8", "--ndf", "8", "--num_threads", "0", "--display_id", "0", "--n_epochs_decay", "0"]


@pytest.mark.parametrize("gan_mode,netD", [("lsgan", "pixel"), ("wgangp", "n_layers")])
def test_other_gan_objectives_and_discriminators_train(tmp_path, gan_mode, netD):
    gpu = [] if gan_mode == "lsgan" else ["--gpu_ids", "-1"]  # lsgan run: default --gpu_ids 0
    dataroot = write_aligned_set(tmp_path / "data", count=3, size=64)  # --preprocess none: trained at 64x64
    result = run_host("train.py", "--dataroot", dataroot, "--name", "g", "--checkpoints_dir", tmp_path,
                      "--model", "pix2pix", "--netG", "resnet_6blocks", "--norm", "instance", "--netD", netD,
                      "--n_layers_D", "2", "--gan_mode", gan_mode, "--preprocess", "none", "--n_epochs", "1",
                      "--print_freq", "1", *gpu, *SMALL)
    assert result.returncode == 0, result.stderr
    if gan_mode == "lsgan" and not torch.cuda.is_available():
        notices = [line for line in result.stderr.splitlines() if "no CUDA device" in line]
        assert len(notices) == 1 and "running on CPU" in notices[0]
    weights = torch.load(tmp_path / "g" / "latest_net_D.pth", weights_only=True)
    kernel_sizes = {tuple(v.shape[2:]) for k, v in weights.items() if k.endswith("weight") and v.dim() == 4}
    assert kernel_sizes == ({(1, 1)} if netD == "pixel" else {(4, 4)})
    losses = [line for line in (tmp_path / "g" / "loss_log.txt").read_text().splitlines() if line.startswith("(")]
    assert len(losses) == 3 and "nan" not in " ".join(losses)


def test_continue_train_resumes_weights_and_optimizer_state(aligned_dataroot, tmp_path):
    common = ["--dataroot", aligned_dataroot, "--name", "r", "--checkpoints_dir", tmp_path, "--model", "pix2pix",
              "--netG", "unet_128", "--load_size", "128", "--crop_size", "128", "--gpu_ids", "-1", *SMALL]
    first = run_host("train.py", *common, "--n_epochs", "1")
    assert first.returncode == 0, first.stderr
    adam_steps = torch.load(tmp_path / "r" / "latest_state.pth", weights_only=True)["optimizers"][0]["state"][0]
    second = run_host("train.py", *common, "--n_epochs", "2", "--epoch_count", "2", "--continue_train")
    assert second.returncode == 0, second.stderr
    assert "loading the model from" in second.stdout
    state = torch.load(tmp_path / "r" / "latest_state.pth", weights_only=True)
    assert state["epoch"] == 2 and state["total_iters"] == 6
    assert state["optimizers"][0]["state"][0]["step"].item() == adam_steps["step"].item() + 3


def test_a_user_mistake_is_one_line_and_a_non_zero_exit(aligned_dataroot, tmp_path):
    result = run_host("train.py", "--dataroot", aligned_dataroot, "--checkpoints_dir", tmp_path,
                      "--model", "pix2pix", "--gpu_ids", "-1", *SMALL, "--phase", "missing")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "missing is not a folder" in last and "--dataroot" in last
