"""A checkpoint -> the generator it holds, rebuilt without repeating `--netG/--norm/...`.

The host writes `<label>_net_G.pth` (a plain state_dict) and, beside it,
`<label>_state.pth` whose `opt` entry holds the training options as plain
values (host util/checkpoint.py).  The network flags -- the host's (HOST_NETWORK_FLAGS)
and, for a plugin generator, the flags it declares in the registry (`--mrff_arch`,
`--toy_width`, ...: its builder's own parameter names) -- are read from there;
failing that from the `train_opt.txt` the host's option printer wrote in the same
folder; flags given on the command line fill what was not saved and are refused where
they contradict what was (`check_given_flags`: they would build another network).  A plugin generator
(`unetpp_fusion`, as the saved `--mrff_arch`) is rebuilt by `mrff_plugin.networks.build`,
the call training used, without drawing weights the checkpoint replaces; a host
generator (`unet_256`, ...) by the host's own `models.networks.define_G`.  An upstream
checkout given as `--host` (either era) needs only that public `define_G`: it has
no `util/checkpoint.py`, so its weights are read with plain `torch.load` and its
options from `train_opt.txt`.  Weights that fit no network the options build
are refused in one sentence that names the file and the flags to pass
(`mismatch_sentence`); nothing is loaded half-matching.

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
OPTIONS_FILE = "train_opt.txt"   # = checkpoint_flags.OPTIONS_FILE (not imported here: that imports torch)
DIRECTIONS = ("AtoB", "BtoA")   # the host's --direction; A is visible, B is LWIR (mrff generate runs AtoB)
CYCLE_SUFFIXES = {"AtoB": "_net_G_A.pth", "BtoA": "_net_G_B.pth"}   # CycleGAN's G_A (A -> B) and G_B (B -> A)


# ------------------------------------------------------------------ the command line's network flags

def add_network_flags(parser):
    """`mrff generate` / `mrff export`: --direction, and the host's network flags, for a checkpoint saved without
    its options.  A registered generator's own flags (`--mrff_arch`, ...) are not listed here: they pass through
    as the command's extra arguments and are parsed as the generator declares them (`network_overrides`)."""
    parser.add_argument("--direction", choices=DIRECTIONS, default=None,
                        help="the network to run: AtoB (visible A -> LWIR B, the default) or BtoA; chooses G_A or "
                             "G_B of a CycleGAN run folder, and must be given to run a network trained B to A")
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
    direction = {"direction": getattr(args, "direction", None)}   # which network (load_generator), not its shape
    return {**overrides, **given_flags(getattr(args, "extra", None) or ()), **direction}


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


# What the bundled host's checkpoint sentences suggest that `mrff generate`/`export` do not accept (--load_iter,
# --name/--checkpoints_dir, resuming), and what these commands take instead.
HOST_SUGGESTIONS = (
    ("resume from another --epoch or --load_iter", "pick another --epoch"),
    ("pick another --epoch (or --load_iter)", "pick another --epoch"),
    ("train first, or pass the --name, --epoch and --checkpoints_dir of an existing run",
     "pass the --checkpoint and --epoch of a trained model"),
)


def in_command_terms(sentence):
    """A host checkpoint sentence with its suggestions put in the terms of `mrff generate` / `mrff export`."""
    for host, command in HOST_SUGGESTIONS:
        sentence = sentence.replace(host, command)
    return sentence


def _load(path, host_checkpoint, reader):
    """`host_checkpoint.<reader>(path)` where the host has its checkpoint module, else torch.load of the plain
    file (weights_only: a checkpoint is data, never code); GenerateError for an unreadable file."""
    if host_checkpoint is not None:
        try:
            return getattr(host_checkpoint, reader)(path)
        except Exception as exc:  # the host's UserError: missing or unreadable file
            raise GenerateError(in_command_terms(str(exc))) from None
    import torch
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # unpicklable, truncated or foreign file
        raise GenerateError(f"checkpoint {path} is truncated or corrupt; delete it or pick another --epoch.") from None


# ------------------------------------------------------------------ checkpoint and its options

def net_name(path):
    """'G', 'G_A', 'G_B' (CycleGAN), 'D', 'D_A', ... from `<label>_net_<name>.pth`; None for another file name."""
    match = re.search(r"_net_([GD](?:_[AB])?)\.pth$", os.path.basename(path))
    return match.group(1) if match else None


def checkpoint_files(checkpoint, epoch="latest", direction=None):
    """(weights path, state path, folder) for `<folder>/<label>_net_G.pth` (or `_net_G_A.pth`/`_net_G_B.pth`),
    or for a folder + epoch; in a CycleGAN run folder `direction` picks G_A (AtoB) or G_B (BtoA)."""
    path = os.path.abspath(os.path.expanduser(checkpoint))
    if os.path.isdir(path):
        folder, label = path, str(epoch)
        path = os.path.join(folder, label + NET_SUFFIX)
        cycle = {way: os.path.join(folder, label + suffix) for way, suffix in CYCLE_SUFFIXES.items()}
        if not os.path.isfile(path) and any(os.path.isfile(other) for other in cycle.values()):
            if direction is None:
                raise GenerateError(f"{folder} is a CycleGAN run folder: it holds {label}_net_G_A.pth (A to B) and "
                                    f"{label}_net_G_B.pth (B to A) instead of {label}{NET_SUFFIX}; pass --direction "
                                    f"AtoB for G_A or --direction BtoA for G_B.")
            path = cycle[direction]
    else:
        folder, name = os.path.split(path)
        label = name[: -len(f"_net_{net_name(path)}.pth")] if net_name(path) else None
    if not os.path.isfile(path):
        raise GenerateError(f"checkpoint {path} does not exist; pass --checkpoint <run folder>/<epoch>_net_G.pth "
                            f"(or the run folder and --epoch) of a trained model.")
    if (net_name(path) or "G").startswith("D"):
        raise GenerateError(f"{path} is a discriminator, not a generator; pass the {label}_net_G.pth beside it "
                            f"(the one that turns images into images).")
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
    name = net_name(weights_path) or "G"
    try:
        used, _ = choose(folder, label, [name])
    except Exception as exc:  # the host's UserError: no complete set under that label
        raise GenerateError(in_command_terms(str(exc))) from None
    return host_checkpoint.network_path(folder, used, name), host_checkpoint.state_path(folder, used)


def saved_options(state_path, folder, host_checkpoint):
    """(the training options saved with a checkpoint, the file they come from): from its state file, else
    train_opt.txt, else ({}, None) (`checkpoint_flags.saved_options`); GenerateError for a damaged state file."""
    from ..networks import checkpoint_flags

    def load_state(path):
        try:
            return _load(path, host_checkpoint, "load_state")
        except GenerateError:  # damaged file
            raise GenerateError(f"{path} is truncated or corrupt; delete it and pass the network flags "
                                f"(--netG, --norm, ...) instead.") from None
    return checkpoint_flags.saved_options(state_path, folder, load_state)


def network_options(saved, overrides, fallbacks=None, looked_for=()):
    """The options the generator is rebuilt from: HOST_NETWORK_FLAGS and, for a plugin generator, the flags it
    declares (registry), from `saved` with non-None `overrides` on top and non-None `fallbacks` filling gaps;
    GenerateError naming what is missing and the option files `looked_for`."""
    options = {**saved, **{flag: value for flag, value in overrides.items() if value is not None}}
    options.update({flag: value for flag, value in (fallbacks or {}).items()
                    if value is not None and flag not in options})
    missing = [flag for flag in ("netG", "norm") if flag not in options]
    if missing:
        from ..networks.checkpoint_flags import declared_flags
        files = " or ".join(looked_for) or f"<epoch>_state.pth or {OPTIONS_FILE} beside it"
        raise GenerateError(f"the checkpoint has no saved options (no {files}); pass the training flags "
                            f"{', '.join('--' + f for f in missing)} (and, where training did not use their "
                            f"defaults, {declared_flags(skip=missing)}).")
    from ..networks import OPTIONS
    declared = OPTIONS[options["netG"]].flags if options["netG"] in OPTIONS else ()
    options = {flag: options[flag] for flag in HOST_NETWORK_FLAGS + declared if flag in options}
    options.setdefault("ngf", 64)
    options.setdefault("input_nc", 3)
    options.setdefault("output_nc", 3)
    options.setdefault("no_dropout", False)
    return options


def check_given_flags(networks, weights_path, saved, source, overrides, fallbacks):
    """GenerateError for a given network flag that contradicts the options saved in `source`: one that builds
    another network than the saved value does (a flag the generator ignores builds the same one)."""
    from ..networks.checkpoint_flags import contradiction_sentence, contradictions, own_flags
    if not saved or "netG" not in saved or "norm" not in saved:
        return
    full = network_options(saved, {}, fallbacks)
    given = {flag: value for flag, value in overrides.items() if value is not None and flag != "direction"}
    flags = HOST_NETWORK_FLAGS + own_flags(full["netG"]) + tuple(
        flag for flag in own_flags(given.get("netG")) if flag not in own_flags(full["netG"]))
    for flag, was, now in contradictions(networks, full, given, flags):
        raise GenerateError(contradiction_sentence(flag, was, now, source, weights_path,
                                                   f"drop --{flag} to use the saved value"))


def check_direction(weights_path, saved, source, direction):
    """GenerateError unless the network runs `direction` (None: AtoB, visible to LWIR, unless --direction says
    otherwise): a network trained --direction BtoA, or CycleGAN's G_B, maps B (LWIR) to A (visible)."""
    trained = saved.get("direction") if saved.get("direction") in DIRECTIONS else None
    name = net_name(weights_path)
    if name == "G_B":   # G_B maps the dataset's B side to its A side: the other way round from G_A
        runs = {"AtoB": "BtoA", "BtoA": "AtoB"}[trained or "AtoB"]
        why = "it is CycleGAN's G_B" + (f" of a run trained with --direction {trained}" if trained else "")
    else:
        runs = trained
        why = f"{source} says it was trained with --direction {trained}"
    if runs is None or runs == (direction or "AtoB"):
        return
    if direction is None:
        raise GenerateError(f"{weights_path} turns B into A (LWIR into visible: {why}), but it would be fed "
                            f"visible images; pass a network trained A to B, or --direction BtoA to run this one as "
                            f"it was trained.")
    raise GenerateError(f"--direction {direction} contradicts {weights_path}, which maps {runs[0]} to {runs[-1]} "
                        f"({why}); pass --direction {runs}, or another checkpoint.")


def mismatch_sentence(networks, weights_path, options, state_dict):
    """The sentence for weights that do not fit the generator built from `options`: a discriminator's weights,
    or the values of --norm and of the generator's own choice flags they fit, or else every flag to check."""
    from ..networks.checkpoint_flags import declared_flags, fitting_flags, flag_text, is_discriminator
    if is_discriminator(networks, state_dict):
        return (f"{weights_path} holds a discriminator, not a generator; pass the <epoch>_net_G.pth of the same run "
                f"(the network that turns images into images).")
    built = " ".join(flag_text(k, v) for k, v in options.items() if k != "no_dropout")
    fits = [fit for fit in fitting_flags(networks, options, state_dict) if fit]
    if fits:
        named = " or ".join(" ".join(flag_text(k, v) for k, v in fit.items()) for fit in fits)
        return (f"checkpoint {weights_path} does not fit the generator built from {built}, but fits it with {named}; "
                f"pass {named}.")
    return (f"checkpoint {weights_path} does not fit the generator built from {built}; pass the flags it was "
            f"trained with ({declared_flags()}).")


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

    overrides fill options the checkpoint did not save, and may not contradict the ones it did
    (check_given_flags); overrides['direction'] picks the network (checkpoint_files, check_direction);
    fallbacks only fill options the checkpoint did not save.
    """
    overrides = dict(overrides or {})
    direction = overrides.get("direction")
    weights_path, state_path, folder = checkpoint_files(checkpoint, epoch, direction)
    networks, host_checkpoint = attach_host(host)
    weights_path, state_path = newest_complete_set(host_checkpoint, weights_path, state_path, folder)
    looked_for = [path for path in (state_path, os.path.join(folder, OPTIONS_FILE)) if path]
    saved, source = saved_options(state_path, folder, host_checkpoint)
    check_direction(weights_path, saved, source, direction)
    check_given_flags(networks, weights_path, saved, source, overrides, fallbacks)
    options = network_options(saved, overrides, fallbacks, looked_for)
    net = build_generator(networks, options, initialise=False)  # the checkpoint's weights fill it next
    state_dict = _load(weights_path, host_checkpoint, "load_weights")
    try:
        net.load_state_dict(state_dict)
    except ValueError as exc:  # a plugin generator that refuses the weights in its own sentence
        raise GenerateError(f"{weights_path}: {exc}") from None
    except RuntimeError:
        raise GenerateError(mismatch_sentence(networks, weights_path, options, state_dict)) from None
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
