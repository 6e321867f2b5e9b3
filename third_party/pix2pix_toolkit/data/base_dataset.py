"""The dataset base class and the shared image preprocessing (resize, crop, flip, normalise).

`get_params` draws one random crop position and flip per sample so that the A
and B images of a pair are transformed identically; `get_transform` builds the
torchvision pipeline that maps a PIL image to a (C, H, W) tensor in [-1, 1].
"""
import random
from abc import ABC, abstractmethod

import torch.utils.data as data
import torchvision.transforms as transforms
from PIL import Image
from torchvision.transforms import InterpolationMode

from util.errors import UserError

# PIL's resampling constants, for callers that still pass e.g. Image.BICUBIC.
_PIL_TO_MODE = {
    Image.NEAREST: InterpolationMode.NEAREST,
    Image.BILINEAR: InterpolationMode.BILINEAR,
    Image.BICUBIC: InterpolationMode.BICUBIC,
    Image.LANCZOS: InterpolationMode.LANCZOS,
}


class BaseDataset(data.Dataset, ABC):
    """A dataset of samples (dicts with `A`, `B`, `A_paths`, `B_paths`) rooted at `--dataroot`."""

    def __init__(self, opt):
        self.opt = opt
        self.root = opt.dataroot

    @staticmethod
    def modify_commandline_options(parser, is_train):
        """Add dataset-specific options or change defaults; return the parser."""
        return parser

    @abstractmethod
    def __len__(self):
        """Number of samples."""

    @abstractmethod
    def __getitem__(self, index):
        """The sample at `index` as a dict."""


def get_params(opt, size):
    """Random crop position and flip for an image of `size` = (w, h) after resizing."""
    w, h = size
    new_w, new_h = w, h
    if opt.preprocess == "resize_and_crop":
        new_w = new_h = opt.load_size
    elif opt.preprocess == "scale_width_and_crop":
        new_w = opt.load_size
        new_h = opt.load_size * h // w
    x = random.randint(0, max(0, new_w - opt.crop_size))
    y = random.randint(0, max(0, new_h - opt.crop_size))
    flip = random.random() > 0.5
    return {"crop_pos": (x, y), "flip": flip}


def get_transform(opt, params=None, grayscale=False, method=InterpolationMode.BICUBIC, convert=True):
    """PIL image -> (C, H, W) tensor in [-1, 1] following `--preprocess` and `--no_flip`.

    params: from get_params to crop/flip deterministically (paired images), or
    None for random crops/flips.  grayscale: convert to 1 channel first.
    method: resampling (an InterpolationMode or a PIL constant).
    convert=False stops at the transformed PIL image.
    """
    method = _PIL_TO_MODE.get(method, method)
    steps = []
    if grayscale:
        steps.append(transforms.Grayscale(1))
    if "resize" in opt.preprocess:
        steps.append(transforms.Resize([opt.load_size, opt.load_size], interpolation=method))
    elif "scale_width" in opt.preprocess:
        steps.append(transforms.Lambda(lambda img: _scale_width(img, opt.load_size, opt.crop_size, method)))
    if "crop" in opt.preprocess:
        if params is None:
            steps.append(transforms.RandomCrop(opt.crop_size))
        else:
            steps.append(transforms.Lambda(lambda img: _crop(img, params["crop_pos"], opt.crop_size)))
    if opt.preprocess == "none":
        steps.append(transforms.Lambda(lambda img: _make_multiple_of(img, 4, method)))
    if not opt.no_flip:
        if params is None:
            steps.append(transforms.RandomHorizontalFlip())
        elif params["flip"]:
            steps.append(transforms.Lambda(lambda img: img.transpose(Image.FLIP_LEFT_RIGHT)))
    if convert:
        steps.append(transforms.ToTensor())
        n = 1 if grayscale else 3
        steps.append(transforms.Normalize((0.5,) * n, (0.5,) * n))
    return transforms.Compose(steps)


def _pil_method(method):
    """InterpolationMode -> the PIL resampling constant for Image.resize."""
    for pil_constant, mode in _PIL_TO_MODE.items():
        if mode == method:
            return pil_constant
    return Image.BICUBIC


def _make_multiple_of(img, base, method):
    """Round both sides to the nearest multiple of `base` (networks halve the size repeatedly)."""
    w, h = img.size
    new_w, new_h = max(base, round(w / base) * base), max(base, round(h / base) * base)
    if (new_w, new_h) == (w, h):
        return img
    return img.resize((new_w, new_h), _pil_method(method))


def _scale_width(img, target_width, crop_width, method):
    """Resize to `target_width` wide keeping the aspect ratio (never narrower than the crop)."""
    w, h = img.size
    if w == target_width and h >= crop_width:
        return img
    new_w = target_width
    new_h = int(max(target_width * h / w, crop_width))
    return img.resize((new_w, new_h), _pil_method(method))


def _crop(img, pos, size):
    """Crop a size x size square whose top-left corner is `pos` (when the image is larger).

    UserError for an image smaller than the crop (with resize_and_crop the resize
    to --load_size >= --crop_size upscales small images first, so this is a
    --preprocess crop/none case).
    """
    w, h = img.size
    x, y = pos
    if w < size or h < size:
        raise UserError(f"an image is {w}x{h}, smaller than --crop_size {size}; pass a --crop_size of at most "
                        f"{min(w, h)}, or --preprocess resize_and_crop to upscale it first.")
    if w > size or h > size:
        return img.crop((x, y, x + size, y + size))
    return img
