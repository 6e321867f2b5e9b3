"""`--netG unetpp_fusion`: the paper's generator (Ma, Hua, Zuo, ICCAIS 2021, Sec. III.B, Fig. 3-6, Table 1).

Three parts, in the order the paper draws them (Fig. 4):

1. UNet++ multi-receptive-field extractor.  Encoder nodes X0,0..X4,0 are
   4x4 stride-2 convolutions (CB0.0..CB4.0), so X0,0 is already at H/2 and X4,0
   at H/32.  Nested node X_i,j (CCB i.j, j >= 1) sees the dense concatenation of
   all earlier nodes of its row, X_i,0..X_i,j-1, plus the 4x4 stride-2
   transposed-convolution up-sampling (DB i+1.j-1) of the node below-left,
   X_i+1,j-1.  Channels, with ngf = 64 as in Table 1:

       level i         0     1     2     3     4
       ch[i]           64    128   256   512   1024     (CB i.0 filters)
       X_i,j sees      j*ch[i] + ch[i]                  (CCB i.j input)

   e.g. X0,1: 64 + 64 = 128, X0,4: 4*64 + 64 = 320, X1,1: 256, X3,1: 1024.

2. Multi-receptive-field fusion (Fig. 6, Eq. 3-4).  The four full-resolution
   features X0,1..X0,4 (receptive field small -> large) are each reduced to
   `mrff_channels` channels by their own convolution, giving f1..f4; then,
   smallest receptive-field difference first, with unshared parameters:

       g1 = F1(f1, f2),  g2 = F2(g1, f3),  g3 = F3(g2, f4)
       F(a, b):  alpha = sigmoid(H([a, b]))          (Eq. 3)
                 fused = a * alpha + b * (1 - alpha)  (Eq. 4)

   `mrff_fusion` switches this for ablations: 'nested' (the paper), 'average'
   (plain UNet++: the mean of f1..f4) or 'last' (only f4 = X0,4).

3. Output head: back to the input resolution, a 3x3 convolution to
   `output_nc` channels, tanh.

Shapes for an (N, input_nc, H, W) input, H and W multiples of 32:
    X_i,j        (N, ch[i], H / 2**(i+1), W / 2**(i+1))
    f1..f4       (N, mrff_channels, H/2, W/2)
    output       (N, output_nc, H, W), values in [-1, 1]
After each forward the module keeps, detached, for display:
    attention_maps   (alpha_1, alpha_2, alpha_3), each (N, 1, H/2, W/2) in [0, 1];
                     empty unless mrff_fusion == 'nested'
    branch_features  the reduced features (f1, f2, f3, f4), each (N, mrff_channels, H/2, W/2);
                     only (f4,) with mrff_fusion == 'last'

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
  Hence X_i,j sees j*ch[i] + ch[i] channels (CCB0.4: 320), as the table's input
  column says; design.md's `j*ch[i] + ch[i+1]` would give 384 for X0,4 and
  contradicts the table.
- Row "Output CCB_O (3,4,1,1) (1,32,32,32)" is garbled.  The fused features are
  at H/2 with 32 channels (the input column's 32 = `mrff_channels`), so the head
  first returns to H with a 4x4 stride-2 transposed convolution (32 -> 32),
  then applies the 3x3 convolution the text names ("a convolutional kernel
  size of 3") to output_nc channels, then tanh.
- Fig. 6's layer parameters are not legible in our copy: the channel
  reductions are 1x1 convolutions (UNet++ puts 1x1 convolutions on its paths
  before averaging them), H is a 3x3 convolution 2*C -> 1 with bias.
Choices the paper leaves open, taken from pix2pix (Isola et al. 2017):
- Convolution blocks are conv -> norm -> activation: LeakyReLU(0.2) in the
  encoder, ReLU in nested nodes, up-samplings and the head.  X0,0 has no
  normalisation (pix2pix's first C64 layer); X4,0 has none either (like
  pix2pix's innermost layer), so even a 32x32 input, where X4,0 is 1x1, works.
- Normalisation is the host's `norm_layer` (from `--norm`); a convolution has a
  bias unless a BatchNorm follows it (BatchNorm's shift makes it redundant).
- With `use_dropout` (the host's `not --no_dropout`), Dropout(0.5) follows the
  three up-samplings out of the two deepest levels (DB4.0, DB3.0, DB3.1), the
  counterpart of pix2pix's dropout in its three innermost decoder blocks.
"""
import functools

import torch
import torch.nn as nn

from . import register_generator

# Table 1: CB0.0..CB4.0 filters are 64, 128, 256, 512, 1024 = ngf * these (ngf = 64).
CHANNEL_MULTIPLIERS = (1, 2, 4, 8, 16)
DEPTH = len(CHANNEL_MULTIPLIERS) - 1  # deepest level: X4,0; the nested nodes fill X0,1..X0,4
SIZE_MULTIPLE = 2 ** len(CHANNEL_MULTIPLIERS)  # five stride-2 stages: H/32 at X4,0
SAMPLE_KERNEL = 4  # Table 1: CB and DB kernels (4x4, stride 2, padding 1)
NODE_KERNEL = 3  # CCB kernels (see the module docstring's readings)
OUTPUT_KERNEL = 3  # Sec. III.B, "Output convolution layer"
MRFF_CHANNELS = 32  # Table 1, Output row: the fused features have 32 channels
FUSION_MODES = ("nested", "average", "last")  # nested = Fig. 6; the others are ablations
LEAKY_SLOPE = 0.2  # pix2pix encoder
DROPOUT = 0.5  # pix2pix decoder
DROPOUT_UPSAMPLINGS = ("x4_0", "x3_0", "x3_1")  # DB4.0, DB3.0, DB3.1


def check_input_size(height, width):
    """Raise ValueError unless both sides are multiples of 32 (five stride-2 stages)."""
    if height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
        raise ValueError(f"unetpp_fusion needs input sides that are multiples of {SIZE_MULTIPLE} "
                         f"(e.g. 256x256, 128x128, 640x512); got {width}x{height}: "
                         f"set --load_size/--crop_size accordingly.")


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


class AttentionFusion(nn.Module):
    """One fusion block of Fig. 6: a pixel-level attention map weighs two features (Eq. 3-4)."""

    def __init__(self, channels):
        super().__init__()
        self.H = nn.Conv2d(2 * channels, 1, kernel_size=3, padding=1)  # H in Eq. 3

    def forward(self, f_i, f_next):
        """(N, C, h, w) twice -> fused (N, C, h, w) and alpha (N, 1, h, w) in [0, 1]."""
        alpha = torch.sigmoid(self.H(torch.cat([f_i, f_next], dim=1)))  # Eq. 3
        return f_i * alpha + f_next * (1 - alpha), alpha  # Eq. 4


class UnetppFusionGenerator(nn.Module):
    """UNet++ extractor + multi-receptive-field fusion + output head; see the module docstring."""

    def __init__(self,
                 input_nc,                      # channels of the input image (3 visible, 1 grey)
                 output_nc,                     # channels of the output image (1 or 3 for LWIR)
                 ngf=64,                        # ch[0]; Table 1 uses 64
                 norm_layer=nn.BatchNorm2d,     # the host's get_norm_layer(--norm)
                 use_dropout=False,             # the host's `not --no_dropout`
                 mrff_fusion="nested",          # 'nested' (paper) | 'average' | 'last'
                 mrff_channels=MRFF_CHANNELS):  # channels of f1..f4 after reduction
        super().__init__()
        if mrff_fusion not in FUSION_MODES:
            raise ValueError(f"--mrff_fusion {mrff_fusion} is not one of {' | '.join(FUSION_MODES)}.")
        if mrff_channels < 1:
            raise ValueError(f"--mrff_channels {mrff_channels} must be a positive number of channels.")
        # Kept so a network can be rebuilt from a checkpoint's saved options.
        self.config = dict(input_nc=input_nc, output_nc=output_nc, ngf=ngf, use_dropout=use_dropout,
                           mrff_fusion=mrff_fusion, mrff_channels=mrff_channels)
        self.fusion = mrff_fusion
        ch = [ngf * m for m in CHANNEL_MULTIPLIERS]  # Table 1: 64, 128, 256, 512, 1024
        relu = functools.partial(nn.ReLU, inplace=True)
        block = functools.partial(conv_block, norm_layer=norm_layer, activation=relu)
        down = functools.partial(block, nn.Conv2d, kernel=SAMPLE_KERNEL, stride=2, padding=1,
                                 activation=functools.partial(nn.LeakyReLU, LEAKY_SLOPE, inplace=True))
        node = functools.partial(block, nn.Conv2d, kernel=NODE_KERNEL, stride=1, padding=1)
        up = functools.partial(block, nn.ConvTranspose2d, kernel=SAMPLE_KERNEL, stride=2, padding=1)
        reduction = functools.partial(block, nn.Conv2d, kernel=1, stride=1, padding=0)

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
                self.nodes[f"x{i}_{j}"] = node(j * ch[i] + ch[i], ch[i])

        # 2. Fusion: reduce X0,k to f_k with its own 1x1 convolution; three unshared fusion blocks.
        branches = [DEPTH] if mrff_fusion == "last" else range(1, DEPTH + 1)
        self.reduce = nn.ModuleDict({f"f{k}": reduction(ch[0], mrff_channels) for k in branches})
        self.fuse = nn.ModuleList([AttentionFusion(mrff_channels) for _ in range(DEPTH - 1)]
                                  if mrff_fusion == "nested" else [])

        # 3. Output head: H/2 -> H, then the 3x3 output convolution and tanh.
        self.head = nn.Sequential(
            up(mrff_channels, mrff_channels),
            nn.Conv2d(mrff_channels, output_nc, kernel_size=OUTPUT_KERNEL, padding=1),
            nn.Tanh(),
        )
        self.attention_maps = ()
        self.branch_features = ()

    def extract(self, input):
        """UNet++ features {'x{i}_{j}': (N, ch[i], H/2**(i+1), W/2**(i+1))} for a checked input."""
        x = {"x0_0": self.nodes["x0_0"](input)}  # (N, 64, H/2, W/2)
        for i in range(1, DEPTH + 1):
            x[f"x{i}_0"] = self.nodes[f"x{i}_0"](x[f"x{i - 1}_0"])  # (N, ch[i], H/2**(i+1), ...)
        for j in range(1, DEPTH + 1):  # column by column: X_i+1,j-1 exists before X_i,j needs it
            for i in range(DEPTH + 1 - j):
                row = [x[f"x{i}_{k}"] for k in range(j)]  # j * ch[i] channels
                below = self.ups[f"x{i + 1}_{j - 1}"](x[f"x{i + 1}_{j - 1}"])  # ch[i] channels
                x[f"x{i}_{j}"] = self.nodes[f"x{i}_{j}"](torch.cat(row + [below], dim=1))
        return x

    def forward(self, input):
        """(N, input_nc, H, W) -> (N, output_nc, H, W) in [-1, 1]; H, W multiples of 32."""
        check_input_size(*input.shape[-2:])
        x = self.extract(input)
        f = {name: reduce(x[f"x0_{name[1:]}"]) for name, reduce in self.reduce.items()}  # (N, C, H/2, W/2)
        alphas = []
        if self.fusion == "nested":  # g1 = F1(f1, f2), g2 = F2(g1, f3), g3 = F3(g2, f4)
            fused = f["f1"]
            for fuse, f_next in zip(self.fuse, (f["f2"], f["f3"], f["f4"])):
                fused, alpha = fuse(fused, f_next)
                alphas.append(alpha.detach())
        elif self.fusion == "average":  # plain UNet++
            fused = torch.stack(list(f.values())).mean(dim=0)
        else:  # 'last': X0,4 only
            fused = f["f4"]
        self.attention_maps = tuple(alphas)
        self.branch_features = tuple(v.detach() for v in f.values())
        return self.head(fused)  # (N, output_nc, H, W)


@register_generator
def unetpp_fusion(input_nc, output_nc, ngf, norm_layer, use_dropout, **options):
    """The paper's generator (Ma, Hua, Zuo 2021, Fig. 4, Table 1); options: mrff_fusion, mrff_channels."""
    return UnetppFusionGenerator(input_nc, output_nc, ngf, norm_layer, use_dropout, **options)
