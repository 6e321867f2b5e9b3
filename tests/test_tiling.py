"""Tiled generation: tile layout, blending windows, when tiling is chosen, and tiled against untiled output.

The network is tests/tiny_generator.py's checkpoint (ngf 8, outputs spread over ~15 grey levels), loaded
in-process from the registry for the direct comparisons; the automatic tiling is checked through
`mrff generate` itself.  The image, 416x320, is small enough to run both ways.
"""
import numpy as np
import pytest
import torch
from PIL import Image

from tiny_generator import OUTPUT_GAIN, grey, mrff, plain_network, write_images
from mrff_plugin.generate.backends import ActivationCost, TorchBackend
from mrff_plugin.generate.engine import run_network, to_u8_images
from mrff_plugin.generate.network import prepare_for_inference
from mrff_plugin.generate.tiling import (DEFAULT_OVERLAP, check_tile, pad_side, parse_memory, plan_size, ramp,
                                         tile_starts, window_1d)
from mrff_plugin.training.precision import Precision

WIDTH, HEIGHT = 416, 320
PERIOD = 32  # the network's stride pattern repeats every 32 pixels (five stride-2 stages)


def test_tiles_cover_the_axis_and_the_last_one_ends_at_its_end():
    assert tile_starts(320, 128, 32) == [0, 96, 192]
    assert tile_starts(300, 128, 32) == [0, 96, 172]  # the last tile overlaps its neighbour by more
    assert tile_starts(100, 128, 32) == [0]  # shorter than a tile: one tile of the axis' length


def test_blending_windows_of_neighbours_add_up_to_one_over_their_overlap():
    left, right = window_1d(0, 128, 224, 32), window_1d(96, 128, 224, 32)
    total = torch.zeros(224)
    total[:128] += left
    total[96:] += right
    assert torch.allclose(total, torch.ones(224), atol=1e-6)
    assert left[:96].eq(1).all() and ramp(32)[0] < 0.01  # untouched inside, near zero at a tile edge


def test_tile_and_overlap_must_be_multiples_of_32_and_the_overlap_under_half_a_tile():
    check_tile(512, DEFAULT_OVERLAP)
    for tile, overlap in ((500, 96), (512, 100), (128, 64)):
        with pytest.raises(ValueError, match="multiple of 32"):
            check_tile(tile, overlap)
    assert parse_memory("4G") == 4 * 2 ** 30 and parse_memory("512MiB") == 512 * 2 ** 20
    with pytest.raises(ValueError, match="--max_memory lots"):
        parse_memory("lots")


def test_images_over_the_memory_limit_are_tiled_and_smaller_ones_batched_within_it():
    cost = ActivationCost(1000.0)  # bytes per pixel
    small = plan_size(256, 256, 32, cost, 1e9, batch_size=8)
    assert small == {"batch": 8, "tile": None, "overlap": 0, "auto": False, "statistics_scale": 1.0}
    assert plan_size(256, 256, 32, cost, 3 * 256 * 256 * 1000, batch_size=8)["batch"] == 3  # batch shrinks to fit
    big = plan_size(4000, 3000, 32, cost, 2 ** 30, batch_size=8)
    assert big["auto"] and big["tile"] % 32 == 0 and big["overlap"] == DEFAULT_OVERLAP
    assert cost(big["tile"] ** 2) * big["batch"] <= 2 ** 30
    # the copy that gives the tiles their normalisation statistics fits the budget too, padding included
    scale = big["statistics_scale"]
    assert 0.1 < scale < 1 and cost(pad_side(round(4000 * scale), 32) * pad_side(round(3000 * scale), 32)) <= 2 ** 30
    assert plan_size(1024, 768, 32, cost, 2 ** 40, batch_size=8, tile=256, overlap=32)["statistics_scale"] == 1.0
    assert plan_size(4000, 3000, 32, cost, 2 ** 40, batch_size=8, tile=256, overlap=32)["tile"] == 256  # forced
    assert plan_size(4000, 3000, 32, None, 1, batch_size=8)["tile"] is None  # unknown cost: never auto


def loaded(tmp, weights, norm_stats):
    """{'weights', 'backend', 'rgb', 'untiled', 'input', 'tmp'} for tiny_generator's network (`weights`)
    prepared with `norm_stats`, and the WIDTH x HEIGHT photo generated untiled."""
    backend = TorchBackend(prepare_for_inference(plain_network(weights), "cpu", norm_stats), Precision("none"), 3)
    folder = write_images(tmp / "in", {"photo.png": (WIDTH, HEIGHT)})
    rgb = torch.from_numpy(np.asarray(Image.open(folder / "photo.png").convert("RGB")).copy()).permute(2, 0, 1)[None]
    untiled = to_u8_images(run_network(backend, rgb), 1)[0].astype(np.int16)
    assert untiled.std() > 5
    return {"weights": weights, "backend": backend, "rgb": rgb, "untiled": untiled, "input": folder, "tmp": tmp}


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_checkpoint):
    """The blending geometry (overlaps, seams) on the eval-mode network: BatchNorm by running statistics, so a
    tile's output depends only on the pixels it sees."""
    torch.set_num_threads(1)
    return loaded(tmp_path_factory.mktemp("tiling"), tiny_checkpoint(output_gain=OUTPUT_GAIN), "running")


@pytest.fixture(scope="module")
def image_setup(tmp_path_factory, tiny_checkpoint):
    """`mrff generate`'s default: each image's own BatchNorm statistics (spread ~16 grey levels at gain 1)."""
    torch.set_num_threads(1)
    return loaded(tmp_path_factory.mktemp("tiling_image"), tiny_checkpoint(output_gain=1.0), "image")


def tiled(setup, tile, overlap, statistics_scale=1.0, backend=None):
    return to_u8_images(run_network(backend or setup["backend"], setup["rgb"], tile, overlap, 4, statistics_scale),
                        1)[0].astype(np.int16)


def own_statistics(backend):
    """The backend with every tile normalised by its own statistics (benchmarks/tiling.py's control)."""
    from benchmarks.tiling import OwnStatistics
    return OwnStatistics(backend)


def test_tiles_take_the_whole_images_normalisation_statistics(image_setup):
    """Per-tile BatchNorm statistics (what each tile alone would give) move the output far more than the
    whole image's statistics shared by all tiles."""
    untiled = image_setup["untiled"]
    shared = np.abs(tiled(image_setup, 192, 64) - untiled).mean()
    own = np.abs(tiled(image_setup, 192, 64, backend=own_statistics(image_setup["backend"])) - untiled).mean()
    assert shared <= 1.0, shared
    assert own > 3 * shared, (own, shared)


def border_lines(length, tile, overlap):
    """Positions k where a tile starts or ends inside the axis (the step between pixels k-1 and k)."""
    starts = tile_starts(length, tile, overlap)
    return sorted({s for s in starts if s > 0} | {s + tile for s in starts if s + tile < length})


def seams(image, tile, overlap):
    """(worst mean |step| across a tile border line, mean |step| across lines of the same phase modulo
    PERIOD that are no tile border) -- the same phase, because the network's output texture repeats every
    PERIOD pixels and steps at different phases differ even without tiles."""
    worst, inside = 0.0, []
    for axis, length in ((0, HEIGHT), (1, WIDTH)):
        steps = np.abs(np.diff(image, axis=axis)).mean(axis=1 - axis)  # steps[k - 1]: between k - 1 and k
        borders = border_lines(length, tile, overlap)
        worst = max([worst] + [steps[k - 1] for k in borders])
        phases = {k % PERIOD for k in borders}
        inside += [steps[k - 1] for k in range(1, length) if k % PERIOD in phases and k not in borders]
    return worst, float(np.mean(inside))


@pytest.mark.parametrize("tile, overlap", [(128, 32), (192, 64)])
def test_tiled_output_equals_untiled_away_from_borders_and_has_no_seam(setup, tile, overlap):
    out, untiled = tiled(setup, tile, overlap), setup["untiled"]
    away = np.ones_like(untiled, dtype=bool)
    for k in border_lines(HEIGHT, tile, overlap):
        away[max(0, k - overlap // 2):k + overlap // 2] = False
    for k in border_lines(WIDTH, tile, overlap):
        away[:, max(0, k - overlap // 2):k + overlap // 2] = False
    assert away.mean() > 0.1
    assert np.abs(out - untiled)[away].mean() <= 2.0
    assert np.abs(out - untiled).mean() <= 2.0  # and everywhere, borders included
    worst, inside = seams(out, tile, overlap)
    assert worst <= 1.25 * inside + 0.5, (worst, inside)  # the worst line of any image exceeds the mean a bit
    assert worst <= seams(untiled, tile, overlap)[0] + 0.5  # the untiled image across the same lines


def test_tiles_without_overlap_leave_seams_that_the_measure_finds(setup):
    """The control for the seam measure above: butt-joined tiles (no overlap, no blending)."""
    worst, inside = seams(tiled(setup, 128, 0), 128, 0)
    assert worst > 2 * (1.25 * inside + 0.5), (worst, inside)


def test_an_image_over_max_memory_is_tiled_automatically_with_one_line_saying_so(image_setup):
    out = image_setup["tmp"] / "auto"
    result = mrff("generate", "--checkpoint", image_setup["weights"], "--input", image_setup["input"], "--output",
                  out, "--workers", "0", "--quiet", "--max_memory", "40M")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "tiles" in line]
    assert len(lines) == 1 and f"{WIDTH}x{HEIGHT} images need about" in lines[0] and "--max_memory" in lines[0]
    assert "normalised with the statistics of a" in lines[0]   # too large for one pass: a downscaled copy's
    written = grey(out / "photo.png")
    assert written.shape == (HEIGHT, WIDTH)
    # the command's tiles, overlap and statistics copy are the engine's plan for that budget, run in-process
    from mrff_plugin.generate.tiling import buffer_bytes_per_pixel
    plan = plan_size(WIDTH, HEIGHT, 32, image_setup["backend"].cost, parse_memory("40M"), batch_size=8,
                     buffers=buffer_bytes_per_pixel(3, 1))
    assert plan["auto"] and plan["statistics_scale"] < 1
    assert f"in {plan['tile']}x{plan['tile']} tiles, overlap {plan['overlap']}" in lines[0]
    expected = tiled(image_setup, plan["tile"], plan["overlap"], plan["statistics_scale"])
    assert np.abs(written - expected).max() <= 1
    assert written.std() > 5
