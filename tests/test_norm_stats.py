"""What users ship is what was measured: `mrff generate` normalises as the host's test.py runs pix2pix.

The host's test.py (without --eval) runs the generator in train mode at batch 1: every BatchNorm
normalises the image by its own statistics.  `mrff generate` does the same by default
(`--norm_stats image`) with dropout off.  For a network trained with --no_dropout, test.py is then
deterministic and the two must agree within one grey level at every pixel: checked end to end
through the unmodified bundled host for the paper's fusion network, the authors' released
variant (no BatchNorm: the same either way) and the host's unet_128.
"""
import numpy as np
import pytest
from PIL import Image

from conftest import run_host, write_aligned_set
from tiny_generator import mrff

pytestmark = [pytest.mark.slow,
              pytest.mark.end_to_end(reason="compares the host's own test.py with `mrff generate`, each run as a "
                                            "user runs it")]

NETWORKS = {  # label -> (flags, image side: 64 for the fusion networks, unet_128's seven halvings need 128)
    "fusion paper": (["--netG", "unetpp_fusion", "--mrff_arch", "paper"], 64),
    # the host's default N(0, 0.02) leaves this deep plain-ReLU network's output flat grey for many steps, so
    # the comparison would prove nothing; Kaiming initialisation gives an image after one epoch
    "fusion released": (["--netG", "unetpp_fusion", "--mrff_arch", "released", "--init_type", "kaiming"], 64),
    "unet_128": (["--netG", "unet_128"], 128),
}


def rgb(path):
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int16)


@pytest.mark.parametrize("label", list(NETWORKS))
def test_generate_equals_test_py_fake_B_for_a_network_trained_without_dropout(tmp_path, label):
    flags, size = NETWORKS[label]
    dataroot = write_aligned_set(tmp_path / "data", "train", count=2, size=size, seed=0)
    write_aligned_set(dataroot, "test", count=3, size=size, seed=1)
    common = ["--dataroot", dataroot, "--name", "n", "--checkpoints_dir", tmp_path / "checkpoints",
              "--model", "pix2pix", *flags, "--ngf", "8", "--ndf", "8", "--no_dropout",
              "--load_size", str(size), "--crop_size", str(size), "--gpu_ids", "-1", "--num_threads", "0"]
    train = run_host("train.py", *common, "--display_id", "0", "--n_epochs", "1", "--n_epochs_decay", "0")
    assert train.returncode == 0, train.stderr
    test = run_host("test.py", *common, "--results_dir", tmp_path / "results")
    assert test.returncode == 0, test.stderr
    gallery = tmp_path / "results" / "n" / "test_latest" / "images"
    inputs = tmp_path / "visible"
    inputs.mkdir()
    for path in (dataroot / "test").iterdir():   # the A halves test.py read (its saved real_A can be 1 level off)
        pair = Image.open(path)
        pair.crop((0, 0, pair.width // 2, pair.height)).save(inputs / path.name)
    assert len(list(inputs.iterdir())) == 3
    out = tmp_path / "generated"
    result = mrff("generate", "--checkpoint", tmp_path / "checkpoints" / "n", "--input", inputs, "--output", out,
                  "--workers", "0", "--quiet", "--batch_size", "3")
    assert result.returncode == 0, result.stderr
    running = tmp_path / "running"
    result = mrff("generate", "--checkpoint", tmp_path / "checkpoints" / "n", "--input", inputs, "--output",
                  running, "--workers", "0", "--quiet", "--norm_stats", "running")
    assert result.returncode == 0, result.stderr
    differs_by_running_statistics = []
    for path in inputs.iterdir():
        expected = rgb(gallery / (path.stem + "_fake_B.png"))
        got = rgb(out / path.name)
        assert got.shape == expected.shape == (size, size, 3)
        assert np.abs(got - expected).max() <= 1, (label, path.name, np.abs(got - expected).max())
        assert expected.std() > 1   # not a flat image
        differs_by_running_statistics.append(np.abs(rgb(running / path.name) - expected).mean())
    if label != "fusion released":   # BatchNorm networks: the eval-mode path is measurably another output
        assert min(differs_by_running_statistics) > 0.5, differs_by_running_statistics
