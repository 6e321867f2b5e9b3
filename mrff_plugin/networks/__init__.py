"""The plugin's generators, by name (what `--netG NAME` builds through the host's `define_G`).

`registry.py` holds the table and `@register_generator` (each generator declares
its builder, its flags and its option check there); importing this package
registers `unetpp_fusion` (`unetpp_fusion.py`, the paper's generator, and
`unetpp_released.py`, the authors' release beside it).  Importing it imports torch.
"""
from .registry import (GENERATORS, OPTIONS, build_generator, generator_flags, generator_names,  # noqa: F401
                       register_generator)
from . import unetpp_fusion  # noqa: E402,F401  (registers itself)
