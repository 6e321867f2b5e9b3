"""Quality study, version 1: does fusion beat pix2pix beyond seed noise?  Seeds, both networks, a detail metric.

    python -m benchmarks.quality.v1                 # the study (resumable), figures, report
    python -m benchmarks.quality.v1 --only "fusion paper" --only unet
    python -m benchmarks.quality.v1 --scale paper --device cuda   # the paper's scale, on a GPU
    python -m benchmarks.quality.v1 --quick          # the machinery in seconds (figures mean nothing)
    python -m benchmarks.quality.v1 --figures_only   # redraw the PNGs from the results file and cached weights

This driver holds version 1's numbers (SCALES: data, schedule, protocol); it has no protocol file in
benchmarks/protocols/.  Its learning-rate schedule was changed after the first run's results were seen
(constant, then the host's linear decay; both runs are in benchmarks/README.md), so it was not fixed
before every comparison; version 2, fixed in benchmarks/protocols/quality_v2.md before its first run, is
benchmarks/quality/v2.py.

Models (MODELS): the U-Net baseline of the same depth for the image size (`unet_128` at 128x128,
`unet_256` at 256x256), `unetpp_fusion --mrff_arch paper`, `--mrff_arch released`, and the ablations
`--mrff_fusion average` and `--mrff_fusion last` of the paper's network.  Every model sees the same data,
the same seeds, pair order, crops and flips, and the same schedule.

Data (quality/data.py): synthetic day pairs rendered at the load size and randomly cropped to the crop
size and flipped, as the host's train.py does with `--load_size L --crop_size C`; held-out pairs (other
render seeds) are centre-cropped.  The training set is larger than the number of iterations, so no pair
is seen twice; the gap between training-pair and held-out scores is reported all the same.

Training (quality/train.py, train_run_v1): the host's pix2pix step, batch 1, channels_last, fp32 (this
study's CPU has no native bf16); the learning rate follows the host's default `--lr_policy linear`:
constant for `iters - decay_iters` iterations, then linear towards 0 over the last `decay_iters`.

Scoring (quality/score.py): every `eval_every` iterations the held-out pairs are scored as the host's
`test.py` runs by default (train mode, batch 1, dropout drawn from a fixed seed, running statistics put
back); seed 0's runs also in eval mode.  SSIM and PSNR (the Table-3 protocol) and the detail score SCC.
Ceiling: the privileged oracle, the renderer without the LWIR terms the visible image cannot show.
Statistics (quality/stats.py, summarise_v1): seed means and spreads, paired differences with bootstrap CIs.

Resumable: every (model, seed) is written into the results file (atomically) as soon as it finishes and is
skipped when the command runs again.  Results: benchmarks/results/quality.json and the PNGs beside it;
the cache (data, seed-0 weights for the pictures) in benchmarks/out/.
"""
import argparse
import json
import time
from pathlib import Path

import torch

from benchmarks.common import OUT, RESULTS, machine, write_json
from benchmarks.quality.data import synthetic_arrays
from benchmarks.quality.figures import draw_all_v1
from benchmarks.quality.score import oracle_ceiling
from benchmarks.quality.stats import print_table_v1, summarise_v1
from benchmarks.quality.train import train_run_v1

# label -> network options; the baseline's netG follows the image size
BASELINE = "unet"
MODELS = {
    "unet": {"netG": "unet_{size}"},
    "fusion paper": {"netG": "unetpp_fusion", "mrff_arch": "paper", "mrff_fusion": "nested"},
    "fusion released": {"netG": "unetpp_fusion", "mrff_arch": "released", "mrff_fusion": "nested"},
    "paper average": {"netG": "unetpp_fusion", "mrff_arch": "paper", "mrff_fusion": "average"},
    "paper last": {"netG": "unetpp_fusion", "mrff_arch": "paper", "mrff_fusion": "last"},
}

# Order of the runs: the headline comparison (baseline and paper, every seed) first, then the
# released network, then the ablations, so a partly finished study already answers the main question.
RUN_ORDER = ("unet", "fusion paper", "fusion released", "paper average", "paper last")

# The fixed studies.  cpu: sized for about 2.5 hours on a 2-core AVX2 CPU (40 GFLOP/s fp32
# matmul; benchmarks/README.md "Quality study" says how); paper: the paper's scale (256x256,
# ngf 64), for a GPU.
SCALES = {
    "cpu": dict(size=128, load=144, ngf=32, iters=600, decay_iters=300, eval_every=100,
                train_pairs=1000, test_pairs=50,
                train_scored=50, seeds=(0, 1, 2), amp="none"),
    "paper": dict(size=256, load=286, ngf=64, iters=30000, decay_iters=15000, eval_every=2500,
                  train_pairs=4000, test_pairs=200,
                  train_scored=100, seeds=(0, 1, 2), amp="none"),
    "quick": dict(size=128, load=144, ngf=8, iters=2, decay_iters=1, eval_every=1,
                  train_pairs=4, test_pairs=2,
                  train_scored=2, seeds=(0, 1), amp="none"),
}


def model_options(label, study):
    """`label`'s network options at the study's image size."""
    options = dict(MODELS[label])
    options["netG"] = options["netG"].format(size=study["size"])
    return options


# ---------------------------------------------------------------- results file

def read_results(path, study):
    """The runs already in the results file (a dict keyed 'model/seed'); refuses a file of another study."""
    if not path.is_file():
        return {}
    report = json.loads(path.read_text())
    if report.get("study") != study:
        raise SystemExit(f"quality v1: {path} holds a study with other settings ({report.get('study')}); "
                         f"pass --out with a new file name, or delete it to start this study afresh.")
    return report.get("runs", {})


def write_results(path, study, scale, runs, ceiling, started):
    """Write every finished run and the summary so far, atomically (a kill never leaves half a file)."""
    report = {"scale": scale, "study": study, "models": {k: model_options(k, study) for k in MODELS},
              "baseline": BASELINE, "machine": machine(), "ceiling": ceiling,
              "summary": summarise_v1(runs, study, list(MODELS), BASELINE), "runs": runs,
              "study_seconds": round(sum(r["seconds"] for r in runs.values()), 1), "this_sitting_started": started}
    return write_json(path, report)


# ---------------------------------------------------------------- main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", choices=sorted(SCALES), default="cpu", help="the fixed study (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="same as --scale quick, written to benchmarks/out/")
    p.add_argument("--only", action="append", choices=list(MODELS), help="run only this model (repeatable)")
    p.add_argument("--device", default="cpu", help="cpu | cuda (default: %(default)s)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--out", type=Path, default=None,
                   help="results file (default: benchmarks/results/quality.json; "
                        "quick: benchmarks/out/quality_quick.json)")
    p.add_argument("--no_figures", action="store_true", help="skip the PNGs (benchmarks/quality/figures.py)")
    p.add_argument("--figures_only", action="store_true",
                   help="train nothing: redraw the PNGs from the results file (--out) and the cached seed-0 weights")
    args = p.parse_args(argv)
    if args.quick:
        args.scale = "quick"
    if args.out is None:
        args.out = RESULTS / "quality.json" if args.scale == "cpu" else OUT / f"quality_{args.scale}.json"
    return args


def folders(scale, out):
    """(the data cache's folder, the seed-0 weights' folder) of a study at `scale` whose results are `out`."""
    cache = OUT if scale != "quick" else out.parent
    return cache, cache / f"quality_weights_{scale}"


def redraw(args):
    """The PNGs of the results file args.out, with its own scale's data and weights."""
    report = json.loads(args.out.read_text())
    cache, weights_dir = folders(report["scale"], args.out)
    data = synthetic_arrays(report["study"], cache)
    return draw_all_v1(report, data, weights_dir, args.out.parent, torch.device(args.device))


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.figures_only:
        return redraw(args)
    device = torch.device(args.device)
    study = dict(SCALES[args.scale], seeds=list(SCALES[args.scale]["seeds"]))
    runs = read_results(args.out, study)
    cache, weights_dir = folders(args.scale, args.out)
    data = synthetic_arrays(study, cache)
    ceiling = oracle_ceiling(data, study["size"])
    todo = [(label, seed) for label in RUN_ORDER if not args.only or label in args.only
            for seed in study["seeds"] if f"{label}/seed{seed}" not in runs]
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"quality study ({args.scale}): {len(runs)} runs done, {len(todo)} to go; results in {args.out}", flush=True)
    # ETA: seconds per iteration of each model, measured as its runs go (first guess: the fastest seen)
    rates = {r["model"]: r["seconds_per_iter"] for r in runs.values()}
    for n, (label, seed) in enumerate(todo, 1):
        def progress(it, rate, label=label, n=n):
            if it % 20 and it != study["iters"]:
                return
            rates[label] = rate
            left = (study["iters"] - it) * rate * 1.1
            for later, _ in todo[n:]:
                left += study["iters"] * rates.get(later, rate) * 1.1
            print(f"  [{n}/{len(todo)}] {label} seed {seed}: iteration {it}/{study['iters']}, {rate:.2f} s/it, "
                  f"ETA this run {(study['iters'] - it) * rate / 60:.1f} min, study {left / 60:.0f} min", flush=True)
        record = train_run_v1(label, model_options(label, study), seed, data, study, device, weights_dir, progress)
        runs[f"{label}/seed{seed}"] = record
        write_results(args.out, study, args.scale, runs, ceiling, started)
        last = record["curve"][-1]
        print(f"  done {label} seed {seed}: SSIM {last['ssim_mean']:.4f} PSNR {last['psnr_mean']:.2f} "
              f"SCC {last['scc_mean']:.4f} in {record['seconds'] / 60:.1f} min", flush=True)
    report = write_results(args.out, study, args.scale, runs, ceiling, started)
    if not args.no_figures:
        draw_all_v1(report, data, weights_dir, args.out.parent, device)
    print_table_v1(report)
    return report


if __name__ == "__main__":
    main()
