"""mrff: the paper's multi-receptive-field fusion pix2pix, as a plugin for
pix2pix/CycleGAN-style toolkits.

Ma, Hua, Zuo, "Infrared Image Generation By Pix2pix Based on Multi-receptive
Field Feature Fusion", ICCAIS 2021.

Importing this package is cheap (no torch); `register()` attaches the plugin to
whichever host toolkit's `models`/`data` packages are importable.
"""
__version__ = "0.1.0"


def register(root=None, quiet=False):
    """Attach the plugin to the pix2pix-style host checkout `root` (default: the one on sys.path).

    Idempotent; returns True when attached, False (with a warning unless `quiet`)
    when there is no such host.  See `mrff_plugin.attach` for what it changes.
    """
    from .attach import register as _register
    return _register(root, quiet)


def unregister():
    """Undo `register()` (for tests)."""
    from .attach import unregister as _unregister
    return _unregister()
