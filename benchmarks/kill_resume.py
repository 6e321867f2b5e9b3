"""Kill training with SIGKILL at random moments; every checkpoint left behind must load and resume.

    python benchmarks/kill_resume.py [--trials 10] [--seed 0] [--time_limit 600]

Each trial trains a tiny pix2pix (unet_128, --ngf 8, 4 pairs of 128x128 in a
temporary folder) that saves `latest` every iteration, kills it
with SIGKILL after a random delay, then checks the run folder: every `*.pth`
loads with `torch.load(..., weights_only=True)` (hidden `.tmp_*`/`.partial_*`
files are a killed save's leftovers, never read, removed by the next save),
and (when a `latest` set exists) `--continue_train` for one more epoch exits 0.
Prints `survived K/N` and writes benchmarks/out/kill_resume.json.  The suite
runs a 2-trial smoke; the full run takes about 11 s a trial.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
HOST_DIR = ROOT / "third_party" / "pix2pix_toolkit"
OUT_DIR = ROOT / "benchmarks" / "out"
FLAGS = ["--model", "pix2pix", "--netG", "unet_128", "--ngf", "8", "--ndf", "8", "--load_size", "128",
         "--crop_size", "128", "--gpu_ids", "-1", "--num_threads", "0", "--display_id", "0",
         "--print_freq", "1000", "--save_latest_freq", "1", "--save_epoch_freq", "1"]


def write_pairs(folder, count=4, size=128, seed=0):
    """`count` A|B side-by-side PNGs in folder/train."""
    rng = np.random.default_rng(seed)
    (folder / "train").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        a = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(np.concatenate([a, 255 - a], axis=1)).save(folder / "train" / f"p{i}.png")
    return folder


def host(args, **kwargs):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, *map(str, args)], cwd=HOST_DIR, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kwargs)


def check_run(run_dir):
    """(list of problems, number of checkpoint files that loaded) for a killed run's folder."""
    problems, loaded = [], 0
    for path in sorted(p for p in run_dir.glob("*.pth") if not p.name.startswith(".")):
        try:
            torch.load(path, map_location="cpu", weights_only=True)
            loaded += 1
        except Exception as exc:  # the thing this benchmark hunts for
            problems.append(f"{path.name}: {type(exc).__name__}")
    return problems, loaded


def trial(index, rng, dataroot, work, min_delay, max_delay):
    checkpoints = work / f"trial_{index}"
    common = ["--dataroot", dataroot, "--name", "run", "--checkpoints_dir", checkpoints, *FLAGS]
    delay = rng.uniform(min_delay, max_delay)
    process = host(["train.py", *common, "--n_epochs", "1000", "--n_epochs_decay", "0"])
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    run_dir = checkpoints / "run"
    problems, loaded = check_run(run_dir)
    resumed = None
    if (run_dir / "latest_state.pth").exists():
        state = torch.load(run_dir / "latest_state.pth", map_location="cpu", weights_only=True)
        resume = host(["train.py", *common, "--continue_train",
                       "--n_epochs", str(state["epoch"] + 1), "--n_epochs_decay", "0"])
        _, stderr = resume.communicate(timeout=300)
        resumed = resume.returncode == 0
        if not resumed:
            problems.append(f"resume failed: {stderr.strip().splitlines()[-1:]}")
    return {"trial": index, "kill_after_s": round(delay, 2), "checkpoints_loaded": loaded,
            "resumed": resumed, "problems": problems, "survived": not problems}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min_delay", type=float, default=3.0, help="seconds before the earliest kill")
    parser.add_argument("--max_delay", type=float, default=8.0, help="seconds before the latest kill")
    parser.add_argument("--time_limit", type=float, default=600.0, help="stop starting trials after this")
    parser.add_argument("--out", default=str(OUT_DIR / "kill_resume.json"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    start = time.time()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        dataroot = write_pairs(Path(tmp) / "data")
        for index in range(args.trials):
            if time.time() - start > args.time_limit:
                print(f"time limit reached after {index} trials")
                break
            result = trial(index, rng, dataroot, Path(tmp), args.min_delay, args.max_delay)
            results.append(result)
            print(json.dumps(result))
    survived = sum(r["survived"] for r in results)
    print(f"survived {survived}/{len(results)}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"trials": results, "survived": survived, "total": len(results),
                                          "seconds": round(time.time() - start, 1)}, indent=2) + "\n")
    return 0 if survived == len(results) and results else 1


if __name__ == "__main__":
    sys.exit(main())
