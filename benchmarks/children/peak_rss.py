"""Run one command and report its peak resident memory: the child process a memory figure is read from.

    python -m benchmarks.children.peak_rss -- COMMAND [ARGS...]

Prints `MAXRSS <kilobytes>` as its last line of standard output -- ru_maxrss of the command (Linux:
kilobytes), the largest of it and the processes it waited for -- and exits with the command's exit code.
A process of its own, so the figure is this command's alone and not any earlier child's of the caller.
"""
import argparse
import resource
import subprocess
import sys


def parse_maxrss(stdout):
    """The kilobytes of the `MAXRSS` line this module prints, from a captured standard output."""
    return int(next(line.split()[1] for line in stdout.splitlines() if line.startswith("MAXRSS ")))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments, after --")
    args = p.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        p.error("give the command to measure after --")
    code = subprocess.run(command).returncode
    print(f"MAXRSS {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
