"""Camera models: radiance images -> 8-bit images as the cameras would write them.

LWIR (KAIST's FLIR A35-class microbolometer): optics blur, temporal noise at
the camera's NETD, residual fixed-pattern noise after non-uniformity
correction (column and row offsets, per-pixel gain), and automatic gain
control: a percentile stretch to 8 bits.  Before that stretch the camera has
its radiometric counts (`mrff synth --lwir_bits 16`), 14-bit numbers linear in
the in-band radiance at the detector:

    S = COUNTS_AT_ZERO + COUNTS_PER_RADIANCE * L      (L in W m^-2 sr^-1, 7.5-13 um)

which FLIR's Planck form S = R1 / (R2 (exp(B / T) - F)) - O gives to within
0.04 K over 230-380 K with PLANCK_CONSTANTS (fitted by `fit_planck_constants`
to the exact band integral; tests/test_radiometric_synth.py checks both).

Visible: optics blur, auto exposure (a high percentile of luminance to near
white, with a gain limit so nights stay dark), shot and read noise, sRGB-like
gamma, 8 bits.

Blur widths are given for a 256-pixel-wide image and scale with the width, so
every --size sees the same camera.
"""
from functools import lru_cache

import numpy as np

from .radiometry import _band_radiance_exact, band_radiance_slope

REFERENCE_WIDTH = 256
# LWIR
NETD_K = 0.05                 # noise-equivalent temperature difference (FLIR A35: < 50 mK)
COLUMN_FPN_K = 0.10           # residual column offsets after NUC, temperature-equivalent
ROW_FPN_K = 0.04              # residual row offsets
GAIN_NONUNIFORMITY = 0.004    # per-pixel relative gain spread
LWIR_BLUR_PX = 0.9            # Gaussian sigma of the LWIR optics + detector footprint
AGC_PERCENTILES = (0.5, 99.5)  # automatic gain: these percentiles map to 0 and 255
STATS_STRIDE = 2              # AGC / exposure statistics from every 2nd pixel in each direction
CAMERA_SEED = 20211015        # the fixed pattern belongs to the camera: the same for every frame
NOISE_REFERENCE_K = 300.0     # scene temperature at which NETD is converted to radiance
# LWIR radiometric counts (before AGC): 14-bit, 33 counts per kelvin at 300 K (0.03 K a count, under NETD)
COUNTS_PER_RADIANCE = 40.0    # counts per W m^-2 sr^-1
COUNTS_AT_ZERO = 6000.0       # the detector's offset: counts of no in-band radiance
COUNT_BITS = 14
# FLIR's Planck constants for these counts (R2 = 1), least squares in kelvin over PLANCK_FIT_KELVIN
PLANCK_CONSTANTS = {"R1": 245202.275, "R2": 1.0, "B": 1442.44644, "F": 2.28407674, "O": -6019.90219}
PLANCK_FIT_KELVIN = (230.0, 380.0)
# visible
VIS_BLUR_PX = 0.5             # Gaussian sigma of the visible optics ...
VIS_BLUR_TRUNCATE = 2.0       # ... cut at 2 sigma: three taps (0.107, 0.787, 0.107) at 256 px
EXPOSURE_PERCENTILE = 97.0    # this luminance percentile ...
EXPOSURE_TARGET = 0.9         # ... maps to this linear level
MAX_EXPOSURE_GAIN = 0.05      # gain limit (1 / radiance units): night scenes stay dark
SHOT_NOISE = 0.0004           # variance per unit linear signal
READ_NOISE = 0.002            # standard deviation, linear units
LUMA = np.array((0.2126, 0.7152, 0.0722), np.float32)  # Rec. 709
GAMMA = 1 / 2.2
_GAMMA_STEPS = 4096
# linear level (quantised to 1/4095) -> 8-bit code, a look-up table for speed
_GAMMA_LUT = (np.linspace(0.0, 1.0, _GAMMA_STEPS) ** GAMMA * 255.0 + 0.5).astype(np.uint8)


def _blur_sigma(base, width):
    return max(base * width / REFERENCE_WIDTH, 0.3)


def gaussian_blur(image, sigma, truncate=3.0):
    """Separable Gaussian blur of the first two axes of `image` ((H, W) or (H, W, C)),
    edges repeated; sums of shifted slices, several times faster than a general
    filter for the few taps needed here."""
    radius = max(int(truncate * sigma + 0.5), 1)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    H, W = image.shape[:2]
    extra = [(0, 0)] * (image.ndim - 2)
    p = np.pad(image, [(radius, radius), (0, 0)] + extra, mode="edge")
    rows = taps[0] * p[0:H]
    for k in range(1, len(taps)):
        rows += taps[k] * p[k:k + H]
    p = np.pad(rows, [(0, 0), (radius, radius)] + extra, mode="edge")
    out = taps[0] * p[:, 0:W]
    for k in range(1, len(taps)):
        out += taps[k] * p[:, k:k + W]
    return out


def percentiles(image, qs):
    """Nearest-rank percentiles `qs` (0-100) of the values of `image`, from every
    STATS_STRIDE-th pixel along each axis (one partition)."""
    flat = np.ascontiguousarray(image[::STATS_STRIDE, ::STATS_STRIDE]).reshape(-1)
    ks = [int(round(q / 100.0 * (flat.size - 1))) for q in qs]
    return np.partition(flat, ks)[ks]


def to_uint8(x):
    """Float image in [0, 1] -> uint8 with rounding."""
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


@lru_cache(maxsize=8)
def fixed_pattern(height, width):
    """The LWIR camera's residual non-uniformity after NUC, in kelvin-equivalent
    offsets and relative gain: (offset (H, W), gain (H, W)).  Column and row
    offsets plus a per-pixel gain spread, fixed for the camera (CAMERA_SEED)."""
    rng = np.random.default_rng([CAMERA_SEED, height, width])
    offset = (COLUMN_FPN_K * rng.standard_normal((1, width)) + ROW_FPN_K * rng.standard_normal((height, 1)))
    gain = 1.0 + GAIN_NONUNIFORMITY * rng.standard_normal((height, width))
    return offset.astype(np.float32), gain.astype(np.float32)


def to_counts(signal):
    """In-band radiance at the detector (W m^-2 sr^-1) -> the camera's counts, uint16 within COUNT_BITS."""
    return np.clip(np.rint(COUNTS_AT_ZERO + COUNTS_PER_RADIANCE * np.asarray(signal, np.float64)),
                   0, 2 ** COUNT_BITS - 1).astype(np.uint16)


def fit_planck_constants(kelvin=PLANCK_FIT_KELVIN, samples=400):
    """(R1, B, F, O) of S = R1 / (exp(B / T) - F) - O fitted to the count model over `kelvin` by least squares in
    temperature (scipy), from PLANCK_CONSTANTS as the start: how those constants were made."""
    from scipy.optimize import curve_fit
    t = np.linspace(*kelvin, samples)
    counts = COUNTS_AT_ZERO + COUNTS_PER_RADIANCE * _band_radiance_exact(t)

    def temperature(_, r1, b, f, o):
        return b / np.log(r1 / (counts + o) + f)
    c = PLANCK_CONSTANTS
    fitted, _ = curve_fit(temperature, t, t, p0=(c["R1"], c["B"], c["F"], c["O"]), maxfev=20000)
    return tuple(float(v) for v in fitted)


def lwir_sensor(radiance, rng, netd_k=NETD_K, counts=False):
    """(H, W) in-band radiance (W m^-2 sr^-1) -> (H, W) uint8 LWIR image; `netd_k` is the
    temporal noise (0: none; the noise is drawn all the same).  counts=True: (image, (H, W) uint16 counts
    before the AGC, (low, high) counts the AGC stretched to 0 and 255)."""
    H, W = radiance.shape
    k = band_radiance_slope(NOISE_REFERENCE_K)           # radiance per kelvin
    offset_k, gain = fixed_pattern(H, W)
    signal = gaussian_blur(radiance, _blur_sigma(LWIR_BLUR_PX, W))
    signal *= gain
    signal += k * (offset_k + netd_k * rng.standard_normal((H, W), np.float32))
    lo, hi = percentiles(signal, AGC_PERCENTILES)
    image = to_uint8((signal - lo) / max(hi - lo, 1e-6))
    if not counts:
        return image
    return image, to_counts(signal), (COUNTS_AT_ZERO + COUNTS_PER_RADIANCE * float(lo),
                                      COUNTS_AT_ZERO + COUNTS_PER_RADIANCE * float(max(hi, lo + 1e-6)))


def visible_sensor(radiance, rng):
    """(H, W, 3) linear radiance -> (H, W, 3) uint8 RGB image."""
    H, W, _ = radiance.shape
    sigma = _blur_sigma(VIS_BLUR_PX, W)
    signal = gaussian_blur(radiance, sigma, truncate=VIS_BLUR_TRUNCATE)
    level = percentiles(signal @ LUMA, [EXPOSURE_PERCENTILE])[0]
    gain = min(EXPOSURE_TARGET / max(level, 1e-6), MAX_EXPOSURE_GAIN)
    signal = np.clip(signal * gain, 0.0, None)
    # shot + read noise; uniform with the same standard deviation (sqrt(12) * U(-1/2, 1/2)),
    # cheaper to draw than Gaussian and indistinguishable after 8-bit quantisation
    noise = np.sqrt(SHOT_NOISE * signal + READ_NOISE ** 2) * np.float32(np.sqrt(12.0))
    signal += noise * (rng.random(signal.shape, np.float32) - np.float32(0.5))
    codes = (np.clip(signal, 0.0, 1.0) * (_GAMMA_STEPS - 1) + 0.5).astype(np.int32)
    return np.take(_GAMMA_LUT, codes)
