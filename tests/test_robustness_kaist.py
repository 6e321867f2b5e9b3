"""`kaist_aligned --skip_bad_images`: pairs with a truncated or corrupt file are left out and counted."""
import pytest

from test_kaist_aligned import host_dataset_class, make_kaist_tree, make_opt  # noqa: F401 (fixture)
from mrff_plugin.datasets.kaist_layout import KaistLayoutError


def test_skip_bad_images_leaves_out_unreadable_pairs_and_counts_them(host_dataset_class, tmp_path, capsys):
    root = make_kaist_tree(tmp_path / "kaist", {"set00": 1}, frames=4)
    truncated = root / "images/set00/V000/visible/I00001.png"
    truncated.write_bytes(truncated.read_bytes()[:60])
    (root / "images/set00/V000/lwir/I00003.png").write_bytes(b"not a png")
    dataset = host_dataset_class(make_opt(host_dataset_class, root, skip_bad_images=True))
    assert [pair.pair_id for pair in dataset.pairs] == ["set00/V000/I00000", "set00/V000/I00002"]
    out = capsys.readouterr().out
    assert f"--skip_bad_images: left out 2 of 4 pairs with an unreadable file (first: {truncated}:" in out
    assert dataset[1]["pair_id"] == "set00/V000/I00002"
    without = host_dataset_class(make_opt(host_dataset_class, root))
    with pytest.raises(KaistLayoutError, match=rf"{truncated}: cannot be read .* --skip_bad_images"):
        without[1]


def test_skip_bad_images_with_nothing_readable_is_one_sentence(host_dataset_class, tmp_path):
    root = make_kaist_tree(tmp_path / "kaist", {"set00": 1}, frames=1)
    (root / "images/set00/V000/lwir/I00000.png").write_bytes(b"")
    with pytest.raises(KaistLayoutError, match="--skip_bad_images left no pairs: all 1 selected pairs"):
        host_dataset_class(make_opt(host_dataset_class, root, skip_bad_images=True))
