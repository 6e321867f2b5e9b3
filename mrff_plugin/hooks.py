"""Attaching the plugin to a pix2pix/CycleGAN-style host that has no plugin mechanism.

The host (a checkout whose `train.py` imports the top-level packages `models`,
`data`, `options`) builds generators with a hard-coded `models.networks.define_G`
and finds models/datasets by module name.  `register()` therefore:

1. wraps `models.networks.define_G` (the original is kept and called for every
   other name): `netG='unetpp_fusion'` (any name in `mrff_plugin.networks`)
   builds the plugin generator.  Classic hosts (`define_G(..., gpu_ids)`) get it
   through the host's own `networks.init_net` -- initialised and placed; newer
   hosts (no `gpu_ids`) get it uninitialised, as their `BaseModel.setup`
   initialises.  An unknown name raises an error listing host + plugin names.
2. wraps `options.base_options.BaseOptions`: `initialize` adds the plugin's
   flags (`--mrff_arch`, `--mrff_fusion`, `--mrff_channels`) for every model and
   appends the plugin names to `--netG`'s help; `parse` keeps the parsed options,
   because the host calls `define_G` without them, and prints one warning line
   when `--mrff_arch released` is given host flags it ignores (IGNORED_BY_RELEASED).
3. makes the plugin's modules importable under the host's package names (ALIASES),
   lazily: the aliased module is the same object under both names and an
   attribute of the host package, so `importlib.import_module` -- the host's
   `--model`/`--dataset_mode` lookup -- finds it.
4. wraps `util.visualizer.save_images` (test.py's gallery rows): fake_B gets its
   SSIM/PSNR as caption and the page a summary line (`mrff_plugin.gallery`).
5. where the host lists its `--dataset_mode`/`--model` names in its unknown-name
   error (the bundled host's `data.available_dataset_modes`,
   `models.available_models`), adds the aliased names to those lists.

Host modules imported later are patched as they finish loading (a `sys.meta_path`
finder watches for them), so `register()` may run before or after the host is
imported.  Only a folder with the host layout (HOST_LAYOUT) is touched: any other
`models`/`data` package is left alone.  `register()` is idempotent and
`unregister()` undoes it.  This module imports neither torch nor the host at import.
"""
import contextlib
import functools
import importlib
import importlib.util
import inspect
import os
import sys
import warnings
from importlib.machinery import PathFinder

from ._autoload import HOST_LAYOUT, is_host_root
from .errors import MrffError, OptionError, host_error

# Host module names the host looks up -> the plugin module that provides them.
ALIASES = {
    "data.kaist_aligned_dataset": "mrff_plugin.data.kaist_aligned",
    "models.mrff_pix2pix_model": "mrff_plugin.models.mrff_pix2pix",
}
# Generator names of the upstream toolkit (host-contract.md, "Generators"), for hosts without a table.
CONTRACT_GENERATORS = ("resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128")
# The plugin's own flags, passed from the parsed options to the generator builders.
PLUGIN_FLAGS = ("mrff_arch", "mrff_fusion", "mrff_channels")
# Host flags the authors' released network does not read (it has no norm, no dropout, fixed widths).
IGNORED_BY_RELEASED = ("norm", "no_dropout", "ngf")


class _State:
    root = None        # the host checkout registered with, or None
    finder = None      # the _HostFinder in sys.meta_path
    opt = None         # the host's last parsed options (captured by BaseOptions.parse)
    replaced = []      # (owner, attribute, previous value or _MISSING, new value), for unregister()
    aliased = []       # alias names loaded into sys.modules


_MISSING = object()


# ------------------------------------------------------------------ finding the host

def find_host_root():
    """The host checkout whose `models` package is (or would be) imported, or None."""
    models = sys.modules.get("models")
    if models is not None:
        origin = getattr(models, "__file__", None)
    else:
        spec = PathFinder.find_spec("models")  # sys.path only; imports nothing
        origin = spec.origin if spec is not None else None
    if not origin:
        return None
    root = os.path.dirname(os.path.dirname(os.path.abspath(origin)))
    return root if is_host_root(root) else None


def _in_host(module_or_path):
    """True when a module (or file) lives inside the registered host checkout."""
    path = module_or_path if isinstance(module_or_path, str) else getattr(module_or_path, "__file__", None)
    if not path or _State.root is None:
        return False
    return os.path.realpath(path).startswith(os.path.realpath(_State.root) + os.sep)


# ------------------------------------------------------------------ register / unregister

def register(root=None, quiet=False):
    """Attach the plugin to the host checkout `root` (default: the one `import models` finds).

    Returns True when attached (or already attached).  Without a pix2pix-style
    host it does nothing and returns False, with a warning saying why unless `quiet`.
    """
    if _State.root is not None:
        return True
    root = os.path.abspath(root) if root else find_host_root()
    if root is None or not is_host_root(root):
        if not quiet:
            where = root or "sys.path"
            warnings.warn(f"mrff_plugin.register(): no pix2pix/CycleGAN-style host found at {where} "
                          f"(needs {', '.join(HOST_LAYOUT)}); run from the toolkit checkout or put it on "
                          f"sys.path. Nothing was attached.", stacklevel=2)
        return False
    _State.root = root
    _State.finder = _HostFinder()
    sys.meta_path.insert(0, _State.finder)
    for name, patch in PATCHES.items():  # host modules imported before register()
        module = sys.modules.get(name)
        if module is not None and _in_host(module):
            patch(module)
    return True


def find_host_spec(fullname):
    """The module spec the registered hooks give `fullname` (a patched host module, an alias), or None."""
    return _State.finder.find_spec(fullname) if _State.finder is not None else None


def unregister():
    """Undo `register()`: restore the host's functions, drop the aliases and the finder."""
    for owner, attribute, previous, new in reversed(_State.replaced):
        current = vars(owner).get(attribute, _MISSING)
        if current is not new:
            continue  # someone wrapped it again after us; leave their wrapper in place
        if previous is _MISSING:
            delattr(owner, attribute)
        else:
            setattr(owner, attribute, previous)
    for name in _State.aliased:
        sys.modules.pop(name, None)
        parent, _, child = name.rpartition(".")
        if parent in sys.modules and child in vars(sys.modules[parent]):
            delattr(sys.modules[parent], child)
    if _State.finder in sys.meta_path:
        sys.meta_path.remove(_State.finder)
    _State.root = _State.finder = _State.opt = None
    _State.replaced, _State.aliased = [], []


def is_registered():
    return _State.root is not None


def _replace(owner, attribute, new):
    """setattr(owner, attribute, new), remembering what was there for unregister()."""
    _State.replaced.append((owner, attribute, vars(owner).get(attribute, _MISSING), new))
    setattr(owner, attribute, new)


# ------------------------------------------------------------------ errors in the host's family

class UnknownGeneratorError(MrffError, NotImplementedError):
    """--netG names no generator of the host or the plugin (a NotImplementedError, as the host raises)."""


class InputSizeError(OptionError):
    """--crop_size does not suit the chosen plugin generator."""


# ------------------------------------------------------------------ models.networks.define_G

def _host_generator_names(networks):
    table = getattr(networks, "GENERATORS", None)
    return tuple(table) if isinstance(table, dict) else CONTRACT_GENERATORS


def _plugin_options():
    """The plugin flags' values from the host's last parsed options (builder defaults when none)."""
    return {flag: getattr(_State.opt, flag) for flag in PLUGIN_FLAGS if hasattr(_State.opt, flag)}


@contextlib.contextmanager
def options_for_build(opt):
    """Inside the block, plugin generators built through `define_G` take their flags (and the
    --crop_size check) from `opt` -- e.g. a checkpoint's saved options -- not the last parse."""
    previous, _State.opt = _State.opt, opt
    try:
        yield
    finally:
        _State.opt = previous


def _check_crop_size():
    """Fail at build time, not at the first batch, when --crop_size does not suit the generator."""
    from .networks.unetpp_fusion import check_input_size
    opt = _State.opt
    if opt is not None and "crop" in str(getattr(opt, "preprocess", "")) and hasattr(opt, "crop_size"):
        try:
            check_input_size(opt.crop_size, opt.crop_size)
        except ValueError as exc:
            raise host_error(InputSizeError(str(exc))) from None


def _wrap_define_G(networks, original):
    """define_G that builds plugin generators by name and defers to `original` for the rest."""
    signature = inspect.signature(original)
    classic = "gpu_ids" in signature.parameters  # classic era: define_G initialises and places

    @functools.wraps(original)
    def define_G(*args, **kwargs):
        from .networks import build_generator, generator_names
        try:
            call = signature.bind(*args, **kwargs)
        except TypeError:
            return original(*args, **kwargs)  # let the host report its own misuse
        call.apply_defaults()
        arg = call.arguments
        name = arg.get("netG")
        if name in generator_names():
            _check_crop_size()
            norm_layer = networks.get_norm_layer(norm_type=arg["norm"])
            net = build_generator(name, arg["input_nc"], arg["output_nc"], arg["ngf"], norm_layer,
                                  arg["use_dropout"], **_plugin_options())
            net.config["norm"] = arg["norm"]
            if classic:
                return networks.init_net(net, arg["init_type"], arg["init_gain"], arg["gpu_ids"])
            return net
        try:
            return original(*args, **kwargs)
        except NotImplementedError:
            host_names = _host_generator_names(networks)
            if name in host_names:
                raise  # not about the name (e.g. an unknown --norm)
            valid = ", ".join(list(host_names) + generator_names())
            raise host_error(UnknownGeneratorError(
                f"--netG {name} is not a known generator; pass --netG with one of: {valid}.")) from None

    define_G._mrff_original = original
    return define_G


def _patch_networks(networks):
    define_G = getattr(networks, "define_G", None)
    if not callable(define_G) or hasattr(define_G, "_mrff_original"):
        return
    if not callable(getattr(networks, "get_norm_layer", None)):
        return  # not the pix2pix networks module we know how to extend
    _replace(networks, "define_G", _wrap_define_G(networks, define_G))


# ------------------------------------------------------------------ options.base_options.BaseOptions

def _positive_int(text):
    import argparse
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of channels")
    return value


def add_plugin_options(parser):
    """Add the plugin's flags and list the plugin generators in `--netG`'s help (once per parser)."""
    from .networks import generator_names
    from .networks.unetpp_fusion import ARCHS, FUSION_MODES, MRFF_CHANNELS
    from .palettes import PALETTES
    netG = parser._option_string_actions.get("--netG")
    names = " | ".join(generator_names()) + " (mrff plugin)"
    if netG is not None and names not in (netG.help or ""):
        text = (netG.help or "generator architecture:").rstrip()
        # 'architecture: a | b' -> '... | b | unetpp_fusion (mrff plugin)'; '[a | b]' -> '[a | b | ...]'
        netG.help = f"{text[:-1]} | {names}]" if text.endswith("]") else f"{text} | {names}"
    if "--mrff_fusion" in parser._option_string_actions:
        return parser
    for flag in IGNORED_BY_RELEASED:  # say in --help what the released network does not read
        action = parser._option_string_actions.get(f"--{flag}")
        if action is not None:
            text = (action.help or "").rstrip()
            note = "no effect with --mrff_arch released"
            action.help = f"{text} ({note})" if text else note
    group = parser.add_argument_group("mrff plugin (--netG unetpp_fusion)")
    group.add_argument("--mrff_arch", choices=ARCHS, default=ARCHS[0],
                       help="paper: our reading of the paper's text and Table 1 | released: the authors' "
                            "published network (25.943 M parameters), which ignores --norm, --no_dropout "
                            "and --ngf as the release does; saved with the checkpoint")
    group.add_argument("--mrff_fusion", choices=FUSION_MODES, default=FUSION_MODES[0],
                       help="how unetpp_fusion fuses its four receptive fields X0,1..X0,4: nested pixel "
                            "attention (the paper, Fig. 6) | average (plain UNet++) | last (X0,4 only)")
    group.add_argument("--mrff_channels", type=_positive_int, default=MRFF_CHANNELS,
                       help="channels of each reduced branch f1..f4 before fusion (paper: 32)")
    group.add_argument("--gallery_palette", choices=PALETTES, default="grey",
                       help="test.py gallery: also show fake_B and real_B in this thermal palette "
                            "(<stem>_fake_B_<palette>.png beside the grey PNGs)")
    return parser


def warn_ignored_flags(opt, parser):
    """One warning line on stderr naming the host flags `--mrff_arch released` ignores that were set
    to a non-default value (the parser's defaults, after the model's set_defaults)."""
    from .networks import generator_names
    if getattr(opt, "mrff_arch", None) != "released" or getattr(opt, "netG", None) not in generator_names() \
            or parser is None:
        return
    given = [f"--{flag} {getattr(opt, flag)}" if not isinstance(getattr(opt, flag), bool) else f"--{flag}"
             for flag in IGNORED_BY_RELEASED
             if hasattr(opt, flag) and getattr(opt, flag) != parser.get_default(flag)]
    if given:
        print(f"warning: --mrff_arch released ignores {', '.join(given)} (the authors' network has no "
              f"normalisation, no dropout and fixed widths).", file=sys.stderr)


def _patch_options(base_options):
    cls = getattr(base_options, "BaseOptions", None)
    if cls is None or not callable(getattr(cls, "initialize", None)) or not callable(getattr(cls, "parse", None)):
        return
    if hasattr(cls.initialize, "_mrff_original"):
        return
    original_initialize, original_parse = cls.initialize, cls.parse

    @functools.wraps(original_initialize)
    def initialize(self, parser):
        return add_plugin_options(original_initialize(self, parser))

    @functools.wraps(original_parse)
    def parse(self, *args, **kwargs):
        _State.opt = original_parse(self, *args, **kwargs)
        warn_ignored_flags(_State.opt, getattr(self, "parser", None))
        return _State.opt

    initialize._mrff_original, parse._mrff_original = original_initialize, original_parse
    _replace(cls, "initialize", initialize)
    _replace(cls, "parse", parse)


# ------------------------------------------------------------------ util.visualizer.save_images (test gallery)

def _patch_visualizer(visualizer):
    """`save_images` that captions each test-gallery row with SSIM/PSNR and adds a summary (gallery.py)."""
    save_images = getattr(visualizer, "save_images", None)
    if not callable(save_images) or hasattr(save_images, "_mrff_original"):
        return
    from .gallery import wrap_save_images
    _replace(visualizer, "save_images",
             wrap_save_images(save_images, palette=lambda: getattr(_State.opt, "gallery_palette", "grey")))


# ------------------------------------------------------------------ data / models: "choose one of" lists

def _patch_listing(attribute, package, suffix):
    """A patch for a host package whose `attribute()` lists the `<name><suffix>.py` files it holds (the
    bundled host's `available_dataset_modes` / `available_models`, used in its unknown-name errors): the
    names ALIASES adds to that package are listed too."""
    aliased = sorted(full[len(package) + 1: -len(suffix)] for full in ALIASES
                     if full.startswith(package + ".") and full.endswith(suffix))

    def patch(module):
        listing = getattr(module, attribute, None)
        if not callable(listing) or hasattr(listing, "_mrff_original"):
            return  # an upstream checkout has no such list

        @functools.wraps(listing)
        def available():
            return sorted(set(listing()) | set(aliased))

        available._mrff_original = listing
        _replace(module, attribute, available)
    return patch


# Host modules patched when they have loaded.
PATCHES = {
    "data": _patch_listing("available_dataset_modes", "data", "_dataset"),
    "models": _patch_listing("available_models", "models", "_model"),
    "models.networks": _patch_networks,
    "options.base_options": _patch_options,
    "util.visualizer": _patch_visualizer,
}


# ------------------------------------------------------------------ the import hook

class _HostFinder:
    """sys.meta_path finder: serves ALIASES and patches PATCHES modules of the registered host."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in ALIASES:
            return self._alias_spec(fullname)
        if fullname in PATCHES:
            spec = PathFinder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None and _in_host(spec.origin or ""):
                spec.loader = _PatchAfterLoad(spec.loader, PATCHES[fullname])
            return spec
        return None

    @staticmethod
    def _alias_spec(fullname):
        parent = sys.modules.get(fullname.rpartition(".")[0])
        if parent is None or not _in_host(parent):
            return None
        try:
            found = importlib.util.find_spec(ALIASES[fullname])
        except ModuleNotFoundError:
            found = None
        if found is None:
            return None  # plugin module not written/installed: the host reports the name as unknown
        return importlib.util.spec_from_loader(fullname, _AliasLoader(fullname, ALIASES[fullname]))


class _PatchAfterLoad:
    """Loader wrapper: run the real loader, put it back on the module, then patch the module."""

    def __init__(self, loader, patch):
        self.loader, self.patch = loader, patch

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.patch(module)

    def __getattr__(self, name):  # get_source, get_filename, ... as the real loader
        return getattr(self.loader, name)


class _AliasLoader:
    """Loads host module name `alias` as the plugin module `target` itself (one object, two names)."""

    def __init__(self, alias, target):
        self.alias, self.target = alias, target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self.target_spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self.target_spec  # the import system has just set the alias's spec
        _State.aliased.append(self.alias)
