"""Attaching the plugin to a pix2pix/CycleGAN-style host that has no plugin mechanism.

The host (a checkout whose `train.py` imports the top-level packages `models`,
`data`, `options`) builds generators with a hard-coded `models.networks.define_G`
and finds models/datasets by module name.  In the order a reader meets it:

1. finding the host (`layout.py`): a folder is a host when it has HOST_LAYOUT and
   the signatures the patches rely on (CONTRACT, read from the source: a project
   with the same layout but e.g. `BaseOptions.initialize(self)`, NVIDIA's
   pix2pixHD, is left alone);
   `register()` attaches to the one `import models` would load (or `root`).
   The three ways in all end here: the autoload (`autoload.py`, installed by a
   `.pth` file, attaches when such a folder's `models`/`data` is imported), the
   runner (`python -m mrff_plugin train.py ...`) and an explicit
   `mrff_plugin.register()`.
2. the import hook (`hook.py`): one `sys.meta_path` finder that patches host
   modules as they finish loading and serves the module aliases, so `register()`
   may run before or after the host is imported.  Only modules inside the host
   folder are touched: any other `models`/`data` package is left alone.
3. the table of patches (`patches.py`), one row per host attribute:
   - `models.networks.define_G` is wrapped (the original is kept and called for
     every other name): a `--netG` name in the plugin's registry
     (`mrff_plugin.networks`, e.g. `unetpp_fusion`) is built by `networks.build`,
     initialised and placed by the host's own `init_net` on classic hosts
     (`define_G(..., gpu_ids)`), uninitialised on newer ones; an unknown name
     raises an error listing host + plugin names;
   - `models.create_model(opt)`: while the host builds the model, `opt.netG` is a
     `GeneratorChoice`, the name carrying the generator's own flags from `opt` --
     the one value of the host's positional `define_G` call that can carry them;
   - `options.base_options.BaseOptions.initialize` adds each registered
     generator's own flags (`--mrff_arch`, `--mrff_fusion`, `--mrff_channels`)
     and `--gallery_palette` for every model, and lists the plugin names in
     `--netG`'s help; `parse` runs the chosen generator's option check;
   - the test.py gallery (`gallery.py`): `util.visualizer.save_images` scores fake_B
     against real_B, `util.html.HTML.add_images` / `.save` write the SSIM/PSNR caption
     and the page's summary line, `models.base_model.BaseModel.get_current_visuals`
     adds the `--gallery_palette` copies in a test run (the model has the options);
   - where the host lists its `--dataset_mode`/`--model` names in its
     unknown-name error (the bundled host's `data.available_dataset_modes`,
     `models.available_models`), the aliased names are listed too.
   ALIASES makes `data.kaist_aligned_dataset` and `models.mrff_pix2pix_model`
   importable under the host's packages, lazily: the aliased module is the same
   object under both names and an attribute of the host package, so
   `importlib.import_module` -- the host's `--model`/`--dataset_mode` lookup --
   finds it.

`register()` is idempotent and `unregister()` undoes it.  This package imports
neither torch nor the host at import.
"""
import os
import warnings

_attached = None   # the HostFinder of the host attached to, or None


def register(root=None, quiet=False):
    """Attach the plugin to the host checkout `root` (default: the one `import models` finds).

    Returns True when attached (or already attached).  Without a pix2pix-style
    host -- its layout (HOST_LAYOUT) and the signatures the patches rely on
    (`layout.contract_misfit`) -- it does nothing and returns False, with a
    warning saying why unless `quiet`.
    """
    if _attached is not None:
        return True
    from .layout import HOST_LAYOUT, contract_misfit, host_on_sys_path, is_host_root, not_attached
    root = os.path.abspath(root) if root else host_on_sys_path()
    if root is None or not is_host_root(root):
        if not quiet:
            where = root or "sys.path"
            warnings.warn(f"mrff_plugin.register(): no pix2pix/CycleGAN-style host found at {where} "
                          f"(needs {', '.join(HOST_LAYOUT)}); run from the toolkit checkout or put it on "
                          f"sys.path. Nothing was attached.", stacklevel=2)
        return False
    misfit = contract_misfit(root)
    if misfit is not None:
        if not quiet:
            warnings.warn(f"mrff_plugin.register(): {not_attached(root, misfit)}.", stacklevel=2)
        return False
    attach_checked(root)
    return True


def attach_checked(root):
    """Attach to `root`, a folder already known to be a host (layout and contract); see register()."""
    global _attached
    from .hook import HostFinder
    from .patches import ALIASES, PATCHES
    _attached = HostFinder(root, ALIASES, PATCHES)
    _attached.install()


def unregister():
    """Undo `register()`: restore the host's functions, drop the aliases and the finder."""
    global _attached
    if _attached is not None:
        _attached.uninstall()
        _attached = None


def is_registered():
    return _attached is not None


def attached():
    """The HostFinder of the host attached to (its .root, .replaced, .aliased), or None."""
    return _attached


def find_host_spec(fullname):
    """The module spec the attached host's finder gives `fullname` (a patched host module, an alias), or None."""
    return _attached.find_spec(fullname) if _attached is not None else None
