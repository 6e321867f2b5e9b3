"""The table of host patches: one row per host attribute the plugin wraps, and the module aliases.

Each row names the host module, the owner inside it ('' for the module itself,
or a class), the attribute, and the wrapper: `wrapper(original, module)`
returns the replacement, or None to leave the host as it is (e.g. a module that
is not the one we know how to extend).  An attribute wrapped once is never
wrapped again (the replacement carries `_mrff_original`).  The wrappers call
the original for everything that is not the plugin's, and know no generator by
name: they ask the registry (`mrff_plugin.networks`).
"""
import codecs
import copy
import dataclasses
import functools
import inspect
from dataclasses import dataclass
from typing import Callable

import _codecs

from ..errors import MrffError, OptionError, host_error

# Host module names the host looks up -> the plugin module that provides them.
ALIASES = {
    "data.kaist_aligned_dataset": "mrff_plugin.datasets.kaist_aligned",
    "models.mrff_pix2pix_model": "mrff_plugin.training.mrff_pix2pix",
}
# Generator names of the upstream toolkit (docs/architecture.md, "The host contract"), for hosts without a table.
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


# ------------------------------------------------------------------ models.create_model, models.networks.define_G

class GeneratorChoice(str):
    """`--netG NAME` that builds NAME with the generator flags of the options it was parsed into (`.flags`,
    `networks.generator_flags` of `options`, read when the network is built).

    The host's models -- and users' own scripts -- call `define_G(opt.input_nc, opt.output_nc, opt.ngf,
    opt.netG, opt.norm, ...)` with positional values only; no argument can hold `--toy_width` or
    `--mrff_arch` except `netG` itself.  So the flags ride in that argument, on the options object they
    belong to, for its whole life: set by the host's `parse` (and `create_model`, for options made by
    hand), read from that object at each build, so a value changed after parsing is built as it now is.

    Pickled (the host's `torch.save` of its options, a data-loader worker's copy) it is the plain name:
    `_codecs.encode(<name in rot13>, "rot13")`, the one reducer that returns text both plain pickle and
    `torch.load(weights_only=True)` accept.  A deep copy of the options keeps it, bound to the copy.
    """
    def __new__(cls, name, options=None):
        choice = super().__new__(cls, name)
        choice.options = options
        return choice

    @property
    def flags(self):
        from ..networks import generator_flags
        return generator_flags(str(self), self.options) if self.options is not None else {}

    def __reduce__(self):
        return _codecs.encode, (codecs.encode(str(self), "rot13"), "rot13")

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return GeneratorChoice(str(self), copy.deepcopy(self.options, memo))


def bind_generator_flags(opt):
    """Make `opt.netG`, when it names a plugin generator, a GeneratorChoice bound to `opt`; returns `opt`."""
    name = getattr(opt, "netG", None)
    if getattr(name, "options", None) is opt:
        return opt
    from ..networks import generator_names
    if isinstance(name, str) and name in generator_names():
        opt.netG = GeneratorChoice(str(name), opt)
    return opt


def wrap_create_model(original, models):
    """create_model(opt) whose model gets, for a plugin `--netG`, that generator's flags with `opt.netG`
    (a GeneratorChoice bound to `opt`, for options not made by the host's parse)."""
    @functools.wraps(original)
    def create_model(opt, *args, **kwargs):
        return original(bind_generator_flags(opt), *args, **kwargs)
    return create_model


def wrap_define_G(original, networks):
    """define_G that builds plugin generators by name (`networks.build`) and defers to `original` for the rest.

    Classic hosts (`define_G(..., gpu_ids)`) get the plugin generator through the
    host's own `networks.init_net` -- initialised and placed; newer hosts (no
    `gpu_ids`) get it uninitialised, as their `BaseModel.setup` initialises.
    The generator's own flags come with `netG` (a GeneratorChoice, from the host's parse or create_model); a
    plain name (a script's own string) builds it with their defaults.
    """
    if not callable(getattr(networks, "get_norm_layer", None)):
        return None  # not the pix2pix networks module we know how to extend
    signature = inspect.signature(original)
    classic = "gpu_ids" in signature.parameters  # classic era: define_G initialises and places

    @functools.wraps(original)
    def define_G(*args, **kwargs):
        from ..networks import build, generator_names
        try:
            call = signature.bind(*args, **kwargs)
        except TypeError:
            return original(*args, **kwargs)  # let the host report its own misuse
        call.apply_defaults()
        arg = call.arguments
        name = arg.get("netG")
        if name in generator_names():
            flags = {**(name.flags if isinstance(name, GeneratorChoice) else {}),
                     "ngf": arg["ngf"], "use_dropout": arg["use_dropout"]}
            net = build(str(name), arg["input_nc"], arg["output_nc"], flags,
                        networks.get_norm_layer(norm_type=arg["norm"]))
            config = getattr(net, "config", None)   # a frozen dataclass (networks/unetpp_fusion.py)
            if dataclasses.is_dataclass(config) and hasattr(config, "norm"):
                net.config = dataclasses.replace(config, norm=arg["norm"])
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


# ------------------------------------------------------------------ models.base_model.BaseModel.load_networks

def read_saved_state(path):
    """A state file's dict (torch.load, weights_only), or {} when it is unreadable (the host's loading says so)."""
    import torch
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:   # truncated or foreign: the host's own loading reports it next
        return {}


class SavedOptionsError(MrffError, ValueError):
    """A generator flag of test.py / --continue_train contradicts the options saved with the checkpoint."""


def wrap_load_networks(original, base_model):
    """load_networks(epoch) that first refuses generator flags contradicting the options saved with that checkpoint
    where they build another network (`checkpoint_flags.contradictions`): `--norm none` for a network trained
    with `--norm instance` loads the same weights into another network, with no error from the host."""
    networks = getattr(base_model, "networks", None)
    if not callable(getattr(networks, "get_norm_layer", None)):
        return None

    @functools.wraps(original)
    def load_networks(self, epoch, *args, **kwargs):
        import os

        from ..networks.checkpoint_flags import (HOST_GENERATOR_FLAGS, contradiction_sentence, contradictions,
                                                 own_flags, saved_options)
        opt, save_dir = getattr(self, "opt", None), getattr(self, "save_dir", None)
        generators = [name for name in getattr(self, "model_names", ()) if str(name).startswith("G")]
        saved, source = ({}, None) if opt is None or not save_dir else saved_options(
            os.path.join(save_dir, f"{epoch}_state.pth"), save_dir, read_saved_state)
        if generators and "netG" in saved and "norm" in saved:
            given = {flag: value for flag, value in vars(opt).items() if value is not None}
            flags = HOST_GENERATOR_FLAGS + own_flags(saved["netG"]) + own_flags(str(given.get("netG")))
            weights = os.path.join(save_dir, f"{epoch}_net_{generators[0]}.pth")
            for flag, was, now in contradictions(networks, saved, given, dict.fromkeys(flags)):
                fix = f"pass --{flag} {was}" if not isinstance(was, bool) else "pass it"
                raise host_error(SavedOptionsError(contradiction_sentence(flag, was, now, source, weights, fix)))
        return original(self, epoch, *args, **kwargs)
    return load_networks


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
    """parse that runs the chosen plugin generator's option check on the parsed options and binds its flags to
    `opt.netG` (GeneratorChoice), so any later `define_G(..., opt.netG, ...)` builds what they say."""
    @functools.wraps(original)
    def parse(self, *args, **kwargs):
        from ..networks import OPTIONS
        opt = original(self, *args, **kwargs)
        if getattr(opt, "netG", None) in OPTIONS:
            try:
                OPTIONS[opt.netG].check(opt, getattr(self, "parser", None))
            except MrffError as exc:   # printed by the host as its own one-line error, where it has one
                raise host_error(exc) from None
        return bind_generator_flags(opt)
    return parse


def check_gpu_ids(opt):
    """OptionError unless --gpu_ids (where the host has it) is comma-separated integers ('0', '0,1', '-1')."""
    text = getattr(opt, "gpu_ids", None)
    if not isinstance(text, str):
        return
    try:
        [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise OptionError(f"--gpu_ids {text} is not a list of GPU numbers; pass them separated by commas (0, or "
                          f"0,1), or -1 for the CPU.") from None


def wrap_gather_options(original, base_options):
    """gather_options whose values the plugin checks before the host reads them (its parse turns --gpu_ids into
    numbers, then writes the run folder): --gpu_ids, and --preprocess modes only kaist_aligned reads."""
    @functools.wraps(original)
    def gather_options(self, *args, **kwargs):
        from ..datasets.framing import check_dataset_mode
        opt = original(self, *args, **kwargs)
        try:
            check_gpu_ids(opt)
            check_dataset_mode(opt)
        except MrffError as exc:   # printed by the host as its own one-line error, where it has one
            raise host_error(exc) from None
        return opt
    return gather_options


def wrap_create_dataset(original, data):
    """create_dataset(opt) that reads the first item once where the images' own sizes reach the generator
    (--preprocess none / scale_width) and refuses sides --netG cannot take (framing.check_first_item), before
    training or testing starts."""
    @functools.wraps(original)
    def create_dataset(opt, *args, **kwargs):
        from ..datasets.framing import check_first_item
        loader = original(opt, *args, **kwargs)
        try:
            check_first_item(opt, getattr(loader, "dataset", None))
        except MrffError as exc:
            raise host_error(exc) from None
        return loader
    return create_dataset


# ------------------------------------------------------------------ the test.py gallery (gallery.py)

def wrap_get_current_visuals(original, base_model):
    """get_current_visuals that, in a test run (not isTrain), adds fake_B/real_B in the model's
    `--gallery_palette` (gallery.with_palette), so test.py's gallery rows show them."""
    @functools.wraps(original)
    def get_current_visuals(self, *args, **kwargs):
        from .gallery import with_palette
        visuals = original(self, *args, **kwargs)
        if getattr(self, "isTrain", True):
            return visuals
        return with_palette(visuals, getattr(getattr(self, "opt", None), "gallery_palette", "grey"))
    return get_current_visuals


def wrap_save_images(original, visualizer):
    """`save_images` that scores each test-gallery row (gallery.scored_save_images)."""
    from .gallery import scored_save_images
    return scored_save_images(original)


def wrap_page_method(name):
    """A wrapper for `util.html.HTML.<name>` (`save` / `add_images`): gallery.py's version of it."""
    def wrapper(original, html):
        from . import gallery
        return getattr(gallery, f"page_{name}")(original)
    return wrapper


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
    Patch("data", "", "create_dataset", wrap_create_dataset),
    Patch("models", "", "create_model", wrap_create_model),
    Patch("models.networks", "", "define_G", wrap_define_G),
    Patch("models.base_model", "BaseModel", "get_current_visuals", wrap_get_current_visuals),
    Patch("models.base_model", "BaseModel", "load_networks", wrap_load_networks),
    Patch("options.base_options", "BaseOptions", "initialize", wrap_initialize),
    Patch("options.base_options", "BaseOptions", "parse", wrap_parse),
    Patch("options.base_options", "BaseOptions", "gather_options", wrap_gather_options),
    Patch("util.visualizer", "", "save_images", wrap_save_images),
    Patch("util.html", "HTML", "add_images", wrap_page_method("add_images")),
    Patch("util.html", "HTML", "save", wrap_page_method("save")),
)
