"""Framing real, non-square pairs: the two `--preprocess` modes `kaist_aligned` adds to the host's.

Real visible/infrared sets are neither square nor one size (RoadScene's crops run
from 597x161 to 394x380), and the host's modes either squash them
(`resize_and_crop`, `none` rounds each side to a multiple of 4) or give up the
aspect ratio on wide ones (`scale_width_and_crop` at 286 wide makes RoadScene's
597x161 FLIR_06974 77 pixels tall, then stretches it to the crop). So:

* `scale_shortside_and_crop` (training): scale the image so its short side is
  `--load_size` (aspect ratio kept), then cut a random `--crop_size` square;
  the same scale, crop and flip go to both images of a pair.
* `pad` (testing): the whole image at its own size, padded at the bottom and
  right by reflection up to a multiple of `--pad_multiple` (what the generator
  needs: 0 picks it from `--netG`, `generator_multiple`), never flipped. The item carries
  `unpadded_size` (H, W) so a model can crop its results back; `--model
  mrff_pix2pix` does, so its test gallery shows real_A / fake_B / real_B at each
  image's own size. The host's `pix2pix` model knows nothing of padding and shows
  the padded frames (the same checkpoint tests under `--model mrff_pix2pix
  --netG <its netG>` to get them cropped).

Both are `kaist_aligned`'s: the host's own datasets would read `scale_shortside_and_crop` as a
plain crop and `pad` as nothing, so `check_dataset_mode` refuses them with another
`--dataset_mode` when the options are parsed.  `fixed_side` says which flag fixes the
size every image reaches the generator at; under `none` and `scale_width` the images'
own sizes decide it: `check_first_item` reads the first item of any dataset before training or
testing starts, and `kaist_aligned` checks every item it reads.

Pillow and numpy (torch only inside `check_first_item`, for its random state); the host's
`get_transform` then flips, converts and normalises as for its own modes.
"""
import random

import numpy as np
from PIL import Image

from ..errors import OptionError

SHORTSIDE = "scale_shortside_and_crop"
PAD = "pad"
MODES = (SHORTSIDE, PAD)
DATASET_MODE = "kaist_aligned"   # the dataset that reads MODES
HOST_MODES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")   # docs/architecture.md, "The host contract"
OWN_SIZE_MODES = ("none", "scale_width")   # the host's modes that keep (one side of) each image's own size

# Input sides the host's generators need: 2 ** (stride-2 convolutions) -- a U-Net of 8 (unet_256) or 7
# (unet_128) halvings, a ResNet generator of 2 (docs/architecture.md, "The host contract"). The plugin's generators
# (unetpp_fusion: five stride-2 stages) and any other name get PLUGIN_MULTIPLE.
HOST_MULTIPLES = {"unet_256": 256, "unet_128": 128, "resnet_9blocks": 4, "resnet_6blocks": 4}
PLUGIN_MULTIPLE = 32


def check_dataset_mode(opt):
    """OptionError when --preprocess names one of MODES and --dataset_mode is not the dataset that reads it."""
    mode, dataset_mode = getattr(opt, "preprocess", None), getattr(opt, "dataset_mode", None)
    if mode in MODES and dataset_mode != DATASET_MODE:
        raise OptionError(f"--preprocess {mode} is a mode of --dataset_mode {DATASET_MODE}, which --dataset_mode "
                          f"{dataset_mode} does not read; pass --dataset_mode {DATASET_MODE}, or one of the host's "
                          f"modes ({', '.join(HOST_MODES)}).")


def fixed_side(opt):
    """The side the flags give every image under --preprocess: --crop_size for the crop modes, --load_size for
    `resize` (both sides) and `scale_width` (the width); None for `none` and `pad` (the images' own sizes)."""
    mode = str(getattr(opt, "preprocess", ""))
    if "crop" in mode:
        return getattr(opt, "crop_size", None)
    if "resize" in mode or "scale_width" in mode:
        return getattr(opt, "load_size", None)
    return None


def own_size_problem(opt, height, width, source):
    """The sentence for `source` (e.g. 'the images of pair set06/V000/I00000') reaching --netG at height x width
    under --preprocess none / scale_width when --netG cannot take those sides, else None."""
    netG = getattr(opt, "netG", None)
    if getattr(opt, "preprocess", None) not in OWN_SIZE_MODES or netG is None:
        return None
    needed = generator_multiple(str(netG))
    if not (height % needed or width % needed):
        return None
    fix = (f"--preprocess {PAD} (whole images, padded to that multiple), or --preprocess {SHORTSIDE} with a "
           f"--crop_size that is one" if getattr(opt, "dataset_mode", None) == DATASET_MODE else
           f"--preprocess resize_and_crop or crop with a --crop_size that is one, or --dataset_mode {DATASET_MODE} "
           f"with --preprocess {PAD} (whole images, padded)")
    return (f"--preprocess {opt.preprocess} gives {source} to --netG {netG} as {width}x{height}, and it needs "
            f"sides that are multiples of {needed}; pass {fix}.")


def check_first_item(opt, dataset):
    """OptionError when the dataset's first item (read once, every random state put back) reaches --netG at sides
    it cannot take under --preprocess none / scale_width (`own_size_problem`): before training or testing."""
    if getattr(opt, "preprocess", None) not in OWN_SIZE_MODES or getattr(opt, "netG", None) is None \
            or dataset is None or len(dataset) == 0:
        return
    import torch
    state, torch_state = random.getstate(), torch.get_rng_state()
    try:
        item = dataset[0]
    finally:
        random.setstate(state)
        torch.set_rng_state(torch_state)
    image = item.get("A") if isinstance(item, dict) else None
    if image is None:
        return
    source = (f"the images of pair {item['pair_id']}" if "pair_id" in item else
              f"the image {item.get('A_paths', 'of the first item')}")
    problem = own_size_problem(opt, *image.shape[-2:], source)
    if problem:
        raise OptionError(problem)


def padded_size(size, multiple):
    """(w, h) -> the (w, h) `pad_to_multiple` gives an image of that size."""
    return tuple(side + -side % multiple for side in size)


def generator_multiple(netG, pad_multiple=0):
    """The multiple `pad` pads to: `pad_multiple` when given (> 0), else the one `netG` needs."""
    return pad_multiple if pad_multiple > 0 else HOST_MULTIPLES.get(netG, PLUGIN_MULTIPLE)


def shortside_params(size, load_size, crop_size, flip=True):
    """Random framing of a (w, h) image: {'size': scaled (w, h), 'crop_pos': (x, y), 'flip': bool}.

    The short side becomes `load_size`, the long one keeps the aspect ratio (rounded, never shorter).
    """
    w, h = size
    scale = load_size / min(w, h)
    scaled = (max(load_size, round(w * scale)), max(load_size, round(h * scale)))
    x = random.randint(0, scaled[0] - crop_size)
    y = random.randint(0, scaled[1] - crop_size)
    return {"size": scaled, "crop_pos": (x, y), "flip": flip and random.random() > 0.5}


def frame_shortside(image, params, crop_size, resample=Image.BICUBIC):
    """`image` scaled to params['size'] and cut to the crop_size square at params['crop_pos'] (no flip)."""
    if image.size != params["size"]:
        image = image.resize(params["size"], resample)
    x, y = params["crop_pos"]
    return image.crop((x, y, x + crop_size, y + crop_size))


def pad_to_multiple(image, multiple):
    """`image` padded at the bottom and right by reflection to sides that are multiples of `multiple`.

    Reflection (numpy 'reflect', mirrored again where the pad is longer than the image) keeps the
    border's statistics, so normalisation layers see no black band.
    """
    w, h = image.size
    (padded_w, padded_h) = padded_size((w, h), multiple)
    pad_h, pad_w = padded_h - h, padded_w - w
    if not (pad_h or pad_w):
        return image
    pixels = np.asarray(image)
    widths = ((0, pad_h), (0, pad_w)) + ((0, 0),) * (pixels.ndim - 2)
    return Image.fromarray(np.pad(pixels, widths, mode="reflect"), image.mode)
