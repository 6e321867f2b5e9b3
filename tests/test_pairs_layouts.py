"""LLVIP and FLIR-aligned trees, read as published: detection, pairing, the KAIST error sentences,
and one epoch of the unmodified bundled host's train.py / test.py on each.

The miniature trees use the real folder and file names:
LLVIP  `visible/{train,test}/NNNNNN.jpg` + `infrared/{train,test}/NNNNNN.jpg`;
FLIR   `JPEGImages/FLIR_NNNNN_RGB.jpg` + `JPEGImages/FLIR_NNNNN_PreviewData.jpeg`,
       `Annotations/FLIR_NNNNN_PreviewData.xml`, `align_train.txt`, `align_validation.txt`
       (lines such as `FLIR_00002_PreviewData`).
"""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_host
from mrff_plugin.datasets.kaist_layout import KaistLayoutError
from mrff_plugin.datasets.pairs_layout import find_layout, list_pairs
from mrff_plugin.palettes import lookup_table

LLVIP_TRAIN = ("010001", "010002", "010003")
LLVIP_TEST = ("190001", "190002")
FLIR_TRAIN = ("FLIR_00002", "FLIR_00005", "FLIR_00007")
FLIR_VALIDATION = ("FLIR_08865", "FLIR_08866")
SIZE = (40, 32)   # W x H: small, not square, so a transposed read would show


def write_frame(path, seed, grey=False, files=True):
    """A noise picture (any shift shows) as JPEG, thermal frames grey stored as 3 channels; or, with
    files=False, an empty file (listing never opens it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not files:
        path.touch()
        return path
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (SIZE[1], SIZE[0], 1 if grey else 3), dtype=np.uint8)
    Image.fromarray(np.repeat(pixels, 3, -1) if grey else pixels).save(path, quality=95)
    return path


def make_llvip(root, train=LLVIP_TRAIN, test=LLVIP_TEST, files=True):
    for phase, stems in (("train", train), ("test", test)):
        for k, stem in enumerate(stems):
            for modality in ("visible", "infrared"):
                write_frame(Path(root) / modality / phase / f"{stem}.jpg", k, modality == "infrared", files)
    (Path(root) / "Annotations").mkdir(parents=True, exist_ok=True)
    return Path(root)


def make_flir(root, train=FLIR_TRAIN, validation=FLIR_VALIDATION, files=True, lists_in=""):
    root = Path(root)
    for k, frame in enumerate(train + validation):
        for suffix, grey in (("_RGB.jpg", False), ("_PreviewData.jpeg", True)):
            write_frame(root / "JPEGImages" / f"{frame}{suffix}", k, grey, files)
        (root / "Annotations").mkdir(exist_ok=True)
        (root / "Annotations" / f"{frame}_PreviewData.xml").write_text("<annotation/>")
    lists = root / lists_in
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "align_train.txt").write_text("".join(f"{f}_PreviewData\n" for f in train))
    (lists / "align_validation.txt").write_text("".join(f"{f}_PreviewData\n" for f in validation))
    return root


def ids(selection):
    return [pair.pair_id for pair in selection.pairs]


# ------------------------------------------------------------------ LLVIP

def test_llvip_is_detected_and_paired_by_name(tmp_path):
    root = make_llvip(tmp_path / "LLVIP", files=False)
    assert find_layout(root, "train") == ("llvip", str(root))
    train = list_pairs(root, "train")
    assert ids(train) == list(LLVIP_TRAIN)
    assert train.pairs[1].visible == str(root / "visible/train/010002.jpg")
    assert train.pairs[1].lwir == str(root / "infrared/train/010002.jpg")
    assert train.summary == (f"llvip layout (found by --pairs_layout auto): LLVIP tree {root}: 3 pairs from "
                             f"visible/train + infrared/train, frame stride 1")
    assert ids(list_pairs(root, "test")) == list(LLVIP_TEST)
    assert ids(list_pairs(root, "train", stride=2)) == ["010001", "010003"]
    split = tmp_path / "split.txt"
    split.write_text("010003\n010001.jpg\n")
    assert ids(list_pairs(root, "train", list_file=split)) == ["010003", "010001"]


@pytest.mark.parametrize("layout, removed, kept, where", [
    ("llvip", "infrared/train/010002.jpg", "visible/train/010002.jpg", "LLVIP tree {root}: 1 visible frame in "
     "1 folder has no infrared partner"),
    ("flir", "JPEGImages/FLIR_00005_PreviewData.jpeg", "JPEGImages/FLIR_00005_RGB.jpg",
     "FLIR aligned tree {root} (align_train.txt): 1 RGB frame in 1 folder has no thermal partner")])
def test_a_missing_partner_is_named_in_the_kaist_sentence(tmp_path, layout, removed, kept, where):
    root = make_llvip(tmp_path / "LLVIP", files=False) if layout == "llvip" else \
        make_flir(tmp_path / "FLIR_aligned", files=False)
    (root / removed).unlink()
    with pytest.raises(KaistLayoutError) as err:
        list_pairs(root, "train")
    assert str(err.value) == (f"{where.format(root=root)} (first: {root / kept}); add the missing files, or "
                              f"pass --pairs_list to select complete pairs.")
    assert len(list_pairs(root, "test").pairs) == 2           # the test phase is complete and still lists


def test_llvip_empty_selection_and_phase(tmp_path):
    root = make_llvip(tmp_path / "LLVIP", files=False)
    for stem in LLVIP_TEST:
        (root / "visible/test" / f"{stem}.jpg").unlink()
        (root / "infrared/test" / f"{stem}.jpg").unlink()
    with pytest.raises(KaistLayoutError, match="visible/test and infrared/test hold no pairs"):
        list_pairs(root, "test")
    with pytest.raises(KaistLayoutError, match=r"no visible/val or infrared/val folder \(phases on disk: "
                                               r"test, train\); pass --phase train"):
        list_pairs(root, "val")
    with pytest.raises(KaistLayoutError, match="--kaist_sets applies to a KAIST tree .* is a llvip layout"):
        list_pairs(root, "test", sets="0")


# ------------------------------------------------------------------ FLIR aligned

def test_flir_pairs_follow_the_release_lists(tmp_path):
    root = make_flir(tmp_path / "FLIR_aligned", files=False)
    (root / "JPEGImages/FLIR_00010_RGB.jpg").touch()          # on disk but in no list: not used
    assert find_layout(root, "train") == ("flir", str(root))
    train = list_pairs(root, "train")
    assert ids(train) == list(FLIR_TRAIN)
    assert train.pairs[0].visible == str(root / "JPEGImages/FLIR_00002_RGB.jpg")
    assert train.pairs[0].lwir == str(root / "JPEGImages/FLIR_00002_PreviewData.jpeg")
    assert train.summary == (f"flir layout (found by --pairs_layout auto): FLIR aligned tree {root}: 3 pairs "
                             f"from align_train.txt, frame stride 1")
    for phase in ("test", "val", "validation"):
        assert ids(list_pairs(root, phase)) == list(FLIR_VALIDATION)
    # list order is kept; ids with or without suffix/extension
    (root / "align_train.txt").write_text("FLIR_00007\nFLIR_00002_RGB.jpg\n# comment\nFLIR_00005_PreviewData\n")
    assert ids(list_pairs(root, "train")) == ["FLIR_00007", "FLIR_00002", "FLIR_00005"]


@pytest.mark.parametrize("nested, lists_in", [("align", ""), ("", "ImageSets/Main")])
def test_flir_tree_inside_align_or_with_imagesets_lists(tmp_path, nested, lists_in):
    root = make_flir(tmp_path / "FLIR" / nested, files=False, lists_in=lists_in)
    assert ids(list_pairs(tmp_path / "FLIR", "test")) == list(FLIR_VALIDATION)
    assert find_layout(tmp_path / "FLIR", "test") == ("flir", str(root))


def test_flir_missing_frames_and_lists(tmp_path):
    root = make_flir(tmp_path / "FLIR_aligned", files=False)
    (root / "align_validation.txt").write_text("FLIR_08865_PreviewData\nFLIR_09999_PreviewData\n")
    with pytest.raises(KaistLayoutError, match=r"align_validation.txt: 1 of 2 listed frames have neither "
                                               r"image .* \(first: FLIR_09999, no FLIR_09999_RGB.jpg"):
        list_pairs(root, "test")
    (root / "align_validation.txt").write_text("# nothing\n")
    with pytest.raises(KaistLayoutError, match="split list .*align_validation.txt holds no pair ids"):
        list_pairs(root, "test")
    (root / "align_validation.txt").unlink()
    with pytest.raises(KaistLayoutError, match="align_validation.txt is missing .* --pairs_list FILE"):
        list_pairs(root, "test")
    with pytest.raises(KaistLayoutError, match="phase 'holdout' has no split list"):
        list_pairs(root, "holdout")


# ------------------------------------------------------------------ choosing the layout

def test_explicit_layout_is_checked_and_kaist_or_flat_still_found(tmp_path):
    llvip = make_llvip(tmp_path / "LLVIP", files=False)
    with pytest.raises(KaistLayoutError, match=r"--pairs_layout flir: .* is not laid out that way \(expected "
                                               r"JPEGImages/FLIR_NNNNN_RGB.jpg"):
        list_pairs(llvip, "train", layout="flir")
    assert list_pairs(llvip, "train", layout="llvip").summary.startswith("llvip layout (--pairs_layout): ")
    with pytest.raises(KaistLayoutError, match="--pairs_layout 'llvp' is not one of auto, kaist, llvip"):
        list_pairs(llvip, "train", layout="llvp")
    kaist = tmp_path / "kaist" / "images" / "set00" / "V000"
    for modality in ("visible", "lwir"):
        (kaist / modality).mkdir(parents=True)
        (kaist / modality / "I00000.jpg").touch()
    assert list_pairs(tmp_path / "kaist", "train").summary.startswith("kaist layout (found by --pairs_layout auto)")
    flat = tmp_path / "flat" / "train"
    for modality in ("visible", "lwir"):
        (flat / modality).mkdir(parents=True)
        (flat / modality / "a.png").touch()
    assert find_layout(tmp_path / "flat", "train") == ("flat", str(flat))
    (tmp_path / "none").mkdir()
    with pytest.raises(KaistLayoutError, match=r"holds neither a KAIST tree nor another known layout \[kaist"):
        list_pairs(tmp_path / "none", "train")


# ------------------------------------------------------------------ the unmodified host, one epoch each

HOST_FLAGS = ["--model", "pix2pix", "--netG", "resnet_6blocks", "--ngf", "8", "--ndf", "8",
              "--dataset_mode", "kaist_aligned", "--input_nc", "3", "--output_nc", "1",
              "--load_size", "32", "--crop_size", "32", "--gpu_ids", "-1", "--num_threads", "0"]


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["llvip", "flir"])
def test_host_trains_one_epoch_and_tests_on_the_layout_it_finds(tmp_path, layout):
    root = make_llvip(tmp_path / "LLVIP") if layout == "llvip" else make_flir(tmp_path / "FLIR_aligned")
    # the host names results by the visible file's stem: 190001, FLIR_08865_RGB
    test_stems = LLVIP_TEST if layout == "llvip" else [f"{f}_RGB" for f in FLIR_VALIDATION]
    common = ["--dataroot", root, "--name", layout, "--checkpoints_dir", tmp_path / "checkpoints", *HOST_FLAGS]
    train = run_host("train.py", *common, "--display_id", "0", "--n_epochs", "1", "--n_epochs_decay", "0",
                     "--print_freq", "1")
    assert train.returncode == 0, train.stderr[-3000:]
    assert f"kaist_aligned: {layout} layout (found by --pairs_layout auto)" in train.stdout
    assert (tmp_path / "checkpoints" / layout / "latest_net_G.pth").is_file()
    losses = [line for line in (tmp_path / "checkpoints" / layout / "loss_log.txt").read_text().splitlines()
              if line.startswith("(epoch: 1")]
    assert len(losses) == 3                                   # 3 training pairs, batch 1, print_freq 1
    test = run_host("test.py", *common, "--results_dir", tmp_path / "results", "--eval",
                    "--gallery_palette", "inferno")
    assert test.returncode == 0, test.stderr[-3000:]
    images = tmp_path / "results" / layout / "test_latest" / "images"
    table = lookup_table("inferno")
    for stem in test_stems:
        fake = Image.open(images / f"{stem}_fake_B.png")
        assert fake.size == (32, 32)
        real = np.asarray(Image.open(images / f"{stem}_real_B.png"))
        assert real.std() > 10                                                # the real thermal frame
        # --gallery_palette: colour copies beside the grey PNGs, through the palette's table
        for label, grey in (("fake_B", np.asarray(fake)), ("real_B", real)):
            colour = np.asarray(Image.open(images / f"{stem}_{label}_inferno.png"))
            np.testing.assert_array_equal(colour, table[grey[..., 0] if grey.ndim == 3 else grey])
    page = (tmp_path / "results" / layout / "test_latest" / "index.html").read_text()
    assert f"{test_stems[0]}_real_B_inferno.png" in page


@pytest.mark.slow
def test_host_names_an_unreadable_frame_in_one_line(tmp_path):
    root = make_flir(tmp_path / "FLIR_aligned")
    broken = root / "JPEGImages" / "FLIR_00005_PreviewData.jpeg"
    broken.write_bytes(b"\xff\xd8 truncated")
    train = run_host("train.py", "--dataroot", root, "--name", "bad", "--checkpoints_dir", tmp_path / "ck",
                     *HOST_FLAGS, "--display_id", "0", "--n_epochs", "1", "--n_epochs_decay", "0",
                     "--serial_batches")
    assert train.returncode == 2, train.stderr[-3000:]
    last = train.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {broken}: cannot be read as an image")
    assert "1 pair affected (FLIR_00005)" in last and "Traceback" not in train.stderr
