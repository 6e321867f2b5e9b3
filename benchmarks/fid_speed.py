"""Speed of `mrff evaluate` with FID and KID against the Inception network's bare forward pass, in one run.

    python -m benchmarks.fid_speed [--images 500] [--size 256] [--out PATH]
    python -m benchmarks.fid_speed --roadscene ../shared/data/roadscene   # its whole images, as they are

1. writes --images synthetic 8-bit grey fakes and as many reals (--size x --size PNGs) to a
   temporary folder; or, with --roadscene, takes RoadScene's whole LWIR images as the reals and its
   visible images, made grey and saved as PNGs under the same names, as the fakes (every pair, at its
   own size: what `mrff evaluate` meets after `mrff generate` on that set);
2. times, alternated as bare / evaluate / bare (--rounds N: N evaluate runs, each between two bare
   passes) so that load from other processes falls on both, in wall time and in CPU time:
   * the bare pass: the Inception TorchScript module (mrff_plugin.inception.load) on ready
     (batch, 3, 299, 299) float32 inputs, in evaluate's batch size, as many images as evaluate
     sends through it (fakes + reals); only the forward calls are timed;
   * `mrff evaluate --fake DIR --real DIR` as a separate process, whole command: start-up, reading and
     decoding the PNGs, SSIM and PSNR, the resize, the features (fp32), FID and KID, the JSON/CSV;
3. reports images/s of each and their ratio (evaluate / the mean of the bare passes either side; the
   target is at least 0.8), the same ratio in CPU seconds, the load average before, during and after, the machine, and the FID/KID evaluate printed,
   into benchmarks/results/speed-evaluate-fid-<N>x<size>px-fp32-<cpu>-pt<torch>-<date>.json
   (benchmarks/results/MANIFEST.md explains the naming).

Run it with `nice` on a shared machine; the load average in the JSON says how busy it was.
"""
import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.common import RESULTS, ROOT, cpu_info, cpu_tag, machine, package_env, write_json
from mrff_plugin import inception
from mrff_plugin.commands.evaluate import BATCH


def write_images(folder, count, size, seed):
    """Synthetic LWIR-like scenes: warm blobs on a vertical gradient with sensor noise."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    for i in range(count):
        image = 50 + 60 * y / size
        for _ in range(4):
            cy, cx, r = rng.uniform(0, size, 2).tolist() + [rng.uniform(size / 30, size / 8)]
            image = image + rng.uniform(40, 140) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
        image = image + rng.normal(0, 4, image.shape)
        Image.fromarray(image.clip(0, 255).astype(np.uint8)).save(folder / f"I{i:05d}.png")


def roadscene_folders(root, fake, real):
    """RoadScene's LWIR (as they are) into `real` and its visible images, grey, into `fake`, as PNGs under the
    pairs' names; returns (count, 'W x H' sizes seen)."""
    from mrff_plugin.datasets.pairs_layout import list_pairs
    from mrff_plugin.datasets.images import load_image
    fake.mkdir(parents=True)
    real.mkdir(parents=True)
    sizes = set()
    pairs = list_pairs(str(root), "train").pairs
    for pair in pairs:
        lwir = load_image(pair.lwir, "L")
        sizes.add(f"{lwir.width}x{lwir.height}")
        lwir.save(real / f"{pair.pair_id}.png")
        load_image(pair.visible, "L").save(fake / f"{pair.pair_id}.png")
    return len(pairs), sorted(sizes)


def bare_pass(network, count, batch=BATCH):
    """(wall seconds, CPU seconds of this process) of the forward calls alone over `count` images, in batches
    of `batch`."""
    x = torch.empty(batch, 3, inception.SIZE, inception.SIZE).uniform_(-1, 1, generator=torch.Generator().manual_seed(0))
    seconds, cpu, done = 0.0, 0.0, 0
    with torch.inference_mode():
        network(x[:2])   # TorchScript's first (profiling) calls, outside the timing
        network(x[:2])
        while done < count:
            n = min(batch, count - done)
            start, start_cpu = time.perf_counter(), time.process_time()
            network(x[:n])
            seconds += time.perf_counter() - start
            cpu += time.process_time() - start_cpu
            done += n
    return seconds, cpu


def run_evaluate(fake, real, out):
    command = [sys.executable, "-m", "mrff_plugin.cli", "evaluate", "--fake", str(fake), "--real", str(real),
               "--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=package_env())
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"mrff evaluate failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, command, done.stdout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500, help="fakes (and as many reals) (default 500)")
    parser.add_argument("--size", type=int, default=256, help="image side in pixels (default 256)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="evaluate runs, each between two bare passes (default 1: bare, evaluate, bare)")
    parser.add_argument("--roadscene", type=Path, default=None,
                        help="time on this RoadScene folder's whole images instead of synthetic ones")
    parser.add_argument("--out", default=None, help="result JSON (default: benchmarks/results/<named by what/where/when>)")
    args = parser.parse_args(argv)

    _, flags = cpu_info()
    load_start = os.getloadavg()
    network = inception.load()
    bare, evaluations, sizes = [], [], [f"{args.size}x{args.size}"]
    with tempfile.TemporaryDirectory(prefix="fid_speed_") as tmp:
        tmp = Path(tmp)
        if args.roadscene:
            args.images, sizes = roadscene_folders(args.roadscene, tmp / "fake", tmp / "real")
        else:
            write_images(tmp / "fake", args.images, args.size, seed=1)
            write_images(tmp / "real", args.images, args.size, seed=2)
        inception_images = 2 * args.images
        bare.append(bare_pass(network, inception_images))
        for _ in range(args.rounds):
            seconds, cpu, command, printed = run_evaluate(tmp / "fake", tmp / "real", tmp / "scores")
            evaluations.append((seconds, cpu, os.getloadavg()[0]))
            bare.append(bare_pass(network, inception_images))
        run = json.loads((tmp / "scores.json").read_text())["runs"][0]
    load_end = os.getloadavg()

    # each evaluate run against the mean of the bare passes either side of it, in wall and in CPU time
    rounds = [{"evaluate_seconds": seconds, "evaluate_cpu_seconds": cpu, "load_1min": load,
               "bare_seconds": [bare[i][0], bare[i + 1][0]], "bare_cpu_seconds": [bare[i][1], bare[i + 1][1]],
               "evaluate_over_bare": (bare[i][0] + bare[i + 1][0]) / 2 / seconds,
               "evaluate_over_bare_cpu": (bare[i][1] + bare[i + 1][1]) / 2 / cpu}
              for i, (seconds, cpu, load) in enumerate(evaluations)]
    bare_rate = inception_images / (sum(b[0] for b in bare) / len(bare))
    evaluate_seconds = sum(e[0] for e in evaluations) / len(evaluations)
    evaluate_rate = inception_images / evaluate_seconds
    today = datetime.date.today()
    report = {
        "what": "mrff evaluate --fake --real (SSIM, PSNR, FID, KID) against the Inception network's bare forward "
                "pass, fp32, on the same number of Inception images (fakes + reals)",
        "command": " ".join(command[1:]),
        "images": args.images, "inception_images": inception_images, "data": "roadscene" if args.roadscene else
        "synthetic", "sizes": sizes, "batch": BATCH,
        "precision": "fp32",
        "bare_seconds": [b[0] for b in bare], "bare_cpu_seconds": [b[1] for b in bare],
        "bare_images_per_s": bare_rate, "evaluate_images_per_s": evaluate_rate,
        "evaluate_over_bare": evaluate_rate / bare_rate, "rounds": rounds, "target": 0.8,
        "cpu_time_note": "CPU seconds (user + system) of the bare pass's process during its forward calls and of "
                         "the whole evaluate process: less sensitive than wall time to other processes' load",
        "fid": run["fid"], "kid_mean": run["kid_mean"], "kid_std": run["kid_std"], "n": run["n"],
        "load_average_start": load_start, "load_average_end": load_end,
        "machine": {**machine(), "cpu_tag": cpu_tag(flags)},
        "date": today.isoformat(), "evaluate_output": printed,
    }
    if args.out:
        path = Path(args.out)
    else:
        torch_tag = "pt" + torch.__version__.split("+")[0].replace(".", "")
        what = f"{args.images}roadscene" if args.roadscene else f"{args.images}x{args.size}px"
        stem = (f"speed-evaluate-fid-{what}-fp32-{cpu_tag(flags)}-{torch_tag}-"
                f"{today.strftime('%Y%m%d')}")
        path, k = RESULTS / f"{stem}.json", 2
        while path.exists():
            path, k = RESULTS / f"{stem}-{k}.json", k + 1
    write_json(path, report)
    cpu_ratios = ", ".join(f"{r['evaluate_over_bare_cpu']:.0%}" for r in rounds)
    print(f"bare pass {bare_rate:.2f} images/s ({', '.join(f'{b[0]:.1f}' for b in bare)} s); mrff evaluate "
          f"{evaluate_rate:.2f} images/s ({', '.join(f'{e[0]:.1f}' for e in evaluations)} s) = "
          f"{evaluate_rate / bare_rate:.0%} of the bare pass in wall time, {cpu_ratios} in CPU time; "
          f"load {load_start[0]:.1f} -> {load_end[0]:.1f}; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
