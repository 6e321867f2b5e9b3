"""Which images `mrff generate` does, where each result goes, and writing it safely.

* The input tree is walked in sorted order; every image file (data/images.py's
  IMAGE_EXTENSIONS, any case) is a job, other files are ignored.  `in/a/b.jpg` -> `out/a/b.png`.
* Shards: under `torchrun` (RANK, WORLD_SIZE in the environment) process `rank`
  takes jobs `i` with `i % world == rank` of the full sorted list -- decided
  before resuming, so processes that start at different moments still agree and
  no file is written twice.
* Resume: a job whose output exists is skipped.  Outputs are written to a
  temporary file in the same folder and renamed (`os.replace`, atomic), so an
  output either does not exist or is complete; an interrupted run leaves no
  half-written image under the final name.
"""
import os
import tempfile
import zlib
from dataclasses import dataclass

from PIL import Image

from ..datasets.images import IMAGE_EXTENSIONS
from ..palettes import outputs
from . import GenerateError

OUTPUT_SUFFIX = ".png"
TEMP_PREFIX = ".mrff_tmp_"
# zlib's run-length strategy for the PNGs (as OpenCV's imwrite by default): on synthetic LWIR images it encoded
# 3.5x as fast as Pillow's default (zlib's default strategy at level 6) and its files were 1% smaller
# (benchmarks/README.md, "Inference"); on a CPU the encoding takes its time from the network.
PNG_OPTIONS = {"compress_type": zlib.Z_RLE}


@dataclass
class Job:
    source: str      # input image path
    target: str      # output PNG path
    size: tuple      # (width, height) of the input, from its header


def shard_from_env():
    """(rank, world size) that torchrun set, (0, 1) for a plain run."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def list_images(input_dir):
    """Sorted paths of the image files under `input_dir` (recursively)."""
    root = os.path.abspath(os.path.expanduser(input_dir))
    if not os.path.isdir(root):
        raise GenerateError(f"--input {root} is not a folder; pass the folder that holds the visible images.")
    paths = []
    for folder, dirs, names in os.walk(root, followlinks=True):
        dirs.sort()
        paths += [os.path.join(folder, n) for n in sorted(names)
                  if n.lower().endswith(IMAGE_EXTENSIONS) and not n.startswith(TEMP_PREFIX)]
    if not paths:
        raise GenerateError(f"--input {root} holds no image files ({', '.join(IMAGE_EXTENSIONS)}); "
                            f"point it at the folder of visible images.")
    return sorted(paths)


def output_path(source, input_dir, output_dir):
    """`output_dir` + the path of `source` relative to `input_dir`, with a .png suffix."""
    relative = os.path.relpath(source, os.path.abspath(os.path.expanduser(input_dir)))
    return os.path.join(os.path.abspath(os.path.expanduser(output_dir)), os.path.splitext(relative)[0] + OUTPUT_SUFFIX)


def image_size(path):
    """(width, height) from the file header, or None when it is not a readable image."""
    try:
        with Image.open(path) as image:
            return image.size
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
    if out_root == os.path.abspath(os.path.expanduser(input_dir)):
        raise GenerateError(f"--output {out_root} is the --input folder; pass another folder, so that the "
                            f"results are neither mixed with nor taken for the input images.")
    return out_root


def plan_jobs(input_dir, output_dir, rank=0, world=1, skip_bad=False):
    """(jobs to do, number already done, unreadable paths) for this process's shard.

    Two inputs that map to one output (`a.jpg`, `a.png`) are refused by name.
    An unreadable image raises GenerateError unless `skip_bad`.
    """
    out_root = check_output_dir(input_dir, output_dir)
    # an --output inside --input is not input: a second run must not generate from the first one's results
    sources = [s for s in list_images(input_dir) if os.path.commonpath([s, out_root]) != out_root]
    targets = [output_path(s, input_dir, output_dir) for s in sources]
    seen = {}
    for source, target in zip(sources, targets):
        if target in seen:
            raise GenerateError(f"{seen[target]} and {source} would both be written to {target}; "
                                f"rename one of them.")
        seen[target] = source
    jobs, done, bad = [], 0, []
    for i, (source, target) in enumerate(zip(sources, targets)):
        if i % world != rank:
            continue
        if os.path.exists(target):
            done += 1
            continue
        size = image_size(source)
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


def _write_atomic(array, path):
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=OUTPUT_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            Image.fromarray(array).save(handle, format="PNG", **PNG_OPTIONS)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise
