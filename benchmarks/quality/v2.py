"""Quality study, version 2: real LWIR (RoadScene) and synthetic scenes, compute-matched baseline, seed-level CIs.

    python -m benchmarks.quality.v2 --study roadscene   # resumable -> results/quality_v2_roadscene.json
    python -m benchmarks.quality.v2 --study synthetic   # -> results/quality_v2_synthetic.json
    python -m benchmarks.quality.v2 --study roadscene --quick          # the machinery in a minute
    python -m benchmarks.quality.v2 --study roadscene --figures_only   # redraw the PNGs from the results

The protocol -- data, split, models, widths, schedule, seeds, scoring, analysis -- is
benchmarks/protocols/quality_v2.md (PROTOCOL), committed before the first run; the constants below carry
it out (tests/test_quality_v2.py checks them against it) and every results file names it and the commit
that fixed it.  The layers it runs: quality/data.py (RoadScene's frame-number split, version 1's synthetic
pairs), quality/train.py (train_run_v2), quality/score.py (whole images, three ways of scoring),
quality/stats.py (summarise_v2: per-seed table, hierarchical bootstrap), quality/figures.py (draw_all_v2).
Resumable: each (model, seed) is written to the results file when it finishes and skipped when the
command runs again.
"""
import argparse
import json
from pathlib import Path

import torch

from benchmarks.common import OUT, RESULTS, ROADSCENE, commit_of, machine, write_json
from benchmarks.quality.data import roadscene_pairs, synthetic_pairs
from benchmarks.quality.figures import draw_all_v2
from benchmarks.quality.score import means
from benchmarks.quality.stats import print_tables_v2, summarise_v2
from benchmarks.quality.train import train_run_v2

PROTOCOL = "benchmarks/protocols/quality_v2.md"

# ---------------------------------------------------------------- the protocol's numbers

NDF = 16                  # the one discriminator of every model
CROP = 128                # training crops, at native resolution
ITERS, DECAY_ITERS = 2000, 1000   # host --lr_policy linear: constant 1000, then to 0 over 1000
EVAL_EVERY = 400          # learning-curve points (generate scoring)
PAD_MULTIPLE = 128        # held-out images padded to this (unet_128's need), the same input for every model
TEST_COUNT, FRAME_GAP = 34, 100   # RoadScene: the 34 highest frame numbers held out, 100 numbers left out below
TRAIN_SCORED_EVERY = 4    # RoadScene: every 4th training image (frame order) scored for the overfitting gap
SYNTHETIC = dict(load=144, train_pairs=1000, test_pairs=50, train_scored=50)   # version 1's synthetic data

MODELS = {
    "unet": dict(netG="unet_128", ngf=16),
    "unet matched": dict(netG="unet_128", ngf=40),
    "fusion paper": dict(netG="unetpp_fusion", ngf=16, mrff_arch="paper", mrff_fusion="nested"),
    "paper average": dict(netG="unetpp_fusion", ngf=16, mrff_arch="paper", mrff_fusion="average"),
    "fusion released": dict(netG="unetpp_fusion", ngf=16, mrff_arch="released", mrff_fusion="nested"),
    "released kaiming": dict(netG="unetpp_fusion", ngf=16, mrff_arch="released", mrff_fusion="nested",
                             init_type="kaiming"),
}
HEADLINE = ("unet", "unet matched", "fusion paper", "paper average")
COMPARISONS = (("fusion paper", "unet"), ("fusion paper", "unet matched"), ("fusion paper", "paper average"),
               ("fusion released", "unet"), ("released kaiming", "fusion released"))
BASELINE = "unet"


def run_order(study):
    """(label, seed) in the protocol's order: seed by seed over the headline models, then the released ones."""
    if study == "synthetic":
        return [(label, seed) for seed in (0, 1, 2) for label in HEADLINE] + \
               [("fusion released", 0), ("released kaiming", 0)]
    return [(label, seed) for seed in range(5) for label in HEADLINE] + \
        [("fusion released", 0), ("fusion released", 1), ("released kaiming", 0)] + \
        [("fusion released", seed) for seed in (2, 3, 4)]


def study_data(study, root=ROADSCENE):
    """The protocol's pairs of `study`: RoadScene split by frame number, or version 1's synthetic pairs."""
    if study == "roadscene":
        return roadscene_pairs(root, TEST_COUNT, FRAME_GAP, TRAIN_SCORED_EVERY)
    return synthetic_pairs(SYNTHETIC, CROP, OUT)


def summarise(runs):
    """The protocol's analysis of `runs` ({"<model>/seed<k>": run record}): per-model tables and the
    COMPARISONS with their hierarchical (seeds, then images) and image-only 95% intervals."""
    return summarise_v2(runs, MODELS, COMPARISONS, BASELINE)


# ---------------------------------------------------------------- driver

def protocol_commit():
    """The commit that last changed the protocol file (the results name it)."""
    return commit_of(PROTOCOL)


def settings(study, quick):
    return {"study": study, "quick": quick, "iters": 4 if quick else ITERS, "decay_iters": 2 if quick else DECAY_ITERS,
            "eval_every": 2 if quick else EVAL_EVERY, "crop": CROP, "ndf": NDF, "pad_multiple": PAD_MULTIPLE,
            "models": MODELS}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--study", choices=("roadscene", "synthetic"), default="roadscene")
    p.add_argument("--quick", action="store_true", help="4 iterations, 2 images, 2 runs: the machinery only")
    p.add_argument("--data", type=Path, default=ROADSCENE, help="the RoadScene folder (default: ../shared/data)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the protocol: 1)")
    p.add_argument("--out", type=Path, default=None,
                   help="results file (default results/quality_v2_<study>.json; quick: benchmarks/out/)")
    p.add_argument("--max_runs", type=int, default=None, help="stop after this many runs (resume later)")
    p.add_argument("--only", action="append", choices=list(MODELS),
                   help="run only this model's runs of the protocol's order (repeatable), e.g. in a second process "
                        "on the other core with its own --out; --merge joins the files")
    p.add_argument("--seed", type=int, action="append", help="run only this seed's runs (repeatable)")
    p.add_argument("--merge", type=Path, action="append", default=[],
                   help="results file of another process of the same study: its runs are added (runs already here "
                        "are kept) before the summary is written")
    p.add_argument("--no_figures", action="store_true")
    p.add_argument("--figures_only", action="store_true",
                   help="train nothing: redraw the PNGs from the results file (--out) and the cached seed-0 weights")
    args = p.parse_args(argv)
    if args.out is None:
        args.out = (OUT / f"quality_v2_{args.study}_quick.json" if args.quick
                    else RESULTS / f"quality_v2_{args.study}.json")
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.study == "roadscene" and not args.data.is_dir():
        raise SystemExit(f"quality v2: {args.data} does not exist; pass --data <the RoadScene folder>.")
    data = study_data(args.study, args.data)
    setup = settings(args.study, args.quick)
    order = run_order(args.study)
    if args.quick:
        data = {k: (v[:2] if k in ("test", "train_scored") else v) for k, v in data.items()}
        order = [("unet", 0), ("fusion paper", 0)]
    weights_dir = OUT / f"quality_v2_weights_{args.study}{'_quick' if args.quick else ''}"
    report = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if report and report.get("settings") != json.loads(json.dumps(setup)):
        raise SystemExit(f"quality v2: {args.out} holds a study with other settings; pass another --out.")
    if args.figures_only:
        if not report:
            raise SystemExit(f"quality v2: --figures_only needs a results file; {args.out} does not exist.")
        return draw_all_v2(report, data, weights_dir, args.out.parent, device)
    runs = report.get("runs", {})
    for other in args.merge:
        theirs = json.loads(other.read_text())
        if theirs.get("settings") != json.loads(json.dumps(setup)):
            raise SystemExit(f"quality v2: --merge {other} holds a study with other settings; it was not merged.")
        runs.update({key: run for key, run in theirs["runs"].items() if key not in runs})
    todo = [(label, seed) for label, seed in order if f"{label}/seed{seed}" not in runs
            and (not args.only or label in args.only) and (not args.seed or seed in args.seed)][:args.max_runs]
    print(f"quality v2 ({args.study}): {len(runs)} runs done, {len(todo)} to go; results in {args.out}", flush=True)
    for n, (label, seed) in enumerate(todo, 1):
        def progress(it, rate, label=label, seed=seed, n=n):
            if it % 200 == 0:
                print(f"  [{n}/{len(todo)}] {label} seed {seed}: {it}/{setup['iters']}, {rate:.3f} s/it", flush=True)
        record = train_run_v2(label, seed, data, setup, device, weights_dir, progress)
        runs[f"{label}/seed{seed}"] = record
        report = write(args.out, setup, runs, data)
        f = means(record["final"]["generate"])
        print(f"  done {label} seed {seed}: SSIM {f['ssim_mean']:.4f} PSNR {f['psnr_mean']:.2f} SCC "
              f"{f['scc_mean']:.4f} in {record['seconds'] / 60:.1f} min", flush=True)
    report = write(args.out, setup, runs, data)
    if not args.no_figures and runs:
        draw_all_v2(report, data, weights_dir, args.out.parent, device)
    print_tables_v2(report)
    return report


def write(path, setup, runs, data):
    report = {"protocol": PROTOCOL, "protocol_commit": protocol_commit(), "settings": setup,
              "held_out_ids": data["ids"]["test"], "machine": machine(),
              "summary": summarise(runs), "runs": runs,
              "study_seconds": round(sum(r["seconds"] for r in runs.values()), 1)}
    return write_json(path, report)


if __name__ == "__main__":
    main()
