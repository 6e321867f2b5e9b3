"""`mrff evaluate RESULTS_DIR [RESULTS_DIR ...]` or `mrff evaluate --fake DIR [--fake DIR ...] --real DIR`:
the paper's Table 3 (SSIM, PSNR) and the field's set metrics (FID, KID, LPIPS, DISTS; docs/metrics.md).

Two forms of input.  `--fake DIR --real DIR`: any folder of generated images (what `mrff generate`
wrote, or a peer method's outputs) against a folder of real ones, matched by file stem (`I00012.png`
vs `I00012.jpg`).  Every fake needs its real; reals without a fake are left out, with a note.  Of
`mrff generate`'s side files, `<name>_attention_k.png` is skipped and `<name>_grey.png` (written by
`--also_grey` beside a palette output) is scored in place of `<name>.png`.  `--fake` may be repeated
to set several methods side by side against one real folder.  The other form:

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

Set metrics, on the same images (8-bit grey, repeated to 3 channels): FID and KID from the Inception
network (`mrff_plugin.inception`, `mrff_plugin.metrics_fid`; left out, with one line saying how to
install it, when its file is absent; N >= 2 needed), and per-image LPIPS and DISTS when their ImageNet
backbones are in torchvision's cache or given with `--backbone_weights` (`mrff_plugin.metrics_perceptual`;
otherwise one line says which file to put where).  Below 2048 images one line says that FID is biased
by the set size and names KID as the figure to read.

Output: a table with, per run, the mean and standard deviation (sample, ddof 1)
of SSIM and PSNR over its N images, FID, KID (mean and std over subsets) and LPIPS / DISTS (mean,
std) where computed, one row per run so that runs (e.g. the
`unet_256` baseline and the fusion model) read side by side; and, at `--out
PREFIX` (default: `evaluation` inside the first RESULTS_DIR or --fake DIR), `PREFIX.json` (protocol, per-run
summary, per-image scores) and `PREFIX.csv` (the summary rows; the set metrics' columns after the
original ones, empty where left out). PSNR of an image identical to its reference
is +inf: shown as `inf` in the table and CSV, `null` in the JSON.

`score_folders(fake_dir, real_dir)` gives one run's summary (the JSON's run entry) to scripts.
"""
import csv
import io
import json
import math
import os
import re
import statistics
import sys

from ..datasets.images import IMAGE_EXTENSIONS
from ..durable import atomic_write_text
from ..errors import MrffError
from ..metrics import summarise
from ..radiometric.measure import add_arguments as add_radiometric_arguments

FAKE_SUFFIX, REAL_SUFFIX = "_fake_B", "_real_B"
BATCH = 16   # images scored per torchmetrics call
PROTOCOLS = ("grey", "released")   # grey: 8-bit grey, Gaussian 11/1.5 (default); released: the authors' evaluation


class ResultsError(MrffError, ValueError):
    """A results folder that cannot be evaluated; the message names it and the fix."""


LPIPS_NETS = ("alex", "vgg", "squeeze")   # torchmetrics' LPIPS heads (metrics_perceptual.LPIPS_BACKBONES)
# mrff generate's files beside an output <name>.png: the attention maps and --also_grey's grey twin
SIDE_FILE = re.compile(r"^(?P<stem>.+)_(?:attention_[1-4]|grey|counts|kelvin|celsius)$")   # and --lwir_out's TIFFs


def add_arguments(parser):
    parser.add_argument("results", nargs="*", metavar="RESULTS_DIR",
                        help="test.py result folder(s): <results_dir>/<name>/<phase>_<epoch> (or its images/)")
    parser.add_argument("--fake", action="append", default=None, metavar="DIR",
                        help="folder of generated images, matched by file stem to --real (repeat for several "
                             "methods); instead of RESULTS_DIR")
    parser.add_argument("--real", default=None, metavar="DIR", help="folder of the real images, with --fake")
    parser.add_argument("--labels", default=None,
                        help="comma-separated run names for the table, one per RESULTS_DIR or --fake "
                             "(default: <name>/<phase>_<epoch> from the folder, or the --fake folder's name)")
    parser.add_argument("--backbone_weights", action="append", default=None, metavar="PATH",
                        help="torchvision's ImageNet weights file for LPIPS/DISTS (alexnet-owt-7be5be79.pth, "
                             "vgg16-397923af.pth, squeezenet1_1-b8a52dc0.pth; recognised by its sha256) when it "
                             "is not in $TORCH_HOME/hub/checkpoints/; repeat for several")
    parser.add_argument("--lpips_net", choices=LPIPS_NETS, default=LPIPS_NETS[0],
                        help="LPIPS backbone: alex (default; needs alexnet-owt-7be5be79.pth), vgg or squeeze")
    parser.add_argument("--protocol", choices=PROTOCOLS, default=PROTOCOLS[0],
                        help="grey: 8-bit grey SSIM (Gaussian 11, sigma 1.5) and PSNR (default) | released: the "
                             "authors' evaluation, 3-channel SSIM (uniform 7x7, sample covariance) averaged over "
                             "channels and PSNR over the 3 channels")
    parser.add_argument("--out", default=None, metavar="PREFIX",
                        help="write PREFIX.json and PREFIX.csv (default: <first RESULTS_DIR or --fake DIR>/evaluation)")
    add_radiometric_arguments(parser)   # --lwir_range, --calibration


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


# ---------------------------------------------------------------- reading two folders (--fake / --real)

def _stem_files(folder, flag):
    """{stem: path} of the images in a folder; ResultsError if it is missing, empty or has one stem twice."""
    folder = os.path.abspath(os.path.expanduser(folder))
    if not os.path.isdir(folder):
        raise ResultsError(f"{flag} {folder} {'is a file' if os.path.exists(folder) else 'does not exist'}; "
                           f"give a folder of images.")
    files = {}
    for name in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(name)
        if ext.lower() not in IMAGE_EXTENSIONS or not os.path.isfile(os.path.join(folder, name)):
            continue
        if stem in files:
            raise ResultsError(f"{flag} {folder} holds {os.path.basename(files[stem])} and {name}, one stem twice; "
                               f"keep one of them.")
        files[stem] = os.path.join(folder, name)
    if not files:
        raise ResultsError(f"{flag} {folder} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))}).")
    return files


def folder_pairs(fake_dir, real_dir):
    """([(stem, fake path, real path)] sorted by stem, notes) of a folder of fakes and one of reals, matched by
    stem (module docstring); ResultsError if a fake has no real."""
    fakes, reals = _stem_files(fake_dir, "--fake"), _stem_files(real_dir, "--real")
    for stem in sorted(fakes):
        side = SIDE_FILE.match(stem)
        if side and side["stem"] in fakes and stem not in reals:
            path = fakes.pop(stem)
            if stem.endswith("_grey"):   # --also_grey's twin of a palette output: the grey image is the one scored
                fakes[side["stem"]] = path
    lonely = sorted(fakes.keys() - reals.keys())
    if lonely:
        raise ResultsError(f"--fake {os.path.abspath(fake_dir)}: {len(lonely)} of {len(fakes)} images have no image "
                           f"of the same stem in --real {os.path.abspath(real_dir)} (first: "
                           f"{os.path.basename(fakes[lonely[0]])}); give the matching real folder or remove the strays.")
    unused = len(reals) - len(fakes)
    notes = [f"note: {unused} of {len(reals)} images in {os.path.abspath(real_dir)} have no fake and are left out."
             ] if unused else []
    return [(stem, fakes[stem], reals[stem]) for stem in sorted(fakes)], notes


# ---------------------------------------------------------------- scoring

class SetMetrics:
    """The networks of the set metrics that can run here, and one line for each that cannot."""

    def __init__(self, backbone_weights=(), lpips_net=LPIPS_NETS[0]):
        from .. import inception
        from ..metrics_perceptual import Perceptual
        self.notes = []
        try:
            self.inception = inception.load()
        except inception.InceptionMissing as exc:
            self.inception = None
            self.notes.append(f"FID and KID left out: {exc}")
        self.perceptual = Perceptual(lpips_net, backbone_weights or ())
        self.notes.extend(self.perceptual.notes)


def score_pairs(pairs, label="", protocol_name=PROTOCOLS[0], set_metrics=None, real_features=None):
    """Per-image SSIM and PSNR of [(stem, fake, real)] under a protocol: list of (stem, ssim, psnr), with a
    tqdm bar.  With `set_metrics` (SetMetrics), the same pass also gives the Inception features of fakes and
    reals and per-image LPIPS / DISTS: returns (scores, extra) then, extra = {'fake_features': (N, 2048),
    'real_features': (N, 2048), 'lpips': [...], 'dists': [...]} (what was computed).  `real_features`,
    {real path: features}, is filled and reused, so reals shared by several runs go through Inception once."""
    import torch
    from tqdm import tqdm
    from ..metrics import grey_u8, luma_u8, rgb_u8, scores_released_u8, scores_u8
    released = protocol_name == "released"
    read, scores_of = (rgb_u8, scores_released_u8) if released else (grey_u8, scores_u8)
    network = set_metrics.inception if set_metrics else None
    perceptual = set_metrics.perceptual if set_metrics and set_metrics.perceptual.networks else None
    real_features = {} if real_features is None else real_features

    scores, batch = [], []
    extra = {k: [] for k in perceptual.networks} if perceptual else {}
    if network is not None:
        from ..inception import FeatureBatches
        fake_batches, real_batches = FeatureBatches(network), FeatureBatches(network, known=real_features)

    def flush():
        fakes = torch.stack([torch.from_numpy(item[1]) for item in batch])
        reals = torch.stack([torch.from_numpy(item[2]) for item in batch])
        ssim, psnr = scores_of(fakes, reals)
        scores.extend((stem, float(s), float(p)) for (stem, _, _, _), s, p in zip(batch, ssim, psnr))
        if network is not None or perceptual is not None:
            grey_fakes, grey_reals = ((luma_u8(x.permute(0, 3, 1, 2)) for x in (fakes, reals)) if released
                                      else (fakes, reals))
        if network is not None:
            fake_batches.add([len(scores) - len(batch) + i for i in range(len(batch))], grey_fakes)
            real_batches.add([item[3] for item in batch], grey_reals)
        if perceptual is not None:
            for name, values in perceptual.scores(grey_fakes, grey_reals).items():
                extra[name].extend(float(v) for v in values)
        batch.clear()

    with tqdm(total=len(pairs), desc=label or "scoring", unit="img", leave=False, file=sys.stderr,
              disable=None) as bar:   # no bar when stderr is not a terminal
        for stem, fake_path, real_path in pairs:
            fake, real = read(fake_path), read(real_path)
            if fake.shape != real.shape:
                raise ResultsError(f"{fake_path} is {fake.shape[1]}x{fake.shape[0]} but {real_path} is "
                                   f"{real.shape[1]}x{real.shape[0]}; a fake and its real must have the same size.")
            if batch and batch[0][1].shape != fake.shape:
                flush()
            batch.append((stem, fake, real, real_path))
            if len(batch) == BATCH:
                flush()
            bar.update()
        if batch:
            flush()
    if set_metrics is None:
        return scores
    if network is not None:
        extra["fake_features"] = fake_batches.get(list(range(len(scores)))).numpy()
        extra["real_features"] = real_batches.get([real_path for _, _, real_path in pairs]).numpy()
    return scores, extra


def _mean_std(values):
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise_run(label, folder, scores, extra):
    """`metrics.summarise` (SSIM, PSNR) plus FID, KID and LPIPS / DISTS where computed (None where left out)."""
    from .. import metrics_fid
    run = summarise(label, folder, scores)
    run.update({key: None for key in SET_COLUMNS})
    n = len(scores)
    if extra.get("fake_features") is not None and n >= metrics_fid.MIN_IMAGES:
        run["fid"] = metrics_fid.fid(extra["fake_features"], extra["real_features"])
        run["kid_mean"], run["kid_std"] = metrics_fid.kid(extra["fake_features"], extra["real_features"])
        run["kid_subset_size"] = metrics_fid.kid_subset_size(n, n)
    for name in ("lpips", "dists"):
        if extra.get(name):
            run[f"{name}_mean"], run[f"{name}_std"] = _mean_std(extra[name])
            for image, value in zip(run["images"], extra[name]):
                image[name] = value
    return run


def score_folders(fake_dir, real_dir, label=None, protocol_name=PROTOCOLS[0], backbone_weights=(),
                  lpips_net=LPIPS_NETS[0], set_metrics=None):
    """One run's summary of a folder of fakes against a folder of reals (the JSON's run entry: SSIM, PSNR,
    FID, KID, LPIPS, DISTS where they can run, N, per-image scores, and 'notes').  Pass one `SetMetrics`
    to score several folders without loading the networks again."""
    pairs, notes = folder_pairs(fake_dir, real_dir)
    set_metrics = set_metrics or SetMetrics(backbone_weights, lpips_net)
    scores, extra = score_pairs(pairs, label or "", protocol_name, set_metrics)
    run = summarise_run(label or os.path.basename(os.path.abspath(fake_dir)), os.path.abspath(fake_dir),
                        scores, extra)
    run["notes"] = set_metrics.notes + notes + fid_bias_notes([run])
    return run


# ---------------------------------------------------------------- reporting

COLUMNS = ("run", "ssim_mean", "ssim_std", "psnr_mean", "psnr_std", "n")
SET_COLUMNS = ("fid", "kid_mean", "kid_std", "kid_subset_size", "lpips_mean", "lpips_std", "dists_mean", "dists_std")
# table headings and formats of the set metrics, in table order; a group is shown when any run has it
SET_TABLE = (("FID", (("FID", "fid", "{:.2f}"),)),
             ("KID", (("KID mean", "kid_mean", "{:.5f}"), ("KID std", "kid_std", "{:.5f}"))),
             ("LPIPS", (("LPIPS mean", "lpips_mean", "{:.4f}"), ("LPIPS std", "lpips_std", "{:.4f}"))),
             ("DISTS", (("DISTS mean", "dists_mean", "{:.4f}"), ("DISTS std", "dists_std", "{:.4f}"))))


def format_table(runs):
    """Table 3 layout: one row per run, SSIM and PSNR mean/std, the set metrics where computed, and N."""
    shown = [col for _, group in SET_TABLE if any(run.get(group[0][1]) is not None for run in runs) for col in group]
    header = (["Run", "SSIM mean", "SSIM std", "PSNR mean (dB)", "PSNR std"] + [h for h, _, _ in shown] + ["N"])
    rows = [header]
    for run in runs:
        rows.append([run["label"], f"{run['ssim_mean']:.4f}", f"{run['ssim_std']:.4f}",
                     f"{run['psnr_mean']:.3f}", f"{run['psnr_std']:.3f}"]
                    + ["-" if run.get(key) is None else fmt.format(run[key]) for _, key, fmt in shown]
                    + [str(run["n"])])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def fid_bias_notes(runs):
    """The one line on FID's bias when a run has fewer than 2048 images and FID was computed."""
    from ..metrics_fid import BIAS_N
    small = [run["n"] for run in runs if run.get("fid") is not None and run["n"] < BIAS_N]
    if not small:
        return []
    return [f"note: FID is biased by the number of images: below {BIAS_N} (here N = {min(small)}) it comes out "
            f"high and changes with N, so compare FIDs only at equal N; KID is unbiased, read KID for sets this small."]


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


def set_metrics_protocol(set_metrics):
    """What the set metrics mean, for the JSON (docs/metrics.md)."""
    from .. import inception, metrics_fid
    info = {"images": "8-bit grey (as SSIM's), repeated to 3 channels"}
    if set_metrics is not None and set_metrics.inception is not None:
        info["fid"] = {"network": f"Inception-v3 2015-12-05 (TorchScript {inception.PACKAGE}/{inception.FILE_NAME} "
                                  f"from {inception.DISTRIBUTION} {inception.VERSION})",
                       "sha256": inception.SHA256, "resize": "TensorFlow 1.x bilinear to 299x299, float32",
                       "input": "(v - 128) / 128", "features": "pool3, 2048", "covariance": "sample (ddof 1)"}
        info["kid"] = {"kernel": "(x.y / 2048 + 1) ** 3", "estimate": "unbiased MMD^2",
                       "subsets": metrics_fid.KID_SUBSETS, "subset_size": "min(1000, N // 2), at least 2",
                       "seed": metrics_fid.KID_SEED, "std": "population std over subsets"}
    if set_metrics is not None:
        for name, network in set_metrics.perceptual.networks.items():
            info[name] = {"library": "torchmetrics", "std": "sample standard deviation over images (ddof 1)",
                          **({"net": set_metrics.perceptual.lpips_net} if name == "lpips" else {"net": "vgg16"})}
    return info


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


FOLDER_PAIRS = "<stem>.* in --fake vs <stem>.* in --real (the same file stem)"


def write_outputs(prefix, runs, protocol_name=PROTOCOLS[0], set_metrics=None, pairs=None):
    """PREFIX.json (protocol, runs with per-image scores) and PREFIX.csv (summary); returns both paths.
    `pairs`: how fakes and reals were paired, when not test.py's <stem>_fake_B / <stem>_real_B."""
    json_path, csv_path = prefix + ".json", prefix + ".csv"
    described = {**protocol(protocol_name), "set_metrics": set_metrics_protocol(set_metrics)}
    if pairs:
        described["pairs"] = pairs
    atomic_write_text(json_path, json.dumps(_json_safe({"protocol": described, "runs": runs}), indent=2) + "\n")

    def cell(value):
        return "" if value is None else repr(value) if isinstance(value, float) else value

    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow(COLUMNS + ("folder", "protocol") + SET_COLUMNS)
    for run in runs:
        writer.writerow([run["label"], *(cell(run[c]) for c in COLUMNS[1:]), run["folder"], protocol_name,
                         *(cell(run.get(c)) for c in SET_COLUMNS)])
    atomic_write_text(csv_path, table.getvalue())
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


def _found_runs(args):
    """[(label, folder, pairs)] and notes of the runs named on the command line; ResultsError lines, all of them."""
    fakes = getattr(args, "fake", None)
    real = getattr(args, "real", None)
    folders = list(getattr(args, "results", None) or [])
    if folders and (fakes or real):
        raise ResultsError("give either RESULTS_DIR (test.py folders) or --fake DIR --real DIR, not both.")
    if fakes and not real or real and not fakes:
        raise ResultsError("--fake and --real go together: --fake DIR [--fake DIR ...] --real DIR.")
    if not folders and not fakes:
        raise ResultsError("nothing to score: give RESULTS_DIR (test.py folders) or --fake DIR --real DIR.")
    named = fakes or folders
    labels = [s.strip() for s in args.labels.split(",")] if args.labels else None
    if labels is not None and len(labels) != len(named):
        raise ResultsError(f"--labels names {len(labels)} runs but {len(named)} "
                           f"{'--fake folders' if fakes else 'RESULTS_DIRs'} were given.")
    problems, found, notes = [], [], []
    for i, folder in enumerate(named):
        try:
            if fakes:
                pairs, more = folder_pairs(folder, real)
                notes.extend(note for note in more if note not in notes)
                found.append((labels[i] if labels else os.path.basename(os.path.abspath(folder)),
                              os.path.abspath(folder), pairs))
            else:
                found.append((labels[i] if labels else run_label(folder), run_folder(folder), result_pairs(folder)))
        except ResultsError as exc:
            problems.append(str(exc))
    if problems:
        raise ResultsError("\n".join(problems))
    return found, notes


def check_unread_flags(args, protocol_name):
    """ResultsError (one sentence) for a flag the chosen scoring would not read: --lwir_range's protocol takes no
    --protocol, --lpips_net or --backbone_weights, and --calibration is read only with --lwir_range."""
    radiometric = getattr(args, "lwir_range", None)
    unused = [flag for flag, given in [
        ("--backbone_weights", getattr(args, "backbone_weights", None)),
        ("--lpips_net", getattr(args, "lpips_net", LPIPS_NETS[0]) != LPIPS_NETS[0]),
        ("--protocol", protocol_name != PROTOCOLS[0])] if given]
    if radiometric and unused:
        raise ResultsError(f"--lwir_range scores SSIM/PSNR and MAE at full depth, by its own protocol "
                           f"(docs/radiometric.md); leave out {' and '.join(unused)} with it.")
    if getattr(args, "calibration", None) and not radiometric:
        raise ResultsError("--calibration gives --lwir_range's MAE in kelvin and is not read without it; pass "
                           "--lwir_range too, or leave --calibration out.")


def output_prefix(args, found):
    """PREFIX of the files evaluate writes (--out; default <first folder>/evaluation); ResultsError, before anything
    is scored, when PREFIX.json or PREFIX.csv is a file it reads: --calibration, or --lwir_range's run map (the
    images it reads are never .json or .csv)."""
    from ..generate.files import same_file
    from ..radiometric.lwir_range import RANGE_FILE
    from ..radiometric.measure import range_folder
    out = getattr(args, "out", None)
    prefix = os.path.abspath(out) if out else os.path.join(found[0][1], "evaluation")
    read = [(getattr(args, "calibration", None), "--calibration")]
    folder = range_folder(getattr(args, "lwir_range", None) or [])
    if folder is not None:
        read.append((os.path.join(folder, RANGE_FILE), "the run's LWIR map, from --lwir_range"))
    for written in (prefix + ".json", prefix + ".csv"):
        for path, what in read:
            if path and os.path.isfile(path) and same_file(written, path):
                given = f"--out {out}" if out else "the default --out"
                raise ResultsError(f"{given} would write {written} over {path} ({what}), which mrff evaluate reads; "
                                   f"pass another --out.")
    return prefix


def main(args):
    protocol_name = getattr(args, "protocol", PROTOCOLS[0])   # callers such as `mrff demo` may leave it out
    try:
        found, notes = _found_runs(args)
    except ResultsError as exc:
        for line in str(exc).splitlines():
            print(f"mrff evaluate: {line}", file=sys.stderr)
        return 2
    try:
        check_unread_flags(args, protocol_name)
        prefix = output_prefix(args, found)
    except ResultsError as exc:
        print(f"mrff evaluate: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "lwir_range", None):   # radiometric images at full depth (radiometric/measure.py)
        from ..radiometric.measure import report
        return report(found, args.lwir_range, args.calibration, prefix)
    set_metrics = SetMetrics(getattr(args, "backbone_weights", None) or (),
                             getattr(args, "lpips_net", None) or LPIPS_NETS[0])   # BackboneError: one line (cli)

    runs, real_features = [], {}
    try:
        for label, folder, pairs in found:
            scores, extra = score_pairs(pairs, label, protocol_name, set_metrics, real_features)
            runs.append(summarise_run(label, folder, scores, extra))
    except (ResultsError, ValueError) as exc:   # unreadable image, size mismatch
        print(f"mrff evaluate: {exc}", file=sys.stderr)
        return 2

    print(f"protocol: {protocol_name}")
    print(format_table(runs))
    for note in set_metrics.notes + notes + comparison_notes(runs) + fid_bias_notes(runs):
        print(note)
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    json_path, csv_path = write_outputs(prefix, runs, protocol_name, set_metrics,
                                        FOLDER_PAIRS if getattr(args, "fake", None) else None)
    print(f"wrote {json_path} and {csv_path}")
    return 0
