"""H([a, b]) of Eq. 3 -- a convolution of two concatenated features to one attention map -- without the concatenation.

The paper's H is one k x k convolution (stride 1, zero 'same' padding) from
the 2C channels of [a, b] to one map (unetpp_fusion.py).  Computed literally it
costs twice what its arithmetic needs on a CPU: the concatenation copies both
features once more, and oneDNN pads a convolution's output channels to a block
of 16, so a one-map convolution does the work of sixteen (docs/performance.md,
"Inference"; at 256 x 256, batch 8, bf16: 47 ms -> 14 ms per H).  The same sum,
tap by tap: a convolution is linear in its input channels and its taps, so with
W = [W_a, W_b] split along the input channels and W_ij the (C_in -> 1) weights of
tap (i, j),

    H([a, b])[y, x] = bias + sum_ij ( W_a,ij . a + W_b,ij . b )[y + i - p, x + j - p]

i.e. one 1 x 1 convolution of each feature to the k*k tap maps, summed, then the
k*k maps shifted into place (zero outside the image, as the padding) and added.
Same result up to the order of the additions; gradients flow to H's weight as
before; a checkpoint is unchanged (H stays an nn.Conv2d).  Any other H (the
released network's conv -> ReLU -> conv, a strided or dilated one) runs as
written on the concatenation.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def is_one_map_conv(H):
    """True when H is a plain k x k 'same' convolution (odd k, stride 1, zero padding k // 2) to one map."""
    if type(H) is not nn.Conv2d or H.out_channels != 1 or H.groups != 1 or H.padding_mode != "zeros":
        return False
    k = H.kernel_size
    return (k[0] % 2 == 1 and k[1] % 2 == 1 and tuple(H.stride) == (1, 1) and tuple(H.dilation) == (1, 1)
            and tuple(H.padding) == (k[0] // 2, k[1] // 2))


def conv_of_concatenation(H, parts):
    """H(torch.cat(parts, dim=1)), each part (N, C_p, h, w); for a one-map H (is_one_map_conv) tap by tap
    (module docstring) -> (N, 1, h, w)."""
    if not is_one_map_conv(H):
        return H(torch.cat(parts, dim=1))
    kh, kw = H.kernel_size
    ph, pw = kh // 2, kw // 2
    n, _, h, w = parts[0].shape
    taps = None                                                     # (N, kh*kw, h, w): W_ij . x per tap
    start = 0
    for part in parts:
        c = part.shape[1]
        weight = H.weight[:, start:start + c].permute(2, 3, 1, 0).reshape(kh * kw, c, 1, 1)   # tap-major
        start += c
        projected = F.conv2d(part, weight)
        taps = projected if taps is None else taps + projected
    taps = F.pad(taps.contiguous(), (pw, pw, ph, ph))              # zero outside the image, as H's padding
    out = taps[:, 0:1, 0:h, 0:w]
    for t in range(1, kh * kw):
        i, j = divmod(t, kw)
        out = out + taps[:, t:t + 1, i:i + h, j:j + w]
    return out if H.bias is None else out + H.bias.to(out.dtype).view(1, 1, 1, 1)
