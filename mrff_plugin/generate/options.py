"""What one `mrff generate` run does to every image, settled once from its flags (commands/generate.py).

The engine (engine.generate) and the attention pass (attention.save_attention_maps) read these; the
command resolves the flags' defaults that depend on the network or the device (--output_nc from the
network, --workers and --max_memory from the device) before it builds them.
"""
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Tuple

if TYPE_CHECKING:
    from .radiometric_out import RadiometricOutput


@dataclass(frozen=True)
class GenerateOptions:
    """output_nc: channels of the written PNGs (1 or 3).
    batch_size: images per forward pass, at most (tiling.plan_size may take fewer within max_memory).
    workers: 0 -- decode and encode in threads, one per torch thread, between forward passes, so that they
    never compete with the network's threads for the cores (CPU); N -- decode in N loader processes and
    encode in N threads while the network runs (GPU, whose forward pass leaves the cores free).
    size: (width, height) the inputs are resized to, or None for each image's own size.
    skip_bad: count and skip unreadable images instead of refusing them.
    max_memory: bytes of activations one forward pass may use (None: no limit); tile/overlap: force tiling.
    palette, also_grey: thermal palette of the PNGs and whether the grey one is kept too (palettes.py).
    radiometric: a radiometric_out.RadiometricOutput (--lwir_out: counts, temperatures), or None for 8-bit PNGs.
    """
    output_nc: int
    batch_size: int = 8
    workers: int = 2
    size: Optional[Tuple[int, int]] = None
    skip_bad: bool = False
    max_memory: Optional[int] = None
    tile: Optional[int] = None
    overlap: Optional[int] = None
    palette: str = "grey"
    also_grey: bool = False
    radiometric: Optional["RadiometricOutput"] = None
