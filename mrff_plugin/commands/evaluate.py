"""`mrff evaluate RESULTS_DIR [RESULTS_DIR ...]`: the paper's Table 3 for test.py result folders.

Each RESULTS_DIR is what the host's `test.py` wrote,
`<results_dir>/<name>/<phase>_<epoch>/` (holding `index.html` and `images/`), its
`images/` folder, or `<results_dir>/<name>/` when that holds a single
`<phase>_<epoch>` folder. In `images/`, `<stem>_fake_B.png` (generated IR) is
scored against `<stem>_real_B.png` (real IR) with `mrff_plugin.metrics` (8-bit
grey SSIM and PSNR, Table 3 protocol). Every fake image needs its real partner
and vice versa; a folder where they do not pair up is refused, by name, and
nothing is written.

`--protocol released` scores the way the authors' released evaluation did
(3-channel images, SSIM averaged over channels with a uniform 7x7 window and
sample covariances, PSNR over the three channels; `mrff_plugin.metrics`), so that
figures can be set beside the paper's Table 3 as the authors computed it; the
default, `grey`, is the 8-bit grey Gaussian 11/1.5 protocol.  The table, the CSV
and the JSON name the protocol.

Output: a table with, per run, the mean and standard deviation (sample, ddof 1)
of SSIM and PSNR over its N images, one row per run so that runs (e.g. the
`unet_256` baseline and the fusion model) read side by side; and, at `--out
PREFIX` (default: `evaluation` inside the first RESULTS_DIR, beside its
index.html), `PREFIX.json` (protocol, per-run summary, per-image scores) and
`PREFIX.csv` (the summary rows). PSNR of an image identical to its reference
is +inf: shown as `inf` in the table and CSV, `null` in the JSON.
"""
import csv
import json
import math
import os
import sys

from ..datasets.images import IMAGE_EXTENSIONS
from ..errors import MrffError
from ..metrics import summarise

FAKE_SUFFIX, REAL_SUFFIX = "_fake_B", "_real_B"
BATCH = 16   # images scored per torchmetrics call
PROTOCOLS = ("grey", "released")   # grey: 8-bit grey, Gaussian 11/1.5 (default); released: the authors' evaluation


class ResultsError(MrffError, ValueError):
    """A results folder that cannot be evaluated; the message names it and the fix."""


def add_arguments(parser):
    parser.add_argument("results", nargs="+", metavar="RESULTS_DIR",
                        help="test.py result folder(s): <results_dir>/<name>/<phase>_<epoch> (or its images/)")
    parser.add_argument("--labels", default=None,
                        help="comma-separated run names for the table, one per RESULTS_DIR "
                             "(default: <name>/<phase>_<epoch> from the folder)")
    parser.add_argument("--protocol", choices=PROTOCOLS, default=PROTOCOLS[0],
                        help="grey: 8-bit grey SSIM (Gaussian 11, sigma 1.5) and PSNR (default) | released: the "
                             "authors' evaluation, 3-channel SSIM (uniform 7x7, sample covariance) averaged over "
                             "channels and PSNR over the 3 channels")
    parser.add_argument("--out", default=None, metavar="PREFIX",
                        help="write PREFIX.json and PREFIX.csv (default: <first RESULTS_DIR>/evaluation)")


# ---------------------------------------------------------------- reading result folders

def images_folder(path):
    """The `images/` folder of a test.py result folder given as any of the accepted forms."""
    folder = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(folder):
        raise ResultsError(f"{folder} {'is a file' if os.path.exists(folder) else 'does not exist'}; give a "
                           f"test.py result folder such as results/<name>/test_latest.")
    if os.path.isdir(os.path.join(folder, "images")):
        return os.path.join(folder, "images")
    if any(_split_name(name) for name in os.listdir(folder)):
        return folder
    runs = sorted(name for name in os.listdir(folder) if os.path.isdir(os.path.join(folder, name, "images")))
    if len(runs) == 1:
        return os.path.join(folder, runs[0], "images")
    if runs:
        raise ResultsError(f"{folder} holds several test runs ({', '.join(runs)}); name one of them, "
                           f"e.g. {os.path.join(path, runs[0])}.")
    raise ResultsError(f"{folder} holds no *{FAKE_SUFFIX}.png / *{REAL_SUFFIX}.png images and no images/ "
                       f"folder; give a folder written by test.py.")


def _split_name(name):
    """'I01225_fake_B.png' -> ('I01225', 'fake'); other names -> None."""
    stem, ext = os.path.splitext(name)
    if ext.lower() not in IMAGE_EXTENSIONS:
        return None
    for suffix, kind in ((FAKE_SUFFIX, "fake"), (REAL_SUFFIX, "real")):
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[:-len(suffix)], kind
    return None


def result_pairs(folder):
    """[(stem, fake path, real path)] of a result folder, sorted by stem; ResultsError if unpaired."""
    images = images_folder(folder)
    files = {"fake": {}, "real": {}}
    for name in sorted(os.listdir(images)):
        split = _split_name(name)
        if split:
            files[split[1]][split[0]] = os.path.join(images, name)
    fake, real = files["fake"], files["real"]
    if not fake and not real:
        raise ResultsError(f"{images} holds no *{FAKE_SUFFIX}.png / *{REAL_SUFFIX}.png images; "
                           f"give a folder written by test.py.")
    for have, lack, kind, other in ((fake, real, "fake_B", "real_B"), (real, fake, "real_B", "fake_B")):
        lonely = sorted(have.keys() - lack.keys())
        if lonely:
            raise ResultsError(
                f"{images}: {len(lonely)} of {len(have)} {kind} images have no {other} partner "
                f"(first: {os.path.basename(have[lonely[0]])}); re-run test.py into a clean folder "
                f"or remove the strays.")
    return [(stem, fake[stem], real[stem]) for stem in sorted(fake)]


def run_folder(folder):
    """The `<name>/<phase>_<epoch>` folder (the one holding index.html) of a result folder."""
    images = images_folder(folder)
    return os.path.dirname(images) if os.path.basename(images) == "images" else images


def run_label(folder):
    """'<name>/<phase>_<epoch>': the last two parts of the run folder."""
    return "/".join(run_folder(folder).split(os.sep)[-2:])


# ---------------------------------------------------------------- scoring

def score_pairs(pairs, label="", protocol_name=PROTOCOLS[0]):
    """Per-image SSIM and PSNR of [(stem, fake, real)] under a protocol: list of (stem, ssim, psnr), with a
    tqdm bar."""
    import torch
    from tqdm import tqdm
    from ..metrics import grey_u8, rgb_u8, scores_released_u8, scores_u8
    read, scores_of = (rgb_u8, scores_released_u8) if protocol_name == "released" else (grey_u8, scores_u8)

    scores, batch = [], []

    def flush():
        fakes = torch.stack([torch.from_numpy(f) for _, f, _ in batch])
        reals = torch.stack([torch.from_numpy(r) for _, _, r in batch])
        ssim, psnr = scores_of(fakes, reals)
        scores.extend((stem, float(s), float(p)) for (stem, _, _), s, p in zip(batch, ssim, psnr))
        batch.clear()

    with tqdm(total=len(pairs), desc=label or "scoring", unit="img", leave=False, file=sys.stderr,
              disable=None) as bar:   # no bar when stderr is not a terminal
        for stem, fake_path, real_path in pairs:
            fake, real = read(fake_path), read(real_path)
            if fake.shape != real.shape:
                raise ResultsError(f"{fake_path} is {fake.shape[1]}x{fake.shape[0]} but {real_path} is "
                                   f"{real.shape[1]}x{real.shape[0]}; both come from one test.py run "
                                   f"and must have the same size.")
            if batch and batch[0][1].shape != fake.shape:
                flush()
            batch.append((stem, fake, real))
            if len(batch) == BATCH:
                flush()
            bar.update()
        if batch:
            flush()
    return scores


# ---------------------------------------------------------------- reporting

COLUMNS = ("run", "ssim_mean", "ssim_std", "psnr_mean", "psnr_std", "n")


def _cells(run):
    return [run["label"], f"{run['ssim_mean']:.4f}", f"{run['ssim_std']:.4f}",
            f"{run['psnr_mean']:.3f}", f"{run['psnr_std']:.3f}", str(run["n"])]


def format_table(runs):
    """Table 3 layout: one row per run, SSIM and PSNR mean/std and N."""
    header = ["Run", "SSIM mean", "SSIM std", "PSNR mean (dB)", "PSNR std", "N"]
    rows = [header] + [_cells(run) for run in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def protocol(name=PROTOCOLS[0]):
    """What the scores mean, for the JSON: the named protocol's constants."""
    from .. import metrics
    if name == "released":
        return {
            "name": "released",
            "ssim": {"window": "uniform", "window_size": metrics.RELEASED_WINDOW, "k1": metrics.SSIM_K1,
                     "k2": metrics.SSIM_K2, "data_range": metrics.DATA_RANGE, "covariance": "sample",
                     "channels": "SSIM per channel, averaged over the 3 channels",
                     "border": f"{metrics.RELEASED_BORDER} px per side excluded (as scikit-image)"},
            "psnr": {"data_range": metrics.DATA_RANGE, "per_image": True, "channels": "all 3 channels"},
            "images": "8-bit, 3 channels (grey repeated, as OpenCV's imread reads it)",
            "reference": "the authors' released evaluation: scikit-image structural_similarity(channel_axis=2) "
                         "and peak_signal_noise_ratio defaults",
            "std": "sample standard deviation over images (ddof 1)",
            "pairs": f"<stem>{FAKE_SUFFIX}.png vs <stem>{REAL_SUFFIX}.png",
            "library": "torchmetrics",
        }
    return {
        "name": "grey",
        "ssim": {"window": "gaussian", "window_size": metrics.SSIM_WINDOW, "sigma": metrics.SSIM_SIGMA,
                 "k1": metrics.SSIM_K1, "k2": metrics.SSIM_K2, "data_range": metrics.DATA_RANGE,
                 "covariance": "population", "border": f"{metrics.BORDER} px per side excluded (as scikit-image)"},
        "psnr": {"data_range": metrics.DATA_RANGE, "per_image": True},
        "images": "8-bit grey; colour via ITU-R 601-2 luma (Pillow 'L')",
        "std": "sample standard deviation over images (ddof 1)",
        "pairs": f"<stem>{FAKE_SUFFIX}.png vs <stem>{REAL_SUFFIX}.png",
        "library": "torchmetrics",
    }


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def write_outputs(prefix, runs, protocol_name=PROTOCOLS[0]):
    """PREFIX.json (protocol, runs with per-image scores) and PREFIX.csv (summary); returns both paths."""
    json_path, csv_path = prefix + ".json", prefix + ".csv"
    with open(json_path, "w", encoding="utf-8") as handle:
        json.dump(_json_safe({"protocol": protocol(protocol_name), "runs": runs}), handle, indent=2)
        handle.write("\n")
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS + ("folder", "protocol"))
        for run in runs:
            writer.writerow([run["label"], *(repr(run[c]) if isinstance(run[c], float) else run[c]
                                             for c in COLUMNS[1:]), run["folder"], protocol_name])
    return json_path, csv_path


def comparison_notes(runs):
    """Warnings when runs side by side were not scored on the same images."""
    if len(runs) < 2:
        return []
    stems = [frozenset(img["stem"] for img in run["images"]) for run in runs]
    if all(s == stems[0] for s in stems):
        return []
    counts = ", ".join(f"{run['label']}: {run['n']}" for run in runs)
    return [f"note: the runs were scored on different images ({counts}); test.py scores only "
            f"--num_test images (default 50), so pass the same --num_test to every run before comparing."]


def main(args):
    protocol_name = getattr(args, "protocol", PROTOCOLS[0])   # callers such as `mrff demo` may leave it out
    folders = list(args.results)
    labels = [s.strip() for s in args.labels.split(",")] if args.labels else None
    if labels is not None and len(labels) != len(folders):
        print(f"mrff evaluate: --labels names {len(labels)} runs but {len(folders)} RESULTS_DIRs were given.",
              file=sys.stderr)
        return 2
    problems, found = [], []
    for i, folder in enumerate(folders):
        try:
            found.append((labels[i] if labels else run_label(folder), run_folder(folder),
                          result_pairs(folder)))
        except ResultsError as exc:
            problems.append(str(exc))
    if problems:
        for line in problems:
            print(f"mrff evaluate: {line}", file=sys.stderr)
        return 2

    runs = []
    try:
        for label, folder, pairs in found:
            runs.append(summarise(label, folder, score_pairs(pairs, label, protocol_name)))
    except (ResultsError, ValueError) as exc:   # unreadable image, size mismatch
        print(f"mrff evaluate: {exc}", file=sys.stderr)
        return 2

    print(f"protocol: {protocol_name}")
    print(format_table(runs))
    for note in comparison_notes(runs):
        print(note)
    prefix = os.path.abspath(args.out) if args.out else os.path.join(found[0][1], "evaluation")
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    json_path, csv_path = write_outputs(prefix, runs, protocol_name)
    print(f"wrote {json_path} and {csv_path}")
    return 0
