"""Quality study v2, rerun with the shipped code and more seeds (protocols/quality_v2_rerun.md).

    .venv/bin/python benchmarks/quality_v2_rerun.py            # runs what is not done yet, in protocol order
    .venv/bin/python benchmarks/quality_v2_rerun.py --lane synthetic   # a second process: synthetic runs first
    .venv/bin/python benchmarks/quality_v2_rerun.py --list     # the order and what is done

Each run is a child process (quality_v2_rerun_child.py) over a git worktree of its pinned commit,
made under benchmarks/out/code/ when missing; its record lands in
results/quality_v2_rerun/<study>/<code>/<model>_seed<k>.json, so the command resumes where it
stopped, on this machine or a fresh clone.  Two processes may run at once (the protocol's "Execution"):
each takes a run by creating its lock under benchmarks/out/locks/ and skips runs another live process holds.
After each run, its FID and KID are added to its record (quality_v2_rerun_sets.py).
"""
import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import run_lock   # beside this script
from quality.run_files import run_stem   # imports nothing

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "benchmarks" / "results" / "quality_v2_rerun"
WEIGHTS = ROOT / "benchmarks" / "out" / "quality_v2_rerun_weights"
LOCKS = ROOT / "benchmarks" / "out" / "locks"
CODE = {"shipped": "26681d62ba67f2ee01f291a79c58beb442d88846",
        "pre-H": "dfb5cb3ddd950a9b2bed1fe89091a538160b6188"}
HEADLINE = ("unet", "unet matched", "fusion paper", "paper average")


def run_order():
    """(study, code, model, seed) in the protocol's order (as amended in its "Execution" section: the seeds v2
    itself ran come first, so that v2's figures and its set metrics are complete before the new seeds)."""
    order = []
    for seed in range(5):                                                       # 1
        order += [("roadscene", "pre-H", "fusion paper", seed), ("roadscene", "shipped", "fusion paper", seed)]
    order.append(("roadscene", "pre-H", "fusion released", 0))      # v2's seed 0 with v2's code ("Execution")
    order += [("roadscene", "shipped", m, s) for s in range(5) for m in HEADLINE if m != "fusion paper"]  # 5
    order += [("roadscene", "shipped", "fusion released", s) for s in (1, 0)]                            # 2
    order += [("synthetic", "shipped", m, s) for s in range(3) for m in HEADLINE]        # 6 (v2's seeds)
    order += [("synthetic", "pre-H", "fusion paper", s) for s in range(3)]   # v2's synthetic fusion runs ("Execution")
    order += [("roadscene", "shipped", m, s) for s in range(5, 10) for m in HEADLINE]   # 3 (before 6's seeds 3-4)
    order += [("synthetic", "shipped", m, s) for s in range(3, 5) for m in HEADLINE]
    order += [("roadscene", "shipped", "fusion released", s) for s in range(2, 5)]     # 4
    order += [("synthetic", "shipped", "fusion released", s) for s in range(3)]
    return order


def lane_order(lane):
    """The order a process walks: the protocol's, or (lane "synthetic") the synthetic runs of v2's seeds first,
    then the protocol's order."""
    order = run_order()
    if lane == "synthetic":
        first = [r for r in order if r[0] == "synthetic" and r[3] < 3 and r[2] != "fusion released"]
        order = first + [r for r in order if r not in first]
    return order


def take(run_key):
    """Lock `run_key` for this process (run_lock.take under LOCKS); False when another live process holds it."""
    return run_lock.take(LOCKS, run_key)


def record_path(study, code, model, seed):
    return RECORDS / study / code / f"{run_stem(model, seed)}.json"


def worktree(code):
    """The worktree of `code`'s commit, made when missing."""
    path = ROOT / "benchmarks" / "out" / "code" / CODE[code][:12]
    if not (path / "mrff_plugin").is_dir():
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=True)
        subprocess.run(["git", "worktree", "add", "--detach", str(path), CODE[code]], cwd=ROOT, check=True)
    return path


def command(study, code, model, seed, data):
    """(argv, environment, folder) of the child that trains one run."""
    tree = worktree(code)
    env = dict(os.environ, PYTHONPATH=f"{tree / 'benchmarks'}{os.pathsep}{tree}", OMP_NUM_THREADS="1",
               MRFF_HOST=str(tree / "third_party" / "pix2pix_toolkit"))   # the commit's own host
    cmd = ["nice", "-n", "19", sys.executable, "-P", str(ROOT / "benchmarks" / "quality_v2_rerun_child.py"),
           "--code", str(tree), "--study", study, "--model", model, "--seed", str(seed),
           "--record", str(record_path(study, code, model, seed)),
           "--weights", str(WEIGHTS / study / code / f"{run_stem(model, seed)}.pth")]
    if data is not None:
        cmd += ["--data", str(data)]
    return cmd, env, tree


def run(study, code, model, seed, data):
    """Train one run in its child; returns the child's exit status."""
    cmd, env, folder = command(study, code, model, seed, data)
    child = subprocess.Popen(cmd, env=env, cwd=folder)
    try:
        return child.wait()
    finally:                   # this process stopped (SIGTERM, Ctrl-C): its run stops too, so no one trains it twice
        if child.poll() is None:
            child.terminate()
            child.wait()


def stop_on_sigterm():
    """SIGTERM ends this process as Ctrl-C does (its run's child is stopped and its lock removed on the way out)."""
    def stop(signum, frame):
        raise SystemExit(f"quality_v2_rerun.py: stopped by signal {signum}; the run in progress was stopped.")
    signal.signal(signal.SIGTERM, stop)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--list", action="store_true", help="print the order and what is done, run nothing")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "roadscene")
    p.add_argument("--max_runs", type=int, default=None)
    p.add_argument("--lane", choices=("protocol", "synthetic"), default="protocol",
                   help="the order this process walks: the protocol's, or the synthetic runs first")
    args = p.parse_args(argv)
    if args.list:
        for r in run_order():
            print(("done " if record_path(*r).is_file() else "     ") + " / ".join(map(str, r)))
        return
    stop_on_sigterm()
    todo = [r for r in lane_order(args.lane) if not record_path(*r).is_file()]
    print(f"quality v2 rerun: {len(run_order()) - len(todo)} runs done, {len(todo)} to go", flush=True)
    ran = 0
    while args.max_runs is None or ran < args.max_runs:
        taken = next_run(args.lane)       # walked again after every run: the other process's runs are skipped
        if taken is None:
            break
        (study, code, model, seed), lock = taken
        start, ran = time.time(), ran + 1
        left = sum(not record_path(*r).is_file() for r in run_order())
        print(f"[{left} to go] {study} {code} {model} seed {seed} ({time.strftime('%H:%M')})", flush=True)
        try:
            rc = run(study, code, model, seed, args.data.resolve() if study == "roadscene" else None)
        finally:
            lock.unlink(missing_ok=True)
        if rc != 0:
            raise SystemExit(f"quality_v2_rerun.py: the run {study}/{code}/{model}/seed {seed} failed (exit {rc}).")
        print(f"    finished in {(time.time() - start) / 60:.1f} min", flush=True)
        score_sets(study)


def next_run(lane):
    """The first run of `lane`'s order with no record that no live process holds, locked for this one; else None."""
    for r in lane_order(lane):
        lock = not record_path(*r).is_file() and run_lock.take_undone(LOCKS, r, record_path(*r))
        if lock:
            return r, lock
    return None


def score_sets(study):
    """FID and KID of the runs just finished (quality_v2_rerun_sets.py, today's code, one thread)."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    rc = subprocess.run(["nice", "-n", "19", sys.executable, "-m", "benchmarks.quality_v2_rerun_sets", "--study", study],
                        cwd=ROOT, env=env).returncode
    if rc != 0:
        raise SystemExit(f"quality_v2_rerun.py: scoring the {study} runs' FID and KID failed (exit {rc}).")


if __name__ == "__main__":
    main()
