"""How the quality studies score a generator: its outputs, made as a user's command makes them, and their metrics.

Outputs, in one of these modes:
* "test.py": as the host's test.py runs without --eval -- train mode, one image at a time, so BatchNorm
  normalises with the image's own statistics and dropout is on (its draws fixed by EVAL_SEED); the
  running statistics are put back afterwards, so scoring does not change the model;
* "eval" (version 1): eval mode of the network as trained (running statistics, no dropout: test.py --eval);
* "generate" / "running" (version 2): as `mrff generate` prepares the network (generate.network.
  prepare_for_inference: no dropout; each image's own statistics, or the running ones folded).
Version 1 scores fixed-size centre crops in batches (`crop_outputs`), version 2 whole images padded by
reflection to a multiple and cropped back (`whole_outputs`).

Metrics on 8-bit grey images (mrff_plugin.metrics): SSIM and PSNR (the Table-3 protocol), the detail score
SCC, and (version 2) the released code's SSIM / PSNR.
"""
import contextlib
import copy

import numpy as np
import torch

from benchmarks.quality.data import ORACLE_DROPS, centre_crop, pair_to_tensors, to_tensors
from mrff_plugin.generate.engine import pad_to_multiple
from mrff_plugin.generate.network import prepare_for_inference
from mrff_plugin.metrics import (DATA_RANGE, RELEASED_WINDOW, SSIM_K1, SSIM_K2, SSIM_SIGMA, tensor_detail,
                                 tensor_scores, tensor_to_u8)

EVAL_SEED = 1234          # dropout draws while scoring (the same for every evaluation)
MODES = ("generate", "test.py", "running")   # version 2: mrff generate's default, test.py, test.py --eval


@contextlib.contextmanager
def scoring(G, device):
    """No gradients, dropout drawn from EVAL_SEED (the caller's random state untouched); afterwards G's
    buffers (BatchNorm's running statistics) are as before and G is back in train mode."""
    buffers = {name: b.detach().clone() for name, b in G.named_buffers()}
    with torch.no_grad(), torch.random.fork_rng(devices=[] if device.type == "cpu" else [device]):
        torch.manual_seed(EVAL_SEED)
        yield
    with torch.no_grad():
        for name, b in G.named_buffers():
            b.copy_(buffers[name])
    G.train(True)


def crop_outputs(G, images, mode, device, batch=10, with_weights=False):
    """G's outputs (N, 1, H, W) float32 on the CPU for inputs (N, 3, H, W), mode "test.py" (batch 1) or
    "eval" (batches of `batch`); with_weights: also the fusion's attention maps w1..w4, (N, 4, H, W)."""
    outputs, weights = [], []
    with scoring(G, device):
        G.train(mode == "test.py")
        step = 1 if mode == "test.py" else batch
        for k in range(0, len(images), step):
            x = images[k:k + step].to(device).contiguous(memory_format=torch.channels_last)
            y = G(x, with_weights=True) if with_weights else (G(x),)
            outputs.append(y[0].float().cpu())
            weights.append(y[-1].float().cpu())
    return (torch.cat(outputs), torch.cat(weights)) if with_weights else torch.cat(outputs)


def whole_outputs(G, pairs, mode, device, pad_multiple):
    """G's output for each pair's visible image, whole: [(1, 1, H, W) float32 on the CPU], mode one of MODES;
    each image padded by reflection to `pad_multiple` and cropped back."""
    if mode in ("generate", "running"):
        net = prepare_for_inference(copy.deepcopy(G).float(), device, "image" if mode == "generate" else "running")
    else:
        net = G
    results = []
    with scoring(G, device):
        if mode == "test.py":
            G.train(True)
        for visible, _ in pairs:
            x, (height, width) = pad_to_multiple(pair_to_tensors(visible, np.zeros((1, 1), np.uint8))[0],
                                                 pad_multiple)
            y = net(x.to(device).contiguous(memory_format=torch.channels_last))
            results.append(y[..., :height, :width].float().cpu())
    return results


def batch_scores(fake, real):
    """{'ssim', 'psnr', 'scc'}: per-image lists for generator outputs vs real images (N, 1, H, W) in [-1, 1]."""
    ssim, psnr = tensor_scores(fake, real)
    return {"ssim": ssim.tolist(), "psnr": psnr.tolist(), "scc": tensor_detail(fake, real).tolist()}


def pair_scores(fakes, pairs):
    """{'ssim', 'psnr', 'scc', 'ssim_released', 'psnr_released'}: per-image lists of outputs of any size against
    the pairs' LWIR, on the 8-bit images as the host saves them (metrics.tensor_to_u8).

    SSIM (both protocols) is computed by scikit-image with mrff_plugin.metrics' settings -- the oracle that
    tests/test_metrics.py holds those metrics to within 1e-6 -- because torchmetrics' float64 SSIM takes about
    1 s per whole RoadScene image on this CPU (skimage: 0.013 s); tests/test_quality_v2.py checks that every
    value here equals mrff_plugin.metrics' on fixed images.  The grey output's three channels are equal, so the
    released protocol's mean over channels is its value on one; so is its PSNR.  SCC is metrics.tensor_detail."""
    from skimage.metrics import structural_similarity
    out = {k: [] for k in ("ssim", "psnr", "scc", "ssim_released", "psnr_released")}
    for fake, (_, lwir) in zip(fakes, pairs):
        real = pair_to_tensors(np.zeros((1, 1, 3), np.uint8), lwir)[1]
        f, r = (tensor_to_u8(t)[0, 0].double().numpy() for t in (fake, real))
        out["ssim"].append(float(structural_similarity(
            f, r, gaussian_weights=True, sigma=SSIM_SIGMA, use_sample_covariance=False, data_range=DATA_RANGE,
            K1=SSIM_K1, K2=SSIM_K2)))
        mse = float(np.mean((f - r) ** 2))
        out["psnr"].append(float("inf") if mse == 0 else float(10 * np.log10(DATA_RANGE ** 2 / mse)))
        out["scc"].append(float(tensor_detail(fake, real)[0]))
        out["ssim_released"].append(float(structural_similarity(f, r, win_size=RELEASED_WINDOW, data_range=DATA_RANGE,
                                                                 K1=SSIM_K1, K2=SSIM_K2)))
        out["psnr_released"].append(out["psnr"][-1])
    return out


def means(per_image):
    """{'<metric>_mean': the metric's mean over the images} of per-image score lists."""
    return {f"{name}_mean": float(np.mean(values)) for name, values in per_image.items()}


def oracle_ceiling(data, size):
    """Scores of the privileged oracle (renderer without unobservable terms) on the synthetic held-out pairs,
    centre-cropped to `size`, one entry per data.ORACLE_DROPS."""
    real = to_tensors(np.zeros((1, 1, 1, 3), np.uint8), centre_crop(data["test_B"], size))[1]
    ceiling = {}
    for drop in ORACLE_DROPS:
        oracle = torch.from_numpy(centre_crop(data["oracle_" + "+".join(drop)], size).copy())
        ceiling["without " + " + ".join(drop)] = means(batch_scores(oracle[:, None].float() / 127.5 - 1.0, real))
    return ceiling


def inception_features(network, grey_u8):
    """(N, 2048) Inception features (mrff_plugin.inception) of 8-bit grey images [(H, W)] of any size."""
    from mrff_plugin import inception
    return np.concatenate([inception.features(network, torch.as_tensor(image)[None]).numpy() for image in grey_u8])


def lwir_features(network, pairs):
    """The Inception features of the pairs' real LWIR, as read (8-bit, as `mrff evaluate` reads the real files)."""
    return inception_features(network, [np.array(lwir) for _, lwir in pairs])


def fake_features(network, fakes):
    """The Inception features of outputs [(1, 1, H, W) in [-1, 1]], on the PNGs the host would save
    (metrics.tensor_to_u8)."""
    return inception_features(network, [tensor_to_u8(output)[0, 0] for output in fakes])


def set_scores_of(fake, real):
    """{'fid', 'kid_mean', 'kid_std', 'kid_subset_size', 'images'} of two (N, 2048) feature sets, as `mrff evaluate`
    computes them (mrff_plugin.metrics_fid).  FID is biased at few images (metrics_fid): compare it only between
    sets of one size."""
    from mrff_plugin.metrics_fid import fid, kid, kid_subset_size
    kid_mean, kid_std = kid(fake, real)
    return {"fid": fid(fake, real), "kid_mean": kid_mean, "kid_std": kid_std,
            "kid_subset_size": kid_subset_size(len(fake), len(real)), "images": len(fake)}


def set_scores(fakes, pairs, network, real_features=None):
    """set_scores_of the outputs [(1, 1, H, W) in [-1, 1]] against the pairs' LWIR (the real files as read),
    through the Inception network `network` (mrff_plugin.inception.load()); `real_features` (lwir_features)
    are computed when not given."""
    real = lwir_features(network, pairs) if real_features is None else real_features
    return set_scores_of(fake_features(network, fakes), real)
