"""`mrff generate` refuses what would go wrong, before it writes anything (issue 26, items B-G).

The network is tests/tiny_generator.py's checkpoint (ngf 8), made once for the module; most
refusals happen before it is even loaded, so each test takes a few seconds at most.
"""
import os

import numpy as np
import pytest

from tiny_generator import make_checkpoint, mrff, write_images
from mrff_plugin.generate.tiling import DEFAULT_OVERLAP, check_tile, plan_size


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("reliability") / "run")


def files_under(folder):
    """Every file below `folder` (relative paths, sorted); [] when it does not exist."""
    return sorted(os.path.relpath(os.path.join(d, n), folder) for d, _, names in os.walk(folder) for n in names)


def refused(result):
    """The one line a refused run printed (asserting exit 2, one line, no traceback)."""
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


# ------------------------------------------------------------------ B: tiling options that would leave pixels empty

def test_an_overlap_too_large_for_automatic_tiles_is_refused_before_anything_is_written(weights, tmp_path):
    photo = write_images(tmp_path / "in", {"photo.png": (1000, 1000)})
    out = tmp_path / "out"
    line = refused(mrff("generate", "--checkpoint", weights, "--input", photo, "--output", out, "--workers", "0",
                        "--quiet", "--max_memory", "64M", "--overlap", "544"))
    assert line == ("mrff generate: --overlap 544 is too large for the 512x512 tiles that 1000x1000 images are cut "
                    "into to stay within --max_memory; pass an --overlap below 256 (default 96), or --tile N with "
                    "N larger than 1088.")
    assert files_under(out) == []


def test_automatic_tiling_never_plans_tiles_whose_overlap_leaves_pixels_uncovered():
    def cost(pixels):
        return 1560.0 * pixels       # bytes per pixel of unetpp_fusion at ngf 64 (tiling.py)
    for overlap in (256, 544):
        with pytest.raises(ValueError, match=f"--overlap {overlap} is too large"):
            plan_size(1000, 1000, 32, cost, 64 * 2 ** 20, 8, None, overlap)
    plan = plan_size(1000, 1000, 32, cost, 64 * 2 ** 20, 8, None, 224)
    assert plan["tile"] == 480 and plan["overlap"] == 224   # shrunk as far as the overlap allows, no further


@pytest.mark.parametrize("overlap", [50, -32])
def test_an_overlap_that_is_not_a_multiple_of_32_is_refused_without_tile_too(weights, tmp_path, overlap):
    photo = write_images(tmp_path / "in", {"photo.png": (64, 64)})
    line = refused(mrff("generate", "--checkpoint", weights, "--input", photo, "--output", tmp_path / "out",
                        "--quiet", f"--overlap={overlap}"))
    assert line == (f"mrff generate: --overlap {overlap} must be a multiple of 32 and less than half of the tile "
                    f"side (default {DEFAULT_OVERLAP}).")
    assert files_under(tmp_path / "out") == []
    check_tile(None, 544)   # alone it is fine: only a tile can be too small for it
