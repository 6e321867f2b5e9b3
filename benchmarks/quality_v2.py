"""Quality study, version 2: real LWIR (RoadScene) and synthetic scenes, compute-matched baseline, seed-level CIs.

    .venv/bin/python benchmarks/quality_v2.py --study roadscene   # resumable -> results/quality_v2_roadscene.json
    .venv/bin/python benchmarks/quality_v2.py --study synthetic   # -> results/quality_v2_synthetic.json
    .venv/bin/python benchmarks/quality_v2.py --study roadscene --quick   # the machinery in a minute

The protocol -- data, split, models, widths, schedule, seeds, scoring, analysis -- is
benchmarks/protocols/quality_v2.md, committed before the first run; the constants below carry
it out (tests/test_quality_v2.py checks them against it) and every results file names it and
the commit that fixed it.  Version 1 (synthetic only) is quality.py, kept as it was.

Files: this one (data, one run, the driver), quality_v2_stats.py (per-seed table, hierarchical
bootstrap), quality_v2_figures.py (curves with seed bands, samples, attention maps).
Resumable: each (model, seed) is written to the results file when it finishes and skipped
when the command runs again.
"""
import argparse
import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from pix2pix_step import Pix2PixStep  # noqa: E402
from quality import write_json  # noqa: E402
from quality_runs import EVAL_SEED, OUT, load_data, machine, train_loop  # noqa: E402
from mrff_plugin.generate.engine import pad_to_multiple  # noqa: E402
from mrff_plugin.generate.network import prepare_for_inference  # noqa: E402
from mrff_plugin.metrics import (DATA_RANGE, RELEASED_WINDOW, SSIM_K1, SSIM_K2, SSIM_SIGMA, tensor_detail,  # noqa: E402
                                  tensor_to_u8)

PROTOCOL = "benchmarks/protocols/quality_v2.md"
RESULTS = ROOT / "benchmarks" / "results"
ROADSCENE = ROOT.parent / "shared" / "data" / "roadscene"

# ---------------------------------------------------------------- the protocol's numbers

NDF = 16                  # the one discriminator of every model
CROP = 128                # training crops, at native resolution
ITERS, DECAY_ITERS = 2000, 1000   # host --lr_policy linear: constant 1000, then to 0 over 1000
EVAL_EVERY = 400          # learning-curve points (generate scoring)
PAD_MULTIPLE = 128        # held-out images padded to this (unet_128's need), the same input for every model
TEST_COUNT, FRAME_GAP = 34, 100   # RoadScene: the 34 highest frame numbers held out, 100 numbers left out below
TRAIN_SCORED_EVERY = 4    # RoadScene: every 4th training image (frame order) scored for the overfitting gap
SYNTHETIC = dict(load=144, train_pairs=1000, test_pairs=50, train_scored=50)   # version 1's synthetic data
MODES = ("generate", "test.py", "running")   # scoring: mrff generate's default, test.py, test.py --eval

MODELS = {
    "unet": dict(netG="unet_128", ngf=16),
    "unet matched": dict(netG="unet_128", ngf=40),
    "fusion paper": dict(netG="unetpp_fusion", ngf=16, mrff_arch="paper", mrff_fusion="nested"),
    "paper average": dict(netG="unetpp_fusion", ngf=16, mrff_arch="paper", mrff_fusion="average"),
    "fusion released": dict(netG="unetpp_fusion", ngf=16, mrff_arch="released", mrff_fusion="nested"),
    "released kaiming": dict(netG="unetpp_fusion", ngf=16, mrff_arch="released", mrff_fusion="nested",
                             init_type="kaiming"),
}
HEADLINE = ("unet", "unet matched", "fusion paper", "paper average")
COMPARISONS = (("fusion paper", "unet"), ("fusion paper", "unet matched"), ("fusion paper", "paper average"),
               ("fusion released", "unet"), ("released kaiming", "fusion released"))
BASELINE = "unet"


def run_order(study):
    """(label, seed) in the protocol's order: seed by seed over the headline models, then the released ones."""
    if study == "synthetic":
        return [(label, seed) for seed in (0, 1, 2) for label in HEADLINE] + \
               [("fusion released", 0), ("released kaiming", 0)]
    return [(label, seed) for seed in range(5) for label in HEADLINE] + \
        [("fusion released", 0), ("fusion released", 1), ("released kaiming", 0)] + \
        [("fusion released", seed) for seed in (2, 3, 4)]


# ---------------------------------------------------------------- data

def roadscene(root=ROADSCENE):
    """{'train': [(visible (H, W, 3) u8, lwir (H, W) u8)], 'test': [...], 'train_scored': [...], 'ids': {...}}."""
    from mrff_plugin.datasets.frame_split import split_by_frame_number
    from mrff_plugin.datasets.images import load_image
    from mrff_plugin.datasets.pairs_layout import list_pairs
    by_id = {pair.pair_id: pair for pair in list_pairs(str(root), "train").pairs}
    train_ids, test_ids = split_by_frame_number(list(by_id), TEST_COUNT, FRAME_GAP)

    def load(pair_id):
        pair = by_id[pair_id]
        return np.asarray(load_image(pair.visible, "RGB")), np.asarray(load_image(pair.lwir, "L"))
    train = [load(i) for i in train_ids]
    return {"train": train, "test": [load(i) for i in test_ids], "train_scored": train[::TRAIN_SCORED_EVERY],
            "ids": {"train": train_ids, "test": test_ids, "train_scored": train_ids[::TRAIN_SCORED_EVERY]}}


def synthetic(folder=OUT):
    """Version 1's synthetic pairs as the same lists (held-out and scored training pairs centre-cropped)."""
    data = load_data(dict(SYNTHETIC), folder)
    top = (SYNTHETIC["load"] - CROP) // 2
    centre = slice(top, top + CROP)
    pairs = lambda a, b: [(a[k], b[k]) for k in range(len(a))]  # noqa: E731
    return {"train": pairs(data["train_A"], data["train_B"]),
            "test": pairs(data["test_A"][:, centre, centre], data["test_B"][:, centre, centre]),
            "train_scored": pairs(data["train_A"][:SYNTHETIC["train_scored"], centre, centre],
                                  data["train_B"][:SYNTHETIC["train_scored"], centre, centre]),
            "ids": {"test": [f"render {1_000_000 + k}" for k in range(len(data["test_A"]))]}}


def to_tensors(visible, lwir):
    """uint8 (H, W, 3), (H, W) -> (1, 3, H, W), (1, 1, H, W) float in [-1, 1]."""
    a = torch.from_numpy(np.ascontiguousarray(visible)).permute(2, 0, 1)[None].float() / 127.5 - 1.0
    b = torch.from_numpy(np.ascontiguousarray(lwir))[None, None].float() / 127.5 - 1.0
    return a, b


class CropStream:
    """One seed's training samples: a fresh permutation per pass, a random CROP x CROP crop of the pair at its
    own size and a random horizontal flip, the same for both images."""

    def __init__(self, pairs, seed, size=CROP):
        self.pairs, self.size, self.rng, self.order = pairs, size, np.random.default_rng(seed), []

    def next(self):
        if not self.order:
            self.order = list(self.rng.permutation(len(self.pairs))[::-1])
        visible, lwir = self.pairs[self.order.pop()]
        height, width = lwir.shape
        top = self.rng.integers(0, height - self.size + 1)
        left = self.rng.integers(0, width - self.size + 1)
        v, t = visible[top:top + self.size, left:left + self.size], lwir[top:top + self.size, left:left + self.size]
        if self.rng.random() < 0.5:
            v, t = v[:, ::-1], t[:, ::-1]
        return to_tensors(v, t)


# ---------------------------------------------------------------- scoring

def outputs(G, pairs, mode, device):
    """G's output for each pair's visible image, whole: [(1, 1, H, W) float32 on the CPU].

    generate: as `mrff generate` (prepare_for_inference, each image's own statistics, no dropout);
    running: eval mode, running statistics (test.py --eval); test.py: train mode at batch 1, dropout drawn
    from EVAL_SEED, the running statistics put back afterwards (test.py without --eval).
    Each image is padded by reflection to PAD_MULTIPLE and cropped back."""
    if mode in ("generate", "running"):
        net = prepare_for_inference(copy.deepcopy(G).float(), device, "image" if mode == "generate" else "running")
    else:
        net = G
    buffers = {name: b.detach().clone() for name, b in G.named_buffers()}
    results = []
    with torch.no_grad(), torch.random.fork_rng(devices=[] if device.type == "cpu" else [device]):
        torch.manual_seed(EVAL_SEED)
        if mode == "test.py":
            G.train(True)
        for visible, _ in pairs:
            x, (height, width) = pad_to_multiple(to_tensors(visible, np.zeros((1, 1), np.uint8))[0], PAD_MULTIPLE)
            y = net(x.to(device).contiguous(memory_format=torch.channels_last))
            results.append(y[..., :height, :width].float().cpu())
    with torch.no_grad():
        for name, b in G.named_buffers():
            b.copy_(buffers[name])
    G.train(True)
    return results


def scores(fakes, pairs):
    """{'ssim', 'psnr', 'scc', 'ssim_released', 'psnr_released'}: per-image lists, on the 8-bit images as the
    host saves them (metrics.tensor_to_u8).

    SSIM (both protocols) is computed by scikit-image with mrff_plugin.metrics' settings -- the oracle that
    tests/test_metrics.py holds those metrics to within 1e-6 -- because torchmetrics' float64 SSIM takes about
    1 s per whole RoadScene image on this CPU (skimage: 0.013 s); tests/test_quality_v2.py checks that every
    value here equals mrff_plugin.metrics' on fixed images.  The grey output's three channels are equal, so the
    released protocol's mean over channels is its value on one; so is its PSNR.  SCC is metrics.tensor_detail."""
    from skimage.metrics import structural_similarity
    out = {k: [] for k in ("ssim", "psnr", "scc", "ssim_released", "psnr_released")}
    for fake, (_, lwir) in zip(fakes, pairs):
        real = to_tensors(np.zeros((1, 1, 3), np.uint8), lwir)[1]
        f, r = (tensor_to_u8(t)[0, 0].double().numpy() for t in (fake, real))
        out["ssim"].append(float(structural_similarity(
            f, r, gaussian_weights=True, sigma=SSIM_SIGMA, use_sample_covariance=False, data_range=DATA_RANGE,
            K1=SSIM_K1, K2=SSIM_K2)))
        mse = float(np.mean((f - r) ** 2))
        out["psnr"].append(float("inf") if mse == 0 else float(10 * np.log10(DATA_RANGE ** 2 / mse)))
        out["scc"].append(float(tensor_detail(fake, real)[0]))
        out["ssim_released"].append(float(structural_similarity(f, r, win_size=RELEASED_WINDOW, data_range=DATA_RANGE,
                                                                 K1=SSIM_K1, K2=SSIM_K2)))
        out["psnr_released"].append(out["psnr"][-1])
    return out


def means(per_image):
    return {f"{k}_mean": float(np.mean(v)) for k, v in per_image.items()}


# ---------------------------------------------------------------- one run

def train_run(label, seed, data, device, iters=ITERS, decay_iters=DECAY_ITERS, eval_every=EVAL_EVERY,
              weights_dir=None, progress=None):
    """Train one (model, seed) by the protocol; return its record (curve, final per-image scores, timings)."""
    options = MODELS[label]
    step = Pix2PixStep(options["netG"], ngf=options["ngf"], ndf=NDF, mrff_fusion=options.get("mrff_fusion", "nested"),
                       mrff_arch=options.get("mrff_arch", "paper"), seed=seed, device=device,
                       schedule=(iters - decay_iters, decay_iters), init_type=options.get("init_type", "normal"))
    stream = CropStream(data["train"], seed)
    start, load_before = time.perf_counter(), os.getloadavg()[0]

    def evaluate(it, train_seconds):
        return {"iter": it, "train_seconds": round(train_seconds, 2),
                **means(scores(outputs(step.G, data["test"], "generate", device), data["test"]))}
    curve, train_seconds = train_loop(step, stream, iters, eval_every, evaluate, device, progress)
    final = {mode: scores(outputs(step.G, data["test"], mode, device), data["test"]) for mode in MODES}
    final["train_generate"] = scores(outputs(step.G, data["train_scored"], "generate", device), data["train_scored"])
    if weights_dir is not None and seed == 0:
        weights_dir.mkdir(parents=True, exist_ok=True)
        torch.save(step.G.state_dict(), weights_dir / f"{label.replace(' ', '_')}_seed{seed}.pth")
    return {"model": label, "seed": seed, "options": options, "params": sum(p.numel() for p in step.G.parameters()),
            "curve": curve, "final": final, "seconds": round(time.perf_counter() - start, 1),
            "seconds_per_iter": round(train_seconds / iters, 4),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine()}


# ---------------------------------------------------------------- driver

def protocol_commit():
    """The commit that last changed the protocol file (the results name it)."""
    try:
        return subprocess.run(["git", "log", "-1", "--format=%H", "--", PROTOCOL], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def settings(study, quick):
    return {"study": study, "quick": quick, "iters": 4 if quick else ITERS, "decay_iters": 2 if quick else DECAY_ITERS,
            "eval_every": 2 if quick else EVAL_EVERY, "crop": CROP, "ndf": NDF, "pad_multiple": PAD_MULTIPLE,
            "models": MODELS}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--study", choices=("roadscene", "synthetic"), default="roadscene")
    p.add_argument("--quick", action="store_true", help="4 iterations, 2 images, 2 runs: the machinery only")
    p.add_argument("--data", type=Path, default=ROADSCENE, help="the RoadScene folder (default: ../shared/data)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the protocol: 1)")
    p.add_argument("--out", type=Path, default=None,
                   help="results file (default results/quality_v2_<study>.json; quick: benchmarks/out/)")
    p.add_argument("--max_runs", type=int, default=None, help="stop after this many runs (resume later)")
    p.add_argument("--only", action="append", choices=list(MODELS),
                   help="run only this model's runs of the protocol's order (repeatable), e.g. in a second process "
                        "on the other core with its own --out; --merge joins the files")
    p.add_argument("--seed", type=int, action="append", help="run only this seed's runs (repeatable)")
    p.add_argument("--merge", type=Path, action="append", default=[],
                   help="results file of another process of the same study: its runs are added (runs already here "
                        "are kept) before the summary is written")
    p.add_argument("--no_figures", action="store_true")
    args = p.parse_args(argv)
    if args.out is None:
        args.out = (OUT / f"quality_v2_{args.study}_quick.json" if args.quick
                    else RESULTS / f"quality_v2_{args.study}.json")
    return args


def main(argv=None):
    import json

    from quality_v2_stats import summarise
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.study == "roadscene" and not args.data.is_dir():
        raise SystemExit(f"quality_v2.py: {args.data} does not exist; pass --data <the RoadScene folder>.")
    data = roadscene(args.data) if args.study == "roadscene" else synthetic()
    setup = settings(args.study, args.quick)
    order = run_order(args.study)
    if args.quick:
        data = {k: (v[:2] if k in ("test", "train_scored") else v) for k, v in data.items()}
        order = [("unet", 0), ("fusion paper", 0)]
    report = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if report and report.get("settings") != json.loads(json.dumps(setup)):
        raise SystemExit(f"quality_v2.py: {args.out} holds a study with other settings; pass another --out.")
    runs = report.get("runs", {})
    for other in args.merge:
        theirs = json.loads(other.read_text())
        if theirs.get("settings") != json.loads(json.dumps(setup)):
            raise SystemExit(f"quality_v2.py: --merge {other} holds a study with other settings; it was not merged.")
        runs.update({key: run for key, run in theirs["runs"].items() if key not in runs})
    weights_dir = OUT / f"quality_v2_weights_{args.study}{'_quick' if args.quick else ''}"
    todo = [(label, seed) for label, seed in order if f"{label}/seed{seed}" not in runs
            and (not args.only or label in args.only) and (not args.seed or seed in args.seed)][:args.max_runs]
    print(f"quality v2 ({args.study}): {len(runs)} runs done, {len(todo)} to go; results in {args.out}", flush=True)
    for n, (label, seed) in enumerate(todo, 1):
        def progress(it, rate, label=label, seed=seed, n=n):
            if it % 200 == 0:
                print(f"  [{n}/{len(todo)}] {label} seed {seed}: {it}/{setup['iters']}, {rate:.3f} s/it", flush=True)
        record = train_run(label, seed, data, device, setup["iters"], setup["decay_iters"], setup["eval_every"],
                           weights_dir, progress)
        runs[f"{label}/seed{seed}"] = record
        report = write(args.out, setup, runs, data)
        f = means(record["final"]["generate"])
        print(f"  done {label} seed {seed}: SSIM {f['ssim_mean']:.4f} PSNR {f['psnr_mean']:.2f} SCC "
              f"{f['scc_mean']:.4f} in {record['seconds'] / 60:.1f} min", flush=True)
    report = write(args.out, setup, runs, data)
    if not args.no_figures and runs:
        from quality_v2_figures import draw_all
        draw_all(report, data, weights_dir, args.out.parent, device)
    from quality_v2_stats import print_tables
    print_tables(report)
    return report


def write(path, setup, runs, data):
    from quality_v2_stats import summarise
    report = {"protocol": PROTOCOL, "protocol_commit": protocol_commit(), "settings": setup,
              "held_out_ids": data["ids"]["test"], "machine": machine(),
              "summary": summarise(runs, MODELS, COMPARISONS, BASELINE), "runs": runs,
              "study_seconds": round(sum(r["seconds"] for r in runs.values()), 1)}
    return write_json(path, report)


if __name__ == "__main__":
    main()
