"""Validation scored as users get the generator: whole held-out images, each normalised by its own statistics.

`test.py` and `mrff generate` run a BatchNorm generator with each image's own
per-channel statistics (pix2pix paper, Sec. 3.3; `mrff_plugin.generate.image_norm`)
on whole images, padded by reflection to the generator's size multiple and
cropped back.  Validation does the same, so `best_net_G.pth` is chosen by the
score a user measures on its outputs: `held_out_options` loads the first
`--val_size` held-out pairs whole (`kaist_aligned` with `--preprocess pad`; any
other dataset with the host's `none`), `inference_copy` makes the generator's
inference twin (`mrff_plugin.generate.network.prepare_for_inference`: eval mode,
image statistics), and `score_pairs` runs it image by image (the pairs may differ
in size) and scores each output with `metrics.tensor_scores` (Table 3 protocol,
quantised as a saved PNG), and measures how much each output varies at all: on
LWIR a flat grey image scores a high SSIM (much of a thermal frame is smooth), so
a generator whose every output is flat (`is_flat`: a collapsed run, one grey level
for every input) must not be kept as the best one.  Nothing here touches the
training generator.
"""
import copy

import torch

from ..datasets.framing import PAD, generator_multiple
from ..generate.engine import pad_to_multiple
from ..generate.network import prepare_for_inference
from ..metrics import luma_u8, scores_u8, tensor_to_u8

WHOLE_IMAGES = {"kaist_aligned": PAD}   # --dataset_mode -> its whole-image --preprocess; others: the host's none
FLAT_SPREAD = 1.0   # grey levels: an 8-bit output whose standard deviation is below this has no content


def held_out_options(opt):
    """A copy of the training options that reads the first --val_size pairs of --val_dataroot / --val_phase
    whole, in order and unflipped."""
    held = copy.copy(opt)
    held.dataroot = opt.val_dataroot or opt.dataroot
    held.phase = opt.val_phase
    held.max_dataset_size = opt.val_size
    held.no_flip = True
    held.serial_batches = True
    held.isTrain = False
    held.preprocess = WHOLE_IMAGES.get(opt.dataset_mode, "none")
    held.pad_multiple = 0   # the generator's own multiple, as mrff generate pads
    held.batch_size = 1     # scored image by image: whole images of several sizes are fine
    return held


def inference_copy(generator, device, state_dict=None):
    """A copy of `generator` (with `state_dict` loaded when given) as mrff generate runs it: eval mode,
    BatchNorm with each image's own statistics, no gradients."""
    net = copy.deepcopy(generator)
    if state_dict is not None:
        net.load_state_dict(state_dict)
    return prepare_for_inference(net, device, "image")


def is_flat(spread):
    """Whether every output was flat: each one's 8-bit standard deviation (`spread`, score_pairs') below
    FLAT_SPREAD -- a generator that writes one grey level whatever its input."""
    return bool((torch.as_tensor(spread) < FLAT_SPREAD).all())


def score_pairs(net, items, netG, direction="AtoB", autocast=None, sets=None):
    """(SSIM, PSNR, spread), each a (N,) tensor: `net`'s output for every held-out item against its target, and
    the standard deviation of each output's 8-bit grey values (0 for a flat image).

    items: dataset items {'A': (C, H, W), 'B': ..., optional 'unpadded_size': (H, W)} in [-1, 1];
    the input is padded to --netG's size multiple and the output cropped back to the picture.  With `sets`
    (set_scores.SetScores) each pair's 8-bit images are added to it, keyed by the item's index.
    """
    device = next(net.parameters()).device
    source, target = ("A", "B") if direction == "AtoB" else ("B", "A")
    multiple = generator_multiple(str(netG))
    ssim, psnr, spread = [], [], []
    for index, item in enumerate(items):
        x, (height, width) = pad_to_multiple(item[source][None].to(device), multiple)   # (1, C, H', W')
        if "unpadded_size" in item:
            height, width = (int(v) for v in item["unpadded_size"])
        with torch.no_grad(), (autocast() if autocast else torch.autocast(device.type, enabled=False)):
            fake = net(x)[..., :height, :width].float()
        real = item[target][None, :, :height, :width].to(device)
        fake, real = luma_u8(tensor_to_u8(fake).cpu()), luma_u8(tensor_to_u8(real).cpu())   # as the host saves them
        scores = scores_u8(fake, real)
        ssim.append(scores[0])
        psnr.append(scores[1])
        spread.append(fake.double().std().reshape(1))
        if sets is not None:
            sets.add(index, fake, real)
    return torch.cat(ssim), torch.cat(psnr), torch.cat(spread)
