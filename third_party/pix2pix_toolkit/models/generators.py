"""The toolkit's generators: a ResNet encoder-decoder and a U-Net, both ending in tanh.

ResnetGenerator (Johnson et al. 2016, as used by CycleGAN): 7x7 stem, two
stride-2 downsamplings, `n_blocks` residual blocks at 1/4 resolution, two
transposed-conv upsamplings, 7x7 head.  UnetGenerator (pix2pix, Isola et al.
2017): `num_downs` 4x4 stride-2 encoder levels and a mirrored decoder whose every
level concatenates the encoder feature of the same resolution.
"""
import functools

import torch
import torch.nn as nn


def uses_bias(norm_layer):
    """Convolutions carry a bias unless a BatchNorm follows them (its shift makes a bias redundant)."""
    layer = norm_layer.func if isinstance(norm_layer, functools.partial) else norm_layer
    return layer is not nn.BatchNorm2d


class ResnetBlock(nn.Module):
    """x + (pad, conv3x3, norm, ReLU, [dropout], pad, conv3x3, norm)(x); shape (N, dim, H, W) kept."""

    def __init__(self, dim, padding_type, norm_layer, use_dropout, use_bias):
        super().__init__()
        layers = []
        for second in (False, True):
            padding = 0
            if padding_type == "reflect":
                layers.append(nn.ReflectionPad2d(1))
            elif padding_type == "replicate":
                layers.append(nn.ReplicationPad2d(1))
            elif padding_type == "zero":
                padding = 1
            else:
                raise NotImplementedError(f"padding [{padding_type}] is not implemented; use reflect | replicate | zero")
            layers += [nn.Conv2d(dim, dim, kernel_size=3, padding=padding, bias=use_bias), norm_layer(dim)]
            if not second:
                layers.append(nn.ReLU(True))
                if use_dropout:
                    layers.append(nn.Dropout(0.5))
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """(N, input_nc, H, W) -> (N, output_nc, H, W) in [-1, 1]; H and W divisible by 4."""

    def __init__(self, input_nc, output_nc, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False,
                 n_blocks=6, padding_type="reflect"):
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        use_bias = uses_bias(norm_layer)
        layers = [nn.ReflectionPad2d(3),
                  nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias),
                  norm_layer(ngf), nn.ReLU(True)]                                   # (N, ngf, H, W)
        n_downsampling = 2
        for i in range(n_downsampling):                                            # (N, 4 ngf, H/4, W/4)
            channels = ngf * 2 ** i
            layers += [nn.Conv2d(channels, channels * 2, kernel_size=3, stride=2, padding=1, bias=use_bias),
                       norm_layer(channels * 2), nn.ReLU(True)]
        channels = ngf * 2 ** n_downsampling
        for _ in range(n_blocks):
            layers.append(ResnetBlock(channels, padding_type, norm_layer, use_dropout, use_bias))
        for i in range(n_downsampling):                                            # back to (N, ngf, H, W)
            channels = ngf * 2 ** (n_downsampling - i)
            layers += [nn.ConvTranspose2d(channels, channels // 2, kernel_size=3, stride=2, padding=1,
                                          output_padding=1, bias=use_bias),
                       norm_layer(channels // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, input):
        return self.model(input)


class UnetGenerator(nn.Module):
    """(N, input_nc, H, W) -> (N, output_nc, H, W) in [-1, 1]; H, W divisible by 2**num_downs.

    Encoder level i (0 .. num_downs-1) outputs e[i] channels at 1/2**(i+1) size:
    ngf, 2 ngf, 4 ngf, then 8 ngf for all deeper levels.  Decoder level i takes
    the decoder output from below concatenated with encoder level i's output
    (the innermost takes the encoder output alone) and returns e[i-1] channels
    (output_nc at level 0).  Dropout (0.5) sits in the decoder levels 4 ..
    num_downs-2, the 8 ngf levels between ngf*8's first level and the bottleneck.
    """

    def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"a U-Net needs num_downs >= 5, got {num_downs}")
        use_bias = uses_bias(norm_layer)
        n = num_downs
        e = [ngf * min(2 ** i, 8) for i in range(n)]                  # encoder channels per level
        self.down = nn.ModuleList()
        self.up = nn.ModuleList()
        for i in range(n):
            outermost, innermost = i == 0, i == n - 1
            in_nc = input_nc if outermost else e[i - 1]
            layers = [] if outermost else [nn.LeakyReLU(0.2, True)]
            layers.append(nn.Conv2d(in_nc, e[i], kernel_size=4, stride=2, padding=1, bias=use_bias))
            if not (outermost or innermost):
                layers.append(norm_layer(e[i]))
            self.down.append(nn.Sequential(*layers))

            up_in = e[i] if innermost else 2 * e[i]
            up_out = output_nc if outermost else e[i - 1]
            layers = [nn.ReLU(True),
                      nn.ConvTranspose2d(up_in, up_out, kernel_size=4, stride=2, padding=1,
                                         bias=True if outermost else use_bias)]
            if outermost:
                layers.append(nn.Tanh())
            else:
                layers.append(norm_layer(up_out))
                if use_dropout and 4 <= i <= n - 2:
                    layers.append(nn.Dropout(0.5))
            self.up.append(nn.Sequential(*layers))

    def forward(self, input):
        skips = []
        h = input
        for down in self.down:                    # skips[i]: (N, e[i], H/2**(i+1), W/2**(i+1))
            h = down(h)
            skips.append(h)
        h = self.up[-1](skips[-1])                # bottleneck back up one level
        for i in range(len(self.up) - 2, -1, -1):
            h = self.up[i](torch.cat([skips[i], h], 1))
        return h                                  # (N, output_nc, H, W)
