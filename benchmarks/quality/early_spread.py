"""Output spread at the first curve point: is a model's early validation peak a peak of almost flat output?

    python -m benchmarks.quality.early_spread          # -> results/quality-earlyspread-128px-fp32-<cpu>-pt<torch>-<date>.json
    python -m benchmarks.quality.early_spread --quick  # one model, one seed, 4 steps: the machinery only (benchmarks/out/)

Exploratory, outside every study protocol: measured after version 3's `--norm none` models had shown their
validation peaks at iterations 200-400 with held-out SSIM at iteration 200 (0.50-0.53) close to a flat grey image's
(0.537), where their BatchNorm twins scored 0.42-0.45; their generators start out almost flat (init_signal.py).
The curve keeps SSIM, PSNR and SCC only, and none of them tells a low-contrast output from a detailed one.

For each `--norm none` model of version 3 and its BatchNorm twin, seeds SEEDS (the runs of each that this CPU
kind recorded, so that a replay can be checked against its record), the run is replayed as version 3 trains it
(quality/train.py: make_step, CropStream, train_loop) up to its first curve point, and its held-out images are
generated whole as `mrff generate` runs the model.  The replay is checked against the record: its per-image SSIM
at that point must equal the record's (one thread, the record's CPU kind); a run that does not is reported as
not replayed.  Then, over the 34 held-out images:

* **output spread**: the standard deviation of each output's pixels over the real LWIR image's own (1 = the
  real frame's contrast, 0 = a flat image), averaged over the images;

at the first curve point and, from the run's kept weights (checked by their sha256 in the record), at the end.
Beside them: the run's validation-peak iteration and its held-out SSIM at the first point and at the end.
"""
import argparse
import time

import numpy as np
import torch

from benchmarks.common import OUT, RESULTS, ROADSCENE, machine, write_result
from benchmarks.quality import v3
from benchmarks.quality.data import CropStream
from benchmarks.quality.run_files import run_stem
from benchmarks.quality.score import pair_scores, whole_outputs
from benchmarks.quality.train import make_step, train_loop

TWINS = {"fusion paper norm none": "fusion paper", "paper average norm none": "paper average",
         "unet matched norm none": "unet matched"}
SEEDS = (6, 7, 8)          # every one of the six models' records of these seeds was made on a 2-core AMX Xeon
DEVICE = torch.device("cpu")
WEIGHTS = OUT / f"{v3.V3.name}_weights"   # where version 3's driver keeps every run's generator


def spread(fakes, pairs):
    """Per-image standard deviation of each output over its real LWIR image's ([-1, 1] both)."""
    out = []
    for fake, (_, lwir) in zip(fakes, pairs):
        real = torch.from_numpy(np.ascontiguousarray(lwir)).float() / 127.5 - 1
        out.append(float(fake.std()) / float(real.std()))
    return out


def replay_first_point(label, seed, data, setup):
    """The run's generator outputs on the held-out images at its first curve point, replayed as trained."""
    step = make_step(setup["models"][label], setup, seed, DEVICE)
    stream = CropStream(data["train"], seed, setup["crop"])
    first = setup["eval_every"]
    got = {}

    def evaluate(it, _):
        got["outputs"] = whole_outputs(step.G, data["test"], "generate", DEVICE, setup["pad_multiple"])
        return {}
    train_loop(step, stream, first, first, evaluate, DEVICE)
    return step, got["outputs"]


def final_outputs(step, label, seed, record, data, setup, weights_dir):
    """The run's kept generator (its record's weights in `weights_dir`, sha256 checked) on the held-out images;
    None where the weights are not there."""
    from mrff_plugin.file_hash import sha256_of
    path = weights_dir / f"{run_stem(label, seed)}.pth"
    if not path.is_file() or sha256_of(path) != record["weights"]["sha256"]:
        return None
    step.G.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return whole_outputs(step.G, data["test"], "generate", DEVICE, setup["pad_multiple"])


def measure(label, seed, data, setup, record, weights_dir=WEIGHTS):
    """One run's row: its replay to the first curve point checked against `record`, the output spread there and,
    from its kept weights, at the end."""
    step, early = replay_first_point(label, seed, data, setup)
    ssim = pair_scores(early, data["test"])["ssim"]
    recorded = record["curve"][0]["test"]["ssim"] if record else None
    val_peak = max(record["curve"], key=lambda c: c["val_ssim_mean"])["iter"] if record else None
    row = {"first_point": setup["eval_every"], "replayed": recorded is not None and ssim == recorded,
           "ssim_first_point": float(np.mean(ssim)), "output_spread_first_point": float(np.mean(spread(early, data["test"]))),
           "val_peak_iter": val_peak}
    if recorded is not None:
        row["max_ssim_difference_from_record"] = float(np.max(np.abs(np.subtract(ssim, recorded))))
    final = final_outputs(step, label, seed, record, data, setup, weights_dir) if record else None
    if final is not None:
        row["ssim_final"] = float(np.mean(pair_scores(final, data["test"])["ssim"]))
        row["output_spread_final"] = float(np.mean(spread(final, data["test"])))
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROADSCENE), help="the RoadScene folder")
    p.add_argument("--quick", action="store_true", help="one model, one seed, 4 steps, 2 images: the machinery only")
    args = p.parse_args(argv)
    torch.set_num_threads(1)        # as the records were made: a replay is bit for bit only on one thread
    setup = v3.settings(args.quick)
    data = v3.study_data(args.data)
    records = v3.load_records(RESULTS / "quality_v3" / "roadscene")
    if args.quick:
        data = {k: (v[:2] if k in ("test", "val", "train_scored") else v) for k, v in data.items()}
    models = [m for pair in TWINS.items() for m in pair][:1 if args.quick else None]
    seeds = SEEDS[:1] if args.quick else SEEDS
    start, rows = time.time(), {}
    for label in models:
        rows[label] = {}
        for seed in seeds:
            record = None if args.quick else records.get(f"{label}/seed{seed}")
            rows[label][seed] = row = measure(label, seed, data, setup, record)
            print(f"{label:24} seed {seed}: replayed {row['replayed']}, spread at {row['first_point']} "
                  f"{row['output_spread_first_point']:.3g} (SSIM {row['ssim_first_point']:.4f}), at the end "
                  f"{row.get('output_spread_final', float('nan')):.3g}, validation peak {row['val_peak_iter']}",
                  flush=True)
    report = {"what": __doc__.splitlines()[0], "exploratory": True, "seeds": list(seeds), "twins": TWINS,
              "held_out_images": len(data["test"]), "models": rows, "machine": machine(),
              "seconds": round(time.time() - start, 1)}
    write_result("quality-earlyspread", f"{setup['crop']}px-fp32", report, args.quick)
    return report


if __name__ == "__main__":
    main()
