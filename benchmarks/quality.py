"""Quality study: does fusion beat pix2pix beyond seed noise?  Several seeds, both architectures, a detail metric.

    .venv/bin/python benchmarks/quality.py                 # the study (resumable), figures, report
    .venv/bin/python benchmarks/quality.py --only "fusion paper" --only unet_128
    .venv/bin/python benchmarks/quality.py --scale paper --device cuda   # the paper's scale, on a GPU
    .venv/bin/python benchmarks/quality.py --quick          # the machinery in seconds (figures mean nothing)

Version 1 of the study (SCALES below: data, schedule, protocol).  Its learning-rate schedule was
changed after the first run's results were seen (constant, then the host's linear decay; both runs
are in benchmarks/README.md), so it was not fixed before every comparison; version 2, fixed in
benchmarks/protocols/quality_v2.md before its first run, is benchmarks/quality_v2.py.

Models (MODELS): the U-Net baseline of the same depth for the image size (`unet_128` at
128x128, `unet_256` at 256x256), `unetpp_fusion --mrff_arch paper`, `--mrff_arch released`,
and the ablations `--mrff_fusion average` and `--mrff_fusion last` of the paper's network.
Every model sees the same data, the same seeds, pair order, crops and flips, and the same schedule.
A seed sets the initial weights (torch.manual_seed) and the order, crops and flips of the pairs.

Data: synthetic day pairs (mrff_plugin.synth.render_pair), rendered at the load size and
randomly cropped to the crop size and flipped, as the host's train.py does with
`--load_size L --crop_size C` (`resize_and_crop`, no resize needed: the frames are made at L).
Held-out pairs (other render seeds) are centre-cropped.  The training set is larger than the
number of iterations, so no pair is seen twice and no model can overfit; the gap between
training-pair and held-out scores is reported all the same.

Training: the host's pix2pix step (benchmarks/pix2pix_step.py: BatchNorm, dropout, PatchGAN
with --ndf = --ngf, vanilla GAN + 100 L1, Adam 2e-4 / 0.5), batch 1, channels_last, fp32
(this study's CPU has no native bf16; `--amp` exists for a machine that has).  The learning
rate follows the host's default `--lr_policy linear` (its get_scheduler, one iteration per
epoch): constant for `iters - decay_iters` iterations, then linear towards 0 over the last
`decay_iters`, as `--n_epochs N --n_epochs_decay N` with the host's equal halves.

Protocol: every `eval_every` iterations the generator scores the held-out pairs as the host's
`test.py` runs it by default, i.e. without `--eval`: train mode, one image at a time, so
BatchNorm normalises with the image's own statistics and dropout is on (its draws fixed by
EVAL_SEED; the running statistics are put back afterwards, so scoring does not change the
model).  Seed 0's runs are also scored in eval mode (running statistics, no dropout, as with
`--eval`), to show the difference.  Metrics on 8-bit grey images (mrff_plugin.metrics):
SSIM and PSNR (the Table-3 protocol) and the detail score SCC (torchmetrics'
spatial correlation coefficient: correlation of high-passed images).

Ceiling: the privileged oracle `render_pair(drop=...)`: the renderer itself, without the
LWIR terms the visible image cannot show (temporal noise, absorptance patchiness, thermal lag),
scored against the real held-out LWIR as if it were a generator.

Files: this one (the fixed studies, the results file, the table), quality_runs.py (one
(model, seed): data, training, scoring), quality_stats.py (seed statistics, bootstrap CIs),
quality_figures.py (the PNGs).

Resumable: every (model, seed) is written into the results file (atomically) as soon as it
finishes and is skipped when the command runs again; a killed run loses at most the run it
was in.  Results: benchmarks/results/quality.json and the PNGs beside it
(benchmarks/quality_figures.py); the cache (data, seed-0 weights for the pictures) in
benchmarks/out/.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from quality_runs import BASELINE, MODELS, OUT, load_data, machine, model_options, oracle_ceiling, train_run  # noqa: E402
from quality_stats import summarise  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"

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


# ---------------------------------------------------------------- results file

def read_results(path, study):
    """The runs already in the results file (a dict keyed 'model/seed'); refuses a file of another study."""
    if not path.is_file():
        return {}
    report = json.loads(path.read_text())
    if report.get("study") != study:
        raise SystemExit(f"quality.py: {path} holds a study with other settings ({report.get('study')}); "
                         f"pass --out with a new file name, or delete it to start this study afresh.")
    return report.get("runs", {})


def write_results(path, study, scale, runs, ceiling, started):
    """Write every finished run and the summary so far, atomically (a kill never leaves half a file)."""
    report = {"scale": scale, "study": study, "models": {k: model_options(k, study) for k in MODELS},
              "baseline": BASELINE, "machine": machine(), "ceiling": ceiling,
              "summary": summarise(runs, study, list(MODELS), BASELINE), "runs": runs,
              "study_seconds": round(sum(r["seconds"] for r in runs.values()), 1), "this_sitting_started": started}
    return write_json(path, report)


def write_json(path, report):
    """`report` as JSON at `path`, through a temporary file and a rename (never half a file); returns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, path)
    return report


# ---------------------------------------------------------------- main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", choices=sorted(SCALES), default="cpu", help="the fixed study (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="same as --scale quick, written to benchmarks/out/")
    p.add_argument("--only", action="append", choices=list(MODELS), help="run only this model (repeatable)")
    p.add_argument("--device", default="cpu", help="cpu | cuda (default: %(default)s)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--out", type=Path, default=None,
                   help="results file (default: benchmarks/results/quality.json; quick: benchmarks/out/quality_quick.json)")
    p.add_argument("--no_figures", action="store_true", help="skip the PNGs (benchmarks/quality_figures.py)")
    args = p.parse_args(argv)
    if args.quick:
        args.scale = "quick"
    if args.out is None:
        args.out = RESULTS / "quality.json" if args.scale == "cpu" else OUT / f"quality_{args.scale}.json"
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    study = dict(SCALES[args.scale], seeds=list(SCALES[args.scale]["seeds"]))
    runs = read_results(args.out, study)
    data = load_data(study, OUT if args.scale != "quick" else args.out.parent)
    ceiling = oracle_ceiling(data, study)
    weights_dir = (OUT if args.scale != "quick" else args.out.parent) / f"quality_weights_{args.scale}"
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
        record = train_run(label, seed, data, study, device, weights_dir, progress)
        runs[f"{label}/seed{seed}"] = record
        write_results(args.out, study, args.scale, runs, ceiling, started)
        last = record["curve"][-1]
        print(f"  done {label} seed {seed}: SSIM {last['ssim_mean']:.4f} PSNR {last['psnr_mean']:.2f} "
              f"SCC {last['scc_mean']:.4f} in {record['seconds'] / 60:.1f} min", flush=True)
    report = write_results(args.out, study, args.scale, runs, ceiling, started)
    if not args.no_figures:
        from quality_figures import draw_all
        draw_all(report, data, weights_dir, args.out.parent, device)
    print_table(report)
    return report


def print_table(report):
    """The study's table in Markdown (as benchmarks/README.md shows it): final held-out scores, mean ± seed
    std, the 95% CI of the paired difference from the baseline, iterations to the baseline's final SSIM."""
    summary, study = report["summary"], report["study"]
    print(f"| model | seeds | SSIM | PSNR (dB) | SCC | SSIM - {BASELINE} [95% CI] | PSNR - {BASELINE} [95% CI] | "
          f"SCC - {BASELINE} [95% CI] | iterations to {BASELINE}'s final SSIM | s / iteration |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, entry in summary["models"].items():
        f = entry.get("final")
        if not f:
            continue
        diff = summary["vs_baseline"].get(label) or {}

        def ci(metric, digits):
            d = diff.get(metric)
            return "-" if not d else (f"{d['mean']:+.{digits}f} [{d['ci95'][0]:+.{digits}f}, "
                                      f"{d['ci95'][1]:+.{digits}f}]")
        std = lambda m: "" if f[f"{m}_std"] is None else f" ± {f[m + '_std']:.{2 if m == 'psnr' else 4}f}"  # noqa: E731
        reached = entry.get("iters_to_baseline_final_ssim")
        to_base = "-" if "iters_to_baseline_final_ssim" not in entry else (
            f"not within {study['iters']}" if reached is None else f"{reached} ({reached / study['iters']:.2f})")
        print(f"| {label} | {entry['seeds']} | {f['ssim_mean']:.4f}{std('ssim')} | {f['psnr_mean']:.2f}{std('psnr')} | "
              f"{f['scc_mean']:.4f}{std('scc')} | {ci('ssim', 4)} | {ci('psnr', 2)} | {ci('scc', 4)} | {to_base} | "
              f"{entry['seconds_per_iter']:.2f} |")
    for name, c in report["ceiling"].items():
        print(f"oracle {name}: SSIM {c['ssim_mean']:.4f}, PSNR {c['psnr_mean']:.2f}, SCC {c['scc_mean']:.4f}")
    flat = summary.get("baseline_flat")
    if flat:
        print(f"baseline's last step {flat['last_step']:.4f} SSIM against its seed std {flat['seed_std']:.4f}: "
              f"{'flat' if flat['flat'] else 'not yet flat'}")
    print(f"study time so far: {report['study_seconds'] / 3600:.2f} h over {len(report['runs'])} runs")


if __name__ == "__main__":
    main()
