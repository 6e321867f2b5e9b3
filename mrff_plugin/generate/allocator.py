"""Keep freed activation memory inside the process, so that a forward pass does not page-fault it back in.

glibc's malloc serves every block above its mmap threshold (128 KiB at start,
raised as such blocks are freed, but never above 32 MiB) with a fresh `mmap` and
gives it back to the kernel on `free`, and returns freed memory at the top of its
heap beyond a trim threshold.  A batch of four 256x256 images through
`unetpp_fusion` at ngf 64 allocates activations of 16-32 MiB (X0,j, f1..f4) and
concatenations of up to 80 MiB (the input of X0,4) in fp32, so each forward pass
maps many of them anew and the kernel zero-fills every page on first touch: on
CPU the pass spent a large and erratic share of its time in page faults instead
of convolutions.  Raising the mmap and trim thresholds (`mallopt`, <malloc.h>)
keeps those blocks on the heap for the next batch.  docs/performance.md
("Inference") has the figures: the bare forward pass with and without this.

The cost is that the heap keeps its high-water mark until the process exits,
which for `mrff generate` is the size of one forward pass's activations, the
memory it needed anyway (bounded by --max_memory through tiling).
"""
import contextlib
import ctypes

M_TRIM_THRESHOLD = -1   # <malloc.h>: free memory at the top of the heap kept before it is returned
M_TOP_PAD = -2          # <malloc.h>: extra memory asked of the kernel each time the heap grows
M_MMAP_THRESHOLD = -3   # <malloc.h>: blocks at least this large get their own mmap
KEEP_BYTES = 1 << 30    # 1 GiB: larger than any one activation of a forward pass within --max_memory
GROW_BYTES = 64 << 20   # 64 MiB: the heap grows to its high-water mark in a few steps, not in 128 KiB ones
GLIBC_MMAP_THRESHOLD = 128 << 10   # glibc's initial mmap and trim thresholds (mallopt(3))
KEPT = {}               # the settings keep_freed_memory applied to this process's malloc, which is process-wide


def keep_freed_memory(keep_bytes=KEEP_BYTES, grow_bytes=GROW_BYTES):
    """Tell glibc malloc to serve blocks below `keep_bytes` from the heap, keep that much freed memory and
    grow the heap `grow_bytes` at a time; True when it took effect, False where the C library has no
    `mallopt` or refuses (macOS; musl's is a stub).  Call it before loading the network: the copies that
    loading and BatchNorm folding make then reuse each other's memory too."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    kept = all([mallopt(M_MMAP_THRESHOLD, keep_bytes), mallopt(M_TRIM_THRESHOLD, keep_bytes),
                mallopt(M_TOP_PAD, grow_bytes)])
    if kept:
        KEPT.update(keep_bytes=keep_bytes, grow_bytes=grow_bytes, mallopt=mallopt)
    return kept


@contextlib.contextmanager
def returning_freed_memory():
    """Within: glibc's own thresholds (blocks above 128 KiB mapped alone and unmapped when freed); after:
    keep_freed_memory's again, where it was applied.  For a one-off pass larger than the passes after it
    (the statistics copy of a tiled image, image_norm.whole_image_statistics): kept on the heap, its
    freed blocks fragment it and raise the peak far above the activations' (docs/performance.md,
    "Inference")."""
    if not KEPT:
        yield
        return
    mallopt = KEPT["mallopt"]
    mallopt(M_MMAP_THRESHOLD, GLIBC_MMAP_THRESHOLD)
    mallopt(M_TRIM_THRESHOLD, GLIBC_MMAP_THRESHOLD)
    try:
        yield
    finally:
        keep_freed_memory(KEPT["keep_bytes"], KEPT["grow_bytes"])
