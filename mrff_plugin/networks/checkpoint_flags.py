"""Which generator flags a checkpoint was trained with: read from what was saved beside it, told apart from the
flags a user gives, and -- for a checkpoint saved without its options -- found from its weights.

- `saved_options`: a checkpoint's options from its state file, else from the `train_opt.txt` every host's
  option printer writes into the run folder (`read_options_file`);
- `contradictions(networks, saved, given)`: the given flags that build another network than the saved ones
  (`--norm none` for a network trained with `--norm instance`: the same weights, another network); a flag
  the generator ignores (`--norm` for `--mrff_arch released`) builds the same one and is no contradiction;
- `fitting_flags(networks, options, weights)`: the values of the choice-valued flags (`--norm` and a
  registered generator's own, e.g. `--mrff_arch`, `--mrff_fusion`) whose network the weights fit;
- `is_discriminator(networks, weights)`: weights of one of the host's discriminators (`define_D`);
- `declared_flags()`: every flag a generator is built from, the host's and each registered generator's.

Networks are built on the meta device (no memory, no initialisation), through the registry for plugin
generators and through the host's public `define_G`/`define_D` (`networks`, either era) for the host's own.
"""
import contextlib
import io
import itertools
import os
import re

HOST_GENERATOR_FLAGS = ("netG", "norm", "ngf", "input_nc", "output_nc")   # shape the host's define_G call
NORMS = ("batch", "instance", "none")          # the host's get_norm_layer (docs/architecture.md, "The host contract")
DISCRIMINATORS = ("basic", "n_layers", "pixel")  # the host's define_D
DEFAULTS = {"ngf": 64, "input_nc": 3, "output_nc": 3, "no_dropout": False}
OPTIONS_FILE = "train_opt.txt"                 # the host's option printer's file in the run folder


# ------------------------------------------------------------------ saved options

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


def saved_options(state_path, folder, load_state):
    """(the training options saved with a checkpoint, the file they come from): the `opt` of its state file
    `state_path` (read by `load_state(path)`, the bundled host's), else the run `folder`'s train_opt.txt (every
    host's), else ({}, None)."""
    if state_path and os.path.isfile(state_path):
        return dict((load_state(state_path) or {}).get("opt") or {}), state_path
    options_file = os.path.join(folder, OPTIONS_FILE)
    return (read_options_file(options_file), options_file) if os.path.isfile(options_file) else ({}, None)


def flag_text(flag, value):
    """'--norm batch', '--no_dropout', 'no --no_dropout'."""
    if isinstance(value, bool):
        return f"--{flag}" if value else f"no --{flag}"
    return f"--{flag} {value}"


# ------------------------------------------------------------------ the flags a generator is built from

def own_flags(name):
    """The flags registered generator `name` declares (its builder's own parameters); () for a host name."""
    from .registry import OPTIONS
    return OPTIONS[name].flags if name in OPTIONS else ()


def declared_flags(skip=()):
    """'--netG, --norm, --ngf, --input_nc, --output_nc, --no_dropout and, for --netG unetpp_fusion, --mrff_arch,
    ...': every flag a generator is built from (but `skip`)."""
    from .registry import generator_names
    host = ", ".join(f"--{flag}" for flag in HOST_GENERATOR_FLAGS + ("no_dropout",) if flag not in skip)
    own = "; ".join(f"for --netG {name}, {', '.join('--' + flag for flag in own_flags(name))}"
                    for name in generator_names() if own_flags(name))
    return f"{host}{' and, ' + own if own else ''}"


def flag_choices(name):
    """{flag: (its choices, its default)} of the generator's choice-valued flags: --norm (no default: always
    given) and its own flags that have argparse choices."""
    import argparse

    from .registry import OPTIONS
    choices = {"norm": (NORMS, None)}
    if name in OPTIONS:
        parser = argparse.ArgumentParser(add_help=False)
        OPTIONS[name].add_options(parser)
        for action in parser._actions:
            if action.dest in OPTIONS[name].flags and action.choices:
                choices[action.dest] = (tuple(action.choices), action.default)
    return choices


# ------------------------------------------------------------------ networks on the meta device

def meta_generator(networks, options):
    """The generator `options` (netG, norm, ngf, input_nc, output_nc, no_dropout, its own flags) describe, built
    on the meta device; ValueError (with the builder's reason) when they build none."""
    import torch

    from .registry import build, generator_flags, generator_names
    values = {**DEFAULTS, **options}
    name = str(values["netG"])
    try:
        with torch.device("meta"), contextlib.redirect_stdout(io.StringIO()):
            if name in generator_names():
                return build(name, values["input_nc"], values["output_nc"], generator_flags(name, values),
                             networks.get_norm_layer(norm_type=values["norm"]))
            return networks.define_G(values["input_nc"], values["output_nc"], values["ngf"], name, values["norm"],
                                     not values["no_dropout"], "normal", 0.02)
    except (NotImplementedError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ValueError(str(exc)) from None


def shapes(weights_or_net):
    """{key: shape} of a state_dict or of a network's."""
    state = weights_or_net if isinstance(weights_or_net, dict) else weights_or_net.state_dict()
    return {key: tuple(value.shape) for key, value in state.items()}


def _structure(networks, options):
    try:
        return repr(meta_generator(networks, options))
    except ValueError as exc:
        return f"not built: {exc}"


def contradictions(networks, saved, given, flags):
    """[(flag, saved value, given value)] for each of `flags` that `given` sets to another value than `saved`
    where that value builds another network (module by module) than the saved options do."""
    found = []
    base = _structure(networks, saved)
    for flag in flags:
        if flag in saved and given.get(flag) is not None and given[flag] != saved[flag]:
            if _structure(networks, {**saved, flag: given[flag]}) != base:
                found.append((flag, saved[flag], given[flag]))
    return found


def contradiction_sentence(flag, saved_value, given_value, source, weights, fix):
    """'--norm none contradicts <source>, which says <weights> was trained with --norm instance; <fix>.'"""
    return (f"{flag_text(flag, given_value)} contradicts {source}, which says {weights} was trained with "
            f"{flag_text(flag, saved_value)}; {fix}.")


def fitting_flags(networks, options, weights):
    """The fewest changes {flag: value} of the choice-valued flags (flag_choices) to `options` whose generator
    the `weights` fit, key by key and shape by shape: [] when none does; [{}] when `options` already fit."""
    wanted = shapes(weights)
    choices = flag_choices(str(options["netG"]))
    fits = []
    for values in itertools.product(*(values for values, _ in choices.values())):
        candidate = {**options, **dict(zip(choices, values))}
        try:
            if shapes(meta_generator(networks, candidate)) != wanted:
                continue
        except ValueError:
            continue
        fits.append({flag: value for flag, value in zip(choices, values)
                     if options.get(flag, choices[flag][1]) != value})
    fewest = min((len(fit) for fit in fits), default=None)
    return [fit for fit in fits if len(fit) == fewest]


def is_discriminator(networks, weights):
    """True when `weights` fit one of the host's discriminators (`define_D`: basic, n_layers, pixel; any norm),
    with the input channels and width of their first convolution."""
    import torch
    wanted = shapes(weights)
    first = next((shape for shape in wanted.values() if len(shape) == 4), None)
    define_D = getattr(networks, "define_D", None)
    if first is None or not callable(define_D):
        return False
    ndf, input_nc = first[0], first[1]
    layers = sum(len(shape) == 4 for shape in wanted.values())
    for netD, norm in itertools.product(DISCRIMINATORS, NORMS):
        try:
            with torch.device("meta"), contextlib.redirect_stdout(io.StringIO()):
                net = define_D(input_nc, ndf, netD, max(1, layers - 2), norm, "normal", 0.02)
        except Exception:   # a host discriminator that cannot be built so: not this one
            continue
        if shapes(net) == wanted:
            return True
    return False

