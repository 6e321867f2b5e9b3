"""A train/test split by frame number, written as two `--pairs_list` files.

Sets cut from video (RoadScene's `FLIR_NNNNN` frames, MSRS's `NNNNND`) hold
neighbouring frames that look alike, so a random split leaks the test set into
training. This one sorts the pairs by the frame number in their id (the last
run of digits), puts a contiguous block of the highest numbers in the test
list and the rest, lowest first, in the train list; `gap` frame numbers just
below the test block are left out of both, so no training frame sits right
next to a test frame. Torch-free.

    python -m mrff_plugin.datasets.frame_split --dataroot /data/RoadScene --test_count 34 --out lists
    # -> lists/train.txt (the 134 lowest frame numbers), lists/test.txt (the 34 highest)

then `train.py ... --dataset_mode kaist_aligned --pairs_list lists/train.txt` and
`test.py ... --pairs_list lists/test.txt --preprocess pad`.
"""
import argparse
import os
import re
import sys

from ..durable import atomic_write_text
from .listing import KaistLayoutError, count_pairs
from .pairs_layout import list_pairs

LIST_NAMES = ("train.txt", "test.txt")


def frame_number(pair_id):
    """'FLIR_00258' -> 258, 'train/00537D' -> 537: the last run of digits in the id's last part."""
    digits = re.findall(r"\d+", pair_id.rpartition("/")[2])
    if not digits:
        raise KaistLayoutError(f"pair {pair_id} has no frame number in its name; split such a set with "
                               f"hand-written --pairs_list files instead.")
    return int(digits[-1])


def split_by_frame_number(pair_ids, test_count, gap=0):
    """(train ids, test ids): the `test_count` highest frame numbers, the rest below them less `gap` numbers.

    Both lists are in frame-number order. KaistLayoutError when the counts leave either list empty.
    """
    ordered = sorted(pair_ids, key=lambda i: (frame_number(i), i))
    if not 0 < test_count < len(ordered):
        raise KaistLayoutError(f"--test_count {test_count} must be between 1 and {len(ordered) - 1} "
                               f"for {len(ordered)} pairs.")
    test = ordered[len(ordered) - test_count:]
    first_test = frame_number(test[0])
    train = [i for i in ordered[:len(ordered) - test_count] if frame_number(i) < first_test - gap]
    if not train:
        raise KaistLayoutError(f"--gap {gap} leaves no training pairs below frame {first_test}; "
                               f"pass a smaller --gap or --test_count.")
    return train, test


def write_pair_list(path, pair_ids, comment):
    """A `--pairs_list` file: a `# comment` line, then one pair id per line."""
    atomic_write_text(path, f"# {comment}\n" + "".join(f"{i}\n" for i in pair_ids))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mrff_plugin.datasets.frame_split",
                                     description="Write train.txt / test.txt pair lists split by frame number.")
    parser.add_argument("--dataroot", required=True, help="the set (any --pairs_layout the dataset reads)")
    parser.add_argument("--test_count", type=int, required=True, help="pairs in the test block (highest numbers)")
    parser.add_argument("--gap", type=int, default=0, help="frame numbers below the test block left out of both")
    parser.add_argument("--out", default=".", help="folder for train.txt and test.txt")
    parser.add_argument("--phase", default="train", help="phase whose pairs are split (MSRS: train or test)")
    parser.add_argument("--pairs_visible", default=None, help="visible folder name of a two-folder set")
    parser.add_argument("--pairs_infrared", default=None, help="infrared folder name of a two-folder set")
    args = parser.parse_args(argv)
    try:
        selection = list_pairs(args.dataroot, args.phase, folders=(args.pairs_visible, args.pairs_infrared))
        train, test = split_by_frame_number([p.pair_id for p in selection.pairs], args.test_count, args.gap)
    except KaistLayoutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, ids in zip(LIST_NAMES, (train, test)):
        span = f"frames {frame_number(ids[0])}-{frame_number(ids[-1])}"
        write_pair_list(os.path.join(args.out, name), ids, f"{count_pairs(ids)}, {span}, of {selection.summary}")
        print(f"{os.path.join(args.out, name)}: {count_pairs(ids)}, {span}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
