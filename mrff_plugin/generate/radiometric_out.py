"""`mrff generate --lwir_out ...`: outputs in the training data's counts or in temperatures, not only 8-bit pictures.

The network's output x in [-1, 1] goes back through the run's saved map (`<run>/lwir_range.json`,
radiometric/lwir_range.py): v = LOW + (x + 1) (HIGH - LOW) / 2, in the training data's unit.

    --lwir_out counts       <name>.png is a 16-bit grey PNG of counts (rounded, clipped to 0..65535)
    --lwir_out counts_tiff  <name>_counts.tiff beside it: the same counts as a 16-bit TIFF
    --lwir_out kelvin       <name>_kelvin.tiff: float32 kelvin
    --lwir_out celsius      <name>_celsius.tiff: float32 degrees Celsius

Several may be given.  Temperatures of counts need a calibration: `--calibration FILE` (a JSON
file or a FLIR radiometric JPEG, radiometric/calibration.py), else the one saved with the run's
range; a run trained on float temperatures needs none.  Without `counts`, `<name>.png` is the
8-bit view of the run's range (0 = LOW, 255 = HIGH, in --palette), which galleries show too.

Each file records the map: a PNG text chunk `mrff:lwir_range`, the TIFF ImageDescription tag (JSON);
the --output folder's `.mrff_generate.json` records it with the other options.
"""
import json
import os

import numpy as np
from PIL import PngImagePlugin

from ..durable import atomic_write
from ..radiometric import RadiometricError
from ..radiometric import lwir_range as ranges
from ..radiometric.calibration import convert_unit, from_record
from ..radiometric.calibration_source import load_calibration
from . import GenerateError
from .files import PNG_OPTIONS, write_png

LWIR_OUTPUTS = ("counts", "counts_tiff", "kelvin", "celsius")
TEXT_KEY = "mrff:lwir_range"
MAX_COUNT = 65535
SUFFIXES = {"counts_tiff": "_counts.tiff", "kelvin": "_kelvin.tiff", "celsius": "_celsius.tiff"}


def add_arguments(parser):
    parser.add_argument("--lwir_out", nargs="+", choices=LWIR_OUTPUTS, default=None,
                        help="radiometric outputs through the run's --lwir_range map: counts (16-bit PNG), "
                             "counts_tiff (16-bit TIFF beside it), kelvin / celsius (float32 TIFF beside it); "
                             "see docs/radiometric.md")
    parser.add_argument("--calibration", default=None, metavar="FILE",
                        help="--lwir_out kelvin/celsius: counts -> temperature, a calibration JSON or a FLIR "
                             "radiometric JPEG (default: the one saved with the run's range)")


class RadiometricOutput:
    """Writes one job's outputs from its float values (the engine's `write_png` for radiometric runs)."""

    def __init__(self, lwir_range, outputs, calibration, range_file):
        self.range, self.outputs, self.calibration, self.range_file = lwir_range, outputs, calibration, range_file
        self.text = json.dumps({**lwir_range.record(), "calibration": calibration.record() if calibration else None,
                                "range_file": range_file})

    def images(self, y):
        """Network output (N, C, H, W) in [-1, 1] -> float64 values (N, H, W) in the data's unit (channel mean:
        the grey-as-RGB channels are equal)."""
        return self.range.from_network(y.float().mean(1).cpu().numpy())

    def beside(self, target):
        """[(path, flag)] of the files written beside `target` (files.check_output_names)."""
        stem = os.path.splitext(target)[0]
        return [(stem + SUFFIXES[name], f"--lwir_out {name}") for name in self.outputs if name in SUFFIXES]

    def record(self):
        """What `.mrff_generate.json` records: the map and the outputs."""
        png = ("16-bit counts" if "counts" in self.outputs else
               f"8-bit view of the range: grey 0 = {self.range.low:g}, 255 = {self.range.high:g} {self.range.unit}, "
               f"linear (a picture of the data, not the data)")
        return {"--lwir_out": " ".join(self.outputs), "--lwir_range": f"{self.range.low:g} {self.range.high:g} "
                f"{self.range.unit} ({self.range.how}, {self.range_file})", "<name>.png": png,
                "--calibration": json.dumps(self.calibration.record()) if self.calibration else "(none)"}

    def write(self, values, target, palette="grey", also_grey=False, output_nc=1):
        """`target` (16-bit counts, or the 8-bit view with `output_nc` channels) and the TIFFs beside it, each
        written atomically."""
        counts = None
        if "counts" in self.outputs or "counts_tiff" in self.outputs:
            counts = np.clip(np.rint(values), 0, MAX_COUNT).astype(np.uint16)
        if "counts" in self.outputs:
            info = PngImagePlugin.PngInfo()
            info.add_text(TEXT_KEY, self.text)
            with atomic_write(target) as handle:
                _png16(counts, handle, info)
        else:
            view = np.floor(np.clip((values - self.range.low) / (self.range.high - self.range.low), 0, 1) * 255)
            view = view.astype(np.uint8)
            write_png(view if output_nc == 1 else np.repeat(view[..., None], 3, axis=2), target, palette, also_grey)
        for path, flag in self.beside(target):
            name = flag.split()[-1]
            if name == "counts_tiff":
                array = counts
            else:
                kelvin = values if self.calibration is None else self.calibration.to_kelvin(values, target)
                array = convert_unit(kelvin, name).astype(np.float32)
            with atomic_write(path) as handle:
                _tiff(array, handle, self.text)


def _png16(counts, handle, info):
    from PIL import Image
    Image.fromarray(counts).save(handle, format="PNG", pnginfo=info, **PNG_OPTIONS)


def _tiff(array, handle, text):
    import tifffile
    tifffile.imwrite(handle, array, description=text, software="mrff", compression="zlib")


def run_folder(args):
    """The folder whose lwir_range.json maps the outputs: the checkpoint's run folder (--backend torch), or the
    folder of the ONNX --model, where `mrff export` puts a copy of it."""
    if getattr(args, "backend", "torch") == "onnxruntime":
        return os.path.dirname(os.path.abspath(args.model)) if args.model else None
    if not getattr(args, "checkpoint", None):
        return None
    from .network import checkpoint_files
    weights = checkpoint_files(args.checkpoint, args.epoch, getattr(args, "direction", None))[0]
    return os.path.dirname(os.path.abspath(weights))


def radiometric_output(args, run_folder):
    """The RadiometricOutput for `mrff generate`'s flags, or None without --lwir_out; GenerateError (one sentence)
    when the run has no radiometric map or a temperature cannot be had."""
    outputs = list(dict.fromkeys(getattr(args, "lwir_out", None) or ()))
    saved = ranges.load(run_folder) if run_folder else None
    if getattr(args, "direction", None) == "BtoA" and saved is not None and saved.how != ranges.DISPLAY:
        where = os.path.join(run_folder, ranges.RANGE_FILE)
        raise GenerateError(f"--direction BtoA: this network takes LWIR at full depth ({where}), and mrff generate "
                            f"reads its inputs as 8-bit pictures; run the host's test.py on it, which reads them "
                            f"through the run's map.")
    if not outputs:
        if getattr(args, "calibration", None):
            raise GenerateError("--calibration converts --lwir_out kelvin/celsius outputs; add --lwir_out kelvin, "
                                "or drop --calibration.")
        return None
    palette = getattr(args, "palette", "grey")
    given = [flag for flag, on in ((f"--palette {palette}", palette != "grey"),
                                   ("--also_grey", getattr(args, "also_grey", False)),
                                   ("--output_nc 3", getattr(args, "output_nc", None) == 3)) if on]
    if "counts" in outputs and given:
        raise GenerateError(f"--lwir_out counts writes <name>.png as 16-bit counts, one channel, which have no "
                            f"palette; drop {' and '.join(given)}, or write the counts as --lwir_out counts_tiff "
                            f"beside the 8-bit PNG.")
    range_file = os.path.join(run_folder, ranges.RANGE_FILE) if run_folder else None
    try:
        lwir_range = saved
        if lwir_range is None or lwir_range.how == ranges.DISPLAY:
            raise GenerateError(f"--lwir_out needs a run trained with --lwir_range (its map, {ranges.RANGE_FILE}, "
                                f"beside the checkpoint), but {range_file or 'the model'} has "
                                f"{'an 8-bit display map' if lwir_range else 'none'}; train with --lwir_range auto, "
                                f"or drop --lwir_out.")
        if lwir_range.unit != "counts" and {"counts", "counts_tiff"} & set(outputs):
            raise GenerateError(f"--lwir_out counts: the run was trained on {lwir_range.unit} values "
                                f"({range_file}), not counts; ask for --lwir_out kelvin instead.")
        calibration = None
        if lwir_range.unit == "counts" and {"kelvin", "celsius"} & set(outputs):
            if getattr(args, "calibration", None):
                calibration = load_calibration(args.calibration)
            elif lwir_range.calibration:
                calibration = from_record(lwir_range.calibration, range_file)
            else:
                raise GenerateError(f"--lwir_out kelvin/celsius: the run's counts ({range_file}) have no saved "
                                    f"calibration; pass --calibration FILE (a JSON of the camera's constants, or "
                                    f"one of its radiometric JPEGs).")
            calibration.to_kelvin([lwir_range.low, lwir_range.high], f"--lwir_range of {range_file}")
        elif getattr(args, "calibration", None):
            raise GenerateError(f"--calibration: the run was trained on {lwir_range.unit} values, which need no "
                                f"calibration (or no --lwir_out kelvin/celsius is asked for); drop it.")
    except RadiometricError as exc:
        raise GenerateError(str(exc)) from None
    return RadiometricOutput(lwir_range, outputs, calibration, range_file)


def range_for_export(checkpoint, epoch, out, direction=None):
    """`mrff export`: a function copying the run's lwir_range.json beside the ONNX file `out` (where `mrff generate
    --backend onnxruntime --lwir_out` reads it), or one doing nothing for a run without one; GenerateError, before
    anything is written, when that folder already holds another run's map."""
    from .network import checkpoint_files
    source = os.path.join(checkpoint_files(checkpoint, epoch, direction)[2], ranges.RANGE_FILE)
    target = os.path.join(os.path.dirname(os.path.abspath(os.path.expanduser(out))), ranges.RANGE_FILE)
    if not os.path.isfile(source):
        return lambda: None
    with open(source, "rb") as handle:
        data = handle.read()
    if os.path.isfile(target) and not os.path.samefile(source, target):
        with open(target, "rb") as handle:
            if handle.read() != data:
                raise GenerateError(f"--out {out}: {target} holds another run's LWIR map, and this run's ({source}) "
                                    f"must go beside the ONNX file; export into a folder of its own.")

    def copy():
        if not os.path.isfile(target):
            with atomic_write(target) as handle:
                handle.write(data)
    return copy
