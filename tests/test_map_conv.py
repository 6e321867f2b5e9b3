"""map_conv.conv_of_concatenation (Eq. 3's H([a, b]) without the concatenation) against H(torch.cat([a, b]))."""
import pytest
import torch
import torch.nn as nn

from mrff_plugin.networks.map_conv import conv_of_concatenation, is_one_map_conv


def parts(shapes, seed=0):
    torch.manual_seed(seed)
    return [torch.randn(*shape, requires_grad=True) for shape in shapes]


@pytest.mark.parametrize("kernel", [1, 3, 5])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_equals_the_convolution_of_the_concatenation_with_its_gradients(kernel, bias, layout):
    torch.manual_seed(1)
    H = nn.Conv2d(7, 1, kernel, padding=kernel // 2, bias=bias)
    a, b = parts([(2, 3, 9, 13), (2, 4, 9, 13)])
    assert is_one_map_conv(H)
    expected = H(torch.cat([a, b], dim=1))
    expected.square().sum().backward()
    grads = [t.grad.clone() for t in (a, b, H.weight)]
    for t in (a, b, H.weight):
        t.grad = None
    got = conv_of_concatenation(H, [a.contiguous(memory_format=layout), b.contiguous(memory_format=layout)])
    assert got.shape == expected.shape == (2, 1, 9, 13)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    got.square().sum().backward()
    for before, after in zip(grads, (a.grad, b.grad, H.weight.grad)):
        torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)


def test_the_papers_H_under_bf16_autocast_stays_within_bf16_rounding():
    torch.manual_seed(2)
    H = nn.Conv2d(64, 1, 3, padding=1)
    a, b = (torch.randn(2, 32, 64, 64).contiguous(memory_format=torch.channels_last) for _ in range(2))
    with torch.no_grad():
        expected = H(torch.cat([a, b], dim=1))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = conv_of_concatenation(H, [a, b])
    assert got.dtype == torch.bfloat16
    assert (got.float() - expected).abs().max() < 0.05 * expected.abs().max()


@pytest.mark.parametrize("H", [
    nn.Conv2d(6, 2, 3, padding=1),                         # two maps
    nn.Conv2d(6, 1, 3, padding=1, stride=2),               # strided
    nn.Conv2d(6, 1, 3, padding=2, dilation=2),             # dilated
    nn.Conv2d(6, 1, 3, padding=0),                         # not 'same'
    nn.Conv2d(6, 1, 3, padding=1, padding_mode="reflect"),
    nn.Sequential(nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 1, 3, padding=1)),  # the released H
], ids=["two maps", "strided", "dilated", "valid", "reflect", "released"])
def test_any_other_H_runs_as_written_on_the_concatenation(H):
    assert not is_one_map_conv(H)
    a, b = parts([(1, 2, 8, 8), (1, 4, 8, 8)])
    with torch.no_grad():
        torch.testing.assert_close(conv_of_concatenation(H, [a, b]), H(torch.cat([a, b], dim=1)))
