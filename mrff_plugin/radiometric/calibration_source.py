"""`--calibration FILE`: a calibration JSON file (calibration.py gives the format) or a FLIR radiometric JPEG."""
import json
import os

from . import RadiometricError
from .calibration import from_record
from .flir_jpeg import read_flir_jpeg


def load_calibration(path):
    """The calibration in a JSON file (module docstring) or a FLIR radiometric JPEG (its Planck constants)."""
    path = os.fspath(path)
    if path.lower().endswith((".jpg", ".jpeg")):
        return read_flir_jpeg(path).calibration
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except OSError as exc:
        raise RadiometricError(f"--calibration {path} cannot be read ({exc.strerror or exc}); pass a calibration "
                               f"JSON file or a FLIR radiometric JPEG.") from None
    except ValueError as exc:
        raise RadiometricError(f"--calibration {path} is not JSON ({exc}); see docs/radiometric.md for the "
                               f"format.") from None
    return from_record(record, path)
