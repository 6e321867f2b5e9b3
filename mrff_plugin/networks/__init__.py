"""The plugin's generators, by name (what `--netG NAME` builds through the host's `define_G`).

A builder is registered with `@register_generator`, keyed by its function name
(as in timm's model registry), and called as

    builder(input_nc, output_nc, ngf, norm_layer, use_dropout, **options)

with the host's `norm_layer` (from `get_norm_layer(--norm)`) and the plugin's
own flags as `options`.  It returns an uninitialised `nn.Module`; the host's
`define_G` wrapper (`mrff_plugin.hooks`) initialises and places it where the
host expects that.  Importing this package imports torch.
"""
GENERATORS = {}


def register_generator(builder):
    """Decorator: make `builder` available as `--netG <builder.__name__>`."""
    GENERATORS[builder.__name__] = builder
    return builder


def generator_names():
    """Names of the plugin's generators, sorted."""
    return sorted(GENERATORS)


def build_generator(name, input_nc, output_nc, ngf, norm_layer, use_dropout, **options):
    """Build the plugin generator `name`; an unknown name raises KeyError listing the known ones."""
    if name not in GENERATORS:
        raise KeyError(f"no plugin generator '{name}'; known: {', '.join(generator_names())}")
    return GENERATORS[name](input_nc, output_nc, ngf, norm_layer, use_dropout, **options)


from . import unetpp_fusion  # noqa: E402,F401  (registers itself; needs register_generator above)
