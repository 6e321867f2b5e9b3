"""Autoload: attach the plugin when a pix2pix/CycleGAN host's `models` or `data` package is imported.

The `mrff_plugin_autoload.pth` file that `setup.py` installs into site-packages
runs `mrff_plugin.attach.autoload.install()` at every interpreter start.  That
only puts `AutoloadFinder` at the front of `sys.meta_path`: importing this
module and installing the finder import nothing beyond `os` and `sys` (torch and
the rest of the plugin are not touched; see README for the measured cost).

When a top-level `models` or `data` package is about to be imported, the
finder looks (on the file system, without importing anything) whether the
folder it comes from is a pix2pix-style checkout (`layout.is_host_root`); only
then does it call `mrff_plugin.attach.register()`.  Any other `models`/`data`
package is left alone.  Set MRFF_NO_AUTOLOAD=1 to switch it off.
"""
import os
import sys

from .layout import is_host_root

ENV_SWITCH = "MRFF_NO_AUTOLOAD"
WATCHED = ("models", "data")  # train.py / test.py import these first


def disabled():
    """True when MRFF_NO_AUTOLOAD is set to anything but '' or '0'."""
    return os.environ.get(ENV_SWITCH, "") not in ("", "0")


class AutoloadFinder:
    """Never finds a module itself; it only notices the host's packages being looked for."""

    def find_spec(self, fullname, path=None, target=None):
        if path is not None or fullname not in WATCHED:
            return None
        from importlib.machinery import PathFinder  # only now, when a `models`/`data` import starts
        spec = PathFinder.find_spec(fullname)
        if spec is None or not spec.origin:
            return None
        root = os.path.dirname(os.path.dirname(spec.origin))
        if is_host_root(root):
            uninstall()
            from . import find_host_spec, register
            register(root=root, quiet=True)
            # The import machinery has already passed the place where register() put its own finder, so ask
            # it here: the package comes back with its patches (or None: loaded as usual).
            return find_host_spec(fullname)
        return None  # the normal machinery imports the package


def install():
    """Put the finder first in sys.meta_path (once), unless MRFF_NO_AUTOLOAD is set."""
    if disabled() or any(isinstance(f, AutoloadFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, AutoloadFinder())


def uninstall():
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, AutoloadFinder)]
