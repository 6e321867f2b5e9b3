"""One run of the quality study (benchmarks/quality.py): its data, training and scoring.

Data: synthetic day pairs rendered at the load size; training pairs are randomly cropped and
flipped (`PairStream`), held-out pairs centre-cropped.  Training: benchmarks/pix2pix_step.py.
Scoring (`generate`): as the host's test.py runs without --eval (train mode, batch 1, dropout
draws from EVAL_SEED, running statistics put back), or in eval mode; SSIM, PSNR and SCC on
8-bit grey images (mrff_plugin.metrics).  quality.py's docstring gives the reasons.
"""
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from pix2pix_step import Pix2PixStep  # noqa: E402
from mrff_plugin.metrics import tensor_detail, tensor_scores  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
EVAL_SEED = 1234          # dropout draws while scoring (the same for every evaluation)
HELD_OUT_FIRST_SEED = 1_000_000   # render seeds of the held-out pairs (training pairs: 0, 1, ...)
ORACLE_DROPS = (("noise",), ("noise", "patchiness"), ("noise", "patchiness", "lag"))

# label -> network options; the baseline's netG follows the image size
BASELINE = "unet"
MODELS = {
    "unet": {"netG": "unet_{size}"},
    "fusion paper": {"netG": "unetpp_fusion", "mrff_arch": "paper", "mrff_fusion": "nested"},
    "fusion released": {"netG": "unetpp_fusion", "mrff_arch": "released", "mrff_fusion": "nested"},
    "paper average": {"netG": "unetpp_fusion", "mrff_arch": "paper", "mrff_fusion": "average"},
    "paper last": {"netG": "unetpp_fusion", "mrff_arch": "paper", "mrff_fusion": "last"},
}


# ---------------------------------------------------------------- data

def render_set(first_seed, count, load, drop=()):
    """(visible (N, L, L, 3) uint8, lwir (N, L, L) uint8) of render seeds first_seed.. ."""
    from mrff_plugin.synth import render_pair
    visible = np.empty((count, load, load, 3), np.uint8)
    lwir = np.empty((count, load, load), np.uint8)
    for k in range(count):
        visible[k], lwir[k], _ = render_pair(first_seed + k, (load, load), "day", drop)
    return visible, lwir


def load_data(study, folder=OUT):
    """Training pairs (render seeds 0..) and held-out pairs (HELD_OUT_FIRST_SEED..) at the load size,
    and the oracle's held-out LWIR for each ORACLE_DROPS; cached as .npz in `folder`."""
    cache = Path(folder) / f"quality_data_{study['load']}_{study['train_pairs']}_{study['test_pairs']}.npz"
    if cache.is_file():
        return dict(np.load(cache))
    print(f"rendering {study['train_pairs']} + {study['test_pairs']} synthetic day pairs at "
          f"{study['load']}x{study['load']} (cached in {cache})", flush=True)
    data = {}
    data["train_A"], data["train_B"] = render_set(0, study["train_pairs"], study["load"])
    data["test_A"], data["test_B"] = render_set(HELD_OUT_FIRST_SEED, study["test_pairs"], study["load"])
    for drop in ORACLE_DROPS:
        data["oracle_" + "+".join(drop)] = render_set(HELD_OUT_FIRST_SEED, study["test_pairs"], study["load"],
                                                      drop)[1]
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, **data)
    os.replace(tmp, cache)
    return data


def to_tensors(visible, lwir):
    """uint8 (N, H, W, 3) and (N, H, W) -> float tensors (N, 3, H, W), (N, 1, H, W) in [-1, 1]."""
    a = torch.from_numpy(np.ascontiguousarray(visible)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    b = torch.from_numpy(np.ascontiguousarray(lwir))[:, None].float() / 127.5 - 1.0
    return a, b


def centre_crop(array, size):
    """Centre size x size crop of (N, L, L, ...) arrays."""
    top = (array.shape[1] - size) // 2
    return array[:, top:top + size, top:top + size]


class PairStream:
    """The training pairs of one seed: a fresh permutation per pass, a random crop and a flip per
    pair, as the host's aligned dataset with --load_size/--crop_size and without --no_flip."""

    def __init__(self, visible, lwir, size, seed):
        self.visible, self.lwir, self.size = visible, lwir, size
        self.rng = np.random.default_rng(seed)
        self.order = []

    def next(self):
        if not self.order:
            self.order = list(self.rng.permutation(len(self.visible))[::-1])
        k = self.order.pop()
        top, left = self.rng.integers(0, self.visible.shape[1] - self.size + 1, 2)
        flip = self.rng.random() < 0.5
        v = self.visible[k:k + 1, top:top + self.size, left:left + self.size]
        l = self.lwir[k:k + 1, top:top + self.size, left:left + self.size]
        if flip:
            v, l = v[:, :, ::-1], l[:, :, ::-1]
        return to_tensors(v, l)


# ---------------------------------------------------------------- scoring

def generate(G, images, mode, device, batch=10, with_weights=False):
    """G's outputs (N, 1, H, W) float32 on the CPU for inputs (N, 3, H, W); with_weights: also the
    fusion's attention maps w1..w4, (N, 4, H, W).

    mode "test.py": as the host's test.py without --eval (train mode, one image at a time,
    dropout draws from EVAL_SEED), running statistics restored afterwards; "eval": eval mode."""
    buffers = {name: b.detach().clone() for name, b in G.named_buffers()}
    outputs, weights = [], []
    with torch.no_grad(), torch.random.fork_rng(devices=[] if device.type == "cpu" else [device]):
        torch.manual_seed(EVAL_SEED)
        G.train(mode == "test.py")
        step = 1 if mode == "test.py" else batch
        for k in range(0, len(images), step):
            x = images[k:k + step].to(device).contiguous(memory_format=torch.channels_last)
            y = G(x, with_weights=True) if with_weights else (G(x),)
            outputs.append(y[0].float().cpu())
            weights.append(y[-1].float().cpu())
    G.train(True)
    with torch.no_grad():
        for name, b in G.named_buffers():
            b.copy_(buffers[name])
    return (torch.cat(outputs), torch.cat(weights)) if with_weights else torch.cat(outputs)


def per_image_scores(fake, real):
    """{'ssim', 'psnr', 'scc'}: per-image lists for generator outputs vs real images in [-1, 1]."""
    ssim, psnr = tensor_scores(fake, real)
    return {"ssim": ssim.tolist(), "psnr": psnr.tolist(), "scc": tensor_detail(fake, real).tolist()}


def means(scores):
    return {f"{name}_mean": float(np.mean(values)) for name, values in scores.items()}


def oracle_ceiling(data, study):
    """Scores of the privileged oracle (renderer without unobservable terms) on the held-out pairs."""
    real = to_tensors(np.zeros((1, 1, 1, 3), np.uint8), centre_crop(data["test_B"], study["size"]))[1]
    ceiling = {}
    for drop in ORACLE_DROPS:
        oracle = torch.from_numpy(centre_crop(data["oracle_" + "+".join(drop)], study["size"]).copy())
        scores = per_image_scores(oracle[:, None].float() / 127.5 - 1.0, real)
        ceiling["without " + " + ".join(drop)] = means(scores)
    return ceiling


# ---------------------------------------------------------------- one run

def train_loop(step, stream, iters, eval_every, evaluate, device, progress=None):
    """`iters` steps of `step` on `stream.next()` pairs; every `eval_every` iterations and at the last, the curve
    gets `evaluate(it, train_seconds)`.  Returns (curve, seconds spent in training steps alone)."""
    curve, train_seconds = [], 0.0
    for it in range(1, iters + 1):
        t0 = time.perf_counter()
        a, b = stream.next()
        step(a.to(device), b.to(device))
        train_seconds += time.perf_counter() - t0
        if progress:
            progress(it, train_seconds / it)
        if it % eval_every == 0 or it == iters:
            curve.append(evaluate(it, train_seconds))
    return curve, train_seconds


def model_options(label, study):
    options = dict(MODELS[label])
    options["netG"] = options["netG"].format(size=study["size"])
    return options


def train_run(label, seed, data, study, device, weights_dir=None, progress=None):
    """Train one (model, seed); return its record (curve, final per-image scores, timings)."""
    options = model_options(label, study)
    step = Pix2PixStep(options["netG"], ngf=study["ngf"], ndf=study["ngf"], amp=study["amp"],
                       mrff_fusion=options.get("mrff_fusion", "nested"), mrff_arch=options.get("mrff_arch", "paper"),
                       seed=seed, device=device,
                       schedule=(study["iters"] - study["decay_iters"], study["decay_iters"]))
    size = study["size"]
    stream = PairStream(data["train_A"], data["train_B"], size, seed)
    test_A, test_B = to_tensors(centre_crop(data["test_A"], size), centre_crop(data["test_B"], size))
    n_scored = study["train_scored"]
    train_A, train_B = to_tensors(centre_crop(data["train_A"][:n_scored], size),
                                  centre_crop(data["train_B"][:n_scored], size))
    start, load_before = time.perf_counter(), os.getloadavg()[0]
    last = {}

    def evaluate(it, train_seconds):
        last["held_out"] = held_out = per_image_scores(generate(step.G, test_A, "test.py", device), test_B)
        point = {"iter": it, "train_seconds": round(train_seconds, 2), **means(held_out)}
        if seed == 0:
            point["eval_mode"] = means(per_image_scores(generate(step.G, test_A, "eval", device), test_B))
        return point
    curve, train_seconds = train_loop(step, stream, study["iters"], study["eval_every"], evaluate, device, progress)
    held_out = last["held_out"]
    final = {"held_out": held_out,
             "train": per_image_scores(generate(step.G, train_A, "test.py", device), train_B)}
    if weights_dir is not None and seed == 0:
        weights_dir.mkdir(parents=True, exist_ok=True)
        torch.save(step.G.state_dict(), weights_dir / f"{label.replace(' ', '_')}_seed{seed}.pth")
    return {"model": label, "seed": seed, "options": options,
            "params": sum(p.numel() for p in step.G.parameters()),
            "curve": curve, "final": final, "seconds": round(time.perf_counter() - start, 1),
            "seconds_per_iter": round(train_seconds / study["iters"], 4),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine()}


def machine():
    """The CPU (and GPU) a run was measured on: runs of one study may come from several sittings."""
    info = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    cpu = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    return {"cpu": cpu, "avx512_bf16": "avx512_bf16" in info, "amx_bf16": "amx_bf16" in info,
            "avx512f": "avx512f" in info, "cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
