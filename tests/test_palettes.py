"""Thermal palettes: lookup tables with the right end points and monotonic luminance, and
`mrff generate --palette` writing colour PNGs under the grey ones' names and sizes."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mrff_plugin.palettes import IRONBOW, PALETTES, colourise, grey_path, lookup_table, outputs
from test_generate import SIZES, mrff, setup  # noqa: F401  (setup: the module's tiny checkpoint)

END_POINTS = {            # (colour of grey 0, colour of grey 255)
    "grey": ((0, 0, 0), (255, 255, 255)),
    "white_hot": ((0, 0, 0), (255, 255, 255)),
    "black_hot": ((255, 255, 255), (0, 0, 0)),
    "ironbow": ((0, 0, 0), (255, 255, 255)),
    "inferno": ((0, 0, 4), (252, 255, 164)),   # matplotlib's inferno: #000004 .. #fcffa4
}


def luma(rgb):
    """ITU-R 601 luma, as Pillow computes it."""
    return np.asarray(Image.fromarray(np.asarray(rgb, dtype=np.uint8)[None]).convert("L"))[0].astype(int)


@pytest.mark.parametrize("name", PALETTES)
def test_each_palette_has_its_end_points_and_monotonic_luminance(name):
    table = lookup_table(name)
    assert table.shape == (256, 3) and table.dtype == np.uint8
    assert tuple(table[0]) == END_POINTS[name][0] and tuple(table[255]) == END_POINTS[name][1]
    steps = np.diff(luma(table))
    assert (steps <= 0).all() if name == "black_hot" else (steps >= 0).all()
    assert abs(int(luma(table)[255]) - int(luma(table)[0])) > 150    # a real ramp, not a constant


def test_ironbow_passes_through_its_control_points_and_is_coloured():
    table = lookup_table("ironbow").astype(int)
    for k, point in enumerate(IRONBOW):        # evenly spaced: at grey 0, 63.75, 127.5, 191.25, 255
        level = round(k * 255 / (len(IRONBOW) - 1))
        assert np.abs(table[level] - np.array(point) * 255).max() <= 3
    assert (table.max(1) - table.min(1)).max() > 200                # far from grey somewhere
    assert tuple(lookup_table("inferno")[128]) != tuple(lookup_table("ironbow")[128])


def test_colour_inputs_are_reduced_to_grey_first_and_grey_passes_through():
    ramp = np.tile(np.arange(256, dtype=np.uint8), (3, 1))            # (3, 256) grey ramp
    as_rgb = np.repeat(ramp[..., None], 3, -1)
    np.testing.assert_array_equal(colourise(ramp, "ironbow"), colourise(as_rgb, "ironbow"))
    np.testing.assert_array_equal(colourise(ramp, "white_hot")[..., 0], ramp)
    assert colourise(ramp, "grey") is ramp
    assert outputs(ramp, "o/a.png") == [(ramp, "o/a.png")]
    (kept, kept_path), (_, path) = outputs(ramp, "o/a.png", "inferno", also_grey=True)
    assert (kept is ramp, kept_path, path) == (True, "o/a_grey.png", "o/a.png")
    assert grey_path("o/b.c/x.png") == "o/b.c/x_grey.png"
    with pytest.raises(ValueError, match="palette 'rainbow' is not one of grey, white_hot"):
        colourise(ramp, "rainbow")


def test_generate_with_a_palette_writes_colour_pngs_under_the_grey_names(setup, tmp_path):
    common = ["generate", "--checkpoint", setup["ckpt"], "--input", setup["input"], "--workers", "0", "--quiet"]
    for out, extra in (("grey", []), ("ironbow", ["--palette", "ironbow", "--also_grey"])):
        result = mrff(*common, "--output", tmp_path / out, *extra)
        assert result.returncode == 0, result.stderr
    table = lookup_table("ironbow")
    for rel, size in SIZES.items():
        name = Path(rel).with_suffix(".png")
        grey = Image.open(tmp_path / "grey" / name)
        colour = Image.open(tmp_path / "ironbow" / name)
        assert grey.mode == "L" and colour.mode == "RGB" and colour.size == grey.size == size
        np.testing.assert_array_equal(np.asarray(colour), table[np.asarray(grey)])
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "ironbow" / grey_path(str(name)))),
                                      np.asarray(grey))
    written = sorted(str(p.relative_to(tmp_path / "ironbow")) for p in (tmp_path / "ironbow").rglob("*.png"))
    assert len(written) == 2 * len(SIZES)          # each palette image and its kept grey copy, nothing else


def test_gallery_rows_get_palette_copies_of_fake_and_real_b():
    import torch
    from collections import OrderedDict
    from types import SimpleNamespace

    from mrff_plugin.attach.gallery import with_palette
    from mrff_plugin.attach.patches import wrap_get_current_visuals
    fake = torch.linspace(-1, 1, 64).reshape(1, 1, 8, 8)
    real = torch.flip(fake, (3,)).repeat(1, 3, 1, 1)                   # grey stored as RGB, like KAIST
    visuals = OrderedDict(real_A=torch.zeros(1, 3, 8, 8), fake_B=fake, real_B=real)
    assert with_palette(visuals, "grey") is visuals
    coloured = with_palette(visuals, "ironbow")
    assert list(coloured) == ["real_A", "fake_B", "real_B", "fake_B_ironbow", "real_B_ironbow"]
    grey = ((fake[0, 0] + 1) / 2 * 255).floor().numpy().astype(np.uint8)   # as the host's tensor2im saves it
    np.testing.assert_array_equal(coloured["fake_B_ironbow"], lookup_table("ironbow")[grey])
    np.testing.assert_array_equal(coloured["real_B_ironbow"], lookup_table("ironbow")[grey[:, ::-1]])
    # the test model's visuals get the copies in its own --gallery_palette; a training model's do not
    visuals_of = wrap_get_current_visuals(lambda model: OrderedDict(fake_B=fake), None)
    testing = SimpleNamespace(isTrain=False, opt=SimpleNamespace(gallery_palette="inferno"))
    assert list(visuals_of(testing)) == ["fake_B", "fake_B_inferno"]
    assert list(visuals_of(SimpleNamespace(isTrain=True, opt=testing.opt))) == ["fake_B"]
