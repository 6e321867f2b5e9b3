"""BatchNorm at inference the way the host's `test.py` runs it: each image normalised by its own statistics.

pix2pix tests its generator in train mode (pix2pix paper, Sec. 3.3: "we apply
batch normalization using the statistics of the test batch"; the host's
`test.py` does this unless `--eval`), at batch size 1.  A BatchNorm2d then
normalises every channel of the one image by that image's mean and (biased)
variance over H x W, and applies the layer's trained affine weight and bias:
instance normalisation with BatchNorm's affine.  Every SSIM/PSNR this project
reports is measured that way, so `mrff generate` and `mrff export` run it that
way by default (`--norm_stats image`); `--norm_stats running` keeps eval mode's
running statistics (what `test.py --eval` does), folded into the convolutions.

`ImageStatisticsNorm` replaces a trained BatchNorm2d and computes, per image
n and channel c,

    y = (x - mean_nc) / sqrt(var_nc + eps) * weight_c + bias_c

so a batch of 8 gives each image what a batch of 1 gives it.  Computed as group
normalisation with one channel per group (the same sums, in one fused pass that also
returns the statistics tiles record), and on a CPU for maps under 32 x 32 as BatchNorm
in train mode on each image alone (where torch's group-norm kernel is slow).  Dropout
stays off (eval mode): output is deterministic, where `test.py` draws dropout masks.

Tiles.  A tile's statistics are not the image's.  `whole_image_statistics`
runs the network once over the whole image and records every layer's
per-channel statistics; within it, the tiles are normalised with those
recorded statistics instead of their own.  An image too large for one pass
(tiling.plan_size) gives its statistics from the largest downscaled copy that
fits.  docs/results.md ("Tiled generation") has each way against
the untiled output.
"""
import contextlib
import sys

import torch
import torch.nn as nn

# Below this many pixels per channel, torch's group-norm kernel on channels_last memory is 4-30x slower than
# BatchNorm run on each image alone (e.g. 512 channels at 16 x 16, batch 8, bf16: 14.8 ms against 0.5 ms); from
# 32 x 32 up it is 1.5-2x faster (docs/performance.md, "Inference").
GROUP_NORM_MIN_PIXELS = 32 * 32


def exporting_onnx():
    """torch.onnx.is_in_onnx_export(), without importing torch.onnx (0.4 s) in a process that never exports."""
    onnx = sys.modules.get("torch.onnx")
    return onnx is not None and onnx.is_in_onnx_export()


class ImageStatisticsNorm(nn.Module):
    """A trained BatchNorm2d normalising each image by its own per-channel mean and variance (see module doc).

    given: (mean, var), each (1, C), used instead of the input's own (tiles; whole_image_statistics);
    recording: when True, the statistics of the last input are kept in `recorded`.
    """

    def __init__(self, norm):
        super().__init__()
        self.weight = nn.Parameter(norm.weight.detach().clone(), requires_grad=False)   # (C,)
        self.bias = nn.Parameter(norm.bias.detach().clone(), requires_grad=False)       # (C,)
        self.eps = norm.eps
        self.given, self.recording, self.recorded = None, False, None

    def forward(self, x):                                                   # (N, C, H, W)
        if self.given is None and exporting_onnx():                 # ONNX's InstanceNormalization: the same sums
            return nn.functional.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)
        if self.given is None:
            n, c, h, w = x.shape
            if h * w >= GROUP_NORM_MIN_PIXELS or x.device.type != "cpu":
                # Group normalisation with one channel per group is this very formula, in one fused kernel that
                # reads channels_last memory directly and returns each image's per-channel mean and
                # 1 / sqrt(var + eps) in float32 (3-5x faster than var_mean + addcmul, no temporary copy)
                y, mean, rstd = torch.native_group_norm(x, self.weight, self.bias, n, c, h * w, c, self.eps)
            else:
                y, mean, rstd = self._image_by_image(x)
            if self.recording:
                self.recorded = (mean, rstd.pow(-2) - self.eps)             # (N, C) each: mean, biased variance
            return y
        mean, var = self.given                                              # (1, C) each
        scale = self.weight * torch.rsqrt(var + self.eps)                   # (1, C)
        shift = self.bias - mean * scale
        return torch.addcmul(shift.to(x.dtype)[:, :, None, None], x, scale.to(x.dtype)[:, :, None, None])

    def _image_by_image(self, x):
        """(y, mean, rstd) as native_group_norm gives them, from BatchNorm in train mode on each image alone
        (batch 1: the same sums), written into one output in x's layout."""
        n, c = x.shape[:2]
        y = torch.empty_like(x)
        mean, rstd = x.new_empty((n, c), dtype=torch.float32), x.new_empty((n, c), dtype=torch.float32)
        for i in range(n):
            torch.ops.aten.native_batch_norm.out(x[i:i + 1], self.weight, self.bias, None, None, True, 0.0,
                                                 self.eps, out=y[i:i + 1], save_mean=mean[i], save_invstd=rstd[i])
        return y, mean, rstd


def use_image_statistics(net):
    """Replace every affine BatchNorm2d of `net` by an ImageStatisticsNorm with its weights; returns `net`.

    Networks without BatchNorm (`--norm instance|none`, the released architecture) come back unchanged.
    """
    for parent in list(net.modules()):
        for name, child in parent.named_children():
            if type(child) is nn.BatchNorm2d and child.affine:
                setattr(parent, name, ImageStatisticsNorm(child))
    return net


def image_norm_layers(net):
    """The ImageStatisticsNorm layers of `net`, in order."""
    return [m for m in net.modules() if isinstance(m, ImageStatisticsNorm)]


@contextlib.contextmanager
def whole_image_statistics(net, run, image):
    """Within: every ImageStatisticsNorm of `net` uses the statistics it saw while `run(image)` ran.

    image: (1, C, h, w), the whole image or a downscaled copy; `run` runs `net` (padding included).
    A network with no such layer runs nothing extra.
    """
    layers = image_norm_layers(net)
    if not layers:
        yield
        return
    for layer in layers:
        layer.recording = True
    try:
        run(image)
        for layer in layers:
            layer.given = layer.recorded
    finally:
        for layer in layers:
            layer.recording, layer.recorded = False, None
    try:
        yield
    finally:
        for layer in layers:
            layer.given = None

