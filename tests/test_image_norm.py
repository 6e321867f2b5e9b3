"""ImageStatisticsNorm (generate/image_norm.py) against the host's BatchNorm2d in train mode, one image at a time.

The oracle is torch's own BatchNorm2d in training mode at batch 1 (what `test.py` runs), for every image of a
batch and in either memory layout; the statistics recorded for tiles are checked against torch.var_mean.
"""
import copy

import pytest
import torch
import torch.nn as nn

from mrff_plugin.generate.image_norm import GROUP_NORM_MIN_PIXELS, ImageStatisticsNorm, whole_image_statistics

# Both ways ImageStatisticsNorm computes on a CPU: image by image under GROUP_NORM_MIN_PIXELS, group norm above.
SIZES = [(20, 28), (40, 36)]


def trained_norm(channels=6, seed=0):
    """A BatchNorm2d with non-trivial affine weights and running statistics (the latter must not be used)."""
    torch.manual_seed(seed)
    norm = nn.BatchNorm2d(channels)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 2.0)
        norm.bias.normal_()
        norm.running_mean.normal_()
        norm.running_var.uniform_(0.5, 3.0)
    return norm


def train_mode_one_at_a_time(norm, x):
    """What the host's test.py computes: each image alone through the BatchNorm in train mode."""
    outputs = []
    for image in x:
        layer = copy.deepcopy(norm).train()
        with torch.no_grad():
            outputs.append(layer(image[None]))
    return torch.cat(outputs)


def test_the_sizes_cover_both_ways():
    assert [h * w < GROUP_NORM_MIN_PIXELS for h, w in SIZES] == [True, False]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_each_image_of_a_batch_is_normalised_as_test_py_normalises_it_alone(layout, size):
    norm = trained_norm()
    x = (torch.randn(3, 6, *size) * torch.tensor([0.5, 2.0, 5.0])[:, None, None, None] + 3.0)
    expected = train_mode_one_at_a_time(norm, x)
    layer = ImageStatisticsNorm(norm)
    with torch.no_grad():
        got = layer(x.contiguous(memory_format=layout))
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-4), (got - expected).abs().max()
    assert got.is_contiguous(memory_format=layout)
    # and not what eval mode (running statistics) would give
    assert not torch.allclose(norm.eval()(x), expected, atol=1e-2)


@pytest.mark.parametrize("size", [(33, 17), (33, 41)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_recorded_statistics_are_each_image_s_per_channel_mean_and_biased_variance(dtype, size):
    """What tiles are given (whole_image_statistics) against torch.var_mean over H x W in float64."""
    norm = trained_norm(channels=4, seed=1)
    layer = ImageStatisticsNorm(norm)
    x = (torch.randn(2, 4, *size) * 3 + 1).to(dtype)
    layer.recording = True
    with torch.no_grad():
        layer(x.contiguous(memory_format=torch.channels_last))
    mean, var = layer.recorded
    expected_var, expected_mean = torch.var_mean(x.double(), dim=(2, 3), correction=0)
    assert mean.dtype == var.dtype == torch.float32 and mean.shape == (2, 4)
    assert torch.allclose(mean.double(), expected_mean, atol=1e-5)
    assert torch.allclose(var.double(), expected_var, rtol=1e-4, atol=1e-5)


def test_tiles_within_whole_image_statistics_use_the_whole_image_statistics():
    norm = trained_norm(channels=4, seed=2)
    net = nn.Sequential(ImageStatisticsNorm(norm))
    image = torch.randn(1, 4, 32, 32)
    image[..., :16] += 5.0                          # the left half is much brighter than the right
    with torch.no_grad():
        whole = net(image)
        with whole_image_statistics(net, net, image):
            left = net(image[..., :16])             # a "tile": normalised with the whole image's statistics
        own = net(image[..., :16])                  # the same tile with its own statistics
    assert torch.allclose(left, whole[..., :16], atol=1e-5)
    assert not torch.allclose(own, whole[..., :16], atol=1e-1)


@pytest.mark.parametrize("size", SIZES)
def test_bf16_batches_are_normalised_within_bf16_rounding_of_test_py(size):
    """`mrff generate --amp bf16` feeds bf16 maps: each image against the float32 oracle on the same values."""
    norm = trained_norm(channels=8, seed=3)
    x = (torch.randn(4, 8, *size) * 2 + 1).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    expected = train_mode_one_at_a_time(norm, x.float())
    with torch.no_grad():
        got = ImageStatisticsNorm(norm)(x)
    assert got.dtype == torch.bfloat16
    assert torch.allclose(got.float(), expected, atol=0.05, rtol=0.01), (got.float() - expected).abs().max()
