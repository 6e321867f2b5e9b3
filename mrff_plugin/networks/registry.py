"""The plugin's generators, by name: what `--netG NAME` builds through the host's `define_G`.

A generator is a builder registered with `@register_generator`, keyed by its
function name (as in timm's model registry), and called as

    builder(input_nc, output_nc, ngf, norm_layer, use_dropout, **flags)

with the host's `norm_layer` (from `get_norm_layer(--norm)`) and, as explicit
keyword arguments, the generator's own command-line flags: the builder's
parameters after those five.  Next to the builder, a generator declares

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

A builder returns an uninitialised `nn.Module`; the attach layer's `define_G`
wrapper initialises and places it where the host expects that.  Nothing here
imports torch.
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


def generator_flags(name, opt):
    """{flag: value} of generator `name`'s own flags that the options `opt` hold."""
    return {flag: getattr(opt, flag) for flag in OPTIONS[name].flags if hasattr(opt, flag)}


def build_generator(name, input_nc, output_nc, ngf, norm_layer, use_dropout, **flags):
    """Build the plugin generator `name`; an unknown name raises KeyError listing the known ones."""
    if name not in GENERATORS:
        raise KeyError(f"no plugin generator '{name}'; known: {', '.join(generator_names())}")
    return GENERATORS[name](input_nc, output_nc, ngf, norm_layer, use_dropout, **flags)
