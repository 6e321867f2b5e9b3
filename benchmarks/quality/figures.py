"""The quality studies' pictures, drawn from a results file, its data and the cached seed-0 weights.

Version 1 (`draw_all_v1`, beside benchmarks/results/quality.json):
* quality_curves.png: held-out SSIM, PSNR and SCC against iterations, mean over seeds with a band of one
  seed standard deviation; a fourth panel shows seed 0 scored both ways (as test.py runs by default, and
  in eval mode);
* quality_samples.png (Fig. 12 of the paper): visible, real LWIR, baseline, fusion paper, fusion released
  for 4 held-out pairs, then zoomed crops of the 32x32 window where fusion paper and baseline differ most;
* quality_attention.png (Figs. 13/14): the four attention maps w1..w4 that weigh f1..f4, for two held-out
  pairs, of both fusion networks.
Version 2 (`draw_all_v2`, quality_v2_<study>_*.png beside its results file):
* _curves.png: held-out SSIM and PSNR (scored as `mrff generate` runs) against iterations, seed mean and band;
* _samples.png: held-out pairs -- visible, real LWIR, unet, unet matched, fusion paper (seed 0, generate
  scoring) -- then zoomed crops of the window where fusion paper and unet differ most;
* _attention.png: the four attention maps w1..w4 of fusion paper (seed 0) on held-out images.
Every network comes from the results file's own options; a model whose seed-0 weights are not cached is
left out, with a line saying so.
"""
from pathlib import Path

import numpy as np
import torch

from benchmarks.pix2pix_step import Pix2PixStep
from benchmarks.quality.data import centre_crop, pair_to_tensors, to_tensors
from benchmarks.quality.run_files import run_stem
from benchmarks.quality.score import crop_outputs, whole_outputs

COLOURS = {"unet": "tab:grey", "unet matched": "tab:purple", "fusion paper": "tab:red",
           "fusion released": "tab:blue", "paper average": "tab:orange", "paper last": "tab:green",
           "released kaiming": "tab:cyan"}
V1_SAMPLE_PAIRS = (0, 1, 2, 3)     # held-out pairs on version 1's sample sheet
V1_ATTENTION_PAIRS = (0, 1)        # held-out pairs on its attention sheet
V1_ZOOM = 32                       # side of the zoomed window, pixels
V1_SHOWN = ("unet", "fusion paper", "fusion released")
V1_FUSION = ("fusion paper", "fusion released")
V2_SAMPLES = 3                     # held-out images on version 2's sheet (first, middle and last of the block)
V2_ZOOM = 48
V2_SHOWN = ("unet", "unet matched", "fusion paper")


# ---------------------------------------------------------------- shared

def pyplot():
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


def load_seed0(weights_dir, label, options, ngf, ndf, device):
    """The generator of `options` (netG, mrff_fusion, mrff_arch) at ngf with the seed-0 weights a study cached in
    weights_dir, or None (with a line) where they are not cached."""
    path = Path(weights_dir) / f"{run_stem(label, 0)}.pth"
    if not path.is_file():
        print(f"no cached weights for {label} ({path}); left out of the pictures")
        return None
    G = Pix2PixStep(options["netG"], ngf=ngf, ndf=ndf, mrff_fusion=options.get("mrff_fusion", "nested"),
                    mrff_arch=options.get("mrff_arch", "paper"), device=device).G
    G.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    return G


def grey(x):
    """A (1, H, W) output in [-1, 1] as grey levels 0..255 (float)."""
    return ((x[0].numpy() + 1.0) * 127.5).clip(0, 255)


def zoom_window(a, b, size):
    """Top-left corner of the size x size window where |a - b| has the largest mean."""
    from scipy.ndimage import uniform_filter
    diff = uniform_filter(np.abs(a - b), size, mode="constant")
    half = size // 2
    inner = diff[half:a.shape[0] - half + 1, half:a.shape[1] - half + 1]
    r, c = np.unravel_index(np.argmax(inner), inner.shape)
    return r, c


def save_sheet(fig, axes, title, path, tight=True):
    """An image sheet without axis ticks, titled, written to path."""
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot().close(fig)


# ---------------------------------------------------------------- version 1

def draw_curves_v1(report, path):
    """quality_curves.png: seed means with std bands, and seed 0 scored both ways."""
    plt = pyplot()
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


def load_network_v1(label, report, weights_dir, device):
    """Version 1's seed-0 generator of `label`, built from the results file's options."""
    study = report["study"]
    return load_seed0(weights_dir, label, report["models"][label], study["ngf"], study["ngf"], device)


def held_out(data, chosen, size):
    """(indices, visible uint8 (N, S, S, 3), A, B tensors) of the chosen held-out pairs that exist."""
    pairs = [k for k in chosen if k < len(data["test_A"])]
    visible = centre_crop(data["test_A"][pairs], size)
    return pairs, visible, *to_tensors(visible, centre_crop(data["test_B"][pairs], size))


def draw_samples_v1(report, data, networks, path, device):
    """quality_samples.png: full images of 4 held-out pairs and zooms where paper and baseline differ most."""
    plt = pyplot()
    from matplotlib.patches import Rectangle
    size = report["study"]["size"]
    pairs, visible, A, B = held_out(data, V1_SAMPLE_PAIRS, size)
    shown = [label for label in V1_SHOWN if networks.get(label) is not None]
    outputs = {label: crop_outputs(networks[label], A, "test.py", device) for label in shown}
    columns = ["visible", "real LWIR"] + shown
    zoomed = ["real LWIR"] + shown
    fig, axes = plt.subplots(len(pairs), len(columns) + len(zoomed),
                             figsize=(1.7 * (len(columns) + len(zoomed)), 1.8 * len(pairs)), squeeze=False)
    for row in range(len(pairs)):
        images = {"visible": visible[row], "real LWIR": grey(B[row])}
        images.update({label: grey(outputs[label][row]) for label in shown})
        fusion = "fusion paper" if "fusion paper" in images else shown[-1]
        r, c = zoom_window(images[fusion], images.get(report["baseline"], images["real LWIR"]), V1_ZOOM)
        for col, name in enumerate(columns):
            ax = axes[row, col]
            ax.imshow(images[name], cmap=None if name == "visible" else "gray", vmin=0, vmax=255)
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), V1_ZOOM, V1_ZOOM, fill=False, color="yellow", lw=0.8))
            if row == 0:
                ax.set_title(name, fontsize=8)
        for col, name in enumerate(zoomed, len(columns)):
            ax = axes[row, col]
            ax.imshow(images[name][r:r + V1_ZOOM, c:c + V1_ZOOM], cmap="gray", vmin=0, vmax=255,
                      interpolation="nearest")
            if row == 0:
                ax.set_title(f"{name} (zoom)", fontsize=8)
    save_sheet(fig, axes, "held-out synthetic pairs, seed-0 networks; zooms: where fusion paper and the baseline "
               "differ most", path)


def draw_attention_v1(report, data, networks, path, device):
    """quality_attention.png: w1..w4 of both fusion networks for two held-out pairs."""
    plt = pyplot()
    pairs, visible, A, _ = held_out(data, V1_ATTENTION_PAIRS, report["study"]["size"])
    fusion = [label for label in V1_FUSION if networks.get(label) is not None]
    rows = [(k, label) for k in range(len(pairs)) for label in fusion]
    fig, axes = plt.subplots(len(rows), 6, figsize=(11, 1.9 * len(rows)), squeeze=False)
    outputs, maps = {}, {}
    for label in fusion:   # scored as test.py runs, with the attention maps w1..w4 of f1..f4
        outputs[label], maps[label] = crop_outputs(networks[label], A, "test.py", device, with_weights=True)
    for row, (k, label) in enumerate(rows):
        axes[row, 0].imshow(visible[k])
        axes[row, 0].set_ylabel(f"pair {pairs[k]}\n{label}", fontsize=8)
        axes[row, 1].imshow(grey(outputs[label][k]), cmap="gray", vmin=0, vmax=255)
        for j in range(4):
            im = axes[row, 2 + j].imshow(maps[label][k, j].numpy(), cmap="inferno", vmin=0, vmax=1)
            if row == 0:
                axes[row, 2 + j].set_title(f"w{j + 1} (weight of f{j + 1})", fontsize=8)
        if row == 0:
            axes[row, 0].set_title("visible", fontsize=8)
            axes[row, 1].set_title("generated LWIR", fontsize=8)
    fig.colorbar(im, ax=axes[:, 2:].ravel().tolist(), shrink=0.8)
    save_sheet(fig, axes, "attention maps of the multi-receptive-field fusion (seed-0 networks, held-out pairs)",
               path, tight=False)


def draw_all_v1(report, data, weights_dir, folder, device):
    """Version 1's three PNGs in `folder`; returns their names."""
    folder = Path(folder)
    draw_curves_v1(report, folder / "quality_curves.png")
    networks = {label: load_network_v1(label, report, weights_dir, device) for label in V1_SHOWN}
    written = ["quality_curves.png"]
    if any(networks[label] is not None for label in V1_SHOWN):
        draw_samples_v1(report, data, networks, folder / "quality_samples.png", device)
        written.append("quality_samples.png")
    if any(networks[label] is not None for label in V1_FUSION):
        draw_attention_v1(report, data, networks, folder / "quality_attention.png", device)
        written.append("quality_attention.png")
    print(f"quality figures: wrote {', '.join(written)} in {folder}")
    return written


# ---------------------------------------------------------------- version 2

def draw_curves_v2(report, path):
    """quality_v2_<study>_curves.png: seed means of held-out SSIM and PSNR with std bands."""
    plt = pyplot()
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


def load_network_v2(label, report, weights_dir, device):
    """Version 2's seed-0 generator of `label`, built from the results file's settings."""
    options = report["settings"]["models"][label]
    return load_seed0(weights_dir, label, options, options["ngf"], report["settings"]["ndf"], device)


def draw_samples_v2(report, data, networks, path, device):
    """quality_v2_<study>_samples.png: held-out pairs, seed-0 outputs, zooms where fusion paper and unet differ."""
    plt = pyplot()
    picks = sorted({0, len(data["test"]) // 2, len(data["test"]) - 1})[:V2_SAMPLES]
    pairs = [data["test"][k] for k in picks]
    shown = [label for label in V2_SHOWN if networks.get(label) is not None]
    pad = report["settings"]["pad_multiple"]
    fakes = {label: whole_outputs(networks[label], pairs, "generate", device, pad) for label in shown}
    columns = 3 + 2 * len(shown)   # visible, real, each model; then the zoom of real and of each model
    fig, axes = plt.subplots(len(pairs), columns, figsize=(2.6 * columns, 2.2 * len(pairs)), squeeze=False)
    for row, (k, (visible, lwir)) in enumerate(zip(picks, pairs)):
        greys = {label: grey(fakes[label][row][0]) for label in shown}
        axes[row, 0].imshow(visible)
        axes[row, 0].set_title(report["held_out_ids"][k], fontsize=7)
        axes[row, 1].imshow(lwir, cmap="gray", vmin=0, vmax=255)
        axes[row, 1].set_title("real LWIR", fontsize=7)
        for col, label in enumerate(shown, start=2):
            axes[row, col].imshow(greys[label], cmap="gray", vmin=0, vmax=255)
            axes[row, col].set_title(label, fontsize=7)
        if "unet" in greys and "fusion paper" in greys:
            top, left = zoom_window(greys["fusion paper"], greys["unet"], V2_ZOOM)
            window = (slice(top, top + V2_ZOOM), slice(left, left + V2_ZOOM))
            for col, (name, image) in enumerate([("real", lwir.astype(float))] +
                                                [(label, greys[label]) for label in shown], start=2 + len(shown)):
                if col < columns:
                    axes[row, col].imshow(image[window], cmap="gray", vmin=0, vmax=255)
                    axes[row, col].set_title(f"zoom: {name}", fontsize=7)
    save_sheet(fig, axes, "held-out real pairs (frame-number split), seed 0, scored as mrff generate", path)


def draw_attention_v2(report, data, net, path, device):
    """quality_v2_<study>_attention.png: fusion paper's w1..w4 on the first and last held-out images."""
    from mrff_plugin.generate.engine import pad_to_multiple
    from mrff_plugin.generate.network import prepare_for_inference
    plt = pyplot()
    prepared = prepare_for_inference(net.float(), device, "image")
    picks = [0, len(data["test"]) - 1]
    fig, axes = plt.subplots(len(picks), 5, figsize=(15, 2.4 * len(picks)), squeeze=False)
    for row, k in enumerate(picks):
        visible, _ = data["test"][k]
        x, (height, width) = pad_to_multiple(pair_to_tensors(visible, np.zeros((1, 1), np.uint8))[0],
                                             report["settings"]["pad_multiple"])
        with torch.inference_mode():
            weights = prepared(x.to(device).contiguous(memory_format=torch.channels_last), with_weights=True)[1]
        axes[row, 0].imshow(visible)
        axes[row, 0].set_title(report["held_out_ids"][k], fontsize=7)
        for j in range(4):
            axes[row, j + 1].imshow(weights[0, j, :height, :width].float().cpu().numpy(), cmap="inferno", vmin=0,
                                    vmax=1)
            axes[row, j + 1].set_title(f"w{j + 1} (weight of f{j + 1})", fontsize=7)
    save_sheet(fig, axes, "fusion paper, seed 0: the four attention maps on held-out real images (0..1)", path)


def draw_all_v2(report, data, weights_dir, folder, device):
    """Version 2's three PNGs beside the results, in `folder`."""
    stem = Path(folder) / f"quality_v2_{report['settings']['study']}"
    draw_curves_v2(report, f"{stem}_curves.png")
    networks = {label: load_network_v2(label, report, weights_dir, device) for label in V2_SHOWN}
    if any(net is not None for net in networks.values()):
        draw_samples_v2(report, data, networks, f"{stem}_samples.png", device)
    if networks.get("fusion paper") is not None:
        draw_attention_v2(report, data, networks["fusion paper"], f"{stem}_attention.png", device)
