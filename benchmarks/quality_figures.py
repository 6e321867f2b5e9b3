"""The quality study's pictures (benchmarks/quality.py), drawn from its results file and seed-0 weights.

    .venv/bin/python benchmarks/quality_figures.py [--results benchmarks/results/quality.json]

* quality_curves.png: held-out SSIM, PSNR and SCC against iterations, mean over seeds with a
  band of one seed standard deviation; a fourth panel shows seed 0 scored both ways (as
  test.py runs by default, and in eval mode).
* quality_samples.png (Fig. 12 of the paper): visible, real LWIR, baseline, fusion paper,
  fusion released for 4 held-out pairs, then zoomed crops of the 32x32 window where the
  fusion paper and baseline outputs differ most.
* quality_attention.png (Figs. 13/14): the four attention maps w1..w4 that weigh f1..f4, for
  two held-out pairs, of both fusion networks.
The PNGs are written beside the results file.  Pictures need the seed-0 weights the study
cached; a missing one is skipped with a line saying so.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from quality_runs import BASELINE, OUT, centre_crop, generate, load_data, model_options, to_tensors  # noqa: E402

SAMPLE_PAIRS = (0, 1, 2, 3)     # held-out pairs on the sample sheet
ATTENTION_PAIRS = (0, 1)        # held-out pairs on the attention sheet
ZOOM = 32                       # side of the zoomed window, pixels
SHOWN = (BASELINE, "fusion paper", "fusion released")
FUSION = ("fusion paper", "fusion released")
COLOURS = {"unet": "tab:grey", "fusion paper": "tab:red", "fusion released": "tab:blue",
           "paper average": "tab:orange", "paper last": "tab:green"}


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def seed_band(ax, curve, metric, colour, label, alpha=0.18):
    """The seed mean of `metric` against iterations, with a band of one seed standard deviation."""
    its = np.array([row["iter"] for row in curve])
    mean = np.array([row[f"{metric}_mean"] for row in curve])
    std = np.array([row[f"{metric}_std"] or 0.0 for row in curve])
    ax.plot(its, mean, marker="o", ms=3, color=colour, label=label)
    ax.fill_between(its, mean - std, mean + std, color=colour, alpha=alpha)


def draw_curves(report, path):
    """quality_curves.png: seed means with std bands, and seed 0 scored both ways."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
    names = {"ssim": "held-out SSIM", "psnr": "held-out PSNR (dB)", "scc": "held-out SCC (detail)"}
    models = report["summary"]["models"]
    for ax, (metric, name) in zip(axes, names.items()):
        for label, entry in models.items():
            if not entry.get("curve"):
                continue
            seed_band(ax, entry["curve"], metric, COLOURS.get(label), f"{label} ({entry['seeds']} seeds)")
        ax.set_xlabel("iteration (batch 1)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    ax = axes[3]
    for label, entry in models.items():
        if entry.get("seed0_eval_mode"):
            its = [p["iter"] for p in entry["seed0_test_py_mode"]]
            ax.plot(its, [p["ssim_mean"] for p in entry["seed0_test_py_mode"]], color=COLOURS.get(label),
                    marker="o", ms=3, label=f"{label}, as test.py")
            ax.plot(its, [p["ssim_mean"] for p in entry["seed0_eval_mode"]], color=COLOURS.get(label),
                    ls="--", marker="x", ms=4, label=f"{label}, --eval")
    ax.set_xlabel("iteration (batch 1)")
    ax.set_ylabel("held-out SSIM, seed 0")
    ax.set_title("scored as test.py (solid) vs --eval (dashed)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    ceiling = report.get("ceiling", {})
    top = ceiling.get("without noise + patchiness + lag")
    study = report["study"]
    title = (f"synthetic visible -> LWIR, {study['size']}x{study['size']}, ngf {study['ngf']}, "
             f"{study['train_pairs']} training / {study['test_pairs']} held-out pairs")
    if top:
        title += f"; oracle ceiling SSIM {top['ssim_mean']:.3f}, PSNR {top['psnr_mean']:.1f}, SCC {top['scc_mean']:.3f}"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def load_network(label, report, weights_dir, device):
    """The seed-0 generator of `label` with its cached weights, or None if they are not cached."""
    study = report["study"]
    return load_seed0(weights_dir, label, model_options(label, study), study["ngf"], study["ngf"], device)


def load_seed0(weights_dir, label, options, ngf, ndf, device):
    """The generator of `options` (netG, mrff_fusion, mrff_arch) at ngf with the seed-0 weights a study cached in
    weights_dir, or None (with a line) where they are not cached."""
    from pix2pix_step import Pix2PixStep
    path = Path(weights_dir) / f"{label.replace(' ', '_')}_seed0.pth"
    if not path.is_file():
        print(f"no cached weights for {label} ({path}); left out of the pictures")
        return None
    G = Pix2PixStep(options["netG"], ngf=ngf, ndf=ndf, mrff_fusion=options.get("mrff_fusion", "nested"),
                    mrff_arch=options.get("mrff_arch", "paper"), device=device).G
    G.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    return G


def _grey(x):
    return ((x[0].numpy() + 1.0) * 127.5).clip(0, 255)


def zoom_window(a, b, size=ZOOM):
    """Top-left corner of the size x size window where |a - b| has the largest mean."""
    from scipy.ndimage import uniform_filter
    diff = uniform_filter(np.abs(a - b), size, mode="constant")
    half = size // 2
    inner = diff[half:a.shape[0] - half + 1, half:a.shape[1] - half + 1]
    r, c = np.unravel_index(np.argmax(inner), inner.shape)
    return r, c


def _save_sheet(fig, axes, title, path, tight=True):
    """An image sheet without axis ticks, titled, written to path."""
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)


def held_out(data, chosen, size):
    """(indices, visible uint8 (N, S, S, 3), A, B tensors) of the chosen held-out pairs that exist."""
    pairs = [k for k in chosen if k < len(data["test_A"])]
    visible = centre_crop(data["test_A"][pairs], size)
    return pairs, visible, *to_tensors(visible, centre_crop(data["test_B"][pairs], size))


def draw_samples(report, data, networks, path, device):
    """quality_samples.png: full images of 4 held-out pairs and zooms where paper and baseline differ most."""
    plt = _pyplot()
    from matplotlib.patches import Rectangle
    size = report["study"]["size"]
    pairs, visible, A, B = held_out(data, SAMPLE_PAIRS, size)
    shown = [label for label in SHOWN if networks.get(label) is not None]
    outputs = {label: generate(networks[label], A, "test.py", device) for label in shown}
    columns = ["visible", "real LWIR"] + shown
    zoomed = ["real LWIR"] + shown
    fig, axes = plt.subplots(len(pairs), len(columns) + len(zoomed),
                             figsize=(1.7 * (len(columns) + len(zoomed)), 1.8 * len(pairs)), squeeze=False)
    for row in range(len(pairs)):
        images = {"visible": visible[row], "real LWIR": _grey(B[row])}
        images.update({label: _grey(outputs[label][row]) for label in shown})
        fusion = "fusion paper" if "fusion paper" in images else shown[-1]
        r, c = zoom_window(images[fusion], images.get(BASELINE, images["real LWIR"]))
        for col, name in enumerate(columns):
            ax = axes[row, col]
            ax.imshow(images[name], cmap=None if name == "visible" else "gray", vmin=0, vmax=255)
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), ZOOM, ZOOM, fill=False, color="yellow", lw=0.8))
            if row == 0:
                ax.set_title(name, fontsize=8)
        for col, name in enumerate(zoomed, len(columns)):
            ax = axes[row, col]
            ax.imshow(images[name][r:r + ZOOM, c:c + ZOOM], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            if row == 0:
                ax.set_title(f"{name} (zoom)", fontsize=8)
    _save_sheet(fig, axes, "held-out synthetic pairs, seed-0 networks; zooms: where fusion paper and the baseline "
                "differ most", path)


def draw_attention(report, data, networks, path, device):
    """quality_attention.png: w1..w4 of both fusion networks for two held-out pairs."""
    plt = _pyplot()
    pairs, visible, A, _ = held_out(data, ATTENTION_PAIRS, report["study"]["size"])
    fusion = [label for label in FUSION if networks.get(label) is not None]
    rows = [(k, label) for k in range(len(pairs)) for label in fusion]
    fig, axes = plt.subplots(len(rows), 6, figsize=(11, 1.9 * len(rows)), squeeze=False)
    outputs, maps = {}, {}
    for label in fusion:   # scored as test.py runs, with the attention maps w1..w4 of f1..f4
        outputs[label], maps[label] = generate(networks[label], A, "test.py", device, with_weights=True)
    for row, (k, label) in enumerate(rows):
        axes[row, 0].imshow(visible[k])
        axes[row, 0].set_ylabel(f"pair {pairs[k]}\n{label}", fontsize=8)
        axes[row, 1].imshow(_grey(outputs[label][k]), cmap="gray", vmin=0, vmax=255)
        for j in range(4):
            im = axes[row, 2 + j].imshow(maps[label][k, j].numpy(), cmap="inferno", vmin=0, vmax=1)
            if row == 0:
                axes[row, 2 + j].set_title(f"w{j + 1} (weight of f{j + 1})", fontsize=8)
        if row == 0:
            axes[row, 0].set_title("visible", fontsize=8)
            axes[row, 1].set_title("generated LWIR", fontsize=8)
    fig.colorbar(im, ax=axes[:, 2:].ravel().tolist(), shrink=0.8)
    _save_sheet(fig, axes, "attention maps of the multi-receptive-field fusion (seed-0 networks, held-out pairs)",
                path, tight=False)


def draw_all(report, data, weights_dir, folder, device):
    folder = Path(folder)
    draw_curves(report, folder / "quality_curves.png")
    networks = {label: load_network(label, report, weights_dir, device) for label in SHOWN}
    written = ["quality_curves.png"]
    if any(networks[label] is not None for label in SHOWN):
        draw_samples(report, data, networks, folder / "quality_samples.png", device)
        written.append("quality_samples.png")
    if any(networks[label] is not None for label in FUSION):
        draw_attention(report, data, networks, folder / "quality_attention.png", device)
        written.append("quality_attention.png")
    print(f"quality_figures: wrote {', '.join(written)} in {folder}")
    return written


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "quality.json")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    report = json.loads(args.results.read_text())
    cache = OUT if report["scale"] != "quick" else args.results.parent
    data = load_data(report["study"], cache)
    return draw_all(report, data, cache / f"quality_weights_{report['scale']}", args.results.parent,
                    torch.device(args.device))


if __name__ == "__main__":
    main()
