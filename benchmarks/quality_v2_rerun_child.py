"""One run of quality study v2, trained by the code of a pinned commit (see protocols/quality_v2_rerun.md).

    PYTHONPATH=<worktree>/benchmarks:<worktree> python -P benchmarks/quality_v2_rerun_child.py \
        --code <worktree> --study roadscene --model "fusion paper" --seed 3 --record R.json --weights W.pth

`-P` keeps this file's folder off the import path, so `quality_v2` and `mrff_plugin` come from
the worktree given in PYTHONPATH; the run refuses to start when they do not.  The run is v2's own
`train_run`; its generator is kept by wrapping the worktree's `Pix2PixStep` (every seed's weights,
where v2's driver kept seed 0's only).
"""
import argparse
import hashlib
import json
import os
import subprocess
from pathlib import Path

import torch

import mrff_plugin
import quality_v2


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--code", type=Path, required=True, help="the worktree whose code trains this run")
    p.add_argument("--study", choices=("roadscene", "synthetic"), required=True)
    p.add_argument("--model", choices=list(quality_v2.MODELS), required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--data", type=Path, default=None, help="the RoadScene folder")
    p.add_argument("--record", type=Path, required=True, help="the run's record (JSON), written last")
    p.add_argument("--weights", type=Path, required=True, help="the generator's state dict")
    return p.parse_args(argv)


def check_origin(code):
    """Refuse unless the study driver and the package were imported from `code`."""
    for module in (quality_v2, mrff_plugin):
        if not Path(module.__file__).resolve().is_relative_to(code):
            raise SystemExit(f"quality_v2_rerun_child.py: {module.__name__} was imported from {module.__file__}, "
                             f"not from {code}; run with python -P and PYTHONPATH={code}/benchmarks:{code}.")


def atomic_bytes(path, write):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    code = args.code.resolve()
    check_origin(code)
    torch.set_num_threads(1)
    data = quality_v2.roadscene(args.data or quality_v2.ROADSCENE) if args.study == "roadscene" \
        else quality_v2.synthetic()
    kept = []

    class KeptStep(quality_v2.Pix2PixStep):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            kept.append(self)

    quality_v2.Pix2PixStep = KeptStep
    record = quality_v2.train_run(args.model, args.seed, data, torch.device("cpu"))
    atomic_bytes(args.weights, lambda f: torch.save(kept[0].G.state_dict(), f))
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=code, capture_output=True, text=True).stdout.strip()
    record.update(study=args.study, code_commit=commit, weights=str(args.weights),
                  weights_sha256=hashlib.sha256(args.weights.read_bytes()).hexdigest(),
                  package_file=mrff_plugin.__file__)
    atomic_bytes(args.record, lambda f: f.write(json.dumps(record, indent=1).encode()))


if __name__ == "__main__":
    main()
