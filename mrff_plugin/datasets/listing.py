"""The listing pieces every pair layout shares: pairs, selections, folder scans, list files, strides.

Pure file-name logic (no torch, no host, no image decoding), so it can be
unit-tested and benchmarked alone. Each layout -- the KAIST tree
(`kaist_layout`), LLVIP, FLIR aligned and flat (`pairs_layout`), two folders
(`folder_pairs`) -- lists its pairs with these pieces; `pairs_layout.list_pairs`
is the entry point.

A pair is a visible and an infrared file with the same relative path, extension
aside (`visible/I01225.jpg` + `lwir/I01225.png` pair up). Its id is that path
without the modality folder and extension: `set00/V000/I01225` in a KAIST tree
(the form of the published KAIST split lists), `I01225` or `sub/I01225` in a
flat folder, `FLIR_00006` in two folders.

A list file of pair ids (`--pairs_list`, alias `--kaist_list`) alone decides
the pairs and their order and reproduces a published split exactly; a stride
(`--frame_stride`, alias `--kaist_stride`) keeps every N-th frame of each video
(neighbouring frames of a drive are near duplicates). Anything that would drop
pairs silently -- a frame without its partner, an id of the list that is not on
disk, an empty selection -- raises `KaistLayoutError` with one sentence naming
the folder or file, how many pairs are affected, and the fix.
"""
import os
from typing import NamedTuple

from ..errors import MrffError
from .images import IMAGE_EXTENSIONS

# The two modality folders of the KAIST and flat layouts, and the default names of the two sides.
MODALITIES = ("visible", "lwir")
# The fix every layout's sentence about frames without a partner names.
UNPAIRED_FIX = "add the missing files, or pass --pairs_list to select complete pairs"


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


def count_pairs(pairs):
    return "1 pair" if len(pairs) == 1 else f"{len(pairs)} pairs"


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


def paired_frames(pairs, unpaired, where, empty, stride):
    """Every `stride`-th of a layout's `pairs` (`keep_every`), once none of its frames lacks a partner (`unpaired`,
    reported for `where`) and there are pairs at all (else `empty`, that layout's sentence for none)."""
    unpaired.raise_if_any(where, UNPAIRED_FIX)
    if not pairs:
        raise KaistLayoutError(empty)
    return keep_every(pairs, stride)


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

def read_pair_list(list_file, flag="--pairs_list"):
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
            f"--pairs_list {list_file}: {missing} of {len(ids)} pairs are not in {where} "
            f"(first: {first_missing}); fix the list or point --dataroot at the tree it was made for.")
    return [found[i] for i in ids]

