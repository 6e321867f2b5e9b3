"""The table of host patches: one row per host attribute the plugin wraps, and the module aliases.

Each row names the host module, the owner inside it ('' for the module itself,
or a class), the attribute, and the wrapper: `wrapper(original, module)`
returns the replacement, or None to leave the host as it is (e.g. a module that
is not the one we know how to extend).  An attribute wrapped once is never
wrapped again (the replacement carries `_mrff_original`).  The wrappers call
the original for everything that is not the plugin's, and know no generator by
name: they ask the registry (`mrff_plugin.networks`).
"""
import functools
import inspect
from dataclasses import dataclass
from typing import Callable

from ..errors import MrffError, host_error
from .handoff import hand_over, handed_over

# Host module names the host looks up -> the plugin module that provides them.
ALIASES = {
    "data.kaist_aligned_dataset": "mrff_plugin.datasets.kaist_aligned",
    "models.mrff_pix2pix_model": "mrff_plugin.training.mrff_pix2pix",
}
# Generator names of the upstream toolkit (host-contract.md, "Generators"), for hosts without a table.
CONTRACT_GENERATORS = ("resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128")


@dataclass(frozen=True)
class Patch:
    module: str         # the host module, e.g. 'models.networks'
    owner: str          # '' (the module) or the name of a class in it
    attribute: str      # the attribute replaced
    wrapper: Callable   # wrapper(original, module) -> replacement, or None to leave it

    def apply(self, module, replace):
        """Wrap the attribute in the freshly loaded host `module`; `replace(owner, name, new)` sets it."""
        owner = getattr(module, self.owner, None) if self.owner else module
        original = getattr(owner, self.attribute, None) if owner is not None else None
        if not callable(original) or hasattr(original, "_mrff_original"):
            return
        new = self.wrapper(original, module)
        if new is not None:
            new._mrff_original = original
            replace(owner, self.attribute, new)


class UnknownGeneratorError(MrffError, NotImplementedError):
    """--netG names no generator of the host or the plugin (a NotImplementedError, as the host raises)."""


# ------------------------------------------------------------------ models.networks.define_G

def wrap_define_G(original, networks):
    """define_G that builds plugin generators by name and defers to `original` for the rest.

    Classic hosts (`define_G(..., gpu_ids)`) get the plugin generator through the
    host's own `networks.init_net` -- initialised and placed; newer hosts (no
    `gpu_ids`) get it uninitialised, as their `BaseModel.setup` initialises.
    The generator's own flags come from the handed-over options.
    """
    if not callable(getattr(networks, "get_norm_layer", None)):
        return None  # not the pix2pix networks module we know how to extend
    signature = inspect.signature(original)
    classic = "gpu_ids" in signature.parameters  # classic era: define_G initialises and places

    @functools.wraps(original)
    def define_G(*args, **kwargs):
        from ..networks import build_generator, generator_flags, generator_names
        try:
            call = signature.bind(*args, **kwargs)
        except TypeError:
            return original(*args, **kwargs)  # let the host report its own misuse
        call.apply_defaults()
        arg = call.arguments
        name = arg.get("netG")
        if name in generator_names():
            opt = handed_over()
            flags = generator_flags(name, opt) if opt is not None else {}
            norm_layer = networks.get_norm_layer(norm_type=arg["norm"])
            net = build_generator(name, arg["input_nc"], arg["output_nc"], arg["ngf"], norm_layer,
                                  arg["use_dropout"], **flags)
            if isinstance(getattr(net, "config", None), dict):
                net.config["norm"] = arg["norm"]
            if classic:
                return networks.init_net(net, arg["init_type"], arg["init_gain"], arg["gpu_ids"])
            return net
        try:
            return original(*args, **kwargs)
        except NotImplementedError:
            table = getattr(networks, "GENERATORS", None)
            host_names = tuple(table) if isinstance(table, dict) else CONTRACT_GENERATORS
            if name in host_names:
                raise  # not about the name (e.g. an unknown --norm)
            valid = ", ".join(list(host_names) + generator_names())
            raise host_error(UnknownGeneratorError(
                f"--netG {name} is not a known generator; pass --netG with one of: {valid}.")) from None

    return define_G


# ------------------------------------------------------------------ options.base_options.BaseOptions

def add_plugin_options(parser):
    """List the plugin generators in `--netG`'s help (and its argparse choices, where the host has them) and add
    each one's flags and the gallery's (once per parser)."""
    from ..networks import OPTIONS, generator_names
    from ..palettes import PALETTES
    netG = parser._option_string_actions.get("--netG")
    names = " | ".join(generator_names()) + " (mrff plugin)"
    if netG is not None and names not in (netG.help or ""):
        text = (netG.help or "generator architecture:").rstrip()
        # 'architecture: a | b' -> '... | b | unetpp_fusion (mrff plugin)'; '[a | b]' -> '[a | b | ...]'
        netG.help = f"{text[:-1]} | {names}]" if text.endswith("]") else f"{text} | {names}"
    if netG is not None and netG.choices is not None:   # hosts that list their own (CUT): add ours
        netG.choices = list(netG.choices) + [name for name in generator_names() if name not in netG.choices]
    if getattr(parser, "_mrff_options_added", False):
        return parser
    parser._mrff_options_added = True
    for name in generator_names():
        OPTIONS[name].add_options(parser)
    group = parser.add_argument_group("mrff plugin (test.py gallery)")
    group.add_argument("--gallery_palette", choices=PALETTES, default="grey",
                       help="test.py gallery: also show fake_B and real_B in this thermal palette "
                            "(<stem>_fake_B_<palette>.png beside the grey PNGs)")
    return parser


def wrap_initialize(original, base_options):
    @functools.wraps(original)
    def initialize(self, parser):
        return add_plugin_options(original(self, parser))
    return initialize


def wrap_parse(original, base_options):
    """parse that hands the parsed options over (handoff.py) and runs the chosen plugin generator's check."""
    @functools.wraps(original)
    def parse(self, *args, **kwargs):
        from ..networks import OPTIONS
        opt = original(self, *args, **kwargs)
        hand_over(opt)
        if getattr(opt, "netG", None) in OPTIONS:
            try:
                OPTIONS[opt.netG].check(opt, getattr(self, "parser", None))
            except MrffError as exc:   # printed by the host as its own one-line error, where it has one
                raise host_error(exc) from None
        return opt
    return parse


# ------------------------------------------------------------------ util.visualizer.save_images (test gallery)

def wrap_save_images(original, visualizer):
    """`save_images` that captions each test-gallery row with SSIM/PSNR and adds a summary (gallery.py)."""
    from .gallery import wrap_save_images as captioned
    return captioned(original, palette=lambda: getattr(handed_over(), "gallery_palette", "grey"))


# ------------------------------------------------------------------ data / models: "choose one of" lists

def list_aliases_too(package, suffix):
    """A wrapper for a host package's `available_*()` list of its `<name><suffix>.py` files (the bundled host's
    `available_dataset_modes` / `available_models`, used in its unknown-name errors): the names ALIASES adds to
    that package are listed too."""
    def wrapper(listing, module):
        @functools.wraps(listing)
        def available():
            aliased = {full[len(package) + 1: -len(suffix)] for full in ALIASES
                       if full.startswith(package + ".") and full.endswith(suffix)}
            return sorted(set(listing()) | aliased)
        return available
    return wrapper


PATCHES = (
    Patch("data", "", "available_dataset_modes", list_aliases_too("data", "_dataset")),
    Patch("models", "", "available_models", list_aliases_too("models", "_model")),
    Patch("models.networks", "", "define_G", wrap_define_G),
    Patch("options.base_options", "BaseOptions", "initialize", wrap_initialize),
    Patch("options.base_options", "BaseOptions", "parse", wrap_parse),
    Patch("util.visualizer", "", "save_images", wrap_save_images),
)
