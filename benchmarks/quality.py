"""Held-out SSIM/PSNR learning curves: unetpp_fusion against unet_128 (and the `average` ablation).

    .venv/bin/python benchmarks/quality.py [--iters 2000] [--eval_every 250] [--amp none[,bf16]] [--quick]

Data: synthetic visible/LWIR day pairs (mrff_plugin.synth.render_pair) at
128x128, `--train` pairs for training and `--test` other pairs held out (cached
beside the output as quality_data_<size>_<train>_<test>.npz).  Every model is
trained with the same seed, the same sequence of training pairs (batch 1) and
the same iteration budget, with the pix2pix step of benchmarks/pix2pix_step.py.
Every `--eval_every` iterations (and at the end) the generator, in eval mode,
is scored on the held-out pairs with mrff_plugin.metrics.tensor_scores (8-bit
grey SSIM and PSNR, paper Table 3 protocol).

Writes benchmarks/out/quality.json (curves; for each model the first evaluated
iteration at which its SSIM reaches the baseline's final SSIM, or null) and
benchmarks/out/quality.png (the curves).  With `--amp none,bf16` the fusion
model is also trained under bf16 autocast, to compare SSIM at equal iterations.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from pix2pix_step import Pix2PixStep  # noqa: E402
from mrff_plugin.metrics import tensor_scores  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
BASELINE = "unet_128"
# (label, netG, mrff_fusion): the paper's generator, the host baseline, plain UNet++ (averaged branches)
MODELS = (("unetpp_fusion", "unetpp_fusion", "nested"), ("unet_128", "unet_128", "nested"),
          ("unetpp_fusion average", "unetpp_fusion", "average"))


def synthetic_pairs(count, size, first_seed):
    """(visible (N, 3, S, S), lwir (N, 1, S, S)) float tensors in [-1, 1] from render_pair(seed)."""
    from mrff_plugin.synth import render_pair
    visible, lwir = [], []
    for seed in range(first_seed, first_seed + count):
        v, l, _ = render_pair(seed, (size, size), "day")
        visible.append(v)
        lwir.append(l)
    to_tensor = lambda a: torch.from_numpy(np.stack(a)).float() / 127.5 - 1.0  # noqa: E731
    return to_tensor(visible).permute(0, 3, 1, 2).contiguous(), to_tensor(lwir)[:, None].contiguous()


def load_data(train, test, size, folder=OUT):
    """Training and held-out pairs (train seeds 0.., test seeds 100000..), cached as .npz in `folder`."""
    cache = Path(folder) / f"quality_data_{size}_{train}_{test}.npz"
    if cache.is_file():
        data = np.load(cache)
        return tuple(torch.from_numpy(data[k]) for k in ("train_A", "train_B", "test_A", "test_B"))
    train_A, train_B = synthetic_pairs(train, size, 0)
    test_A, test_B = synthetic_pairs(test, size, 100_000)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, train_A=train_A.numpy(), train_B=train_B.numpy(), test_A=test_A.numpy(), test_B=test_B.numpy())
    return train_A, train_B, test_A, test_B


def evaluate(G, test_A, test_B, precision):
    """Mean held-out (SSIM, PSNR) of G in eval mode, 8-bit grey (Table 3 protocol)."""
    G.eval()
    ssim, psnr = [], []
    with torch.no_grad(), precision.autocast():
        for k in range(0, len(test_A), 8):
            s, p = tensor_scores(G(test_A[k:k + 8]).float(), test_B[k:k + 8])
            ssim.append(s)
            psnr.append(p)
    G.train()
    return float(torch.cat(ssim).mean()), float(torch.cat(psnr).mean())


def train_curve(netG, fusion, amp, data, args):
    """Train one model for args.iters steps; return its curve [{'iter', 'ssim', 'psnr', 'seconds'}]."""
    train_A, train_B, test_A, test_B = data
    step = Pix2PixStep(netG, ngf=args.ngf, amp=amp, mrff_fusion=fusion, seed=args.seed)
    order = np.random.default_rng(args.seed).integers(0, len(train_A), args.iters)  # same pairs for every model
    curve, start = [], time.perf_counter()
    for it in range(1, args.iters + 1):
        k = int(order[it - 1])
        step(train_A[k:k + 1], train_B[k:k + 1])
        if it % args.eval_every == 0 or it == args.iters:
            ssim, psnr = evaluate(step.G, test_A, test_B, step.precision)
            curve.append({"iter": it, "ssim": ssim, "psnr": psnr, "seconds": time.perf_counter() - start})
            print(f"  {netG} {fusion} {amp} iter {it}: SSIM {ssim:.4f} PSNR {psnr:.2f}", flush=True)
    return curve


def iterations_to_reach(curve, target):
    """First evaluated iteration whose SSIM >= target, or None."""
    return next((point["iter"] for point in curve if point["ssim"] >= target), None)


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax_s, ax_p) = plt.subplots(1, 2, figsize=(10, 4))
    for label, entry in results.items():
        its = [p["iter"] for p in entry["curve"]]
        ax_s.plot(its, [p["ssim"] for p in entry["curve"]], marker="o", label=label)
        ax_p.plot(its, [p["psnr"] for p in entry["curve"]], marker="o", label=label)
    for ax, name in ((ax_s, "held-out SSIM"), (ax_p, "held-out PSNR (dB)")):
        ax.set_xlabel("iteration (batch 1)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    ax_s.legend()
    fig.suptitle("synthetic visible -> LWIR, 128x128")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(results, args, complete):
    """The JSON report of the models trained so far (iterations to the baseline's final SSIM once it is known)."""
    target = results[BASELINE]["curve"][-1]["ssim"] if BASELINE in results else None
    for entry in results.values():
        entry["iters_to_baseline_final_ssim"] = None if target is None else iterations_to_reach(entry["curve"], target)
    report = {"quick": args.quick, "complete": complete, "size": args.size, "ngf": args.ngf, "iters": args.iters,
              "eval_every": args.eval_every, "train_pairs": args.train, "test_pairs": args.test,
              "seed": args.seed, "baseline": BASELINE, "baseline_final_ssim": target, "models": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    return report


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=2000, help="training iterations per model (batch 1)")
    p.add_argument("--eval_every", type=int, default=250)
    p.add_argument("--train", type=int, default=200, help="synthetic training pairs")
    p.add_argument("--test", type=int, default=50, help="held-out pairs")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--ngf", type=int, default=64)
    p.add_argument("--amp", default="none", help="precisions for the fusion model: none | none,bf16")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="4 iterations, ngf 8, 4+2 pairs: checks the machinery only")
    p.add_argument("--out", type=Path, default=OUT / "quality.json")
    args = p.parse_args(argv)
    if args.quick:
        args.iters, args.eval_every, args.train, args.test, args.ngf = 4, 2, 4, 2, 8
    args.amp = args.amp.split(",")
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_data(args.train, args.test, args.size, args.out.parent)
    runs = [(label, netG, fusion, "none") for label, netG, fusion in MODELS]
    runs += [("unetpp_fusion bf16", "unetpp_fusion", "nested", amp) for amp in args.amp if amp != "none"]
    results = {}
    for label, netG, fusion, amp in runs:
        print(f"training {label} for {args.iters} iterations", flush=True)
        results[label] = {"netG": netG, "mrff_fusion": fusion, "amp": amp,
                          "curve": train_curve(netG, fusion, amp, data, args)}
        report = write_report(results, args, complete=len(results) == len(runs))  # kept after every model
    plot(results, args.out.with_suffix(".png"))
    for label, entry in results.items():
        last = entry["curve"][-1]
        print(f"{label:>22}: final SSIM {last['ssim']:.4f} PSNR {last['psnr']:.2f}; reaches {BASELINE}'s final "
              f"SSIM at iteration {entry['iters_to_baseline_final_ssim']}")
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")
    return report


if __name__ == "__main__":
    main()
