"""sha256 of a file, read in blocks: how the metrics' network files (Inception, ImageNet backbones) are checked."""
import hashlib


def sha256_of(path, block_size=1 << 22):
    """Hex sha256 digest of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(block_size), b""):
            digest.update(block)
    return digest.hexdigest()
