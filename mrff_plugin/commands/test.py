"""`mrff test ARGS...`: the host's test.py with the plugin attached (presets via @NAME)."""
from ._host_script import ACCEPTS_EXTRA, add_host_arguments, run  # noqa: F401


def add_arguments(parser):
    add_host_arguments(parser, "test.py")


def main(args):
    return run("test.py", args)
