"""LPIPS and DISTS of generated vs. real images, on ImageNet backbones the user supplies.

* LPIPS (Zhang et al. 2018): distances of unit-normalised backbone features, weighted per channel by
  learned linear heads and averaged over space and layers; 0 for identical images, higher is worse.
  The heads ship with torchmetrics (`lpips_models/{alex,vgg,squeeze}.pth`); the backbone (AlexNet by
  default, the LPIPS authors' choice for a metric) does not.
* DISTS (Ding et al. 2020): structure and texture similarity of VGG16 features with learned weights
  (torchmetrics' `dists_models/weights.pt`); 0 for identical images, higher is worse.

The backbones are torchvision's ImageNet weights.  No package here ships them, and mrff never
downloads anything: they are read from torchvision's cache, `$TORCH_HOME/hub/checkpoints/<file>`
(`torch.hub.get_dir()`), under torchvision's own file name, or from a path the user gives
(`mrff evaluate --backbone_weights PATH`).  Either way the file's sha256 must begin with the hash in
torchvision's name for it (as torch.hub checks a download).  Without the file the metric is left out,
with one line saying which file to put where; it is never computed on random weights.

Input convention: 8-bit grey repeated to 3 channels at the image's own size (no resize); LPIPS takes
v / 127.5 - 1 (range [-1, 1]), DISTS v / 255 (range [0, 1], it applies ImageNet's mean and std itself).
"""
import os
import re
from unittest import mock

import torch

from .errors import MrffError
from .file_hash import sha256_of

# torchvision's cache names of its ImageNet weights (torchvision.models.<Arch>_Weights.IMAGENET1K_V1.url);
# the hex after the last '-' is the start of the file's sha256 (torch.hub.HASH_REGEX)
BACKBONE_FILES = {
    "alexnet": "alexnet-owt-7be5be79.pth",
    "vgg16": "vgg16-397923af.pth",
    "squeezenet1_1": "squeezenet1_1-b8a52dc0.pth",
}
LPIPS_BACKBONES = {"alex": "alexnet", "vgg": "vgg16", "squeeze": "squeezenet1_1"}   # torchmetrics' net name -> arch
LPIPS_DEFAULT = "alex"
DISTS_BACKBONE = "vgg16"
HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")


class BackboneError(MrffError, ValueError):
    """A backbone file that is not the one its name or the flag claims; the message names it and the fix."""


def cache_folder():
    """Where torchvision keeps downloaded weights: $TORCH_HOME/hub/checkpoints."""
    return os.path.join(torch.hub.get_dir(), "checkpoints")


def hash_prefix(arch):
    return HASH_IN_NAME.search(BACKBONE_FILES[arch]).group(1)


def identify(paths):
    """{arch: path} of the files given with --backbone_weights, each recognised by its sha256; BackboneError
    for a file that is none of BACKBONE_FILES."""
    found = {}
    for path in paths:
        if not os.path.isfile(path):
            raise BackboneError(f"--backbone_weights {path} does not exist; give a file such as "
                                f"{cache_folder()}/{BACKBONE_FILES['alexnet']}.")
        digest = sha256_of(path)
        arch = next((a for a in BACKBONE_FILES if digest.startswith(hash_prefix(a))), None)
        if arch is None:
            raise BackboneError(f"--backbone_weights {path} is none of torchvision's "
                                f"{', '.join(BACKBONE_FILES.values())} (its sha256 starts {digest[:8]}); "
                                f"give one of those files.")
        found[arch] = path
    return found


def find_backbone(arch, given=None):
    """Path of the checked weights file of `arch` (from `given`, {arch: path}, or torchvision's cache), or None."""
    if given and arch in given:
        return given[arch]
    cached = os.path.join(cache_folder(), BACKBONE_FILES[arch])
    if not os.path.isfile(cached):
        return None
    if not sha256_of(cached).startswith(hash_prefix(arch)):
        raise BackboneError(f"{cached} does not match the hash in its name; replace it with torchvision's "
                            f"{BACKBONE_FILES[arch]}.")
    return cached


def missing_line(metric, arch):
    """The one line printed when a metric's backbone is not there."""
    return (f"{metric} left out: it needs torchvision's ImageNet {arch} weights; put {BACKBONE_FILES[arch]} into "
            f"{cache_folder()}/ or pass --backbone_weights PATH.")


def backbone_features(arch, path):
    """The convolutional part (`.features`) of torchvision's `arch`, every tensor read from `path` (strict:
    none left random; the classifier's tensors, which neither metric uses, may be absent)."""
    import torchvision
    state = torch.load(path, map_location="cpu", weights_only=True)
    with torch.device("meta"):   # no random initialisation: every tensor comes from the file
        features = getattr(torchvision.models, arch)(weights=None).features
    prefix = "features."
    features.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)},
                             strict=True, assign=True)
    return features.eval()


def _copy_features(network, features):
    """Load the backbone's `features[i]` into each module that torchmetrics' network holds as child `str(i)` of a
    Sequential slice (its layout for all three backbones); returns the number of values loaded."""
    loaded = 0
    for stage in network.modules():
        if not isinstance(stage, torch.nn.Sequential):
            continue
        for name, module in stage.named_children():
            if name.isdigit() and any(True for _ in module.parameters()):
                module.load_state_dict(features[int(name)].state_dict())
                loaded += sum(p.numel() for p in module.parameters())
    return loaded


def lpips_network(net, path):
    """torchmetrics' LPIPS with its shipped heads for `net` and the backbone read from `path`."""
    from torchmetrics.functional.image.lpips import _LPIPS
    model = _LPIPS(pretrained=True, net=net, pnet_rand=True)   # heads from torchmetrics; backbone replaced below
    features = backbone_features(LPIPS_BACKBONES[net], path)
    loaded = _copy_features(model.net, features)
    if loaded != sum(p.numel() for p in model.net.parameters()):
        raise RuntimeError("LPIPS backbone only partly loaded")   # torchmetrics' layout changed
    return model.eval()


def dists_network(path):
    """torchmetrics' DISTS with its shipped weights and the VGG16 backbone read from `path`."""
    from torchmetrics.functional.image import dists
    vgg = torch.nn.Module()
    vgg.features = backbone_features(DISTS_BACKBONE, path)
    # DISTSNetwork asks torchvision for VGG16's default weights itself (cache or download): it is handed
    # the network just read instead, so nothing is fetched and the given file is the one used
    with mock.patch.object(dists, "vgg16", lambda weights=None: vgg):
        model = dists.DISTSNetwork(load_weights=True)
    return model.eval()


class Perceptual:
    """The LPIPS and DISTS networks whose backbones are present, and the lines for those that are not."""

    def __init__(self, lpips_net=LPIPS_DEFAULT, backbone_weights=()):
        given = identify(backbone_weights)
        self.networks, self.notes = {}, []
        lpips_arch = LPIPS_BACKBONES[lpips_net]
        for metric, arch, build in (("LPIPS", lpips_arch, lambda p: lpips_network(lpips_net, p)),
                                    ("DISTS", DISTS_BACKBONE, dists_network)):
            path = find_backbone(arch, given)
            if path is None:
                self.notes.append(missing_line(metric, arch))
            else:
                self.networks[metric.lower()] = build(path)
        self.lpips_net = lpips_net

    def scores(self, fake_u8, real_u8):
        """{'lpips': (N,), 'dists': (N,)} float64 per-image scores of two (N, H, W) 8-bit grey batches."""
        fake = torch.as_tensor(fake_u8, dtype=torch.float32)[:, None].expand(-1, 3, -1, -1)
        real = torch.as_tensor(real_u8, dtype=torch.float32)[:, None].expand(-1, 3, -1, -1)
        out = {}
        with torch.inference_mode():
            if "lpips" in self.networks:
                out["lpips"] = self.networks["lpips"](fake / 127.5 - 1, real / 127.5 - 1).reshape(-1).double()
            if "dists" in self.networks:
                out["dists"] = self.networks["dists"](fake / 255, real / 255).reshape(-1).double()
        return out
