"""`mrff generate`: a trained generator applied to a whole folder tree of visible images.

Reading order:
  image_norm.py  BatchNorm by each image's own statistics, as test.py runs it (the default)
  network.py  the checkpoint -> the generator, rebuilt from its saved options through
              the host's `define_G` (plugin attached), ready for inference
  files.py    which images to do: the input tree, the output path of each, resume, shards
  options.py  GenerateOptions: what the run does to every image, settled once from the flags
  engine.py   the batched loop: the network runs; images are decoded and PNGs written
              atomically by a thread pool between its passes (CPU), or beside them (GPU)
  attention.py  --save_attention: the fusion weights of Fig. 13-14, a second pass tiled as the first
  allocator.py  freed activation memory kept in the process (glibc mallopt) between batches
"""
from ..errors import MrffError

# --norm_stats of `mrff generate` and `mrff export` (image_norm.py): each image's own BatchNorm statistics, as the
# host's test.py runs pix2pix, or the running statistics of training, as test.py --eval.
NORM_STATS = ("image", "running")


class GenerateError(MrffError):
    """A problem the user can fix (missing checkpoint, empty folder, unreadable image).

    The message is one sentence naming the file or flag and the fix.
    """
