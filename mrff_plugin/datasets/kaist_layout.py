"""Which visible/LWIR frame pairs a KAIST tree holds: the paper's sets, their names, their folders.

Pure file-name logic (no torch, no host, no image decoding), so it can be
unit-tested and benchmarked alone. It lists one layout with the pieces every
layout shares (`listing`); `pairs_layout.py` detects the layout of a dataroot
and is the entry point; `kaist_aligned.py` wraps it as a host dataset.

The KAIST tree is `<dataroot>/images/setNN/V00M/{visible,lwir}/I0XXXX.jpg`
(`<dataroot>` may also be the `images` folder itself). A pair's id is
`set00/V000/I01225`, the form of the published KAIST split lists.

Selection: phase and time of day pick the paper's sets (table below, KAIST
facts in docs/architecture.md), or `sets` names them; `stride` keeps every N-th
frame of each video (KAIST is 20 fps, neighbours are near duplicates); a list
file of pair ids (`listing.read_pair_list`) replaces all of that. A requested
set that is absent or a selection without pairs raises `KaistLayoutError` with
one sentence naming the folder and the fix, like every layout's problems.

Speed: one `os.scandir` per video folder and modality and set arithmetic on the
names; a full KAIST tree (about 95,000 pairs) lists in well under a second
(`benchmarks/kaist_listing.py`).
"""
import os

from .listing import MODALITIES, KaistLayoutError, Selection, Unpaired, count_pairs, images_in, pair_folders, \
    paired_frames

# KAIST multispectral pedestrian benchmark: which sets belong to which split and
# time of day (docs/architecture.md, "The host contract").
KAIST_SETS = {
    ("train", "day"): (0, 1, 2),
    ("train", "night"): (3, 4, 5),
    ("test", "day"): (6, 7, 8),
    ("test", "night"): (9, 10, 11),
}
TIMES = ("day", "night", "all")


# ---------------------------------------------------------------- set names

def set_name(number):
    """3 -> 'set03'."""
    return f"set{number:02d}"


def _set_number(token, spec):
    text = token.strip().lower()
    text = text[3:] if text.startswith("set") else text
    if not text.isdigit():
        raise KaistLayoutError(
            f"--kaist_sets {spec!r}: {token.strip()!r} is not a set; use names or numbers such as "
            f"'set00,set01', '0-2' or 'set06-set08'.")
    return int(text)


def parse_sets(spec):
    """'set00,set02' / '0-2' / 'set06-set08,set10' -> sorted tuple of set numbers."""
    numbers = set()
    for part in str(spec).split(","):
        if not part.strip():
            continue
        first, sep, last = part.partition("-")
        lo = _set_number(first, spec)
        hi = _set_number(last, spec) if sep else lo
        if hi < lo:
            raise KaistLayoutError(f"--kaist_sets {spec!r}: range {part.strip()!r} runs backwards; "
                                   f"write it low-high.")
        numbers.update(range(lo, hi + 1))
    if not numbers:
        raise KaistLayoutError(f"--kaist_sets {spec!r} names no set; use e.g. 'set00,set01' or '0-2'.")
    return tuple(sorted(numbers))


def default_sets(phase, time="day"):
    """The paper's sets for a phase: train -> 00-02, test -> 06-08 (day); night and all likewise."""
    if time not in TIMES:
        raise KaistLayoutError(f"--kaist_time {time!r} is not one of {', '.join(TIMES)}.")
    if phase not in ("train", "test"):
        raise KaistLayoutError(
            f"phase {phase!r} has no default KAIST sets (only train and test do); "
            f"name the sets with --kaist_sets, e.g. --kaist_sets set06.")
    times = ("day", "night") if time == "all" else (time,)
    return tuple(n for t in times for n in KAIST_SETS[(phase, t)])


def describe_sets(numbers):
    """(0, 1, 2, 6) -> 'set00-set02, set06'."""
    runs, start = [], None
    for i, n in enumerate(numbers):
        start = n if start is None else start
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            runs.append(set_name(start) if start == n else f"{set_name(start)}-{set_name(n)}")
            start = None
    return ", ".join(runs)


# ---------------------------------------------------------------- the tree

def _subfolders(folder):
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if e.is_dir())


def is_kaist_tree(root):
    """The KAIST images folder of `root` (`root/images` or `root` itself holding setNN/), else None."""
    images = os.path.join(root, "images")
    if os.path.isdir(images):
        return images
    if any(name[:3].lower() == "set" and name[3:].isdigit() for name in _subfolders(root)):
        return root
    return None


def list_kaist_tree(images, phase, sets=None, time="day", stride=1):
    """Pairs of a KAIST tree for the chosen sets, every `stride`-th frame of each video."""
    explicit = sets is not None
    numbers = parse_sets(sets) if explicit else default_sets(phase, time)
    chosen = f"{describe_sets(numbers)} ({'--kaist_sets' if explicit else f'phase {phase!r}, {time}'})"
    present = [n for n in numbers if os.path.isdir(os.path.join(images, set_name(n)))]
    absent = [n for n in numbers if n not in present]
    on_disk = [name for name in _subfolders(images) if name[:3].lower() == "set" and name[3:].isdigit()]
    if absent and (explicit or not present):
        raise KaistLayoutError(
            f"KAIST tree {images}: {describe_sets(absent)} of {chosen} "
            f"{'is' if len(absent) == 1 else 'are'} missing (sets on disk: {', '.join(on_disk) or 'none'}); "
            f"add them or choose others with --kaist_sets / --kaist_time.")
    notes = [f"KAIST tree {images}: using {describe_sets(present)}; default set(s) "
             f"{describe_sets(absent)} for phase {phase!r} ({time}) are not on disk."] if absent else []

    pairs, unpaired = [], Unpaired()
    for number in present:
        set_dir = os.path.join(images, set_name(number))
        for video in _subfolders(set_dir):
            folder = os.path.join(set_dir, video)
            vis_dir, lwir_dir = (os.path.join(folder, modality) for modality in MODALITIES)
            pairs += pair_folders(vis_dir, lwir_dir, images_in(vis_dir), images_in(lwir_dir),
                                  f"{set_name(number)}/{video}/", unpaired)
    pairs = paired_frames(pairs, unpaired, f"KAIST tree {images}",
                          f"KAIST tree {images}: {chosen} holds no visible/lwir pairs (expected "
                          f"setNN/V00M/visible/*.jpg with the same names under lwir/); choose other sets with "
                          f"--kaist_sets / --kaist_time.", stride)
    summary = f"KAIST tree {images}: {count_pairs(pairs)} from {chosen}, frame stride {stride}"
    return Selection(pairs, summary, notes)

