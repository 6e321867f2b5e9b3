"""Scores of radiometric outputs against radiometric references (`mrff evaluate --lwir_range`).

Per image pair, both read at full depth (reading.py), in the same unit:

* SSIM and PSNR over the declared range LOW..HIGH: both images mapped linearly to 0..255 as
  floats (v - LOW) / (HIGH - LOW) * 255, clipped, *not* rounded, then the Table 3 protocol
  (metrics.scores_u8: Gaussian 11/1.5 SSIM, PSNR with peak 255) -- so a 16-bit image is scored with
  its sub-grey-level detail, and PSNR's peak is the declared range;
* MAE in the files' unit: counts (16-bit data) or kelvin (float temperature TIFFs);
* MAE in kelvin for counts, through a calibration (calibration.py) when one is given.
"""
import numpy as np

from . import RadiometricError
from .reading import read_lwir

DISPLAY_PEAK = 255.0


def on_range(values, low, high):
    """float64 values mapped to 0..255 over [low, high] (clipped, not rounded)."""
    return np.clip((np.asarray(values, np.float64) - low) / (high - low), 0.0, 1.0) * DISPLAY_PEAK


def read_pair(fake, real):
    """(fake values, real values, unit) of two LWIR files; RadiometricError when units or sizes differ."""
    a, b = read_lwir(fake), read_lwir(real)
    if a.unit != b.unit:
        raise RadiometricError(f"{fake} holds {a.unit} but {real} holds {b.unit}; score outputs against references "
                               f"in the same unit (mrff generate --lwir_out counts for counts, kelvin for "
                               f"temperatures).")
    if a.values.shape != b.values.shape:
        raise RadiometricError(f"{fake} is {a.values.shape[1]}x{a.values.shape[0]} but {real} is "
                               f"{b.values.shape[1]}x{b.values.shape[0]}; generate at the references' size.")
    return a.values.astype(np.float64), b.values.astype(np.float64), a.unit


def radiometric_scores(pairs, low, high, calibration=None):
    """[{'stem', 'ssim', 'psnr', 'mae', 'unit', 'mae_kelvin'}] for [(stem, fake path, real path)] over LOW..HIGH;
    mae_kelvin is None without a calibration for counts (temperature files: their own MAE)."""
    import torch

    from ..metrics import scores_u8
    if not high > low:
        raise RadiometricError(f"--lwir_range {low:g} {high:g}: LOW must be below HIGH.")
    rows = []
    for stem, fake, real in pairs:
        a, b, unit = read_pair(fake, real)
        ssim, psnr = scores_u8(torch.from_numpy(on_range(a, low, high))[None],
                               torch.from_numpy(on_range(b, low, high))[None])
        mae = float(np.mean(np.abs(a - b)))
        if unit == "temperature":
            mae_kelvin = mae
        elif calibration is not None:
            mae_kelvin = float(np.mean(np.abs(calibration.to_kelvin(a, fake) - calibration.to_kelvin(b, real))))
        else:
            mae_kelvin = None
        rows.append({"stem": stem, "ssim": float(ssim[0]), "psnr": float(psnr[0]), "mae": mae, "unit": unit,
                     "mae_kelvin": mae_kelvin})
    return rows
