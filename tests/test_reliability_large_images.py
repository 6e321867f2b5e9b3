"""An image with more pixels than Pillow's decompression-bomb limit is one sentence naming the file and the fix
not Pillow's DecompressionBombError traceback.  The file is a hand-made PNG header that claims
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


def test_the_bundled_hosts_reader_refuses_it_in_one_sentence_too(tmp_path):
    """The host's aligned/unaligned/single datasets read through data/image_folder.load_rgb, which let
    Pillow's DecompressionBombError (not an OSError) out as a traceback."""
    import subprocess
    import sys

    from conftest import HOST_DIR, host_env
    path = huge_png_header(tmp_path / "pano.png")
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); from data.image_folder import load_rgb\n"
             "try:\n    load_rgb(sys.argv[2])\nexcept Exception as exc:\n"
             "    print(type(exc).__name__ + ': ' + str(exc))")
    result = subprocess.run([sys.executable, "-c", probe, str(HOST_DIR), str(path)], env=host_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith("UserError: ") and str(path) in line and "resize it" in line and "\n" not in line, line


def test_a_32_bit_grey_image_is_read_the_same_by_the_plugin_and_the_host(tmp_path):
    """Values above 16 bits are scaled by 2^31 - 1 by both (the plugin used to clip them at 65535)."""
    import subprocess
    import sys

    import numpy as np

    from conftest import HOST_DIR, host_env
    values = np.array([[0, 70000, 2 ** 20], [2 ** 24, 2 ** 30, 2 ** 31 - 1]], dtype=np.int32)
    path = tmp_path / "deep.tif"
    Image.fromarray(values, "I").save(path)
    ours = np.asarray(load_image(path, "L"))
    probe = ("import sys; import numpy as np; sys.path.insert(0, sys.argv[1]); from data.image_folder import load_rgb\n"
             "print(np.asarray(load_rgb(sys.argv[2]))[..., 0].tolist())")
    result = subprocess.run([sys.executable, "-c", probe, str(HOST_DIR), str(path)], env=host_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    import ast
    assert ours.tolist() == ast.literal_eval(result.stdout.strip()) == [[0, 0, 0], [2, 128, 255]]
