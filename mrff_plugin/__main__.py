"""The runner: `python -m mrff_plugin SCRIPT.py [ARGS...]` runs a host script with the plugin attached.

    cd pytorch-CycleGAN-and-pix2pix
    python -m mrff_plugin train.py --dataroot D --name N --model pix2pix --netG unetpp_fusion

The script runs as `python SCRIPT.py ARGS...` would run it: `sys.argv` is
[SCRIPT.py, ARGS...], the script's folder is `sys.path[0]`, `__name__` is
'__main__' -- plus `mrff_plugin.register()` for the host in that folder.
"""
import os
import runpy
import sys

USAGE = "usage: python -m mrff_plugin SCRIPT.py [ARGS...]   (e.g. train.py --netG unetpp_fusion ...)"


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip() if argv else USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    script = os.path.abspath(argv[0])
    if not os.path.isfile(script):
        print(f"mrff_plugin: {argv[0]} does not exist; run from the toolkit checkout (cd to the folder with "
              f"train.py) or give the script's path.", file=sys.stderr)
        return 2
    sys.argv = list(argv)
    sys.path[0] = os.path.dirname(script)
    from .attach import register
    register()  # the host `import models` finds from there; warns (and runs the script) if none
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
