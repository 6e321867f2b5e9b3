"""What a user ships against what was measured: test.py's gallery, `mrff generate` (each image's own BatchNorm
statistics, the default) and `mrff generate --norm_stats running`, scored on the same pairs.

    python -m benchmarks.norm_paths            # runs `mrff demo` into benchmarks/out/norm_paths/, then scores
    python -m benchmarks.norm_paths --run_dir checkpoints/mrff_demo --gallery results/mrff_demo/test_latest

Done as a new user would: the gallery's `*_real_A.png` (the visible images test.py saw, as it saved them) go
through `mrff generate` both ways, and every output -- test.py's `*_fake_B.png` too -- is scored against the
gallery's `*_real_B.png` with mrff_plugin.metrics (SSIM / PSNR, the Table-3 protocol, as `mrff evaluate`).
test.py runs the generator in train mode: the same per-image statistics as the default `mrff generate`, but
with dropout drawing masks, so their difference is the dropout's effect (the gallery's real_A is the input
quantised once more, which can move a pixel by one level).  Writes benchmarks/out/norm_paths.json.
"""
import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks.common import OUT as OUT_DIR
from benchmarks.common import ROOT, machine, write_json

OUT = OUT_DIR / "norm_paths"


def mrff(*args):
    result = subprocess.run([sys.executable, "-m", "mrff_plugin.cli", *map(str, args)], cwd=ROOT, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise SystemExit(f"norm_paths.py: mrff {args[0]} failed: {result.stderr.strip()[-400:]}")
    return result


def scored(fakes, reals):
    """{'ssim_mean', 'psnr_mean', 'n', 'ssim': [...], 'psnr': [...]} over same-stem pairs."""
    from mrff_plugin.metrics import psnr, ssim
    values = [(ssim(f, r), psnr(f, r)) for f, r in zip(fakes, reals)]
    return {"n": len(values), "ssim_mean": float(np.mean([v[0] for v in values])),
            "psnr_mean": float(np.mean([v[1] for v in values])), "ssim": [v[0] for v in values],
            "psnr": [v[1] for v in values]}


def measure(run_dir, gallery, out):
    images = Path(gallery) / "images"
    stems = sorted(p.name[:-len("_real_A.png")] for p in images.glob("*_real_A.png"))
    if not stems:
        raise SystemExit(f"norm_paths.py: {images} has no *_real_A.png; pass the test.py gallery folder.")
    inputs = out / "real_A"
    shutil.rmtree(inputs, ignore_errors=True)
    inputs.mkdir(parents=True)
    for stem in stems:
        shutil.copy(images / f"{stem}_real_A.png", inputs / f"{stem}.png")
    reals = [images / f"{stem}_real_B.png" for stem in stems]
    paths = {"test.py (train mode: per-image statistics, dropout on)": [images / f"{s}_fake_B.png" for s in stems]}
    for norm in ("image", "running"):
        target = out / f"generate_{norm}"
        shutil.rmtree(target, ignore_errors=True)
        mrff("generate", "--checkpoint", run_dir, "--input", inputs, "--output", target, "--norm_stats", norm,
             "--quiet")
        paths[f"mrff generate --norm_stats {norm}"] = [target / f"{s}.png" for s in stems]
    report = {"run_dir": str(run_dir), "gallery": str(gallery), "machine": machine(), "stems": stems,
              "paths": {label: scored(fakes, reals) for label, fakes in paths.items()}}
    base = report["paths"]["test.py (train mode: per-image statistics, dropout on)"]
    for label, entry in report["paths"].items():
        entry["ssim_minus_test_py"] = entry["ssim_mean"] - base["ssim_mean"]
        entry["psnr_minus_test_py"] = entry["psnr_mean"] - base["psnr_mean"]
        print(f"{label}: SSIM {entry['ssim_mean']:.4f} ({entry['ssim_minus_test_py']:+.4f}), PSNR "
              f"{entry['psnr_mean']:.2f} dB ({entry['psnr_minus_test_py']:+.2f}), N {entry['n']}", flush=True)
    return report


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run_dir", type=Path, default=None, help="checkpoint folder (default: run `mrff demo` first)")
    p.add_argument("--gallery", type=Path, default=None, help="test.py's results folder (.../test_latest)")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.run_dir is None:
        mrff("demo", "--dataroot", args.out / "data", "--checkpoints_dir", args.out / "checkpoints",
             "--results_dir", args.out / "results")
        args.run_dir, args.gallery = args.out / "checkpoints" / "mrff_demo", args.out / "results" / "mrff_demo" / "test_latest"
    report = measure(args.run_dir, args.gallery, args.out)
    write_json(args.out.parent / "norm_paths.json", report)
    print(f"wrote {args.out.parent / 'norm_paths.json'}")
    return report


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
