"""The pictures of the quality study, version 2 (benchmarks/quality_v2.py), from its results and seed-0 weights.

    .venv/bin/python benchmarks/quality_v2_figures.py --study roadscene

* quality_v2_<study>_curves.png: held-out SSIM and PSNR (scored as `mrff generate` runs) against
  iterations, mean over seeds with a band of one seed standard deviation.
* quality_v2_<study>_samples.png: held-out pairs -- visible, real LWIR, unet, unet matched,
  fusion paper (seed 0, generate scoring) -- then zoomed crops of the window where fusion
  paper and unet differ most.
* quality_v2_<study>_attention.png: the four attention maps w1..w4 of fusion paper (seed 0) on
  held-out images.
Written beside the results file; a model whose seed-0 weights are not cached is left out, with a line.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from quality_figures import _pyplot, _save_sheet, load_seed0, seed_band, zoom_window  # noqa: E402

SAMPLES = 3            # held-out images on the sample sheet (the first, middle and last of the held-out block)
ZOOM = 48              # side of the zoomed window, pixels
SHOWN = ("unet", "unet matched", "fusion paper")
COLOURS = {"unet": "tab:grey", "unet matched": "tab:purple", "fusion paper": "tab:red",
           "paper average": "tab:orange", "fusion released": "tab:blue", "released kaiming": "tab:cyan"}


def draw_curves(report, path):
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, metric, name in zip(axes, ("ssim", "psnr"), ("held-out SSIM", "held-out PSNR (dB)")):
        for label, entry in report["summary"]["models"].items():
            seed_band(ax, entry["curve"], metric, COLOURS.get(label), f"{label} ({len(entry['seeds'])} seeds)", 0.15)
        ax.set_xlabel("iteration (batch 1)")
        ax.set_ylabel(f"{name}, scored as mrff generate")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    s = report["settings"]
    fig.suptitle(f"quality study v2, {s['study']}: {s['crop']}x{s['crop']} crops, whole images scored, "
                 f"{s['iters']} iterations; mean +- one seed std", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def load_network(label, report, weights_dir, device):
    options = report["settings"]["models"][label]
    return load_seed0(weights_dir, label, options, options["ngf"], report["settings"]["ndf"], device)


def draw_samples(report, data, networks, path, device):
    from quality_v2 import outputs
    plt = _pyplot()
    picks = sorted({0, len(data["test"]) // 2, len(data["test"]) - 1})[:SAMPLES]
    pairs = [data["test"][k] for k in picks]
    shown = [label for label in SHOWN if networks.get(label) is not None]
    fakes = {label: outputs(networks[label], pairs, "generate", device) for label in shown}
    columns = 3 + 2 * len(shown)   # visible, real, each model; then the zoom of real and of each model
    fig, axes = plt.subplots(len(pairs), columns, figsize=(2.6 * columns, 2.2 * len(pairs)), squeeze=False)
    for row, (k, (visible, lwir)) in enumerate(zip(picks, pairs)):
        grey = {label: ((fakes[label][row][0, 0].numpy() + 1) * 127.5).clip(0, 255) for label in shown}
        axes[row, 0].imshow(visible)
        axes[row, 0].set_title(report["held_out_ids"][k], fontsize=7)
        axes[row, 1].imshow(lwir, cmap="gray", vmin=0, vmax=255)
        axes[row, 1].set_title("real LWIR", fontsize=7)
        for col, label in enumerate(shown, start=2):
            axes[row, col].imshow(grey[label], cmap="gray", vmin=0, vmax=255)
            axes[row, col].set_title(label, fontsize=7)
        if "unet" in grey and "fusion paper" in grey:
            top, left = zoom_window(grey["fusion paper"], grey["unet"], ZOOM)
            window = (slice(top, top + ZOOM), slice(left, left + ZOOM))
            for col, (name, image) in enumerate([("real", lwir.astype(float))] +
                                                [(label, grey[label]) for label in shown], start=2 + len(shown)):
                if col < columns:
                    axes[row, col].imshow(image[window], cmap="gray", vmin=0, vmax=255)
                    axes[row, col].set_title(f"zoom: {name}", fontsize=7)
    _save_sheet(fig, axes, "held-out real pairs (frame-number split), seed 0, scored as mrff generate", path)


def draw_attention(report, data, net, path, device):
    from mrff_plugin.generate.network import prepare_for_inference
    from quality_v2 import PAD_MULTIPLE, to_tensors
    from mrff_plugin.generate.engine import pad_to_multiple
    plt = _pyplot()
    prepared = prepare_for_inference(net.float(), device, "image")
    picks = [0, len(data["test"]) - 1]
    fig, axes = plt.subplots(len(picks), 5, figsize=(15, 2.4 * len(picks)), squeeze=False)
    for row, k in enumerate(picks):
        visible, _ = data["test"][k]
        x, (height, width) = pad_to_multiple(to_tensors(visible, np.zeros((1, 1), np.uint8))[0], PAD_MULTIPLE)
        with torch.inference_mode():
            weights = prepared(x.to(device).contiguous(memory_format=torch.channels_last), with_weights=True)[1]
        axes[row, 0].imshow(visible)
        axes[row, 0].set_title(report["held_out_ids"][k], fontsize=7)
        for j in range(4):
            axes[row, j + 1].imshow(weights[0, j, :height, :width].float().cpu().numpy(), cmap="inferno", vmin=0,
                                    vmax=1)
            axes[row, j + 1].set_title(f"w{j + 1} (weight of f{j + 1})", fontsize=7)
    _save_sheet(fig, axes, "fusion paper, seed 0: the four attention maps on held-out real images (0..1)", path)


def draw_all(report, data, weights_dir, folder, device):
    stem = Path(folder) / f"quality_v2_{report['settings']['study']}"
    draw_curves(report, f"{stem}_curves.png")
    networks = {label: load_network(label, report, weights_dir, device) for label in SHOWN}
    if any(net is not None for net in networks.values()):
        draw_samples(report, data, networks, f"{stem}_samples.png", device)
    if networks.get("fusion paper") is not None:
        draw_attention(report, data, networks["fusion paper"], f"{stem}_attention.png", device)


def main(argv=None):
    from quality_runs import OUT
    from quality_v2 import RESULTS, ROADSCENE, roadscene, synthetic
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--study", choices=("roadscene", "synthetic"), default="roadscene")
    p.add_argument("--results", type=Path, default=None)
    args = p.parse_args(argv)
    results = args.results or RESULTS / f"quality_v2_{args.study}.json"
    report = json.loads(results.read_text())
    data = roadscene(ROADSCENE) if args.study == "roadscene" else synthetic()
    quick = "_quick" if report["settings"]["quick"] else ""
    draw_all(report, data, OUT / f"quality_v2_weights_{args.study}{quick}", results.parent, torch.device("cpu"))


if __name__ == "__main__":
    main()
