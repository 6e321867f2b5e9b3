"""One LWIR file as float values with their unit, whatever layout the camera or data set used.

| file                                   | unit          | values                      |
|----------------------------------------|---------------|-----------------------------|
| 16-bit grey PNG / TIFF (Pillow I;16)   | `counts`      | the stored integers         |
| 32-bit integer PNG / TIFF              | `counts`      | the stored integers         |
| float TIFF (16/32/64 bit)              | `temperature` | as stored (kelvin by mrff)  |
| FLIR radiometric JPEG (`flyr`, [flir]) | `counts`      | raw counts + the file's own Planck calibration |
| 8-bit grey, or grey stored as RGB      | `grey`        | 0-255 display levels (the camera's AGC picture) |

TIFFs are read with tifffile (BSD; any sample format, compression and byte order, which Pillow's
TIFF reader does not all cover); PNGs and other formats with Pillow.  Refused, in one sentence
naming the file: a TIFF of several channels (an LWIR frame has one), a float TIFF with NaN or
infinity, a JPEG that says it is FLIR radiometric but holds no raw data.  An 8-bit picture of
three channels is taken as grey by the luma rule (datasets/images.py), as KAIST stores its LWIR.
"""
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from . import RadiometricError
from .flir_jpeg import is_flir_jpeg, read_flir_jpeg

UNITS = ("counts", "temperature", "grey")
TIFF_SUFFIXES = (".tif", ".tiff")


@dataclass
class LwirFrame:
    values: np.ndarray            # (H, W) float32
    unit: str                     # one of UNITS
    bits: int                     # bits per stored sample: 8, 16, 32, 64
    calibration: object = None    # calibration.Calibration stored in the file (FLIR JPEG), else None


def _from_array(array, path):
    """LwirFrame of a decoded (H, W) or (H, W, C) array; RadiometricError for what is no LWIR frame."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        channels = array.shape[-1] if array.ndim == 3 else array.shape
        raise RadiometricError(f"{path} has {channels} channels (shape {array.shape}), but an LWIR frame has one; "
                               f"save the thermal band alone as a one-channel image.")
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array)
        if bad.any():
            raise RadiometricError(f"{path} holds {int(bad.sum())} NaN or infinite values of {bad.size}; fill "
                                   f"them (e.g. with the nearest valid temperature) or leave the file out.")
        return LwirFrame(array.astype(np.float32), "temperature", array.dtype.itemsize * 8)
    if array.dtype.kind not in "ui":
        raise RadiometricError(f"{path} stores {array.dtype} samples; save it as 8/16-bit integers or float.")
    if array.dtype.itemsize == 1:
        return LwirFrame(array.astype(np.float32), "grey", 8)
    return LwirFrame(array.astype(np.float32), "counts", array.dtype.itemsize * 8)


def _read_tiff(path):
    import tifffile
    try:
        return tifffile.imread(path)
    except Exception as exc:   # tifffile raises TiffFileError, ValueError, ... for damaged files
        raise RadiometricError(f"{path} cannot be read as a TIFF ({exc}); replace the file.") from None


def _read_pillow(path):
    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
                return np.asarray(image).astype(np.uint16)
            if image.mode in ("I", "F"):
                return np.asarray(image)
            if image.mode == "L":
                return np.asarray(image)
            return np.asarray(image.convert("L"))   # 8-bit colour: grey by the luma rule, as load_image
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise RadiometricError(f"{path} cannot be read as an image ({exc}); replace the file.") from None


def read_lwir(path):
    """The LwirFrame of the LWIR file at `path` (module docstring)."""
    path = os.fspath(path)
    if is_flir_jpeg(path):
        flir = read_flir_jpeg(path)
        return LwirFrame(flir.counts, "counts", 16, flir.calibration)
    if path.lower().endswith(TIFF_SUFFIXES):
        return _from_array(_read_tiff(path), path)
    return _from_array(_read_pillow(path), path)
