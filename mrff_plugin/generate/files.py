"""Which images `mrff generate` does, where each result goes, and writing it safely.

* The input tree is walked in sorted order; every image file (data/images.py's
  IMAGE_EXTENSIONS, any case) is a job, other files are ignored.  `in/a/b.jpg` -> `out/a/b.png`.
  Symbolic links are followed, each real folder and image once (`walk`): a link to a folder of the
  tree (its parent, a sibling) adds nothing, a link to a folder elsewhere adds that folder once, and
  an image with two names is generated under its real one.  A FIFO, socket or device named like an
  image is not opened (it would block): it is refused, or skipped with --skip_bad.
* A folder below --input that holds RUN_RECORD is an earlier run's --output: its images are results and
  are never taken for inputs.
* Before anything is written, every output -- with the files written beside it (`--also_grey`,
  `--save_attention`) -- must have its own name, short enough for the file system, and the
  --output folder must not be the --input folder, compared by real paths; no output may be, by real
  path, an input image or the network's file (`check_not_read`).
* Shards: under `torchrun` (RANK, WORLD_SIZE in the environment) process `rank`
  takes jobs `i` with `i % world == rank` of the full sorted list -- decided
  before resuming, so processes that start at different moments still agree and
  no file is written twice.
* Resume: a job whose output -- and every file its flags write beside it (`--also_grey`,
  `--save_attention`) -- is a finished PNG (not empty, ending with the IEND chunk) is skipped;
  anything else is generated again.  The run's options (network file and its sha256, --palette,
  --size, --norm_stats, --output_nc) are recorded in `<output>/.mrff_generate.json` before the first
  image (`claim_output`); a resume with other options is refused, so one folder never mixes two runs.
  A run refused before its first image (an undecodable file, an ONNX model of another size) takes its
  record back (`unclaim_output`; not under torchrun, whose other processes may have written).
  Outputs are written to a
  temporary file in the same folder, fsynced and renamed (`os.replace`, atomic; then the folder is
  fsynced), so an output either does not exist or is complete, even after a power cut; an interrupted
  run leaves no half-written image under the final name.  Outputs get the mode the umask gives.
"""
import contextlib
import json
import os
import stat
import zlib
from dataclasses import dataclass

from PIL import Image

from ..datasets.images import IMAGE_EXTENSIONS, shown_size
# the temporary files of durable.py; _seal / _temporary_beside are its seal / temporary_beside
from ..durable import TEMP_PREFIX, atomic_write, current_umask, fsync_folder  # noqa: F401 (current_umask: users)
from ..durable import seal as _seal, temporary_beside as _temporary_beside
from ..file_names import name_limit
from ..palettes import outputs
from . import GenerateError

OUTPUT_SUFFIX = ".png"
RUN_RECORD = ".mrff_generate.json"   # in --output: the options its images were generated with
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"   # a PNG's last chunk (empty IEND and its CRC): the file is whole
# zlib's run-length strategy for the PNGs (as OpenCV's imwrite by default): on synthetic LWIR images it encoded
# 3.5x as fast as Pillow's default (zlib's default strategy at level 6) and its files were 1% smaller
# (docs/performance.md, "Inference"); on a CPU the encoding takes its time from the network.
PNG_OPTIONS = {"compress_type": zlib.Z_RLE}


@dataclass
class Job:
    source: str      # input image path
    target: str      # output PNG path
    size: tuple      # (width, height) of the input, from its header


def shard_from_env():
    """(rank, world size) that torchrun set, (0, 1) for a plain run; GenerateError for values that would shard
    nothing (RANK >= WORLD_SIZE: an empty share, WORLD_SIZE 0) or are not numbers."""
    texts = os.environ.get("RANK", "0"), os.environ.get("WORLD_SIZE", "1")
    try:
        rank, world = (int(text) for text in texts)
    except ValueError:
        name, text = next((n, t) for n, t in zip(("RANK", "WORLD_SIZE"), texts) if not t.strip().lstrip("+-").isdigit())
        problem = f"{name}={text} is not a whole number"
    else:
        if world >= 1 and 0 <= rank < world:
            return rank, world
        problem = (f"WORLD_SIZE={world} must be at least 1" if world < 1 else
                   f"RANK={rank} must be 0 to {world - 1} with WORLD_SIZE={world}")
    raise GenerateError(f"{problem} (set by torchrun in the environment); launch with torchrun --nproc_per_node=K, "
                        f"which sets RANK and WORLD_SIZE, or unset both for one process.")


def _inside(real, real_root):
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def earlier_output(folder):
    """True for the --output folder of an `mrff generate` run (it holds RUN_RECORD): its images are results."""
    return os.path.isfile(os.path.join(folder, RUN_RECORD))


def walk(root):
    """Paths of the files under the folder `root`, each real folder walked once and each real file listed once.
    A folder below `root` that is an earlier run's --output (`earlier_output`) is left out with all it holds.

    First the tree itself (links not followed), so that every file found there keeps its own path; then
    each link to a folder outside the tree, once per real folder, following links below it too.  A link
    to a folder of the tree, to one that holds the tree (a parent), or to one already walked adds nothing:
    loops end.  Of two names of one file (a link beside it), the one that is not a link is kept.
    """
    real_root = os.path.realpath(root)
    walked, found, links = set(), [], []

    def follow(path):   # a folder reached through a link: walk it (and remember it) unless that would repeat
        real = os.path.realpath(path)
        if _inside(real, real_root) or _inside(real_root, real) or real in walked:
            return False
        walked.add(real)
        return True

    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not earlier_output(os.path.join(folder, d)))
        links += [os.path.join(folder, d) for d in dirs if os.path.islink(os.path.join(folder, d))]
        found += [os.path.join(folder, n) for n in names]
    for link in filter(follow, links):
        if earlier_output(link):
            continue
        for folder, dirs, names in os.walk(link, followlinks=True):
            dirs[:] = [d for d in sorted(dirs) if not earlier_output(os.path.join(folder, d))
                       and follow(os.path.join(folder, d))]
            found += [os.path.join(folder, n) for n in names]
    paths, real_files = [], set()
    for path in sorted(found, key=lambda p: (os.path.islink(p), p)):   # real names before links to them
        real = os.path.realpath(path)
        if real not in real_files:
            real_files.add(real)
            paths.append(path)
    return sorted(paths)


def list_images(input_dir):
    """Sorted paths of the image files under `input_dir` (recursively; see `walk` for links)."""
    root = os.path.abspath(os.path.expanduser(input_dir))
    if not os.path.isdir(root):
        raise GenerateError(f"--input {root} is not a folder; pass the folder that holds the visible images.")
    paths = [path for path in walk(root) if os.path.basename(path).lower().endswith(IMAGE_EXTENSIONS)
             and not os.path.basename(path).startswith(TEMP_PREFIX)]
    if not paths:
        raise GenerateError(f"--input {root} holds no image files ({', '.join(IMAGE_EXTENSIONS)}); "
                            f"point it at the folder of visible images.")
    return paths


def output_path(source, input_dir, output_dir):
    """`output_dir` + the path of `source` relative to `input_dir`, with a .png suffix."""
    relative = os.path.relpath(source, os.path.abspath(os.path.expanduser(input_dir)))
    return os.path.join(os.path.abspath(os.path.expanduser(output_dir)), os.path.splitext(relative)[0] + OUTPUT_SUFFIX)


def special_file(path):
    """'a FIFO', 'a socket', 'a device', 'a folder' for a path (links followed) that is not a regular file, else
    None; a broken link is left to the image reader (unreadable)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else
            "a folder" if stat.S_ISDIR(mode) else "a device")


def image_size(path):
    """(width, height) from the file header, or None when it is not a readable image (or not a regular file,
    which Pillow could wait on forever)."""
    if special_file(path):
        return None
    try:
        with Image.open(path) as image:
            return shown_size(image)   # upright, as the engine reads it (EXIF orientation)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


def check_output_dir(input_dir, output_dir):
    """The absolute --output folder; GenerateError when it is (under) a file or is the --input folder."""
    out_root = os.path.abspath(os.path.expanduser(output_dir))
    existing = out_root
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise GenerateError(f"--output {out_root}: {existing} is a file, not a folder; pass a folder for the "
                            f"generated PNGs.")
    in_root = os.path.abspath(os.path.expanduser(input_dir))
    if os.path.realpath(out_root) == os.path.realpath(in_root):
        through = "" if out_root == in_root else f" {in_root} (through a link)"
        raise GenerateError(f"--output {out_root} is the --input folder{through}; pass another folder, so that the "
                            f"results are neither mixed with nor taken for the input images.")
    return out_root


def check_output_names(sources, targets, out_root, extra_outputs=None):
    """GenerateError (one sentence) unless every output and every file written beside it has a name of its own
    that fits the file system.  extra_outputs(target) -> [(path, flag), ...]: what a flag writes beside it."""
    limit = name_limit(out_root)
    owners = {}   # output path -> (source, flag that writes it or None)
    for source, target in zip(sources, targets):
        for path, flag in [(target, None)] + list(extra_outputs(target) if extra_outputs else ()):
            name = os.path.basename(path)
            size = len(os.fsencode(name))
            if size > limit:
                given = f" ({flag})" if flag else ""
                drop = f", or drop {flag}" if flag else ""
                raise GenerateError(f"{source}: the output name {name}{given} would be {size} bytes, more than the "
                                    f"{limit} a file name may have in {out_root}; shorten the input's name{drop}.")
            if path in owners:
                other, other_flag = owners[path]
                if not (flag or other_flag):
                    raise GenerateError(f"{other} and {source} would both be written to {path}; rename one of them.")
                extra = flag or other_flag
                raise GenerateError(f"{other} and {source} would both be written to {path} (the {extra} output of "
                                    f"{source if flag else other}); rename one of them, or drop {extra}.")
            owners[path] = (source, flag)


def check_not_read(targets, extra_outputs, read):
    """GenerateError (one sentence) when an output or a file written beside it (`extra_outputs`) is, by real path
    (links and `..` seen through), one of the files `read`: an input image, the network file."""
    real_read = {os.path.realpath(path): path for path in read}
    for target in targets:
        for path in [target] + [p for p, _ in (extra_outputs(target) if extra_outputs else ())]:
            if os.path.realpath(path) in real_read:
                raise GenerateError(f"the output {path} would be written over {real_read[os.path.realpath(path)]}, "
                                    f"which this run reads (through a link); pass an --output outside the folders "
                                    f"it reads.")


def finished_png(path):
    """True when `path` is a regular file that ends with a PNG's IEND chunk: not empty, not cut short (a crash
    of another tool, a disk that filled, a copy that stopped); cheap -- the last 12 bytes are read."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size <= len(PNG_END):
            return False
        with open(path, "rb") as handle:
            handle.seek(-len(PNG_END), os.SEEK_END)
            return handle.read() == PNG_END
    except OSError:
        return False


def plan_jobs(input_dir, output_dir, rank=0, world=1, skip_bad=False, extra_outputs=None, reads=()):
    """(jobs to do, number already done, unreadable paths) for this process's shard.

    No output may be written over an input image or a file of `reads` (the network's), compared by real paths
    (`check_not_read`).

    Two inputs that map to one output (`a.jpg`, `a.png`), or to a file another one's flag writes beside its
    output (`extra_outputs`, see check_output_names), are refused by name, as are names too long.
    A job is done when its output and the files written beside it are all finished PNGs (`finished_png`).
    An unreadable image (or a FIFO, ...) raises GenerateError unless `skip_bad`.
    """
    out_root = check_output_dir(input_dir, output_dir)
    # an --output inside --input is not input: a second run must not generate from the first one's results
    # (compared by real paths: the --output may be reached through a link into the input tree)
    real_out = os.path.realpath(out_root)
    sources = [s for s in list_images(input_dir) if not _inside(os.path.realpath(s), real_out)]
    targets = [output_path(s, input_dir, output_dir) for s in sources]
    check_output_names(sources, targets, out_root, extra_outputs)
    check_not_read(targets, extra_outputs, [*sources, *reads])
    jobs, done, bad = [], 0, []
    for i, (source, target) in enumerate(zip(sources, targets)):
        if i % world != rank:
            continue
        beside = [path for path, _ in (extra_outputs(target) if extra_outputs else ())]
        if all(map(finished_png, [target, *beside])):
            done += 1
            continue
        size = image_size(source)
        special = special_file(source)
        if special and not skip_bad:
            raise GenerateError(f"{source} is not a regular file ({special}); remove it from --input, or pass "
                                f"--skip_bad to skip it.")
        if size is None:
            if not skip_bad:
                raise GenerateError(f"{source} cannot be read as an image; delete or replace it, "
                                    f"or pass --skip_bad to skip unreadable images.")
            bad.append(source)
            continue
        jobs.append(Job(source, target, size))
    return jobs, done, bad


def write_png(array, path, palette="grey", also_grey=False):
    """Write an (H, W) or (H, W, 3) uint8 array as an 8-bit PNG at `path`, atomically.

    With a `palette` other than 'grey' the PNG at `path` is the image in that thermal
    palette (8-bit RGB) and, with `also_grey`, the grey one is kept at `<stem>_grey.png`
    (`palettes.outputs`).
    """
    for image, target in outputs(array, path, palette, also_grey):
        _write_atomic(image, target)


def same_file(path, other):
    """True when `path` and `other` name one file: the same real path (links and `..` seen through) or, where
    both exist, one file under two names (a hard link)."""
    if os.path.realpath(path) == os.path.realpath(other):
        return True
    try:
        return os.path.samefile(path, other)
    except OSError:
        return False


def _write_atomic(array, path):
    """Write the PNG through `durable.atomic_write`: after a crash or power cut `path` is the old file or the
    whole new one."""
    with atomic_write(path) as handle:
        Image.fromarray(array).save(handle, format="PNG", **PNG_OPTIONS)


def claim_output(output_dir, options):
    """Record `options` ({flag: value}) as the run of the --output folder, or refuse other options.

    The first process to get there creates `<output>/RUN_RECORD` complete (written beside it, then
    `os.link`ed, which fails when the name exists), so the torchrun processes that share the folder
    agree on one record; each then compares its own options with it: the same -- resume; other ones --
    GenerateError naming the option, both values and the fix.  Returns True when this call made the
    record (a run refused before its first image takes it back: unclaim_output), False when it was there.
    """
    out_root = os.path.abspath(os.path.expanduser(output_dir))
    record = os.path.join(out_root, RUN_RECORD)
    with _temporary_beside(out_root, ".json") as (handle, temp):
        handle.write((json.dumps(options, indent=1, sort_keys=True) + "\n").encode())
        _seal(handle)
        try:
            os.link(temp, record)
        except FileExistsError:
            pass
        else:
            fsync_folder(out_root)
            return True
    try:
        with open(record, encoding="utf-8") as handle:
            recorded = json.load(handle)
        assert isinstance(recorded, dict)
    except (OSError, ValueError, AssertionError):
        raise GenerateError(f"{record} cannot be read as the record of an earlier run; delete the folder "
                            f"{out_root} to start again, or pass another --output.") from None
    for flag in sorted(set(recorded) | set(options)):
        if recorded.get(flag) != options.get(flag):
            raise GenerateError(f"--output {out_root} holds images generated with {flag} "
                                f"{recorded.get(flag, '(not given)')}, and this run has {flag} "
                                f"{options.get(flag, '(not given)')}; pass another --output, or delete {out_root} "
                                f"to start again with these options.")
    return False


def unclaim_output(output_dir, targets, remove_folder):
    """Undo claim_output for a run refused before it wrote any of `targets`: its RUN_RECORD is removed (a record
    of options whose images do not exist would refuse the corrected run), and with `remove_folder` (the run
    made the --output folder) the folder too if nothing else is in it.  Any target on disk: nothing is touched."""
    if any(os.path.lexists(target) for target in targets):
        return
    out_root = os.path.abspath(os.path.expanduser(output_dir))
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(out_root, RUN_RECORD))
    if remove_folder:
        with contextlib.suppress(OSError):   # not empty: left as it is
            os.rmdir(out_root)
