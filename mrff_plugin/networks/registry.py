"""The plugin's generators, by name, and the one call that builds them: `build(name, ...)`.

A generator is a builder registered with `@register_generator`, keyed by its
function name (as in timm's model registry), and called as

    builder(input_nc, output_nc, ngf, norm_layer, use_dropout, **flags)

with the host's `norm_layer` (from `get_norm_layer(--norm)`) and, as explicit
keyword arguments, the generator's own command-line flags: the builder's
parameters after those five.  Those parameter names are its flags' names, so the
options the host saves with a checkpoint (`<label>_state.pth`, `train_opt.txt`)
hold them in the generator's own terms.  Next to the builder, a generator declares

- `add_options(parser)`: adds those flags to the host's option parser (every
  `--model`; the attach layer calls it once per parser);
- `check(opt, parser)`: called after the host has parsed its options, when
  `--netG` names this generator; raises an `MrffError` for values that cannot
  work, may print one warning line.

    def add_options(parser):
        parser.add_argument("--toy_width", type=int, default=4)

    @register_generator(add_options=add_options)
    def toy(input_nc, output_nc, ngf, norm_layer, use_dropout, toy_width=4):
        return ToyNet(input_nc, output_nc, toy_width)

Every plugin generator is built by `build(name, input_nc, output_nc, flags,
norm_layer)`, with `flags` from `generator_flags(name, options)`: training and
test.py (the attach layer's `define_G` wrapper), `mrff generate` and `mrff export`
(generate/network.py).  A builder returns an `nn.Module` with PyTorch's own
initialisation; the `define_G` wrapper has the host initialise and place it where
the host expects that.  Only `build(..., initialise=False)` imports torch here.
"""
import inspect
from dataclasses import dataclass
from typing import Callable, Tuple

HOST_ARGUMENTS = ("input_nc", "output_nc", "ngf", "norm_layer", "use_dropout")   # define_G's, in its order


def _no_options(parser):
    return parser


def _no_check(opt, parser):
    return None


@dataclass(frozen=True)
class GeneratorOptions:
    """What a generator declares besides its builder."""
    add_options: Callable      # add_options(parser)
    check: Callable            # check(opt, parser)
    flags: Tuple[str, ...]     # the builder's own keyword parameters = its command-line flags


GENERATORS = {}   # name -> builder
OPTIONS = {}      # name -> GeneratorOptions


def register_generator(builder=None, *, add_options=None, check=None):
    """Decorator, bare or with `add_options=` / `check=`: make `builder` available as `--netG <its name>`."""
    def register(builder):
        parameters = list(inspect.signature(builder).parameters.values())
        flags = tuple(p.name for p in parameters[len(HOST_ARGUMENTS):]
                      if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        GENERATORS[builder.__name__] = builder
        OPTIONS[builder.__name__] = GeneratorOptions(add_options or _no_options, check or _no_check, flags)
        return builder
    return register(builder) if builder is not None else register


def generator_names():
    """Names of the plugin's generators, sorted."""
    return sorted(GENERATORS)


HOST_FLAGS = {"ngf": 64, "use_dropout": False}   # builder arguments that are host flags, with define_G's defaults


def generator_flags(name, options):
    """{flag: value}: what generator `name` is built from, in its builder's terms, read from `options` (the
    host's parsed options, or a checkpoint's saved ones; a Namespace or a dict): `ngf`, `use_dropout` (= not
    `no_dropout`) and the generator's own flags, each where `options` holds it."""
    values = options if isinstance(options, dict) else vars(options)
    flags = {flag: values[flag] for flag in ("ngf",) + OPTIONS[name].flags if flag in values}
    if "no_dropout" in values:
        flags["use_dropout"] = not values["no_dropout"]
    return flags


def build(name, input_nc, output_nc, flags, norm_layer, initialise=True):
    """The plugin generator `name`, (N, input_nc, H, W) -> (N, output_nc, H, W), built from `flags`
    (`generator_flags`; `ngf`/`use_dropout` default to define_G's 64 / False, its own flags to the builder's
    defaults) and the host's `norm_layer`.

    initialise=False: no weight is drawn -- the modules are made on the meta device and given uninitialised
    CPU memory -- for a network whose every parameter and buffer a checkpoint fills next (`load_state_dict`).
    An unknown name raises KeyError listing the known ones; a flag the generator does not declare, TypeError.
    """
    if name not in GENERATORS:
        raise KeyError(f"no plugin generator '{name}'; known: {', '.join(generator_names())}")
    unknown = sorted(set(flags) - set(HOST_FLAGS) - set(OPTIONS[name].flags))
    if unknown:
        raise TypeError(f"generator {name} has no flag {', '.join(unknown)}")
    host = {flag: flags.get(flag, default) for flag, default in HOST_FLAGS.items()}
    own = {flag: value for flag, value in flags.items() if flag not in HOST_FLAGS}

    def make():
        return GENERATORS[name](input_nc, output_nc, host["ngf"], norm_layer, host["use_dropout"], **own)
    return make() if initialise else without_initialisation(make)


def without_initialisation(make):
    """`make()`'s module with its parameters and buffers allocated on the CPU but never initialised."""
    import torch
    with torch.device("meta"):
        net = make()
    # Module.to_empty would do the same through torch.empty_like, whose meta-tensor path imports sympy (0.4 s
    # of every `mrff generate` start); torch.empty of each shape does not.
    for module in net.modules():
        for name, parameter in list(module.named_parameters(recurse=False)):
            setattr(module, name, torch.nn.Parameter(torch.empty(parameter.shape, dtype=parameter.dtype),
                                                     requires_grad=parameter.requires_grad))
        for name, buffer in list(module.named_buffers(recurse=False)):
            setattr(module, name, torch.empty(buffer.shape, dtype=buffer.dtype))
    return net


def given_flags(argv):
    """{flag: value} of the registered generators' own flags found in the argument list `argv`, parsed as each
    generator declares them (types, choices), only those given: what `mrff generate`/`export` pass for a
    checkpoint saved without its options.  ValueError for an argument no generator declares or a bad value."""
    import argparse
    parser = argparse.ArgumentParser(prog="", add_help=False, exit_on_error=False)
    for name in generator_names():
        OPTIONS[name].add_options(parser)
    for action in parser._actions:   # unset flags stay out: the checkpoint's saved values are not overridden
        action.default = argparse.SUPPRESS
    try:
        given, unknown = parser.parse_known_args(list(argv))
    except argparse.ArgumentError as exc:
        raise ValueError(f"{exc}; see the generator's flags in `mrff train --help`") from None
    if unknown:
        raise ValueError(f"unrecognized arguments: {' '.join(unknown)}")
    return vars(given)
