"""Physics-based synthetic visible/LWIR road scenes in the KAIST layout.

    render_pair(seed, size=(W, H), time="day", drop=()) -> (visible, lwir, extras)
    write_dataset(out, pairs, time="day", size=(W, H), seed=0, test_pairs=None) -> summary

See render.py for the pipeline and writer.py for the folder layout.
"""


def render_pair(seed, size=(256, 256), time="day", drop=()):
    from .render import render_pair as _render_pair
    return _render_pair(seed, size, time, drop)


def write_dataset(out, pairs, time="day", size=(256, 256), seed=0, test_pairs=None, **kwargs):
    from .writer import write_dataset as _write_dataset
    return _write_dataset(out, pairs, time, size, seed, test_pairs, **kwargs)
