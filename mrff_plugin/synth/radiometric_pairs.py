"""`mrff synth --lwir_bits 16`: the camera's counts before AGC, beside the 8-bit KAIST-layout tree.

    DIR/radiometric/<part>/visible/setNN/I00000.jpg     the pair's visible JPEG (a hard link, else a copy)
    DIR/radiometric/<part>/lwir/setNN/I00000.png        16-bit grey PNG: the counts (sensor.py's count model)
    DIR/radiometric/<part>/kelvin/setNN/I00000.tiff     float32: the scene's brightness temperature (K) before
                                                        the optics, noise and fixed pattern: the truth
    DIR/radiometric/calibration.json                    the counts' Planck constants (radiometric/calibration.py)
    DIR/radiometric/agc.json                            {pair id: [low, high]} counts each 8-bit frame's AGC
                                                        stretched to 0 and 255 (to map 8-bit outputs back)

<part> is train or test, so `--dataroot DIR/radiometric` is a flat layout (`<phase>/{visible,lwir}`)
that `kaist_aligned` reads with `--lwir_range auto`; a pair's id is `setNN/I00000`.  The scene
temperature is that of the in-band radiance reaching the camera (emission and reflections together), the
temperature a perfect radiometric camera at emissivity 1 would report; where surfaces have an emissivity
below 1 it is not their kinetic temperature.
"""
import json
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from ..datasets.kaist_layout import KAIST_SETS, set_name
from ..durable import atomic_write, atomic_write_text
from .sensor import PLANCK_CONSTANTS, PLANCK_FIT_KELVIN

FOLDER = "radiometric"
CALIBRATION = "calibration.json"
AGC = "agc.json"
LWIR_BITS = (8, 16)


def part_of(folder):
    """'images/set06/V000' -> 'test' (KAIST's test sets), else 'train'."""
    name = folder.split("/")[1]
    tests = {set_name(s) for (part, _), sets in KAIST_SETS.items() if part == "test" for s in sets}
    return "test" if name in tests else "train"


def calibration_record():
    """The counts' calibration as `--calibration` reads it."""
    return {"kind": "planck", **PLANCK_CONSTANTS, "valid_kelvin": list(PLANCK_FIT_KELVIN),
            "model": "S = 6000 + 40 L (L: in-band radiance, W m^-2 sr^-1, 7.5-13 um); mrff_plugin/synth/sensor.py"}


def refusal(out, overwrite):
    """The sentence refusing to write into an existing DIR/radiometric (not `overwrite`, or not written by mrff
    synth: no calibration.json), else None."""
    root = Path(out) / FOLDER
    if root.exists() and (not overwrite or not (root / CALIBRATION).is_file()):
        return (f"{root} already exists; choose an empty --out, or pass --overwrite to replace a set written by "
                f"mrff synth --lwir_bits 16.")
    return None


def prepare(out):
    """An empty DIR/radiometric (an earlier one removed: `refusal` allowed it) holding calibration.json."""
    root = Path(out) / FOLDER
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    atomic_write_text(root / CALIBRATION, json.dumps(calibration_record(), indent=1) + "\n")


def write_counts(out, folder, name, extras):
    """The pair's counts PNG, scene-temperature TIFF and a link to its visible JPEG; returns (pair id, AGC range)."""
    import tifffile
    part, set_dir = part_of(folder), folder.split("/")[1]
    stem = os.path.splitext(name)[0]
    base = Path(out) / FOLDER / part
    paths = {kind: base / kind / set_dir / f"{stem}{ext}"
             for kind, ext in (("visible", ".jpg"), ("lwir", ".png"), ("kelvin", ".tiff"))}
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    visible = Path(out) / folder / "visible" / name
    try:
        os.link(visible, paths["visible"])
    except OSError:
        shutil.copyfile(visible, paths["visible"])
    with atomic_write(paths["lwir"]) as handle:
        Image.fromarray(extras["lwir_counts"]).save(handle, format="PNG")
    with atomic_write(paths["kelvin"]) as handle:
        tifffile.imwrite(handle, extras["scene_kelvin"].astype(np.float32),
                         description="scene brightness temperature, K")
    return f"{set_dir}/{stem}", [float(v) for v in extras["agc_counts"]]


def write_agc(out, ranges):
    """DIR/radiometric/agc.json from [(pair id, [low, high])]."""
    path = Path(out) / FOLDER / AGC
    atomic_write_text(path, json.dumps(dict(sorted(ranges)), indent=0) + "\n")
