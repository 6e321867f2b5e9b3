"""Tiled generation: the receptive field behind the defaults, activation memory, tiled vs untiled, a 4000x3000 photo.

    python -m benchmarks.tiling [--quick] [--train_iterations 100] [--skip rf,memory,tiles,rss]

1. receptive field of one output pixel, |d out / d in| (tiling.receptive_field), of the
   fusion generator at ngf 64 with random weights and calibrated BatchNorm (speed.py's
   inference checkpoint) and at ngf 16 after `--train_iterations` pix2pix steps on
   synthetic pairs: the extent where the gradient is nonzero and the radii of the
   squares that hold 90 / 95 / 99 / 99.9% of it.  tiling.DEFAULT_OVERLAP comes from here.
2. activation memory of one 256x256 forward pass at ngf 64: the layer-hook estimate that
   `mrff generate --max_memory` uses (backends.measure_activation_cost) against the exact
   peak of live tensors (every storage followed by a TorchDispatchMode), fp32 and bf16.
3. tiled vs untiled on a 768x640 synthetic visible frame through the trained ngf-16
   network: mean / max absolute difference in grey levels, everywhere and away from the
   tile borders, and the seam measure of tests/test_tiling.py, for the default tile and
   overlap and a few others (overlap 0: butt-joined tiles, the control).  With each
   image's own BatchNorm statistics (`mrff generate`'s default) the tiles take theirs
   from the whole image, from a half- or quarter-size copy (what automatic tiling does
   when the image does not fit --max_memory), or -- the control -- from each tile alone;
   the running statistics (`--norm_stats running`) are measured beside them.
4. a 4000x3000 photo through `mrff generate` (ngf 64 checkpoint, default --max_memory, so
   tiled automatically) in a child process, fp32 and bf16: wall time, the automatic-tiling
   line, and peak memory -- the child's ru_maxrss (benchmarks/children/peak_rss.py) and the peak
   of the summed proportional set
   size (PSS) of the child and its loader workers, sampled every 0.1 s.

Writes benchmarks/out/tiling.json.  `--quick` shrinks everything (checks the machinery only).
"""
import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import OUT as OUT_DIR
from benchmarks.common import ROOT, child, machine
from benchmarks.children.peak_rss import parse_maxrss
from benchmarks.pix2pix_step import Pix2PixStep
from benchmarks.speed import save_checkpoint, write_report
from mrff_plugin.generate import tiling
from mrff_plugin.generate.backends import TorchBackend, measure_activation_cost
from mrff_plugin.generate.engine import run_network, to_u8_images
from mrff_plugin.generate.network import fold_batch_norms, prepare_for_inference
from mrff_plugin.synth import render_pair
from mrff_plugin.training.precision import Precision

OUT = OUT_DIR / "tiling.json"
FUSION = "unetpp_fusion"


def visible_tensor(seed, width, height):
    """A synthetic visible frame as a (1, 3, H, W) uint8 tensor."""
    return torch.from_numpy(render_pair(seed, (width, height), "day")[0].copy()).permute(2, 0, 1)[None]


# ------------------------------------------------------------------ networks

def trained_network(ngf, iterations, size, cache):
    """A fusion generator after `iterations` pix2pix steps (bf16, batch 4) on 16 synthetic pairs; cached."""
    step = Pix2PixStep(FUSION, ngf=ngf, amp="bf16")
    if cache.is_file():
        step.G.load_state_dict(torch.load(cache, weights_only=True))
        return step.G.eval(), True
    pairs = [render_pair(seed, (size, size), "day") for seed in range(16)]
    a = torch.stack([torch.from_numpy(v.copy()).permute(2, 0, 1).float() / 127.5 - 1 for v, _, _ in pairs])
    b = torch.stack([torch.from_numpy(t.copy())[None].float() / 127.5 - 1 for _, t, _ in pairs])
    generator = torch.Generator().manual_seed(0)
    for _ in range(iterations):
        pick = torch.randint(0, len(pairs), (4,), generator=generator)
        step(a[pick], b[pick])
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(step.G.state_dict(), cache)
    return step.G.eval(), False


def random_calibrated_network(ngf, folder):
    """speed.py's inference checkpoint (random weights, BatchNorm statistics from synthetic images), loaded."""
    from mrff_plugin.generate.network import load_generator
    save_checkpoint(folder, ngf, 256, 20)
    return load_generator(str(folder / "latest_net_G.pth"))[0]


# ------------------------------------------------------------------ 1. receptive field

def receptive_fields(networks, side):
    results = {}
    for label, net in networks.items():
        net = fold_batch_norms(net.eval()).float().to(memory_format=torch.contiguous_format)
        field = tiling.receptive_field(net, visible_tensor(99, side, side).float() / 127.5 - 1)
        results[label] = {"support_px": field["support"], "radius_px": {str(k): v for k, v in field["radius"].items()}}
        print(f"receptive field {label}: support {field['support']} px, radii {field['radius']}", flush=True)
    return results


# ------------------------------------------------------------------ 2. activation memory

class PeakTensorMemory(torch.utils._python_dispatch.TorchDispatchMode):
    """The exact peak of the bytes held by live tensor storages while the enclosed operations run."""

    def __init__(self):
        super().__init__()
        self.live, self.current, self.peak = {}, 0, 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in torch.utils._pytree.tree_leaves(out):
            if isinstance(tensor, torch.Tensor):
                storage = tensor.untyped_storage()
                key = torch.multiprocessing.reductions.StorageWeakRef(storage)
                if key not in self.live:
                    self.live[key] = storage.nbytes()
                    self.current += self.live[key]
                    weakref.finalize(storage, self._freed, key)
        self.peak = max(self.peak, self.current)
        return out

    def _freed(self, key):
        self.current -= self.live.pop(key, 0)


def activation_memory(net, side):
    results = {}
    for amp in ("none", "bf16"):
        backend = TorchBackend(net, Precision(amp), 3)
        estimate = measure_activation_cost(backend, net, 3, backend.multiple).bytes_per_pixel
        x = torch.zeros(1, 3, side, side)
        backend(x)  # warm-up: bf16 weight copies are made once
        with PeakTensorMemory() as tracker:
            backend(x)
        exact = tracker.peak / side ** 2
        results[amp] = {"estimate_bytes_per_pixel": estimate, "exact_peak_bytes_per_pixel": exact,
                        "estimate_over_exact": estimate / exact}
        print(f"activation memory {amp}: estimate {estimate:.0f} B/px, exact peak {exact:.0f} B/px "
              f"({estimate / exact:.2f}x)", flush=True)
    return results


# ------------------------------------------------------------------ 3. tiled vs untiled

def seam_measure(image, tile, overlap, period=32):
    """(worst mean |step| across a tile border, mean |step| across same-phase lines inside tiles); as the tests."""
    worst, inside = 0.0, []
    for axis, length in ((0, image.shape[0]), (1, image.shape[1])):
        steps = np.abs(np.diff(image, axis=axis)).mean(axis=1 - axis)
        starts = tiling.tile_starts(length, tile, overlap)
        borders = sorted({s for s in starts if s > 0} | {s + tile for s in starts if s + tile < length})
        worst = max([worst] + [steps[k - 1] for k in borders])
        phases = {k % period for k in borders}
        inside += [steps[k - 1] for k in range(1, length) if k % period in phases and k not in borders]
    return float(worst), float(np.mean(inside)), borders


class OwnStatistics:
    """A backend whose tiles are normalised by their own statistics (no whole-image pass): the naive way."""

    def __init__(self, backend):
        self.backend, self.multiple = backend, backend.multiple

    def __call__(self, x):
        return self.backend(x)

    def whole_image_statistics(self, image, run):
        return contextlib.nullcontext()


def tiled_vs_untiled(net, width, height, settings, norm_stats="image"):
    """settings: (tile, overlap, statistics) with statistics a scale of the copy that gives the tiles their
    normalisation statistics (1: the whole image; below 1: a downscaled copy, as automatic tiling takes when
    the image does not fit --max_memory) or 'own' (each tile its own)."""
    import copy
    backend = TorchBackend(prepare_for_inference(copy.deepcopy(net), "cpu", norm_stats), Precision("none"), 3)
    x = visible_tensor(7, width, height)
    untiled = to_u8_images(run_network(backend, x), 1)[0].astype(np.int16)
    results = {"size": [width, height], "norm_stats": norm_stats, "untiled_std_grey_levels": float(untiled.std()),
               "runs": []}
    for tile, overlap, statistics in settings:
        start = time.perf_counter()
        own = statistics == "own"
        out = to_u8_images(run_network(OwnStatistics(backend) if own else backend, x, tile, overlap, 1,
                                       1.0 if own else statistics), 1)[0].astype(np.int16)
        seconds = time.perf_counter() - start
        diff = np.abs(out - untiled)
        away = np.ones_like(diff, dtype=bool)
        margin = max(overlap // 2, 16)
        for axis, length in ((0, height), (1, width)):
            starts = tiling.tile_starts(length, tile, overlap)
            for k in sorted({s for s in starts if s > 0} | {s + tile for s in starts if s + tile < length}):
                index = [slice(None), slice(None)]
                index[axis] = slice(max(0, k - margin), k + margin)
                away[tuple(index)] = False
        worst, inside, _ = seam_measure(out, tile, overlap)
        untiled_worst = seam_measure(untiled, tile, overlap)[0]
        run = {"tile": tile, "overlap": overlap, "statistics": statistics, "seconds": seconds,
               "mean_abs_diff": float(diff.mean()), "max_abs_diff": int(diff.max()),
               "mean_abs_diff_away_from_borders": float(diff[away].mean()) if away.any() else None,
               "share_away_from_borders": float(away.mean()),
               "seam_worst_border_step": worst, "seam_untiled_same_lines": untiled_worst,
               "seam_inside_same_phase": inside}
        results["runs"].append(run)
        print(f"{norm_stats} statistics, tiles {tile}/{overlap}, tile statistics {statistics}: mean |tiled - untiled| {run['mean_abs_diff']:.3f} grey levels "
              f"(away from borders {run['mean_abs_diff_away_from_borders']}), max {run['max_abs_diff']}; "
              f"border step {worst:.2f} vs untiled {untiled_worst:.2f}, inside {inside:.2f}", flush=True)
    return results


# ------------------------------------------------------------------ 4. a 4000x3000 photo

def tree_pss_kb(pid):
    """Summed proportional set size (kB) of `pid` and its descendants: pages shared between the forked
    loader workers and their parent count once in all (Linux /proc/<pid>/smaps_rollup)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as handle:
                total += next((int(line.split()[1]) for line in handle if line.startswith("Pss:")), 0)
            with open(f"/proc/{p}/task/{p}/children") as handle:
                todo += [int(c) for c in handle.read().split()]
        except (OSError, ValueError):
            pass
    return total


def big_photo(checkpoint, width, height, amp, threads, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        rng = np.random.default_rng(0)
        from PIL import Image
        small = rng.integers(0, 256, (height // 16, width // 16, 3), dtype=np.uint8)
        Image.fromarray(small).resize((width, height), Image.BILINEAR).save(folder / "photo.jpg", quality=90)
        argv = [*child("children.peak_rss", "--"), sys.executable, "-m", "mrff_plugin.cli", "generate",
                "--checkpoint", str(checkpoint), "--input", str(folder), "--output", str(Path(tmp) / "out"),
                "--amp", amp, "--quiet", *extra]
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        peak_tree = 0
        while proc.poll() is None:
            peak_tree = max(peak_tree, tree_pss_kb(proc.pid))
            time.sleep(0.1)
        stdout, stderr = proc.communicate()
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"generate {width}x{height} failed: {stderr.strip()[-500:]}")
        written = Image.open(Path(tmp) / "out" / "photo.png")
        maxrss = parse_maxrss(stdout)
    result = {"size": [width, height], "amp": amp, "extra_flags": list(extra), "wall_seconds": wall,
              "peak_rss_mb_main": maxrss / 1024, "peak_pss_mb_with_workers": peak_tree / 1024,
              "output_size": list(written.size),
              "tiling_line": next((line for line in stderr.splitlines() if "tiles" in line), None)}
    print(f"{width}x{height} {amp} {' '.join(extra)}: {wall:.1f} s, peak RSS {result['peak_rss_mb_main']:.0f} MB "
          f"(with loader workers, PSS {result['peak_pss_mb_with_workers']:.0f} MB); {result['tiling_line']}",
          flush=True)
    return result


# ------------------------------------------------------------------ main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny settings: checks the machinery only")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--train_iterations", type=int, default=None, help="pix2pix steps of the ngf-16 network (100)")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: rf,memory,tiles,rss")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    args.skip = set(filter(None, args.skip.split(",")))
    args.train_iterations = args.train_iterations if args.train_iterations is not None else (2 if args.quick else 100)
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    quick = args.quick
    report = {"quick": quick, "threads": args.threads, "machine": machine(), "load_average": os.getloadavg(),
              "defaults": {"tile": tiling.DEFAULT_TILE, "overlap": tiling.DEFAULT_OVERLAP,
                           "receptive_radius_99": tiling.RECEPTIVE_RADIUS_99, "memory_share": tiling.MEMORY_SHARE}}
    ngf = 8 if quick else 64
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "run"
        big = random_calibrated_network(ngf, checkpoint)
        cache = args.out.parent / f"tiling_trained_ngf16_{args.train_iterations}.pth"
        trained, cached = trained_network(8 if quick else 16, args.train_iterations, 64 if quick else 128, cache)
        report["trained_network"] = {"ngf": 8 if quick else 16, "iterations": args.train_iterations,
                                     "from_cache": cached}
        if "rf" not in args.skip:
            report["receptive_field"] = receptive_fields(
                {f"ngf{ngf} random, calibrated BatchNorm": big,
                 f"ngf{report['trained_network']['ngf']} trained {args.train_iterations} steps": trained},
                128 if quick else 384)
        if "memory" not in args.skip:
            report["activation_memory_256"] = activation_memory(prepare_for_inference(big, "cpu"), 64 if quick else 256)
        if "tiles" not in args.skip:
            tile, overlap = (128, 32) if quick else (tiling.DEFAULT_TILE, tiling.DEFAULT_OVERLAP)
            statistics = [(tile, overlap, k) for k in (1.0, 0.7, 0.5, 0.25, "own")]
            others = [(128, 0, 1.0)] if quick else [(256, 64, 1.0), (256, 96, 1.0), (256, 96, "own"), (256, 0, 1.0)]
            size = (256, 192) if quick else (768, 640)
            report["tiled_vs_untiled"] = tiled_vs_untiled(trained, *size, statistics + others)
            report["tiled_vs_untiled_running_statistics"] = tiled_vs_untiled(
                trained, *size, [(tile, overlap, 1.0)] + others[:3:2], norm_stats="running")
        if "rss" not in args.skip:
            size = (640, 480) if quick else (4000, 3000)
            report["big_photo"] = [big_photo(checkpoint / "latest_net_G.pth", *size, amp, args.threads)
                                   for amp in ("none", "bf16")]
    return write_report(report, args.out)


if __name__ == "__main__":
    main()
