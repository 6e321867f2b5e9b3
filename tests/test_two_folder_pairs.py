"""Two-folder visible/infrared sets (RoadScene, MSRS, M3FD, TNO-style), read as published, and the framing
of real, non-square pairs: short-side crops for training, whole padded images for test.py.

The miniature trees use the published folder names: RoadScene `crop_LR_visible/` + `cropinfrared/`
(with its stray `Thumbs.db`), MSRS `{train,test}/vi` + `ir`, M3FD `Vis/` + `Ir/`.
"""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_host
from mrff_plugin.datasets.folder_pairs import KNOWN_FOLDERS
from mrff_plugin.datasets.frame_split import frame_number, main as split_main, split_by_frame_number
from mrff_plugin.datasets.framing import generator_multiple, pad_to_multiple, shortside_params
from mrff_plugin.datasets.kaist_layout import KaistLayoutError
from mrff_plugin.datasets.pairs_layout import find_layout, list_pairs
from test_kaist_aligned import host_dataset_class, make_opt  # noqa: F401 (a fixture and its options)

# RoadScene-like: every pair its own size, one as wide and flat as FLIR_06974 (597x161)
ROADSCENE = {"FLIR_00006": (60, 40), "FLIR_00018": (47, 39), "FLIR_06974": (60, 16), "FLIR_07125": (36, 44)}


def picture(seed, size):
    """(H, W) uint8 noise for a (W, H) size: any shift, flip or transposition shows."""
    return np.random.default_rng(seed).integers(0, 256, (size[1], size[0]), dtype=np.uint8)


def write_pair(vis_dir, ir_dir, stem, seed, size=(40, 32), vis_ext=".png", ir_ext=".png", grey_visible=False,
               rgb_infrared=False):
    """A visible file whose luma is the picture (RGB with three equal channels, or grey) and an infrared
    file holding the picture (grey, or grey stored as RGB)."""
    grey = picture(seed, size)
    for folder, ext, as_rgb in ((vis_dir, vis_ext, not grey_visible), (ir_dir, ir_ext, rgb_infrared)):
        Path(folder).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.stack([grey] * 3, -1) if as_rgb else grey).save(Path(folder) / f"{stem}{ext}")
    return grey


def make_roadscene(root, frames=ROADSCENE, ext=".png"):
    vis, ir = Path(root) / "crop_LR_visible", Path(root) / "cropinfrared"
    pictures = {stem: write_pair(vis, ir, stem, k, size, ext, ext) for k, (stem, size) in enumerate(frames.items())}
    (vis / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0 not an image")
    return Path(root), pictures


def ids(selection):
    return [pair.pair_id for pair in selection.pairs]


# ------------------------------------------------------------------ listing: the published trees

def test_roadscene_is_found_with_its_thumbs_db_skipped(tmp_path):
    root, _ = make_roadscene(tmp_path / "roadscene")
    layout, (label, vis_dir, ir_dir) = find_layout(root, "train")
    assert (layout, label) == ("folders", "RoadScene")
    assert (vis_dir, ir_dir) == (str(root / "crop_LR_visible"), str(root / "cropinfrared"))
    selection = list_pairs(root, "test")       # RoadScene has no phase folders: any phase reads the root
    assert ids(selection) == sorted(ROADSCENE)
    assert selection.pairs[2].visible == str(root / "crop_LR_visible" / "FLIR_06974.png")
    assert selection.pairs[2].lwir == str(root / "cropinfrared" / "FLIR_06974.png")
    assert selection.summary == (f"folders layout (found by --pairs_layout auto): RoadScene-style folders "
                                 f"{root}/crop_LR_visible + {root}/cropinfrared: 4 pairs, frame stride 1")
    assert ids(list_pairs(root, "train", stride=2)) == ["FLIR_00006", "FLIR_06974"]


def test_msrs_phases_and_m3fd_capitalised_names(tmp_path):
    msrs = tmp_path / "MSRS"
    for phase, stems in (("train", ("00001D", "00002N")), ("test", ("00537D",))):
        for k, stem in enumerate(stems):
            write_pair(msrs / phase / "vi", msrs / phase / "ir", stem, k)
        (msrs / phase / "Segmentation_labels").mkdir()
    assert ids(list_pairs(msrs, "train")) == ["00001D", "00002N"]
    test = list_pairs(msrs, "test")
    assert ids(test) == ["00537D"] and test.pairs[0].lwir == str(msrs / "test" / "ir" / "00537D.png")
    assert "MSRS-style folders" in test.summary
    m3fd = tmp_path / "M3FD_Fusion"
    for k in range(3):
        write_pair(m3fd / "Vis", m3fd / "Ir", f"{k:05d}", k)
    selection = list_pairs(m3fd, "train")
    assert ids(selection) == ["00000", "00001", "00002"]
    assert selection.pairs[0].visible == str(m3fd / "Vis" / "00000.png")
    assert "M3FD-style folders" in selection.summary
    tno = tmp_path / "TNO"                     # TNO copies' upper-case VIS/IR match MSRS's vi/ir
    write_pair(tno / "VIS", tno / "IR", "Kaptein_1123", 0)
    assert list_pairs(tno, "train").pairs[0].lwir == str(tno / "IR" / "Kaptein_1123.png")


def test_named_folders_mixed_extensions_and_flag_errors(tmp_path):
    root = tmp_path / "tno"
    write_pair(root / "visible_8bit", root / "thermal_8bit", "bunker", 0, vis_ext=".bmp", ir_ext=".png")
    write_pair(root / "visible_8bit", root / "thermal_8bit", "lake", 1, vis_ext=".jpg", ir_ext=".tif")
    (root / "thermal_8bit" / "notes.txt").write_text("not an image")
    selection = list_pairs(root, "train", folders=("visible_8bit", "thermal_8bit"))
    assert ids(selection) == ["bunker", "lake"]
    assert [Path(p.visible).name for p in selection.pairs] == ["bunker.bmp", "lake.jpg"]
    assert [Path(p.lwir).name for p in selection.pairs] == ["bunker.png", "lake.tif"]
    assert selection.summary.startswith("folders layout (--pairs_visible/--pairs_infrared): folders ")
    with pytest.raises(KaistLayoutError, match="^--pairs_visible is given without --pairs_infrared; name both"):
        list_pairs(root, "train", folders=("visible_8bit", None))
    with pytest.raises(KaistLayoutError, match=r"^--pairs_infrared lwir: no such folder \(looked for .*/train/lwir "
                                               r"and .*/tno/lwir\); give the folder's name inside --dataroot"):
        list_pairs(root, "train", folders=("visible_8bit", "lwir"))
    with pytest.raises(KaistLayoutError, match="but --pairs_layout is llvip; pass --pairs_layout folders"):
        list_pairs(root, "train", layout="llvip", folders=("visible_8bit", "thermal_8bit"))
    with pytest.raises(KaistLayoutError, match=r"holds neither .* folders \(crop_LR_visible \+ cropinfrared or "
                                               r"vi \+ ir or Vis \+ Ir \(or name two folders"):
        list_pairs(root, "train")               # unknown names and no flags: the sentence lists the known ones
    assert len(KNOWN_FOLDERS) == 3


def test_unpaired_frames_are_counted_and_the_first_named(tmp_path):
    root, _ = make_roadscene(tmp_path / "roadscene")
    (root / "cropinfrared" / "FLIR_00018.png").unlink()
    (root / "cropinfrared" / "FLIR_07125.png").unlink()
    with pytest.raises(KaistLayoutError) as error:
        list_pairs(root, "train")
    assert str(error.value) == (
        f"RoadScene-style folders {root}/crop_LR_visible + {root}/cropinfrared: 2 visible frames in 1 folder have "
        f"no infrared partner (first: {root}/crop_LR_visible/FLIR_00018.png); add the missing files, or pass "
        f"--pairs_list to select complete pairs.")
    empty = tmp_path / "empty"
    (empty / "vi").mkdir(parents=True)
    (empty / "ir").mkdir()
    with pytest.raises(KaistLayoutError, match=r"folders .*/vi \+ .*/ir hold no image pairs"):
        list_pairs(empty, "train")


def test_a_pair_list_selects_and_orders_the_split(tmp_path):
    root, _ = make_roadscene(tmp_path / "roadscene")
    (root / "cropinfrared" / "FLIR_00018.png").unlink()            # unpaired, but not listed
    listed = tmp_path / "test.txt"
    listed.write_text("# the highest frames\nFLIR_07125\ncrop_LR_visible/FLIR_06974.jpg\n")
    selection = list_pairs(root, "test", list_file=listed)
    assert ids(selection) == ["FLIR_07125", "FLIR_06974"]           # list order; extension and folder ignored
    assert selection.pairs[1].lwir == str(root / "cropinfrared" / "FLIR_06974.png")
    listed.write_text("FLIR_07125\nFLIR_00018\nFLIR_99999\n")
    with pytest.raises(KaistLayoutError, match=r"--pairs_list .*test.txt: 2 of 3 pairs are not in RoadScene-style "
                                               r"folders .* \(first: FLIR_00018, no infrared image\); fix the list"):
        list_pairs(root, "test", list_file=listed)


def test_frame_number_split_keeps_a_contiguous_top_block(tmp_path):
    pair_ids = ["FLIR_07125", "FLIR_00006", "FLIR_08284", "FLIR_07119", "FLIR_06974", "FLIR_00018"]
    assert frame_number("FLIR_08284") == 8284 and frame_number("test/00537D") == 537
    assert split_by_frame_number(pair_ids, 2) == (["FLIR_00006", "FLIR_00018", "FLIR_06974", "FLIR_07119"],
                                                  ["FLIR_07125", "FLIR_08284"])
    # gap 10: FLIR_07119 is within 10 frame numbers of the test block's first frame, 7125
    assert split_by_frame_number(pair_ids, 2, gap=10)[0] == ["FLIR_00006", "FLIR_00018", "FLIR_06974"]
    with pytest.raises(KaistLayoutError, match="--test_count 6 must be between 1 and 5 for 6 pairs"):
        split_by_frame_number(pair_ids, 6)
    with pytest.raises(KaistLayoutError, match="pair scene has no frame number"):
        split_by_frame_number(["scene", "FLIR_1"], 1)
    root, _ = make_roadscene(tmp_path / "roadscene")
    assert split_main(["--dataroot", str(root), "--test_count", "1", "--out", str(tmp_path / "lists")]) == 0
    lines = (tmp_path / "lists" / "test.txt").read_text().splitlines()
    assert lines[0].startswith("# 1 pair, frames 7125-7125, of folders layout") and lines[1:] == ["FLIR_07125"]
    assert (tmp_path / "lists" / "train.txt").read_text().splitlines()[1:] == ["FLIR_00006", "FLIR_00018",
                                                                                 "FLIR_06974"]
    assert ids(list_pairs(root, "train", list_file=tmp_path / "lists" / "test.txt")) == ["FLIR_07125"]


# ------------------------------------------------------------------ framing (torch-free pieces)

def test_shortside_framing_keeps_the_aspect_ratio():
    params = shortside_params((597, 161), load_size=64, crop_size=48)
    assert params["size"] == (237, 64)                 # 597 * 64 / 161 = 237.3: not squashed, not 77 tall
    assert 0 <= params["crop_pos"][0] <= 237 - 48 and 0 <= params["crop_pos"][1] <= 64 - 48
    assert shortside_params((394, 380), 64, 64)["size"] == (66, 64)
    assert not shortside_params((40, 30), 30, 30, flip=False)["flip"]


def test_pad_reflects_at_the_bottom_and_right():
    grey = picture(3, (37, 21))
    padded = np.asarray(pad_to_multiple(Image.fromarray(grey), 32))
    assert padded.shape == (32, 64)
    np.testing.assert_array_equal(padded[:21, :37], grey)
    np.testing.assert_array_equal(padded[21, :37], grey[19])          # mirrored about the last row
    np.testing.assert_array_equal(padded[:21, 37], grey[:, 35])
    rgb = Image.fromarray(np.stack([grey] * 3, -1))
    assert pad_to_multiple(rgb, 8).size == (40, 24) and pad_to_multiple(rgb, 8).mode == "RGB"
    assert (generator_multiple("unet_256"), generator_multiple("resnet_9blocks"),
            generator_multiple("unetpp_fusion"), generator_multiple("unet_256", 16)) == (256, 4, 32, 16)


# ------------------------------------------------------------------ the host dataset

def test_items_are_framed_together_at_every_size(host_dataset_class, tmp_path):  # noqa: F811
    """Visible luma == the infrared picture, so A == B only when both got the same scale, crop and flip."""
    root, pictures = make_roadscene(tmp_path / "roadscene")
    train = host_dataset_class(make_opt(host_dataset_class, root, input_nc=1, output_nc=1,
                                        preprocess="scale_shortside_and_crop", load_size=24, crop_size=16))
    for index in range(len(train)):
        item = train[index]
        assert tuple(item["A"].shape) == (1, 16, 16) and item["unpadded_size"].tolist() == [16, 16]
        assert (item["A"] - item["B"]).abs().max() < 1e-6
    test = host_dataset_class(make_opt(host_dataset_class, root, phase="test", isTrain=False, input_nc=3,
                                       output_nc=1, preprocess="pad", netG="unetpp_fusion", no_flip=True))
    for index, (stem, (w, h)) in enumerate(sorted(ROADSCENE.items())):
        item = test[index]
        assert item["pair_id"] == stem and item["unpadded_size"].tolist() == [h, w]
        assert tuple(item["A"].shape) == (3, -(-h // 32) * 32, -(-w // 32) * 32)
        expected = pictures[stem].astype(np.float32) / 127.5 - 1
        np.testing.assert_allclose(item["B"][0, :h, :w].numpy(), expected, atol=1e-6)   # whole, unscaled
        np.testing.assert_allclose(item["A"][1, :h, :w].numpy(), expected, atol=1e-6)


def test_grey_and_rgb_files_either_side(host_dataset_class, tmp_path):  # noqa: F811
    root = tmp_path / "mixed"
    grey = write_pair(root / "vi", root / "ir", "a", 0, grey_visible=True, rgb_infrared=True)
    dataset = host_dataset_class(make_opt(host_dataset_class, root, input_nc=3, output_nc=1, preprocess="pad",
                                          pad_multiple=8, no_flip=True))
    item = dataset[0]
    assert tuple(item["A"].shape) == (3, 32, 40) and tuple(item["B"].shape) == (1, 32, 40)
    assert (item["A"][0] == item["A"][2]).all()                              # grey file -> three equal channels
    np.testing.assert_allclose(item["B"][0].numpy(), grey / 127.5 - 1, atol=1e-6)   # RGB file -> its luma


def test_unreadable_file_and_size_mismatch_are_named(host_dataset_class, tmp_path):  # noqa: F811
    root, _ = make_roadscene(tmp_path / "roadscene")
    broken = root / "cropinfrared" / "FLIR_00018.png"
    broken.write_bytes(b"\x89PNG truncated")
    Image.fromarray(picture(9, (61, 40))).save(root / "cropinfrared" / "FLIR_00006.png")
    dataset = host_dataset_class(make_opt(host_dataset_class, root, preprocess="pad"))
    with pytest.raises(KaistLayoutError) as error:
        dataset[0]
    assert str(error.value) == (f"pair FLIR_00006: {root}/crop_LR_visible/FLIR_00006.png is 60x40 but "
                                f"{root}/cropinfrared/FLIR_00006.png is 61x40; aligned pairs must have the same "
                                f"size (1 pair affected).")
    with pytest.raises(KaistLayoutError, match=rf"^{broken}: cannot be read as an image .*; 1 pair affected "
                                               rf"\(FLIR_00018\): replace the file, or leave the pair out"):
        dataset[1]
    with pytest.raises(KaistLayoutError, match="--load_size 16 is smaller than --crop_size 32"):
        host_dataset_class(make_opt(host_dataset_class, root, preprocess="scale_shortside_and_crop",
                                    load_size=16, crop_size=32))
    with pytest.raises(KaistLayoutError, match="--pad_multiple 24 is not a power of two"):
        host_dataset_class(make_opt(host_dataset_class, root, preprocess="pad", pad_multiple=24))


# ------------------------------------------------------------------ the unmodified host: crops in, whole images out

FUSION_FLAGS = ["--model", "mrff_pix2pix", "--netG", "unetpp_fusion", "--ngf", "8", "--ndf", "8",
                "--input_nc", "3", "--output_nc", "1", "--gpu_ids", "-1", "--num_threads", "0"]


@pytest.mark.slow
def test_host_trains_on_crops_and_tests_whole_images_at_their_own_size(tmp_path):
    root, _ = make_roadscene(tmp_path / "roadscene", ext=".jpg")
    common = ["--dataroot", root, "--name", "rs", "--checkpoints_dir", tmp_path / "ck", *FUSION_FLAGS]
    train = run_host("train.py", *common, "--preprocess", "scale_shortside_and_crop", "--load_size", "40",
                     "--crop_size", "32", "--display_id", "0", "--n_epochs", "1", "--n_epochs_decay", "0")
    assert train.returncode == 0, train.stderr[-3000:]
    assert "kaist_aligned: folders layout (found by --pairs_layout auto): RoadScene-style" in train.stdout
    test = run_host("test.py", *common, "--preprocess", "pad", "--results_dir", tmp_path / "results", "--eval")
    assert test.returncode == 0, test.stderr[-3000:]
    images = tmp_path / "results" / "rs" / "test_latest" / "images"
    for stem, size in ROADSCENE.items():      # 60x16 ran padded to 64x32 and came back 60x16
        for label in ("real_A", "fake_B", "real_B", "attention_1"):
            assert Image.open(images / f"{stem}_{label}.png").size == size, (stem, label)
