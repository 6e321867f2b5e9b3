"""`--netG unetpp_fusion --mrff_arch released`: the network the paper's authors published, layer for layer.

The authors' training code (a fork of the pix2pix toolkit) builds a fusion
generator that departs from the paper's Table 1 in about ten places; this is
that network, written from its description (docs/architecture.md, "The released network"), so that
the network behind the paper's Table 3 can be trained and compared.  Wiring,
fusion and the four maps are shared with `--mrff_arch paper` (`fusion.py`).

    ch = 64, 128, 256, 512, 512   (the bottleneck X4,0 is 512, not Table 1's 1024)
         = W * (1, 2, 4, 8, 8) with the release's W = 64 (`--mrff_released_width W`
           builds the same design narrower or wider, e.g. W = 16: 16, 32, 64, 128, 128)
    "block" = conv3x3 (bias) -> ReLU; no normalisation, no dropout, ReLU everywhere

1. Encoder X_i,0: block stride 2 (ch[i-1] -> ch[i]) then block stride 1, so
   X0,0 is at H/2 and X4,0 at H/32.
2. Up-sampling of X_i+1,j-1 for X_i,j: a 2x2 stride-2 transposed convolution
   ch[i+1] -> ch[i], no activation.
3. Nested node X_i,j (j >= 1): (j+1)*ch[i] -> ch[i] block, ch[i] -> ch[i] block.
4. Branch layers: X0,k (64 channels, H/2) -> 4x4 stride-2 transposed convolution
   64 -> 32 -> ReLU: f1..f4 at H x W.
5. Fusion, nested and unshared at H x W: H = conv3x3 (64 -> 64) -> ReLU ->
   conv3x3 (64 -> 1), alpha = sigmoid(H); the fused feature then goes through a
   block conv3x3 (32 -> 32) -> ReLU.
6. Output: conv3x3 32 -> output_nc, tanh (the release always outputs 3 channels).

25,943,430 parameters for 3 -> 3 channels (25,942,852 for 3 -> 1) at the release's
width; the count is derived by hand in tests/test_unetpp_fusion.py, and for any
width in tests/test_released_width.py.  The host's --norm, --no_dropout and --ngf
have no effect here, as in the release; --mrff_fusion, --mrff_channels (default
32, the release's branch width) and --mrff_released_width (default 64) do.  The
two widths are separate flags: f1..f4 run at the full input resolution, so at a
small W most of the network's compute is in the branches and fusion, set by
--mrff_channels (the release has --mrff_channels = W / 2).
"""
from dataclasses import dataclass, field

import torch.nn as nn

from .fusion import DEPTH, AttentionFusion, FusionGenerator, branch_levels

RELEASED_WIDTH = 64  # ch[0] in the release
RELEASED_MULTIPLIERS = (1, 2, 4, 8, 8)  # ch[i] = W * these: 64, 128, 256, 512, 512; the release's X4,0 has 512
KERNEL = 3  # every convolution of the release but its up-samplings
UP_KERNEL = 2  # up-sampling: 2x2 stride-2 transposed convolution
BRANCH_KERNEL = 4  # branch layers: 4x4 stride-2 padding-1 transposed convolution
MRFF_CHANNELS = 32  # f1..f4 channels in the release


@dataclass(frozen=True)
class ReleasedFusionConfig:
    """What a `ReleasedFusionGenerator` is built from, in the builder's terms: its fields are `unetpp_fusion`'s
    arguments, which build the same network again (no norm layer reaches it)."""

    input_nc: int                               # channels of the input image
    output_nc: int                              # channels of the output image (the release: 3)
    mrff_fusion: str = "nested"                 # 'nested' (the release) | 'average' | 'last'
    mrff_channels: int = MRFF_CHANNELS          # channels of f1..f4 (the release: 32)
    mrff_released_width: int = RELEASED_WIDTH   # ch[0]; ch = width * RELEASED_MULTIPLIERS (the release: 64)
    mrff_arch: str = field(default="released", init=False)


def block(in_ch, out_ch, stride=1):
    """conv3x3 (padding 1, bias) -> ReLU: the release's building block."""
    return [nn.Conv2d(in_ch, out_ch, KERNEL, stride=stride, padding=1), nn.ReLU(inplace=True)]


class ReleasedFusionGenerator(FusionGenerator):
    """The authors' released fusion generator; see the module docstring."""

    def __init__(self,
                 input_nc,                      # channels of the input image
                 output_nc,                     # channels of the output image (the release: 3)
                 mrff_fusion="nested",          # 'nested' (the release) | 'average' | 'last'
                 mrff_channels=MRFF_CHANNELS,   # channels of f1..f4 (the release: 32)
                 width=RELEASED_WIDTH):         # ch[0]; ch = width * RELEASED_MULTIPLIERS (the release: 64)
        super().__init__(mrff_fusion, mrff_channels)
        if not isinstance(width, int) or isinstance(width, bool) or width < 1:
            raise ValueError(f"--mrff_released_width {width} must be a positive number of channels.")
        self.config = ReleasedFusionConfig(input_nc, output_nc, mrff_fusion, mrff_channels, width)
        ch, C = [width * m for m in RELEASED_MULTIPLIERS], mrff_channels
        self.nodes = nn.ModuleDict()
        self.ups = nn.ModuleDict()
        for i in range(DEPTH + 1):  # X_i,0: down-sampling block, then a block at that size
            self.nodes[f"x{i}_0"] = nn.Sequential(*block(input_nc if i == 0 else ch[i - 1], ch[i], stride=2),
                                                  *block(ch[i], ch[i]))
        for j in range(1, DEPTH + 1):
            for i in range(DEPTH + 1 - j):
                self.ups[f"x{i + 1}_{j - 1}"] = nn.ConvTranspose2d(ch[i + 1], ch[i], UP_KERNEL, stride=2)
                self.nodes[f"x{i}_{j}"] = nn.Sequential(*block((j + 1) * ch[i], ch[i]), *block(ch[i], ch[i]))

        self.branches = nn.ModuleDict({
            f"f{k}": nn.Sequential(nn.ConvTranspose2d(ch[0], C, BRANCH_KERNEL, stride=2, padding=1),
                                   nn.ReLU(inplace=True))
            for k in branch_levels(mrff_fusion)})
        self.fuse = nn.ModuleList(
            [AttentionFusion(H=nn.Sequential(*block(2 * C, 2 * C), nn.Conv2d(2 * C, 1, KERNEL, padding=1)),
                             post=nn.Sequential(*block(C, C)))
             for _ in range(DEPTH - 1)]
            if mrff_fusion == "nested" else [])
        self.head = nn.Sequential(nn.Conv2d(C, output_nc, KERNEL, padding=1), nn.Tanh())
