"""`kaist_aligned`: KAIST / flat visible-LWIR pairs, the paper's default split, and loud failures.

Part 1 exercises the torch-free listing (`kaist_layout`); part 2 the host dataset
(`KaistAlignedDataset` on the host's `BaseDataset` / transforms).
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mrff_plugin.datasets.images import UnreadableImageError, load_image
from mrff_plugin.datasets.kaist_layout import KaistLayoutError, parse_sets
from mrff_plugin.datasets.listing import shared_file_names
from mrff_plugin.datasets.pairs_layout import list_pairs

HOST = Path(__file__).resolve().parents[1] / "third_party" / "pix2pix_toolkit"


def frame_pixels(seed, size):
    """A reproducible grey picture (H, W) uint8 of `size` (W, H): noise, so any shift or flip shows."""
    return np.random.default_rng(seed).integers(0, 256, (size[1], size[0]), dtype=np.uint8)


def write_pair(folder, stem, seed, size=(48, 40), ext=".png", lwir_ext=None):
    """visible/<stem> as RGB whose luma is the picture, lwir/<stem> as the picture in grey-as-RGB."""
    grey = frame_pixels(seed, size)
    for modality, suffix in (("visible", ext), ("lwir", lwir_ext or ext)):
        path = Path(folder) / modality / f"{stem}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.stack([grey] * 3, -1)).save(path)


def make_kaist_tree(root, videos, frames=4, **kwargs):
    """<root>/images/setNN/V00M/{visible,lwir}/I0000k.png for videos {'set00': 2, ...}; returns root."""
    seed = 0
    for set_dir, count in videos.items():
        for v in range(count):
            for k in range(frames):
                write_pair(Path(root) / "images" / set_dir / f"V{v:03d}", f"I{k:05d}", seed, **kwargs)
                seed += 1
    return Path(root)


def ids(selection):
    return [pair.pair_id for pair in selection.pairs]


# ------------------------------------------------------------------ part 1: listing

@pytest.fixture
def tree(tmp_path):
    """Sets 00, 01, 03 (night train), 06 (day test), 09 (night test), empty files, 2 videos x 3 frames."""
    for set_dir in ("set00", "set01", "set03", "set06", "set09"):
        for video in ("V000", "V001"):
            for modality in ("visible", "lwir"):
                folder = tmp_path / "kaist" / "images" / set_dir / video / modality
                folder.mkdir(parents=True)
                for k in range(3):
                    (folder / f"I{k:05d}.jpg").touch()
    return tmp_path / "kaist"


def test_defaults_reproduce_the_papers_day_split(tree):
    train = list_pairs(tree, "train")
    assert {i.split("/")[0] for i in ids(train)} == {"set00", "set01"}
    assert len(train.pairs) == 2 * 2 * 3
    assert ids(train)[:4] == ["set00/V000/I00000", "set00/V000/I00001", "set00/V000/I00002", "set00/V001/I00000"]
    assert train.pairs[0].visible == str(tree / "images/set00/V000/visible/I00000.jpg")
    assert train.pairs[0].lwir == str(tree / "images/set00/V000/lwir/I00000.jpg")
    # set02 belongs to the default and is absent: said, not silently skipped
    assert any("set02" in note and "not on disk" in note for note in train.notes)
    test = list_pairs(tree, "test")
    assert {i.split("/")[0] for i in ids(test)} == {"set06"}
    assert len(test.notes) == 1 and "set07-set08 for phase 'test'" in test.notes[0]


def test_time_of_day_and_explicit_sets(tree):
    assert {i[:5] for i in ids(list_pairs(tree, "train", time="night"))} == {"set03"}
    assert {i[:5] for i in ids(list_pairs(tree, "test", time="night"))} == {"set09"}
    assert {i[:5] for i in ids(list_pairs(tree, "train", time="all"))} == {"set00", "set01", "set03"}
    assert {i[:5] for i in ids(list_pairs(tree, "train", sets="set06,9"))} == {"set06", "set09"}
    # the images/ folder itself is also accepted as dataroot
    assert ids(list_pairs(tree / "images", "test")) == ids(list_pairs(tree, "test"))


def test_set_specs():
    assert parse_sets("set00,set01") == (0, 1)
    assert parse_sets("0-2") == (0, 1, 2)
    assert parse_sets("set06-set08, set10") == (6, 7, 8, 10)
    for bad in ("x", "3-1", ","):
        with pytest.raises(KaistLayoutError, match="--kaist_sets"):
            parse_sets(bad)


def test_frame_stride_keeps_every_nth_frame_of_each_video(tree):
    kept = ids(list_pairs(tree, "test", stride=2))
    assert kept == ["set06/V000/I00000", "set06/V000/I00002", "set06/V001/I00000", "set06/V001/I00002"]
    with pytest.raises(KaistLayoutError, match="--kaist_stride 0"):
        list_pairs(tree, "test", stride=0)


def test_list_file_decides_pairs_and_order(tree, tmp_path):
    split = tmp_path / "split.txt"
    split.write_text("# a published split\nset09/V001/I00002\nset00\\V000\\I00001\n\n"
                     "set06/V000/lwir/I00000.jpg  # with folder and extension\n")
    chosen = list_pairs(tree, "test", list_file=split)
    assert ids(chosen) == ["set09/V001/I00002", "set00/V000/I00001", "set06/V000/I00000"]
    assert chosen.pairs[1].lwir == str(tree / "images/set00/V000/lwir/I00001.jpg")
    with pytest.raises(KaistLayoutError, match="already fixes the pairs"):
        list_pairs(tree, "test", list_file=split, stride=2)


def test_list_file_with_unknown_ids_names_how_many(tree, tmp_path):
    split = tmp_path / "split.txt"
    split.write_text("set06/V000/I00000\nset06/V000/I00099\nset07/V000/I00001\n")
    with pytest.raises(KaistLayoutError) as err:
        list_pairs(tree, "test", list_file=split)
    message = str(err.value)
    assert f"--pairs_list {split}: 2 of 3 pairs are not in KAIST tree" in message
    assert "first: set06/V000/I00099, no visible and lwir image" in message
    split.write_text("set06/V000/I00000\nset06/V000/I00000\n")
    with pytest.raises(KaistLayoutError, match="line 2 repeats set06/V000/I00000"):
        list_pairs(tree, "test", list_file=split)


def test_missing_lwir_partners_are_counted_not_dropped(tree):
    (tree / "images/set00/V001/lwir/I00002.jpg").unlink()
    (tree / "images/set01/V000/lwir/I00000.jpg").unlink()
    (tree / "images/set01/V000/lwir/I00001.jpg").unlink()
    with pytest.raises(KaistLayoutError) as err:
        list_pairs(tree, "train")
    message = str(err.value)
    assert "3 visible frames in 2 folders have no lwir partner" in message
    assert f"first: {tree / 'images/set00/V001/visible/I00002.jpg'}" in message
    assert "--pairs_list" in message
    # the test split does not touch the broken sets and still lists
    assert len(list_pairs(tree, "test").pairs) == 6


def test_lwir_frames_without_visible_partner_are_reported_too(tree):
    (tree / "images/set06/V000/visible/I00001.jpg").unlink()
    with pytest.raises(KaistLayoutError, match="1 lwir frame in 1 folder has no visible partner"):
        list_pairs(tree, "test")


def test_missing_and_empty_selections(tree, tmp_path):
    with pytest.raises(KaistLayoutError, match=r"set07 of set06-set07 \(--kaist_sets\) is missing"):
        list_pairs(tree, "test", sets="6-7")
    with pytest.raises(KaistLayoutError, match="sets on disk: set00, set01, set03, set06, set09"):
        list_pairs(tree, "train", sets="set04")
    (tree / "images/set05").mkdir()
    with pytest.raises(KaistLayoutError, match="set05 .* holds no visible/lwir pairs"):
        list_pairs(tree, "train", sets="5")
    with pytest.raises(KaistLayoutError, match=f"--dataroot {tmp_path / 'nowhere'} does not exist"):
        list_pairs(tmp_path / "nowhere", "train")
    (tmp_path / "other").mkdir()
    with pytest.raises(KaistLayoutError, match="neither a KAIST tree"):
        list_pairs(tmp_path / "other", "train")
    with pytest.raises(KaistLayoutError, match="phase 'val' has no default KAIST sets"):
        list_pairs(tree, "val")


def test_frame_names_repeated_across_videos_are_found(tree, tmp_path):
    count, example = shared_file_names(list_pairs(tree, "test").pairs)
    assert (count, example) == (6, "I00000 in set06/V000 and set06/V001")
    split = tmp_path / "one_video.txt"
    split.write_text("set06/V000/I00000\nset06/V001/I00001\n")
    assert shared_file_names(list_pairs(tree, "test", list_file=split).pairs) == (0, None)


def test_flat_layout_pairs_by_relative_path(tmp_path):
    for stem in ("a", "b", "sub/c"):
        for modality, ext in (("visible", ".jpg"), ("lwir", ".png")):
            path = tmp_path / "flat" / "train" / modality / f"{stem}{ext}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    selection = list_pairs(tmp_path / "flat", "train")
    assert ids(selection) == ["a", "b", "sub/c"]
    assert selection.pairs[2].lwir == str(tmp_path / "flat/train/lwir/sub/c.png")
    split = tmp_path / "list.txt"
    split.write_text("sub/c\na\n")
    assert ids(list_pairs(tmp_path / "flat", "train", list_file=split)) == ["sub/c", "a"]
    (tmp_path / "flat/train/lwir/b.png").unlink()
    with pytest.raises(KaistLayoutError, match="1 visible frame in 1 folder has no lwir partner"):
        list_pairs(tmp_path / "flat", "train")
    with pytest.raises(KaistLayoutError, match="--kaist_sets applies to a KAIST tree"):
        list_pairs(tmp_path / "flat", "train", sets="0")


def test_image_loading_converts_sixteen_bit_rgba_and_palette(tmp_path):
    grey = frame_pixels(1, (20, 10))
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "ir16.png")
    assert Image.open(tmp_path / "ir16.png").mode.startswith("I")
    np.testing.assert_array_equal(np.asarray(load_image(tmp_path / "ir16.png", "L")), grey)
    rgba = np.dstack([np.stack([grey] * 3, -1), np.full_like(grey, 7)])
    Image.fromarray(rgba).save(tmp_path / "vis.png")
    np.testing.assert_array_equal(np.asarray(load_image(tmp_path / "vis.png", "RGB")), rgba[..., :3])
    np.testing.assert_array_equal(np.asarray(load_image(tmp_path / "vis.png", "L")), grey)
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(UnreadableImageError, match="broken.jpg: cannot be read"):
        load_image(tmp_path / "broken.jpg", "RGB")


# ------------------------------------------------------------------ part 2: the host dataset

@pytest.fixture(scope="module")
def host_dataset_class():
    """KaistAlignedDataset imported with the bundled host on sys.path (its BaseDataset, its transforms)."""
    assert (HOST / "data" / "base_dataset.py").is_file(), f"the bundled host is missing: {HOST}"
    sys.path.insert(0, str(HOST))
    try:
        import torch
        torch.set_num_threads(1)
        from data.base_dataset import BaseDataset
        from mrff_plugin.datasets.kaist_aligned import KaistAlignedDataset
        assert issubclass(KaistAlignedDataset, BaseDataset)
        yield KaistAlignedDataset
    finally:
        sys.path.remove(str(HOST))


def make_opt(dataset_class, dataroot, **overrides):
    """Options as the host builds them: base flags used by datasets + the dataset's own hook."""
    parser = argparse.ArgumentParser()
    parser = dataset_class.modify_commandline_options(parser, True)
    opt = parser.parse_args([])
    defaults = dict(dataroot=str(dataroot), phase="train", isTrain=True, direction="AtoB", input_nc=3,
                    output_nc=1, preprocess="resize_and_crop", load_size=40, crop_size=32, no_flip=False,
                    max_dataset_size=float("inf"), serial_batches=False)
    for key, value in {**defaults, **overrides}.items():
        setattr(opt, key, value)
    return opt


def test_items_are_aligned_tensors_in_range_with_paths(host_dataset_class, tmp_path):
    root = make_kaist_tree(tmp_path / "kaist", {"set00": 1, "set06": 1}, frames=3)
    dataset = host_dataset_class(make_opt(host_dataset_class, root))
    assert len(dataset) == 3
    item = dataset[1]
    assert tuple(item["A"].shape) == (3, 32, 32) and tuple(item["B"].shape) == (1, 32, 32)
    for key in ("A", "B"):
        assert item[key].min() >= -1 and item[key].max() <= 1 and item[key].std() > 0.1
    assert item["A_paths"] == str(root / "images/set00/V000/visible/I00001.png")
    assert item["B_paths"] == str(root / "images/set00/V000/lwir/I00001.png")
    assert item["pair_id"] == "set00/V000/I00001"
    test = host_dataset_class(make_opt(host_dataset_class, root, phase="test", output_nc=3, isTrain=False))
    item = test[0]
    assert tuple(item["B"].shape) == (3, 32, 32)
    assert (item["B"][0] == item["B"][1]).all() and (item["B"][0] == item["B"][2]).all()   # KAIST grey-as-RGB
    assert "set06" in item["B_paths"]


def test_same_crop_and_flip_reach_both_images(host_dataset_class, tmp_path):
    """Visible luma equals the LWIR picture, so A (grey) == B only if both got the same crop and flip."""
    root = tmp_path / "flat"
    for k in range(2):
        write_pair(root / "train", f"f{k}", seed=k, size=(60, 44))
    dataset = host_dataset_class(make_opt(host_dataset_class, root, input_nc=1, output_nc=1, load_size=48))
    seen = set()
    for _ in range(12):
        item = dataset[0]
        assert item["A"].shape == item["B"].shape == (1, 32, 32)
        assert (item["A"] == item["B"]).all()
        seen.add(item["A"].numpy().tobytes())
    assert len(seen) > 1                                      # crops/flips really vary between calls


def test_testing_warns_when_result_names_would_collide(host_dataset_class, tmp_path, capsys):
    root = make_kaist_tree(tmp_path / "kaist", {"set06": 2}, frames=2)
    host_dataset_class(make_opt(host_dataset_class, root, phase="test", isTrain=False))
    assert "warning: 4 of 4 selected pairs share their file name" in capsys.readouterr().out
    host_dataset_class(make_opt(host_dataset_class, root, phase="test", isTrain=True))   # training: no names saved
    assert "warning" not in capsys.readouterr().out


def test_testing_refuses_result_names_longer_than_the_file_system_takes(host_dataset_class, tmp_path):
    # test.py saves `<file stem>_<label>.png`; with a 255-byte limit a 244-byte stem fits pix2pix's labels
    # (real_A: 244 + 11 = 255 bytes) but not the fusion generator's attention maps under mrff_pix2pix
    # (attention_1: 260 bytes), which a host generator does not have
    root = tmp_path / "set"
    for folder in ("vis", "ir"):
        (root / folder).mkdir(parents=True)
        for stem in ("a", "y" * 244):
            Image.fromarray(np.full((32, 32), 128, np.uint8)).save(root / folder / f"{stem}.png")
    results = tmp_path / "results"
    options = dict(phase="test", isTrain=False, pairs_visible="vis", pairs_infrared="ir", results_dir=str(results))
    assert len(host_dataset_class(make_opt(host_dataset_class, root, model="pix2pix", **options))) == 2
    with pytest.raises(KaistLayoutError, match=r"^\S+/vis/y{244}\.png: test\.py would save its results as y{244}_attention_1"
                                        r"\.png, 260 bytes, more than the 255 a file name may have in \S+/results; "
                                        r"shorten the file's name \(1 pair affected\)\.$"):
        host_dataset_class(make_opt(host_dataset_class, root, model="mrff_pix2pix", **options))
    with pytest.raises(KaistLayoutError, match=r"^\S+/ir/y{244}\.png: test\.py would save its results as y{244}_attention_1"):
        host_dataset_class(make_opt(host_dataset_class, root, model="mrff_pix2pix", direction="BtoA", input_nc=1,
                                    output_nc=3, **options))
    assert not results.exists()   # refused before anything is written
    host_dataset_class(make_opt(host_dataset_class, root, model="mrff_pix2pix", **{**options, "isTrain": True}))
    assert len(host_dataset_class(make_opt(host_dataset_class, root, model="mrff_pix2pix", netG="unet_256",
                                           **options))) == 2


def test_direction_btoa_gives_lwir_the_input_channels(host_dataset_class, tmp_path):
    root = make_kaist_tree(tmp_path / "kaist", {"set00": 1}, frames=1)
    item = host_dataset_class(make_opt(host_dataset_class, root, direction="BtoA", input_nc=1, output_nc=3))[0]
    # the host model swaps A/B for BtoA; the dataset keeps A = visible, B = LWIR
    assert item["A"].shape[0] == 3 and item["B"].shape[0] == 1
    assert "/visible/" in item["A_paths"] and "/lwir/" in item["B_paths"]


def test_kaist_flags_and_max_dataset_size(host_dataset_class, tmp_path):
    root = make_kaist_tree(tmp_path / "kaist", {"set00": 2, "set03": 1}, frames=4)
    opt = make_opt(host_dataset_class, root, kaist_stride=2, max_dataset_size=3)
    dataset = host_dataset_class(opt)
    assert [p.pair_id for p in dataset.pairs] == ["set00/V000/I00000", "set00/V000/I00002", "set00/V001/I00000"]
    night = host_dataset_class(make_opt(host_dataset_class, root, kaist_time="night"))
    assert len(night) == 4 and all(p.pair_id.startswith("set03/") for p in night.pairs)
    parser = host_dataset_class.modify_commandline_options(argparse.ArgumentParser(), True)
    parsed = parser.parse_args(["--kaist_sets", "set00", "--kaist_list", "l.txt", "--kaist_time", "all"])
    assert (parsed.kaist_sets, parsed.kaist_list, parsed.kaist_time, parsed.kaist_stride) == ("set00", "l.txt",
                                                                                              "all", 1)


def test_unreadable_or_mismatched_files_name_the_pair(host_dataset_class, tmp_path):
    root = make_kaist_tree(tmp_path / "kaist", {"set00": 1}, frames=2)
    broken = root / "images/set00/V000/lwir/I00001.png"
    broken.write_bytes(b"")
    dataset = host_dataset_class(make_opt(host_dataset_class, root))
    affected = r"1 pair affected \(set00/V000/I00001\)"
    with pytest.raises(KaistLayoutError, match=rf"{broken}: cannot be read .* {affected}"):
        dataset[1]
    write_pair(root / "images/set00/V000", "I00001", seed=3, size=(30, 30))
    Image.new("RGB", (31, 30)).save(root / "images/set00/V000/lwir/I00001.png")
    with pytest.raises(KaistLayoutError, match="is 30x30 but .* is 31x30"):
        dataset[1]
    with pytest.raises(KaistLayoutError, match="--output_nc 2"):
        host_dataset_class(make_opt(host_dataset_class, root, output_nc=2))
    with pytest.raises(KaistLayoutError, match="--load_size 20 is smaller than --crop_size 32"):
        host_dataset_class(make_opt(host_dataset_class, root, load_size=20))


def test_layout_errors_are_the_hosts_user_errors(host_dataset_class, tmp_path):
    """The bundled host prints its UserError as one line; the dataset's errors belong to that family."""
    from util.errors import UserError
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=f"--dataroot {tmp_path / 'empty'} holds neither a KAIST tree"):
        host_dataset_class(make_opt(host_dataset_class, tmp_path / "empty"))
