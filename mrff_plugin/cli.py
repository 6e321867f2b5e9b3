"""`mrff` command line: a thin dispatcher.

Each sub-command lives in its own module `mrff_plugin.commands.<name>` that
defines `add_arguments(parser)` and `main(args) -> int`. Command modules keep
their top-level imports light (no torch) so building the parser stays fast;
heavy imports happen inside `main`.
"""
import argparse
import importlib
import os
import sys

# name -> one-line help; the module is mrff_plugin.commands.<name> ('-' written '_')
COMMANDS = {
    "demo": "make a small synthetic set, train the fusion model briefly, test, print gallery, SSIM/PSNR and FID/KID",
    "synth": "write physics-based synthetic visible/LWIR pairs in the KAIST layout",
    "train": "run the host's train.py with the plugin attached",
    "test": "run the host's test.py with the plugin attached",
    "evaluate": "SSIM/PSNR (paper Table 3 protocol), FID/KID and LPIPS/DISTS of test.py result folders or --fake/--real folders",
    "generate": "batch visible -> LWIR generation from a checkpoint",
    "export": "checkpoint -> ONNX file, checked against PyTorch with ONNX Runtime",
    "bench": "run a benchmark from benchmarks/",
    "visdom-assets": "install Visdom's web-page scripts from the npm registry (sha256-checked), so it needs no CDN",
}


def build_parser():
    parser = argparse.ArgumentParser(prog="mrff", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        module_name = f"mrff_plugin.commands.{name.replace('-', '_')}"
        p.set_defaults(_module=module_name)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # command not built yet
            if exc.name != module_name:
                raise
            p.set_defaults(_missing=True)
            continue
        module.add_arguments(p)
    return parser


def dispatch(argv=None):
    """(exit code, the command's module or None) of `mrff ARGV...`."""
    args, extra = build_parser().parse_known_args(argv)
    if getattr(args, "_missing", False):
        print(f"mrff {args.command}: not available in this version.", file=sys.stderr)
        return 2, None
    module = importlib.import_module(args._module)
    args.extra = extra  # pass-through arguments (train/test forward them to the host)
    if extra and not getattr(module, "ACCEPTS_EXTRA", False):
        print(f"mrff {args.command}: unrecognized arguments: {' '.join(extra)}", file=sys.stderr)
        return 2, module
    from .errors import MrffError
    try:
        return int(module.main(args) or 0), module
    except MrffError as exc:   # a mistake the user can fix: its one sentence, no traceback
        print(f"mrff {args.command}: {exc}", file=sys.stderr)
        return 2, module


def main(argv=None):
    """`mrff ARGV...` in this process; returns the exit code."""
    return dispatch(argv)[0]


def console():
    """The `mrff` executable (setup.py's console script, `python -m mrff_plugin.cli`): run, then exit.

    After a successful run of a command whose module sets SKIP_TEARDOWN (`generate`: every file it wrote is
    closed and renamed, its threads and loader processes have finished), the process leaves through
    `os._exit` once stdout and stderr are flushed: the interpreter's teardown of torch takes a measurable share of a short run
    (docs/performance.md, "Inference"), which such a run has no use for.
    """
    code, module = dispatch()
    if code == 0 and getattr(module, "SKIP_TEARDOWN", False):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return code


if __name__ == "__main__":
    sys.exit(console())
