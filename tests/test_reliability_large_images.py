"""An image with more pixels than Pillow's decompression-bomb limit is one sentence naming the file and the fix
(issue 26), not Pillow's DecompressionBombError traceback.  The file is a hand-made PNG header that claims
14000x14000 pixels (more than twice Image.MAX_IMAGE_PIXELS): Pillow refuses it from the header alone."""
import struct
import zlib

import pytest
from PIL import Image

from mrff_plugin.datasets.images import UnreadableImageError, load_image


def huge_png_header(path, width=14000, height=14000):
    """A PNG signature, an IHDR chunk claiming width x height 8-bit RGB, and IEND: no pixel data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return path


def test_an_image_over_pillows_pixel_limit_is_one_sentence_naming_the_file_and_the_fix(tmp_path):
    path = huge_png_header(tmp_path / "pano.png")
    assert 14000 * 14000 > 2 * Image.MAX_IMAGE_PIXELS
    with pytest.raises(UnreadableImageError) as refused:
        load_image(path, "RGB")
    assert str(refused.value) == (f"{path} is too large for Pillow to read safely (Image size (196000000 pixels) "
                                  f"exceeds limit of {2 * Image.MAX_IMAGE_PIXELS} pixels, could be decompression "
                                  f"bomb DOS attack.); resize it to fewer than {2 * Image.MAX_IMAGE_PIXELS} pixels, "
                                  f"or cut it into smaller images.")
