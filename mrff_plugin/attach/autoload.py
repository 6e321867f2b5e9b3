"""Autoload: attach the plugin when a pix2pix/CycleGAN host's `models` or `data` package is imported.

The `mrff_plugin_autoload.pth` file that `setup.py` installs into site-packages
runs `mrff_plugin.attach.autoload.install()` at every interpreter start.  That
only puts `AutoloadFinder` at the front of `sys.meta_path`: importing this
module and installing the finder import nothing beyond `os` and `sys` (torch and
the rest of the plugin are not touched; see docs/attaching.md for the measured cost).

When a top-level `models` or `data` package is about to be imported, the
finder looks (on the file system, without importing anything) whether the
folder it comes from is a pix2pix-style checkout: its layout (`layout.is_host_root`),
then the signatures the patches rely on (`layout.contract_misfit`, parsed, not
imported); only then does it attach.  Any other `models`/`data` package is left
alone, silently -- unless the command line asks for a plugin name there
(`--netG unetpp_fusion`), which then gets one line on stderr saying why it is
not available.  Set MRFF_NO_AUTOLOAD=1 to switch it off.
"""
import os
import sys

from .layout import is_host_root

ENV_SWITCH = "MRFF_NO_AUTOLOAD"
WATCHED = ("models", "data")  # train.py / test.py import these first
# The values of these flags that name the plugin's generator, dataset and model, known without importing the
# registry (torch); tests/test_reliability_neighbours.py checks them against the registry and patches.ALIASES.
ASKING_FLAGS = ("--netG", "--dataset_mode", "--model")
PLUGIN_NAMES = ("unetpp_fusion", "kaist_aligned", "mrff_pix2pix")


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
        if not is_host_root(root):
            return None  # the normal machinery imports the package
        uninstall()
        from .layout import contract_misfit, not_attached
        misfit = contract_misfit(root)
        if misfit is not None:   # the toolkit's layout, other signatures: not ours to patch
            asked = asked_for_plugin(sys.argv)
            if asked:
                print(f"mrff: {not_attached(root, misfit)}; {asked} is not available here.", file=sys.stderr)
            return None
        from . import attach_checked, find_host_spec
        attach_checked(root)
        # The import machinery has already passed the place where attach_checked() put its own finder, so ask
        # it here: the package comes back with its patches (or None: loaded as usual).
        return find_host_spec(fullname)


def asked_for_plugin(argv):
    """The plugin name `argv` asks for with an ASKING_FLAGS flag (`--netG unetpp_fusion`, `--model=...`), or None."""
    for flag, value in zip(argv, list(argv[1:]) + [None]):
        name, equals, given = flag.partition("=")
        if name in ASKING_FLAGS and (given if equals else value) in PLUGIN_NAMES:
            return given if equals else value
    return None


def install():
    """Put the finder first in sys.meta_path (once), unless MRFF_NO_AUTOLOAD is set."""
    if disabled() or any(isinstance(f, AutoloadFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, AutoloadFinder())


def uninstall():
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, AutoloadFinder)]
