"""Bad or unusual input files for the host's datasets: image modes, broken files, colliding result names."""
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import HOST_DIR, run_host, write_aligned_set


@pytest.fixture(scope="module")
def host():
    """The host's image reading and result naming, imported from HOST_DIR."""
    sys.path.insert(0, str(HOST_DIR))
    try:
        from data.image_folder import load_rgb
        from util.errors import UserError
        from util.visualizer import result_name
        yield {"load_rgb": load_rgb, "result_name": result_name, "UserError": UserError}
    finally:
        sys.path.remove(str(HOST_DIR))


def test_grey_rgba_and_sixteen_bit_images_become_8_bit_rgb(host, tmp_path):
    Image.fromarray(np.array([[0, 128]], dtype=np.uint8), "L").save(tmp_path / "grey.png")
    Image.fromarray(np.array([[[10, 20, 30, 0]]], dtype=np.uint8), "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(np.array([[0, 257 * 100, 65535]], dtype=np.uint16)).save(tmp_path / "deep.png")
    grey = np.asarray(host["load_rgb"](tmp_path / "grey.png"))
    assert grey.shape == (1, 2, 3) and grey[0, 1].tolist() == [128, 128, 128]
    assert np.asarray(host["load_rgb"](tmp_path / "rgba.png"))[0, 0].tolist() == [10, 20, 30]
    deep = np.asarray(host["load_rgb"](tmp_path / "deep.png"))
    assert deep.dtype == np.uint8 and deep[0, :, 0].tolist() == [0, 100, 255]


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_or_corrupt_image_names_the_file(host, tmp_path, suffix):
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(tmp_path / f"good{suffix}")
    data = (tmp_path / f"good{suffix}").read_bytes()
    (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) // 3])
    (tmp_path / f"junk{suffix}").write_bytes(b"not an image at all")
    for name in (f"cut{suffix}", f"junk{suffix}"):
        with pytest.raises(host["UserError"], match=rf"{tmp_path / name} is truncated or not a readable image"):
            host["load_rgb"](tmp_path / name)


def test_result_names_keep_the_stem_and_disambiguate_collisions(host):
    used = set()
    name = host["result_name"]
    assert name("/d/test/V000/I00000.png", None, used) == "I00000"
    assert name("/d/test/V001/I00000.png", "set06/V001/I00000", used) == "set06_V001_I00000"
    assert name("/d/test/V002/I00000.png", None, used) == "V002_I00000"
    assert name("/d/test/V002/I00000.png", None, used) == "test_V002_I00000"
    assert name("/d/test/V000/I00001.png", None, used) == "I00001"
    assert len(used) == 5


def test_broken_image_in_a_training_set_is_one_line_naming_it(tmp_path):
    dataroot = write_aligned_set(tmp_path / "data", "train", count=2)
    broken = dataroot / "train" / "pair_1.png"
    broken.write_bytes(broken.read_bytes()[:200])
    (dataroot / "train" / "README.txt").write_text("not an image: ignored")
    result = run_host("train.py", "--dataroot", dataroot, "--name", "r", "--checkpoints_dir", tmp_path / "ck",
                      "--model", "pix2pix", "--netG", "unet_128", "--ngf", "8", "--ndf", "8",
                      "--load_size", "128", "--crop_size", "128", "--gpu_ids", "-1", "--num_threads", "0",
                      "--display_id", "0", "--serial_batches")
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: {broken} is truncated or not a readable image")
    assert "Traceback" not in result.stderr and "README.txt" not in result.stderr


def test_images_smaller_than_the_crop_are_upscaled_or_refused(tmp_path):
    """resize_and_crop resizes to --load_size first (upscaling); --preprocess crop gets one sentence."""
    dataroot = write_aligned_set(tmp_path / "data", "train", count=1, size=48)
    common = ["--dataroot", dataroot, "--name", "r", "--checkpoints_dir", tmp_path / "ck", "--model", "pix2pix",
              "--netG", "unet_128", "--ngf", "8", "--ndf", "8", "--gpu_ids", "-1", "--num_threads", "0",
              "--display_id", "0", "--n_epochs", "1", "--n_epochs_decay", "0", "--crop_size", "128"]
    upscaled = run_host("train.py", *common, "--load_size", "128")
    assert upscaled.returncode == 0, upscaled.stderr
    refused = run_host("train.py", *common, "--preprocess", "crop")
    assert refused.returncode == 2
    assert refused.stderr.strip() == ("error: an image is 48x48, smaller than --crop_size 128; pass a --crop_size "
                                      "of at most 48, or --preprocess resize_and_crop to upscale it first.")
