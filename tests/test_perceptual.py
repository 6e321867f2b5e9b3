"""LPIPS and DISTS: backbone files are found (torchvision's cache or --backbone_weights), checked and used;
without them one line says which file goes where, and nothing is downloaded."""
import hashlib
import os
import socket

import numpy as np
import pytest
import torch

from mrff_plugin import metrics_perceptual as mp


@pytest.fixture
def offline(monkeypatch):
    """No download can happen: torch.hub's fetcher and every socket connection raise."""
    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    return folder


def random_backbone(arch, path, features_only=False, seed=0):
    """A file of torchvision's `arch` layout with random tensors; returns its sha256."""
    import torchvision
    torch.manual_seed(seed)
    state = getattr(torchvision.models, arch)(weights=None).state_dict()
    if features_only:
        state = {k: v for k, v in state.items() if k.startswith("features.")}
    torch.save(state, path)
    return hashlib.sha256(path.read_bytes()).hexdigest(), state


def scenes(count=2, size=64, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    return np.stack([(128 + 90 * np.sin(x / (4 + i)) * np.cos(y / 7) + rng.normal(0, 5, (size, size)))
                     .clip(0, 255).astype(np.uint8) for i in range(count)])


def test_cache_names_are_torchvisions():
    from torchvision.models import AlexNet_Weights, SqueezeNet1_1_Weights, VGG16_Weights
    assert mp.BACKBONE_FILES == {"alexnet": os.path.basename(AlexNet_Weights.IMAGENET1K_V1.url),
                                 "vgg16": os.path.basename(VGG16_Weights.IMAGENET1K_V1.url),
                                 "squeezenet1_1": os.path.basename(SqueezeNet1_1_Weights.IMAGENET1K_V1.url)}
    assert mp.hash_prefix("alexnet") == "7be5be79"


def test_without_the_files_one_line_each_and_no_download(torch_home, offline):
    perceptual = mp.Perceptual()
    assert perceptual.networks == {}
    assert perceptual.notes == [
        f"LPIPS left out: it needs torchvision's ImageNet alexnet weights; put alexnet-owt-7be5be79.pth into "
        f"{torch_home}/ or pass --backbone_weights PATH.",
        f"DISTS left out: it needs torchvision's ImageNet vgg16 weights; put vgg16-397923af.pth into "
        f"{torch_home}/ or pass --backbone_weights PATH."]
    assert perceptual.scores(scenes(), scenes(seed=1)) == {}


def test_lpips_from_the_cache_equals_torchmetrics_reading_the_same_file(torch_home, offline, monkeypatch):
    """A random SqueezeNet under torchvision's cache name: found, hash-checked (prefix patched to the random
    file's), and scored exactly as torchmetrics scores with the same file (torchvision reads it from the cache)."""
    path = torch_home / mp.BACKBONE_FILES["squeezenet1_1"]
    digest, state = random_backbone("squeezenet1_1", path)
    real_prefix = mp.hash_prefix
    monkeypatch.setattr(mp, "hash_prefix", lambda arch: digest[:8] if arch == "squeezenet1_1" else real_prefix(arch))
    perceptual = mp.Perceptual(lpips_net="squeeze")
    assert list(perceptual.networks) == ["lpips"] and len(perceptual.notes) == 1 and "DISTS" in perceptual.notes[0]
    first_conv = getattr(perceptual.networks["lpips"].net.slices[0], "0").weight
    assert torch.equal(first_conv, state["features.0.weight"])
    fake, real = scenes(seed=2), scenes(seed=3)
    ours = perceptual.scores(fake, real)["lpips"]
    from torchmetrics.functional.image import learned_perceptual_image_patch_similarity as lpips
    to_pm1 = lambda a: torch.from_numpy(a).float()[:, None].expand(-1, 3, -1, -1) / 127.5 - 1   # noqa: E731
    theirs = lpips(to_pm1(fake), to_pm1(real), net_type="squeeze", reduction="none")
    assert torch.allclose(ours.float(), theirs.reshape(-1), atol=1e-6)
    assert perceptual.scores(real, real)["lpips"].abs().max() < 1e-6


def test_backbone_weights_flag_is_recognised_by_hash_and_used_for_dists(tmp_path, torch_home, offline, monkeypatch):
    path = tmp_path / "my_vgg.pth"
    digest, state = random_backbone("vgg16", path, features_only=True)
    real_prefix = mp.hash_prefix
    monkeypatch.setattr(mp, "hash_prefix", lambda arch: digest[:8] if arch == "vgg16" else real_prefix(arch))
    perceptual = mp.Perceptual(backbone_weights=[str(path)])
    assert set(perceptual.networks) == {"dists"} and "LPIPS left out" in perceptual.notes[0]
    dists = perceptual.networks["dists"]
    assert torch.equal(getattr(dists.stage5, "28").weight, state["features.28.weight"])
    assert all(not p.is_meta for p in dists.parameters())
    fake, real = scenes(seed=4), scenes(seed=5)
    scores = perceptual.scores(fake, real)["dists"]
    assert scores.shape == (2,) and torch.isfinite(scores).all()
    assert perceptual.scores(real, real)["dists"].abs().max() < 1e-5


def test_wrong_files_are_refused_by_name(tmp_path, torch_home):
    stranger = tmp_path / "weights.pth"
    stranger.write_bytes(b"not a backbone")
    with pytest.raises(mp.BackboneError, match=r"weights.pth is none of torchvision's alexnet-owt-7be5be79.pth"):
        mp.Perceptual(backbone_weights=[str(stranger)])
    with pytest.raises(mp.BackboneError, match="does not exist"):
        mp.Perceptual(backbone_weights=[str(tmp_path / "nope.pth")])
    (torch_home / mp.BACKBONE_FILES["alexnet"]).write_bytes(b"truncated")
    with pytest.raises(mp.BackboneError, match="does not match the hash in its name"):
        mp.Perceptual()


REAL_CACHE = [mp.find_backbone(a) if os.path.isfile(os.path.join(mp.cache_folder(), mp.BACKBONE_FILES[a])) else None
              for a in ("alexnet", "vgg16")]


@pytest.mark.skipif(None in REAL_CACHE, reason="torchvision's alexnet and vgg16 ImageNet weights are not in "
                                               "the torch cache (they are the user's to supply)")
def test_blur_and_noise_raise_lpips_and_dists_monotonically():
    from scipy.ndimage import gaussian_filter
    perceptual = mp.Perceptual()
    real = scenes(3, size=96, seed=6)
    rng = np.random.default_rng(0)
    for degrade in (lambda a, s: np.stack([gaussian_filter(i.astype(float), s) for i in a]).round(),
                    lambda a, s: a + rng.normal(0, 10 * s, a.shape)):
        means = {"lpips": [], "dists": []}
        for level in (0.5, 1.5, 4.0):
            fake = degrade(real, level).clip(0, 255).astype(np.uint8)
            for name, values in perceptual.scores(fake, real).items():
                means[name].append(float(values.mean()))
        for name, values in means.items():
            assert values == sorted(values), (name, values)
