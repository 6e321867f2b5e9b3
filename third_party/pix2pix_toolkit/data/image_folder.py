"""Finding image files in a folder tree."""
import os

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
