"""FID and KID of a set of generated / real pairs that grows one pair at a time: the `test.py` gallery's summary
and the training validation's Visdom curves show them beside SSIM and PSNR.

Pairs are 8-bit grey images as the host saves them (`metrics.tensor_to_u8`, then Pillow's luma for colour),
so the figures are `mrff evaluate`'s on the saved files.  Their Inception features (`mrff_plugin.inception`)
are computed in full batches as pairs arrive (`inception.FeatureBatches`), so memory holds features, not
images; FID and KID are `mrff_plugin.metrics_fid`'s.  Real images keyed the same (validation's fixed held-out
pairs) go through the network once for all validations (`known_reals`).

Without the Inception file, or with fewer than two pairs, there are no figures and `note` says why in one
sentence; nothing is downloaded.
"""
from . import inception
from .metrics_fid import BIAS_N, MIN_IMAGES, fid, kid


def load_network():
    """(the Inception network, None), or (None, the sentence saying why FID and KID are left out)."""
    try:
        return inception.load(), None
    except inception.InceptionMissing as exc:
        return None, f"FID and KID left out: {exc}"


class SetScores:
    """add(key, fake, real) per pair, then scores(): {'FID': float, 'KID': float, 'KID_std': float}, or {} with
    `note` saying why.  `network`, `note`: what load_network() returned (load it once, score many sets)."""

    def __init__(self, network, note=None, known_reals=None):
        self.network, self.note = network, note
        if self.network is not None:
            self.fakes = inception.FeatureBatches(self.network)
            self.reals = inception.FeatureBatches(self.network, known=known_reals)
        self.keys = []

    def add(self, key, fake_u8, real_u8):
        """One pair: (1, H, W) or (1, 1, H, W) tensors of 8-bit grey values; `key` names the real image."""
        if self.network is None:
            return
        self.fakes.add([len(self.keys)], fake_u8)
        self.reals.add([key], real_u8)
        self.keys.append(key)

    def scores(self):
        if self.network is None:
            return {}
        if len(self.keys) < MIN_IMAGES:
            self.note = f"FID and KID left out: they need at least {MIN_IMAGES} images, there were {len(self.keys)}."
            return {}
        fake, real = self.fakes.get(list(range(len(self.keys)))), self.reals.get(self.keys)
        kid_mean, kid_std = kid(fake, real)
        if len(self.keys) < BIAS_N:
            self.note = f"FID is biased at N = {len(self.keys)} (below {BIAS_N}): compare it only at equal N; read KID."
        return {"FID": fid(fake, real), "KID": kid_mean, "KID_std": kid_std}
