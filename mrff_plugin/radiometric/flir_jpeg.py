"""FLIR radiometric JPEGs: raw counts, Planck constants, temperatures and the embedded photo, through `flyr`.

A FLIR camera's JPEG holds, in its FLIR APP1 segment, the raw 14/16-bit sensor counts, the
calibration constants R1, R2, B, F, O, the emissivity and the reflected/atmospheric settings, and on
some models a visible photo.  `flyr` (EUPL-1.2, pure Python, the `[flir]` extra: `pip install
mrff-plugin[flir]`) parses them; its temperatures include the camera's emissivity and atmosphere
corrections, as FLIR Tools shows them.  flyr keeps the raw counts private (its `kelvin` is computed from
them); they are read from the thermogram's own attribute, the one flyr's conversions use.
"""
import os
from dataclasses import dataclass

import numpy as np

from . import RadiometricError
from .calibration import Calibration, from_record

FLYR_PLANCK = {"R1": "planck_r1", "R2": "planck_r2", "B": "planck_b", "F": "planck_f", "O": "planck_o"}
# FLIR's FFF records that flyr reads field by field, always little-endian: each opens with an int16u that is
# 2 in the byte order its fields are stored in (ExifTool's FLIR tables, RawDataByteOrder / CameraInfoByteOrder)
FFF_RECORDS_READ = {0x01: "raw thermal", 0x20: "camera (Planck constants)"}


@dataclass
class FlirFrame:
    counts: np.ndarray            # (H, W) float32 raw sensor counts
    kelvin: np.ndarray            # (H, W) float64 temperatures as flyr (FLIR Tools) computes them
    calibration: Calibration      # the Planck constants (emissivity 1: calibration.py)
    photo: object                 # (H', W', 3) uint8 embedded visible photo, or None
    metadata: dict                # flyr's camera settings (emissivity, reflected temperature, ...)


def _flyr():
    try:
        import flyr
    except ImportError:
        raise RadiometricError("reading FLIR radiometric JPEGs needs flyr; install it with "
                               "pip install 'mrff-plugin[flir]' (or pip install flyr==5.1.0).") from None
    return flyr


def read_flir_jpeg(path):
    """The FlirFrame of a FLIR radiometric JPEG; RadiometricError naming the file when it holds no raw data."""
    path = os.fspath(path)
    _flyr()
    from flyr.flyr import parse_thermogram
    from flyr.records import extract_flir_app1, parse_flir_records
    try:
        with open(path, "rb") as handle:   # as flyr.unpack(path) does, with the byte-order marks read in between
            fff = extract_flir_app1(handle)
            records = parse_flir_records(fff)
            swapped = big_endian_records(fff, records)
            if not swapped:
                handle.seek(0)
                thermogram = parse_thermogram(fff, records, handle)
                counts = np.asarray(thermogram._FlyrThermogram__thermal, np.float32)
                kelvin = np.asarray(thermogram.kelvin, np.float64)
                metadata = dict(thermogram.metadata)
                photo = thermogram.optical
    except FileNotFoundError:
        raise RadiometricError(f"{path} does not exist; pass a FLIR radiometric JPEG.") from None
    except Exception as exc:   # flyr raises ValueError/KeyError/struct.error for JPEGs without its records
        raise RadiometricError(f"{path} holds no FLIR raw thermal data ({exc}); pass the camera's radiometric "
                               f"JPEG, not an exported or edited picture.") from None
    if swapped:
        raise RadiometricError(f"{path} stores its FLIR {' and '.join(swapped)} record{'s' if len(swapped) > 1 else ''} "
                               f"big-endian, which flyr 5.1.0 reads as little-endian (wrong counts or temperatures); "
                               f"save the counts as a 16-bit PNG or TIFF with a calibration JSON of the file's "
                               f"Planck constants (docs/radiometric.md) and pass those.")
    if counts.ndim != 2 or counts.size == 0:
        raise RadiometricError(f"{path} holds no FLIR raw thermal data (its raw record is {counts.shape}); pass the "
                               f"camera's radiometric JPEG.")
    record = {"kind": "planck", **{name: float(metadata[key]) for name, key in FLYR_PLANCK.items()}}
    return FlirFrame(counts, kelvin, from_record(record, path), photo, metadata)


def big_endian_records(fff, records):
    """Names of the FFF_RECORDS_READ records stored big-endian (their opening int16u reads 0x0200 little-endian),
    whose fields flyr would misread; `fff` the FLIR data (flyr.records.extract_flir_app1), `records` its
    directory (parse_flir_records)."""
    swapped = []
    for kind, name in FFF_RECORDS_READ.items():
        if kind in records:
            fff.seek(records[kind][2])
            if int.from_bytes(fff.read(2), "little") >= 0x100:
                swapped.append(name)
    return swapped


def is_flir_jpeg(path):
    """True when `path` is a JPEG with a FLIR APP1 segment ('FLIR\\0' opening an APP1 before the image data);
    only the segment headers are read (JPEG markers: FF xx and a 2-byte big-endian length)."""
    if not os.fspath(path).lower().endswith((".jpg", ".jpeg")):
        return False
    try:
        with open(path, "rb") as handle:
            if handle.read(2) != b"\xff\xd8":
                return False
            while True:
                marker = handle.read(4)
                if len(marker) < 4 or marker[0] != 0xFF or marker[1] == 0xDA:   # end, damage, or start of scan
                    return False
                length = int.from_bytes(marker[2:], "big")
                if marker[1] == 0xE1 and handle.read(5) == b"FLIR\x00":
                    return True
                handle.seek(handle.tell() - (5 if marker[1] == 0xE1 else 0) + length - 2)
    except OSError:
        return False
