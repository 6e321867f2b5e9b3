"""Shared body of `mrff train` and `mrff test`: run a host script with the plugin attached (the runner)."""
import subprocess
import sys

ACCEPTS_EXTRA = True


def add_host_arguments(parser, script):
    parser.add_argument("--host", default=None,
                        help="pix2pix/CycleGAN checkout to use (default: $MRFF_HOST or the bundled "
                             "third_party/pix2pix_toolkit)")
    parser.epilog = (f"All other arguments go to the host's {script} unchanged; @NAME expands the "
                     f"preset options/NAME.txt in place (e.g. @kaist_fusion).")


def host_command(script, args, host=None):
    """argv that runs `<host>/<script> args...` with the plugin attached (the runner); the host is
    `host`, $MRFF_HOST or the bundled one (attach/layout.py)."""
    from ..attach.layout import find_host
    return [sys.executable, "-m", "mrff_plugin", str(find_host(host) / script), *args]


def run_host_script(script, args, host=None, **kwargs):
    """Run a host script with the plugin attached; return its exit code."""
    return subprocess.run(host_command(script, args, host), **kwargs).returncode


def run(script, args):
    from ..errors import HostNotFound
    from .presets import PresetNotFound, expand_presets
    try:
        return run_host_script(script, expand_presets(args.extra, for_test=script == "test.py"), host=args.host)
    except (HostNotFound, PresetNotFound) as exc:
        print(f"mrff: {exc}", file=sys.stderr)
        return 2
