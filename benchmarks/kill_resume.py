"""Kill training with SIGKILL at random moments and inside saves; every run must resume with `--continue_train`.

    python -m benchmarks.kill_resume [--trials 100] [--seed 0] [--time_limit 1200]

Each trial trains a tiny pix2pix (unet_128, --ngf 8, 2 pairs of 128x128 in a
temporary folder) that saves `latest` every iteration (`--save_latest_freq 1`),
waits for its first committed save, then kills it with SIGKILL:

* `random` trials: after a delay drawn from [--min_delay, --max_delay] s;
* `in_staging` trials: 0-10 ms after a save's first staged weight file
  (`.partial_latest_net_G.pth`) appears, while the new set is being written;
* `at_rename` trials: the run kills itself with SIGKILL right after one of the
  renames of its second or third save (a wrapper around `os.replace`; chosen at
  random among G, D and the state), a moment no outside timer can hit: the
  renames take microseconds.  A kill after G's or D's rename leaves `latest` torn.

After each kill it checks the run folder: every `*.pth` loads with
`torch.load(..., weights_only=True)` (hidden `.tmp_*`/`.partial_*`/`.previous_*`
files are a save's own, never read as `latest`), and whether `latest` was torn
(a weight file that is not the one `latest_state.pth` lists).  Then it restarts
the run with `--continue_train` (never `--epoch`); the trial survives when that
run commits a save of its own.  That run is the next trial's victim, so a torn
`latest` is resumed from and then overwritten, as a user who keeps resuming sees it.
A trial whose resume printed the host's "using the previous complete one"
warning counts as needing the fallback.  Prints one JSON line per trial, then
`fallbacks F (torn latest T)` and `survived K/N`, and writes
benchmarks/out/kill_resume.json.
"""
import argparse
import hashlib
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

from benchmarks.common import HOST_DIR, OUT as OUT_DIR, child, machine, package_env, write_json

FLAGS = ["--model", "pix2pix", "--netG", "unet_128", "--ngf", "8", "--ndf", "8", "--load_size", "128",
         "--crop_size", "128", "--gpu_ids", "-1", "--num_threads", "0", "--display_id", "0",
         "--print_freq", "1000", "--save_latest_freq", "1", "--save_epoch_freq", "1000"]
FALLBACK_WARNING = "is incomplete (a save was interrupted); using the previous complete one"


def write_pairs(folder, count=2, size=128, seed=0):
    """`count` A|B side-by-side PNGs in folder/train."""
    rng = np.random.default_rng(seed)
    (folder / "train").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        a = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(np.concatenate([a, 255 - a], axis=1)).save(folder / "train" / f"p{i}.png")
    return folder


def host(args, log, extra_env=None):
    env = dict(os.environ, OMP_NUM_THREADS="1", **(extra_env or {}))
    env.pop("WORLD_SIZE", None)
    return subprocess.Popen([sys.executable, *map(str, args)], cwd=HOST_DIR, env=env,
                            stdout=subprocess.DEVNULL, stderr=log)


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


def latest_is_torn(run_dir):
    """True when a `latest_net_*.pth` is not the file `latest_state.pth` lists (a kill between renames)."""
    state = torch.load(run_dir / "latest_state.pth", map_location="cpu", weights_only=True)
    return any(hashlib.sha256((run_dir / f"latest_net_{name}.pth").read_bytes()).hexdigest() != digest
               for name, digest in state["net_sha256"].items())


def inode(path):
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def wait_until(condition, process, timeout=120.0, poll=0.0005):
    """Poll until `condition()` (True) or the process ended / the time ran out (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


class Chain:
    """Training runs in one folder, each started with --continue_train after the previous one was killed."""

    def __init__(self, dataroot, folder):
        self.common = ["--dataroot", dataroot, "--name", "run", "--checkpoints_dir", folder, *FLAGS,
                       "--n_epochs", "1000", "--n_epochs_decay", "0"]
        self.run_dir, self.folder, self.count = folder / "run", folder, 0
        self.process = self.log = None
        folder.mkdir(parents=True)

    def start(self, resume, mode, rng):
        """Start a run (resuming without --epoch when `resume`) for a trial of `mode`; True once it
        committed a save of its own."""
        before = inode(self.run_dir / "latest_state.pth") if resume else None
        self.log = self.folder / f"stderr_{self.count}.txt"
        self.count += 1
        self.mode, self.kill_at = mode, None
        args = ["train.py", *self.common, *(["--continue_train"] if resume else [])]
        env = {}
        if mode == "at_rename":  # in the second or third save of this run: its first commits at rename 3
            self.kill_at = rng.randint(4, 9)
            args = [*AT_RENAME, *args]
            env = {"KILL_AT_RENAME": str(self.kill_at), "PYTHONPATH": package_env()["PYTHONPATH"]}
        with open(self.log, "w") as log:
            self.process = host(args, log, env)
        state_file = self.run_dir / "latest_state.pth"
        return wait_until(lambda: inode(state_file) not in (None, before), self.process)

    def stderr(self):
        return self.log.read_text()

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


# Kill modes, in turn: (file whose appearance starts the countdown, longest extra delay in s, poll interval in s).
KILL_MODES = {
    "random": None,                                                  # --min_delay .. --max_delay s after a save
    "in_staging": (".partial_latest_net_G.pth", 0.010, 0.0005),      # while the new set is being written
    "at_rename": None,                                               # the run kills itself at one rename
}
# `at_rename` runs train.py under this wrapper: SIGKILL right after the KILL_AT_RENAME-th rename of a staged file.
AT_RENAME = child("children.kill_at_rename")[1:]       # after the interpreter, which host() puts first


def kill_once(chain, index, rng, min_delay, max_delay):
    """Kill the chain's running process as its trial's mode says; the trial record so far."""
    mode = chain.mode
    started = time.monotonic()
    if mode == "at_rename":
        chain.process.wait(timeout=120)
    else:
        if mode == "random":
            time.sleep(rng.uniform(min_delay, max_delay))
        else:
            name, jitter, poll = KILL_MODES[mode]
            wait_until((chain.run_dir / name).exists, chain.process, timeout=30, poll=poll)
            time.sleep(rng.uniform(0.0, jitter))
        chain.kill()
    problems, loaded = check_run(chain.run_dir)
    record = {"trial": index, "mode": mode, "kill_after_s": round(time.monotonic() - started, 4),
              "checkpoints_loaded": loaded, "latest_torn": latest_is_torn(chain.run_dir), "problems": problems}
    if mode == "at_rename":
        record["kill_at_rename"] = chain.kill_at
        if chain.process.returncode != -signal.SIGKILL:
            problems.append(f"the run was not killed at rename {chain.kill_at} (exit {chain.process.returncode})")
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min_delay", type=float, default=0.0,
                        help="random trials: seconds after the first save before the earliest kill")
    parser.add_argument("--max_delay", type=float, default=2.0,
                        help="random trials: seconds after the first save before the latest kill")
    parser.add_argument("--time_limit", type=float, default=1200.0, help="stop starting trials after this")
    parser.add_argument("--out", default=str(OUT_DIR / "kill_resume.json"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    start = time.time()
    load_start = os.getloadavg()
    results = []
    modes = list(KILL_MODES)
    with tempfile.TemporaryDirectory() as tmp:
        chain = Chain(write_pairs(Path(tmp) / "data"), Path(tmp) / "chain_0")
        started = chain.start(False, modes[0], rng)
        for index in range(args.trials):
            if time.time() - start > args.time_limit:
                print(f"time limit reached after {index} trials")
                break
            if not started:  # nothing to kill: a fresh chain in a new folder
                chain = Chain(chain.common[1], Path(tmp) / f"chain_{index}")
                started = chain.start(False, modes[index % len(modes)], rng)
            result = kill_once(chain, index, rng, args.min_delay, args.max_delay)
            started = chain.start(True, modes[(index + 1) % len(modes)], rng)  # --continue_train, no --epoch
            stderr = chain.stderr()
            result["resumed"] = started
            result["fallback"] = FALLBACK_WARNING in stderr
            if not started:
                result["problems"].append(f"resume failed: {stderr.strip().splitlines()[-1:]}")
            if result["fallback"] != result["latest_torn"]:
                result["problems"].append(f"torn latest {result['latest_torn']} but fallback {result['fallback']}")
            result["survived"] = not result["problems"]
            results.append(result)
            print(json.dumps(result), flush=True)
        if chain.process.poll() is None:
            chain.kill()
    survived = sum(r["survived"] for r in results)
    fallbacks = sum(bool(r.get("fallback")) for r in results)
    torn = sum(bool(r.get("latest_torn")) for r in results)
    seconds = round(time.time() - start, 1)
    print(f"fallbacks {fallbacks} (torn latest {torn}); {seconds} s; load average {os.getloadavg()[0]:.2f}")
    print(f"survived {survived}/{len(results)}")
    write_json(args.out, {
        "trials": results, "survived": survived, "total": len(results), "fallbacks": fallbacks,
        "torn_latest": torn, "resumed": sum(bool(r.get("resumed")) for r in results), "seconds": seconds,
        "load_average_start": [round(v, 2) for v in load_start],
        "load_average_end": [round(v, 2) for v in os.getloadavg()], "cpus": len(os.sched_getaffinity(0)),
        "machine": machine()}, indent=2)
    return 0 if survived == len(results) and results else 1


if __name__ == "__main__":
    sys.exit(main())
