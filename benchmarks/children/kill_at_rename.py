"""Run a host script and SIGKILL it right after the N-th rename of a staged checkpoint file.

    KILL_AT_RENAME=N python benchmarks/kill_at_rename.py train.py ...   (from the host folder)

A save commits its staged `.partial_<label>_*` files by renaming them into place
(util/checkpoint.py: 3 renames per pix2pix save: G, D, the state); the renames
take microseconds, so no outside timer can kill a run between them.  This
wrapper wraps `os.replace` to send its own process SIGKILL after the N-th one,
a real kill at an exact point of the real save code.  Used by kill_resume.py
(`at_rename` trials) and tests/test_reliability_checkpoints.py.
"""
import os
import runpy
import signal
import sys

KILL_AT = int(os.environ["KILL_AT_RENAME"])
_renames = 0
_replace = os.replace


def replace_then_maybe_die(source, target):
    global _renames
    _replace(source, target)
    if os.path.basename(source).startswith(".partial_"):  # a staged file committed
        _renames += 1
        if _renames == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    os.replace = replace_then_maybe_die
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.getcwd())
    runpy.run_path(sys.argv[0], run_name="__main__")
