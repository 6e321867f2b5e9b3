"""The batched loop: decode, run the network, encode -- on CPU one after the other, on GPU side by side.

    decode (threads, or loader workers)  ->  pad, backend, crop (main process)  ->  PNG encode + atomic
    uint8 (C, H, W) tensors                  whole batches, or tile by tile         write (threads)

On CPU (`--workers 0`, its default) the network's threads use every core, so
anything beside them slows them down more than it saves: between two forward
passes, a pool of as many threads as torch uses encodes the last batch's PNGs
and decodes the next batch, and the next pass starts when both are done.  On GPU
(`--workers N`), N loader processes decode ahead and N threads encode while the
network runs.  docs/performance.md ("Inference") has the measurements.

Images are batched only with images of the same size (`group_by_size`).  The
network needs sides that are a multiple of `backend.multiple` (2 ** its number
of stride-2 convolutions: 32 for unetpp_fusion, 256 for unet_256), so each
batch is padded by reflection up to that multiple and the output cropped back,
and every image comes back at its own size; `--size WxH` resizes the inputs
instead (outputs are then WxH).

Memory: for each image size, tiling.plan_size decides from the backend's
measured activation cost how many images go through at once (at most
`--batch_size`, within `--max_memory`), and whether an image is so large that
it must be generated in overlapping tiles (tiling.py); `--tile` forces tiling.
"""
import concurrent.futures
import functools
import time
from collections import deque

import numpy as np
import torch
import torch.nn.functional as F

from ..datasets.images import UnreadableImageError, load_image
from ..metrics import luma_u8, tensor_to_u8
from . import GenerateError
from .files import write_png
from .tiling import buffer_bytes_per_pixel, pad_side, plan_size, run_tiled


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
    """Lists of job indices whose images share one size, each at most `batch_size` long (an int, or a
    {(w, h): int} per size)."""
    groups = {}
    for index, job in enumerate(jobs):
        groups.setdefault(tuple(size) if size else job.size, []).append(index)
    return [indices[k:k + n] for key, indices in groups.items()
            for n in [batch_size[key] if isinstance(batch_size, dict) else batch_size]
            for k in range(0, len(indices), n)]


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


def run_padded(backend, x):
    """float (N, C, H, W) in [-1, 1] -> backend output (N, C_out, H, W): padded to its multiple, cropped back."""
    x, (height, width) = pad_to_multiple(x, backend.multiple)
    return backend(x)[..., :height, :width]


def statistics_copy(image, scale):
    """(1, C, H, W) -> the copy whose forward pass gives its tiles their normalisation statistics: the image
    itself at scale 1, else resized by `scale` (bilinear with antialiasing, as a thumbnail is made)."""
    if scale >= 1:
        return image
    height, width = image.shape[-2:]
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return F.interpolate(image, size=size, mode="bilinear", antialias=True, align_corners=False)


def run_network(backend, batch_u8, tile=None, overlap=0, tile_batch=1, statistics_scale=1.0):
    """uint8 (N, C, H, W) batch on the backend's device -> float32 output (N, C_out, H, W) in [-1, 1];
    with `tile`, each image is generated in overlapping tiles (tiling.run_tiled), normalised with the
    statistics of the whole image, or -- an image too large for one pass -- of a copy at
    `statistics_scale` (image_norm.py)."""
    x = batch_u8.float() / 127.5 - 1.0
    if tile is None:
        return run_padded(backend, x)

    def run(t):
        return run_padded(backend, t)
    outputs = []
    for image in x:
        with backend.whole_image_statistics(statistics_copy(image[None], statistics_scale), run):
            outputs.append(run_tiled(run, image[None], tile, overlap, tile_batch))
    return torch.cat(outputs)


def plan_sizes(backend, jobs, batch_size, size, max_memory, tile, overlap, log=None, output_nc=3):
    """{(w, h): tiling.plan_size(...)} for every image size among `jobs`, the images' own buffers counted
    beside the activations; one `log` line per auto-tiled size."""
    plans = {}
    buffers = buffer_bytes_per_pixel(backend.input_nc, output_nc)
    for key in sorted({tuple(size) if size else job.size for job in jobs}):
        cost = backend.cost if max_memory is not None else None
        plans[key] = plan_size(*key, backend.multiple, cost, max_memory or float("inf"), batch_size, tile, overlap,
                               buffers)
        if plans[key]["tile"] and not backend.can_tile:
            width, height = key
            raise GenerateError(f"{width}x{height} images would be generated in tiles, but {backend.path} normalises "
                                f"each image by its own statistics, which ONNX Runtime would take from each tile "
                                f"alone; raise --max_memory, use --backend torch, or export with --norm_stats "
                                f"running.")
        if plans[key]["auto"] and log is not None:
            width, height = key
            need = cost(pad_side(width, backend.multiple) * pad_side(height, backend.multiple))
            scale = plans[key]["statistics_scale"]
            statistics = (f", normalised with the statistics of a {scale:.0%} copy (a larger --max_memory "
                          f"brings them closer to the whole image's)" if backend.per_image_norm and scale < 1 else "")
            log(f"{width}x{height} images need about {need / 2 ** 30:.1f} GB of activations, more than "
                f"--max_memory {max_memory / 2 ** 30:.1f} GB: generating them in {plans[key]['tile']}x"
                f"{plans[key]['tile']} tiles, overlap {plans[key]['overlap']}{statistics} (set "
                f"--tile/--overlap/--max_memory)")
    return plans


def decoded_in_threads(dataset, batches, pool):
    """Yield collate(...) of each batch of `dataset` indices, its images decoded by `pool`'s threads (Pillow
    lets go of the GIL while it decodes).  A batch is decoded only when asked for, so no decoding runs during
    the forward pass that asks for it after the previous one."""
    for indices in batches:
        yield collate([future.result() for future in [pool.submit(dataset.__getitem__, i) for i in indices]])


def decoded_in_workers(dataset, batches, workers, pin_memory):
    """The same batches from `workers` DataLoader processes, decoding ahead while the network runs."""
    return torch.utils.data.DataLoader(dataset, batch_sampler=batches, num_workers=workers, collate_fn=collate,
                                       pin_memory=pin_memory)


def generate(backend, jobs, options, progress=None, log=None):
    """Write one PNG per job; return {'written', 'bad', 'seconds'}.

    backend: backends.TorchBackend or OnnxRuntimeBackend (its input_nc decides grey or RGB reading).
    options: an options.GenerateOptions (channels, batch size, workers, size, tiling, palette, radiometric).
    progress: a tqdm-like object with update(n), or None; log: a function taking one line, or None.
    """
    device, size, workers, radiometric = backend.device, options.size, options.workers, options.radiometric
    plans = plan_sizes(backend, jobs, options.batch_size, size, options.max_memory, options.tile, options.overlap,
                       log, options.output_nc)
    batches = group_by_size(jobs, {key: 1 if plan["tile"] else plan["batch"] for key, plan in plans.items()}, size)
    dataset = ImageJobs(jobs, backend.input_nc, size)
    written, bad, pending = 0, [], deque()

    def finish(keep):  # wait for all but `keep` submitted PNGs; re-raises a failed write
        nonlocal written
        while len(pending) > keep:
            pending.popleft().result()
            written += 1
            if progress is not None:
                progress.update(1)

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers or torch.get_num_threads()) as pool:
        source = (decoded_in_workers(dataset, batches, workers, device.type == "cuda") if workers
                  else decoded_in_threads(dataset, batches, pool))
        for indices, batch, failed in source:  # in threads: encoding the previous batch went on meanwhile
            finish(2 * options.batch_size if workers else 0)  # bound memory; in threads: nothing beside the network
            for index in failed:
                if not options.skip_bad:
                    raise GenerateError(f"{jobs[index].source} cannot be decoded as an image; delete or "
                                        f"replace it, or pass --skip_bad to skip unreadable images.")
                bad.append(jobs[index].source)
            if progress is not None and failed:
                progress.update(len(failed))
            if batch is None:
                continue
            plan = plans[tuple(size) if size else jobs[indices[0]].size]
            y = run_network(backend, batch.to(device, non_blocking=True), plan["tile"], plan["overlap"],
                            plan["batch"], plan["statistics_scale"])
            images, write = (to_u8_images(y, options.output_nc), write_png) if radiometric is None else \
                (radiometric.images(y), functools.partial(radiometric.write, output_nc=options.output_nc))
            for index, image in zip(indices, images):
                pending.append(pool.submit(write, image, jobs[index].target, options.palette, options.also_grey))
        finish(0)
    return {"written": written, "bad": bad, "seconds": time.perf_counter() - start}
