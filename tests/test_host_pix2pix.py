"""End-to-end: the bundled host trains pix2pix on CPU through train.py and reproduces it with test.py."""
import math
import re
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import HOST_DIR, HOST_SCRIPTS, run_host, write_aligned_set

pytestmark = [pytest.mark.slow,
              pytest.mark.end_to_end(reason=HOST_SCRIPTS)]

TRAIN_FLAGS = ["--model", "pix2pix", "--netG", "unet_128", "--ngf", "16", "--ndf", "16",
               "--load_size", "128", "--crop_size", "128", "--gpu_ids", "-1", "--num_threads", "0"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short pix2pix run (1 epoch of 3 pairs) and its test gallery, shared by the tests below."""
    tmp = tmp_path_factory.mktemp("pix2pix")
    dataroot = write_aligned_set(tmp / "data", "train", seed=0)
    write_aligned_set(dataroot, "test", seed=1)
    common = ["--dataroot", dataroot, "--name", "p2p", "--checkpoints_dir", tmp / "checkpoints"] + TRAIN_FLAGS
    train = run_host("train.py", *common, "--display_id", "0", "--n_epochs", "1", "--n_epochs_decay", "0",
                     "--print_freq", "1")
    assert train.returncode == 0, train.stderr
    test = run_host("test.py", *common, "--results_dir", tmp / "results", "--eval")
    assert test.returncode == 0, test.stderr
    return {"tmp": tmp, "dataroot": dataroot, "run": tmp / "checkpoints" / "p2p",
            "gallery": tmp / "results" / "p2p" / "test_latest", "common": common}


def test_loss_log_has_finite_pix2pix_losses(trained):
    lines = [line for line in (trained["run"] / "loss_log.txt").read_text().splitlines() if line.startswith("(epoch")]
    assert len(lines) == 3  # print_freq 1, three images, batch size 1
    for line in lines:
        losses = dict(re.findall(r"(\w+): ([-\d.naif]+) ", line.split(")", 1)[1]))
        assert list(losses) == ["G_GAN", "G_L1", "D_real", "D_fake"]
        assert all(math.isfinite(float(v)) for v in losses.values())


def test_checkpoint_files_and_training_state(trained):
    run = trained["run"]
    for name in ("latest_net_G.pth", "latest_net_D.pth", "latest_state.pth", "train_opt.txt"):
        assert (run / name).is_file(), name
    assert not list(run.glob(".tmp_*")), "a temporary checkpoint file was left behind"
    weights = torch.load(run / "latest_net_G.pth", weights_only=True)
    assert not any(key.startswith("module.") for key in weights)
    assert all(value.device.type == "cpu" for value in weights.values())
    state = torch.load(run / "latest_state.pth", weights_only=True)
    assert state["epoch"] == 1 and state["total_iters"] == 3
    assert state["opt"]["netG"] == "unet_128" and state["opt"]["ngf"] == 16 and state["opt"]["lambda_L1"] == 100.0
    assert len(state["optimizers"]) == len(state["schedulers"]) == 2
    assert state["optimizers"][0]["state"], "optimizer G has no Adam moments after three steps"


class _GalleryParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.images = 0, []

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows += 1
        if tag == "img":
            self.images.append(dict(attrs)["src"])


def test_gallery_has_one_row_per_test_image_and_every_file_exists(trained):
    parser = _GalleryParser()
    parser.feed((trained["gallery"] / "index.html").read_text())
    assert parser.rows == 3
    assert len(parser.images) == 9  # real_A, fake_B, real_B per row
    for src in parser.images:
        assert (trained["gallery"] / src).is_file(), src
    assert sorted(p.name for p in (trained["gallery"] / "images").glob("pair_0_*")) == \
        ["pair_0_fake_B.png", "pair_0_real_A.png", "pair_0_real_B.png"]


def test_test_script_reproduces_the_generator_bit_for_bit(trained):
    """fake_B written by test.py --eval equals G(A) computed here from the checkpoint."""
    sys.path.insert(0, str(HOST_DIR))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        from models import networks
        from util.util import tensor2im
        import torchvision.transforms.functional as TF
        net = networks.define_G(3, 3, 16, "unet_128", norm="batch", use_dropout=True)
        net.load_state_dict(torch.load(trained["run"] / "latest_net_G.pth", weights_only=True))
        net.eval()
        pair = Image.open(trained["dataroot"] / "test" / "pair_2.png").convert("RGB")
        a = TF.normalize(TF.to_tensor(pair.crop((0, 0, 128, 128))), (0.5,) * 3, (0.5,) * 3)
        with torch.no_grad():
            expected = tensor2im(net(a.unsqueeze(0)))
    finally:
        torch.set_num_threads(threads)
        sys.path.remove(str(HOST_DIR))
    written = np.asarray(Image.open(trained["gallery"] / "images" / "pair_2_fake_B.png"))
    assert written.shape == expected.shape == (128, 128, 3)
    assert np.array_equal(written, expected)
    assert np.std(written.astype(float)) > 0  # not a constant image


def test_wrong_netG_at_test_time_names_the_flag(trained):
    result = run_host("test.py", *trained["common"], "--results_dir", trained["tmp"] / "results2",
                      "--netG", "unet_256")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert "--netG unet_128" in message and "--netG unet_256" in message and "latest_net_G.pth" in message


def test_wrong_norm_at_test_time_names_the_flag(trained):
    result = run_host("test.py", *trained["common"], "--results_dir", trained["tmp"] / "results3",
                      "--norm", "instance")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "pass --norm batch" in result.stderr


def test_missing_checkpoint_is_one_clear_line(trained):
    common = list(trained["common"])
    common[common.index("p2p")] = "no_such_run"
    result = run_host("test.py", *common, "--results_dir", trained["tmp"] / "results4")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "does not exist" in result.stderr and "latest_net_G.pth" in result.stderr
