"""A checkpoint -> the generator it holds, rebuilt without repeating `--netG/--norm/...`.

The host writes `<label>_net_G.pth` (a plain state_dict) and, beside it,
`<label>_state.pth` whose `opt` entry holds the training options as plain
values (host util/checkpoint.py).  The network flags -- the host's (HOST_NETWORK_FLAGS)
and, for a plugin generator, the flags it declares in the registry (`--mrff_arch`,
`--toy_width`, ...: its builder's own parameter names) -- are read from there;
failing that from the `train_opt.txt` the host's option printer wrote in the same
folder; flags given on the command line override both.  A plugin generator
(`unetpp_fusion`, as the saved `--mrff_arch`) is rebuilt by `mrff_plugin.networks.build`,
the call training used, without drawing weights the checkpoint replaces; a host
generator (`unet_256`, ...) by the host's own `models.networks.define_G`.  An upstream
checkout given as `--host` (either era) needs only that public `define_G`: it has
no `util/checkpoint.py`, so its weights are read with plain `torch.load` and its
options from `train_opt.txt`.  A checkpoint of
the older H/2-fusion layout (saved before --mrff_arch) is refused in one sentence
that names the file and says what to do; nothing is loaded half-matching.

For inference the network is switched to eval mode (no dropout) and its
BatchNorms normalise as `norm_stats` says (image_norm.py): by default each
image by its own statistics, as the host's `test.py` runs a pix2pix generator
(`--norm_stats image`); or by the running statistics of training, as
`test.py --eval` does, folded into the convolutions (`--norm_stats running`).
Either way an image's output does not depend on its batch neighbours.  The
weights are moved to the device in `channels_last` layout.
"""
import contextlib
import io
import os
import re
import sys

from . import GenerateError

# The host's options that decide a generator's shape (a plugin generator's own come from the registry).
HOST_NETWORK_FLAGS = ("netG", "norm", "ngf", "input_nc", "output_nc", "no_dropout")
NET_SUFFIX = "_net_G.pth"
OPTIONS_FILE = "train_opt.txt"


# ------------------------------------------------------------------ the command line's network flags

def add_network_flags(parser):
    """`mrff generate` / `mrff export`: the host's network flags, for a checkpoint saved without its options.
    A registered generator's own flags (`--mrff_arch`, ...) are not listed here: they pass through as the
    command's extra arguments and are parsed as the generator declares them (`network_overrides`)."""
    group = parser.add_argument_group(
        "network flags (only for checkpoints saved without their options)",
        "and the generator's own flags (e.g. --mrff_arch; see `mrff train --help`)")
    group.add_argument("--netG", default=None)
    group.add_argument("--norm", default=None)
    group.add_argument("--ngf", type=int, default=None)
    group.add_argument("--input_nc", type=int, default=None)
    group.add_argument("--no_dropout", action="store_true", default=None)


def network_overrides(args):
    """{flag: value} the command line gives for the generator: add_network_flags' (None: not given) and, from
    the extra arguments, the registered generators' own flags (`networks.given_flags`; ValueError for others)."""
    from ..networks import given_flags
    overrides = {flag: getattr(args, flag) for flag in HOST_NETWORK_FLAGS if flag != "output_nc"}
    return {**overrides, **given_flags(getattr(args, "extra", None) or ())}


# ------------------------------------------------------------------ the host

def attach_host(host=None):
    """Put the host checkout (`--host`, $MRFF_HOST or the bundled one) on sys.path, register
    the plugin, and return the host's `(models.networks, util.checkpoint or None)` modules.

    Only `models.networks.define_G` is the toolkit's public contract (both upstream eras);
    `util.checkpoint` (checkpoint sets, state files, the torn-set fallback) is the bundled
    host's own, used where the host has it and replaced by plain `torch.load` where not.
    """
    import importlib

    from .. import attach
    from ..attach.layout import find_host
    from ..errors import HostNotFound
    try:
        root = str(find_host(host))
    except HostNotFound as exc:
        raise GenerateError(str(exc)) from None
    if root not in sys.path:
        sys.path.insert(0, root)
    attach.register(root, quiet=True)
    networks = importlib.import_module("models.networks")
    if not os.path.isfile(os.path.join(root, "util", "checkpoint.py")):
        return networks, None   # an upstream checkout
    return networks, importlib.import_module("util.checkpoint")


def _load(path, host_checkpoint, reader):
    """`host_checkpoint.<reader>(path)` where the host has its checkpoint module, else torch.load of the plain
    file (weights_only: a checkpoint is data, never code); GenerateError for an unreadable file."""
    if host_checkpoint is not None:
        try:
            return getattr(host_checkpoint, reader)(path)
        except Exception as exc:  # the host's UserError: missing or unreadable file
            raise GenerateError(str(exc)) from None
    import torch
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # unpicklable, truncated or foreign file
        raise GenerateError(f"checkpoint {path} is truncated or corrupt; delete it or pick another --epoch.") from None


# ------------------------------------------------------------------ checkpoint and its options

def checkpoint_files(checkpoint, epoch="latest"):
    """(weights path, state path, folder) for `<folder>/<label>_net_G.pth`, or for a folder + epoch."""
    path = os.path.abspath(os.path.expanduser(checkpoint))
    if os.path.isdir(path):
        folder, label = path, str(epoch)
        path = os.path.join(folder, label + NET_SUFFIX)
    else:
        folder, name = os.path.split(path)
        label = name[: -len(NET_SUFFIX)] if name.endswith(NET_SUFFIX) else None
    if not os.path.isfile(path):
        raise GenerateError(f"checkpoint {path} does not exist; pass --checkpoint <run folder>/<epoch>_net_G.pth "
                            f"(or the run folder and --epoch) of a trained model.")
    state = os.path.join(folder, f"{label}_state.pth") if label is not None else None
    return path, state, folder


def newest_complete_set(host_checkpoint, weights_path, state_path, folder):
    """(weights path, state path) of the newest complete set of that label, as the bundled host's train.py
    and test.py choose it (`util.checkpoint.choose_set`: a torn set falls back, with one warning, to the
    previous one); unchanged for a host without that choice (upstream) or a file without a label."""
    choose = getattr(host_checkpoint, "choose_set", None)
    if choose is None or state_path is None:
        return weights_path, state_path
    label = os.path.basename(state_path)[: -len("_state.pth")]
    try:
        used, _ = choose(folder, label, ["G"])
    except Exception as exc:  # the host's UserError: no complete set under that label
        raise GenerateError(str(exc)) from None
    return host_checkpoint.network_path(folder, used, "G"), host_checkpoint.state_path(folder, used)


def _plain_value(text):
    """'True' -> True, '64' -> 64, '0.5' -> 0.5, 'None' -> None, anything else stays text."""
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_options_file(path):
    """{option: value} from a `train_opt.txt` ('   key: value\\t[default: d]' lines)."""
    options = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            match = re.match(r"^\s*(\w+): (.*?)(\t\[default: .*\])?\s*$", line)
            if match:
                options[match.group(1)] = _plain_value(match.group(2).strip())
    return options


def saved_options(state_path, folder, host_checkpoint):
    """The training options saved with a checkpoint: from its state file, else train_opt.txt, else {}."""
    if state_path and os.path.isfile(state_path):
        try:
            state = _load(state_path, host_checkpoint, "load_state")
        except GenerateError:  # damaged file
            raise GenerateError(f"{state_path} is truncated or corrupt; delete it and pass the network flags "
                                f"(--netG, --norm, ...) instead.") from None
        return dict(state.get("opt") or {})
    options_file = os.path.join(folder, OPTIONS_FILE)
    return read_options_file(options_file) if os.path.isfile(options_file) else {}


def network_options(saved, overrides, fallbacks=None, looked_for=()):
    """The options the generator is rebuilt from: HOST_NETWORK_FLAGS and, for a plugin generator, the flags it
    declares (registry), from `saved` with non-None `overrides` on top and non-None `fallbacks` filling gaps;
    GenerateError naming what is missing and the option files `looked_for`."""
    options = {**saved, **{flag: value for flag, value in overrides.items() if value is not None}}
    options.update({flag: value for flag, value in (fallbacks or {}).items()
                    if value is not None and flag not in options})
    missing = [flag for flag in ("netG", "norm") if flag not in options]
    if missing:
        files = " or ".join(looked_for) or f"<epoch>_state.pth or {OPTIONS_FILE} beside it"
        raise GenerateError(f"the checkpoint has no saved options (no {files}); pass the training flags "
                            f"{', '.join('--' + f for f in missing)} (and --ngf/--input_nc/--output_nc/--no_dropout "
                            f"if not the defaults).")
    from ..networks import OPTIONS
    declared = OPTIONS[options["netG"]].flags if options["netG"] in OPTIONS else ()
    options = {flag: options[flag] for flag in HOST_NETWORK_FLAGS + declared if flag in options}
    options.setdefault("ngf", 64)
    options.setdefault("input_nc", 3)
    options.setdefault("output_nc", 3)
    options.setdefault("no_dropout", False)
    return options


# ------------------------------------------------------------------ building and loading

def build_generator(networks, options, initialise=True):
    """The generator named by options['netG'] (network_options), built by `mrff_plugin.networks.build` for a
    plugin generator and by the host's `define_G` for its own; initialise=False draws no weights (the
    checkpoint's replace them next).  Initialised, a plugin generator gets the host's N(0, 0.02), as
    `define_G` gives it in training on a classic host."""
    from ..networks import build, generator_flags, generator_names, without_initialisation
    name = options["netG"]
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the host prints "initialize network with ..."
            if name in generator_names():
                net = build(name, options["input_nc"], options["output_nc"], generator_flags(name, options),
                            networks.get_norm_layer(norm_type=options["norm"]), initialise=initialise)
                if initialise:
                    networks.init_weights(net, "normal", 0.02)
                return net

            def host_generator():   # the 8 arguments both eras' define_G take (classic: gpu_ids [], the CPU)
                return networks.define_G(options["input_nc"], options["output_nc"], options["ngf"], name,
                                         options["norm"], not options["no_dropout"], "normal", 0.02)
            return host_generator() if initialise else without_initialisation(host_generator)
    except (NotImplementedError, ValueError, KeyError, TypeError) as exc:
        raise GenerateError(f"cannot build the generator from the checkpoint's options: {exc}") from None


def load_generator(checkpoint, epoch="latest", host=None, overrides=None, fallbacks=None):
    """(generator with the checkpoint's weights, its network options dict).  CPU, float32, eval mode.

    overrides replace saved options; fallbacks only fill options the checkpoint did not save.
    """
    weights_path, state_path, folder = checkpoint_files(checkpoint, epoch)
    networks, host_checkpoint = attach_host(host)
    weights_path, state_path = newest_complete_set(host_checkpoint, weights_path, state_path, folder)
    looked_for = [path for path in (state_path, os.path.join(folder, OPTIONS_FILE)) if path]
    options = network_options(saved_options(state_path, folder, host_checkpoint), overrides or {}, fallbacks,
                              looked_for)
    net = build_generator(networks, options, initialise=False)  # the checkpoint's weights fill it next
    state_dict = _load(weights_path, host_checkpoint, "load_weights")
    try:
        net.load_state_dict(state_dict)
    except ValueError as exc:  # the generator refuses an older layout (FusionGenerator.legacy_message)
        raise GenerateError(f"{weights_path}: {exc}") from None
    except RuntimeError:
        built = " ".join(f"--{k} {v}" for k, v in options.items() if k != "no_dropout")
        raise GenerateError(f"checkpoint {weights_path} does not fit the generator built from {built}; pass the "
                            f"network flags it was trained with.") from None
    return net.eval(), options


def fold_batch_norms(module):
    """Fold every eval-mode BatchNorm2d that directly follows a (transposed) convolution in an
    nn.Sequential into that convolution (same outputs, one pass over memory fewer); returns `module`."""
    import torch.nn as nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    for child in module.modules():
        if not isinstance(child, nn.Sequential):
            continue
        layers = list(child)
        for k in range(len(layers) - 1):
            conv, norm = layers[k], layers[k + 1]
            if isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)) and type(norm) is nn.BatchNorm2d \
                    and norm.track_running_stats and not norm.training and not conv.training:
                child[k] = fuse_conv_bn_eval(conv, norm, transpose=isinstance(conv, nn.ConvTranspose2d))
                child[k + 1] = nn.Identity()
                layers[k + 1] = child[k + 1]
    return module


def prepare_for_inference(net, device, norm_stats="image"):
    """Eval mode (no dropout); BatchNorm with each image's own statistics (`norm_stats` 'image', as test.py)
    or the running ones folded into the convolutions ('running', as test.py --eval); no gradients; on
    `device` in channels_last layout."""
    import torch

    from . import NORM_STATS
    from .image_norm import use_image_statistics
    if norm_stats not in NORM_STATS:
        raise GenerateError(f"--norm_stats {norm_stats} is not one of {', '.join(NORM_STATS)}.")
    net = use_image_statistics(net.eval()) if norm_stats == "image" else fold_batch_norms(net.eval())
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net.to(device, memory_format=torch.channels_last)
