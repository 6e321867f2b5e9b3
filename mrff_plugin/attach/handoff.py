"""The hand-off of the host's parsed options to the plugin's generator builders.

The host parses its options (`BaseOptions.parse`) and later calls
`define_G(input_nc, output_nc, ngf, netG, norm, ...)` without them, so a plugin
generator's own flags (`--mrff_arch`, ...) cannot travel with that call.  The
wrapped `parse` hands the parsed options over with `hand_over(opt)`; the wrapped
`define_G` (and the gallery's `--gallery_palette`) read them with
`handed_over()`.  `options_for_build(opt)` hands over other options for one
block, e.g. a checkpoint's saved options in `mrff generate`.
"""
import contextlib

_options = None   # the options handed over last (an argparse.Namespace), or None


def hand_over(opt):
    """Keep `opt` (the host's parsed options) for the next `define_G` calls; None forgets them."""
    global _options
    _options = opt


def handed_over():
    """The options handed over last, or None."""
    return _options


@contextlib.contextmanager
def options_for_build(opt):
    """Inside the block, plugin generators built through `define_G` take their flags from `opt`."""
    previous = _options
    hand_over(opt)
    try:
        yield
    finally:
        hand_over(previous)
