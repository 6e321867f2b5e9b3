"""Speed and memory of the fusion generator against the host's U-Nets, in one run.

    python -m benchmarks.speed [--quick] [--threads 2] [--images 200]

Measures, side by side in one process (configurations alternated round by
round, so load from other processes hits all of them alike):

1. the machine's matmul peak, fp32 and bf16 (square `torch.mm`), GFLOP/s;
2. each generator's parameters and multiply-accumulates per image
   (`torch.utils.flop_counter.FlopCounterMode`, FLOPs / 2);
3. the pix2pix training step (G + D, benchmarks/pix2pix_step.py) of
   `unetpp_fusion` and the host's U-Net for that size (`unet_256` at 256x256,
   `unet_128` at 128x128), batch 1 and 4, fp32 and bf16 autocast: median
   seconds per step, FLOPs per step (counted), achieved GFLOP/s and its
   fraction of the matching matmul peak;
4. peak resident memory (ru_maxrss, benchmarks/children/peak_rss.py, of a child process
   doing three training steps at 256x256, batch 1: benchmarks/children/train_steps.py) of
   each generator, fp32 and bf16;
5. inference: `mrff generate` (each --amp) against the host's `test.py --model
   test` on the same images and the same fusion checkpoint (random weights,
   BatchNorm statistics from `--calibration_images` synthetic images), wall
   time of each whole command (start-up included), images/s, the mean
   absolute difference of the bf16 PNGs from the fp32 ones in grey levels, and
   the images/s of the bare forward pass each command runs (test.py: fp32,
   batch 1, glibc's default allocator; generate: its --amp and batch, after
   allocator.keep_freed_memory() -- and once more without it), timed in a fresh
   process right after the command (benchmarks/children/forward_pass.py): the
   median pass (sustained) and the shortest (peak), the ceilings of each command's ratios; and the same for
   `mrff generate --backend onnxruntime` on the file `mrff export` writes from that
   checkpoint (fp32), with its PNGs' difference from the PyTorch fp32 ones;
6. PNG encoding of synthetic LWIR images, Pillow's default against the options
   `mrff generate` writes with (files.PNG_OPTIONS): ms per image and file size;
   and the decoding of visible images as `mrff generate` decodes them.

Writes benchmarks/out/speed.json and prints a summary.  `--quick` shrinks all
of it (128x128, ngf 8, batch 1, 8 images) so it finishes in well under a minute:
it checks the machinery, its figures mean nothing.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import OUT as OUT_DIR
from benchmarks.common import ROOT, child, machine, write_json
from benchmarks.children.peak_rss import parse_maxrss
from benchmarks.pix2pix_step import Pix2PixStep

OUT = OUT_DIR / "speed.json"
BASELINE = {256: "unet_256", 128: "unet_128"}  # the host U-Net for each image size
FUSION = "unetpp_fusion"


# ------------------------------------------------------------------ 1. matmul peak

def matmul_peak(dtype, n, seconds, device="cpu"):
    """GFLOP/s of (n x n) @ (n x n) in `dtype` on `device`, best of repeated timings over about `seconds`
    (on CUDA each timing waits for the product; TF32 is whatever the caller set: benchmarks/gpu_check.py)."""
    wait = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    a, b = torch.randn(n, n, device=device).to(dtype), torch.randn(n, n, device=device).to(dtype)
    torch.mm(a, b)
    wait()
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        torch.mm(a, b)
        wait()
        best = max(best, 2 * n ** 3 / (time.perf_counter() - start) / 1e9)
    return best


# ------------------------------------------------------------------ 2. parameters and MACs

def count_flops(fn):
    """FLOPs that `fn()` performs (matmuls and convolutions, forward and backward)."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def generator_costs(names, size, ngf):
    """{name: {'params', 'macs_per_image'}} at size x size, one 3-channel image."""
    costs = {}
    for name in names:
        G = Pix2PixStep(name, ngf=ngf).G.eval()
        x = torch.zeros(1, 3, size, size)
        with torch.no_grad():
            flops = count_flops(lambda: G(x))
        costs[name] = {"params": sum(p.numel() for p in G.parameters()), "macs_per_image": flops // 2}
    return costs


# ------------------------------------------------------------------ 3. training steps

def training_steps(configs, ngf, rounds, peaks):
    """Median seconds per step of each config {'netG', 'size', 'batch', 'amp', 'layout'}, alternated by round."""
    runs, steps = [], {}  # one G + D per (netG, amp, layout), shared by its sizes and batches (memory)
    for config in configs:
        key = (config["netG"], config["amp"], config["layout"])
        if key not in steps:
            steps[key] = Pix2PixStep(config["netG"], ngf=ngf, amp=config["amp"],
                                     channels_last=config["layout"] == "channels_last")
        step = steps[key]
        a = torch.rand(config["batch"], 3, config["size"], config["size"]) * 2 - 1
        b = torch.rand(config["batch"], 1, config["size"], config["size"]) * 2 - 1
        flops = count_flops(lambda: step(a, b))  # also the warm-up step
        runs.append({"config": config, "step": step, "a": a, "b": b, "flops": flops, "times": []})
    for _ in range(rounds):
        for run in runs:
            start = time.perf_counter()
            run["step"](run["a"], run["b"])
            run["times"].append(time.perf_counter() - start)
    results = []
    for run in runs:
        seconds = statistics.median(run["times"])
        gflops = run["flops"] / seconds / 1e9
        peak = peaks["bf16" if run["config"]["amp"] == "bf16" else "fp32"]
        results.append({**run["config"], "seconds_per_step": seconds, "times": run["times"],
                        "gflop_per_step": run["flops"] / 1e9, "achieved_gflops": gflops,
                        "fraction_of_peak": gflops / peak})
    return results


# ------------------------------------------------------------------ 4. peak memory

def run_measured(argv, **kwargs):
    """(exit code, wall seconds, stdout, stderr) of a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - start
    return proc.returncode, wall, stdout, stderr


def peak_rss_mb(netG, amp, size, ngf, threads):
    """Peak RSS (MB) of a fresh process doing three training steps of `netG` at size x size, batch 1."""
    steps = child("children.train_steps", "--netG", netG, "--amp", amp, "--size", size, "--ngf", ngf, "--batch", 1,
                  "--steps", 3, "--threads", threads)
    argv = child("children.peak_rss", "--", *steps)
    code, _, stdout, stderr = run_measured(argv, cwd=str(ROOT))
    if code != 0:
        raise RuntimeError(f"peak-RSS child failed: {stderr.strip().splitlines()[-1:]}")
    return parse_maxrss(stdout) / 1024  # Linux: kilobytes


# ------------------------------------------------------------------ 5. inference

def write_images(folder, count, size, seed=0):
    """`count` smooth random RGB PNGs of size x size (visible-like content is not needed for timing)."""
    rng = np.random.default_rng(seed)
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        small = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
        Image.fromarray(small).resize((size, size), Image.BILINEAR).save(folder / f"img_{i:04d}.png")


def save_checkpoint(folder, ngf, size, images):
    """A fusion checkpoint in the host's format (the host's own functions): initial random weights, BatchNorm
    statistics measured on `images` synthetic visible images.  With the initial statistics (mean 0, var 1)
    every output would be a flat grey, and fp32/bf16 agreement on flat images says nothing."""
    from mrff_plugin.generate.network import attach_host
    from mrff_plugin.synth import render_pair
    _, checkpoint = attach_host()
    step = Pix2PixStep(FUSION, ngf=ngf)
    norms = {m: m.momentum for m in step.G.modules() if isinstance(m, torch.nn.BatchNorm2d)}
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the calibration images
    with torch.no_grad():
        for seed in range(images):
            visible = render_pair(seed, (size, size), "day")[0]
            step.G(torch.from_numpy(visible).permute(2, 0, 1)[None].float() / 127.5 - 1)
    for norm, momentum in norms.items():
        norm.momentum = momentum
    opt = argparse.Namespace(netG=FUSION, norm="batch", ngf=ngf, input_nc=3, output_nc=1, no_dropout=False,
                              mrff_fusion="nested", mrff_channels=32)
    folder.mkdir(parents=True, exist_ok=True)
    checkpoint.save_network(step.G, checkpoint.network_path(str(folder), "latest", "G"))
    checkpoint.save_state(checkpoint.state_path(str(folder), "latest"), opt, 1, 0, [], [])


def forward_in_child(checkpoint_path, size, batch, amp, threads, keep_memory, kind="torch", model=None, env=None,
                     norm_stats="image"):
    """forward_pass.forward_images_per_s in a fresh process, started as the command it stands for starts: with
    `keep_memory`, after allocator.keep_freed_memory() as `mrff generate` calls it; without, with glibc's
    default (the host's test.py)."""
    argv = child("children.forward_pass", "--checkpoint", checkpoint_path, "--size", size, "--batch", batch,
                 "--amp", amp, "--threads", threads, "--backend", kind, "--norm_stats", norm_stats,
                 *(["--keep_memory"] if keep_memory else []), *(["--model", model] if model else []))
    code, _, stdout, stderr = run_measured(argv, env=env, cwd=str(ROOT))
    if code != 0:
        raise RuntimeError(f"forward-pass child failed: {stderr.strip()[-500:]}")
    return json.loads(stdout.strip().splitlines()[-1])


def export_model(checkpoint_path, out):
    """`mrff export`'s machinery on the inference checkpoint: (seconds, its report)."""
    from mrff_plugin.generate.network import load_generator, prepare_for_inference
    from mrff_plugin.generate.onnx_export import export_onnx
    start = time.perf_counter()
    net, options = load_generator(str(checkpoint_path))
    report = export_onnx(prepare_for_inference(net, "cpu"), str(out), options["input_nc"], metadata=options)
    return time.perf_counter() - start, report


def png_difference(folder_a, folder_b):
    """(mean, max) absolute difference in grey levels between the same-named PNGs of two folders."""
    from PIL import Image
    diffs = [np.abs(np.asarray(Image.open(p), np.int16) - np.asarray(Image.open(folder_b / p.name), np.int16))
             for p in sorted(folder_a.glob("*.png"))]
    return float(np.mean([d.mean() for d in diffs])), int(max(d.max() for d in diffs))


def inference(count, size, ngf, threads, batch_size, amp_modes, calibration_images, onnxruntime=True, test_py=True,
              norm_modes=("image", "running")):
    """Wall time and images/s of `mrff generate` (each amp mode with each --norm_stats, and --backend
    onnxruntime in fp32) and the host's test.py as users run it (no --eval: BatchNorm by each image's own
    statistics, as `mrff generate`'s default), same images.  Labels: 'mrff generate --amp A' is the default
    --norm_stats image; '... --norm_stats running' the eval-mode fold."""
    from mrff_plugin.commands._host_script import host_command
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_images(tmp / "images", count, size)
        save_checkpoint(tmp / "checkpoints" / "run", ngf, size, calibration_images)
        test_argv = host_command("test.py", [
            "--dataroot", str(tmp / "images"), "--name", "run", "--checkpoints_dir", str(tmp / "checkpoints"),
            "--results_dir", str(tmp / "results"), "--model", "test", "--dataset_mode", "single",
            "--netG", FUSION, "--norm", "batch", "--ngf", str(ngf), "--output_nc", "1", "--gpu_ids", "-1",
            "--preprocess", "none", "--num_test", str(count)])
        runs = {"host test.py": test_argv} if test_py else {}
        labels = {}   # label -> (amp, norm_stats)
        for amp in amp_modes:
            for norm in norm_modes:
                label = f"mrff generate --amp {amp}" + ("" if norm == "image" else f" --norm_stats {norm}")
                labels[label] = (amp, norm)
                runs[label] = [
                    sys.executable, "-m", "mrff_plugin.cli", "generate", "--checkpoint",
                    str(tmp / "checkpoints" / "run" / "latest_net_G.pth"), "--input", str(tmp / "images"),
                    "--output", str(tmp / f"generated_{amp}_{norm}"), "--batch_size", str(batch_size), "--amp", amp,
                    "--norm_stats", norm, "--quiet"]
        checkpoint_path = tmp / "checkpoints" / "run" / "latest_net_G.pth"
        ort_label, model = "mrff generate --backend onnxruntime", tmp / "model.onnx"
        if onnxruntime:
            export_seconds, export_report = export_model(checkpoint_path, model)
            runs[ort_label] = [
                sys.executable, "-m", "mrff_plugin.cli", "generate", "--backend", "onnxruntime", "--model", str(model),
                "--input", str(tmp / "images"), "--output", str(tmp / "generated_onnxruntime"),
                "--batch_size", str(batch_size), "--quiet"]
        # each command's bare forward pass runs right after the command, so that both see the same load
        forwards = {"host test.py": dict(batch=1, amp="none", keep_memory=False)}  # test.py: batch 1, fp32
        forwards.update({label: dict(batch=batch_size, amp=amp, keep_memory=True, norm_stats=norm)
                         for label, (amp, norm) in labels.items()})
        if onnxruntime:
            forwards[ort_label] = dict(batch=batch_size, amp="none", keep_memory=True, kind="onnxruntime",
                                       model=model)
        for label, argv in runs.items():
            load = os.getloadavg()[0]
            code, wall, stdout, stderr = run_measured(argv, env=env, cwd=str(ROOT))
            if code != 0:
                raise RuntimeError(f"{label} failed: {stderr.strip()[-500:]}")
            forward = forward_in_child(checkpoint_path, size, threads=threads, env=env, **forwards[label])
            results[label] = {"wall_seconds": wall, "images_per_s": count / wall, "load_average_before": load,
                              "forward_only_images_per_s": forward["median"],
                              "forward_only_best_images_per_s": forward["best"]}
            if label in labels and labels[label][1] == "image":  # the same pass with glibc's default malloc
                default = forward_in_child(checkpoint_path, size, threads=threads, env=env,
                                           **dict(forwards[label], keep_memory=False))
                results[label]["forward_only_default_malloc_images_per_s"] = default["median"]
            print(f"  {label}: {count / wall:.2f} images/s; its bare forward pass {forward['median']:.2f} "
                  f"(median), {forward['best']:.2f} (best)", flush=True)
        fp32 = tmp / "generated_none_image"
        if fp32.is_dir():  # bf16 vs fp32 agreement of the written images
            from PIL import Image
            results["mrff generate --amp none"]["output_std_grey_levels"] = float(np.mean(
                [np.asarray(Image.open(p), np.float64).std() for p in sorted(fp32.glob("*.png"))]))
            for amp in amp_modes:
                if amp != "none":
                    entry = results[f"mrff generate --amp {amp}"]
                    entry["mad_vs_fp32_grey_levels"], entry["max_vs_fp32_grey_levels"] = png_difference(
                        fp32, tmp / f"generated_{amp}_image")
        if onnxruntime:
            ort = results[ort_label]
            ort["export_seconds"], ort["export_max_difference"] = export_seconds, export_report["max_difference"]
            if fp32.is_dir():
                ort["mad_vs_torch_fp32_grey_levels"], ort["max_vs_torch_fp32_grey_levels"] = png_difference(
                    fp32, tmp / "generated_onnxruntime")
                torch_fp32 = results["mrff generate --amp none"]
                ort["speed_vs_torch_fp32"] = ort["images_per_s"] / torch_fp32["images_per_s"]
                ort["forward_only_vs_torch_fp32"] = (ort["forward_only_images_per_s"]
                                                     / torch_fp32["forward_only_images_per_s"])
    base = results["host test.py"]["images_per_s"] if test_py else None
    for label, entry in results.items():
        if base is not None:
            entry["speedup_vs_test_py"] = entry["images_per_s"] / base
            entry["forward_only_vs_test_py"] = entry["forward_only_images_per_s"] / base  # the ceiling of the ratio
        entry["vs_own_forward_only"] = entry["images_per_s"] / entry["forward_only_images_per_s"]  # pipeline share
        entry["vs_own_forward_best"] = entry["images_per_s"] / entry["forward_only_best_images_per_s"]
    return {"images": count, "size": size, "ngf": ngf, "batch_size": batch_size,
            "checkpoint_calibration_images": calibration_images, "runs": results}


# ------------------------------------------------------------------ 6. PNG encoding

def png_encoding(count, size):
    """Milliseconds per image and mean kilobytes of encoding `count` synthetic LWIR images (synth.render_pair,
    a stand-in for what a trained generator writes) as PNGs, Pillow's default against files.PNG_OPTIONS
    (what `mrff generate` writes), and of decoding their visible partners as `mrff generate` decodes."""
    import io

    from PIL import Image
    from mrff_plugin.datasets.images import load_image
    from mrff_plugin.generate.files import PNG_OPTIONS
    from mrff_plugin.synth import render_pair
    pairs = [render_pair(seed, (size, size), "day")[:2] for seed in range(count)]
    results = {}
    for label, options in (("pillow default", {}), ("mrff generate", PNG_OPTIONS)):
        start, total = time.perf_counter(), 0
        for _, lwir in pairs:
            buffer = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(lwir)).save(buffer, format="PNG", **options)
            total += buffer.tell()
        results[label] = {"encode_ms_per_image": (time.perf_counter() - start) / count * 1e3,
                          "kilobytes_per_image": total / count / 1024}
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, (visible, _) in enumerate(pairs):
            paths.append(os.path.join(tmp, f"{i}.png"))
            Image.fromarray(visible).save(paths[-1])
        start = time.perf_counter()
        for path in paths:
            np.asarray(load_image(path, "RGB"))
        results["decode_visible_ms_per_image"] = (time.perf_counter() - start) / count * 1e3
    results["encode_speedup"] = (results["pillow default"]["encode_ms_per_image"]
                                 / results["mrff generate"]["encode_ms_per_image"])
    results["size_ratio"] = (results["mrff generate"]["kilobytes_per_image"]
                             / results["pillow default"]["kilobytes_per_image"])
    return {"images": count, "size": size, **results}


# ------------------------------------------------------------------ main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny settings (128x128, ngf 8): checks the machinery only")
    p.add_argument("--threads", type=int, default=2, help="torch threads (this CPU has 2 cores)")
    p.add_argument("--rounds", type=int, default=None, help="timed steps per configuration (default 5; quick 2)")
    p.add_argument("--sizes", default=None, help="comma-separated image sizes (default 256,128; quick 128)")
    p.add_argument("--batches", default=None, help="comma-separated batch sizes (default 1,4; quick 1)")
    p.add_argument("--amp", default="none,bf16", help="precisions to time: none,bf16")
    p.add_argument("--norm_stats", default="image,running",
                   help="mrff generate --norm_stats modes in the inference test (image: the default, as test.py)")
    p.add_argument("--layouts", default="channels_last,contiguous",
                   help="memory layouts to time (channels_last is how --model mrff_pix2pix trains)")
    p.add_argument("--images", type=int, default=None, help="images for the inference test (default 200; quick 8)")
    p.add_argument("--batch_size", type=int, default=8,
                   help="mrff generate --batch_size in the inference test (default 8, the command's own default)")
    p.add_argument("--calibration_images", type=int, default=None,
                   help="synthetic images that set the inference checkpoint's BatchNorm statistics "
                        "(default 20; quick 2)")
    p.add_argument("--skip", default="",
                   help="comma-separated parts to skip: train,rss,png,inference,onnxruntime,test_py (test_py: the "
                        "host's test.py and the ratios to it)")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    quick = args.quick
    args.rounds = args.rounds or (2 if quick else 5)
    args.sizes = [int(s) for s in (args.sizes or ("128" if quick else "256,128")).split(",")]
    args.batches = [int(b) for b in (args.batches or ("1" if quick else "1,4")).split(",")]
    args.amp = args.amp.split(",")
    args.layouts = args.layouts.split(",")
    args.norm_stats = args.norm_stats.split(",")
    args.images = args.images or (8 if quick else 200)
    args.calibration_images = args.calibration_images or (2 if quick else 20)
    args.ngf = 8 if quick else 64
    args.skip = set(filter(None, args.skip.split(",")))
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    peak_n, peak_s = (256, 0.3) if args.quick else (2048, 3.0)
    peaks = {"fp32": matmul_peak(torch.float32, peak_n, peak_s), "bf16": matmul_peak(torch.bfloat16, peak_n, peak_s)}
    print(f"matmul peak: fp32 {peaks['fp32']:.1f} GFLOP/s, bf16 {peaks['bf16']:.1f} GFLOP/s", flush=True)
    report = {"quick": args.quick, "threads": args.threads, "machine": machine(),
              "load_average_start": os.getloadavg(), "matmul_peak_gflops": peaks, "generators": {}}
    for size in args.sizes:
        report["generators"][str(size)] = generator_costs([FUSION, BASELINE[size]], size, args.ngf)
    if "train" not in args.skip:
        configs = [{"netG": netG, "size": size, "batch": batch, "amp": amp, "layout": layout}
                   for size in args.sizes for batch in args.batches for amp in args.amp
                   for layout in args.layouts for netG in (FUSION, BASELINE[size])]
        report["training_steps"] = training_steps(configs, args.ngf, args.rounds, peaks)
        for r in report["training_steps"]:
            print(f"train {r['netG']:>13} {r['size']}px b{r['batch']} {r['amp']:>4} {r['layout']}: {r['seconds_per_step']:.3f} s/step,"
                  f" {r['achieved_gflops']:.1f} GFLOP/s ({100 * r['fraction_of_peak']:.0f}% of peak)", flush=True)
    if "rss" not in args.skip:
        size = args.sizes[0]
        report["peak_rss_mb"] = {f"{netG} {amp} {size}px b1": peak_rss_mb(netG, amp, size, args.ngf, args.threads)
                                 for netG in (FUSION, BASELINE[size]) for amp in args.amp}
        print("peak RSS (MB):", {k: round(v) for k, v in report["peak_rss_mb"].items()}, flush=True)
    if "png" not in args.skip:
        report["png_encoding"] = png = png_encoding(8 if args.quick else 100, args.sizes[0])
        print(f"PNG encoding of synthetic LWIR: Pillow's default {png['pillow default']['encode_ms_per_image']:.2f} "
              f"ms/image, mrff generate's {png['mrff generate']['encode_ms_per_image']:.2f} "
              f"({png['encode_speedup']:.2f}x as fast, files {png['size_ratio']:.3f}x the size); decoding "
              f"{png['decode_visible_ms_per_image']:.2f} ms/image", flush=True)
    if "inference" not in args.skip:
        size = args.sizes[0]
        report["inference"] = inference(args.images, size, args.ngf, args.threads, args.batch_size, args.amp,
                                        args.calibration_images, "onnxruntime" not in args.skip,
                                        "test_py" not in args.skip, args.norm_stats)
        for label, r in report["inference"]["runs"].items():
            vs_test = (f", {r['speedup_vs_test_py']:.2f}x test.py" if "speedup_vs_test_py" in r else "")
            print(f"inference {label}: {r['images_per_s']:.2f} images/s ({r['wall_seconds']:.1f} s){vs_test}; "
                  f"its forward pass alone {r['forward_only_images_per_s']:.2f} images/s; "
                  f"{100 * r['vs_own_forward_only']:.0f}% of its own forward pass", flush=True)
        ort = report["inference"]["runs"].get("mrff generate --backend onnxruntime", {})
        if "speed_vs_torch_fp32" in ort:
            print(f"inference ONNX Runtime / PyTorch fp32: {ort['speed_vs_torch_fp32']:.2f}x whole command, "
                  f"{ort['forward_only_vs_torch_fp32']:.2f}x forward pass; PNGs differ by "
                  f"{ort['mad_vs_torch_fp32_grey_levels']:.3f} grey levels on average, "
                  f"{ort['max_vs_torch_fp32_grey_levels']} at most", flush=True)
    return write_report(report, args.out)


def write_report(report, path):
    """Add the load average at the end, write `report` as JSON to `path`, say so; return `report`."""
    report["load_average_end"] = os.getloadavg()
    write_json(path, report, indent=2)
    print(f"wrote {path}")
    return report


if __name__ == "__main__":
    main()
