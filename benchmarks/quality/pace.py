"""How long one run of version 3's 10 G models takes here, at 1 and 2 torch threads: the plan for the machine.

    python -m benchmarks.quality.pace    # -> results/quality-pace-10g-128px-fp32-<cpu>-pt<torch>-<date>.json
    python -m benchmarks.quality.pace --quick    # one model, one thread, two steps, into benchmarks/out/

Run it alone on the machine (other work skews every figure).  For each 10 G model (v3.EXPENSIVE and v3.IF_TIME),
built and trained as the study does (quality/train.py `make_step`: the host's networks, Adam, batch 1, 128x128
crops of v3's training block), it times training steps, and one whole-image pass as the curve points score a
held-out frame (score.whole_outputs, `mrff generate`'s path).  A run is settings['iters'] steps and, per
train_run_v3, (test + validation images) at every curve point, then the held-out images in each score.MODES and
the scored training and validation images at the end: the projected hours are those two counts times the
measured seconds.  The protocol runs 1 thread; the 2-thread figures say what a run alone on both cores would take.
"""
import argparse
import time

import torch

from benchmarks.common import ROADSCENE, machine, write_result
from benchmarks.quality import v3
from benchmarks.quality.data import CropStream
from benchmarks.quality.score import MODES, whole_outputs
from benchmarks.quality.train import make_step

WARM_UP, STEPS, PASSES = 2, 6, 3


def passes_per_run(setup, data):
    """Whole-image passes of one train_run_v3: every curve point's held-out and validation images, then the
    final scores (held-out in each mode, the scored training and validation images)."""
    points = -(-setup["iters"] // setup["eval_every"])
    return points * (len(data["test"]) + len(data["val"])) + len(MODES) * len(data["test"]) + \
        len(data["train_scored"]) + len(data["val"])


def pace(label, setup, data, threads, steps):
    """{'train_seconds_per_iter', 'pass_seconds'} of `label` at `threads` torch threads."""
    torch.set_num_threads(threads)
    step = make_step(setup["models"][label], setup, 0, torch.device("cpu"))
    stream = CropStream(data["train"], 0, setup["crop"])
    for _ in range(WARM_UP):
        step(*stream.next())
    start = time.perf_counter()
    for _ in range(steps):
        step(*stream.next())
    per_step = (time.perf_counter() - start) / steps
    whole_outputs(step.G, data["test"][:1], "generate", torch.device("cpu"), setup["pad_multiple"])   # warm-up
    start = time.perf_counter()
    whole_outputs(step.G, data["test"][:PASSES], "generate", torch.device("cpu"), setup["pad_multiple"])
    return {"train_seconds_per_iter": round(per_step, 3),
            "pass_seconds": round((time.perf_counter() - start) / PASSES, 3)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROADSCENE), help="the RoadScene folder")
    p.add_argument("--quick", action="store_true", help="one model, one thread, two steps: the machinery only")
    args = p.parse_args(argv)
    setup = v3.settings(False)
    data = v3.study_data(args.data)
    passes = passes_per_run(setup, data)
    labels = v3.EXPENSIVE[:1] if args.quick else v3.EXPENSIVE + v3.IF_TIME
    models = {}
    for label in labels:
        for threads in (1,) if args.quick else (1, 2):
            row = pace(label, setup, data, threads, 2 if args.quick else STEPS)
            row["projected_hours"] = round((row["train_seconds_per_iter"] * setup["iters"]
                                            + row["pass_seconds"] * passes) / 3600, 2)
            models.setdefault(label, {})[f"{threads} threads"] = row
            print(f"{label:18} {threads} thread{'s' if threads > 1 else ' '}: {row['train_seconds_per_iter']:.3f} s per "
                  f"step, {row['pass_seconds']:.2f} s per whole image, a run about {row['projected_hours']:.1f} h",
                  flush=True)
    report = {"what": __doc__.splitlines()[0], "iters": setup["iters"], "passes_per_run": passes,
              "steps_timed": 2 if args.quick else STEPS, "models": models, "machine": machine()}
    write_result("quality-pace", "10g-128px-fp32", report, args.quick)
    return report


if __name__ == "__main__":
    main()
