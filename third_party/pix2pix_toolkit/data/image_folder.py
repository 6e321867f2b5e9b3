"""Finding image files in a folder tree and reading them as 8-bit RGB."""
import os

import numpy as np
from PIL import Image

from util.errors import UserError

IMG_EXTENSIONS = [
    ".jpg", ".JPG", ".jpeg", ".JPEG",
    ".png", ".PNG", ".ppm", ".PPM", ".bmp", ".BMP",
    ".tif", ".TIF", ".tiff", ".TIFF",
]


def is_image_file(filename):
    """True when the file name ends with one of IMG_EXTENSIONS."""
    return any(filename.endswith(extension) for extension in IMG_EXTENSIONS)


def make_dataset(dir, max_dataset_size=float("inf")):
    """Sorted paths of all image files under `dir` (recursively), at most `max_dataset_size`."""
    if not os.path.isdir(dir):
        raise UserError(f"{dir} is not a folder; pass --dataroot pointing at the folder that holds it.")
    images = []
    for root, _, fnames in sorted(os.walk(dir, followlinks=True)):
        for fname in sorted(fnames):
            if is_image_file(fname):
                images.append(os.path.join(root, fname))
    images.sort()
    return images[: min(max_dataset_size, len(images))]


def load_rgb(path):
    """The image at `path` as an 8-bit PIL RGB image; UserError naming the file when it cannot be read.

    Greyscale becomes three equal channels, alpha is dropped, and 16-bit or
    32-bit integer greyscale ('I;16', 'I') is scaled to 8 bits by its type's
    range (PIL's own convert would clip everything above 255 to white).
    """
    try:
        with Image.open(path) as image:
            image.load()  # decode now: a truncated file fails here, not later
            if image.mode.startswith("I;16") or image.mode == "I":
                values = np.asarray(image, dtype=np.float64)
                top = 65535.0 if image.mode.startswith("I;16") or values.max() <= 65535 else 2.0 ** 31 - 1
                grey = np.clip(np.round(values * 255.0 / top), 0, 255).astype(np.uint8)
                return Image.fromarray(grey, "L").convert("RGB")
            return image.convert("RGB")
    except Image.DecompressionBombError as exc:  # more pixels than Pillow reads by default
        raise UserError(f"{path} is too large to read safely ({exc}); resize it or cut it into smaller "
                        f"images.") from None
    except (OSError, ValueError, SyntaxError) as exc:  # PIL's errors for truncated or unknown data
        raise UserError(f"{path} is truncated or not a readable image ({exc}); replace or delete it.") from None
