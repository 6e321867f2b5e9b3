"""`mrff bench NAME [ARGS...]`: run benchmarks/NAME.py (speed, quality, ...) with ARGS.

The benchmarks live in the checkout's `benchmarks/` folder (next to this package
in an editable install); each writes JSON under benchmarks/out/ and prints a
summary.  `mrff bench --list` shows what exists.
"""
import subprocess
import sys
from pathlib import Path

ACCEPTS_EXTRA = True
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def available():
    """Names of the benchmark scripts (benchmarks/<name>.py with a main)."""
    if not BENCHMARKS.is_dir():
        return []
    return sorted(p.stem for p in BENCHMARKS.glob("*.py") if "def main(" in p.read_text(encoding="utf-8"))


def add_arguments(parser):
    parser.add_argument("name", nargs="?", help="benchmark to run (see --list)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks")
    parser.epilog = "Other arguments go to the benchmark, e.g. `mrff bench speed --quick`."


def main(args):
    names = available()
    if args.list or not args.name:
        print("benchmarks: " + (", ".join(names) or f"none found in {BENCHMARKS}"))
        return 0 if args.list else 2
    if args.name not in names:
        print(f"mrff bench: no benchmark '{args.name}' in {BENCHMARKS}; choose one of: {', '.join(names)}.",
              file=sys.stderr)
        return 2
    return subprocess.run([sys.executable, str(BENCHMARKS / f"{args.name}.py"), *args.extra]).returncode
