"""Small image and file-system helpers: tensors to uint8 images, saving, folders, atomic writes."""
import os
import tempfile

import numpy as np
import torch
from PIL import Image


def tensor2im(input_image, imtype=np.uint8):
    """First image of a batch in [-1, 1] -> H x W x 3 array of `imtype` in [0, 255].

    input_image: tensor (N, C, H, W) or (C, H, W), or an array already converted.
    A 1-channel image (e.g. LWIR with --output_nc 1) becomes grey: its channel
    is repeated three times.
    """
    if not isinstance(input_image, torch.Tensor):
        return input_image if isinstance(input_image, np.ndarray) else np.asarray(input_image)
    image = input_image.detach()
    if image.dim() == 4:
        image = image[0]
    array = image.cpu().float().numpy()            # (C, H, W)
    if array.shape[0] == 1:
        array = np.repeat(array, 3, axis=0)        # grey: (3, H, W)
    array = (np.transpose(array, (1, 2, 0)) + 1.0) / 2.0 * 255.0
    return np.clip(array, 0, 255).astype(imtype)


def save_image(image_numpy, image_path, aspect_ratio=1.0):
    """Write an H x W (grey) or H x W x 3 uint8 array as an image file.

    aspect_ratio > 1 stretches the width, < 1 the height (as the test gallery allows).
    """
    image = Image.fromarray(np.asarray(image_numpy).squeeze())
    w, h = image.size
    if aspect_ratio > 1.0:
        image = image.resize((int(w * aspect_ratio), h), Image.BICUBIC)
    elif aspect_ratio < 1.0:
        image = image.resize((w, int(h / aspect_ratio)), Image.BICUBIC)
    image.save(image_path)


def mkdir(path):
    """Create a folder (and its parents) if it does not exist."""
    os.makedirs(path, exist_ok=True)


def mkdirs(paths):
    """Create one folder or each folder of a list."""
    for path in [paths] if isinstance(paths, str) else paths:
        mkdir(path)


def atomic_save(obj, path):
    """torch.save `obj` to `path` so that `path` is either the old file or the new one.

    The data goes to a temporary file in the same folder, is flushed to disk and
    then renamed over `path` (os.replace is atomic within one file system), and the
    folder is flushed too, so neither an interrupted run nor a power cut leaves a
    half-written checkpoint behind.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(prefix=".tmp_", suffix=".pth", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            mask = os.umask(0)   # mkstemp makes 0600: give the checkpoint the mode a plain open() would
            os.umask(mask)
            os.fchmod(handle.fileno(), 0o666 & ~mask)
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise
    sync_dir(folder)


def sync_dir(folder):
    """fsync the folder itself, so that the renames into it survive a power cut."""
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def require_writable_dir(path, flag):
    """Create folder `path` if needed and check that a file can be written in it; UserError naming `flag`."""
    from .errors import UserError  # errors is a leaf module; imported here to keep util's imports light
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write_test_", dir=path)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise UserError(f"{flag} folder {path} cannot be written ({exc.strerror or exc}); "
                        f"pass a writable {flag}.") from None
