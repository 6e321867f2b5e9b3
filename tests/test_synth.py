"""The synthetic visible/LWIR generator (`mrff_plugin.synth`, `mrff synth`).

Properties required of the scene maker: same seed -> same bytes; pixel-aligned pairs; LWIR not
a function of the visible colour (R^2 of an RGB -> LWIR regression < 0.8) while
people and running engines are warm by day and by night; no sun at night; the
KAIST layout on disk, readable by `kaist_layout`; the command line.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mrff_plugin.datasets.pairs_layout import list_pairs
from mrff_plugin.synth import render_pair, write_dataset
from mrff_plugin.synth import materials as mat
from mrff_plugin.synth.radiometry import _band_radiance_exact, band_radiance
from mrff_plugin.synth.stats import rgb_to_lwir_r2
from mrff_plugin.synth.thermal import SIGMA

SIZE = (128, 128)


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def scenes():
    """Eight day and eight night pairs at 128x128 (rendered once for several tests)."""
    return {t: [render_pair(100 + i, SIZE, t) for i in range(8)] for t in ("day", "night")}


def test_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path):
    args = dict(pairs=3, time="all", size=(72, 56), test_pairs=2)
    write_dataset(tmp_path / "a", seed=7, **args)
    write_dataset(tmp_path / "b", seed=7, **args)
    write_dataset(tmp_path / "c", seed=8, **args)
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert len(a) == 2 * 5 + 1                      # 5 pairs x 2 JPEGs + synth.json
    assert a == b
    jpegs = [name for name in a if name.endswith(".jpg")]
    assert all(a[name] != c[name] for name in jpegs)


def test_render_pair_is_a_function_of_its_seed():
    seed = np.random.SeedSequence(11)
    first, again, other = render_pair(seed, (64, 48)), render_pair(seed, (64, 48)), render_pair(12, (64, 48))
    assert first[0].shape == (48, 64, 3) and first[1].shape == (48, 64) and first[1].dtype == np.uint8
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[1], other[1])


def test_jobs_do_not_change_the_output(tmp_path):
    write_dataset(tmp_path / "one", 4, "day", (48, 48), seed=3, test_pairs=0)
    write_dataset(tmp_path / "two", 4, "day", (48, 48), seed=3, test_pairs=0, jobs=2)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


def test_writes_the_kaist_layout_that_kaist_layout_lists(tmp_path):
    summary = write_dataset(tmp_path, 6, "all", (80, 64), seed=1, test_pairs=4)
    images = tmp_path / "images"
    visible, lwir = ([p.relative_to(images).as_posix().replace(f"/{m}/", "/") for p in images.glob(f"*/*/{m}/*.jpg")]
                     for m in ("visible", "lwir"))
    visible, lwir = sorted(visible), sorted(lwir)
    assert visible == lwir and len(visible) == 10
    sets = {name.split("/")[0] for name in visible}
    assert sets == {"set00", "set01", "set02", "set03", "set04", "set05", "set06", "set07", "set09", "set10"}
    assert summary["sets"] == json.loads((tmp_path / "synth.json").read_text())["sets"]
    assert sum(summary["sets"].values()) == 10
    # visible: RGB; LWIR: grey stored as three equal channels; width x height as asked
    vis = Image.open(next(images.glob("set00/V000/visible/*.jpg")))
    ir = np.asarray(Image.open(next(images.glob("set00/V000/lwir/*.jpg"))), dtype=int)
    assert vis.mode == "RGB" and vis.size == (80, 64)
    assert ir.shape == (64, 80, 3) and np.abs(ir - ir[..., :1]).max() <= 2
    # the dataset code finds the same pairs: paper default (day) and night, both phases
    assert len(list_pairs(str(tmp_path), phase="train", time="day").pairs) == 3
    assert len(list_pairs(str(tmp_path), phase="train", time="night").pairs) == 3
    test_names = [p.pair_id.split("/")[-1] for p in list_pairs(str(tmp_path), phase="test", time="all").pairs]
    assert len(test_names) == 4 and len(set(test_names)) == 4   # no two test frames share a file name


def test_pairs_are_pixel_aligned(scenes):
    """Edges of the visible and of the LWIR image both sit exactly on the object
    outlines of the label map: the step between two neighbouring pixels is
    largest where their labels differ, and smaller with the outline moved by one
    or two pixels in any direction."""
    for visible, lwir, extras in scenes["day"][:4] + scenes["night"][:4]:
        for image in (visible.astype(float).mean(axis=2), lwir.astype(float)):
            steps = {(dy, dx): _step_on_outline(image, extras["label"], dy, dx)
                     for dy in range(-2, 3) for dx in range(-2, 3)}
            assert max(steps, key=steps.get) == (0, 0), steps
            assert steps[(0, 0)] > 2.0 * _step_on_outline(image, extras["label"], 0, 0, off=True)


def test_lwir_is_not_a_function_of_visible_colour(scenes):
    pairs = scenes["day"] + scenes["night"]
    visible = np.concatenate([v.reshape(-1, 3) for v, _, _ in pairs])
    lwir = np.concatenate([l.reshape(-1) for _, l, _ in pairs])
    linear, quadratic = rgb_to_lwir_r2(visible, lwir, degree=1), rgb_to_lwir_r2(visible, lwir, degree=2)
    print(f"RGB -> LWIR regression over {len(pairs)} pairs: R^2 linear {linear:.3f}, quadratic {quadratic:.3f}")
    assert 0.0 <= linear <= quadratic < 0.8


def test_paint_colour_does_not_set_temperature():
    """Two paints of the same visible colour but different NIR reflectance absorb
    different amounts of sunlight, and a black car with a running engine is warmer
    than an identical black car that is parked."""
    black = np.array([[0.02, 0.02, 0.02]], np.float32)
    cool, hot = mat.solar_absorptance(black, np.array([0.7])), mat.solar_absorptance(black, np.array([0.05]))
    assert cool[0] < hot[0] - 0.3


def test_people_and_running_engines_are_warm_by_day_and_by_night(scenes):
    """Mean LWIR of person/engine pixels above the scene median: in every night
    scene, and by day in all but the odd clear-noon scene where sun-baked asphalt
    outshines people (as it does in real LWIR); the people's surfaces are always
    warmer than the air."""
    for time, pairs in scenes.items():
        warmer = {"person": [], "engine": []}
        for _, lwir, extras in pairs:
            median = np.median(lwir)
            for what in warmer:
                mask = extras[what]
                if mask.sum() >= 10:
                    warmer[what].append(lwir[mask].mean() > median)
            if extras["person"].any():
                assert extras["temperature"][extras["person"]].mean() > extras["air_k"] + 2.0
        for what, flags in warmer.items():
            assert len(flags) >= 6, f"too few {time} scenes show a {what}"
            if time == "night":
                assert all(flags), (time, what, flags)
            else:
                assert np.mean(flags) >= 0.75, (time, what, flags)


def test_night_has_no_sun_shading_and_day_has():
    """Same seed, same street: by night the visible image does not change with the
    (below-horizon) sun position and there are no cast shadows; by day it does."""
    night_a, _, na = render_pair(5, (96, 96), 23.0)
    night_b, _, nb = render_pair(5, (96, 96), 1.5)
    day_a, _, da = render_pair(5, (96, 96), 10.0)
    day_b, _, db = render_pair(5, (96, 96), 15.0)
    assert na["sun_elevation_deg"] < 0 and nb["sun_elevation_deg"] < 0 and na["time"] == "night"
    assert not na["shadow"].any() and not nb["shadow"].any()
    assert np.array_equal(night_a, night_b)
    assert np.array_equal(na["label"], da["label"])          # the layout does not depend on the time
    assert da["shadow"].any() and not np.array_equal(da["shadow"], db["shadow"])
    assert np.abs(day_a.astype(int) - day_b.astype(int)).mean() > 3


def test_fresh_shadows_are_still_warm(scenes):
    """Thermal lag: asphalt that fell into shadow within the last hour is warmer
    than asphalt shaded for longer, and cooler than asphalt in the sun."""
    lit, fresh, old = [], [], []
    for _, _, extras in scenes["day"]:
        t, asphalt = extras["temperature"], extras["material"] == mat.ID["asphalt"]
        now, before = extras["shadow"], extras["shadow_before"]
        for store, mask in ((lit, ~now & ~before), (fresh, now & ~before), (old, now & before)):
            store.extend(t[asphalt & mask])
    assert min(len(fresh), len(old)) > 50
    assert np.mean(old) + 2.0 < np.mean(fresh) < np.mean(lit) - 2.0


def test_band_radiance_is_plancks_law():
    """The band integral uses Planck's law with the right constants: over a band
    wide enough to hold almost all the emission it gives sigma T^4 / pi (paper
    Eq. 1), and the 7.5-13 um band holds about a third of it at 300 K."""
    wide = _band_radiance_exact(np.array([300.0]), band=(0.5, 1000.0), samples=200001)[0]
    assert wide == pytest.approx(SIGMA * 300.0 ** 4 / np.pi, rel=2e-3)
    assert band_radiance(300.0) / wide == pytest.approx(0.34, abs=0.03)


def test_mrff_synth_command_writes_pairs_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "synth"
    cmd = [sys.executable, "-m", "mrff_plugin.cli", "synth", "--out", str(out), "--pairs", "3",
           "--test-pairs", "1", "--size", "64x48", "--seed", "2", "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "wrote 3 training + 1 test pairs" in done.stdout
    assert len(list(out.glob("images/set0[0-2]/V000/visible/*.jpg"))) == 3
    assert len(list(out.glob("images/set06/V000/lwir/*.jpg"))) == 1
    before = _files(out)

    again = subprocess.run(cmd[:-1] + ["--seed", "3", "--quiet"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "--overwrite" in again.stderr and "Traceback" not in again.stderr
    assert _files(out) == before                       # nothing touched

    bad = subprocess.run(cmd[:4] + [str(tmp_path / "x"), "--size", "64by48"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--size" in bad.stderr and "Traceback" not in bad.stderr


def test_overwrite_replaces_only_a_set_written_by_synth(tmp_path):
    write_dataset(tmp_path, 6, "day", (48, 48), seed=1, test_pairs=0)
    summary = write_dataset(tmp_path, 2, "night", (48, 48), seed=1, test_pairs=0, overwrite=True)
    assert sorted(summary["sets"]) == ["set03", "set04"]
    assert not list(tmp_path.glob("images/set0[0-2]/*/*/*.jpg"))  # the old day set is gone
    # a folder of someone else's images is never replaced
    foreign = tmp_path / "foreign" / "images" / "set00" / "V000" / "visible"
    foreign.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(foreign / "I00000.jpg")
    with pytest.raises(ValueError, match="not written by mrff synth"):
        write_dataset(tmp_path / "foreign", 1, "day", (48, 48), overwrite=True)
    assert (foreign / "I00000.jpg").is_file()
    # nor are foreign images next to a synthetic set
    mixed = tmp_path / "images" / "set11" / "V000" / "lwir"
    mixed.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(mixed / "I00000.jpg")
    with pytest.raises(ValueError, match="did not write"):
        write_dataset(tmp_path, 1, "night", (48, 48), overwrite=True)
    assert (mixed / "I00000.jpg").is_file() and len(list(tmp_path.glob("images/set0[34]/*/*/*.jpg"))) == 4
    assert json.loads((tmp_path / "synth.json").read_text())["complete"] is True


# ------------------------------------------------------------------ helpers

def _step_on_outline(image, label, dy, dx, off=False):
    """Mean absolute difference between horizontal and vertical pixel neighbours
    where the label changes between them (the outline moved by (dy, dx)), or,
    with off=True, where it does not."""
    total, count = 0.0, 0
    for axis in (0, 1):
        step = np.abs(np.diff(image, axis=axis))
        edge = np.diff(label.astype(int), axis=axis) != 0
        edge = ~edge if off else np.roll(edge, (dy, dx), axis=(0, 1))
        inner = np.zeros_like(edge)
        inner[3:-3, 3:-3] = True                  # away from the wrapped border of np.roll
        total += step[edge & inner].sum()
        count += (edge & inner).sum()
    return total / count


def test_dropping_unobservable_terms_changes_only_the_lwir_image_and_each_term_matters():
    """render_pair(drop=...) is the quality study's privileged oracle: the same scene and visible image,
    the LWIR image without the terms the visible image cannot show."""
    import pytest
    from mrff_plugin.synth.render import UNOBSERVABLE
    visible, lwir, extras = render_pair(7, (96, 96))
    previous = lwir.astype(int)
    for k in range(1, len(UNOBSERVABLE) + 1):
        v, l, e = render_pair(7, (96, 96), "day", UNOBSERVABLE[:k])
        assert (v == visible).all() and (e["label"] == extras["label"]).all()
        assert np.abs(l.astype(int) - previous).mean() > 0.05, UNOBSERVABLE[k - 1]   # each term changes it
        previous = l.astype(int)
    with pytest.raises(ValueError, match="unknown terms"):
        render_pair(7, (96, 96), "day", ("engines",))
