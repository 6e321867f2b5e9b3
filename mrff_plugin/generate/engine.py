"""The batched generation loop: decode in loader workers, run the network, encode in threads.

    decode (DataLoader workers)  ->  pad, network, crop (main process)  ->  PNG encode + atomic
    uint8 (C, H, W) tensors          under inference_mode + autocast      write (thread pool)

Images are batched only with images of the same size (`group_by_size`).  The
network needs sides that are a multiple of `size_multiple(net)` (2 ** its
number of stride-2 convolutions: 32 for unetpp_fusion, 256 for unet_256), so
each batch is padded by reflection up to that multiple and the output cropped
back, and every image comes back at its own size; `--size WxH` resizes the
inputs instead (outputs are then WxH).
"""
import concurrent.futures
import time
from collections import deque

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.images import UnreadableImageError, load_image
from ..metrics import luma_u8, tensor_to_u8
from . import GenerateError
from .files import write_png


class ImageJobs(torch.utils.data.Dataset):
    """job index -> (index, uint8 tensor (C, H, W)), or (index, None) when the file cannot be decoded.

    C = 1 ('L') or 3 ('RGB') as the network's input_nc; `size` (w, h) resizes (bicubic).
    """

    def __init__(self, jobs, channels, size=None):
        self.jobs, self.mode, self.size = jobs, "L" if channels == 1 else "RGB", size

    def __len__(self):
        return len(self.jobs)

    def __getitem__(self, index):
        try:
            image = load_image(self.jobs[index].source, self.mode)
        except UnreadableImageError:
            return index, None
        if self.size is not None and image.size != tuple(self.size):
            from PIL import Image
            image = image.resize(tuple(self.size), Image.BICUBIC)
        array = np.asarray(image)
        array = array[:, :, None] if array.ndim == 2 else array
        return index, torch.from_numpy(array.copy()).permute(2, 0, 1)  # (C, H, W) uint8


def collate(items):
    """[(index, tensor or None)] -> (indices, stacked uint8 batch or None, indices that failed)."""
    good = [(i, x) for i, x in items if x is not None]
    failed = [i for i, x in items if x is None]
    if not good:
        return [], None, failed
    return [i for i, _ in good], torch.stack([x for _, x in good]), failed


def group_by_size(jobs, batch_size, size=None):
    """Lists of job indices, each at most `batch_size` long, whose images share one size."""
    groups = {}
    for index, job in enumerate(jobs):
        groups.setdefault(tuple(size) if size else job.size, []).append(index)
    return [indices[k:k + batch_size] for indices in groups.values() for k in range(0, len(indices), batch_size)]


def size_multiple(net):
    """2 ** (number of stride-2 convolutions): input sides must be multiples of this."""
    halvings = sum(1 for m in net.modules() if isinstance(m, nn.Conv2d) and tuple(m.stride) == (2, 2))
    return 2 ** halvings


def pad_to_multiple(x, multiple):
    """(N, C, H, W) -> (padded (N, C, H', W'), (H, W)); H', W' the next multiples of `multiple`.

    Reflection padding on the bottom/right; replication where the pad exceeds the image.
    """
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    return x, (height, width)


def to_u8_images(y, output_nc):
    """Network output (N, C, H, W) in [-1, 1] -> uint8 arrays (N, H, W) grey or (N, H, W, 3).

    Quantised as the host saves result images (metrics.tensor_to_u8); a 3-channel
    output asked for as 1 channel becomes grey by the Pillow luma rule, a
    1-channel output asked for as 3 channels is repeated.
    """
    u8 = tensor_to_u8(y)                               # (N, C, H, W) float 0..255
    if output_nc == 1:
        grey = luma_u8(u8) if u8.shape[1] == 3 else u8[:, 0]
        return grey.to(torch.uint8).cpu().numpy()      # (N, H, W)
    if u8.shape[1] == 1:
        u8 = u8.expand(-1, 3, -1, -1)
    return u8.to(torch.uint8).permute(0, 2, 3, 1).contiguous().cpu().numpy()  # (N, H, W, 3)


def run_network(net, batch_u8, precision, multiple):
    """uint8 (N, C, H, W) batch on the network's device -> float32 output (N, C_out, H, W) in [-1, 1]."""
    x = (batch_u8.float() / 127.5 - 1.0).contiguous(memory_format=torch.channels_last)
    x, (height, width) = pad_to_multiple(x, multiple)
    with torch.inference_mode(), precision.autocast():
        y = net(x)
    return y[..., :height, :width].float()


def generate(net, jobs, precision, input_nc, output_nc, batch_size=8, workers=2, size=None, skip_bad=False,
             progress=None):
    """Write one PNG per job; return {'written', 'bad', 'seconds'}.

    net: prepared by network.prepare_for_inference (eval, on its device, channels_last).
    input_nc: the network's input channels (1 reads images as grey, 3 as RGB);
    output_nc: channels of the written PNGs (1 or 3).
    progress: a tqdm-like object with update(n), or None.
    """
    device = next(net.parameters()).device
    multiple = size_multiple(net)
    loader = torch.utils.data.DataLoader(
        ImageJobs(jobs, input_nc, size), batch_sampler=group_by_size(jobs, batch_size, size),
        num_workers=workers, collate_fn=collate, pin_memory=device.type == "cuda")
    written, bad, pending = 0, [], deque()
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as encoders:
        for indices, batch, failed in loader:
            for index in failed:
                if not skip_bad:
                    raise GenerateError(f"{jobs[index].source} cannot be decoded as an image; delete or "
                                        f"replace it, or pass --skip_bad to skip unreadable images.")
                bad.append(jobs[index].source)
            if progress is not None and failed:
                progress.update(len(failed))
            if batch is None:
                continue
            images = to_u8_images(run_network(net, batch.to(device, non_blocking=True), precision, multiple),
                                  output_nc)
            for index, image in zip(indices, images):
                pending.append(encoders.submit(write_png, image, jobs[index].target))
            while len(pending) > 2 * batch_size:  # bound memory; re-raises a failed write
                pending.popleft().result()
                written += 1
                if progress is not None:
                    progress.update(1)
        while pending:
            pending.popleft().result()
            written += 1
            if progress is not None:
                progress.update(1)
    return {"written": written, "bad": bad, "seconds": time.perf_counter() - start}

