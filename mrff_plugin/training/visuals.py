"""Pictures of what the fusion generator does, and curves of how training went.

* `colour_map(maps, size)`: maps with values in [0, 1] -- the four feature
  weights attention_1..attention_4 of Fig. 13-14 -> RGB images in [-1, 1], the
  range the host's `util.tensor2im` shows, so the host's Visdom grid and HTML
  pages display them unchanged.  The scale is fixed, 0 -> the colormap's first
  colour, 1 -> its last, so the four maps of an image share one scale.
* `colour_scale(steps)`: that scale's colours as '#rrggbb' (for a colour bar).
* `weight_pngs(weights)`: (N, 4, H, W) weights -> uint8 RGB arrays, one per map.
* `branch_map(features, size)`: a branch f_i (N, C, h, w), or its mean |f_i|
  per pixel (N, 1, h, w) -> that energy scaled to [0, 1] per image, colour-mapped.
* `plot_curves(png, log, validation)`: loss curves from `loss_log.txt` and the
  validation SSIM/PSNR history in one PNG (matplotlib, written atomically).
"""
import os
import re

import numpy as np
import torch
import torch.nn.functional as F

from ..durable import atomic_write
COLORMAP = "inferno"  # perceptually uniform: dark = low alpha / weak branch, bright = high
LOSS_LINE = re.compile(r"^\(epoch: (\d+), iters: (\d+),[^)]*\)\s*(.*)$")
LOSS_VALUE = re.compile(r"(\S+): (-?[\d.]+(?:e[-+]?\d+)?|nan|inf)")


def colour_map(maps, size, colormap=COLORMAP):
    """(N, 1, h, w) values in [0, 1] -> (N, 3, H, W) RGB in [-1, 1], resized (bilinear) to size=(H, W).

    Colours from `mrff_plugin.palettes.lookup_table(colormap)`, the 8-bit table `mrff generate
    --palette` uses (built once per name)."""
    from ..palettes import lookup_table
    maps = maps.detach().float()
    if tuple(maps.shape[-2:]) != tuple(size):
        maps = F.interpolate(maps, size=tuple(size), mode="bilinear", align_corners=False)
    lut = torch.from_numpy(lookup_table(colormap).astype(np.float32) / 255.0)   # (256, 3) in [0, 1]
    index = (maps.clamp(0, 1) * 255).round().long()[:, 0]          # (N, H, W)
    rgb = lut.to(index.device)[index].permute(0, 3, 1, 2)          # (N, 3, H, W) in [0, 1]
    return rgb * 2 - 1


def colour_scale(steps=11, colormap=COLORMAP):
    """The colours of `colour_map`'s scale at `steps` evenly spaced values 0..1, as '#rrggbb' strings."""
    from ..palettes import lookup_table
    table = lookup_table(colormap)
    return ["#%02x%02x%02x" % tuple(int(c) for c in table[int(round(v * 255))])
            for v in np.linspace(0.0, 1.0, steps)]


def weight_pngs(weights, colormap=COLORMAP):
    """(N, K, H, W) maps in [0, 1] -> [[uint8 (H, W, 3)] * K] * N, colour-mapped on the fixed 0..1 scale."""
    rgb = torch.stack([colour_map(weights[:, k:k + 1], weights.shape[-2:], colormap)
                       for k in range(weights.shape[1])], dim=1)                  # (N, K, 3, H, W) in [-1, 1]
    u8 = ((rgb + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 1, 3, 4, 2).cpu().numpy()
    return [list(maps) for maps in u8]


def branch_map(features, size, colormap=COLORMAP):
    """(N, C, h, w) branch features f_i (or their (N, 1, h, w) mean |f_i|) -> (N, 3, H, W) colour-mapped
    mean |f_i|, min-max scaled per image."""
    energy = features.detach().float().abs().mean(dim=1, keepdim=True)      # (N, 1, h, w)
    low = energy.amin(dim=(2, 3), keepdim=True)
    high = energy.amax(dim=(2, 3), keepdim=True)
    return colour_map((energy - low) / (high - low).clamp_min(1e-12), size, colormap)


def read_loss_log(path):
    """The loss lines of a host `loss_log.txt`: a list of {loss name: value}, in order (all runs)."""
    rows = []
    if not os.path.isfile(path):
        return rows
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = LOSS_LINE.match(line.strip())
            if match:
                rows.append({name: float(value) for name, value in LOSS_VALUE.findall(match.group(3))})
    return rows


def plot_curves(png_path, loss_rows, validation=()):
    """Write a PNG: one panel of loss curves (x = logged step), and SSIM / PSNR panels when
    `validation` holds (iteration, ssim, psnr) triples.  Replaced atomically."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure   # no pyplot: no global state, no GUI backend

    panels = 1 + (2 if validation else 0)
    figure = Figure(figsize=(5 * panels, 3.6), dpi=100)
    axes = figure.subplots(1, panels, squeeze=False)[0]
    names = list(dict.fromkeys(name for row in loss_rows for name in row))
    for name in names:
        axes[0].plot([row.get(name, np.nan) for row in loss_rows], label=name)
    axes[0].set(title="training losses", xlabel="logged step (loss_log.txt line)", ylabel="loss")
    if names:
        axes[0].legend(fontsize="small")
    if validation:
        iters, ssim, psnr = zip(*validation)
        axes[1].plot(iters, ssim, marker="o")
        axes[1].set(title="validation SSIM", xlabel="iteration", ylabel="SSIM")
        axes[2].plot(iters, psnr, marker="o", color="tab:orange")
        axes[2].set(title="validation PSNR", xlabel="iteration", ylabel="PSNR (dB)")
    figure.tight_layout()
    with atomic_write(png_path) as handle:
        figure.savefig(handle, format="png")
    return png_path
