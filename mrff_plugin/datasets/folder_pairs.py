"""Two folders of images with the same names: RoadScene, MSRS, M3FD and TNO-style sets (`--pairs_layout folders`).

Most visible/infrared fusion sets are published as two folders whose files pair
up by name. Torch-free file-name logic, with the pieces every layout shares
(`listing`: `images_in`, `pair_folders`, `Unpaired`, `pairs_from_list`). The trees as
published (looked up in the sets' READMEs and loaders with the project's search
tool):

* **RoadScene** (Xu et al., FusionDN, AAAI 2020; U2Fusion, TPAMI 2020):
  `<root>/crop_LR_visible/FLIR_NNNNN.jpg` (RGB) + `<root>/cropinfrared/FLIR_NNNNN.jpg`
  (8-bit grey), every pair its own size, and a stray `crop_LR_visible/Thumbs.db`.
* **MSRS** (Tang et al., PIAFusion, Information Fusion 2022; the Linfeng-Tang/MSRS
  README): `<root>/{train,test}/vi/NNNNND.png` + `<root>/{train,test}/ir/NNNNND.png`
  (D day, N night), `--phase` picking the sub-folder.
* **M3FD** (Liu et al., TarDAL, CVPR 2022): `<root>/Vis/NNNNN.png` + `<root>/Ir/NNNNN.png`.
* **TNO-style** and any other set: the two folder names given with
  `--pairs_visible NAME --pairs_infrared NAME`.

A folder NAME is looked for in `<root>/<phase>/NAME`, then `<root>/NAME` (an
absolute NAME is taken as it is). `--pairs_layout auto` recognises the
`KNOWN_FOLDERS` pairs below, their names compared case-insensitively (M3FD's
`Vis`/`Ir`, TNO copies' `VIS`/`IR`).

Files pair up by stem, extension aside (`vi/0001.png` + `ir/0001.bmp`); only
files with an image extension directly in the folder are read, so `Thumbs.db`,
`desktop.ini` or a `labels/` sub-folder are skipped. A pair's id is its stem
(`FLIR_00006`), the form of a `--pairs_list` line (a folder before it, as in
`cropinfrared/FLIR_00006.jpg`, is ignored). Errors are the KAIST
sentences (`KaistLayoutError`): frames without a partner counted with the first
one named, an empty folder, a listed id not on disk; an unreadable file and
partners of different sizes are named when the dataset reads them.
"""
import os

from .listing import KaistLayoutError, Selection, Unpaired, count_pairs, images_in, pair_folders, paired_frames, \
    pairs_from_list, read_pair_list

# (visible folder, infrared folder) of the published two-folder sets, in the order auto detection tries them.
KNOWN_FOLDERS = {
    "RoadScene": ("crop_LR_visible", "cropinfrared"),
    "MSRS": ("vi", "ir"),
    "M3FD": ("Vis", "Ir"),
}
SIDES = ("visible", "infrared")          # the two sides, as the error sentences call them
FLAGS = ("--pairs_visible", "--pairs_infrared")


def _subfolders_by_lower_name(folder):
    """{lower-cased name: actual name} of the sub-folders of `folder` ({} when it is no folder)."""
    try:
        with os.scandir(folder) as entries:
            return {e.name.lower(): e.name for e in entries if e.is_dir()}
    except (FileNotFoundError, NotADirectoryError):
        return {}


def _bases(root, phase):
    """Where folder names are looked for: `<root>/<phase>` (MSRS train/test), then `<root>`."""
    return [os.path.join(root, phase), root] if phase else [root]


def find_known_folders(root, phase):
    """(set name, visible dir, infrared dir) of the first KNOWN_FOLDERS pair under root, or None."""
    for base in _bases(root, phase):
        present = _subfolders_by_lower_name(base)
        for name, folders in KNOWN_FOLDERS.items():
            actual = [present.get(f.lower()) for f in folders]
            if all(actual):
                return name, os.path.join(base, actual[0]), os.path.join(base, actual[1])
    return None


def find_named_folders(root, phase, folders):
    """(visible dir, infrared dir) for the names of --pairs_visible / --pairs_infrared.

    Both names must be given; each is looked for in `<root>/<phase>/NAME` then `<root>/NAME`.
    """
    given = [bool(f) for f in folders]
    if not all(given):
        missing, present = (FLAGS[0], FLAGS[1]) if given[1] else (FLAGS[1], FLAGS[0])
        raise KaistLayoutError(f"{present} is given without {missing}; name both folders of the pairs, "
                               f"e.g. --pairs_visible vi --pairs_infrared ir.")
    found = []
    for flag, name in zip(FLAGS, folders):
        candidates = [os.path.join(base, os.path.expanduser(name)) for base in _bases(root, phase)]
        folder = next((c for c in candidates if os.path.isdir(c)), None)
        if folder is None:
            raise KaistLayoutError(f"{flag} {name}: no such folder (looked for {' and '.join(candidates)}); "
                                   f"give the folder's name inside --dataroot {root}.")
        found.append(folder)
    return tuple(found)


def list_folder_pairs(vis_dir, ir_dir, stride=1, list_file=None, where=None):
    """Pairs of two folders matched by file stem, in stem order (or the order of `list_file`'s ids)."""
    where = where or f"folders {vis_dir} + {ir_dir}"
    if list_file:
        dirs = dict(zip(SIDES, (vis_dir, ir_dir)))
        stems = [i.rpartition("/")[2] for i in read_pair_list(list_file)]   # 'cropinfrared/FLIR_00006' too
        pairs = pairs_from_list(lambda folder, side: dirs[side], stems, list_file, where, SIDES)
        return Selection(pairs, f"{where}: {count_pairs(pairs)} from --pairs_list {list_file}", [])
    unpaired = Unpaired(SIDES)
    pairs = pair_folders(vis_dir, ir_dir, images_in(vis_dir), images_in(ir_dir), "", unpaired, SIDES)
    pairs = paired_frames(pairs, unpaired, where,
                          f"{where} hold no image pairs (expected files with the same names in both); put the "
                          f"pairs there or name other folders with --pairs_visible / --pairs_infrared.", stride)
    return Selection(pairs, f"{where}: {count_pairs(pairs)}, frame stride {stride}", [])
