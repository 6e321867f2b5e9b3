"""`mrff generate` refuses what would go wrong, before it writes anything.

The network is tests/tiny_generator.py's checkpoint (ngf 8), made once for the session (tiny_checkpoint); most
refusals happen before it is even loaded, so each test takes a few seconds at most.
"""
import os

import numpy as np
import pytest

from conftest import mrff_in_process
from tiny_generator import mrff as mrff_process, write_images
from mrff_plugin.generate.files import RUN_RECORD
from mrff_plugin.generate.tiling import DEFAULT_OVERLAP, check_tile, plan_size


def mrff(*args, timeout=60):
    """`mrff ARGS...` in this process: the refusals and files are checked, not the process; a run that could
    hang (a FIFO read) gets a process of its own with a timeout."""
    return mrff_in_process(*args) if timeout is None else mrff_process(*args, timeout=timeout)


@pytest.fixture(scope="module")
def weights(tiny_checkpoint):
    return tiny_checkpoint()


def files_under(folder):
    """Every file below `folder` but the run's option record (relative paths, sorted); [] when it does not exist."""
    return sorted(os.path.relpath(os.path.join(d, n), folder) for d, _, names in os.walk(folder) for n in names
                  if n != RUN_RECORD)


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
                        "--quiet", "--max_memory", "64M", "--overlap", "544", timeout=None))
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
                        "--quiet", f"--overlap={overlap}", timeout=None))
    assert line == (f"mrff generate: --overlap {overlap} must be a multiple of 32 and less than half of the tile "
                    f"side (default {DEFAULT_OVERLAP}).")
    assert files_under(tmp_path / "out") == []
    check_tile(None, 544)   # alone it is fine: only a tile can be too small for it


# ------------------------------------------------------------------ C: links, special files, names in the input tree

def generate(weights, source, out, *extra, timeout=None):
    return mrff("generate", "--checkpoint", weights, "--input", source, "--output", out, "--workers", "0",
                "--quiet", *extra, timeout=timeout)


def test_links_to_parent_and_sibling_folders_give_each_real_image_once(weights, tmp_path):
    source = write_images(tmp_path / "in" / "a", {"x.png": (64, 32)}).parent
    write_images(source / "d", {"y.png": (32, 32)}, seed=1)
    os.symlink("..", source / "a" / "up")            # a link to its parent folder
    os.symlink("../..", source / "d" / "top")        # and one two levels up: the run used to hang
    os.symlink("d", source / "c")                    # a link to a sibling folder
    os.symlink("x.png", source / "a" / "alias.png")  # a second name for one image
    result = generate(weights, source, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert files_under(tmp_path / "out") == ["a/x.png", "d/y.png"]
    assert "wrote 2 images" in result.stdout


def test_a_link_to_a_folder_outside_the_input_is_followed_once(weights, tmp_path):
    elsewhere = write_images(tmp_path / "elsewhere", {"z.png": (32, 32)})
    os.symlink("..", elsewhere / "back")             # and from there a link back up
    source = write_images(tmp_path / "in", {"x.png": (32, 32)})
    os.symlink(elsewhere, source / "ext")
    os.symlink(elsewhere, source / "ext2")
    result = generate(weights, source, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert files_under(tmp_path / "out") == ["ext/z.png", "x.png"]


def test_an_output_folder_reached_through_a_link_into_the_input_is_told_apart(weights, tmp_path):
    source = write_images(tmp_path / "in", {"x.png": (32, 32)})
    os.symlink(source, tmp_path / "same")
    line = refused(generate(weights, source, tmp_path / "same"))
    assert line == (f"mrff generate: --output {tmp_path / 'same'} is the --input folder {source} (through a link); "
                    f"pass another folder, so that the results are neither mixed with nor taken for the input images.")
    (source / "results").mkdir()
    os.symlink(source / "results", tmp_path / "results_link")
    for _ in range(2):   # the second run must not take the first one's results for inputs
        result = generate(weights, source, tmp_path / "results_link")
        assert result.returncode == 0, result.stderr
    assert files_under(source) == ["results/x.png", "x.png"]


def test_a_fifo_named_like_an_image_is_refused_or_skipped_not_waited_on(weights, tmp_path):
    source = write_images(tmp_path / "in", {"x.png": (32, 32)})
    os.mkfifo(source / "f.png")
    line = refused(generate(weights, source, tmp_path / "out", timeout=30))
    assert line == (f"mrff generate: {source / 'f.png'} is not a regular file (a FIFO); remove it from --input, or "
                    f"pass --skip_bad to skip it.")
    assert files_under(tmp_path / "out") == []
    skipped = generate(weights, source, tmp_path / "out", "--skip_bad", timeout=30)
    assert skipped.returncode == 0, skipped.stderr
    assert files_under(tmp_path / "out") == ["x.png"]
    assert f"unreadable: {source / 'f.png'}" in skipped.stderr


@pytest.mark.parametrize("names, flags, clash", [
    (("x.jpg", "x_grey.jpg"), ("--palette", "ironbow", "--also_grey"), ("x_grey.png", "--also_grey")),
    (("y.png", "y_attention_1.png"), ("--save_attention",), ("y_attention_1.png", "--save_attention")),
])
def test_an_input_named_like_another_images_extra_output_is_refused_before_writing(weights, tmp_path, names, flags,
                                                                                    clash):
    source = write_images(tmp_path / "in", {name: (32, 32) for name in names})
    out = tmp_path / "out"
    line = refused(generate(weights, source, out, *flags))
    target, flag = clash
    owner, other = names    # the first image's extra output is the second image's own output
    assert line == (f"mrff generate: {source / owner} and {source / other} would both be written to {out / target} "
                    f"(the {flag} output of {source / owner}); rename one of them, or drop {flag}.")
    assert files_under(out) == []


def test_an_output_name_over_255_bytes_is_one_sentence_before_writing(weights, tmp_path):
    long = "n" * 246 + ".png"                         # 250 bytes: fine itself, not with _attention_1.png
    source = write_images(tmp_path / "in", {long: (32, 32)})
    out = tmp_path / "out"
    line = refused(generate(weights, source, out, "--save_attention"))
    assert line == (f"mrff generate: {source / long}: the output name {'n' * 246}_attention_1.png (--save_attention) "
                    f"would be 262 bytes, more than the 255 a file name may have in {out}; shorten the input's "
                    f"name, or drop --save_attention.")
    assert files_under(out) == []


# ------------------------------------------------------------------ D: option and environment values

def generate_with_env(weights, source, out, env_extra, monkeypatch, *extra):
    """`mrff generate` in this process with env_extra set in the environment (as torchrun sets it)."""
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env_extra.items():
        monkeypatch.setenv(name, value)
    return mrff_in_process("generate", "--checkpoint", weights, "--input", source, "--output", out, "--quiet", *extra)


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e400G"])
def test_a_max_memory_that_is_no_finite_size_is_one_sentence(weights, tmp_path, value):
    source = write_images(tmp_path / "in", {"x.png": (32, 32)})
    line = refused(generate(weights, source, tmp_path / "out", f"--max_memory={value}"))
    assert line == f"mrff generate: --max_memory {value} must be a positive, finite size like 4G or 512M."
    assert files_under(tmp_path / "out") == []


@pytest.mark.parametrize("env, told", [
    ({"WORLD_SIZE": "0"}, "WORLD_SIZE=0 must be at least 1"),
    ({"WORLD_SIZE": "2", "RANK": "2"}, "RANK=2 must be 0 to 1 with WORLD_SIZE=2"),
    ({"WORLD_SIZE": "2", "RANK": "-1"}, "RANK=-1 must be 0 to 1 with WORLD_SIZE=2"),
    ({"WORLD_SIZE": "two"}, "WORLD_SIZE=two is not a whole number"),
])
def test_a_rank_or_world_size_that_shards_nothing_is_one_sentence(weights, tmp_path, monkeypatch, env, told):
    source = write_images(tmp_path / "in", {"x.png": (32, 32)})
    line = refused(generate_with_env(weights, source, tmp_path / "out", env, monkeypatch))
    assert line == (f"mrff generate: {told} (set by torchrun in the environment); launch with torchrun "
                    f"--nproc_per_node=K, which sets RANK and WORLD_SIZE, or unset both for one process.")
    assert files_under(tmp_path / "out") == []


# ------------------------------------------------------------------ E: what the plugin reads from an image file

def write_rotated_photo(path, orientation=6):
    """A 64x32 JPEG stored sideways, with the EXIF orientation that tells viewers to turn it (6: 90 degrees
    clockwise); returns the upright pixels (32 wide, 64 high) a viewer shows."""
    from PIL import Image
    stored = np.zeros((32, 64, 3), np.uint8)
    stored[:, :16] = 255                                   # a white band at the stored image's left
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(path, exif=exif, quality=100)
    return np.rot90(stored, k=-1)                          # turned clockwise: the band at the top


def test_images_are_read_upright_by_their_exif_orientation(tmp_path):
    from mrff_plugin.datasets.images import load_image
    upright = write_rotated_photo(tmp_path / "photo.jpg")
    loaded = np.asarray(load_image(tmp_path / "photo.jpg", "RGB")).astype(int)
    assert loaded.shape == (64, 32, 3) == upright.shape
    assert np.abs(loaded - upright).max() <= 8             # JPEG at quality 100: a few levels
    assert loaded[:16].mean() > 240 and loaded[20:].mean() < 15


def test_generate_writes_an_exif_rotated_photo_upright_at_its_shown_size(weights, tmp_path):
    (tmp_path / "in").mkdir()
    write_rotated_photo(tmp_path / "in" / "photo.jpg")
    result = generate(weights, tmp_path / "in", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    from PIL import Image
    with Image.open(tmp_path / "out" / "photo.png") as written:
        assert written.size == (32, 64)
