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

from ..durable import atomic_write_text
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


def add_arguments(parser):
    """`mrff evaluate`'s radiometric flags."""
    parser.add_argument("--lwir_range", nargs="+", default=None, metavar="VALUE",
                        help="score radiometric images at full depth over LOW HIGH (counts or kelvin), or over the "
                             "map of a run folder (its lwir_range.json): SSIM/PSNR over the range, MAE in counts "
                             "and in kelvin (docs/radiometric.md)")
    parser.add_argument("--calibration", default=None, metavar="FILE",
                        help="with --lwir_range: counts -> kelvin for the MAE in kelvin (JSON or a FLIR radiometric "
                             "JPEG; default: the run folder's saved one)")


def range_folder(values):
    """The run folder `--lwir_range RUN_FOLDER` (or a file in it) names, else None (LOW HIGH)."""
    import os
    if len(values) == 1 and os.path.exists(values[0]):
        return values[0] if os.path.isdir(values[0]) else os.path.dirname(values[0])
    return None


def declared_range(values, calibration_file=None):
    """(low, high, Calibration or None) of `--lwir_range LOW HIGH | RUN_FOLDER` and `--calibration`."""
    import os

    from . import lwir_range as ranges
    from .calibration import from_record
    from .calibration_source import load_calibration
    calibration = load_calibration(calibration_file) if calibration_file else None
    folder = range_folder(values)
    if folder is not None:
        saved = ranges.load(folder)
        if saved is None:
            raise RadiometricError(f"--lwir_range {values[0]}: no {ranges.RANGE_FILE} there; give a run folder "
                                   f"trained with --lwir_range, or LOW HIGH.")
        if calibration is None and saved.calibration:
            calibration = from_record(saved.calibration, os.path.join(folder, ranges.RANGE_FILE))
        return saved.low, saved.high, calibration
    flag = ranges.parse_flag(values)
    if not isinstance(flag, tuple):
        raise RadiometricError(f"--lwir_range {' '.join(values)}: mrff evaluate takes LOW HIGH or a run folder.")
    return flag[0], flag[1], calibration


def report(found, values, calibration_file, prefix):
    """`mrff evaluate --lwir_range`: score [(label, folder, pairs)], print one row a run, write PREFIX.json; exit
    status (2 with one sentence for a file or range that cannot be scored)."""
    import json
    import os
    import sys
    try:
        low, high, calibration = declared_range(values, calibration_file)
        runs = []
        for label, folder, pairs in found:
            rows = radiometric_scores(pairs, low, high, calibration)
            kelvin = [r["mae_kelvin"] for r in rows if r["mae_kelvin"] is not None]
            runs.append({"label": label, "folder": folder, "n": len(rows),
                         "ssim": float(np.mean([r["ssim"] for r in rows])),
                         "psnr": float(np.mean([r["psnr"] for r in rows])),
                         "mae": float(np.mean([r["mae"] for r in rows])), "unit": rows[0]["unit"],
                         "mae_kelvin": float(np.mean(kelvin)) if len(kelvin) == len(rows) else None,
                         "images": rows})
    except RadiometricError as exc:
        print(f"mrff evaluate: {exc}", file=sys.stderr)
        return 2
    print(f"protocol: radiometric, over {low:g} .. {high:g} (SSIM Gaussian 11/1.5 and PSNR on the range mapped to "
          f"0-255 as floats; MAE in the files' unit{', and in kelvin' if calibration else ''})")
    print(f"{'run':30} {'N':>4} {'SSIM':>7} {'PSNR':>7} {'MAE':>10} {'MAE K':>8}")
    for run in runs:
        mae_k = "-" if run["mae_kelvin"] is None else f"{run['mae_kelvin']:.3f}"
        print(f"{run['label'][:30]:30} {run['n']:4d} {run['ssim']:7.4f} {run['psnr']:7.2f} "
              f"{run['mae']:8.2f} {'cnt' if run['unit'] == 'counts' else 'K':>2}{'':0} {mae_k:>8}")
    atomic_write_text(prefix + ".json", json.dumps({"protocol": {"name": "radiometric", "low": low, "high": high,
                      "calibration": calibration.record() if calibration else None}, "runs": runs}, indent=1) + "\n")
    print(f"wrote {prefix}.json")
    return 0
