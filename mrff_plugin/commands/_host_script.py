"""Shared body of `mrff train` and `mrff test`: run a host script with the plugin attached."""
import sys

ACCEPTS_EXTRA = True


def add_host_arguments(parser, script):
    parser.add_argument("--host", default=None,
                        help="pix2pix/CycleGAN checkout to use (default: $MRFF_HOST or the bundled "
                             "third_party/pix2pix_toolkit)")
    parser.epilog = (f"All other arguments go to the host's {script} unchanged; @NAME expands the "
                     f"preset options/NAME.txt in place (e.g. @kaist_fusion).")


def run(script, args):
    from ..host import HostNotFound, run_host_script
    from ..presets import PresetNotFound, expand_presets
    try:
        return run_host_script(script, expand_presets(args.extra, for_test=script == "test.py"), host=args.host)
    except (HostNotFound, PresetNotFound) as exc:
        print(f"mrff: {exc}", file=sys.stderr)
        return 2
