"""The radiometric round trip as a user runs it: `mrff synth --lwir_bits 16` -> host train.py with `--lwir_range
auto` -> `mrff generate --lwir_out counts counts_tiff kelvin`, and the bad inputs refused with nothing written.

Checked against independent oracles: the counts are the synthetic camera's documented model (14-bit, about
7,000-10,000 counts in these scenes), the kelvin TIFF is FLIR's Planck formula evaluated here by hand on the counts PNG, and
the map recorded in each file is the run's lwir_range.json.
"""
import json
import subprocess
import sys

import numpy as np
import pytest
import tifffile
from PIL import Image

from conftest import HOST_SCRIPTS, host_env, run_host

pytestmark = [pytest.mark.slow, pytest.mark.end_to_end(reason=HOST_SCRIPTS)]

TRAIN = ["--model", "pix2pix", "--netG", "unet_128", "--ngf", "8", "--ndf", "8", "--dataset_mode", "kaist_aligned",
         "--input_nc", "3", "--output_nc", "1", "--load_size", "128", "--crop_size", "128", "--gpu_ids", "-1",
         "--num_threads", "0"]
TRAIN_ONLY = ["--display_id", "0", "--n_epochs", "2", "--n_epochs_decay", "0"]


def mrff(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "mrff_plugin.cli", *map(str, args)], env=host_env(),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def trip(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("radiometric")
    synth = mrff("synth", "--out", tmp / "synth", "--pairs", "6", "--test-pairs", "2", "--size", "128x128",
                 "--lwir_bits", "16", "--quiet")
    assert synth.returncode == 0, synth.stderr
    data = tmp / "synth" / "radiometric"
    common = ["--dataroot", data, "--name", "r16", "--checkpoints_dir", tmp / "checkpoints"] + TRAIN
    train = run_host("train.py", *common, *TRAIN_ONLY, "--lwir_range", "auto")
    assert train.returncode == 0, train.stderr
    out = tmp / "generated"
    generate = mrff("generate", "--checkpoint", tmp / "checkpoints" / "r16", "--input", data / "test" / "visible",
                    "--output", out, "--lwir_out", "counts", "counts_tiff", "kelvin", "--quiet")
    assert generate.returncode == 0, generate.stderr
    return {"tmp": tmp, "data": data, "run": tmp / "checkpoints" / "r16", "out": out, "train": train.stdout,
            "common": common}


def test_synth_writes_counts_scene_temperatures_and_calibration(trip):
    data = trip["data"]
    counts = [np.asarray(Image.open(p)) for p in sorted((data / "train" / "lwir").rglob("*.png"))]
    assert len(counts) == 6 and all(c.dtype == np.uint16 for c in counts)
    every = np.concatenate([c.ravel() for c in counts])
    assert 6000 < every.min() and every.max() < 2 ** 14 and every.std() > 100   # 14-bit, 6000 = no radiance
    calibration = json.loads((data / "calibration.json").read_text())
    c = {k: calibration[k] for k in ("R1", "R2", "B", "F", "O")}
    for path in sorted((data / "train" / "lwir").rglob("*.png"))[:2]:
        kelvin = tifffile.imread(data / "train" / "kelvin" / path.parent.name / (path.stem + ".tiff"))
        raw = np.asarray(Image.open(path), np.float64)
        apparent = c["B"] / np.log(c["R1"] / (c["R2"] * (raw + c["O"])) + c["F"])
        # counts and scene temperature agree up to what the camera adds: blur, NETD, fixed pattern (< 1 K median)
        assert np.median(np.abs(apparent - kelvin)) < 1.0


def test_training_saves_the_auto_range_and_generate_writes_counts_and_kelvin(trip):
    saved = json.loads((trip["run"] / "lwir_range.json").read_text())
    assert saved["how"] == "auto" and saved["unit"] == "counts" and saved["calibration"]["kind"] == "planck"
    assert f"--lwir_range {saved['low']:g} {saved['high']:g} (16-bit counts, auto)" in trip["train"]
    pngs = sorted(trip["out"].rglob("*.png"))
    assert len(pngs) == 2
    c = saved["calibration"]
    for png in pngs:
        with Image.open(png) as image:
            assert image.mode.startswith("I;16")
            assert json.loads(image.text["mrff:lwir_range"])["low"] == saved["low"]
            counts = np.asarray(image, np.float64)
        # a trained output in the data's counts, not a constant image (a 16-bit target read as 8 bit was ~black)
        assert saved["low"] <= counts.min() and counts.max() <= saved["high"]
        assert counts.std() > 0.01 * (saved["high"] - saved["low"])
        with tifffile.TiffFile(png.with_name(png.stem + "_counts.tiff")) as tiff:
            np.testing.assert_array_equal(tiff.asarray(), counts.astype(np.uint16))
            assert json.loads(tiff.pages[0].description)["high"] == saved["high"]
        kelvin = tifffile.imread(png.with_name(png.stem + "_kelvin.tiff"))
        assert kelvin.dtype == np.float32
        by_hand = c["B"] / np.log(c["R1"] / (c["R2"] * (counts + c["O"])) + c["F"])
        np.testing.assert_allclose(kelvin, by_hand, atol=0.03)    # the TIFF is made from unrounded counts
    record = json.loads((trip["out"] / ".mrff_generate.json").read_text())
    assert record["--lwir_out"] == "counts counts_tiff kelvin" and "auto" in record["--lwir_range"]


def test_the_8_bit_view_beside_temperatures_has_the_channels_asked_for(trip):
    # --lwir_out kelvin alone: <name>.png is the 8-bit view of the run's range, with --output_nc's channels
    saved = json.loads((trip["run"] / "lwir_range.json").read_text())
    out = trip["tmp"] / "view_rgb"
    result = mrff("generate", "--checkpoint", trip["run"], "--input", trip["data"] / "test" / "visible",
                  "--output", out, "--lwir_out", "kelvin", "--output_nc", "3", "--quiet")
    assert result.returncode == 0, result.stderr
    for png in sorted(trip["out"].rglob("*.png")):   # the counts PNGs of the same network and inputs
        counts = np.asarray(Image.open(png), np.float64)
        with Image.open(out / png.relative_to(trip["out"])) as image:
            assert image.mode == "RGB"
            view = np.asarray(image).astype(np.int64)
        assert (view == view[..., :1]).all()      # grey in three channels
        by_hand = np.floor(np.clip((counts - saved["low"]) / (saved["high"] - saved["low"]), 0, 1) * 255)
        assert np.abs(view[..., 0] - by_hand).max() <= 1   # the counts PNG is rounded to whole counts


def test_test_py_uses_the_runs_map(trip):
    test = run_host("test.py", *trip["common"], "--results_dir", trip["tmp"] / "results")
    assert test.returncode == 0, test.stderr
    saved = json.loads((trip["run"] / "lwir_range.json").read_text())
    assert f"--lwir_range {saved['low']:g} {saved['high']:g} (auto, counts) from" in test.stdout


def test_bad_calibrations_are_refused_with_nothing_written(trip):
    tmp, run, visible = trip["tmp"], trip["run"], trip["data"] / "test" / "visible"
    missing = tmp / "missing.json"
    missing.write_text(json.dumps({"kind": "planck", "R1": 1.0, "R2": 1.0, "B": 1400.0, "F": 1.0}))
    narrow = tmp / "narrow.json"
    saved = json.loads((run / "lwir_range.json").read_text())
    narrow.write_text(json.dumps({**saved["calibration"], "valid_kelvin": [290.0, 300.0]}))
    for calibration, message in ((missing, "missing.json: the planck calibration lacks O"),
                                 (narrow, "outside the range of calibration")):
        out = tmp / f"refused_{calibration.stem}"
        result = mrff("generate", "--checkpoint", run, "--input", visible, "--output", out, "--lwir_out", "kelvin",
                      "--calibration", calibration, "--quiet")
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_evaluate_scores_the_counts_over_the_runs_range(trip):
    saved = json.loads((trip["run"] / "lwir_range.json").read_text())
    fake_dir = next(p.parent for p in sorted(trip["out"].rglob("*.png")))
    real_dir = trip["data"] / "test" / "lwir" / fake_dir.name
    result = mrff("evaluate", "--fake", fake_dir, "--real", real_dir, "--lwir_range", trip["run"],
                  "--out", trip["tmp"] / "evaluation")
    assert result.returncode == 0, result.stderr
    [run] = json.loads((trip["tmp"] / "evaluation.json").read_text())["runs"]
    [row] = run["images"]
    fake = np.asarray(Image.open(fake_dir / f"{row['stem']}.png"), np.float64)
    real = np.asarray(Image.open(real_dir / f"{row['stem']}.png"), np.float64)
    assert row["mae"] == pytest.approx(np.abs(fake - real).mean())
    c = saved["calibration"]

    def kelvin(s):
        return c["B"] / np.log(c["R1"] / (c["R2"] * (s + c["O"])) + c["F"])
    assert row["mae_kelvin"] == pytest.approx(np.abs(kelvin(fake) - kelvin(real)).mean(), rel=1e-6)


def test_train_py_refuses_a_float_tiff_with_nan_in_one_line(tmp_path):
    for modality in ("visible", "lwir"):
        (tmp_path / "data" / "train" / modality).mkdir(parents=True)
    Image.fromarray(np.zeros((128, 128, 3), np.uint8)).save(tmp_path / "data" / "train" / "visible" / "a.png")
    kelvin = np.full((128, 128), 290.0, np.float32)
    kelvin[5, 5] = np.inf
    tifffile.imwrite(tmp_path / "data" / "train" / "lwir" / "a.tiff", kelvin)
    result = run_host("train.py", "--dataroot", tmp_path / "data", "--name", "bad", "--checkpoints_dir",
                      tmp_path / "checkpoints", *TRAIN, *TRAIN_ONLY, "--lwir_range", "250", "330")
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "lwir/a.tiff holds 1 NaN or infinite values" in lines[0], result.stderr
    assert not list((tmp_path / "checkpoints").rglob("*.pth")) and not list((tmp_path / "checkpoints").rglob("*.json"))


def test_sixteen_bit_pngs_of_7000_to_9000_counts_train_to_a_non_constant_output(tmp_path):
    """The reported failure: 16-bit frames whose counts sit at 7,000-9,000 used to reach the network as grey
    27-35 of 255, a near-black target.  With --lwir_range auto the generated counts spread over that span."""
    rng = np.random.default_rng(0)
    for phase, count in (("train", 4), ("test", 1)):
        for k in range(count):
            small = rng.random((8, 8))
            picture = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((128, 128), Image.BILINEAR))
            for modality, array in (("visible", np.stack([picture] * 3, -1)),
                                    ("lwir", (7000 + picture.astype(np.float64) / 255 * 2000).astype(np.uint16))):
                (tmp_path / "data" / phase / modality).mkdir(parents=True, exist_ok=True)
                Image.fromarray(array).save(tmp_path / "data" / phase / modality / f"f{k}.png")
    train = run_host("train.py", "--dataroot", tmp_path / "data", "--name", "c16", "--checkpoints_dir",
                     tmp_path / "checkpoints", *TRAIN, "--display_id", "0", "--n_epochs", "15", "--n_epochs_decay",
                     "0", "--lwir_range", "auto")
    assert train.returncode == 0, train.stderr
    saved = json.loads((tmp_path / "checkpoints" / "c16" / "lwir_range.json").read_text())
    assert 7000 <= saved["low"] < 7100 and 8900 < saved["high"] <= 9000
    result = mrff("generate", "--checkpoint", tmp_path / "checkpoints" / "c16", "--input",
                  tmp_path / "data" / "test" / "visible", "--output", tmp_path / "out", "--lwir_out", "counts", "--quiet")
    assert result.returncode == 0, result.stderr
    counts = np.asarray(Image.open(tmp_path / "out" / "f0.png"), np.float64)
    target = np.asarray(Image.open(tmp_path / "data" / "test" / "lwir" / "f0.png"), np.float64)
    assert saved["low"] <= counts.min() and counts.max() <= saved["high"]
    assert counts.std() > 100      # of a 2,000-count span; grey 27-35 of 255 would be about 8 levels in all
    assert np.corrcoef(counts.ravel(), target.ravel())[0, 1] > 0.5   # and it follows the held-out frame


def test_export_carries_the_map_and_onnxruntime_writes_the_same_counts(trip):
    pytest.importorskip("onnxruntime", reason="the [onnx] extra is not installed")
    model = trip["tmp"] / "onnx" / "model.onnx"
    model.parent.mkdir()
    exported = mrff("export", "--checkpoint", trip["run"], "--out", model)
    assert exported.returncode == 0, exported.stderr
    assert (model.parent / "lwir_range.json").read_bytes() == (trip["run"] / "lwir_range.json").read_bytes()
    out = trip["tmp"] / "generated_onnx"
    result = mrff("generate", "--backend", "onnxruntime", "--model", model, "--input",
                  trip["data"] / "test" / "visible", "--output", out, "--lwir_out", "counts", "--quiet")
    assert result.returncode == 0, result.stderr
    for png in sorted(trip["out"].rglob("*.png")):
        torch_counts = np.asarray(Image.open(png), np.float64)
        onnx_counts = np.asarray(Image.open(out / png.relative_to(trip["out"])), np.float64)
        assert np.abs(torch_counts - onnx_counts).max() <= 1     # rounding of nearly equal floats
