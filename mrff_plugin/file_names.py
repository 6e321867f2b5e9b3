"""How many bytes one file name may have where the plugin writes it.

`mrff generate` checks its output names against it, and `kaist_aligned` checks the names `test.py`
will give each test pair's result images, before either writes anything.  Only the standard library.
"""
import os

NAME_MAX = 255   # bytes of one file name where the file system does not say (os.pathconf): ext4, XFS, btrfs


def name_limit(folder):
    """Bytes one file name may have in `folder` (or its nearest existing parent)."""
    folder = os.path.abspath(folder)
    while not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return NAME_MAX
