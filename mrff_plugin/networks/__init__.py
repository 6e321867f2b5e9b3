"""The plugin's generators, by name (what `--netG NAME` builds), and `build`, the one way to build them.

`registry.py` holds the table, `@register_generator` (each generator declares
its builder, its flags and its option check there) and `build`; importing this
package registers `unetpp_fusion` (`unetpp_fusion.py`, the paper's generator, and
`unetpp_released.py`, the authors' release beside it).  Importing it imports torch.
"""
from .registry import (GENERATORS, OPTIONS, build, generator_flags, generator_names, given_flags,  # noqa: F401
                       register_generator, without_initialisation)
from . import unetpp_fusion  # noqa: E402,F401  (registers itself)
