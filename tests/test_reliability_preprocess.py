"""`--preprocess` and `--gpu_ids` through the host's train.py: every mode is honoured or refused in one sentence.

* `scale_shortside_and_crop` and `pad` are kaist_aligned's: another --dataset_mode is refused, not misread.
* `--preprocess pad --batch_size 2` on images of two padded sizes is refused before training.
* Every mode's input size is checked against what --netG needs before the first iteration: the flags that fix
  it (`--load_size` for resize and scale_width, `--pad_multiple`), and the images' own sizes (`none`).
* `--gpu_ids 0,x` is one sentence, before the run folder is touched.
"""
import numpy as np
import pytest
from PIL import Image

from conftest import run_host, write_aligned_set
from test_kaist_aligned import host_dataset_class, make_opt  # noqa: F401 (a fixture)
from test_registration import CLASSIC_NETWORKS, clean_slate, write_host  # noqa: F401 (clean_slate: a fixture)

pytestmark = pytest.mark.end_to_end(reason="the exit code and the one-line error of the host's train.py as a "
                                           "user sees them")

TINY = ["--ngf", "8", "--ndf", "8", "--gpu_ids", "-1", "--num_threads", "0", "--display_id", "0",
        "--n_epochs", "1", "--n_epochs_decay", "0", "--print_freq", "100"]
FUSION = ["--model", "pix2pix", "--netG", "unetpp_fusion", "--dataset_mode", "kaist_aligned", *TINY]


def flat_pairs(root, sizes):
    """<root>/train/{visible,lwir}/<k>.png of the given (width, height) sizes."""
    rng = np.random.default_rng(0)
    for k, (width, height) in enumerate(sizes):
        for modality in ("visible", "lwir"):
            folder = root / "train" / modality
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(folder / f"{k}.png")
    return root


def refusal(result):
    """The one error line of a refused run (exit 2, no traceback)."""
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return result.stderr.strip().splitlines()[-1]


def test_kaist_aligned_modes_are_refused_for_the_hosts_aligned_dataset(tmp_path):
    """`pad` is refused the same way (test_an_upstream_checkout_gets_the_same_sentences)."""
    mode = "scale_shortside_and_crop"
    dataroot = write_aligned_set(tmp_path / "data", count=1)
    result = run_host("train.py", "--dataroot", dataroot, "--name", "r", "--checkpoints_dir", tmp_path / "ck",
                      "--model", "pix2pix", "--netG", "unet_128", "--dataset_mode", "aligned", "--preprocess", mode,
                      "--load_size", "128", "--crop_size", "128", *TINY)
    assert refusal(result) == (
        f"error: --preprocess {mode} is a mode of --dataset_mode kaist_aligned, which --dataset_mode aligned "
        f"does not read; pass --dataset_mode kaist_aligned, or one of the host's modes (resize_and_crop, crop, "
        f"scale_width, scale_width_and_crop, none).")
    assert not (tmp_path / "ck").exists()   # refused before the run folder is made


def test_pad_with_a_batch_of_images_of_two_padded_sizes_is_refused(tmp_path):
    dataroot = flat_pairs(tmp_path / "data", [(64, 64), (96, 64)])
    result = run_host("train.py", "--dataroot", dataroot, "--name", "r", "--checkpoints_dir", tmp_path / "ck",
                      *FUSION, "--preprocess", "pad", "--batch_size", "2")
    assert refusal(result) == (
        "error: --preprocess pad keeps each image whole, and these images are padded to 2 sizes (64x64, 96x64), "
        "which cannot share a batch; pass --batch_size 1, or --preprocess scale_shortside_and_crop.")
    assert not list((tmp_path / "ck").rglob("*.pth"))


@pytest.mark.parametrize("flags, message", [
    (["--preprocess", "none"],
     "error: --preprocess none gives the images of pair 0 to --netG unetpp_fusion as 80x48, and it needs "
     "sides that are multiples of 32; pass --preprocess pad (whole images, padded to that multiple), or "
     "--preprocess scale_shortside_and_crop with a --crop_size that is one."),
    (["--preprocess", "pad", "--pad_multiple", "16"],
     "error: --pad_multiple 16 pads images to multiples of 16, and --netG unetpp_fusion needs multiples of 32; "
     "pass --pad_multiple 32 (or a multiple of it), or 0 for what --netG needs."),
])
def test_every_mode_checks_the_input_size_before_training(tmp_path, flags, message):
    dataroot = flat_pairs(tmp_path / "data", [(80, 48)])
    result = run_host("train.py", "--dataroot", dataroot, "--name", "r", "--checkpoints_dir", tmp_path / "ck",
                      *FUSION, *flags)
    assert refusal(result) == message
    assert not list((tmp_path / "ck").rglob("*.pth"))


def test_gpu_ids_that_are_not_numbers_are_one_sentence(tmp_path):
    gpu_ids = "0,x"
    dataroot = write_aligned_set(tmp_path / "data", count=1)
    flags = [f if f != "-1" else gpu_ids for f in TINY]
    result = run_host("train.py", "--dataroot", dataroot, "--name", "r", "--checkpoints_dir", tmp_path / "ck",
                      "--model", "pix2pix", "--netG", "unet_128", "--dataset_mode", "aligned", *flags)
    assert refusal(result) == (
        f"error: --gpu_ids {gpu_ids} is not a list of GPU numbers; pass them separated by commas (0, or 0,1), "
        f"or -1 for the CPU.")
    assert not (tmp_path / "ck").exists()


@pytest.mark.parametrize("gpu_ids, numbers", [("0", True), ("0,1", True), ("-1", True), (" 0 , 2 ", True),
                                              ("0,x", False), ("gpu0", False), ("0;1", False), ("1.5", False)])
def test_the_gpu_ids_check_takes_what_the_host_parses(gpu_ids, numbers):
    from argparse import Namespace

    from mrff_plugin.attach.patches import check_gpu_ids
    from mrff_plugin.errors import OptionError
    if numbers:
        check_gpu_ids(Namespace(gpu_ids=gpu_ids))
    else:
        with pytest.raises(OptionError, match=r"^--gpu_ids .* is not a list of GPU numbers"):
            check_gpu_ids(Namespace(gpu_ids=gpu_ids))
    check_gpu_ids(Namespace())   # a newer-era host has no --gpu_ids


def test_the_hosts_own_dataset_under_none_is_checked_before_training(tmp_path):
    dataroot = write_aligned_set(tmp_path / "data", count=1, size=80)
    result = run_host("train.py", "--dataroot", dataroot, "--name", "r", "--checkpoints_dir", tmp_path / "ck",
                      "--model", "pix2pix", "--netG", "unetpp_fusion", "--dataset_mode", "aligned",
                      "--preprocess", "none", *TINY)
    assert refusal(result) == (
        f"error: --preprocess none gives the image {dataroot / 'train' / 'pair_0.png'} to --netG unetpp_fusion as "
        f"80x80, and it needs sides that are multiples of 32; pass --preprocess resize_and_crop or crop with a "
        f"--crop_size that is one, or --dataset_mode kaist_aligned with --preprocess pad (whole images, padded).")
    assert not list((tmp_path / "ck").rglob("*.pth"))


def test_scale_width_checks_the_height_the_images_give(host_dataset_class, tmp_path):
    """In process (the bundled host's transforms): 80x48 at --load_size 64 wide is 64x38."""
    from mrff_plugin.datasets.kaist_aligned import KaistDatasetError
    dataroot = flat_pairs(tmp_path / "data", [(80, 48)])
    dataset = host_dataset_class(make_opt(host_dataset_class, dataroot, preprocess="scale_width", load_size=64,
                                          crop_size=32, netG="unetpp_fusion", input_nc=3, output_nc=3,
                                          dataset_mode="kaist_aligned"))
    with pytest.raises(KaistDatasetError) as refused:
        dataset[0]   # every pair as it is read (the first one also before training: check_first_item)
    assert str(refused.value) == (
        "--preprocess scale_width gives the images of pair 0 to --netG unetpp_fusion as 64x38, and it needs sides "
        "that are multiples of 32; pass --preprocess pad (whole images, padded to that multiple), or --preprocess "
        "scale_shortside_and_crop with a --crop_size that is one.")
    fits = flat_pairs(tmp_path / "fits", [(128, 64)])   # 64 wide: 64x32
    dataset = host_dataset_class(make_opt(host_dataset_class, fits, preprocess="scale_width", load_size=64,
                                          crop_size=32, netG="unetpp_fusion", input_nc=3, output_nc=3,
                                          dataset_mode="kaist_aligned"))
    assert tuple(dataset[0]["A"].shape) == (3, 32, 64)


@pytest.mark.parametrize("preprocess, flag", [("resize", "load_size"), ("scale_width", "load_size"),
                                              ("resize_and_crop", "crop_size"), ("crop", "crop_size")])
def test_the_flag_that_fixes_the_size_is_checked_for_every_mode(preprocess, flag):
    from argparse import Namespace

    from mrff_plugin.errors import OptionError
    from mrff_plugin.networks import OPTIONS
    sizes = {"load_size": 96, "crop_size": 64, flag: 80}
    with pytest.raises(OptionError, match="got 80x80: set --load_size/--crop_size accordingly"):
        OPTIONS["unetpp_fusion"].check(Namespace(preprocess=preprocess, **sizes), None)
    OPTIONS["unetpp_fusion"].check(Namespace(preprocess=preprocess, load_size=96, crop_size=64), None)
    OPTIONS["unetpp_fusion"].check(Namespace(preprocess="none", load_size=80, crop_size=80), None)   # the images


@pytest.mark.slow
def test_pad_with_a_batch_of_one_padded_size_trains(tmp_path):
    """The refusal above is about the sizes: 60x64 and 64x64 both pad to 64x64 and share a batch."""
    dataroot = flat_pairs(tmp_path / "data", [(64, 64), (60, 64)])
    result = run_host("train.py", "--dataroot", dataroot, "--name", "r", "--checkpoints_dir", tmp_path / "ck",
                      *FUSION, "--preprocess", "pad", "--batch_size", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "ck" / "r" / "latest_net_G.pth").is_file()


# An upstream-style checkout: its parse turns --gpu_ids into numbers right after gather_options, with no
# error type of its own.
UPSTREAM_OPTIONS = '''
import argparse

class BaseOptions:
    def initialize(self, parser):
        parser.add_argument("--netG", default="resnet_9blocks")
        parser.add_argument("--gpu_ids", type=str, default="0")
        parser.add_argument("--dataset_mode", default="unaligned")
        parser.add_argument("--preprocess", default="resize_and_crop")
        return parser

    def gather_options(self, args=None):
        self.parser = self.initialize(argparse.ArgumentParser())
        return self.parser.parse_args(args)

    def parse(self, args=None):
        opt = self.gather_options(args)
        opt.gpu_ids = [int(part) for part in opt.gpu_ids.split(",") if int(part) >= 0]
        return opt
'''


def test_an_upstream_checkout_gets_the_same_sentences(clean_slate, tmp_path):
    from mrff_plugin import attach
    from mrff_plugin.errors import MrffError
    root = write_host(tmp_path / "upstream", CLASSIC_NETWORKS)
    (root / "options" / "base_options.py").write_text(UPSTREAM_OPTIONS)
    clean_slate.syspath_prepend(str(root))
    attach.register()
    from options.base_options import BaseOptions
    with pytest.raises(MrffError) as refused:
        BaseOptions().parse(["--gpu_ids", "0,x"])
    assert str(refused.value) == ("--gpu_ids 0,x is not a list of GPU numbers; pass them separated by commas "
                                  "(0, or 0,1), or -1 for the CPU.")
    with pytest.raises(MrffError, match=r"^--preprocess pad is a mode of --dataset_mode kaist_aligned"):
        BaseOptions().parse(["--dataset_mode", "aligned", "--preprocess", "pad"])
    assert BaseOptions().parse(["--gpu_ids", "0,1"]).gpu_ids == [0, 1]
