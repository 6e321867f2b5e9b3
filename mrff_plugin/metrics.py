"""SSIM and PSNR of generated vs. real infrared images: the protocol of the paper's Table 3.

Both are computed on 8-bit grey images (values 0..255), in float64:

* SSIM (Wang et al. 2004): Gaussian window 11x11, sigma 1.5, K1 0.01, K2 0.03,
  data range 255, population (not sample) covariances; the mean of the SSIM map.
* PSNR: `10 log10(255^2 / MSE)` per image, data range 255 (identical images give +inf),
  by torchmetrics.

Colour images are first made grey with Pillow's 'L' conversion (ITU-R 601-2 luma,
`L = (19595 R + 38470 G + 7471 B + 32768) >> 16`); 16-bit grey is scaled to 8 bit
(see `mrff_plugin.datasets.images`). A run's score is the mean over its images.

SSIM's local means and (co)variances are filtered by scipy.ndimage, separably, as
scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255)` filters them (Gaussian truncated at 3.5
sigma: 11 taps): two 11-tap passes instead of torchmetrics' 121-tap 2-D convolution,
about 100x faster in float64 on a CPU (`benchmarks/fid_speed.py` times `mrff evaluate`).
Border handling is scikit-image's: the SSIM map is averaged only over pixels whose whole
11x11 window lies inside the image (5 pixels cropped per side), so padding never enters.
The tests hold both protocols to scikit-image and to torchmetrics' full SSIM map over the
same interior (two independent implementations) within 1e-6.

Shapes: functions on single images take (H, W) grey or (H, W, 3|4) colour arrays,
Pillow images or file paths; the batched ones take (N, H, W) or (N, 1, H, W)
tensors. H and W must be at least 11.

The authors' protocol (`scores_released_u8`, `mrff evaluate --protocol released`),
as their released evaluation scored Table 3: 8-bit 3-channel images (grey ones
repeated, as OpenCV reads them), SSIM per channel with a uniform 7x7 window,
sample covariances, K1 0.01, K2 0.03, data range 255, averaged over the three
channels (scikit-image's `structural_similarity(channel_axis=2)` defaults), and
PSNR over all three channels at once.  torchmetrics has population covariances
only; the sample-covariance SSIM equals it with C2 scaled by (n-1)/n, n = 49
window pixels (both covariance terms of SSIM carry the same n/(n-1) factor), so
K2 becomes 0.03 * sqrt(48/49), which is how it is computed here (uniform filters
by scipy.ndimage); the 3-pixel border is excluded as above.

The detail score (`detail_u8`, benchmarks/quality.py) is torchmetrics' spatial correlation
coefficient on the same 8-bit grey images: high-pass correlation, the finer-texture claim.

`summarise` turns a run's per-image scores into mean, sample std and N, as
`mrff evaluate` reports them and the test.py gallery's summary line shows them.
"""
import math

import numpy as np
import torch
from PIL import Image

from .datasets.images import convert_image, load_image


def peak_signal_noise_ratio(*args, **kwargs):
    """torchmetrics' PSNR, imported on first use (its import costs seconds that `mrff generate` does not need)."""
    from torchmetrics.functional.image import peak_signal_noise_ratio as psnr
    return psnr(*args, **kwargs)


def spatial_correlation_coefficient(*args, **kwargs):
    """torchmetrics' SCC, imported on first use (see peak_signal_noise_ratio)."""
    from torchmetrics.functional.image import spatial_correlation_coefficient as scc
    return scc(*args, **kwargs)


def ssim_interior(pred, target, local_mean, k1, k2, border):
    """Per-image mean SSIM map of (N, C, H, W) float64 tensors over the pixels `border` inside the edges, with
    population (co)variances from `local_mean` (a filter over the last two axes of a numpy array); (N,)."""
    x, y = pred.numpy(), target.numpy()
    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x, var_y = local_mean(x * x) - mu_x * mu_x, local_mean(y * y) - mu_y * mu_y
    cov_xy = local_mean(x * y) - mu_x * mu_y
    c1, c2 = (k1 * DATA_RANGE) ** 2, (k2 * DATA_RANGE) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / ((mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2))
    return torch.from_numpy(ssim_map[..., border:-border, border:-border].mean(axis=(1, 2, 3)))


def gaussian_mean(x):
    """Table 3's Gaussian window (11 taps, sigma 1.5) over the last two axes, separable (scipy.ndimage)."""
    from scipy.ndimage import gaussian_filter
    return gaussian_filter(x, sigma=(0,) * (x.ndim - 2) + (SSIM_SIGMA, SSIM_SIGMA), truncate=SSIM_TRUNCATE)


def released_mean(x):
    """The released protocol's uniform 7x7 window over the last two axes (scipy.ndimage)."""
    from scipy.ndimage import uniform_filter
    return uniform_filter(x, size=(1,) * (x.ndim - 2) + (RELEASED_WINDOW, RELEASED_WINDOW))


# Table 3 protocol (Wang et al. 2004 constants, 8-bit data)
SSIM_WINDOW = 11            # Gaussian window size: 2 * int(3.5 * sigma + 0.5) + 1 = 11 for sigma 1.5
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5         # window radius int(3.5 * 1.5 + 0.5) = 5 (scikit-image's truncation)
SSIM_K1 = 0.01
SSIM_K2 = 0.03
DATA_RANGE = 255.0
BORDER = (SSIM_WINDOW - 1) // 2   # pixels per side whose window leaves the image (cropped, as in scikit-image)

# The authors' released evaluation: old scikit-image compare_ssim(multichannel=True) defaults
RELEASED_WINDOW = 7             # uniform 7x7 window
RELEASED_CHANNELS = 3           # images read as 3-channel 8-bit (OpenCV's imread)
RELEASED_BORDER = (RELEASED_WINDOW - 1) // 2
_WINDOW_PIXELS = RELEASED_WINDOW ** 2
RELEASED_K2 = SSIM_K2 * ((_WINDOW_PIXELS - 1) / _WINDOW_PIXELS) ** 0.5   # sample covariance (module docstring)

# ITU-R 601-2 luma in Pillow's fixed point: L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16
LUMA_WEIGHTS = (19595, 38470, 7471)
LUMA_SHIFT = 16


# ---------------------------------------------------------------- to 8-bit grey

def grey_u8(image):
    """(H, W) uint8 grey image from a file path, a Pillow image or a numpy array.

    Arrays: (H, W) or (H, W, 3|4), dtype uint8 or uint16 (scaled to 8 bit).
    """
    if isinstance(image, np.ndarray):
        if image.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"expected a uint8 or uint16 image array, got {image.dtype}; "
                             f"quantise it to 8 bit first")
        if image.dtype == np.uint16 and image.ndim != 2:
            raise ValueError("16-bit arrays must be grey (H, W)")
        image = Image.fromarray(image)
    if isinstance(image, Image.Image):
        return np.array(convert_image(image, "L"))
    return np.array(load_image(image, "L"))


def rgb_u8(image):
    """(H, W, 3) uint8 image from a file path or a Pillow image; grey is repeated in 3 channels, as
    OpenCV's `imread` gives it (16-bit is scaled to 8 bit)."""
    if isinstance(image, Image.Image):
        return np.array(convert_image(image, "RGB"))
    return np.array(load_image(image, "RGB"))


def luma_u8(x):
    """(N, C, H, W) tensor of 8-bit values (C = 1 or 3) -> (N, H, W) int64 grey, Pillow's 'L' rule."""
    x = x.to(torch.int64)
    if x.shape[1] == 1:
        return x[:, 0]
    if x.shape[1] != 3:
        raise ValueError(f"expected 1 or 3 channels, got {x.shape[1]}")
    r, g, b = x.unbind(1)
    wr, wg, wb = LUMA_WEIGHTS
    return (r * wr + g * wg + b * wb + (1 << (LUMA_SHIFT - 1))) >> LUMA_SHIFT


def tensor_to_u8(x):
    """Tensors in [-1, 1] -> 8-bit values, as the toolkit quantises when it saves result images.

    `(x + 1) / 2 * 255` in float32, clipped to [0, 255] and truncated to an
    integer: the host's `util.tensor2im` followed by `astype(uint8)`.
    """
    return ((x.detach().float() + 1.0) / 2.0 * 255.0).clamp(0, 255).floor()


# ---------------------------------------------------------------- batched scores

def _as_batch(x):
    x = torch.as_tensor(x)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"expected grey images of shape (N, H, W) or (N, 1, H, W), got {tuple(x.shape)}")
    return x.detach().cpu().to(torch.float64)   # SSIM's filters run on the CPU (scipy.ndimage)


def scores_u8(pred, target):
    """Per-image SSIM and PSNR of two batches of 8-bit grey images.

    pred, target: (N, H, W) or (N, 1, H, W), values 0..255 (any numeric dtype).
    Returns (ssim, psnr), each a float64 tensor of shape (N,).
    """
    pred, target = _as_batch(pred), _as_batch(target)
    if pred.shape != target.shape:
        raise ValueError(f"image sizes differ: {tuple(pred.shape[2:])} vs {tuple(target.shape[2:])}")
    height, width = pred.shape[2:]
    if min(height, width) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {width}x{height}")
    ssim = ssim_interior(pred, target, gaussian_mean, SSIM_K1, SSIM_K2, BORDER)   # (N,)
    psnr = peak_signal_noise_ratio(pred, target, data_range=DATA_RANGE, reduction="none", dim=(1, 2, 3))  # (N,)
    return ssim, psnr


def scores_released_u8(pred, target):
    """Per-image SSIM and PSNR of two batches of 8-bit 3-channel images, the authors' protocol.

    pred, target: (N, H, W, 3) or (N, 3, H, W), values 0..255 (module docstring).
    Returns (ssim, psnr), each a float64 tensor of shape (N,).
    """
    pred, target = (torch.as_tensor(x).detach().cpu().to(torch.float64) for x in (pred, target))
    if pred.ndim == 4 and pred.shape[-1] == RELEASED_CHANNELS and pred.shape[1] != RELEASED_CHANNELS:
        pred, target = pred.permute(0, 3, 1, 2), target.permute(0, 3, 1, 2)   # (N, H, W, 3) -> (N, 3, H, W)
    if pred.ndim != 4 or pred.shape[1] != RELEASED_CHANNELS:
        raise ValueError(f"expected 3-channel images of shape (N, H, W, 3) or (N, 3, H, W), got {tuple(pred.shape)}")
    if pred.shape != target.shape:
        raise ValueError(f"image sizes differ: {tuple(pred.shape[2:])} vs {tuple(target.shape[2:])}")
    height, width = pred.shape[2:]
    if min(height, width) < RELEASED_WINDOW:
        raise ValueError(f"SSIM needs images of at least {RELEASED_WINDOW}x{RELEASED_WINDOW} pixels, "
                         f"got {width}x{height}")
    # the mean over the map of every channel: per channel, then over the 3 channels (all the same size)
    ssim = ssim_interior(pred, target, released_mean, SSIM_K1, RELEASED_K2, RELEASED_BORDER)
    psnr = peak_signal_noise_ratio(pred, target, data_range=DATA_RANGE, reduction="none", dim=(1, 2, 3))
    return ssim, psnr


def detail_u8(pred, target):
    """Per-image detail score of two batches of 8-bit grey images: the spatial correlation
    coefficient (SCC, Zhou et al. 1998), torchmetrics' defaults.

    Both images are high-passed with the 3x3 Laplacian-type kernel [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]]
    and correlated in 8x8 windows; the mean of the local correlations is 1 for identical fine
    structure and 0 for unrelated.  Unlike SSIM it ignores brightness and smooth gradients, so it
    scores the "finer texture" the paper's fusion is meant to recover.  Shapes as `scores_u8`;
    returns a float64 tensor of shape (N,).
    """
    pred, target = _as_batch(pred), _as_batch(target)
    if pred.shape != target.shape:
        raise ValueError(f"image sizes differ: {tuple(pred.shape[2:])} vs {tuple(target.shape[2:])}")
    return spatial_correlation_coefficient(pred, target, reduction="none").to(torch.float64)


def tensor_detail(fake, real):
    """Per-image SCC (`detail_u8`) of generator outputs vs. real images, quantised as `tensor_scores`."""
    return detail_u8(luma_u8(tensor_to_u8(fake)), luma_u8(tensor_to_u8(real)))


def tensor_scores(fake, real):
    """Per-image SSIM and PSNR of generator outputs vs. real images, both (N, C, H, W) in [-1, 1].

    C = 1 or 3 (3 is made grey with the Pillow luma rule). Each image is quantised
    to 8 bit exactly as a saved result image would be, so a validation score
    equals what `mrff evaluate` reports on the saved files. Returns two (N,) tensors.
    """
    return scores_u8(luma_u8(tensor_to_u8(fake)), luma_u8(tensor_to_u8(real)))


# ---------------------------------------------------------------- single images

def _pair_batch(pred, target):
    a, b = grey_u8(pred), grey_u8(target)
    if a.shape != b.shape:
        raise ValueError(f"image sizes differ: {a.shape[1]}x{a.shape[0]} vs {b.shape[1]}x{b.shape[0]}")
    return torch.from_numpy(a)[None], torch.from_numpy(b)[None]


def ssim(pred, target):
    """SSIM of two images (paths, Pillow images or arrays; made 8-bit grey), a float in [-1, 1]."""
    return float(scores_u8(*_pair_batch(pred, target))[0][0])


def psnr(pred, target):
    """PSNR in dB of two images (paths, Pillow images or arrays; made 8-bit grey); +inf if identical."""
    return float(scores_u8(*_pair_batch(pred, target))[1][0])


def summarise(label, folder, scores):
    """Mean, sample std and N of SSIM and PSNR for one run, plus its per-image scores."""
    def mean_std(values):
        n = len(values)
        mean = math.fsum(values) / n
        if not math.isfinite(mean):
            return mean, math.nan
        var = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
        return mean, math.sqrt(var)

    ssim_mean, ssim_std = mean_std([s for _, s, _ in scores])
    psnr_mean, psnr_std = mean_std([p for _, _, p in scores])
    return {
        "label": label, "folder": folder, "n": len(scores),
        "ssim_mean": ssim_mean, "ssim_std": ssim_std, "psnr_mean": psnr_mean, "psnr_std": psnr_std,
        "psnr_identical": sum(1 for _, _, p in scores if math.isinf(p)),
        "images": [{"stem": stem, "ssim": s, "psnr": p} for stem, s, p in scores],
    }
