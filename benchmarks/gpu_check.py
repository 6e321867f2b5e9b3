"""One command for a lent CUDA machine: environment, the CUDA tests, speed, a short run at the paper's scale.

    python -m benchmarks.gpu_check --out DIR                       # on the GPU machine: under 8 minutes
    python -m benchmarks.gpu_check --out DIR --device cpu --quick  # the same machinery on CPU, tiny sizes

Writes DIR/gpu_check.json (rewritten after every part, so a run killed half-way keeps what finished)
and DIR/gpu_check.log (everything the parts printed).  Each part runs in a child process of its own and
is stopped at its own time budget (`--budget part=seconds`); what it finished by then is kept (each
part writes DIR/parts/<part>.json after every row) and the part is marked as stopped.

1. env: the machine record (benchmarks/common.py), GPU name, memory, driver, CUDA, cuDNN,
   torch/torchvision and the other packages' versions, and the matmul peak (speed.py's `matmul_peak`)
   in fp32, TF32 and bf16.
2. tests: `pytest -m cuda tests/test_cuda.py` in-process, each test's outcome, duration and message (or
   skip reason) recorded as it finishes; also DIR/cuda_tests.xml (JUnit).  With --device cpu the tests
   see no CUDA device (CUDA_VISIBLE_DEVICES=''), so they report themselves skipped.
3. speed: the pix2pix G+D step (pix2pix_step.py), fusion against the host's U-Net of the image size, batch
   1 and 8, fp32 / TF32 / bf16, channels_last, rounds alternated; counted GFLOP, GFLOP/s, the fraction of
   the matching and of the bf16 matmul peak, peak GPU memory.  Then `mrff generate` (fp32, bf16) against
   the host's test.py on the same images (256x256 and 640x512), and against its own bare forward pass
   (timed in this process, peak memory beside it); and the bare pass replayed as a CUDA graph (fixed size).
4. quality: `fusion paper` against the U-Net at 256x256, ngf 64, on synthetic pairs, through
   quality.train.train_run_v1 (the quality study's run), as many iterations as the budget allows (the same
   for both); held-out SSIM/PSNR and iterations/s.

It installs nothing.  A package it needs that is missing is named in one sentence (benchmarks/README.md,
"GPU check", says which wheels travel with the checkout and how they are installed offline).
"""
import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.common import ROOT, child, machine, write_json

PARTS = ("env", "tests", "speed", "quality")
# seconds per part: 450 s of budgets, plus the children's start-up, stays under 8 minutes
BUDGETS = {"env": 20, "tests": 150, "speed": 110, "quality": 170}
QUICK_BUDGETS = {"env": 20, "tests": 60, "speed": 90, "quality": 60}
# module -> the distribution to install; pure-Python (py3-none-any) wheels travel to any Python
REQUIRED = {"torch": "torch", "torchvision": "torchvision", "numpy": "numpy", "PIL": "pillow", "scipy": "scipy",
            "matplotlib": "matplotlib", "torchmetrics": "torchmetrics", "dominate": "dominate", "tqdm": "tqdm",
            "pytest": "pytest", "mrff_plugin": "mrff-plugin"}
OPTIONAL = {"onnx": "onnx", "onnxscript": "onnxscript", "onnxruntime": "onnxruntime"}   # `mrff export` test
INSTALL = "pip install --no-index --no-deps wheels/*.whl"


# ================================================================== the parent: parts in children, budgets

def missing_packages():
    """(required, optional) distributions whose module cannot be imported here; 'mrff-plugin' also when it
    is importable but not installed (the autoload hook the host's scripts need comes with the install)."""
    def absent(table):
        return [dist for module, dist in table.items() if importlib.util.find_spec(module) is None]
    required = absent(REQUIRED)
    try:
        importlib.metadata.distribution("mrff-plugin")
    except importlib.metadata.PackageNotFoundError:
        required = sorted(set(required) | {"mrff-plugin"})
    return required, absent(OPTIONAL)


def parse_budgets(items, quick):
    budgets = dict(QUICK_BUDGETS if quick else BUDGETS)
    for item in items:
        part, _, seconds = item.partition("=")
        if part not in budgets or not seconds.replace(".", "", 1).isdigit():
            raise SystemExit(f"gpu_check: --budget {item} is not PART=SECONDS with PART one of {', '.join(PARTS)}.")
        budgets[part] = float(seconds)
    return budgets


def run_part(part, args, budget, log):
    """Run one part in a child process (its own session), its output to stdout and the log, killed with its
    process group at `budget` seconds; return its record: status, seconds, and what the part wrote."""
    argv = child("gpu_check", "--part", part, "--out", args.out, "--device", args.device, "--budget_s", budget,
                 *(["--quick"] if args.quick else []))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if part == "tests" and args.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""   # the CUDA tests skip themselves, as on a machine without a GPU
    result_file = args.out / "parts" / f"{part}.json"
    result_file.unlink(missing_ok=True)
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)

    def pump():
        for line in process.stdout:
            sys.stdout.write(f"[{part}] {line}")
            sys.stdout.flush()
            log.write(f"[{part}] {line}")
            log.flush()
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        code = process.wait(timeout=budget)
        status = "finished" if code == 0 else f"failed (exit {code})"
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        status = f"stopped at its budget of {budget:g} s"
    reader.join(timeout=5)
    record = json.loads(result_file.read_text()) if result_file.is_file() else {}
    return {"status": status, "seconds": round(time.perf_counter() - start, 1), "budget_s": budget, **record}


def summary_lines(part, record):
    """A few lines that say what a part found (the JSON holds everything)."""
    lines = [f"{part}: {record['status']} in {record['seconds']} s"]
    if part == "env" and "matmul_peak_gflops" in record:
        peaks = ", ".join(f"{k} {v:.0f}" for k, v in record["matmul_peak_gflops"].items() if v)
        lines.append(f"  {record.get('device_name')}: matmul peak GFLOP/s {peaks}")
    if part == "tests" and "counts" in record:
        lines.append("  " + ", ".join(f"{n} {outcome}" for outcome, n in record["counts"].items()))
        reasons = sorted({t["message"] for t in record["tests"] if t["outcome"] == "skipped"})
        lines += [f"  skipped: {reason}" for reason in reasons[:3]]
        lines += [f"  FAILED {t['name']}: {t['message'][:300]}" for t in record["tests"] if t["outcome"] == "failed"]
    for row in record.get("training_steps", []):
        lines.append(f"  step {row['netG']:>13} b{row['batch']} {row['precision']:>4}: {row['ms_per_step']:.1f} ms, "
                     f"{row['achieved_gflops']:.0f} GFLOP/s ({100 * row['fraction_of_bf16_peak']:.0f}% of bf16 peak)"
                     + (f", peak {row['peak_memory_mb']:.0f} MB" if row["peak_memory_mb"] else ""))
    for size, runs in record.get("generate", {}).items():
        for label, r in runs.items():
            ratio = f", {r['speedup_vs_test_py']:.2f}x test.py" if "speedup_vs_test_py" in r else ""
            lines.append(f"  {size} {label}: {r['images_per_s']:.1f} images/s{ratio}, "
                         f"{100 * r['vs_own_forward']:.0f}% of its bare pass ({r['forward_images_per_s']:.1f})")
    graph = record.get("cuda_graph")
    if graph:
        lines.append("  CUDA graph: " + (graph.get("skipped") or ", ".join(
            f"{amp} {g['graph_images_per_s']:.1f} vs eager {g['eager_images_per_s']:.1f} images/s"
            for amp, g in graph.get("rows", {}).items())))
    for label, run in record.get("runs", {}).items():
        lines.append(f"  {label}: SSIM {run['ssim']:.4f} PSNR {run['psnr']:.2f} after {run['iterations']} "
                     f"iterations, {run['iterations_per_s']:.2f} it/s")
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="folder for gpu_check.json and gpu_check.log")
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks the machinery, the figures mean nothing")
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of " + ",".join(PARTS))
    p.add_argument("--budget", action="append", default=[], metavar="PART=SECONDS",
                   help="a part's time budget (defaults: " + ", ".join(f"{k}={v}" for k, v in BUDGETS.items()) + ")")
    p.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)          # a child: run this one part
    p.add_argument("--budget_s", type=float, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.out = args.out.resolve()
    if args.part:
        return run_child(args)
    required, optional = missing_packages()
    if required:
        print(f"gpu_check: missing {', '.join(required)}: install the wheels that travel with the checkout "
              f"(`{INSTALL}`; benchmarks/README.md, 'GPU check').")
        return 2
    if args.device == "cuda":
        import torch
        if not torch.cuda.is_available():
            print(f"gpu_check: torch {torch.__version__} sees no CUDA device (torch.cuda.is_available() is False): "
                  f"run it on the GPU machine, or pass --device cpu --quick to check the machinery here.")
            return 2
    if optional:
        print(f"gpu_check: {', '.join(optional)} not installed: the `mrff export` test will be skipped "
              f"(the wheels for this Python come from `benchmarks/gpu_wheels.py`).")
    parts = [part for part in args.parts.split(",") if part]
    budgets = parse_budgets(args.budget, args.quick)
    report = {"device": args.device, "quick": args.quick, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
              "missing_optional": optional, "budgets_s": budgets, "parts": {}}
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in (args.out / "parts").glob("*.json"):   # a part reads only what this run's parts wrote
        stale.unlink()
    with open(args.out / "gpu_check.log", "w", encoding="utf-8") as log:
        for part in parts:
            record = run_part(part, args, budgets[part], log)
            report["parts"][part] = record
            report["seconds"] = round(time.perf_counter() - start, 1)
            write_json(args.out / "gpu_check.json", report)
            lines = summary_lines(part, record)
            log.write("\n".join(lines) + "\n")
            print("\n".join(lines), flush=True)
    print(f"gpu_check: {len(parts)} parts in {report['seconds']:.0f} s; wrote {args.out / 'gpu_check.json'}")
    return 0 if all(r["status"] == "finished" for r in report["parts"].values()) else 1


# ================================================================== a child: one part

class Part:
    """What a part has so far, written to DIR/parts/<part>.json every time `save` is called."""

    def __init__(self, args):
        self.path = args.out / "parts" / f"{args.part}.json"
        self.data = {}
        self.deadline = time.perf_counter() + (args.budget_s or 1e9)

    def left(self):
        return self.deadline - time.perf_counter()

    def save(self, **items):
        self.data.update(items)
        write_json(self.path, self.data)


def run_child(args):
    part = Part(args)
    {"env": part_env, "tests": part_tests, "speed": part_speed, "quality": part_quality}[args.part](args, part)
    return 0


def sync(device):
    import torch
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def set_tf32(enabled):
    """TF32 for float32 matmuls and convolutions on CUDA, on or off (the fp32_precision API where torch has it)."""
    import torch
    if hasattr(torch.backends.cuda.matmul, "fp32_precision"):
        torch.backends.cuda.matmul.fp32_precision = "tf32" if enabled else "ieee"
        torch.backends.cudnn.conv.fp32_precision = "tf32" if enabled else "ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled


def peak_memory_mb(device):
    import torch
    return torch.cuda.max_memory_allocated() / 2 ** 20 if torch.device(device).type == "cuda" else None


def reset_peak_memory(device):
    import torch
    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats()


# ------------------------------------------------------------------ 1. environment

def nvidia_smi():
    """Driver version and the GPUs as nvidia-smi reports them ({} where there is no nvidia-smi)."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    rows = [[field.strip() for field in line.split(",")] for line in out.stdout.strip().splitlines()]
    keys = ("name", "driver_version", "memory_total", "max_sm_clock", "power_limit")
    return {"gpus": [dict(zip(keys, row)) for row in rows]} if out.returncode == 0 else {}


def part_env(args, part):
    import torch

    from benchmarks.speed import matmul_peak
    versions = {}
    for dist in sorted(set(REQUIRED.values()) | set(OPTIONAL.values())):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    info = {"python": platform.python_version(), "platform": platform.platform(), "machine": machine(),
            "torch_cuda": torch.version.cuda, "versions": versions, "cuda_available": torch.cuda.is_available()}
    if args.device == "cuda":
        props = torch.cuda.get_device_properties(0)
        info.update(device_name=props.name, device_count=torch.cuda.device_count(),
                    memory_gb=round(props.total_memory / 2 ** 30, 1), multiprocessors=props.multi_processor_count,
                    capability=f"{props.major}.{props.minor}", cudnn=torch.backends.cudnn.version(),
                    bf16_supported=torch.cuda.is_bf16_supported(), **nvidia_smi())
    else:
        info.update(device_name=info["machine"]["cpu"] or platform.machine())
    part.save(**info)
    n, seconds = (256, 0.3) if args.quick else ((8192, 2.0) if args.device == "cuda" else (2048, 3.0))
    peaks = {}
    for label, dtype, tf32 in (("fp32", torch.float32, False), ("tf32", torch.float32, True),
                               ("bf16", torch.bfloat16, False)):
        if label == "tf32" and args.device != "cuda":
            peaks[label] = None   # TF32 is a CUDA tensor-core format
            continue
        if args.device == "cuda":
            set_tf32(tf32)
        peaks[label] = matmul_peak(dtype, n, seconds, args.device)
        print(f"matmul peak {label}: {peaks[label]:.0f} GFLOP/s ({n}x{n})", flush=True)
        part.save(matmul_peak_gflops=peaks, matmul_n=n)
    if args.device == "cuda":
        set_tf32(False)


# ------------------------------------------------------------------ 2. the CUDA tests

class TestRecorder:
    """A pytest plugin: each test's outcome, seconds and message (skip reason, failure's last line), saved
    to the part's JSON as soon as the test has finished."""

    def __init__(self, part):
        self.part, self.tests = part, []

    def pytest_runtest_logreport(self, report):
        failed_setup = report.when == "setup" and not report.passed
        if report.when != "call" and not failed_setup:
            return
        if report.skipped:
            message = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            message = message.removeprefix("Skipped: ")
        elif report.failed:
            message = (report.longreprtext or "").strip().splitlines()[-1:] or [""]
            message = message[0]
        else:
            message = ""
        self.tests.append({"name": report.nodeid, "outcome": report.outcome, "seconds": round(report.duration, 2),
                           "message": message})
        counts = {}
        for test in self.tests:
            counts[test["outcome"]] = counts.get(test["outcome"], 0) + 1
        self.part.save(tests=self.tests, counts=counts)


def part_tests(args, part):
    import pytest
    part.save(tests=[], counts={}, command="pytest -m cuda tests/test_cuda.py")
    code = pytest.main(["-m", "cuda", "-v", "-p", "no:cacheprovider", "--rootdir", str(ROOT), "-c",
                        str(ROOT / "pytest.ini"), "--junitxml", str(args.out / "cuda_tests.xml"),
                        str(ROOT / "tests" / "test_cuda.py")], plugins=[TestRecorder(part)])
    part.save(pytest_exit_code=int(code))


# ------------------------------------------------------------------ 3. speed

def speed_settings(args):
    if args.quick:
        return dict(size=128, ngf=4, batches=(1, 2), rounds=1, steps_per_round=1, images=2,
                    image_sizes=((160, 128),), generate_amp=("none",), calibration=1, passes=2)
    return dict(size=256, ngf=64, batches=(1, 8), rounds=5, steps_per_round=3, images=64,
                image_sizes=((256, 256), (640, 512)), generate_amp=("none", "bf16"), calibration=4, passes=10)


def precisions(device):
    """(label, Pix2PixStep amp, TF32 on) of each precision timed on `device`."""
    return [("fp32", "none", False)] + ([("tf32", "none", True)] if device == "cuda" else []) + [("bf16", "bf16", False)]


def training_rows(args, settings, peaks):
    """The G+D step of fusion and the host's U-Net at each batch and precision, channels_last, alternated."""
    import torch

    from benchmarks.pix2pix_step import Pix2PixStep
    from benchmarks.speed import BASELINE, FUSION, count_flops
    device, size = args.device, settings["size"]
    steps, runs = {}, []
    for netG in (FUSION, BASELINE[size]):
        for batch in settings["batches"]:
            for label, amp, tf32 in precisions(device):
                if (netG, amp) not in steps:
                    steps[netG, amp] = Pix2PixStep(netG, ngf=settings["ngf"], ndf=settings["ngf"], amp=amp,
                                                   device=device)
                a = torch.rand(batch, 3, size, size, device=device) * 2 - 1
                b = torch.rand(batch, 1, size, size, device=device) * 2 - 1
                runs.append({"netG": netG, "batch": batch, "precision": label, "tf32": tf32,
                             "step": steps[netG, amp], "a": a, "b": b, "times": []})
    for run in runs:  # warm-up (cuDNN picks its algorithms; not with --quick), FLOPs, peak memory of the step
        if device == "cuda":
            set_tf32(run["tf32"])
        if not args.quick:
            run["step"](run["a"], run["b"])
        sync(device)
        resident = torch.cuda.memory_allocated() / 2 ** 20 if device == "cuda" else None
        reset_peak_memory(device)
        run["flops"] = count_flops(lambda: run["step"](run["a"], run["b"]))
        sync(device)
        run["peak"], run["resident"] = peak_memory_mb(device), resident
    for _ in range(settings["rounds"]):
        for run in runs:
            if device == "cuda":
                set_tf32(run["tf32"])
            sync(device)
            start = time.perf_counter()
            for _ in range(settings["steps_per_round"]):
                run["step"](run["a"], run["b"])
            sync(device)
            run["times"].append((time.perf_counter() - start) / settings["steps_per_round"])
    if device == "cuda":
        set_tf32(False)
    rows = []
    for run in runs:
        seconds = statistics.median(run["times"])
        gflops = run["flops"] / seconds / 1e9
        rows.append({"netG": run["netG"], "size": size, "batch": run["batch"], "precision": run["precision"],
                     "layout": "channels_last", "ms_per_step": 1e3 * seconds,
                     "ms_per_step_rounds": [1e3 * t for t in run["times"]], "gflop_per_step": run["flops"] / 1e9,
                     "achieved_gflops": gflops, "fraction_of_peak": gflops / peaks[run["precision"]],
                     "fraction_of_bf16_peak": gflops / peaks["bf16"], "peak_memory_mb": run["peak"],
                     "resident_memory_mb": run["resident"]})
    return rows


def write_visible_images(folder, count, width, height, unique=8):
    """`count` synthetic visible PNGs of width x height (mrff_plugin.synth), `unique` scenes repeated."""
    import shutil

    from PIL import Image
    from mrff_plugin.synth import render_pair
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        path = folder / f"img_{i:04d}.png"
        if i < unique:
            Image.fromarray(render_pair(i, (width, height), "day")[0]).save(path)
        else:
            shutil.copyfile(folder / f"img_{i % unique:04d}.png", path)
    return folder


def bare_forward(checkpoint_path, device, amp, batch, width, height, passes):
    """{'images_per_s' (median pass), 'best', 'peak_memory_mb'}: the generator's forward pass as `mrff generate`
    prepares it (generate.backends.open_backend), on one fixed batch, waiting for the device after each pass
    (forward_pass.time_passes); and the backend itself (for the CUDA-graph row)."""
    import torch

    from benchmarks.children.forward_pass import time_passes
    from mrff_plugin.generate.backends import open_backend
    backend = open_backend("torch", torch.device(device), amp, str(checkpoint_path))[0]
    images = torch.randint(0, 256, (batch, 3, height, width), dtype=torch.uint8, device=device)
    times = time_passes(backend, images, passes, sync=lambda: sync(device),
                        after_warm_up=lambda: reset_peak_memory(device))
    return {"images_per_s": batch / statistics.median(times), "best": batch / min(times),
            "peak_memory_mb": peak_memory_mb(device)}, backend


def generate_rows(args, settings, tmp, checkpoint):
    """`mrff generate` (fp32, bf16) and the host's test.py on the same images, per image size, with the bare
    forward pass of each; the ratios to test.py and to the command's own bare pass."""
    from benchmarks.speed import FUSION, run_measured
    from mrff_plugin.commands._host_script import host_command
    results = {}
    count, ngf = settings["images"], settings["ngf"]
    for width, height in settings["image_sizes"]:
        images = write_visible_images(tmp / f"images_{width}x{height}", count, width, height)
        runs = {"host test.py": (host_command("test.py", [
            "--dataroot", str(images), "--name", "run", "--checkpoints_dir", str(checkpoint.parents[1]),
            "--results_dir", str(tmp / f"results_{width}"), "--model", "test", "--dataset_mode", "single",
            "--netG", FUSION, "--norm", "batch", "--ngf", str(ngf), "--output_nc", "1",
            "--gpu_ids", "0" if args.device == "cuda" else "-1", "--preprocess", "none", "--num_test", str(count),
            "--eval", "--num_threads", "0"]), "none", 1)}
        for amp in settings["generate_amp"]:
            runs[f"mrff generate --amp {amp}"] = ([
                sys.executable, "-m", "mrff_plugin.cli", "generate", "--checkpoint", str(checkpoint), "--input",
                str(images), "--output", str(tmp / f"generated_{width}_{amp}"), "--device", args.device,
                "--batch_size", "8", "--amp", amp, "--quiet"], amp, 8)
        entries = results[f"{width}x{height}"] = {}
        for label, (argv, amp, batch) in runs.items():
            code, wall, _, stderr = run_measured(argv, cwd=str(ROOT))
            if code != 0:
                raise RuntimeError(f"{label} failed: {stderr.strip()[-800:]}")
            forward, _ = bare_forward(checkpoint, args.device, amp, batch, width, height, settings["passes"])
            entries[label] = {"wall_seconds": wall, "images_per_s": count / wall, "batch": batch,
                              "forward_images_per_s": forward["images_per_s"],
                              "forward_best_images_per_s": forward["best"],
                              "forward_peak_memory_mb": forward["peak_memory_mb"],
                              "vs_own_forward": count / wall / forward["images_per_s"]}
            print(f"{width}x{height} {label}: {count / wall:.2f} images/s ({wall:.1f} s), bare pass "
                  f"{forward['images_per_s']:.2f}", flush=True)
        base = entries["host test.py"]["images_per_s"]
        for entry in entries.values():
            entry["speedup_vs_test_py"] = entry["images_per_s"] / base
        yield results


def cuda_graph_rows(args, settings, checkpoint):
    """The bare forward pass at a fixed size and batch 8, eager against replayed as one CUDA graph."""
    import torch
    if args.device != "cuda":
        return {"skipped": "CUDA graphs need a CUDA device"}
    size, batch, passes = settings["size"], 8, 20
    rows = {}
    for amp in ("none", "bf16"):
        eager, backend = bare_forward(checkpoint, "cuda", amp, batch, size, size, passes)
        static_x = torch.rand(batch, 3, size, size, device="cuda") * 2 - 1
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                backend(static_x)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_y = backend(static_x)
        graph.replay()
        torch.cuda.synchronize()
        with torch.inference_mode():
            difference = float((static_y - backend(static_x)).abs().max())
        times = []
        for _ in range(passes):
            start = time.perf_counter()
            graph.replay()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        rows[amp] = {"batch": batch, "size": size, "eager_images_per_s": eager["images_per_s"],
                     "graph_images_per_s": batch / statistics.median(times), "max_difference_vs_eager": difference}
    return {"rows": rows}


def part_speed(args, part):
    import tempfile

    import torch

    from benchmarks.speed import FUSION, matmul_peak, save_checkpoint
    settings = speed_settings(args)
    env = args.out / "parts" / "env.json"   # the peaks the env part measured in this run, else measured here
    peaks = json.loads(env.read_text()).get("matmul_peak_gflops", {}) if env.is_file() else {}
    n, seconds = (256, 0.2) if args.quick else ((8192, 1.0) if args.device == "cuda" else (2048, 1.0))
    for label, amp, tf32 in precisions(args.device):
        if not peaks.get(label):
            if args.device == "cuda":
                set_tf32(tf32)
            peaks[label] = matmul_peak(torch.bfloat16 if amp == "bf16" else torch.float32, n, seconds, args.device)
    if args.device == "cuda":
        set_tf32(False)
    part.save(settings=settings, matmul_peak_gflops=peaks,
              cudnn_benchmark=torch.backends.cudnn.benchmark if args.device == "cuda" else None)
    rows = training_rows(args, settings, peaks)
    part.save(training_steps=rows)
    for row in rows:
        print(f"step {row['netG']} b{row['batch']} {row['precision']}: {row['ms_per_step']:.1f} ms", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        checkpoint = tmp / "checkpoints" / "run" / "latest_net_G.pth"
        save_checkpoint(checkpoint.parent, settings["ngf"], settings["size"], settings["calibration"])
        part.save(inference_network={"netG": FUSION, "ngf": settings["ngf"], "images": settings["images"]})
        for results in generate_rows(args, settings, tmp, checkpoint):
            part.save(generate=results)
        try:
            part.save(cuda_graph=cuda_graph_rows(args, settings, checkpoint))
        except RuntimeError as exc:   # a capture that fails is a finding, not a failed part
            part.save(cuda_graph={"error": str(exc)[-800:]})


# ------------------------------------------------------------------ 4. quality at the paper's scale

def quality_study(args):
    """A version-1 quality study dict: the paper's scale (or the quick one), one seed; iterations set later."""
    if args.quick:
        return dict(size=128, load=144, ngf=8, iters=2, decay_iters=1, eval_every=2, train_pairs=4, test_pairs=2,
                    train_scored=2, seeds=[0], amp="none")
    return dict(size=256, load=286, ngf=64, iters=None, decay_iters=None, eval_every=None, train_pairs=200,
                test_pairs=20, train_scored=10, seeds=[0], amp="none")


def seconds_per_iteration(label, study, device, steps=5):
    """Median seconds of one training step of `label` at the study's settings (after one warm-up step)."""
    import torch

    from benchmarks.pix2pix_step import Pix2PixStep
    from benchmarks.quality.v1 import model_options
    options = model_options(label, study)
    step = Pix2PixStep(options["netG"], ngf=study["ngf"], ndf=study["ngf"], mrff_arch=options.get("mrff_arch", "paper"),
                       device=device)
    a = torch.rand(1, 3, study["size"], study["size"], device=device) * 2 - 1
    b = torch.rand(1, 1, study["size"], study["size"], device=device) * 2 - 1
    times = []
    for _ in range(steps + 1):
        sync(device)
        start = time.perf_counter()
        step(a, b)
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def part_quality(args, part):
    import torch

    from benchmarks.quality.data import synthetic_arrays
    from benchmarks.quality.train import train_run_v1
    from benchmarks.quality.v1 import model_options
    labels = ("unet", "fusion paper")
    study = quality_study(args)
    device = torch.device(args.device)
    data = synthetic_arrays(study, args.out / "quality_cache")
    if study["iters"] is None:   # as many iterations as the budget gives the slower model (the same for both)
        rates = {label: seconds_per_iteration(label, study, args.device) for label in labels}
        per_model = (part.left() - 15) / len(labels) * 0.8   # scoring and start-up take the rest
        study["iters"] = max(20, int(per_model / max(rates.values())))
        study["decay_iters"], study["eval_every"] = study["iters"] // 2, study["iters"]
        part.save(calibration_seconds_per_iter=rates)
    part.save(study=study, runs={})
    runs = {}
    for label in labels:
        record = train_run_v1(label, model_options(label, study), 0, data, study, device)
        last = record["curve"][-1]
        runs[f"{label} ({record['options']['netG']})"] = {
            "ssim": last["ssim_mean"], "psnr": last["psnr_mean"], "scc": last["scc_mean"],
            "iterations": study["iters"], "iterations_per_s": 1 / record["seconds_per_iter"],
            "seconds": record["seconds"], "params": record["params"], "options": record["options"]}
        part.save(runs=runs)
        print(f"{label}: SSIM {last['ssim_mean']:.4f} PSNR {last['psnr_mean']:.2f} after {study['iters']} "
              f"iterations ({1 / record['seconds_per_iter']:.2f} it/s)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
