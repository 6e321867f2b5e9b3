"""Where the host toolkit lives, and how to run its scripts with the plugin attached.

The `mrff` commands drive a pix2pix/CycleGAN-style checkout (its `train.py`,
`test.py`).  By default that is the project's own compatible host
`third_party/pix2pix_toolkit`, which every install carries (`mrff_plugin.bundled`);
any other checkout -- e.g. an unmodified upstream clone -- is chosen with
`--host PATH` or the `MRFF_HOST` environment variable.
"""
import os
import subprocess
import sys
from pathlib import Path

from .bundled import HOST, bundled_path
from .errors import MrffError

HOST_SCRIPTS = ("train.py", "test.py")


class HostNotFound(MrffError, RuntimeError):
    """No pix2pix-style checkout at the requested place."""


def find_host(path=None):
    """Return the host checkout folder: `path`, else $MRFF_HOST, else the bundled one."""
    chosen = path or os.environ.get("MRFF_HOST") or bundled_path(HOST)
    if chosen is None:
        raise HostNotFound(
            f"this install of mrff_plugin carries no bundled host ({HOST}); reinstall it from a wheel or a checkout "
            f"(pip install .), or pass --host PATH or set MRFF_HOST to a pix2pix/CycleGAN checkout.")
    host = Path(chosen).expanduser().resolve()
    missing = [s for s in HOST_SCRIPTS + ("models", "data", "options") if not (host / s).exists()]
    if missing:
        raise HostNotFound(
            f"{host} is not a pix2pix/CycleGAN toolkit checkout (missing {', '.join(missing)}); "
            f"pass --host PATH or set MRFF_HOST to a folder with train.py, test.py, models/, data/, options/.")
    return host


def host_command(script, args, host=None):
    """argv that runs `<host>/<script> args...` with the plugin attached (the runner)."""
    return [sys.executable, "-m", "mrff_plugin", str(find_host(host) / script), *args]


def run_host_script(script, args, host=None, **kwargs):
    """Run a host script with the plugin attached; return its exit code."""
    return subprocess.run(host_command(script, args, host), **kwargs).returncode
