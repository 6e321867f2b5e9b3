"""`--netG unetpp_fusion`: the paper's generator (Ma, Hua, Zuo, ICCAIS 2021, Sec. III.B, Fig. 3-6, Table 1).

`--mrff_arch paper` (the default, this file) follows the paper's text and
Table 1; `--mrff_arch released` builds the authors' published network instead
(`unetpp_released.py`).  Both are wired by `fusion.FusionGenerator`.

Three parts, in the order the paper draws them (Fig. 4):

1. UNet++ multi-receptive-field extractor.  Encoder nodes X0,0..X4,0 are
   4x4 stride-2 convolutions (CB0.0..CB4.0), so X0,0 is already at H/2 and X4,0
   at H/32.  Nested node X_i,j (CCB i.j, j >= 1) sees the dense concatenation of
   all earlier nodes of its row, X_i,0..X_i,j-1, plus the 4x4 stride-2
   transposed-convolution up-sampling (DB i+1.j-1) of the node below-left,
   X_i+1,j-1.  Channels, with ngf = 64 as in Table 1:

       level i         0     1     2     3     4
       ch[i]           64    128   256   512   1024     (CB i.0 filters)
       X_i,j sees      (j+1)*ch[i]                      (CCB i.j input)

   e.g. X0,1: 128, X0,4: 320, X1,1: 256, X3,1: 1024.

2. Multi-receptive-field fusion (Fig. 6, Eq. 3-4) at the full input resolution.
   Each of X0,1..X0,4 (64 channels at H/2, receptive field small -> large) goes
   through its own branch layer, a 4x4 stride-2 transposed convolution 64 ->
   `mrff_channels` + norm + ReLU, giving f1..f4 at H x W; three nested, unshared
   attention blocks fuse them (`fusion.py`): g1 = F1(f1, f2), g2 = F2(g1, f3),
   g3 = F3(g2, f4), each alpha = sigmoid(H([a, b])) with H one 3x3 convolution.
   `mrff_fusion` switches this for ablations: 'nested' (the paper), 'average'
   (plain UNet++: the mean of f1..f4) or 'last' (only f4 = X0,4).

3. Output convolution: a 3x3 convolution `mrff_channels` -> `output_nc`, tanh.

Shapes for an (N, input_nc, H, W) input, H and W multiples of 32:
    X_i,j        (N, ch[i], H / 2**(i+1), W / 2**(i+1))
    f1..f4       (N, mrff_channels, H, W)
    output       (N, output_nc, H, W), values in [-1, 1]
After each forward: feature_weights w1..w4 and attention_maps a1..a3, each
(N, 1, H, W) (the four maps of Fig. 13-14; `fusion.py`), and branch_energy.

Readings of Table 1 (its rows are partly garbled; each choice keeps the shapes the
table's input/output columns give):
- CB rows say (f,4,1,2) but halve the map (256 -> 128): read as kernel 4,
  stride 2, padding 1, the pix2pix down-sampling the text describes ("a
  convolutional layer with a step size of 2").
- CCB rows say (f,4,1,1) yet keep the size (128 -> 128); a 4x4 kernel with
  stride 1 and padding 1 would lose a pixel, so CCBs are 3x3, stride 1, padding 1.
- DB rows give inconsistent filter counts (DB2.0-2.2 "(128,4,1,1)", DB3.0,3.1
  "(512,...)") but their output columns agree: DB i.j maps ch[i] -> ch[i-1]
  and doubles the size, i.e. a 4x4 stride-2 padding-1 transposed convolution.
  Hence X_i,j sees (j+1)*ch[i] channels (CCB0.4: 320), as the table's input
  column says; a count of `j*ch[i] + ch[i+1]` would give 384 for X0,4 and
  contradicts the table.
- Branch layers and fusion resolution.  The text has "four convolutional layers
  to downscale the features" of X0,1..X0,4 and then fuses "four features of the
  same size"; Table 1's Output row takes 32 channels, and the text's output
  layer is "a convolutional layer with a kernel size of 3" that "outputs a
  3-channel image".  So the four branch layers take the 64-channel X0,k to 32
  channels, the fused 32 channels go straight into the 3x3 output convolution,
  and the fusion must already be at H x W: the branch layers are 4x4 stride-2
  transposed convolutions (the kernel of Table 1's up-sampling DBs).  The
  authors' released code does the same (docs/architecture.md, "The released network").
- Row "Output CCB_O (3,4,1,1) (1,32,32,32)" is garbled: read as the 3x3 output
  convolution of the text, 32 -> output_nc channels, then tanh.
- Fig. 6's layer parameters are not legible in our copy: H is one 3x3
  convolution 2*C -> 1 with bias ("a convolutional layer").
Choices the paper leaves open, taken from pix2pix (Isola et al. 2017):
- Convolution blocks are conv -> norm -> activation: LeakyReLU(0.2) in the
  encoder, ReLU in nested nodes, up-samplings and branch layers.  X0,0 has no
  normalisation (pix2pix's first C64 layer); X4,0 has none either (like
  pix2pix's innermost layer), so even a 32x32 input, where X4,0 is 1x1, works.
- Normalisation is the host's `norm_layer` (from `--norm`); a convolution has a
  bias unless a BatchNorm follows it (BatchNorm's shift makes it redundant).
- With `use_dropout` (the host's `not --no_dropout`), Dropout(0.5) follows the
  three up-samplings out of the two deepest levels (DB4.0, DB3.0, DB3.1), the
  counterpart of pix2pix's dropout in its three innermost decoder blocks.
"""
import functools
import sys
from dataclasses import dataclass, field
from typing import Optional

import torch.nn as nn

from ..argtypes import positive_channels
from ..errors import OptionError
from .fusion import DEPTH, FUSION_MODES, AttentionFusion, FusionGenerator, branch_levels, check_input_size
from .registry import register_generator
from .unetpp_released import RELEASED_WIDTH

# Table 1: CB0.0..CB4.0 filters are 64, 128, 256, 512, 1024 = ngf * these (ngf = 64).
CHANNEL_MULTIPLIERS = (1, 2, 4, 8, 16)
SAMPLE_KERNEL = 4  # Table 1: CB and DB kernels (4x4, stride 2, padding 1); also the branch layers
NODE_KERNEL = 3  # CCB kernels (see the module docstring's readings)
OUTPUT_KERNEL = 3  # Sec. III.B, "Output convolution layer"
MRFF_CHANNELS = 32  # Table 1, Output row: the fused features have 32 channels
ARCHS = ("paper", "released")  # --mrff_arch: this file's reading of the text | the authors' release
LEAKY_SLOPE = 0.2  # pix2pix encoder
DROPOUT = 0.5  # pix2pix decoder
DROPOUT_UPSAMPLINGS = ("x4_0", "x3_0", "x3_1")  # DB4.0, DB3.0, DB3.1


@dataclass(frozen=True)
class UnetppFusionConfig:
    """What an `UnetppFusionGenerator` is built from, in the builder's terms: its fields but `norm` are
    `unetpp_fusion`'s arguments, which with the host's norm layer build the same network again."""

    input_nc: int                          # channels of the input image (3 visible, 1 grey)
    output_nc: int                         # channels of the output image (1 or 3 for LWIR)
    ngf: int = 64                          # ch[0]; Table 1 uses 64
    use_dropout: bool = False              # the host's `not --no_dropout`
    mrff_fusion: str = "nested"            # 'nested' (paper) | 'average' | 'last'
    mrff_channels: int = MRFF_CHANNELS     # channels of f1..f4
    norm: Optional[str] = None             # the host's --norm, where its define_G built the network (the
    #                                        builder itself receives only the norm layer)
    mrff_arch: str = field(default="paper", init=False)


def _is_batch_norm(norm_layer):
    layer = norm_layer.func if isinstance(norm_layer, functools.partial) else norm_layer
    return isinstance(layer, type) and issubclass(layer, nn.BatchNorm2d)


def conv_block(conv, in_ch, out_ch, kernel, stride, padding, norm_layer, activation, normalise=True,
               dropout=False):
    """conv (or transposed conv) -> norm -> activation() [-> Dropout(0.5)]."""
    use_bias = not (normalise and _is_batch_norm(norm_layer))
    layers = [conv(in_ch, out_ch, kernel_size=kernel, stride=stride, padding=padding, bias=use_bias)]
    if normalise:
        layers.append(norm_layer(out_ch))
    layers.append(activation())
    if dropout:
        layers.append(nn.Dropout(DROPOUT))
    return nn.Sequential(*layers)


class UnetppFusionGenerator(FusionGenerator):
    """UNet++ extractor + multi-receptive-field fusion + output convolution; see the module docstring."""

    def __init__(self,
                 input_nc,                      # channels of the input image (3 visible, 1 grey)
                 output_nc,                     # channels of the output image (1 or 3 for LWIR)
                 ngf=64,                        # ch[0]; Table 1 uses 64
                 norm_layer=nn.BatchNorm2d,     # the host's get_norm_layer(--norm)
                 use_dropout=False,             # the host's `not --no_dropout`
                 mrff_fusion="nested",          # 'nested' (paper) | 'average' | 'last'
                 mrff_channels=MRFF_CHANNELS):  # channels of f1..f4
        super().__init__(mrff_fusion, mrff_channels)
        self.config = UnetppFusionConfig(input_nc, output_nc, ngf, use_dropout, mrff_fusion, mrff_channels)
        ch = [ngf * m for m in CHANNEL_MULTIPLIERS]  # Table 1: 64, 128, 256, 512, 1024
        relu = functools.partial(nn.ReLU, inplace=True)
        block = functools.partial(conv_block, norm_layer=norm_layer, activation=relu)
        down = functools.partial(block, nn.Conv2d, kernel=SAMPLE_KERNEL, stride=2, padding=1,
                                 activation=functools.partial(nn.LeakyReLU, LEAKY_SLOPE, inplace=True))
        node = functools.partial(block, nn.Conv2d, kernel=NODE_KERNEL, stride=1, padding=1)
        up = functools.partial(block, nn.ConvTranspose2d, kernel=SAMPLE_KERNEL, stride=2, padding=1)

        # 1. UNet++ extractor: nodes["x{i}_{j}"] computes X_i,j; ups["x{i}_{j}"] is DB i.j, the
        #    up-sampling of X_i,j that feeds X_i-1,j+1.
        self.nodes = nn.ModuleDict()
        self.ups = nn.ModuleDict()
        for i in range(DEPTH + 1):  # CB i.0
            self.nodes[f"x{i}_0"] = down(input_nc if i == 0 else ch[i - 1], ch[i], normalise=0 < i < DEPTH)
        for j in range(1, DEPTH + 1):
            for i in range(DEPTH + 1 - j):  # CCB i.j and the DB i+1.j-1 that feeds it
                self.ups[f"x{i + 1}_{j - 1}"] = up(ch[i + 1], ch[i],
                                                   dropout=use_dropout and f"x{i + 1}_{j - 1}" in DROPOUT_UPSAMPLINGS)
                self.nodes[f"x{i}_{j}"] = node((j + 1) * ch[i], ch[i])

        # 2. Fusion at H x W: X0,k -> f_k by its own transposed convolution; three unshared fusion blocks.
        self.branches = nn.ModuleDict({f"f{k}": up(ch[0], mrff_channels) for k in branch_levels(mrff_fusion)})
        self.fuse = nn.ModuleList(
            [AttentionFusion(nn.Conv2d(2 * mrff_channels, 1, kernel_size=3, padding=1)) for _ in range(DEPTH - 1)]
            if mrff_fusion == "nested" else [])

        # 3. Output convolution and tanh.
        self.head = nn.Sequential(
            nn.Conv2d(mrff_channels, output_nc, kernel_size=OUTPUT_KERNEL, padding=1),
            nn.Tanh(),
        )


# ------------------------------------------------------------------ its flags and their check

IGNORED_BY_RELEASED = ("norm", "no_dropout", "ngf")   # host flags the authors' network does not read


def add_options(parser):
    """--mrff_arch, --mrff_fusion, --mrff_channels; the host flags the released network ignores say so."""
    for flag in IGNORED_BY_RELEASED:
        action = parser._option_string_actions.get(f"--{flag}")
        if action is not None:
            text = (action.help or "").rstrip()
            note = "no effect with --mrff_arch released"
            action.help = f"{text} ({note})" if text else note
    group = parser.add_argument_group("mrff plugin (--netG unetpp_fusion)")
    group.add_argument("--mrff_arch", choices=ARCHS, default=ARCHS[0],
                       help="paper: our reading of the paper's text and Table 1 | released: the authors' "
                            "published network (25.943 M parameters), which ignores --norm, --no_dropout "
                            "and --ngf as the release does; saved with the checkpoint")
    group.add_argument("--mrff_fusion", choices=FUSION_MODES, default=FUSION_MODES[0],
                       help="how unetpp_fusion fuses its four receptive fields X0,1..X0,4: nested pixel "
                            "attention (the paper, Fig. 6) | average (plain UNet++) | last (X0,4 only)")
    group.add_argument("--mrff_channels", type=positive_channels, default=MRFF_CHANNELS,
                       help="channels of each reduced branch f1..f4 before fusion (paper: 32)")
    group.add_argument("--mrff_released_width", type=positive_channels, default=RELEASED_WIDTH,
                       help="--mrff_arch released only: its channels are W, 2W, 4W, 8W, 8W (default 64: the "
                            "authors' widths); saved with the checkpoint")
    return parser


def check_released_width(mrff_arch, mrff_released_width):
    """ValueError for a --mrff_released_width other than the default where no released network reads it."""
    if mrff_arch != "released" and mrff_released_width != RELEASED_WIDTH:
        raise ValueError(f"--mrff_released_width {mrff_released_width} applies to --mrff_arch released only; "
                         f"drop it, or pass --mrff_arch released.")


class InputSizeError(OptionError):
    """--crop_size does not suit unetpp_fusion (sides must be multiples of 32)."""


def check(opt, parser):
    """After the host's parse: a --crop_size (or the --load_size of `resize` / `scale_width`) that is no multiple
    of 32 fails now, not at the first batch (`framing.fixed_side`; under `none` the dataset checks the images);
    `--mrff_arch released` with host flags it ignores (set to non-default values) prints one warning line."""
    from ..datasets.framing import fixed_side
    side = fixed_side(opt)
    if side is not None:
        try:
            check_input_size(side, side)
        except ValueError as exc:
            raise InputSizeError(str(exc)) from None
    try:
        check_released_width(getattr(opt, "mrff_arch", None), getattr(opt, "mrff_released_width", RELEASED_WIDTH))
    except ValueError as exc:
        raise OptionError(str(exc)) from None
    if getattr(opt, "mrff_arch", None) != "released" or parser is None:
        return
    given = [f"--{flag} {getattr(opt, flag)}" if not isinstance(getattr(opt, flag), bool) else f"--{flag}"
             for flag in IGNORED_BY_RELEASED
             if hasattr(opt, flag) and getattr(opt, flag) != parser.get_default(flag)]
    if given:
        print(f"warning: --mrff_arch released ignores {', '.join(given)} (the authors' network has no "
              f"normalisation, no dropout, and widths set by --mrff_released_width).", file=sys.stderr)


@register_generator(add_options=add_options, check=check)
def unetpp_fusion(input_nc, output_nc, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False, mrff_arch="paper",
                  mrff_fusion="nested", mrff_channels=MRFF_CHANNELS, mrff_released_width=RELEASED_WIDTH):
    """The paper's generator (Ma, Hua, Zuo 2021, Fig. 4, Table 1), or with mrff_arch 'released' the authors'.

    The released network has no normalisation or dropout and its own widths (mrff_released_width):
    norm_layer, use_dropout and ngf do not reach it; mrff_released_width reaches nothing else.
    """
    if mrff_arch == "released":
        from .unetpp_released import ReleasedFusionGenerator
        return ReleasedFusionGenerator(input_nc, output_nc, mrff_fusion=mrff_fusion, mrff_channels=mrff_channels,
                                       width=mrff_released_width)
    check_released_width(mrff_arch, mrff_released_width)
    if mrff_arch != "paper":
        raise ValueError(f"--mrff_arch {mrff_arch} is not one of {' | '.join(ARCHS)}.")
    return UnetppFusionGenerator(input_nc, output_nc, ngf, norm_layer, use_dropout, mrff_fusion=mrff_fusion,
                                 mrff_channels=mrff_channels)
