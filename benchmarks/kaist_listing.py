"""How long `kaist_aligned` takes to list and pair a full KAIST tree and a full LLVIP tree.

Builds, in a temporary folder, a tree with KAIST's shape -- 12 sets, 41 videos,
95,328 frame names per modality (zero-byte files: listing never opens them) --
or uses a real tree given with `--dataroot`, then times `list_pairs` for the
paper's train and test selections and for all twelve sets. Then the same for a
tree with LLVIP's shape, `{visible,infrared}/{train,test}/NNNNNN.jpg`, 12,025 +
3,463 = 15,488 pairs (or a real one given with `--llvip`), train and test
phase, the layout detected by itself. Writes `benchmarks/out/kaist_listing.json`
and prints the figures.

    python -m benchmarks.kaist_listing [--dataroot /data/kaist] [--llvip /data/LLVIP] [--repeats 3]

The times are with the file-system cache warm (the tree was just written or is
read a second time); a cold first listing of a tree on a slow disk costs more.
"""
import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

from benchmarks.common import OUT as OUT_DIR
from benchmarks.common import machine, write_json
from mrff_plugin.datasets.kaist_layout import MODALITIES
from mrff_plugin.datasets.pairs_layout import list_pairs

# KAIST multispectral pedestrian benchmark: videos per set (set00 .. set11), 95,328 pairs in all.
KAIST_VIDEOS_PER_SET = (9, 6, 5, 2, 2, 1, 5, 3, 3, 1, 2, 2)
KAIST_PAIRS = 95_328
# LLVIP (its README): 15,488 pairs, 12,025 train and 3,463 test; file names NNNNNN.jpg.
LLVIP_PAIRS = {"train": 12_025, "test": 3_463}
OUT = OUT_DIR / "kaist_listing.json"

SELECTIONS = {                                  # name -> list_pairs keyword arguments
    "train_day (paper default)": dict(phase="train"),
    "test_day (paper default)": dict(phase="test"),
    "all 12 sets": dict(phase="train", sets="set00-set11"),
}
LLVIP_SELECTIONS = {"llvip train": dict(phase="train"), "llvip test": dict(phase="test")}


def _touch(path):
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def build_fake_tree(root):
    """Zero-byte I0XXXXX.jpg files in <root>/images/setNN/V00M/{visible,lwir}/ with KAIST's counts."""
    videos = [(s, v) for s, count in enumerate(KAIST_VIDEOS_PER_SET) for v in range(count)]
    per_video, extra = divmod(KAIST_PAIRS, len(videos))
    for index, (s, v) in enumerate(videos):
        frames = per_video + (1 if index < extra else 0)
        for modality in MODALITIES:
            folder = os.path.join(root, "images", f"set{s:02d}", f"V{v:03d}", modality)
            os.makedirs(folder)
            for k in range(frames):
                _touch(os.path.join(folder, f"I{k:05d}.jpg"))
    return root


def build_fake_llvip(root):
    """Zero-byte NNNNNN.jpg files in <root>/{visible,infrared}/{train,test}/ with LLVIP's counts."""
    first = {"train": 10_001, "test": 190_001}          # LLVIP numbers its frames per scene from these
    for phase, count in LLVIP_PAIRS.items():
        for modality in ("visible", "infrared"):
            folder = os.path.join(root, modality, phase)
            os.makedirs(folder)
            for k in range(count):
                _touch(os.path.join(folder, f"{first[phase] + k:06d}.jpg"))
    return root


def time_selection(dataroot, repeats, **kwargs):
    """Seconds per listing (each repeat) and the number of pairs found."""
    seconds, count = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        count = len(list_pairs(dataroot, **kwargs).pairs)
        seconds.append(time.perf_counter() - start)
    return seconds, count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataroot", default=None, help="time this KAIST tree instead of a generated one")
    parser.add_argument("--llvip", default=None, help="time this LLVIP tree instead of a generated one")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)

    results, sources = {}, {}
    for label, given, build, selections in (("kaist", args.dataroot, build_fake_tree, SELECTIONS),
                                            ("llvip", args.llvip, build_fake_llvip, LLVIP_SELECTIONS)):
        with tempfile.TemporaryDirectory(prefix=f"{label}_listing_") as scratch:
            if given:
                dataroot, sources[label] = given, f"tree at {given}"
            else:
                start = time.perf_counter()
                dataroot = build(scratch)
                sources[label] = f"generated tree of zero-byte files ({time.perf_counter() - start:.1f} s to write)"
            for name, kwargs in selections.items():
                seconds, count = time_selection(dataroot, args.repeats, **kwargs)
                results[name] = {"pairs": count, "seconds": seconds, "best_s": min(seconds),
                                 "median_s": statistics.median(seconds)}
                print(f"{name:28s} {count:7d} pairs  best {min(seconds):.3f} s  "
                      f"median {statistics.median(seconds):.3f} s  ({args.repeats} runs)")
        print(f"{label}: {sources[label]}")

    report = {"benchmark": "kaist_listing", "source": sources, "repeats": args.repeats,
              "python": platform.python_version(), "machine": machine(), "selections": results}
    write_json(args.out, report, indent=2)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
