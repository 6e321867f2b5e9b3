"""The quality studies' pairs: synthetic day scenes, RoadScene's real LWIR, and the training crops.

Synthetic (both versions): pairs rendered by mrff_plugin.synth.render_pair at the load size, training
pairs from render seed 0, held-out pairs from HELD_OUT_FIRST_SEED, and the privileged oracle's held-out
LWIR (the renderer without terms the visible image cannot show, ORACLE_DROPS); cached as .npz.
RoadScene (version 2): the folder's pairs split by frame number (datasets.frame_split), whole images.
Training crops: a fresh permutation per pass, a random crop of the pair and a random horizontal flip,
the same for both images, as the host's aligned dataset does with --crop_size and without --no_flip.
"""
import os
from pathlib import Path

import numpy as np
import torch

HELD_OUT_FIRST_SEED = 1_000_000   # render seeds of the held-out pairs (training pairs: 0, 1, ...)
ORACLE_DROPS = (("noise",), ("noise", "patchiness"), ("noise", "patchiness", "lag"))


def to_tensors(visible, lwir):
    """uint8 batches (N, H, W, 3) and (N, H, W) -> float tensors (N, 3, H, W), (N, 1, H, W) in [-1, 1]."""
    a = torch.from_numpy(np.ascontiguousarray(visible)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    b = torch.from_numpy(np.ascontiguousarray(lwir))[:, None].float() / 127.5 - 1.0
    return a, b


def pair_to_tensors(visible, lwir):
    """One uint8 pair (H, W, 3), (H, W) -> a batch of one: (1, 3, H, W), (1, 1, H, W) in [-1, 1]."""
    return to_tensors(np.asarray(visible)[None], np.asarray(lwir)[None])


def centre_crop(array, size):
    """Centre size x size crop of (N, L, L, ...) arrays."""
    top = (array.shape[1] - size) // 2
    return array[:, top:top + size, top:top + size]


# ---------------------------------------------------------------- synthetic scenes

def render_set(first_seed, count, load, drop=()):
    """(visible (N, L, L, 3) uint8, lwir (N, L, L) uint8) of render seeds first_seed.. ."""
    from mrff_plugin.synth import render_pair
    visible = np.empty((count, load, load, 3), np.uint8)
    lwir = np.empty((count, load, load), np.uint8)
    for k in range(count):
        visible[k], lwir[k], _ = render_pair(first_seed + k, (load, load), "day", drop)
    return visible, lwir


def synthetic_arrays(study, folder):
    """{'train_A', 'train_B', 'test_A', 'test_B', 'oracle_<drops>'}: the pairs of study['train_pairs'] and
    study['test_pairs'] at study['load'], cached as .npz in `folder`."""
    cache = Path(folder) / f"quality_data_{study['load']}_{study['train_pairs']}_{study['test_pairs']}.npz"
    if cache.is_file():
        return dict(np.load(cache))
    print(f"rendering {study['train_pairs']} + {study['test_pairs']} synthetic day pairs at "
          f"{study['load']}x{study['load']} (cached in {cache})", flush=True)
    data = {}
    data["train_A"], data["train_B"] = render_set(0, study["train_pairs"], study["load"])
    data["test_A"], data["test_B"] = render_set(HELD_OUT_FIRST_SEED, study["test_pairs"], study["load"])
    for drop in ORACLE_DROPS:
        data["oracle_" + "+".join(drop)] = render_set(HELD_OUT_FIRST_SEED, study["test_pairs"], study["load"],
                                                      drop)[1]
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, **data)
    os.replace(tmp, cache)
    return data


def pairs_of(visible, lwir):
    """[(visible[k], lwir[k])] for uint8 batches."""
    return [(visible[k], lwir[k]) for k in range(len(visible))]


def synthetic_pairs(study, crop, folder):
    """The synthetic arrays as version 2's lists: training pairs whole, held-out and the first
    study['train_scored'] training pairs centre-cropped to `crop`."""
    data = synthetic_arrays(study, folder)
    centre = lambda array: centre_crop(array, crop)  # noqa: E731
    scored = study["train_scored"]
    return {"train": pairs_of(data["train_A"], data["train_B"]),
            "test": pairs_of(centre(data["test_A"]), centre(data["test_B"])),
            "train_scored": pairs_of(centre(data["train_A"][:scored]), centre(data["train_B"][:scored])),
            "ids": {"test": [f"render {HELD_OUT_FIRST_SEED + k}" for k in range(len(data["test_A"]))]}}


# ---------------------------------------------------------------- RoadScene

def roadscene_pairs(root, test_count, frame_gap, scored_every):
    """{'train': [(visible (H, W, 3) u8, lwir (H, W) u8)], 'test': [...], 'train_scored': [...], 'ids': {...}}:
    the `test_count` highest frame numbers held out with `frame_gap` numbers left out below them, every
    `scored_every`-th training image (frame order) scored for the overfitting gap."""
    from mrff_plugin.datasets.frame_split import split_by_frame_number
    from mrff_plugin.datasets.images import load_image
    from mrff_plugin.datasets.pairs_layout import list_pairs
    by_id = {pair.pair_id: pair for pair in list_pairs(str(root), "train").pairs}
    train_ids, test_ids = split_by_frame_number(list(by_id), test_count, frame_gap)

    def load(pair_id):
        pair = by_id[pair_id]
        return np.asarray(load_image(pair.visible, "RGB")), np.asarray(load_image(pair.lwir, "L"))
    train = [load(i) for i in train_ids]
    return {"train": train, "test": [load(i) for i in test_ids], "train_scored": train[::scored_every],
            "ids": {"train": train_ids, "test": test_ids, "train_scored": train_ids[::scored_every]}}


# ---------------------------------------------------------------- training crops

class CropStream:
    """One seed's training samples from `pairs` [(visible, lwir)]: a fresh permutation per pass, a random
    size x size crop of the pair at its own size and a random horizontal flip, the same for both images."""

    def __init__(self, pairs, seed, size):
        self.pairs, self.size, self.rng, self.order = pairs, size, np.random.default_rng(seed), []

    def corner(self, height, width):
        """(top, left) of the crop: one draw for each."""
        return self.rng.integers(0, height - self.size + 1), self.rng.integers(0, width - self.size + 1)

    def next(self):
        """The next training sample as tensors (1, 3, S, S), (1, 1, S, S)."""
        if not self.order:
            self.order = list(self.rng.permutation(len(self.pairs))[::-1])
        visible, lwir = self.pairs[self.order.pop()]
        top, left = self.corner(*lwir.shape)
        v, t = visible[top:top + self.size, left:left + self.size], lwir[top:top + self.size, left:left + self.size]
        if self.rng.random() < 0.5:
            v, t = v[:, ::-1], t[:, ::-1]
        return pair_to_tensors(v, t)


class SquareCropStream(CropStream):
    """Version 1's stream: its frames are all load x load, and both corners come from one draw."""

    def corner(self, height, width):
        return self.rng.integers(0, height - self.size + 1, 2)
