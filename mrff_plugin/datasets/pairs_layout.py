"""Which layout a dataroot has -- KAIST, LLVIP, FLIR aligned or flat -- and the pairs a run uses from it.

`list_pairs` is the one entry point (`kaist_aligned` calls it). Like the
listing pieces every layout shares (`listing`), it is torch-free file-name
logic. The layouts, as published:

* **kaist** -- `<root>/images/setNN/V00M/{visible,lwir}/I0XXXX.jpg` (`kaist_layout`).
* **llvip** -- LLVIP (Jia et al., ICCV-W 2021; the dataset's README: 15,488 pairs,
  12,025 train and 3,463 test, "the same pair of visible and infrared images ...
  have the same name"): `<root>/visible/{train,test}/NNNNNN.jpg` with
  `<root>/infrared/{train,test}/NNNNNN.jpg` (and `Annotations/`, not read).
  `--phase train|test` picks the sub-folder; a pair's id is its file stem.
* **flir** -- the aligned FLIR ADAS release ("FLIR_aligned", Zhang et al., ICIP
  2020, used by ThermalGen/PID/DiffV2IR/TherA): 5,142 RGB/thermal frames, both
  modalities in one folder, `<root>/JPEGImages/FLIR_NNNNN_RGB.jpg` beside
  `<root>/JPEGImages/FLIR_NNNNN_PreviewData.jpeg`, VOC boxes in
  `<root>/Annotations/FLIR_NNNNN_PreviewData.xml` (not read) and the split lists
  `<root>/align_train.txt` (4,129) and `<root>/align_validation.txt` (1,013), one
  annotation stem such as `FLIR_00258_PreviewData` per line. Looked up in public
  code through the project's search tool: ganlumomo/voc2coco `run.sh` and
  `voc2coco.py` (`--ann_ids ../align_train.txt`, `filename[0:10] + '_RGB.jpg'` /
  `'_PreviewData.jpeg'`), and several loaders describing the same tree, some with
  the lists under `ImageSets/Main/` or the tree inside an `align/` folder -- both
  are accepted. Phase `train` reads align_train.txt; `test`, `val` and
  `validation` read align_validation.txt (the release has no separate test list);
  `--pairs_list FILE` replaces the list. A pair's id is the frame id `FLIR_NNNNN`.
* **flat** -- `<root>/<phase>/{visible,lwir}/...` (`list_flat`).
* **folders** -- two folders of images with the same names (`folder_pairs`): RoadScene's
  `crop_LR_visible/` + `cropinfrared/`, MSRS's `vi/` + `ir/` (in `<phase>/` or the root),
  M3FD's `Vis/` + `Ir/`, or any two names given with `--pairs_visible` / `--pairs_infrared`.

`--pairs_layout auto` (the default) detects the layout in that order of checks:
a KAIST `images/`/`setNN` folder, a FLIR `JPEGImages/`, LLVIP's `visible/` or
`infrared/` directly under the root, the flat `<phase>/` folder, then a known
two-folder pair; `--pairs_visible`/`--pairs_infrared` choose the folders layout
outright. The `Selection.summary` line says which layout was found and where.

Errors are `KaistLayoutError` with the KAIST sentences: frames without a
partner (counted, first one named), an empty selection, a list id not on disk.
"""
import os

from .folder_pairs import KNOWN_FOLDERS, find_known_folders, find_named_folders, list_folder_pairs
from .images import IMAGE_EXTENSIONS
from .kaist_layout import is_kaist_tree, list_kaist_tree
from .listing import (MODALITIES, UNPAIRED_FIX, KaistLayoutError, Pair, Selection, Unpaired, count_pairs,
                      images_below, images_in, keep_every, pair_folders, paired_frames, pairs_from_list,
                      read_pair_list)

LAYOUTS = ("auto", "kaist", "llvip", "flir", "flat", "folders")

# LLVIP: <root>/{visible,infrared}/{train,test}/NNNNNN.jpg
LLVIP_MODALITIES = ("visible", "infrared")
LLVIP_PHASES = ("train", "test")

# FLIR aligned: <root>/JPEGImages/FLIR_NNNNN_RGB.jpg + FLIR_NNNNN_PreviewData.jpeg, split lists beside
FLIR_IMAGES = "JPEGImages"
FLIR_SUFFIXES = {"RGB": "_RGB", "thermal": "_PreviewData"}     # modality -> file-stem suffix
FLIR_MODALITIES = tuple(FLIR_SUFFIXES)
FLIR_LISTS = {"train": "align_train.txt", "test": "align_validation.txt",
              "val": "align_validation.txt", "validation": "align_validation.txt"}
FLIR_LIST_FOLDERS = ("", os.path.join("ImageSets", "Main"))     # relative to the FLIR root
FLIR_NESTED = "align"                                           # the tree may sit in <root>/align/


# ---------------------------------------------------------------- detection

def _flir_root(root):
    for base in (root, os.path.join(root, FLIR_NESTED)):
        if os.path.isdir(os.path.join(base, FLIR_IMAGES)):
            return base
    return None


def _is_llvip(root):
    return any(os.path.isdir(os.path.join(root, m)) for m in LLVIP_MODALITIES)


def _is_flat(root, phase):
    return any(os.path.isdir(os.path.join(root, phase, m)) for m in MODALITIES)


EXPECTED = {   # what each layout looks like, for the sentence when --dataroot holds none of them
    "kaist": "images/setNN/V00M/visible|lwir",
    "flir": "JPEGImages/FLIR_NNNNN_RGB.jpg + _PreviewData.jpeg",
    "llvip": "visible/{phase} + infrared/{phase}",
    "flat": "{phase}/visible + {phase}/lwir",
    "folders": " or ".join(" + ".join(pair) for pair in KNOWN_FOLDERS.values()) + " (or name two folders with "
               "--pairs_visible/--pairs_infrared)",
}


def find_layout(dataroot, phase, layout="auto", folders=(None, None)):
    """(layout, base folder) of a dataroot; `layout` other than 'auto' is checked, not guessed.

    For the folders layout `base` is (set name or '', visible dir, infrared dir); `folders` are the names
    of --pairs_visible / --pairs_infrared, which, when given, choose that layout.
    """
    if layout not in LAYOUTS:
        raise KaistLayoutError(f"--pairs_layout {layout!r} is not one of {', '.join(LAYOUTS)}.")
    root = os.path.abspath(os.path.expanduser(str(dataroot)))
    if not os.path.isdir(root):
        raise KaistLayoutError(f"--dataroot {root} does not exist; point it at a KAIST, LLVIP or FLIR aligned "
                               f"folder or at a folder with {phase}/visible and {phase}/lwir.")
    if any(folders):
        if layout not in ("auto", "folders"):
            raise KaistLayoutError(f"--pairs_visible/--pairs_infrared name the folders of a two-folder set, but "
                                   f"--pairs_layout is {layout}; pass --pairs_layout folders or drop them.")
        return "folders", ("",) + find_named_folders(root, phase, folders)
    found = {"kaist": lambda: is_kaist_tree(root),
             "flir": lambda: _flir_root(root),
             "llvip": lambda: root if _is_llvip(root) else None,
             "flat": lambda: os.path.join(root, phase) if _is_flat(root, phase) else None,
             "folders": lambda: find_known_folders(root, phase)}
    for name in (found if layout == "auto" else (layout,)):
        base = found[name]()
        if base:
            return name, base
    if layout != "auto":
        raise KaistLayoutError(
            f"--pairs_layout {layout}: {root} is not laid out that way (expected "
            f"{EXPECTED[layout].format(phase=phase)}); point --dataroot at such a folder or pass "
            f"--pairs_layout auto.")
    looks = "; ".join(f"{name} ({pattern.format(phase=phase)})" for name, pattern in EXPECTED.items())
    raise KaistLayoutError(f"--dataroot {root} holds neither a KAIST tree nor another known layout "
                           f"[{looks}]; point --dataroot at one of those.")


# ---------------------------------------------------------------- LLVIP

def _llvip_dirs(root, phase):
    return [os.path.join(root, m, phase) for m in LLVIP_MODALITIES]


def list_llvip(root, phase, stride=1):
    """Pairs of `<root>/visible/<phase>/` and `<root>/infrared/<phase>/` matched by file stem."""
    vis_dir, ir_dir = _llvip_dirs(root, phase)
    if not (os.path.isdir(vis_dir) or os.path.isdir(ir_dir)):
        on_disk = sorted(p for p in LLVIP_PHASES if any(os.path.isdir(d) for d in _llvip_dirs(root, p)))
        raise KaistLayoutError(f"LLVIP tree {root}: no visible/{phase} or infrared/{phase} folder (phases on "
                               f"disk: {', '.join(on_disk) or 'none'}); pass --phase train or --phase test.")
    unpaired = Unpaired(LLVIP_MODALITIES)
    pairs = pair_folders(vis_dir, ir_dir, images_in(vis_dir), images_in(ir_dir), "", unpaired, LLVIP_MODALITIES)
    pairs = paired_frames(pairs, unpaired, f"LLVIP tree {root}",
                          f"LLVIP tree {root}: visible/{phase} and infrared/{phase} hold no pairs (expected "
                          f"NNNNNN.jpg with the same names in both); add the images or choose the other --phase.",
                          stride)
    return Selection(pairs, f"LLVIP tree {root}: {count_pairs(pairs)} from visible/{phase} + infrared/{phase}, "
                            f"frame stride {stride}", [])


# ---------------------------------------------------------------- FLIR aligned

def flir_frame_id(name):
    """'FLIR_00258_PreviewData', 'FLIR_00258_RGB.jpg', 'FLIR_00258' -> 'FLIR_00258'."""
    stem, ext = os.path.splitext(name.strip())
    stem = stem if ext.lower() in IMAGE_EXTENSIONS or ext.lower() == ".xml" else name.strip()
    for suffix in FLIR_SUFFIXES.values():
        if stem.endswith(suffix):
            return stem[:-len(suffix)]
    return stem


def flir_split_list(base, phase):
    """The release's list file for a phase (align_train.txt / align_validation.txt), wherever it sits."""
    if phase not in FLIR_LISTS:
        raise KaistLayoutError(f"FLIR aligned tree {base}: phase {phase!r} has no split list (train reads "
                               f"align_train.txt, test/val align_validation.txt); pass --phase train or test, "
                               f"or give the pairs with --pairs_list.")
    name = FLIR_LISTS[phase]
    candidates = [os.path.join(base, folder, name) for folder in FLIR_LIST_FOLDERS]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise KaistLayoutError(f"FLIR aligned tree {base}: {name} is missing (looked for {' and '.join(candidates)}); "
                           f"copy the release's list there or give the pairs with --pairs_list FILE.")


def list_flir(base, phase, stride=1, list_file=None):
    """Pairs of FLIR aligned `JPEGImages/` for the phase's split list (or `list_file`), in list order."""
    folder = os.path.join(base, FLIR_IMAGES)
    flag = "--pairs_list" if list_file else "split list"
    list_file = list_file or flir_split_list(base, phase)
    ids = [flir_frame_id(i) for i in read_pair_list(list_file, flag)]
    files = {m: {} for m in FLIR_MODALITIES}          # modality -> {frame id: file name}
    for stem, name in images_in(folder).items():
        for modality, suffix in FLIR_SUFFIXES.items():
            if stem.endswith(suffix):
                files[modality][stem[:-len(suffix)]] = name
    rgb, thermal = files["RGB"], files["thermal"]
    listed = set(ids)
    absent = [i for i in ids if i not in rgb and i not in thermal]
    if absent:
        raise KaistLayoutError(
            f"{list_file}: {len(absent)} of {len(ids)} listed frames have neither image in {folder} (first: "
            f"{absent[0]}, no {absent[0]}_RGB.jpg or {absent[0]}_PreviewData.jpeg); fix the list or point "
            f"--dataroot at the tree it was made for.")
    unpaired = Unpaired(FLIR_MODALITIES)
    unpaired.add("RGB", folder, rgb, (rgb.keys() & listed) - thermal.keys())
    unpaired.add("thermal", folder, thermal, (thermal.keys() & listed) - rgb.keys())
    unpaired.raise_if_any(f"FLIR aligned tree {base} ({os.path.basename(list_file)})", UNPAIRED_FIX)
    pairs = keep_every([Pair(i, os.path.join(folder, rgb[i]), os.path.join(folder, thermal[i])) for i in ids],
                       stride)
    if not pairs:
        raise KaistLayoutError(f"{list_file} selects no frames; put frame ids such as FLIR_00258_PreviewData "
                               f"in it, one per line.")
    return Selection(pairs, f"FLIR aligned tree {base}: {count_pairs(pairs)} from {os.path.basename(list_file)}, "
                            f"frame stride {stride}", [])


# ---------------------------------------------------------------- flat

def list_flat(folder, stride=1):
    """Pairs of `<folder>/visible/...` and `<folder>/lwir/...` matched by relative path."""
    vis_dir, lwir_dir = (os.path.join(folder, modality) for modality in MODALITIES)
    unpaired = Unpaired()
    pairs = pair_folders(vis_dir, lwir_dir, images_below(vis_dir), images_below(lwir_dir), "", unpaired)
    pairs = paired_frames(pairs, unpaired, folder,
                          f"{folder}: visible/ and lwir/ hold no images; put the pairs there (same file names in "
                          f"both) or point --dataroot elsewhere.", stride)
    return Selection(pairs, f"{folder}: {count_pairs(pairs)}, frame stride {stride}", [])


# ---------------------------------------------------------------- the entry point

def _kaist_list_dirs(layout, base, phase):
    """modality_dir(folder, modality) for --pairs_list ids of a KAIST, flat or LLVIP tree."""
    if layout == "kaist":     # set00/V000/I01225 -> <images>/set00/V000/<modality>/I01225.*
        return lambda folder, modality: os.path.join(base, *folder.split("/"), modality)
    if layout == "llvip":     # 010001 -> <root>/<modality>/<phase>/010001.*
        return lambda folder, modality: os.path.join(base, modality, phase, *filter(None, folder.split("/")))
    return lambda folder, modality: os.path.join(base, modality, *filter(None, folder.split("/")))   # flat


def list_pairs(dataroot, phase="train", sets=None, time="day", stride=1, list_file=None, layout="auto",
               folders=(None, None)):
    """The pairs a run on `dataroot` uses, in a fixed order.

    dataroot  -- a KAIST, LLVIP or FLIR aligned tree, or a folder with `<phase>/{visible,lwir}`
    phase     -- 'train' / 'test' pick the paper's default KAIST sets, the LLVIP sub-folder,
                 the FLIR split list, the flat sub-folder
    sets      -- None for the defaults, or a spec such as 'set00,set01' / '0-2' (KAIST tree only)
    time      -- 'day' | 'night' | 'all': which default KAIST sets (ignored when `sets` is given)
    stride    -- keep every `stride`-th frame of each video
    list_file -- text file of pair ids; it alone decides the pairs and their order
    layout    -- 'auto' (detect) or one of 'kaist', 'llvip', 'flir', 'flat', 'folders' (checked)
    folders   -- (visible, infrared) folder names of a two-folder set (--pairs_visible/--pairs_infrared)
    Returns a `Selection` whose summary starts with the layout found; raises
    `KaistLayoutError` rather than returning fewer pairs than asked.
    """
    if not isinstance(stride, int) or stride < 1:
        raise KaistLayoutError(f"--kaist_stride {stride!r} must be a whole number of frames, 1 or more.")
    name, base = find_layout(dataroot, phase, layout, folders)
    how = ("--pairs_visible/--pairs_infrared" if any(folders) else
           "found by --pairs_layout auto" if layout == "auto" else "--pairs_layout")
    if sets is not None and name != "kaist":
        place = base if isinstance(base, str) else os.path.dirname(base[1])
        raise KaistLayoutError(f"--kaist_sets applies to a KAIST tree (images/setNN/...), but {place} is a "
                               f"{name} layout; drop --kaist_sets.")
    if list_file and (sets is not None or stride != 1):
        raise KaistLayoutError(f"--pairs_list {list_file} already fixes the pairs; "
                               f"drop --kaist_sets / --kaist_stride or drop the list.")
    if name == "flir":
        selection = list_flir(base, phase, stride, list_file)
    elif name == "folders":
        label, vis_dir, ir_dir = base
        style = f"{label}-style " if label else ""     # which published set the names are those of
        selection = list_folder_pairs(vis_dir, ir_dir, stride, list_file, f"{style}folders {vis_dir} + {ir_dir}")
    elif list_file:
        modalities = LLVIP_MODALITIES if name == "llvip" else MODALITIES
        where = {"kaist": f"KAIST tree {base}", "llvip": f"LLVIP tree {base}"}.get(name, base)
        pairs = pairs_from_list(_kaist_list_dirs(name, base, phase), read_pair_list(list_file), list_file,
                                where, modalities)
        selection = Selection(pairs, f"{where}: {count_pairs(pairs)} from --pairs_list {list_file}", [])
    elif name == "kaist":
        selection = list_kaist_tree(base, phase, sets, time, stride)
    elif name == "llvip":
        selection = list_llvip(base, phase, stride)
    else:
        selection = list_flat(base, stride)
    return selection._replace(summary=f"{name} layout ({how}): {selection.summary}")
