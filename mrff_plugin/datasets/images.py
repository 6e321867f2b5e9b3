"""Which files are images, and reading one as 8-bit grey ('L') or 8-bit RGB, whatever it was stored as.

Shared by the KAIST dataset and the SSIM/PSNR metrics so both see the same
pixels. Conversions:

* RGB -> grey: Pillow's 'L' conversion, ITU-R 601-2 luma
  `L = (19595 R + 38470 G + 7471 B + 32768) >> 16`  (= 0.299 R + 0.587 G + 0.114 B, rounded);
* grey -> RGB: the grey value in all three channels (the KAIST LWIR "grey as RGB");
* alpha (RGBA, LA) is dropped, palettes are expanded, CMYK goes through Pillow;
* 16-bit grey (Pillow modes I;16*, I) is scaled to 8 bit: `round(v * 255 / 65535)`
  -- Pillow's own `convert('L')` would clip everything above 255 to white; a 32-bit 'I' image
  with values above 65535 by 2^31 - 1, as the host's `data/image_folder.load_rgb` does.

Images are read upright: an EXIF orientation (phones store photos sideways and say so) is
applied (`ImageOps.exif_transpose`), so pixels and size are those a viewer shows (`shown_size`).
"""
import numpy as np
from PIL import Image, ImageOps

from ..errors import MrffError

# The files the plugin reads as images (KAIST frames, `mrff generate` inputs, `mrff evaluate` results):
# the host's data/image_folder.py list plus the grey/web formats Pillow decodes; compared lower-cased.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".bmp", ".tif", ".tiff", ".webp")
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
MAX_16BIT = 65535
MAX_32BIT = 2 ** 31 - 1


ORIENTATION = 0x0112           # the EXIF tag; values 5-8 turn the image by 90 degrees (width and height swap)
SIDEWAYS = (5, 6, 7, 8)


class UnreadableImageError(MrffError, ValueError):
    """An image file that Pillow cannot decode, or stores pixels we do not convert."""


def _to_8bit_grey(image):
    """16-bit grey by 65535; a 32-bit 'I' image whose values exceed 16 bits by 2^31 - 1 (the host's
    `load_rgb` rule, so both read the same pixels)."""
    values = np.asarray(image, dtype=np.float64)
    top = MAX_16BIT if image.mode.startswith("I;16") or values.max() <= MAX_16BIT else MAX_32BIT
    scaled = np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)
    return Image.fromarray(scaled)  # 2-D uint8 -> mode "L"


def convert_image(image, mode):
    """A Pillow image in `mode` 'L' (8-bit grey) or 'RGB' (8-bit colour), converted as above."""
    if mode not in ("L", "RGB"):
        raise ValueError(f"mode must be 'L' or 'RGB', not {mode!r}")
    if image.mode in SIXTEEN_BIT_MODES:
        image = _to_8bit_grey(image)
    elif image.mode == "F":
        raise UnreadableImageError("32-bit float pixels have no fixed range; save the image as 8 or 16 bit")
    return image if image.mode == mode else image.convert(mode)


def load_image(path, mode):
    """The image at `path` in `mode` 'L' or 'RGB'; UnreadableImageError naming the file if it cannot be read."""
    try:
        with Image.open(path) as image:
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            return convert_image(image, mode)
    except UnreadableImageError as exc:
        raise UnreadableImageError(f"{path}: {exc}") from None
    except Image.DecompressionBombError as exc:   # refused from the header: more than twice MAX_IMAGE_PIXELS
        raise UnreadableImageError(f"{path} is too large for Pillow to read safely ({exc}); resize it to fewer "
                                   f"than {2 * Image.MAX_IMAGE_PIXELS} pixels, or cut it into smaller images.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImageError(f"{path}: cannot be read as an image ({exc})") from None


def shown_size(image):
    """(width, height) of an opened (not decoded) Pillow image as load_image returns it: EXIF orientation applied."""
    width, height = image.size
    return (height, width) if image.getexif().get(ORIENTATION) in SIDEWAYS else (width, height)
