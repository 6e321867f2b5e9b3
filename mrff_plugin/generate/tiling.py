"""Tiled generation: a large image cut into overlapping tiles, each run through the network, blended back.

Why: a fully convolutional generator's activations grow with the image.
`unetpp_fusion` at ngf 64 holds well over a kilobyte per input pixel at its peak in
float32 (docs/results.md, "Tiled generation"), so a 4000x3000 photo would not fit at once.

Layout along one axis of length L (tile T, overlap O, both multiples of 32):
tiles start at 0, T-O, 2(T-O), ... and the last one ends at L (it may overlap
its neighbour by more than O); an axis shorter than T is one tile of length L.

Blending: each tile's output is weighted by a window that rises over the O
pixels of every side that has a neighbour, as sin^2 from near 0 at the tile
edge to 1 (and is 1 elsewhere); the sum is divided by the sum of the windows.
Two tiles overlapping by exactly O have ramps that add up to 1 (sin^2 + cos^2),
the weight of a tile's edge pixels -- those that saw the least context -- is
near zero, and the result has no step anywhere, so no seam.

Defaults come from the receptive field measured by benchmarks/tiling.py (the
gradient of one output pixel with respect to the input): 99% of it lies within
RECEPTIVE_RADIUS_99 pixels of the pixel.  The overlap is that radius rounded up to a
multiple of 32, so where two tiles hand over (O/2 from each edge) each still sees
most of what influences the pixel; the 512 tile keeps the overlap's extra work,
(T / (T - O))^2 of the untiled image's, small.  How far tiled and untiled outputs
differ for each tile/overlap, seams included: docs/results.md, "Tiled generation".
"""
import math

import torch

MULTIPLE = 32                 # tiles and overlaps are multiples of the network's size multiple (unetpp_fusion: 32)
RECEPTIVE_RADIUS_99 = 90      # px, measured (benchmarks/tiling.py, trained ngf-16 network): 99% of |d out/d in|
DEFAULT_OVERLAP = 96          # RECEPTIVE_RADIUS_99 rounded up to a multiple of 32
DEFAULT_TILE = 512            # automatic tiling's tile side, shrunk when even that exceeds --max_memory
MEMORY_SHARE = 0.25           # default --max_memory: this share of available RAM (or of free GPU memory)
STATISTICS_SHARE = 0.4        # the statistics copy of a too-large image may use this share of --max_memory: torch, the
                              # network and the kept heap need about 1.4 GB beside it (docs/performance.md, "Inference")
TILE_BATCH_PIXELS = 512 * 512  # at most this many tile pixels per pass: one 512x512 pass keeps a CPU's cores busy,
                               # more tiles at once would only add memory


def tile_starts(length, tile, overlap):
    """Start offsets of the tiles along one axis (see the module docstring)."""
    if length <= tile:
        return [0]
    step = tile - overlap
    return list(range(0, length - tile, step)) + [length - tile]


def ramp(overlap):
    """(overlap,) rising window: sin^2 over the overlap, sampled at pixel centres (never exactly 0 or 1)."""
    position = (torch.arange(overlap, dtype=torch.float32) + 0.5) / overlap
    return torch.sin(position * math.pi / 2) ** 2


def window_1d(start, size, length, overlap):
    """(size,) weights of the tile covering [start, start + size) of an axis of `length`."""
    weights = torch.ones(size)
    n = min(overlap, size)
    if n and start > 0:
        weights[:n] *= ramp(n)
    if n and start + size < length:
        weights[-n:] *= ramp(n).flip(0)
    return weights


def check_tile(tile, overlap, multiple=MULTIPLE):
    """ValueError (one sentence) unless tile and overlap are multiples of `multiple` and overlap < tile / 2;
    tile None (chosen automatically, plan_size): the overlap alone."""
    if tile is not None and (tile < multiple or tile % multiple):
        raise ValueError(f"--tile {tile} must be a positive multiple of {multiple} (e.g. {DEFAULT_TILE}).")
    if overlap < 0 or overlap % multiple or (tile is not None and 2 * overlap >= tile):
        half = f"--tile {tile}" if tile is not None else "the tile side"
        raise ValueError(f"--overlap {overlap} must be a multiple of {multiple} and less than half of {half} "
                         f"(default {DEFAULT_OVERLAP}).")


def run_tiled(run, x, tile, overlap, batch=1):
    """run: (n, C, t_h, t_w) float batch -> (n, C_out, t_h, t_w); x: (1, C, H, W) -> blended (1, C_out, H, W).

    Tiles are at most tile x tile (smaller only where the image is); `batch` tiles go through `run` at once.
    """
    height, width = x.shape[-2:]
    rows, cols = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    t_h, t_w = min(tile, height), min(tile, width)
    boxes = [(top, left) for top in rows for left in cols]
    out = weight = None
    for k in range(0, len(boxes), batch):
        chunk = boxes[k:k + batch]
        y = run(torch.cat([x[..., top:top + t_h, left:left + t_w] for top, left in chunk]))
        if out is None:
            out = torch.zeros(1, y.shape[1], height, width, device=y.device)
            weight = torch.zeros(height, width, device=y.device)
        for (top, left), tile_out in zip(chunk, y):
            w = window_1d(top, t_h, height, overlap)[:, None] * window_1d(left, t_w, width, overlap)[None]
            w = w.to(y.device)
            out[0, :, top:top + t_h, left:left + t_w] += tile_out * w
            weight[top:top + t_h, left:left + t_w] += w
    return out / weight


# ------------------------------------------------------------------ when to tile, how large

CGROUP_LIMITS = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),                      # cgroup v2
                 ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"))  # v1


def cgroup_room(limits=CGROUP_LIMITS):
    """Bytes the process's memory cgroup (a container's limit) still allows: limit - usage; None without one."""
    for limit_path, usage_path in limits:
        try:
            with open(limit_path, encoding="ascii") as handle:
                limit = handle.read().strip()
            with open(usage_path, encoding="ascii") as handle:
                usage = int(handle.read().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2 ** 60:   # "max" (v2) or a huge number (v1): no limit
            return max(0, int(limit) - usage)
    return None


def default_max_memory(device):
    """Bytes: MEMORY_SHARE of the free memory of `device` (CUDA), or of the available RAM (/proc/meminfo) or,
    where less, of what the memory cgroup (a container's limit) still allows."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(MEMORY_SHARE * free)
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            available = next(int(line.split()[1]) * 1024 for line in handle if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):  # not Linux: physical memory
        import os
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    room = cgroup_room()
    return int(MEMORY_SHARE * (available if room is None else min(available, room)))


def parse_memory(text):
    """'4G', '512M', '2.5GB', '1000000' -> bytes (binary units); ValueError naming the flag."""
    units = {"": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = value[-1:] if value[-1:] in units else ""
    try:
        number = float(value[:-1] if unit else value)
    except ValueError:
        raise ValueError(f"--max_memory {text} is not a size like 4G or 512M") from None
    if not (math.isfinite(number * units[unit]) and number > 0):   # inf, nan, 1e400G: int() would fail
        raise ValueError(f"--max_memory {text} must be a positive, finite size like 4G or 512M.")
    return int(number * units[unit])


def pad_side(length, multiple):
    """`length` rounded up to a multiple of `multiple` (what engine.pad_to_multiple pads to)."""
    return -(-length // multiple) * multiple


def statistics_scale(width, height, multiple, cost, max_memory):
    """Scale (<= 1) of the copy of a width x height image whose forward pass gives the tiles their
    normalisation statistics (image_norm.whole_image_statistics): 1 (the whole image) when it fits
    `max_memory`, else the largest copy whose activations fit STATISTICS_SHARE of it."""
    pixels = pad_side(width, multiple) * pad_side(height, multiple)
    if cost is None or cost(pixels) <= max_memory:
        return 1.0
    return min(1.0, math.sqrt(STATISTICS_SHARE * max_memory / cost(pixels)))


def buffer_bytes_per_pixel(input_nc, output_nc):
    """Bytes per image pixel that the buffers around the network hold beside its activations, which
    --max_memory must also cover: per input channel the decoded uint8 (1), its float copy (4) and the padded
    one (4); per output channel the float output (4), its cropped copy or tile accumulator (4) and the uint8
    PNG (1); and the tiles' blending weight (4)."""
    return 9 * input_nc + 9 * output_nc + 4


def plan_size(width, height, multiple, cost, max_memory, batch_size, tile=None, overlap=None, buffers=0):
    """How to run images of width x height: {'batch': images or tiles per pass, 'tile': side or None,
    'overlap': px, 'auto': True when tiling was chosen because the image exceeds max_memory,
    'statistics_scale': scale of the copy that gives tiles their normalisation statistics}.

    cost: backends.ActivationCost or None (unknown: whole images, --batch_size at a time, unless --tile).
    buffers: bytes per pixel of the image's own buffers (buffer_bytes_per_pixel), counted per image; a tiled
    image keeps its whole-size buffers while its tiles run, so they come off the tiles' budget.
    """
    overlap = DEFAULT_OVERLAP if overlap is None else overlap
    auto = False
    whole = {"tile": None, "overlap": 0, "auto": False, "statistics_scale": 1.0}
    if cost is not None and buffers:
        activations = cost
        cost = lambda pixels: activations(pixels) + buffers * pixels  # noqa: E731
        if tile is not None or cost(pad_side(width, multiple) * pad_side(height, multiple)) > max_memory:
            max_memory = max(max_memory - buffers * width * height, max_memory / 4)  # the image's own buffers
    if tile is None:
        pixels = pad_side(width, multiple) * pad_side(height, multiple)
        if cost is None or cost(pixels) <= max_memory:
            return {"batch": _passes(cost, pixels, max_memory, batch_size), **whole}
        auto, tile = True, DEFAULT_TILE
        while tile > 2 * overlap + multiple and cost(tile * tile) > max_memory:
            tile -= multiple
        if 2 * overlap >= tile:   # tile_starts would step backwards: pixels no tile covers come out 0
            raise ValueError(f"--overlap {overlap} is too large for the {tile}x{tile} tiles that {width}x{height} "
                             f"images are cut into to stay within --max_memory; pass an --overlap below "
                             f"{tile // 2} (default {DEFAULT_OVERLAP}), or --tile N with N larger than {2 * overlap}.")
    if max(width, height) <= tile:
        return {"batch": 1, **whole}  # one tile is the whole image
    batch = _passes(cost, tile * tile, max_memory, min(batch_size, max(1, TILE_BATCH_PIXELS // (tile * tile))))
    return {"batch": batch, "tile": tile, "overlap": overlap, "auto": auto,
            "statistics_scale": statistics_scale(width, height, multiple, cost, max_memory)}


def _passes(cost, pixels, max_memory, most):
    """How many images (or tiles) of `pixels` one pass takes: at most `most`, within max_memory, at least 1."""
    return max(1, min(most, most if cost is None else int(max_memory // max(1.0, cost(pixels)))))


# ------------------------------------------------------------------ receptive field

def receptive_field(net, image, pixel=None):
    """{'support': (rows, cols) extent of nonzero d out/d in, 'radius': {share: px}} for one output pixel.

    net: float32 module in eval mode; image: (1, C, H, W) in [-1, 1]; pixel: (row, col), default the centre.
    radius[share]: the half side of the smallest square around the pixel that holds `share` of sum |grad|.
    """
    x = image.detach().clone().requires_grad_(True)
    row, col = pixel or (x.shape[-2] // 2, x.shape[-1] // 2)
    with torch.enable_grad():
        net(x)[0, :, row, col].sum().backward()
    grad = x.grad.abs().sum(dim=(0, 1))  # (H, W)
    rows, cols = torch.nonzero(grad.sum(1)), torch.nonzero(grad.sum(0))
    total, radius = float(grad.sum()), {}
    for share in (0.9, 0.95, 0.99, 0.999):
        r = 0
        while r < max(grad.shape) and float(grad[max(0, row - r):row + r + 1, max(0, col - r):col + r + 1].sum()) \
                < share * total:
            r += 1
        radius[share] = r
    return {"support": (int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)), "radius": radius}
