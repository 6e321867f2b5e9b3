"""Run a host script and SIGKILL it right after the N-th rename of a staged checkpoint file.

    cd third_party/pix2pix_toolkit
    KILL_AT_RENAME=N PYTHONPATH=<repository> python -m benchmarks.children.kill_at_rename train.py ...

A save commits its staged `.partial_<label>_*` files by renaming them into place
(util/checkpoint.py: 3 renames per pix2pix save: G, D, the state); the renames
take microseconds, so no outside timer can kill a run between them.  This
wrapper wraps `os.replace` to send its own process SIGKILL after the N-th one,
a real kill at an exact point of the real save code.  The script runs as
`python SCRIPT ARGS` would run it from the host folder, which `-m` puts first on
the import path.  Used by benchmarks/kill_resume.py (`at_rename` trials) and
tests/test_reliability_checkpoints.py.
"""
import argparse
import os
import runpy
import signal
import sys

_replace = os.replace


class KillAtRename:
    """os.replace that, after the `kill_at`-th commit of a staged file, SIGKILLs its own process."""

    def __init__(self, kill_at):
        self.kill_at, self.renames = kill_at, 0

    def __call__(self, source, target):
        _replace(source, target)
        if os.path.basename(source).startswith(".partial_"):  # a staged file committed
            self.renames += 1
            if self.renames == self.kill_at:
                os.kill(os.getpid(), signal.SIGKILL)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                epilog="The rename to die at comes from the environment variable KILL_AT_RENAME.")
    p.add_argument("script", help="the host script, e.g. train.py")
    p.add_argument("script_args", nargs=argparse.REMAINDER, help="its arguments")
    args = p.parse_args(argv)
    if not os.environ.get("KILL_AT_RENAME", "").isdigit():
        p.error("set KILL_AT_RENAME to the number of the staged rename to die at (1 is a save's first)")
    os.replace = KillAtRename(int(os.environ["KILL_AT_RENAME"]))
    sys.argv = [args.script, *args.script_args]
    runpy.run_path(args.script, run_name="__main__")


if __name__ == "__main__":
    main()
