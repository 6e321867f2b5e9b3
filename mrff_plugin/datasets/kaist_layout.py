"""Which visible/LWIR frame pairs a KAIST folder holds, and the listing pieces every layout shares.

Pure file-name logic (no torch, no host, no image decoding), so it can be
unit-tested and benchmarked alone. `pairs_layout.py` detects the layout of a
dataroot (KAIST, LLVIP, FLIR aligned, flat) and is the entry point;
`kaist_aligned.py` wraps it as a host dataset.

Two layouts are read here:

* the KAIST tree, `<dataroot>/images/setNN/V00M/{visible,lwir}/I0XXXX.jpg`
  (`<dataroot>` may also be the `images` folder itself);
* a flat pair of folders, `<dataroot>/<phase>/{visible,lwir}/...` (any depth).

A pair is a visible and an LWIR file with the same relative path, extension
aside (`visible/I01225.jpg` + `lwir/I01225.png` pair up). Its id is that path
without the modality folder and extension: `set00/V000/I01225` in the KAIST tree
(the form of the published KAIST split lists), `I01225` or `sub/I01225` in a
flat folder.

Selection (KAIST tree): phase and time of day pick the paper's sets (table below,
KAIST facts in docs/architecture.md), or `sets` names them; `stride` keeps every
N-th frame of each video (KAIST is 20 fps, neighbours are near duplicates); a
list file of pair ids replaces all of that and reproduces a published split
exactly. Anything that would drop pairs silently -- a frame without its partner,
a requested set that is absent, an id of the list that is not on disk, an empty
selection -- raises `KaistLayoutError` with one sentence naming the folder or
file, how many pairs are affected, and the fix. The other layouts raise the same
error with the same sentences.

Speed: one `os.scandir` per video folder and modality and set arithmetic on the
names; a full KAIST tree (about 95,000 pairs) lists in well under a second
(`benchmarks/kaist_listing.py`).
"""
import os
from typing import NamedTuple

from ..errors import MrffError
from .images import IMAGE_EXTENSIONS

# KAIST multispectral pedestrian benchmark: which sets belong to which split and
# time of day (docs/architecture.md, "The host contract").
KAIST_SETS = {
    ("train", "day"): (0, 1, 2),
    ("train", "night"): (3, 4, 5),
    ("test", "day"): (6, 7, 8),
    ("test", "night"): (9, 10, 11),
}
TIMES = ("day", "night", "all")
MODALITIES = ("visible", "lwir")


class KaistLayoutError(MrffError, ValueError):
    """A dataroot, list file or selection that cannot give the pairs asked for (any layout).

    The message is one sentence naming the folder/file and the fix, fit to be
    printed on its own line by a script.
    """


class Pair(NamedTuple):
    """One aligned frame pair: its id and the two image paths."""
    pair_id: str   # e.g. "set00/V000/I01225"
    visible: str   # path of the visible (RGB) image
    lwir: str      # path of the LWIR (thermal) image


class Selection(NamedTuple):
    """The pairs a run uses, in order, and how they were chosen."""
    pairs: list      # list[Pair]
    summary: str     # one line: where from and which selection
    notes: list      # lines worth showing the user (e.g. default sets that are absent)


# ---------------------------------------------------------------- set names

def count_pairs(pairs):
    return "1 pair" if len(pairs) == 1 else f"{len(pairs)} pairs"


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


# ---------------------------------------------------------------- folder scans

def images_in(folder):
    """{stem: file name} of the image files directly in `folder` ({} when it does not exist)."""
    found = {}
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return found
    with entries:
        for entry in entries:
            stem, ext = os.path.splitext(entry.name)
            if ext.lower() in IMAGE_EXTENSIONS and entry.is_file():
                if stem in found:
                    raise KaistLayoutError(
                        f"{folder} holds both {found[stem]} and {entry.name}; keep one file per frame so "
                        f"pairs are unambiguous.")
                found[stem] = entry.name
    return found


def images_below(folder):
    """{relative stem: relative file name} of all image files under `folder`, any depth."""
    found = {}
    for parent, dirs, files in os.walk(folder):
        dirs.sort()
        rel_parent = os.path.relpath(parent, folder)
        prefix = "" if rel_parent == "." else rel_parent.replace(os.sep, "/") + "/"
        for stem, name in images_in(parent).items():
            found[prefix + stem] = prefix + name
    return found


def _subfolders(folder):
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if e.is_dir())


class Unpaired:
    """Tally of frames whose partner is missing, for one error sentence.

    `modalities` names the two sides as the layout calls them (KAIST: visible /
    lwir; LLVIP: visible / infrared; FLIR: RGB / thermal).
    """

    def __init__(self, modalities=MODALITIES):
        self.modalities = tuple(modalities)
        self.count = {m: 0 for m in self.modalities}
        self.first = {m: None for m in self.modalities}
        self.folders = {m: set() for m in self.modalities}

    def add(self, modality, directory, files, stems):
        """Record `stems` (keys of `files`, {stem: file name in `directory`}) as partnerless."""
        if stems:
            self.count[modality] += len(stems)
            self.folders[modality].add(directory)
            if self.first[modality] is None:
                self.first[modality] = os.path.join(directory, files[min(stems)])

    def raise_if_any(self, where, fix):
        for modality, other in (self.modalities, self.modalities[::-1]):
            n = self.count[modality]
            if n:
                k = len(self.folders[modality])
                place = f"{k} folders" if k > 1 else "1 folder"
                raise KaistLayoutError(
                    f"{where}: {n} {modality} frame{'s' if n > 1 else ''} in {place} "
                    f"{'have' if n > 1 else 'has'} no {other} partner (first: {self.first[modality]}); {fix}.")


def pair_folders(vis_dir, ir_dir, visible, infrared, prefix, unpaired, modalities=MODALITIES):
    """Pairs of two modality folders ({stem: file name} each) matched by stem; the rest go to `unpaired`."""
    unpaired.add(modalities[0], vis_dir, visible, visible.keys() - infrared.keys())
    unpaired.add(modalities[1], ir_dir, infrared, infrared.keys() - visible.keys())
    return [Pair(prefix + stem, os.path.join(vis_dir, visible[stem]), os.path.join(ir_dir, infrared[stem]))
            for stem in sorted(visible.keys() & infrared.keys())]


def keep_every(pairs, stride):
    """Every `stride`-th pair of each video (consecutive pairs share their folder)."""
    if stride == 1:
        return pairs
    kept, video, position = [], None, 0
    for pair in pairs:
        folder = pair.pair_id.rpartition("/")[0]
        position = 0 if folder != video else position + 1
        video = folder
        if position % stride == 0:
            kept.append(pair)
    return kept


def shared_file_names(pairs):
    """(count, example) of pairs whose visible file name (stem) another selected pair also has.

    KAIST restarts frame numbers in every video (set06/V000/I00000, set06/V001/I00000),
    and a host that names result images by the input's file name alone overwrites
    such pairs' results with each other. `example` is e.g. 'I00000 in set06/V000 and set06/V001'.
    """
    folders = {}
    for pair in pairs:
        stem = os.path.splitext(os.path.basename(pair.visible))[0]
        folders.setdefault(stem, []).append(pair.pair_id.rpartition("/")[0] or ".")
    shared = {stem: where for stem, where in folders.items() if len(where) > 1}
    if not shared:
        return 0, None
    stem = min(shared)
    return sum(len(where) for where in shared.values()), f"{stem} in {shared[stem][0]} and {shared[stem][1]}"


# ---------------------------------------------------------------- list files

def read_pair_list(list_file, flag="--kaist_list"):
    """Pair ids of a list file, one per line, in file order.

    Accepted per line: `set00/V000/I01225`, with or without an extension, with or
    without a `visible/`/`lwir/` component, `\\` as separator; blank lines and `#`
    comments are skipped. A repeated id is an error (it would weigh that pair twice).
    `flag` names where the file came from in the error sentences.
    """
    try:
        with open(list_file, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise KaistLayoutError(f"{flag} {list_file}: cannot read it ({exc.strerror}); "
                               f"give a text file of pair ids such as set00/V000/I01225.") from None
    ids, seen = [], {}
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip().replace("\\", "/")
        if not text:
            continue
        parts = [p for p in text.split("/") if p and p not in MODALITIES]
        stem, ext = os.path.splitext(parts[-1])
        pair_id = "/".join(parts[:-1] + [stem if ext.lower() in IMAGE_EXTENSIONS else parts[-1]])
        if pair_id in seen:
            raise KaistLayoutError(f"{flag} {list_file}: line {number} repeats {pair_id} "
                                   f"(first on line {seen[pair_id]}); list each pair once.")
        seen[pair_id] = number
        ids.append(pair_id)
    if not ids:
        raise KaistLayoutError(f"{flag} {list_file} holds no pair ids; write one per line, "
                               f"e.g. set00/V000/I01225.")
    return ids


def pairs_from_list(modality_dir, ids, list_file, where, modalities=MODALITIES):
    """Pairs for the listed ids, in list order.

    `modality_dir(folder, modality)` is the directory holding that modality's
    frames of the id folder `folder` ('set00/V000' in a KAIST tree); `modalities`
    are the two modality names it is called with.
    """
    by_folder = {}
    for pair_id in ids:
        folder, _, stem = pair_id.rpartition("/")
        by_folder.setdefault(folder, []).append(stem)
    found = {}
    missing, first_missing = 0, None
    for folder, stems in by_folder.items():
        dirs = [modality_dir(folder, m) for m in modalities]
        names = [images_in(d) for d in dirs]
        prefix = folder + "/" if folder else ""
        for stem in stems:
            if all(stem in n for n in names):
                found[prefix + stem] = Pair(prefix + stem, *(os.path.join(d, n[stem]) for d, n in zip(dirs, names)))
            else:
                missing += 1
                if first_missing is None:
                    lacking = " and ".join(m for m, n in zip(modalities, names) if stem not in n)
                    first_missing = f"{prefix + stem}, no {lacking} image"
    if missing:
        raise KaistLayoutError(
            f"--kaist_list {list_file}: {missing} of {len(ids)} pairs are not in {where} "
            f"(first: {first_missing}); fix the list or point --dataroot at the tree it was made for.")
    return [found[i] for i in ids]


def is_kaist_tree(root):
    """The KAIST images folder of `root` (`root/images` or `root` itself holding setNN/), else None."""
    images = os.path.join(root, "images")
    if os.path.isdir(images):
        return images
    if any(name[:3].lower() == "set" and name[3:].isdigit() for name in _subfolders(root)):
        return root
    return None


# ---------------------------------------------------------------- the listing

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
            vis_dir, lwir_dir = os.path.join(folder, "visible"), os.path.join(folder, "lwir")
            pairs += pair_folders(vis_dir, lwir_dir, images_in(vis_dir), images_in(lwir_dir),
                                  f"{set_name(number)}/{video}/", unpaired)
    unpaired.raise_if_any(f"KAIST tree {images}",
                          "add the missing files, or pass --kaist_list to select complete pairs")
    if not pairs:
        raise KaistLayoutError(f"KAIST tree {images}: {chosen} holds no visible/lwir pairs "
                               f"(expected setNN/V00M/visible/*.jpg with the same names under lwir/); "
                               f"choose other sets with --kaist_sets / --kaist_time.")
    pairs = keep_every(pairs, stride)
    summary = f"KAIST tree {images}: {count_pairs(pairs)} from {chosen}, frame stride {stride}"
    return Selection(pairs, summary, notes)


def list_flat(folder, stride=1):
    """Pairs of `<folder>/visible/...` and `<folder>/lwir/...` matched by relative path."""
    vis_dir, lwir_dir = os.path.join(folder, "visible"), os.path.join(folder, "lwir")
    unpaired = Unpaired()
    pairs = pair_folders(vis_dir, lwir_dir, images_below(vis_dir), images_below(lwir_dir), "", unpaired)
    unpaired.raise_if_any(folder, "add the missing files, or pass --kaist_list to select complete pairs")
    if not pairs:
        raise KaistLayoutError(f"{folder}: visible/ and lwir/ hold no images; put the pairs there "
                               f"(same file names in both) or point --dataroot elsewhere.")
    pairs = keep_every(pairs, stride)
    return Selection(pairs, f"{folder}: {count_pairs(pairs)}, frame stride {stride}", [])
