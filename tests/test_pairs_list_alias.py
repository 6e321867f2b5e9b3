"""`--pairs_list` / `--frame_stride` and their aliases `--kaist_list` / `--kaist_stride` (`datasets/option_alias.py`).

Either spelling gives the same pairs on any layout; the two spellings with different values in one command
line are refused in one line (argparse's exit status 2); both store into one option, so the options a run
saves have the same key whichever spelling was typed.
"""
import argparse

import pytest

from test_kaist_aligned import host_dataset_class, make_kaist_tree, make_opt, write_pair  # noqa: F401 (a fixture)


def dataset_parser(dataset_class):
    return dataset_class.modify_commandline_options(argparse.ArgumentParser(prog="train.py"), True)


def pair_ids(dataset_class, root, flags):
    """The pair ids the dataset uses for `flags` parsed by its own options hook."""
    parsed = dataset_parser(dataset_class).parse_args([str(flag) for flag in flags])
    return [pair.pair_id for pair in dataset_class(make_opt(dataset_class, root, **vars(parsed))).pairs]


def roadscene_folders(root, stems):
    """RoadScene-style crop_LR_visible/ + cropinfrared/ with the same file names; returns root."""
    for seed, stem in enumerate(stems):
        write_pair(root, stem, seed)
        for modality, folder in (("visible", "crop_LR_visible"), ("lwir", "cropinfrared")):
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / modality / f"{stem}.png").rename(root / folder / f"{stem}.png")
    for modality in ("visible", "lwir"):
        (root / modality).rmdir()
    return root


@pytest.mark.parametrize("neutral,alias", [("--pairs_list", "--kaist_list"), ("--frame_stride", "--kaist_stride")])
def test_both_spellings_give_the_same_kaist_pairs(host_dataset_class, tmp_path, neutral, alias):
    root = make_kaist_tree(tmp_path / "kaist", {"set00": 2}, frames=4)
    listing = tmp_path / "split.txt"
    listing.write_text("# three pairs, not in folder order\nset00/V001/I00003\nset00/V000/I00001\nset00/V001/I00000\n")
    value, expected = ((listing, ["set00/V001/I00003", "set00/V000/I00001", "set00/V001/I00000"])
                       if neutral == "--pairs_list" else
                       (2, ["set00/V000/I00000", "set00/V000/I00002", "set00/V001/I00000", "set00/V001/I00002"]))
    assert pair_ids(host_dataset_class, root, [neutral, value]) == expected
    assert pair_ids(host_dataset_class, root, [alias, value]) == expected
    assert len(pair_ids(host_dataset_class, root, [])) == 8          # neither: all pairs, so the flag did act


def test_pairs_list_selects_two_folder_pairs_as_kaist_list_does(host_dataset_class, tmp_path):
    root = roadscene_folders(tmp_path / "RoadScene", ["FLIR_00006", "FLIR_00018", "FLIR_00031"])
    listing = tmp_path / "test.txt"
    listing.write_text("FLIR_00031\ncropinfrared/FLIR_00006.jpg\n")
    for flag in ("--pairs_list", "--kaist_list"):
        assert pair_ids(host_dataset_class, root, [flag, listing]) == ["FLIR_00031", "FLIR_00006"]


@pytest.mark.parametrize("flags,named", [
    (["--pairs_list", "a.txt", "--kaist_list", "b.txt"], "--pairs_list a.txt and --kaist_list b.txt"),
    (["--kaist_stride", "10", "--frame_stride", "20"], "--kaist_stride 10 and --frame_stride 20"),
])
def test_both_spellings_with_different_values_are_refused_in_one_line(host_dataset_class, capsys, flags, named):
    with pytest.raises(SystemExit) as exit_:
        dataset_parser(host_dataset_class).parse_args(flags)
    assert exit_.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert named in last and "two spellings of one flag" in last and "give it once" in last


def test_agreeing_spellings_and_a_repeated_spelling_are_accepted(host_dataset_class):
    parser = dataset_parser(host_dataset_class)
    assert parser.parse_args(["--frame_stride", "3", "--kaist_stride", "3"]).kaist_stride == 3
    # one spelling twice: the last value wins, as for every flag (a preset's value overridden after it)
    assert parser.parse_args(["--kaist_stride", "3", "--kaist_stride", "5"]).kaist_stride == 5
    # a fresh command line on the same parser is judged alone
    assert parser.parse_args(["--pairs_list", "b.txt"]).kaist_list == "b.txt"


def test_one_option_key_whichever_spelling_and_help_names_the_alias(host_dataset_class):
    parser = dataset_parser(host_dataset_class)
    saved = [vars(parser.parse_args(flags)) for flags in (["--pairs_list", "x.txt", "--frame_stride", "4"],
                                                          ["--kaist_list", "x.txt", "--kaist_stride", "4"])]
    assert saved[0] == saved[1]                       # what train_opt.txt records is the same for both spellings
    assert (saved[0]["kaist_list"], saved[0]["kaist_stride"]) == ("x.txt", 4)
    assert "pairs_list" not in saved[0] and "frame_stride" not in saved[0]
    text = " ".join(parser.format_help().split())
    assert "--pairs_list FILE, --kaist_list FILE" in text and "--kaist_list is an alias" in text
    assert "--frame_stride N, --kaist_stride N" in text and "--kaist_stride is an alias" in text
