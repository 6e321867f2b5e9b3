"""The toolkit's discriminators: a PatchGAN (n stride-2 layers) and a 1x1 per-pixel classifier.

Both return raw logits (no sigmoid): the GAN loss picks the objective.
"""
import torch.nn as nn

from .generators import uses_bias


class NLayerDiscriminator(nn.Module):
    """PatchGAN: (N, input_nc, H, W) -> (N, 1, h, w) real/fake logits, one per overlapping patch.

    n_layers = 3 gives the 70x70 receptive field of pix2pix ('basic'): conv4x4 s2
    to ndf, then (n_layers - 1) conv4x4 s2 doubling channels (capped at 8 ndf),
    one conv4x4 s1, and a conv4x4 s1 to 1 channel.
    """

    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d):
        super().__init__()
        use_bias = uses_bias(norm_layer)
        layers = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        channels = ndf
        for n in range(1, n_layers + 1):
            stride = 2 if n < n_layers else 1
            next_channels = ndf * min(2 ** n, 8)
            layers += [nn.Conv2d(channels, next_channels, kernel_size=4, stride=stride, padding=1, bias=use_bias),
                       norm_layer(next_channels), nn.LeakyReLU(0.2, True)]
            channels = next_channels
        layers.append(nn.Conv2d(channels, 1, kernel_size=4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, input):
        return self.model(input)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN: (N, input_nc, H, W) -> (N, 1, H, W) logits, each pixel judged alone."""

    def __init__(self, input_nc, ndf=64, norm_layer=nn.BatchNorm2d):
        super().__init__()
        use_bias = uses_bias(norm_layer)
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, kernel_size=1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, kernel_size=1, bias=use_bias), norm_layer(ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, kernel_size=1, bias=use_bias))

    def forward(self, input):
        return self.net(input)
