"""Thermal palettes: an 8-bit grey infrared image -> an 8-bit RGB image through a 256-entry lookup table.

Names, as thermal cameras call them (cold -> hot):

* `grey`       -- the grey image itself, unchanged (the default; 1 or 3 channels as generated);
* `white_hot`  -- matplotlib's `gray`: black -> white (hot is white), written as RGB;
* `black_hot`  -- matplotlib's `gray_r`: white -> black (hot is black);
* `inferno`    -- matplotlib's `inferno` (van der Walt & Smith, perceptually uniform);
* `ironbow`    -- FLIR's "iron" look, black -> violet -> magenta -> gold -> white,
  from the five evenly spaced control points in `IRONBOW` (RGB fractions), the
  "Ironbow" map of public FLIR-radiometric-file readers (the csq `.csq` reader's
  examples: `(0, 0, 0), (0.13, 0, 0.55), (0.8, 0, 0.47), (1, 0.84, 0), (1, 1, 1)`,
  found through the project's code search), interpolated linearly by matplotlib.

The tables are built once per name with matplotlib (`lookup_table`); a colour
image is `table[grey]`. A colour input (the generator's 3-channel grey-as-RGB)
is reduced to grey first with Pillow's ITU-R 601 luma (`data/images.py`), so a
palette never depends on how many channels the network wrote. Each table's luma
rises (or, for black_hot, falls) monotonically with the grey level:
tests/test_palettes.py checks that and each palette's end points.
"""
import functools

import numpy as np

PALETTES = ("grey", "white_hot", "black_hot", "ironbow", "inferno")
MATPLOTLIB_MAPS = {"white_hot": "gray", "black_hot": "gray_r", "inferno": "inferno"}
IRONBOW = ((0.0, 0.0, 0.0), (0.13, 0.0, 0.55), (0.8, 0.0, 0.47), (1.0, 0.84, 0.0), (1.0, 1.0, 1.0))
GREY_SUFFIX = "_grey"     # --also_grey: <stem>_grey.png beside the palette image <stem>.png


def check(name):
    """`name` if it is a palette, else ValueError naming the known ones."""
    if name not in PALETTES:
        raise ValueError(f"palette {name!r} is not one of {', '.join(PALETTES)}")
    return name


@functools.lru_cache(maxsize=None)
def lookup_table(name):
    """(256, 3) uint8: the RGB colour of each grey level 0..255 in palette `name`."""
    from matplotlib import colormaps
    from matplotlib.colors import LinearSegmentedColormap
    if check(name) == "ironbow":
        cmap = LinearSegmentedColormap.from_list("ironbow", IRONBOW, N=256)
    elif name == "grey":
        cmap = colormaps["gray"]
    else:
        cmap = colormaps[MATPLOTLIB_MAPS[name]]
    rgb = cmap(np.linspace(0.0, 1.0, 256))[:, :3]                # (256, 3) floats in [0, 1]
    table = np.rint(rgb * 255.0).astype(np.uint8)
    table.setflags(write=False)
    return table


def to_grey(array):
    """(H, W) or (H, W, C) uint8 -> (H, W) uint8; colour through Pillow's ITU-R 601 luma."""
    array = np.asarray(array)
    if array.ndim == 2:
        return array
    if array.shape[-1] == 1:
        return array[..., 0]
    from PIL import Image
    return np.asarray(Image.fromarray(np.ascontiguousarray(array[..., :3])).convert("L"))


def colourise(array, name):
    """The image in palette `name`: (H, W, 3) uint8, or `array` itself for 'grey'."""
    if check(name) == "grey":
        return array
    return lookup_table(name)[to_grey(array)]


def grey_path(path):
    """out/a/b.png -> out/a/b_grey.png (where --also_grey keeps the grey image)."""
    stem, dot, ext = path.rpartition(".")
    return f"{stem}{GREY_SUFFIX}.{ext}" if dot else path + GREY_SUFFIX


def outputs(array, path, name="grey", also_grey=False):
    """[(image, path), ...] to write for one generated image: the grey copy first (when kept), then the
    palette image under the usual name -- so a run that stops between the two redoes both."""
    if check(name) == "grey":
        return [(array, path)]
    return ([(array, grey_path(path))] if also_grey else []) + [(colourise(array, name), path)]
