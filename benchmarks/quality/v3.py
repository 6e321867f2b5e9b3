"""Quality study, version 3: which factor of the released network matters -- compute, normalisation or design?

    python -m benchmarks.quality.v3                   # resumable -> results/quality_v3/roadscene/*.json + summary
    python -m benchmarks.quality.v3 --only "fusion paper" --seed 0   # a share of the runs
    python -m benchmarks.quality.v3 --summary_only    # train nothing: the summary from the run records
    python -m benchmarks.quality.v3 --before_rerun    # seeds 0-4 only, before the rerun fixes the number of seeds
    python -m benchmarks.quality.v3 --quick           # the machinery in seconds (4 iterations, 2 images)

The protocol -- data, split, models, widths, schedule, seeds, scoring, analysis -- is
benchmarks/protocols/quality_v3.md (PROTOCOL), committed before the first run; the constants below carry it
out (tests/test_quality_v3.py checks them against it) and every record names it and the commit that fixed it.
The layers it runs: quality/data.py (RoadScene's frame-number split), quality/train.py (train_run_v3),
quality/score.py (whole images, three ways of scoring, FID / KID), quality/stats.py (summarise_v3).
Two processes (one per core) may walk the order at once: each takes a run by its lock (benchmarks/run_lock.py)
and skips the runs the other holds.
Each run is one record file, written when the run finishes and skipped when the command runs again; its
generator's weights are kept beside the other scratch output (benchmarks/out/), their sha256 in the record.
"""
import argparse
import json
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import OUT, RESULTS, ROADSCENE, ROOT, commit_of, machine, write_json
from benchmarks.quality.data import roadscene_pairs
from benchmarks.quality.flat_reference import constant_runs
from benchmarks.quality.score import lwir_features, means
from benchmarks.quality.stats import hierarchical_ci, summarise_v3
from benchmarks.quality.resume import resume_path, training_code
from benchmarks.quality.run_files import run_stem
from benchmarks.quality.train import train_run_v3
from benchmarks.run_lock import take_undone

PROTOCOL = "benchmarks/protocols/quality_v3.md"

# ---------------------------------------------------------------- the protocol's numbers

NDF = 16                  # the one discriminator of every model (batch norm, whatever the generator's --norm)
CROP = 128                # training crops, at native resolution
ITERS, DECAY_ITERS = 2000, 1000   # host --lr_policy linear: constant 1000, then to 0 over 1000
EVAL_EVERY = 200          # learning-curve points: held-out and validation images, generate scoring
PAD_MULTIPLE = 128        # whole images padded to this (unet_128's need), the same input for every model
TEST_COUNT, FRAME_GAP = 34, 100   # the 34 highest frame numbers held out, 100 numbers left out below them
VAL_COUNT, VAL_GAP = 16, 100      # validation: the 16 highest frame numbers left in the training block, 100 below
TRAIN_SCORED_EVERY = 4    # every 4th training image (frame order) scored for the overfitting gap
MIN_SEEDS, MAX_SEEDS = 5, 10      # seeds of the 0.57 G models: the rerun's "seeds needed", within these
EXPENSIVE_SEEDS, EXPENSIVE_EXTRA = 3, 2   # the 10 G models: seeds 0-2, then 3-4 if time allows
RELEASED_WIDTH_NARROW, RELEASED_BRANCHES_NARROW = 15, 8   # --mrff_released_width, --mrff_channels (round(W / 2))

FUSION_PAPER = dict(netG="unetpp_fusion", ngf=16, mrff_arch="paper", mrff_fusion="nested")
PAPER_AVERAGE = dict(FUSION_PAPER, mrff_fusion="average")
UNET_MATCHED = dict(netG="unet_128", ngf=40)
RELEASED = dict(netG="unetpp_fusion", ngf=16, mrff_arch="released", mrff_fusion="nested")
MODELS = {
    # about 0.57 G MACs per 128x128 image
    "fusion paper": FUSION_PAPER,
    "released narrow": dict(RELEASED, mrff_released_width=RELEASED_WIDTH_NARROW,
                            mrff_channels=RELEASED_BRANCHES_NARROW),
    "paper average": PAPER_AVERAGE,
    "unet matched": UNET_MATCHED,
    "fusion paper norm none": dict(FUSION_PAPER, norm="none"),
    "paper average norm none": dict(PAPER_AVERAGE, norm="none"),
    "unet matched norm none": dict(UNET_MATCHED, norm="none"),
    "fusion paper instance": dict(FUSION_PAPER, norm="instance"),
    "fusion paper no dropout": dict(FUSION_PAPER, no_dropout=True),
    # about 10 G MACs: only if the rerun leaves the released network ahead (released_ahead)
    "fusion released": RELEASED,
    "unet 10G": dict(netG="unet_128", ngf=168),
    "paper average 10G": dict(PAPER_AVERAGE, ngf=78),
}
PRIMARY = ("fusion paper", "released narrow", "paper average", "unet matched", "fusion paper norm none",
           "paper average norm none", "unet matched norm none", "fusion paper instance")
SECONDARY = ("fusion paper no dropout",)
EXPENSIVE = ("fusion released", "unet 10G")
IF_TIME = ("paper average 10G",)
COMPARISONS = (("released narrow", "fusion paper"), ("fusion paper norm none", "fusion paper"),
               ("paper average norm none", "paper average"), ("unet matched norm none", "unet matched"),
               ("unet 10G", "fusion released"))
SECONDARY_COMPARISONS = (("fusion paper instance", "fusion paper"), ("fusion paper no dropout", "fusion paper"),
                         ("released narrow", "paper average"), ("released narrow", "unet matched"),
                         ("fusion released", "released narrow"), ("paper average 10G", "fusion released"),
                         ("paper average 10G", "paper average"))
BASELINE = "fusion paper"


@dataclass(frozen=True)
class Version:
    """One version of the study as the driver runs it: its protocol, models, order and comparisons.  Version 4
    (quality/v4.py) is another of these over version 3's data, schedule, scoring and code; `reads` names models
    whose records come from another version's folder (compared, never run)."""
    name: str                                   # results/<name>/roadscene/, out/<name>_weights/
    protocol: str
    models: dict
    primary: tuple                              # run seed by seed, first
    secondary: tuple = ()                       # then seed by seed
    comparisons: tuple = ()
    secondary_comparisons: tuple = ()
    baseline: str = BASELINE
    expensive: tuple = ()                       # only where the rerun leaves the released network ahead
    if_time: tuple = ()
    reads: dict = field(default_factory=dict)   # {label: records folder of another version}
    quick: tuple = ()                           # --quick's two runs


V3 = Version("quality_v3", PROTOCOL, MODELS, PRIMARY, SECONDARY, COMPARISONS, SECONDARY_COMPARISONS, BASELINE,
             EXPENSIVE, IF_TIME, quick=(("fusion paper", 0), ("released narrow", 0)))

RERUN_REPORT = RESULTS / "quality_v2_rerun_roadscene.json"      # quality_v2_rerun_report.py's output
RERUN_RECORDS = RESULTS / "quality_v2_rerun" / "roadscene" / "shipped"
RERUN_SEED_COMPARISONS = ("fusion paper - unet", "fusion paper - unet matched", "fusion paper - paper average")
RERUN_CHEAP = ("unet", "unet matched", "fusion paper", "paper average")   # the rerun's 0.57 G (and 0.1 G) models


# ---------------------------------------------------------------- decisions fixed by the rerun

def seeds_needed(report_path=RERUN_REPORT):
    """(seeds of the 0.57 G models, why): the largest "seeds needed" of RERUN_SEED_COMPARISONS in the rerun's
    report, MAX_SEEDS where the rerun's ten seeds did not reach its target, and at least MIN_SEEDS."""
    if not Path(report_path).is_file():
        raise SystemExit(f"quality v3: {report_path} does not exist; run `python -m benchmarks.quality_v2_rerun_report"
                         f" --study roadscene` first (the protocol takes the number of seeds from it).")
    entries = json.loads(Path(report_path).read_text())["seeds_needed"]
    missing = [name for name in RERUN_SEED_COMPARISONS if name not in entries]
    if missing:
        raise SystemExit(f"quality v3: {report_path} has no seeds-needed entry for {', '.join(missing)}; finish the "
                         f"rerun's ten seeds of those models and run its report again.")
    short = [f"{name} ({len(entries[name]['seeds'])})" for name in RERUN_SEED_COMPARISONS
             if len(entries[name]["seeds"]) < MAX_SEEDS]
    if short:
        raise SystemExit(f"quality v3: {report_path} has fewer than the rerun's {MAX_SEEDS} seeds for "
                         f"{', '.join(short)}; the protocol takes the number of seeds from all ten, so finish the "
                         f"rerun's RoadScene seeds (benchmarks/quality_v2_rerun.py) and run its report again.")
    needed = [entries[name]["seeds_needed"] or MAX_SEEDS for name in RERUN_SEED_COMPARISONS]
    return max(MIN_SEEDS, min(MAX_SEEDS, max(needed))), dict(zip(RERUN_SEED_COMPARISONS, needed))


def released_ahead(records=RERUN_RECORDS):
    """(whether the rerun leaves the released network ahead, the comparison): ahead when the hierarchical 95%
    interval of `fusion released` minus the best cheap model (highest seed-mean generate SSIM), over the seeds
    both have, lies above 0."""
    runs = [json.loads(path.read_text()) for path in sorted(Path(records).glob("*.json"))]
    ssim = {}
    for r in runs:
        ssim.setdefault(r["model"], {})[r["seed"]] = np.array(r["final"]["generate"]["ssim"])
    cheap = [label for label in RERUN_CHEAP if label in ssim]
    if "fusion released" not in ssim or not cheap:
        return False, {"reason": f"no rerun records of fusion released and a cheap model in {records}"}
    best = max(cheap, key=lambda label: np.mean([v.mean() for v in ssim[label].values()]))
    seeds = sorted(set(ssim["fusion released"]) & set(ssim[best]))
    if len(seeds) < 2:
        return False, {"reason": f"fewer than two shared seeds of fusion released and {best}"}

    def difference(kept):
        d = np.array([ssim["fusion released"][s] - ssim[best][s] for s in kept])
        return {"seeds": kept, "mean": float(d.mean()), "ci95_hierarchical": list(hierarchical_ci(d))}
    why = {"against": best, **difference(seeds)}
    # not the protocol's test (which takes every run): the same without the runs that wrote constant output, whose
    # SSIM is a flat image's; added after seeing fusion released seed 1's, reported beside the decision
    flat = {item["run"] for item in constant_runs({f"{r['model']}/seed{r['seed']}": r for r in runs})}
    left_out = sorted(flat & {f"{model}/seed{s}" for model in ("fusion released", best) for s in seeds})
    kept = [s for s in seeds if not any(run.endswith(f"/seed{s}") for run in left_out)]
    if left_out and len(kept) >= 2:
        why["without_flat_runs"] = {**difference(kept), "left_out": left_out}
    return bool(why["ci95_hierarchical"][0] > 0), why


def run_order(seeds, expensive, version=V3):
    """(label, seed) in the protocol's order: seed by seed over the primary models, then the secondary ones;
    with `expensive`, the 10 G models' seeds 0-2, then the if-time model, then their extra seeds."""
    order = [(label, seed) for seed in range(seeds) for label in version.primary]
    order += [(label, seed) for seed in range(seeds) for label in version.secondary]
    if expensive and version.expensive:
        order += [(label, seed) for seed in range(EXPENSIVE_SEEDS) for label in version.expensive]
        order += [(label, seed) for seed in range(EXPENSIVE_SEEDS) for label in version.if_time]
        order += [(label, seed) for seed in range(EXPENSIVE_SEEDS, EXPENSIVE_SEEDS + EXPENSIVE_EXTRA)
                  for label in version.expensive + version.if_time]
    return order


# ---------------------------------------------------------------- data

def study_data(root=ROADSCENE):
    """RoadScene split as version 2 splits it, then the validation block taken from the top of the training
    block: 'train' (what is trained on), 'val', 'test', 'train_scored', 'ids'."""
    from mrff_plugin.datasets.frame_split import split_by_frame_number
    data = roadscene_pairs(root, TEST_COUNT, FRAME_GAP, 1)
    by_id = dict(zip(data["ids"]["train"], data["train"]))
    train_ids, val_ids = split_by_frame_number(data["ids"]["train"], VAL_COUNT, VAL_GAP)
    train = [by_id[i] for i in train_ids]
    return {"train": train, "val": [by_id[i] for i in val_ids], "test": data["test"],
            "train_scored": train[::TRAIN_SCORED_EVERY],
            "ids": {"train": train_ids, "val": val_ids, "test": data["ids"]["test"],
                    "train_scored": train_ids[::TRAIN_SCORED_EVERY]}}


# ---------------------------------------------------------------- driver

def settings(quick, version=V3):
    return {"study": "roadscene", "quick": quick, "iters": 4 if quick else ITERS,
            "decay_iters": 2 if quick else DECAY_ITERS, "eval_every": 2 if quick else EVAL_EVERY, "crop": CROP,
            "ndf": NDF, "pad_multiple": PAD_MULTIPLE, "models": version.models}


def record_path(records, label, seed):
    return Path(records) / f"{run_stem(label, seed)}.json"


def lock_folder(weights):
    """Where the processes sharing a weights folder (scratch output, beside the runs' weights) lock their runs."""
    return Path(weights) / "locks"


def load_records(records):
    """{"<model>/seed<k>": record} of every record file in `records`."""
    runs = {}
    for path in sorted(Path(records).glob("*.json")) if Path(records).is_dir() else []:
        record = json.loads(path.read_text())
        runs[f"{record['model']}/seed{record['seed']}"] = record
    return runs


def summarise(runs, version=V3):
    """The protocol's analysis: primary and secondary comparisons (summarise_v3), which of them are primary, and
    the runs that wrote constant output (flat_reference's test), listed beside the tables they are in."""
    models = {**version.models, **{label: None for label in version.reads}}
    summary = summarise_v3(runs, models, version.comparisons + version.secondary_comparisons, version.baseline)
    summary["primary"] = [f"{a} - {b}" for a, b in version.comparisons]
    summary["constant_output_runs"] = constant_runs(runs)
    return summary


def planned_seeds(order):
    """{label: seeds planned} of a run order, in the order's model order."""
    return dict(Counter(label for label, _ in order))


def required_seeds(planned, version=V3):
    """{label: the seeds a comparison of it needs} of `planned_seeds`: all planned, but the 10 G models' first
    EXPENSIVE_SEEDS (their extra seeds run if time allows)."""
    costly = version.expensive + version.if_time
    return {label: min(n, EXPENSIVE_SEEDS) if label in costly else n for label, n in planned.items()}


def parse_args(argv=None, version=V3, description=__doc__.splitlines()[0]):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="4 iterations, 2 images, 2 runs: the machinery only")
    p.add_argument("--data", type=Path, default=ROADSCENE, help="the RoadScene folder (default: ../shared/data)")
    p.add_argument("--device", default="cpu", help="cpu (the protocol), or cuda for both sides of a 10 G "
                                                   "comparison (fp32, TF32 off)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the protocol: 1)")
    p.add_argument("--records", type=Path, default=None,
                   help=f"folder of the run records (default results/{version.name}/roadscene; quick: "
                        f"benchmarks/out/)")
    p.add_argument("--weights", type=Path, default=None, help=f"folder of every run's generator weights "
                                                              f"(default benchmarks/out/{version.name}_weights)")
    p.add_argument("--rerun_report", type=Path, default=RERUN_REPORT, help="the v2 rerun's report (seeds needed)")
    p.add_argument("--max_runs", type=int, default=None, help="stop after this many runs (resume later)")
    p.add_argument("--only", action="append", choices=list(version.models), help="run only this model (repeatable)")
    p.add_argument("--seed", type=int, action="append", help="run only this seed (repeatable)")
    p.add_argument("--summary_only", action="store_true", help="train nothing: write the summary from the records")
    if version is V3:   # its protocol's Execution section; later versions start after the rerun
        p.add_argument("--before_rerun", action="store_true",
                       help=f"before the v2 rerun's ten seeds are in: run only seeds 0-{MIN_SEEDS - 1} of the 0.57 G "
                            f"models, which the protocol runs whatever number of seeds the rerun gives")
    args = p.parse_args(argv)
    args.before_rerun = getattr(args, "before_rerun", False)
    tag = "_quick" if args.quick else ""
    args.records = args.records or (OUT / f"{version.name}_quick" if args.quick else
                                    RESULTS / version.name / "roadscene")
    args.weights = args.weights or OUT / f"{version.name}_weights{tag}"
    args.summary = args.records.parent / f"{args.records.name}_summary.json"
    return args


def plan(args, version=V3):
    """(the runs of the protocol's order still to do, the decisions behind the order)."""
    if args.quick:
        return list(version.quick), {"quick": True}
    if args.before_rerun:     # seeds 0 ... MIN_SEEDS - 1 of the 0.57 G models: run whatever the rerun decides
        return run_order(MIN_SEEDS, False, version), {"seeds": f"at least {MIN_SEEDS}; the rest once the rerun's "
                                                               f"ten seeds fix the number",
                                                      "released_ahead": "not decided yet"}
    seeds, needed = seeds_needed(args.rerun_report)
    decisions = {"seeds": seeds, "seeds_needed_by_comparison": needed}
    ahead = False
    if version.expensive:
        ahead, why = released_ahead()
        decisions.update(released_ahead=ahead, released_ahead_test=why)
    return run_order(seeds, ahead, version), decisions


def read_runs(version, quick=False):
    """{"<model>/seed<k>": record} of the models `version` reads from another version's records (never in quick)."""
    if quick:
        return {}
    return {key: r for label, folder in version.reads.items() for key, r in load_records(folder).items()
            if r["model"] == label}


def main(argv=None, version=V3, description=__doc__.splitlines()[0]):
    args = parse_args(argv, version, description)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":   # the protocol: fp32 on a GPU too (no TF32 in matrix products or convolutions)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    setup = settings(args.quick, version)
    runs = load_records(args.records)
    other = [key for key, r in runs.items() if r.get("settings") != json.loads(json.dumps(setup))]
    if other:
        raise SystemExit(f"{version.name}: {args.records} holds runs of other settings ({other[0]}); pass another "
                         f"--records.")
    if not args.summary_only and not args.data.is_dir():
        raise SystemExit(f"{version.name}: {args.data} does not exist; pass --data <the RoadScene folder>.")
    order, decisions = plan(args, version)

    def summary():   # of the records as they are now (other processes' too), and those this version reads
        return write_summary(args.summary, load_records(args.records), decisions, order, version,
                             read_runs(version, args.quick))
    if args.summary_only:
        return summary()
    data = study_data(args.data)
    if args.quick:
        data = {k: (v[:2] if k in ("test", "val", "train_scored") else v) for k, v in data.items()}
    todo = [(label, seed) for label, seed in order if f"{label}/seed{seed}" not in runs
            and (not args.only or label in args.only) and (not args.seed or seed in args.seed)][:args.max_runs]
    print(f"{version.name}: {len(runs)} runs done, {len(todo)} to go; records in {args.records}; {decisions}",
          flush=True)
    network, real, notes = inception_network(data) if todo else (None, None, [])   # nothing to train: not loaded
    code = code_state()
    locks = lock_folder(args.weights)
    written = None
    for n, (label, seed) in enumerate(todo, 1):
        lock = take_undone(locks, (label, seed), record_path(args.records, label, seed))   # the other core's: skipped
        if not lock:
            continue

        def progress(it, rate, label=label, seed=seed, n=n):
            if it % 200 == 0:
                print(f"  [{n}/{len(todo)}] {label} seed {seed}: {it}/{setup['iters']}, {rate:.3f} s/it", flush=True)
        try:
            record = train_run_v3(label, seed, data, setup, device, args.weights, progress, network, real)
            record.update(protocol=version.protocol, protocol_commit=commit_of(version.protocol), code=code,
                          settings=setup, decisions=decisions, held_out_ids=data["ids"]["test"],
                          val_ids=data["ids"]["val"], notes=notes)
            write_json(record_path(args.records, label, seed), record)
            resume_path(args.weights, label, seed).unlink(missing_ok=True)   # the record holds the run now
        finally:
            lock.unlink(missing_ok=True)
        f = means(record["final"]["generate"])
        print(f"  done {label} seed {seed}: SSIM {f['ssim_mean']:.4f} PSNR {f['psnr_mean']:.2f} SCC "
              f"{f['scc_mean']:.4f} in {record['seconds'] / 60:.1f} min", flush=True)
        written = summary()   # the page reads it as runs land
    return written or summary()


def inception_network(data):
    """(the Inception network, the held-out LWIR's features, notes): (None, None, [why]) where it is missing."""
    from mrff_plugin import inception
    try:
        network = inception.load()
    except inception.InceptionMissing as exc:
        return None, None, [f"FID and KID left out: {exc}"]
    return network, lwir_features(network, data["test"]), []


def code_state():
    """{'commit': HEAD, 'uncommitted': the changed files of mrff_plugin/ and benchmarks/ (the code a run imports),
    'training_code': resume.training_code(), fixed from now on for this process}."""
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
    changed = git("status", "--porcelain", "--untracked-files=no", "--", "mrff_plugin", "benchmarks").splitlines()
    return {"commit": git("rev-parse", "HEAD").strip() or None, "uncommitted": [line[3:] for line in changed],
            "training_code": training_code()}


def write_summary(path, runs, decisions, order, version=V3, read=None):
    """The summary of every record in the folder of `runs` as it is now (other processes' runs too), and of the
    records `version` reads from another version (`read`), beside the runs the protocol's order plans today
    (`order`: (label, seed) pairs)."""
    read = read or {}
    both = {**read, **runs}
    required = required_seeds(planned_seeds(order), version)   # the if-time model's runs are not required
    report = {"protocol": version.protocol, "protocol_commit": commit_of(version.protocol), "decisions": decisions,
              "planned_seeds": planned_seeds(order), "required_seeds": required, "planned_runs": len(order),
              "required_runs": sum(n for label, n in required.items() if label not in version.if_time),
              "required_runs_done": sum(min(n, required[label]) for label, n in Counter(
                  r["model"] for r in runs.values()).items() if label in required and label not in version.if_time),
              "machine": machine(), "summary": summarise(both, version) if runs else None, "runs": sorted(runs),
              "read_runs": sorted(read), "study_seconds": round(sum(r["seconds"] for r in runs.values()), 1)}
    return write_json(path, report)


if __name__ == "__main__":
    main()
