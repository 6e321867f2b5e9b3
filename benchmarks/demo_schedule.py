"""`mrff demo` before and after the quality study: held-out SSIM at the same wall time, on this CPU.

    python -m benchmarks.demo_schedule            # both configurations (resumable), the comparison
    python -m benchmarks.demo_schedule --quick    # the machinery in a minute (figures mean nothing)

after:  `mrff demo` as committed (options/demo.txt: fusion at ngf/ndf 32, the quality study's width;
        200 pairs, 1 + 1 epochs = 400 iterations with the host's linear decay).
before: the demo's network before the study (ngf/ndf 64; its preset of 60 pairs x 5 epochs takes
        about 13 minutes on a 2-core AVX2 CPU), given the same training time as `after`: the
        pix2pix step of both widths is timed here first (benchmarks/pix2pix_step.py), and `before`
        gets 1 + 1 epochs over as many pairs as make its iterations cost what 400 of `after` cost.

Both run through `mrff demo` exactly as a user runs it (same --seed, so the same test pairs; each
in its own folder under benchmarks/out/demo_schedule/), timed whole.  Both are scored by
`mrff evaluate` on the same test pairs; the paired per-image difference after - before gets a
95% BCa bootstrap interval (quality.stats.bootstrap_ci).  Each configuration is written into
benchmarks/results/demo-schedule-128px-fp32-avx2-pt2141-20261202.json as it finishes and skipped when the command runs again.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import OUT as OUT_DIR
from benchmarks.common import RESULTS as RESULTS_DIR
from benchmarks.common import ROOT, machine, write_json
from benchmarks.quality.stats import bootstrap_ci

OUT = OUT_DIR / "demo_schedule"
RESULTS = RESULTS_DIR / "demo-schedule-128px-fp32-avx2-pt2141-20261202.json"
AFTER_ITERATIONS = 400      # options/demo.txt: 1 + 1 epochs over mrff demo's 200 pairs
BEFORE_WIDTH = 64           # the demo's --ngf/--ndf before the study (the host's default)
AFTER_WIDTH = 32            # options/demo.txt
TEST_PAIRS = 48             # mrff demo's default
STEP_TIMING = (2, 6)        # warm-up steps, timed steps per width
QUICK = ["--pairs", "2", "--test_pairs", "2", "--n_epochs", "1", "--n_epochs_decay", "0", "--ngf", "8", "--ndf", "8"]


def step_seconds(width, steps=STEP_TIMING, size=128):
    """Seconds of one fusion pix2pix step (G and D at `width`, batch 1, fp32) on this machine."""
    import torch

    from benchmarks.pix2pix_step import Pix2PixStep
    step = Pix2PixStep("unetpp_fusion", ngf=width, ndf=width, seed=0)
    a, b = torch.rand(1, 3, size, size) * 2 - 1, torch.rand(1, 1, size, size) * 2 - 1
    warm, timed = steps
    for _ in range(warm):
        step(a, b)
    start = time.perf_counter()
    for _ in range(timed):
        step(a, b)
    return (time.perf_counter() - start) / timed


def demo_arguments(name, quick, timing):
    """The command line of configuration `name` and a sentence on it."""
    if quick:
        return QUICK, "quick: tiny schedule"
    if name == "after":
        return ["--test_pairs", str(TEST_PAIRS)], "options/demo.txt as committed"
    ratio = timing[str(AFTER_WIDTH)] / timing[str(BEFORE_WIDTH)]
    pairs = max(1, round(AFTER_ITERATIONS * ratio / 2))      # 1 + 1 epochs over `pairs`
    return (["--test_pairs", str(TEST_PAIRS), "--ngf", str(BEFORE_WIDTH), "--ndf", str(BEFORE_WIDTH),
             "--pairs", str(pairs), "--n_epochs", "1", "--n_epochs_decay", "1"],
            f"ngf/ndf {BEFORE_WIDTH}, {2 * pairs} iterations (1 + 1 epochs over {pairs} pairs): "
            f"the training time of {AFTER_ITERATIONS} iterations at ngf/ndf {AFTER_WIDTH}")


def run_demo(name, arguments, folder):
    """`mrff demo ARGS` in `folder` (its own datasets/, checkpoints/, results/); wall seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "demo.log"
    start = time.perf_counter()
    with open(log, "w") as handle:
        code = subprocess.run([sys.executable, "-m", "mrff_plugin.cli", "demo", "--display_port", "9", *arguments],
                              cwd=folder, stdout=handle, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"demo_schedule.py: `mrff demo` ({name}) failed with exit {code}; see {log}.")
    return seconds


def evaluation(folder):
    """mrff demo's own evaluation.json (beside its gallery): its summary (means, stds, N) and
    {stem: (ssim, psnr)}."""
    report = json.loads((folder / "results" / "mrff_demo" / "test_latest" / "evaluation.json").read_text())
    (run,) = report["runs"]
    summary = {key: run[key] for key in ("ssim_mean", "ssim_std", "psnr_mean", "psnr_std", "n")}
    return summary, {img["stem"]: (img["ssim"], img["psnr"]) for img in run["images"]}


def compare(records):
    """Paired per-image differences after - before (SSIM, PSNR) with their 95% bootstrap intervals."""
    before, after = records["before"]["per_image"], records["after"]["per_image"]
    stems = sorted(before)
    if sorted(after) != stems:
        raise SystemExit("demo_schedule.py: the two demos were scored on different test pairs.")
    out = {}
    for k, metric in enumerate(("ssim", "psnr")):
        d = [after[s][k] - before[s][k] for s in stems]
        out[metric] = {"mean": float(np.mean(d)), "ci95": bootstrap_ci(d), "pairs": len(d)}
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny schedule, results in benchmarks/out/")
    p.add_argument("--out", type=Path, default=None, help="results file (default: %s)" % RESULTS.relative_to(ROOT))
    args = p.parse_args(argv)
    out = args.out or (OUT / "quick.json" if args.quick else RESULTS)
    work = OUT / ("quick" if args.quick else "full")
    report = json.loads(out.read_text()) if out.is_file() else {"configurations": {}}
    if "step_seconds" not in report:
        widths = (8,) if args.quick else (AFTER_WIDTH, BEFORE_WIDTH)
        report["step_seconds"] = {str(w): round(step_seconds(w, (1, 1) if args.quick else STEP_TIMING), 4)
                                  for w in widths}
        report["machine"] = machine()
        write_json(out, report)
    print(f"pix2pix step, fusion, 128x128, fp32: {report['step_seconds']} s by ngf/ndf", flush=True)
    for name in ("after", "before"):
        if name in report["configurations"]:
            print(f"{name}: done before ({report['configurations'][name]['seconds']:.0f} s), skipped")
            continue
        arguments, what = demo_arguments(name, args.quick, report["step_seconds"])
        print(f"{name}: mrff demo {' '.join(arguments)}  ({what}) ...", flush=True)
        seconds = run_demo(name, arguments, work / name)
        summary, scores = evaluation(work / name)
        report["configurations"][name] = {
            "arguments": arguments, "what": what, "seconds": round(seconds, 1), **summary, "per_image": scores,
            "load_average": os.getloadavg()[0]}
        write_json(out, report)
        print(f"{name}: SSIM {summary['ssim_mean']:.4f} over {summary['n']} test pairs "
              f"in {seconds / 60:.1f} min", flush=True)
    report["after_minus_before"] = compare(report["configurations"])
    write_json(out, report)
    d = report["after_minus_before"]
    print(f"after - before: SSIM {d['ssim']['mean']:+.4f} [{d['ssim']['ci95'][0]:+.4f}, {d['ssim']['ci95'][1]:+.4f}], "
          f"PSNR {d['psnr']['mean']:+.2f} dB [{d['psnr']['ci95'][0]:+.2f}, {d['psnr']['ci95'][1]:+.2f}] "
          f"({d['ssim']['pairs']} pairs); written to {out}")
    return report


if __name__ == "__main__":
    main()
