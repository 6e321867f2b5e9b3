"""`kaist_aligned --lwir_range`: 16-bit counts and float temperatures reach the network at full depth.

The dataset is built on the bundled host's BaseDataset and transforms (as tests/test_kaist_aligned.py does);
the expected tensors are computed here from the files with the documented map, independently of the code.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from mrff_plugin.radiometric import lwir_range as ranges

HOST = Path(__file__).resolve().parents[1] / "third_party" / "pix2pix_toolkit"


@pytest.fixture(scope="module")
def dataset_class():
    sys.path.insert(0, str(HOST))
    try:
        from mrff_plugin.datasets.kaist_aligned import KaistAlignedDataset
        yield KaistAlignedDataset
    finally:
        sys.path.remove(str(HOST))


def make_opt(dataset_class, dataroot, run, flags=(), **overrides):
    parser = dataset_class.modify_commandline_options(argparse.ArgumentParser(), True)
    opt = parser.parse_args(list(flags))
    defaults = dict(dataroot=str(dataroot), phase="train", isTrain=True, direction="AtoB", input_nc=3, output_nc=1,
                    preprocess="crop", load_size=32, crop_size=32, no_flip=True, max_dataset_size=float("inf"),
                    serial_batches=True, checkpoints_dir=str(run.parent), name=run.name, continue_train=False)
    for key, value in {**defaults, **overrides}.items():
        setattr(opt, key, value)
    return opt


def write_counts(root, phase, frames, save=lambda a, p: Image.fromarray(a).save(p), ext=".png"):
    """<root>/<phase>/{visible,lwir}/fK<ext>: LWIR as given (uint16 counts or float32), visible a grey picture."""
    for k, lwir in enumerate(frames):
        for modality in ("visible", "lwir"):
            (root / phase / modality).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full(lwir.shape[:2] + (3,), 40 * k, np.uint8)).save(root / phase / "visible" / f"f{k}.png")
        save(lwir, root / phase / "lwir" / f"f{k}{ext}")
    return root


def counts_frames(count=3, shape=(32, 32), low=7000, high=9000):
    rng = np.random.default_rng(0)
    return [rng.integers(low, high + 1, shape).astype(np.uint16) for _ in range(count)]


def test_auto_range_keeps_every_count_and_is_saved_for_testing(dataset_class, tmp_path, capsys):
    frames = counts_frames()
    root = write_counts(tmp_path / "data", "train", frames)
    write_counts(root, "test", frames[:1])
    run = tmp_path / "checkpoints" / "r16"
    dataset = dataset_class(make_opt(dataset_class, root, run, ["--lwir_range", "auto"]))
    record = json.loads((run / ranges.RANGE_FILE).read_text())
    every = np.sort(np.concatenate([f.ravel() for f in frames]).astype(np.float64))
    low, high = np.percentile(every, ranges.AUTO_PERCENTILES)
    assert (record["low"], record["high"], record["unit"], record["how"]) == (low, high, "counts", "auto")
    outside = np.mean((every < low) | (every > high))
    assert record["clipped_share"] == pytest.approx(outside)
    assert f"{outside:.2%} of the LWIR pixels lie outside it and are clipped" in capsys.readouterr().out
    b = dataset[1]["B"].numpy()[0]
    expected = np.clip(2 * (frames[1].astype(np.float64) - low) / (high - low) - 1, -1, 1)
    np.testing.assert_allclose(b, expected, atol=1e-6)
    assert len(np.unique(b)) > 256        # more levels than any 8-bit target has (1,024 pixels of a 2,000-count span)
    test = dataset_class(make_opt(dataset_class, root, run, phase="test", isTrain=False))   # no flag: the run's map
    assert test.lwir_range.low == low and test.lwir_range.high == high
    with pytest.raises(Exception, match=r"lwir_range\.json maps .* but --lwir_range 0 100 is given"):
        dataset_class(make_opt(dataset_class, root, run, ["--lwir_range", "0", "100"], phase="test", isTrain=False))


def test_float_kelvin_tiffs_and_fixed_range(dataset_class, tmp_path, capsys):
    kelvin = [np.linspace(260, 320, 32 * 32, dtype=np.float32).reshape(32, 32)]
    root = write_counts(tmp_path / "data", "train", kelvin, save=lambda a, p: tifffile.imwrite(p, a), ext=".tiff")
    run = tmp_path / "checkpoints" / "k"
    dataset = dataset_class(make_opt(dataset_class, root, run, ["--lwir_range", "258", "330"]))
    np.testing.assert_allclose(dataset[0]["B"].numpy()[0], 2 * (kelvin[0] - 258) / 72 - 1, atol=1e-6)
    assert "0.00% of the LWIR pixels lie outside it" in capsys.readouterr().out
    with pytest.raises(Exception, match=r"--lwir_range 270 300 clips 50\.0% of the LWIR pixels .*\(at most 5% allowed\)"):
        dataset_class(make_opt(dataset_class, root, tmp_path / "checkpoints" / "k2", ["--lwir_range", "270", "300"]))   # (10 + 20) / 60 K outside


def test_sixteen_bit_without_range_mixed_depths_and_auto_at_test_are_refused(dataset_class, tmp_path):
    root = write_counts(tmp_path / "data", "train", counts_frames(2))
    run = tmp_path / "checkpoints" / "x"
    with pytest.raises(Exception, match=r"holds 16-bit counts; pass --lwir_range auto"):
        dataset_class(make_opt(dataset_class, root, run))
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(root / "train" / "lwir" / "f1.png")
    with pytest.raises(Exception, match=r"f1\.png holds 8-bit grey levels but .*f0\.png holds 16-bit counts; one "
                                        r"LWIR set needs one kind of file"):
        dataset_class(make_opt(dataset_class, root, run, ["--lwir_range", "auto"]))
    root = write_counts(tmp_path / "data2", "test", counts_frames(1))
    with pytest.raises(Exception, match=r"--lwir_range auto is computed when training starts"):
        dataset_class(make_opt(dataset_class, root, tmp_path / "checkpoints" / "none", ["--lwir_range", "auto"],
                               phase="test", isTrain=False))


def test_eight_bit_sets_keep_the_eight_bit_path(dataset_class, tmp_path):
    grey = [np.random.default_rng(1).integers(0, 256, (32, 32)).astype(np.uint8)]
    root = write_counts(tmp_path / "data", "train", grey)
    run = tmp_path / "checkpoints" / "g"
    dataset = dataset_class(make_opt(dataset_class, root, run))
    assert dataset.lwir_range is None and not (run / ranges.RANGE_FILE).exists()
    np.testing.assert_allclose(dataset[0]["B"].numpy()[0], grey[0] / 127.5 - 1, atol=1e-6)


def test_unusable_lwir_files_name_the_file_when_the_set_is_surveyed(dataset_class, tmp_path):
    run = tmp_path / "checkpoints" / "bad"
    rgb = [np.zeros((32, 32, 3), np.uint16)]
    root = write_counts(tmp_path / "rgb", "train", rgb, save=lambda a, p: tifffile.imwrite(p, a), ext=".tiff")
    with pytest.raises(Exception, match=r"lwir/f0\.tiff has 3 channels .* an LWIR frame has one"):
        dataset_class(make_opt(dataset_class, root, run, ["--lwir_range", "auto"]))
    holes = np.full((32, 32), 300.0, np.float32)
    holes[0, 0] = np.nan
    root = write_counts(tmp_path / "nan", "train", [holes], save=lambda a, p: tifffile.imwrite(p, a), ext=".tiff")
    with pytest.raises(Exception, match=r"lwir/f0\.tiff holds 1 NaN or infinite values"):
        dataset_class(make_opt(dataset_class, root, run, ["--lwir_range", "auto"]))
    assert not (run / ranges.RANGE_FILE).exists()


def test_generate_radiometric_flags_are_refused_where_they_cannot_be_honoured(tmp_path):
    from mrff_plugin.generate import GenerateError
    from mrff_plugin.generate.radiometric_out import radiometric_output

    def args(**given):
        return argparse.Namespace(**{"lwir_out": ["counts"], "calibration": None, "palette": "grey",
                                     "also_grey": False, **given})
    with pytest.raises(GenerateError, match=r"--lwir_out needs a run trained with --lwir_range"):
        radiometric_output(args(), tmp_path)                       # an 8-bit run: no lwir_range.json
    ranges.save(ranges.LwirRange(250.0, 330.0, "temperature", "fixed"), tmp_path)
    with pytest.raises(GenerateError, match=r"trained on temperature values .* not counts"):
        radiometric_output(args(), tmp_path)
    with pytest.raises(GenerateError, match=r"16-bit counts, one channel, which have no palette; drop --palette "
                                            r"ironbow, or write"):
        radiometric_output(args(palette="ironbow"), tmp_path)
    with pytest.raises(GenerateError, match=r"one channel, which have no palette; drop --output_nc 3, or write the "
                                            r"counts as --lwir_out counts_tiff beside the 8-bit PNG\.$"):
        radiometric_output(args(output_nc=3), tmp_path)
    with pytest.raises(GenerateError, match=r"--calibration: the run was trained on temperature values"):
        radiometric_output(args(lwir_out=["kelvin"], calibration="cal.json"), tmp_path)
    ranges.save(ranges.LwirRange(7000.0, 9000.0, "counts", "auto"), tmp_path)
    with pytest.raises(GenerateError, match=r"have no saved calibration; pass --calibration FILE"):
        radiometric_output(args(lwir_out=["kelvin"]), tmp_path)
    assert radiometric_output(args(lwir_out=None), tmp_path) is None
    with pytest.raises(GenerateError, match=r"--direction BtoA: this network takes LWIR at full depth"):
        radiometric_output(args(lwir_out=None, direction="BtoA"), tmp_path)
