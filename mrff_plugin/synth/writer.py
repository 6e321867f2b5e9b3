"""Writing synthetic pairs in the KAIST layout.

    DIR/images/setNN/V000/visible/I00000.jpg   RGB JPEG
    DIR/images/setNN/V000/lwir/I00000.jpg      grey stored as 3 channels, as KAIST
    DIR/synth.json                             what was written and how (no timings);
                                               "complete": false until the last pair is written
    DIR/radiometric/...                        lwir_bits=16: the counts before AGC (radiometric_pairs.py)

Training pairs go to KAIST's training sets of their time of day (day set00-02,
night set03-05), test pairs to the test sets (day set06-08, night set09-11),
spread evenly over the three sets.  `time="all"` splits each part half day,
half night.  Frame numbers run on across the sets of a part (set00 I00000-
I00006, set01 I00007-...), so no two test frames share a file name and a
test.py that names results by file name keeps them all.  Each pair has its own
seed derived from (seed, part, time of day, index), so the output does not
depend on `jobs` and the training pairs do not change when only the number of
test pairs does.

Files are written under a temporary name and renamed, and an existing output
is never touched unless `overwrite=True` and it was written by this module (its
synth.json lists the sets to replace).
"""
import json
import shutil
import time as _time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from ..durable import atomic_write
from ..errors import MrffError
from ..datasets.kaist_layout import KAIST_SETS, MODALITIES, set_name
from .radiometric_pairs import LWIR_BITS, prepare, refusal, write_agc, write_counts
from .render import render_pair

JPEG_QUALITY = 90
VIDEO = "V000"
MANIFEST = "synth.json"
_PART_CODE = {"train": 0, "test": 1}
_TIME_CODE = {"day": 0, "night": 1}
MIN_SIZE, MAX_SIZE = 32, 4096


class SynthError(MrffError, ValueError):
    """A problem with the arguments or the output folder, as one sentence."""


def default_test_pairs(pairs):
    """One test pair per five training pairs, at least one when there is any training pair."""
    return max(1, pairs // 5) if pairs > 0 else 0


def plan(pairs, time, test_pairs, seed):
    """The pairs to write: a list of (relative folder, file name, time of day, SeedSequence)."""
    jobs = []
    for part, count in (("train", pairs), ("test", test_pairs)):
        split = {"day": (count + 1) // 2, "night": count // 2} if time == "all" else {time: count}
        frame = 0                                   # runs on across the sets of this part
        for tod, n in split.items():
            sets = KAIST_SETS[(part, tod)]
            for i in range(n):
                folder = f"images/{set_name(sets[i * len(sets) // n])}/{VIDEO}"
                key = np.random.SeedSequence([seed, _PART_CODE[part], _TIME_CODE[tod], i])
                jobs.append((folder, f"I{frame:05d}.jpg", tod, key))
                frame += 1
    return jobs


def _save_jpeg(array, path):
    """Write a JPEG atomically (durable.atomic_write: never a half-written file, even after a power cut)."""
    with atomic_write(path) as handle:
        Image.fromarray(array).save(handle, format="JPEG", quality=JPEG_QUALITY)


def write_pair(out, folder, name, tod, key, size, lwir_bits=8):
    """Render one pair and write its visible and LWIR JPEGs (lwir_bits 16: and its counts, radiometric_pairs.py;
    returns (pair id, AGC counts) then)."""
    visible, lwir, extras = render_pair(key, size, tod)
    base = Path(out) / folder
    _save_jpeg(visible, base / "visible" / name)
    _save_jpeg(np.repeat(lwir[..., None], 3, axis=2), base / "lwir" / name)
    return write_counts(out, folder, name, extras) if lwir_bits == 16 else None


def _write_pair_args(args):
    return write_pair(*args)


def _check_args(pairs, time, size, seed, test_pairs):
    if time not in ("day", "night", "all"):
        raise SynthError(f"--time must be day, night or all, not {time!r}.")
    for flag, n in (("--pairs", pairs), ("--test-pairs", test_pairs), ("--seed", seed)):
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise SynthError(f"{flag} must be a whole number >= 0, not {n!r}.")
    if pairs + test_pairs == 0:
        raise SynthError("nothing to write: --pairs and --test-pairs are both 0.")
    w, h = size
    if not (MIN_SIZE <= w <= MAX_SIZE and MIN_SIZE <= h <= MAX_SIZE):
        raise SynthError(f"--size {w}x{h} is out of range; width and height must be "
                         f"{MIN_SIZE} to {MAX_SIZE} pixels.")


def _prepare_output(out, overwrite):
    """Make sure writing into `out` cannot damage anything that is already there."""
    images = out / "images"
    existing = sorted(images.glob("set*/V*/*/*.jpg"))[:1] if images.is_dir() else []
    manifest = out / MANIFEST
    if not existing:
        return
    if not overwrite:
        raise SynthError(f"{images} already holds images (e.g. {existing[0].relative_to(out)}); "
                         f"choose an empty --out or pass --overwrite to replace a set written by mrff synth.")
    if not manifest.is_file():
        raise SynthError(f"{images} holds images that were not written by mrff synth (no {MANIFEST}); "
                         f"refusing to overwrite them, choose another --out.")
    try:
        old_sets = set(json.loads(manifest.read_text())["sets"])
    except (ValueError, KeyError, TypeError):
        raise SynthError(f"{manifest} is unreadable; delete {images} yourself or choose another --out.") from None
    foreign = [p for p in images.glob("set*/V*/*/*.jpg") if p.relative_to(images).parts[0] not in old_sets]
    if foreign:
        raise SynthError(f"{images} also holds images that mrff synth did not write (e.g. "
                         f"{foreign[0].relative_to(out)}); refusing to overwrite, choose another --out.")
    manifest.unlink()
    for name in old_sets:
        shutil.rmtree(images / name, ignore_errors=True)


def write_dataset(out, pairs, time="day", size=(256, 256), seed=0, test_pairs=None, jobs=1,
                  overwrite=False, progress=False, lwir_bits=8):
    """Render `pairs` training and `test_pairs` test pairs (default: one per five
    training pairs) of `size` (width, height) and write them under `out` in the
    KAIST layout.  Returns a summary dict: out, generator, complete, train_pairs,
    test_pairs, time, size, seed, sets ({set name: pairs}), jpeg_quality,
    seconds, pairs_per_second.  lwir_bits=16 also writes the counts (radiometric_pairs.py)."""
    test_pairs = default_test_pairs(pairs) if test_pairs is None else test_pairs
    size = tuple(int(v) for v in size)
    _check_args(pairs, time, size, seed, test_pairs)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SynthError(f"--out {out} is a file, not a folder.")
    if lwir_bits not in LWIR_BITS or refusal(out, overwrite):
        raise SynthError(refusal(out, overwrite) or f"--lwir_bits must be 8 or 16, not {lwir_bits!r}.")
    _prepare_output(out, overwrite)

    work = plan(pairs, time, test_pairs, seed)
    sets = {}
    for folder, *_ in work:
        name = folder.split("/")[1]
        sets[name] = sets.get(name, 0) + 1
    record = {"generator": "mrff_plugin.synth", "complete": False, "train_pairs": pairs,
              "test_pairs": test_pairs, "time": time, "size": list(size), "seed": seed, "sets": sets,
              "jpeg_quality": JPEG_QUALITY, "lwir_bits": lwir_bits}
    out.mkdir(parents=True, exist_ok=True)
    _write_manifest(out, record)          # first: an interrupted run can still be replaced with --overwrite
    for folder in sorted({folder for folder, *_ in work}):
        for modality in MODALITIES:
            (out / folder / modality).mkdir(parents=True, exist_ok=True)
    if lwir_bits == 16:
        prepare(out)

    args = [(str(out), folder, name, tod, key, size, lwir_bits) for folder, name, tod, key in work]
    start = _time.perf_counter()
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            agc = _drain(pool.map(_write_pair_args, args, chunksize=4), len(args), progress)
    else:
        agc = _drain(map(_write_pair_args, args), len(args), progress)
    if lwir_bits == 16:
        write_agc(out, agc)
    seconds = _time.perf_counter() - start
    record["complete"] = True
    _write_manifest(out, record)
    return {"out": str(out), **record, "seconds": seconds,
            "pairs_per_second": len(work) / seconds if seconds > 0 else float("inf")}


def _write_manifest(out, record):
    with atomic_write(out / MANIFEST) as handle:
        handle.write((json.dumps(record, indent=2) + "\n").encode())


def _drain(results, total, progress):
    """Consume the per-pair results, with a progress bar if asked; returns those that are not None."""
    if progress:
        from tqdm import tqdm
        results = tqdm(results, total=total, unit="pair", desc="mrff synth")
    return [result for result in results if result is not None]
