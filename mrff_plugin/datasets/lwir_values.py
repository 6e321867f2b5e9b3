"""`kaist_aligned --lwir_range`: LWIR frames as float values at full depth, mapped to [-1, 1].

The dataset's side of radiometric/lwir_range.py.  When the dataset is made:

* training: the LWIR files are surveyed (every file read once: its unit, and its pixels for `auto`
  and the share clipped), the range chosen and saved in the run folder
  (`<checkpoints_dir>/<name>/lwir_range.json`); `--continue_train` keeps the saved one;
* testing (`test.py`): the run's saved range is used (a fixed --lwir_range given must agree).

The counts' calibration, when the files carry one (FLIR JPEGs) or `--dataroot` holds a
`calibration.json` (as `mrff synth --lwir_bits 16` writes), is saved with the range, so `mrff generate
--lwir_out kelvin` needs no --calibration.

8-bit pictures without `--lwir_range` (or with `display`) keep the 8-bit path (images.load_image) and
nothing is saved.  A set of 16-bit or float files without `--lwir_range` is refused in one sentence,
as is a set that mixes kinds of file (found from the files' headers, without decoding them).
Each item's LWIR image is a float32 Pillow 'F' image in the file's unit, framed (resized,
cropped, flipped) like the visible one, then mapped by the range: no 8-bit rounding anywhere.
"""
import os

import numpy as np
import torch
from PIL import Image

from ..radiometric import RadiometricError
from ..radiometric import lwir_range as ranges
from ..radiometric.calibration_source import load_calibration
from ..radiometric.flir_jpeg import is_flir_jpeg
from ..radiometric.reading import TIFF_SUFFIXES, read_lwir

CALIBRATION_FILE = "calibration.json"   # in --dataroot: the counts' calibration, saved with the range
GREY_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr")


def add_option(parser):
    parser.add_argument("--lwir_range", nargs="+", default=None, metavar="VALUE",
                        help="LOW HIGH, auto or display: map LWIR values to the network's range at full depth: LOW HIGH in counts (16-bit "
                             "files) or kelvin (float TIFFs), or auto (the 0.1/99.9 percentiles of all training "
                             "frames); saved in the run folder for test.py, mrff generate and mrff export. "
                             "display (the default for 8-bit files): 8-bit pictures as they are. "
                             "See docs/radiometric.md")


def stored_unit(path):
    """(unit, bits) of an LWIR file from its header alone (reading.UNITS), or None when the header is unreadable
    (the file is then named when it is read)."""
    path = os.fspath(path)
    if is_flir_jpeg(path):
        return "counts", 16
    try:
        if path.lower().endswith(TIFF_SUFFIXES):
            import tifffile
            with tifffile.TiffFile(path) as tiff:
                dtype = tiff.pages[0].dtype
            kind, bits = np.dtype(dtype).kind, np.dtype(dtype).itemsize * 8
        else:
            with Image.open(path) as image:
                mode = image.mode
            kind, bits = ("u", 8) if mode in GREY_MODES else ("f", 32) if mode == "F" else ("u", 16)
    except Exception:
        return None
    return ("temperature" if kind == "f" else "grey" if bits == 8 else "counts"), bits


def _headers(paths):
    """(unit, bits) shared by all files; RadiometricError naming two files of different kinds."""
    first = None
    for path in paths:
        unit = stored_unit(path)
        if unit is None:
            continue
        if first is None:
            first = (path, unit)
        elif unit[0] != first[1][0]:
            raise RadiometricError(f"{path} holds {ranges.describe(*unit)} but {first[0]} holds "
                                   f"{ranges.describe(*first[1])}; one LWIR set needs one kind of file, so convert "
                                   f"one of them or leave it out.")
    return first[1] if first else ("grey", 8)


def run_range(opt, lwir_paths):
    """The LwirRange the dataset maps B with, or None for the 8-bit path (module docstring)."""
    flag = ranges.parse_flag(getattr(opt, "lwir_range", None))
    run = (getattr(opt, "checkpoints_dir", None), getattr(opt, "name", None))
    folder = os.path.join(*run) if all(run) else None   # None: options made without a run folder
    where = f"--dataroot {opt.dataroot}"
    unit, bits = _headers(lwir_paths)
    saved = ranges.load(folder) if folder else None
    if saved is not None and (not opt.isTrain or getattr(opt, "continue_train", False)):
        ranges.agree(saved, flag, os.path.join(folder, ranges.RANGE_FILE))
        if saved.unit != unit:
            raise RadiometricError(f"{os.path.join(folder, ranges.RANGE_FILE)} was made for "
                                   f"{saved.unit}, but {where} holds {ranges.describe(unit, bits)}; point "
                                   f"--dataroot at data like the training set's.")
        print(f"--lwir_range {saved.low:g} {saved.high:g} ({saved.how}, {saved.unit}) from "
              f"{os.path.join(folder, ranges.RANGE_FILE)}")
        return None if saved.how == ranges.DISPLAY else saved
    if unit == "grey" and flag in (None, ranges.DISPLAY):
        return None
    if flag == ranges.AUTO and not opt.isTrain:
        raise RadiometricError(f"--lwir_range auto is computed when training starts, but {folder} holds no "
                               f"{ranges.RANGE_FILE}; test the run that was trained with it, or pass LOW HIGH.")
    unit, bits, samples, calibration = ranges.survey(lwir_paths, read_lwir)
    beside = os.path.join(str(opt.dataroot), CALIBRATION_FILE)   # e.g. mrff synth --lwir_bits 16's
    if calibration is None and unit == "counts" and os.path.isfile(beside):
        calibration = load_calibration(beside).record()
    chosen = ranges.choose(flag, unit, bits, samples, calibration, where)
    if opt.isTrain and folder:
        ranges.save(chosen, folder)
    return None if chosen.how == ranges.DISPLAY else chosen


def load_values(path):
    """The LWIR file at `path` as a float32 Pillow 'F' image in its own unit."""
    return Image.fromarray(read_lwir(path).values, "F")


def values_to_tensor(image, lwir_range, channels):
    """A framed 'F' image -> float32 tensor (channels, H, W) in [-1, 1] through `lwir_range`."""
    x = torch.from_numpy(lwir_range.to_network(np.asarray(image, np.float32)))[None]
    return x.expand(channels, -1, -1).contiguous() if channels > 1 else x
