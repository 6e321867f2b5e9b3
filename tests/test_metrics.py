"""SSIM / PSNR (paper Table 3 protocol) agree with scikit-image on fixed images."""
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio as skimage_psnr
from skimage.metrics import structural_similarity as skimage_ssim

from mrff_plugin import metrics

torch.set_num_threads(1)
HOST = Path(__file__).resolve().parents[1] / "third_party" / "pix2pix_toolkit"


def reference_ssim(a, b):
    """scikit-image with the Table 3 settings (Gaussian 11 / sigma 1.5, K 0.01 / 0.03, 8-bit)."""
    return skimage_ssim(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                        data_range=255, K1=0.01, K2=0.03)


def fixed_pairs():
    """Grey (H, W) uint8 image pairs: noisy copy, smooth scene vs shifted, independent noise, odd size."""
    rng = np.random.default_rng(2021)
    y, x = np.mgrid[0:64, 0:80]
    smooth = (127 + 60 * np.sin(x / 7.0) + 50 * np.cos(y / 5.0)).clip(0, 255).astype(np.uint8)
    noisy = (smooth + rng.normal(0, 25, smooth.shape)).clip(0, 255).astype(np.uint8)
    shifted = np.roll(smooth, 3, axis=1)
    a, b = rng.integers(0, 256, (2, 37, 23), dtype=np.uint8)
    return [(noisy, smooth), (shifted, smooth), (a, b), (smooth[:11, :13], noisy[:11, :13])]


@pytest.mark.parametrize("index", range(4))
def test_ssim_and_psnr_match_scikit_image_on_grey_images(index):
    pred, target = fixed_pairs()[index]
    assert metrics.ssim(pred, target) == pytest.approx(reference_ssim(pred, target), abs=1e-6)
    assert metrics.psnr(pred, target) == pytest.approx(skimage_psnr(target, pred, data_range=255), abs=1e-3)


def test_values_are_the_expected_magnitudes():
    noisy, smooth = fixed_pairs()[0]
    assert 0.2 < metrics.ssim(noisy, smooth) < 0.9   # sigma-25 noise on a smooth image
    assert 19.0 < metrics.psnr(noisy, smooth) < 22.0  # 20 log10(255 / ~24) ~ 20.5 dB after clipping


def test_colour_images_are_scored_as_pillow_luma_grey(tmp_path):
    rng = np.random.default_rng(7)
    pred, target = rng.integers(0, 256, (2, 30, 40, 3), dtype=np.uint8)
    grey_pred = np.asarray(Image.fromarray(pred).convert("L"))
    grey_target = np.asarray(Image.fromarray(target).convert("L"))
    Image.fromarray(pred).save(tmp_path / "pred.png")
    Image.fromarray(target).save(tmp_path / "target.png")
    expected_ssim = reference_ssim(grey_pred, grey_target)
    for p, t in ((pred, target), (tmp_path / "pred.png", tmp_path / "target.png"),
                 (Image.fromarray(pred), Image.fromarray(target))):
        assert metrics.ssim(p, t) == pytest.approx(expected_ssim, abs=1e-6)
        assert metrics.psnr(p, t) == pytest.approx(skimage_psnr(grey_target, grey_pred, data_range=255), abs=1e-3)


def test_luma_rule_equals_pillow_exactly():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (17, 19, 3), dtype=np.uint8)
    ours = metrics.luma_u8(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0].numpy()
    np.testing.assert_array_equal(ours, np.asarray(Image.fromarray(rgb).convert("L")))


def test_identical_images_give_ssim_one_and_infinite_psnr():
    smooth = fixed_pairs()[0][1]
    assert metrics.ssim(smooth, smooth) == pytest.approx(1.0, abs=1e-12)
    assert math.isinf(metrics.psnr(smooth, smooth))


def test_sixteen_bit_grey_is_scaled_not_clipped():
    target = fixed_pairs()[0][1]
    wide = target.astype(np.uint16) * 257          # the same picture stored in 16 bit
    assert metrics.ssim(wide, target) == pytest.approx(1.0, abs=1e-12)
    assert math.isinf(metrics.psnr(wide, target))


def test_batched_scores_equal_single_image_scores():
    pairs = fixed_pairs()[:2]
    preds = torch.stack([torch.from_numpy(p) for p, _ in pairs])
    targets = torch.stack([torch.from_numpy(t) for _, t in pairs])
    ssim, psnr = metrics.scores_u8(preds, targets)
    assert ssim.shape == psnr.shape == (2,)
    for i, (p, t) in enumerate(pairs):
        assert ssim[i].item() == pytest.approx(reference_ssim(p, t), abs=1e-6)
        assert psnr[i].item() == pytest.approx(skimage_psnr(t, p, data_range=255), abs=1e-3)


@pytest.mark.parametrize("channels", [3, 1])
def test_tensor_scores_equal_scores_of_the_images_the_host_saves(tmp_path, channels):
    """Validation scores on [-1, 1] tensors equal `mrff evaluate` on the files test.py writes."""
    sys.path.insert(0, str(HOST))
    try:
        from util.util import save_image, tensor2im
    finally:
        sys.path.remove(str(HOST))
    torch.manual_seed(channels)
    real = torch.rand(2, channels, 24, 24) * 2 - 1
    fake = real + 0.2 * torch.randn_like(real)           # a little outside [-1, 1] too
    ssim, psnr = metrics.tensor_scores(fake, real)
    for i in range(2):
        for name, t in (("fake", fake[i:i + 1]), ("real", real[i:i + 1])):
            save_image(tensor2im(t), str(tmp_path / f"{i}_{name}.png"))
        saved = (tmp_path / f"{i}_fake.png", tmp_path / f"{i}_real.png")
        assert ssim[i].item() == pytest.approx(metrics.ssim(*saved), abs=1e-9)
        assert psnr[i].item() == pytest.approx(metrics.psnr(*saved), abs=1e-9)


def test_single_channel_tensors_are_scored_directly():
    torch.manual_seed(1)
    real = torch.rand(1, 1, 16, 16) * 2 - 1
    ssim, psnr = metrics.tensor_scores(real, real)
    assert ssim.item() == pytest.approx(1.0) and math.isinf(psnr.item())


def test_images_smaller_than_the_window_and_size_mismatches_are_refused():
    a = np.zeros((10, 30), np.uint8)
    with pytest.raises(ValueError, match="at least 11x11"):
        metrics.ssim(a, a)
    with pytest.raises(ValueError, match="sizes differ"):
        metrics.ssim(np.zeros((20, 30), np.uint8), np.zeros((30, 20), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        metrics.ssim(np.zeros((20, 20)), np.zeros((20, 20)))


# ---------------------------------------------------------------- the authors' protocol (--protocol released)

def colour_pairs():
    """(H, W, 3) uint8 pairs whose channels differ: noisy copy, channel-shifted copy, independent noise."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:48, 0:56]
    scene = np.stack([127 + 60 * np.sin(x / (5.0 + c)) + 40 * np.cos(y / (4.0 + c)) for c in range(3)], -1)
    scene = scene.clip(0, 255).astype(np.uint8)
    noisy = (scene + rng.normal(0, [10, 25, 40], scene.shape)).clip(0, 255).astype(np.uint8)
    swapped = scene[:, :, ::-1].copy()
    a, b = rng.integers(0, 256, (2, 21, 33, 3), dtype=np.uint8)
    return [(noisy, scene), (swapped, scene), (a, b), (scene[:7, :9], noisy[:7, :9])]


@pytest.mark.parametrize("index", range(4))
def test_released_protocol_matches_scikit_image_channel_axis_defaults(index):
    pred, target = colour_pairs()[index]
    ssim, psnr = metrics.scores_released_u8(torch.from_numpy(pred)[None], torch.from_numpy(target)[None])
    # scikit-image defaults: uniform 7x7 window, sample covariance, K 0.01 / 0.03, data range from uint8
    assert float(ssim[0]) == pytest.approx(skimage_ssim(pred, target, channel_axis=2), abs=1e-6)
    assert float(psnr[0]) == pytest.approx(skimage_psnr(target, pred), abs=1e-4)


def test_released_protocol_is_not_the_grey_one_and_takes_both_layouts():
    pred, target = colour_pairs()[0]
    nhwc = metrics.scores_released_u8(torch.from_numpy(pred)[None], torch.from_numpy(target)[None])
    nchw = metrics.scores_released_u8(torch.from_numpy(pred).permute(2, 0, 1)[None],
                                      torch.from_numpy(target).permute(2, 0, 1)[None])
    torch.testing.assert_close(nhwc, nchw)
    assert abs(float(nhwc[0][0]) - metrics.ssim(pred, target)) > 1e-2   # a different protocol, not a relabel
    with pytest.raises(ValueError, match="at least 7x7"):
        metrics.scores_released_u8(torch.zeros(1, 6, 8, 3), torch.zeros(1, 6, 8, 3))
    with pytest.raises(ValueError, match="3-channel"):
        metrics.scores_released_u8(torch.zeros(1, 8, 8), torch.zeros(1, 8, 8))


def test_rgb_u8_repeats_grey_files_in_three_channels_as_opencv_reads_them(tmp_path):
    grey = np.arange(12 * 10, dtype=np.uint8).reshape(10, 12)
    Image.fromarray(grey).save(tmp_path / "grey.png")
    rgb = metrics.rgb_u8(tmp_path / "grey.png")
    assert rgb.shape == (10, 12, 3) and all(np.array_equal(rgb[:, :, c], grey) for c in range(3))


@pytest.mark.parametrize("index", range(3))
def test_detail_score_matches_sewar_scc_on_fixed_images(index):
    """The detail score is torchmetrics' SCC; torchmetrics tests it against sewar's `scc`, the
    reference implementation, and so does this, on the fixed pairs (default filter, 8x8 windows)."""
    from sewar.full_ref import scc as sewar_scc
    pred, target = fixed_pairs()[index]
    ours = float(metrics.detail_u8(torch.from_numpy(pred)[None], torch.from_numpy(target)[None])[0])
    assert ours == pytest.approx(sewar_scc(target.astype(np.float64), pred.astype(np.float64)), abs=1e-5)


def test_detail_score_is_one_for_the_same_fine_structure_and_ignores_smooth_changes():
    pred, target = fixed_pairs()[0]
    noisy, smooth = (torch.from_numpy(a.astype(np.int64))[None] for a in (pred, target))
    assert float(metrics.detail_u8(noisy, noisy)[0]) == pytest.approx(1.0)
    # a brightness offset and a linear ramp leave the Laplacian high-pass (nearly) unchanged ...
    y, x = np.mgrid[0:64, 0:80]
    ramped = (noisy + 40 + torch.from_numpy((x // 8).astype(np.int64))[None]).clamp(0, 255)
    assert float(metrics.detail_u8(ramped, noisy)[0]) > 0.95
    # ... while SSIM drops (0.90); and the smooth scene without the noise has none of its fine structure
    assert metrics.ssim(ramped[0].numpy().astype(np.uint8), pred) < 0.92
    assert abs(float(metrics.detail_u8(smooth, noisy)[0])) < 0.1
    # batched, and tensors in [-1, 1] are quantised as tensor_scores does
    fake = noisy[None].float() / 127.5 - 1.0
    assert metrics.tensor_detail(fake, fake).tolist() == pytest.approx([1.0])


@pytest.mark.parametrize("index", range(4))
def test_both_ssim_protocols_equal_torchmetrics_full_map_over_the_interior(index):
    """A second independent oracle: torchmetrics' 2-D-convolution SSIM map, averaged over the same interior
    (its padding never reaches it), for the Table-3 settings and for the released ones (sample covariance as
    C2 scaled by 48/49, module docstring)."""
    from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim
    pred, target = (torch.from_numpy(np.ascontiguousarray(a)).double()[None, None] for a in fixed_pairs()[index])
    _, full = tm_ssim(pred, target, gaussian_kernel=True, sigma=1.5, kernel_size=11, data_range=255.0,
                      k1=0.01, k2=0.03, reduction="none", return_full_image=True)
    ours, _ = metrics.scores_u8(pred, target)
    assert float(ours[0]) == pytest.approx(float(full[..., 5:-5, 5:-5].mean()), abs=1e-9)
    pred3, target3 = (torch.from_numpy(np.ascontiguousarray(a)).double()[None] for a in colour_pairs()[index])
    pred3, target3 = pred3.permute(0, 3, 1, 2), target3.permute(0, 3, 1, 2)
    _, full = tm_ssim(pred3, target3, gaussian_kernel=False, kernel_size=7, data_range=255.0,
                      k1=0.01, k2=0.03 * (48 / 49) ** 0.5, reduction="none", return_full_image=True)
    ours, _ = metrics.scores_released_u8(pred3, target3)
    assert float(ours[0]) == pytest.approx(float(full[..., 3:-3, 3:-3].mean()), abs=1e-9)


def test_scores_of_tensors_that_need_no_grad_or_live_elsewhere_come_back_on_the_cpu():
    """SSIM's filters run on the CPU: tensors that require grad (or sit on a GPU, where there is one) are
    detached and moved first, and the scores equal those of the plain CPU tensors."""
    pred, target = (torch.from_numpy(np.ascontiguousarray(a)).double() for a in fixed_pairs()[0])
    want = metrics.scores_u8(pred[None], target[None])
    got = metrics.scores_u8(pred[None].requires_grad_(), target[None])
    assert torch.equal(got[0], want[0]) and got[0].device.type == "cpu"
    if torch.cuda.is_available():
        on_gpu = metrics.scores_u8(pred[None].cuda(), target[None].cuda())
        assert torch.equal(on_gpu[0], want[0])
