"""`mrff bench NAME [ARGS...]`: run the benchmark module benchmarks.NAME (speed, quality.v2, ...) with ARGS.

The benchmarks are the modules of the repository's `benchmarks` package, found
through an editable install's checkout (`mrff_plugin.bundled`) and run as
`python -m benchmarks.NAME` with the checkout on the import path; each writes JSON
under benchmarks/out/ and prints a summary.  A wheel does not carry them (they
write their results beside themselves), so there `mrff bench` says it needs a
checkout.  `mrff bench --list` shows what exists.
"""
import os
import subprocess
import sys

ACCEPTS_EXTRA = True


def benchmarks_folder():
    """The checkout's benchmarks/ folder, or None in a non-editable install."""
    from ..bundled import BENCHMARKS, bundled_path
    return bundled_path(BENCHMARKS)


def available(folder):
    """Names of the benchmarks: the modules with a main in benchmarks/ and benchmarks/quality/ (the study
    drivers), dotted below the package (`speed`, `quality.v2`); the child processes in children/ are not."""
    modules = [*folder.glob("*.py"), *(folder / "quality").glob("*.py")]
    return sorted(".".join(p.relative_to(folder).with_suffix("").parts) for p in modules
                  if "def main(" in p.read_text(encoding="utf-8"))


def add_arguments(parser):
    parser.add_argument("name", nargs="?", help="benchmark to run (see --list)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks")
    parser.epilog = "Other arguments go to the benchmark, e.g. `mrff bench speed --quick`."


def main(args):
    folder = benchmarks_folder()
    if folder is None:
        print("error: mrff bench runs the benchmark scripts of a repository checkout, which this install does not "
              "have; clone the repository and install it with `pip install -e .` (or `make setup`) to benchmark.",
              file=sys.stderr)
        return 2
    names = available(folder)
    if args.list or not args.name:
        print("benchmarks: " + (", ".join(names) or f"none found in {folder}"))
        return 0 if args.list else 2
    if args.name not in names:
        print(f"mrff bench: no benchmark '{args.name}' in {folder}; choose one of: {', '.join(names)}.",
              file=sys.stderr)
        return 2
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(folder.parent), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", f"benchmarks.{args.name}", *args.extra], env=env).returncode
