"""What both `unetpp_fusion` architectures share: the UNet++ graph walk, the nested fusion of Fig. 6, the four maps.

`--mrff_arch paper` (`unetpp_fusion.py`, our reading of Table 1) and `--mrff_arch
released` (`unetpp_released.py`, the authors' published network) differ in their
layers, not in how the layers are wired.  A subclass of `FusionGenerator` builds

    nodes     ModuleDict "x{i}_{j}" -> X_i,j   (X_i,0: encoder; j >= 1: nested node)
    ups       ModuleDict "x{i}_{j}" -> the up-sampling of X_i,j that feeds X_i-1,j+1
    branches  ModuleDict "f{k}"     -> X0,k -> f_k at the full input resolution
    fuse      ModuleList of three AttentionFusion blocks (empty unless 'nested')
    head      fused (N, C, H, W) -> output (N, output_nc, H, W) in [-1, 1]

and this class runs them: X_i,j sees its row X_i,0..X_i,j-1 plus the up-sampled
X_i+1,j-1; f1..f4 come from X0,1..X0,4 (small -> large receptive field) and are
fused smallest receptive-field difference first, with unshared parameters:

    g1 = F1(f1, f2),  g2 = F2(g1, f3),  g3 = F3(g2, f4)
    F(a, b):  alpha = sigmoid(H([a, b]))          (Eq. 3)
              fused = a * alpha + b * (1 - alpha)  (Eq. 4)

The four maps of Fig. 13-14 ((c)-(f), one per receptive field) are the weights
each f_k finally carries at a pixel, the products of the alphas along its path:

    w1 = a1*a2*a3,  w2 = (1-a1)*a2*a3,  w3 = (1-a2)*a3,  w4 = 1-a3     (sum: 1)

`--mrff_fusion average` (plain UNet++, the mean of f1..f4) and `last` (f4 only)
have constant weights (1/4 each; 0, 0, 0, 1), so the four maps always exist.

`forward(x)` returns the image; `forward(x, with_weights=True)` returns
`(image, weights)`, weights one (N, 4, H, W) tensor of w1..w4 along dim 1, not
detached -- one tensor per output gathers along dim 0 under `DataParallel` and
exports as an ONNX output.  After every forward the module also keeps, detached:
    feature_weights  (w1, w2, w3, w4), each (N, 1, H, W)
    attention_maps   (a1, a2, a3), each (N, 1, H, W); () unless 'nested'
    branch_energy    mean |f_k| over channels per pixel, each (N, 1, H, W), for display;
                     only (f4's,) with 'last'; () under torch.inference_mode (mass generation
                     keeps no display-only maps)
(attributes set on DataParallel replicas are lost: use `with_weights` there.)
"""
import torch
import torch.nn as nn

from .map_conv import conv_of_concatenation

FUSION_MODES = ("nested", "average", "last")  # nested = Fig. 6; the others are ablations
DEPTH = 4  # deepest level X4,0; the nested nodes fill X0,1..X0,4 (Fig. 4)
SIZE_MULTIPLE = 2 ** (DEPTH + 1)  # five stride-2 stages: X0,0 at H/2, X4,0 at H/32
CONSTANT_WEIGHTS = {"average": (0.25, 0.25, 0.25, 0.25), "last": (0.0, 0.0, 0.0, 1.0)}


def check_input_size(height, width):
    """Raise ValueError unless both sides are multiples of 32 (five stride-2 stages)."""
    if height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
        raise ValueError(f"unetpp_fusion needs input sides that are multiples of {SIZE_MULTIPLE} "
                         f"(e.g. 256x256, 128x128, 640x512); got {width}x{height}: "
                         f"set --load_size/--crop_size accordingly.")


def check_fusion_options(mrff_fusion, mrff_channels):
    """Raise ValueError for an unknown --mrff_fusion or a non-positive --mrff_channels."""
    if mrff_fusion not in FUSION_MODES:
        raise ValueError(f"--mrff_fusion {mrff_fusion} is not one of {' | '.join(FUSION_MODES)}.")
    if mrff_channels < 1:
        raise ValueError(f"--mrff_channels {mrff_channels} must be a positive number of channels.")


def branch_levels(mrff_fusion):
    """The k of the branches f_k a fusion mode reads: 1..4, or only 4 for 'last'."""
    return (DEPTH,) if mrff_fusion == "last" else tuple(range(1, DEPTH + 1))


def nested_weights(alphas):
    """(a1, a2, a3), each (N, 1, H, W) -> (N, 4, H, W): the weight of f1..f4 in g3 (module docstring)."""
    a1, a2, a3 = alphas
    return torch.cat([a1 * a2 * a3, (1 - a1) * a2 * a3, (1 - a2) * a3, 1 - a3], dim=1)


def constant_weights(mrff_fusion, like):
    """(N, 4, H, W) weights of 'average' or 'last', shaped like `like` (N, C, H, W)."""
    ones = torch.ones_like(like[:, :1])
    return torch.cat([ones * w for w in CONSTANT_WEIGHTS[mrff_fusion]], dim=1)


class AttentionFusion(nn.Module):
    """One fusion block of Fig. 6: a pixel-level attention map weighs two features (Eq. 3-4).

    H: [a, b] (N, 2C, h, w) -> (N, 1, h, w) logits; post: applied to the fused
    feature (the released network's extra conv + ReLU; nothing in the paper).
    """

    def __init__(self, H, post=None):
        super().__init__()
        self.H = H  # H in Eq. 3
        self.post = post if post is not None else nn.Identity()

    def forward(self, a, b):
        """(N, C, h, w) twice -> fused (N, C, h, w) and alpha (N, 1, h, w) in [0, 1]."""
        alpha = torch.sigmoid(conv_of_concatenation(self.H, (a, b)))  # Eq. 3: H([a, b]), map_conv.py
        dtype = torch.promote_types(torch.promote_types(a.dtype, b.dtype), alpha.dtype)
        # Eq. 4, a * alpha + b * (1 - alpha), as b + alpha * (a - b): one pass over memory instead of three
        return self.post(torch.lerp(b.to(dtype), a.to(dtype), alpha.to(dtype))), alpha


class FusionGenerator(nn.Module):
    """UNet++ extractor + multi-receptive-field fusion + head, wired as the module docstring says.

    Subclasses call `super().__init__(mrff_fusion, mrff_channels)`, set `config` (a frozen dataclass of what
    they are built from, `mrff_arch` among it) and then build nodes, ups, branches, fuse and head.
    """

    def __init__(self, mrff_fusion, mrff_channels):
        super().__init__()
        check_fusion_options(mrff_fusion, mrff_channels)
        self.fusion = mrff_fusion
        self.attention_maps = ()
        self.feature_weights = ()
        self.branch_energy = ()

    def extract(self, input):
        """UNet++ features {'x{i}_{j}': (N, ch[i], H/2**(i+1), W/2**(i+1))} for a checked input."""
        x = {"x0_0": self.nodes["x0_0"](input)}  # (N, ch[0], H/2, W/2)
        for i in range(1, DEPTH + 1):
            x[f"x{i}_0"] = self.nodes[f"x{i}_0"](x[f"x{i - 1}_0"])  # (N, ch[i], H/2**(i+1), ...)
        for j in range(1, DEPTH + 1):  # column by column: X_i+1,j-1 exists before X_i,j needs it
            for i in range(DEPTH + 1 - j):
                row = [x[f"x{i}_{k}"] for k in range(j)]  # j * ch[i] channels
                below = self.ups[f"x{i + 1}_{j - 1}"](x[f"x{i + 1}_{j - 1}"])  # ch[i] channels
                x[f"x{i}_{j}"] = self.nodes[f"x{i}_{j}"](torch.cat(row + [below], dim=1))
        return x

    def fuse_features(self, f):
        """[f1..f4] (or [f4]), each (N, C, H, W) -> fused (N, C, H, W) and the alphas [(N, 1, H, W)] * 3."""
        if self.fusion == "nested":  # g1 = F1(f1, f2), g2 = F2(g1, f3), g3 = F3(g2, f4)
            fused, alphas = f[0], []
            for block, f_next in zip(self.fuse, f[1:]):
                fused, alpha = block(fused, f_next)
                alphas.append(alpha)
            return fused, alphas
        if self.fusion == "average":  # plain UNet++
            return torch.stack(f).mean(dim=0), []
        return f[-1], []  # 'last': X0,4 only

    def forward(self, input, with_weights=False):
        """(N, input_nc, H, W) -> (N, output_nc, H, W) in [-1, 1] [, weights (N, 4, H, W)]; H, W multiples of 32."""
        check_input_size(*input.shape[-2:])
        x = self.extract(input)
        f = [branch(x[f"x0_{name[1:]}"]) for name, branch in self.branches.items()]  # (N, C, H, W) each
        fused, alphas = self.fuse_features(f)
        weights = nested_weights(alphas) if alphas else constant_weights(self.fusion, f[-1])  # (N, 4, H, W)
        self.attention_maps = tuple(alpha.detach() for alpha in alphas)
        self.feature_weights = tuple(weights.detach().split(1, dim=1))
        self.branch_energy = () if torch.is_inference_mode_enabled() else \
            tuple(f_k.detach().abs().mean(dim=1, keepdim=True) for f_k in f)
        output = self.head(fused)  # (N, output_nc, H, W)
        return (output, weights) if with_weights else output
