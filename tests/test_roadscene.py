"""Real RoadScene pairs (../shared/data/roadscene, read-only, never copied here) through the unmodified bundled
host: one cheap epoch on short-side crops of the lowest frame numbers, then test.py on whole images of the
highest ones and the widest, 597x161 FLIR_06974 -- results at each image's own size.

Skipped, with the reason, where the folder is absent (it is evaluation data, not part of the project).
"""
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import HOST_SCRIPTS, run_host
from mrff_plugin.datasets.frame_split import split_by_frame_number, write_pair_list
from mrff_plugin.datasets.pairs_layout import list_pairs

ROADSCENE = Path(os.environ.get("MRFF_ROADSCENE", Path(__file__).resolve().parents[2] / "shared/data/roadscene"))
WIDE = "FLIR_06974"     # 597x161: `scale_width_and_crop` would make it 77 pixels tall at width 286
HOST_FLAGS = ["--netG", "resnet_6blocks", "--ngf", "8", "--ndf", "8", "--dataset_mode", "kaist_aligned",
              "--input_nc", "3", "--output_nc", "1", "--gpu_ids", "-1", "--num_threads", "0"]

pytestmark = pytest.mark.skipif(not (ROADSCENE / "cropinfrared").is_dir(),
                                reason=f"RoadScene is not at {ROADSCENE} (evaluation data outside the project; "
                                       f"set MRFF_ROADSCENE to its folder)")


def test_roadscene_is_read_as_published():
    selection = list_pairs(ROADSCENE, "train")
    assert len(selection.pairs) == 168 and selection.pairs[0].pair_id == "FLIR_00006"
    assert selection.summary.startswith("folders layout (found by --pairs_layout auto): RoadScene-style folders")
    assert not any(p.visible.endswith("Thumbs.db") for p in selection.pairs)
    train, test = split_by_frame_number([p.pair_id for p in selection.pairs], 34, gap=100)
    assert (len(train), len(test), test[0], test[-1]) == (130, 34, "FLIR_07125", "FLIR_08284")


@pytest.mark.end_to_end(reason=HOST_SCRIPTS)
@pytest.mark.slow
def test_one_epoch_on_crops_then_whole_images_at_their_own_size(tmp_path):
    selection = list_pairs(ROADSCENE, "train")
    train_ids, test_ids = split_by_frame_number([p.pair_id for p in selection.pairs], 2)
    write_pair_list(tmp_path / "train.txt", train_ids[:4], "4 lowest frame numbers")
    write_pair_list(tmp_path / "test.txt", test_ids + [WIDE], "2 highest frame numbers and the widest crop")
    common = ["--dataroot", ROADSCENE, "--name", "roadscene", "--checkpoints_dir", tmp_path / "ck", *HOST_FLAGS]
    train = run_host("train.py", *common, "--model", "pix2pix", "--kaist_list", tmp_path / "train.txt",
                     "--preprocess", "scale_shortside_and_crop", "--load_size", "64", "--crop_size", "48",
                     "--display_id", "0", "--n_epochs", "1", "--n_epochs_decay", "0", "--print_freq", "1")
    assert train.returncode == 0, train.stderr[-3000:]
    assert "RoadScene-style folders" in train.stdout and "4 pairs from --pairs_list" in train.stdout
    losses = (tmp_path / "ck" / "roadscene" / "loss_log.txt").read_text()
    assert losses.count("(epoch: 1") == 4                      # 4 pairs, batch 1, print_freq 1

    sizes = {stem: Image.open(ROADSCENE / "cropinfrared" / f"{stem}.jpg").size for stem in test_ids + [WIDE]}
    assert sizes[WIDE] == (597, 161)
    # the host's checkpoint, tested by the plugin's model: padded to a multiple of 4, cropped back
    test = run_host("test.py", *common, "--model", "mrff_pix2pix", "--kaist_list", tmp_path / "test.txt",
                    "--preprocess", "pad", "--results_dir", tmp_path / "own", "--eval")
    assert test.returncode == 0, test.stderr[-3000:]
    images = tmp_path / "own" / "roadscene" / "test_latest" / "images"
    for stem, size in sizes.items():
        for label in ("real_A", "fake_B", "real_B"):
            assert Image.open(images / f"{stem}_{label}.png").size == size, (stem, label)
        real = np.asarray(Image.open(images / f"{stem}_real_B.png").convert("L"), dtype=int)
        source = np.asarray(Image.open(ROADSCENE / "cropinfrared" / f"{stem}.jpg").convert("L"), dtype=int)
        assert np.abs(real - source).max() <= 1                 # the whole frame, unscaled (8-bit round trip)
    # the host's own model knows nothing of the padding: its gallery shows the padded frames (documented)
    host = run_host("test.py", *common, "--model", "pix2pix", "--kaist_list", tmp_path / "test.txt",
                    "--preprocess", "pad", "--results_dir", tmp_path / "padded", "--eval")
    assert host.returncode == 0, host.stderr[-3000:]
    assert "--model pix2pix shows them padded" in host.stdout
    padded = tmp_path / "padded" / "roadscene" / "test_latest" / "images" / f"{WIDE}_fake_B.png"
    assert Image.open(padded).size == (600, 164)
