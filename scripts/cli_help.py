"""Write docs/cli/<command>-help.txt: each `mrff` command's --help, as argparse prints it.

    .venv/bin/python scripts/cli_help.py           # rewrite the pages
    .venv/bin/python scripts/cli_help.py --check   # exit 1 if a page is missing, stale or left over

The pages are made from the same parser `mrff` builds (`mrff_plugin.cli.build_parser`), at a
fixed width, so they change only when an option does.
"""
import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "docs" / "cli"
WIDTH = "100"      # argparse wraps help text at $COLUMNS


def pages():
    """{file name: help text} for `mrff --help` and every command's."""
    os.environ["COLUMNS"] = WIDTH
    sys.path.insert(0, str(ROOT))   # this checkout's package, not another install's
    from mrff_plugin.cli import build_parser
    parser = build_parser()
    parser.prog = "mrff"
    found = {"mrff-help.txt": parser.format_help()}
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        sub.prog = "mrff " + name
        found[f"{name}-help.txt"] = sub.format_help()
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/cli/ differs from the parser")
    args = parser.parse_args(argv)
    wanted = pages()
    present = {p.name for p in FOLDER.glob("*-help.txt")} if FOLDER.exists() else set()
    stale = sorted(name for name, text in wanted.items()
                   if name not in present or (FOLDER / name).read_text() != text)
    extra = sorted(present - set(wanted))
    if args.check:
        for name in stale + extra:
            print(f"docs/cli/{name} is stale; run: python scripts/cli_help.py", file=sys.stderr)
        return 1 if stale or extra else 0
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (FOLDER / name).write_text(wanted[name])
    for name in extra:
        (FOLDER / name).unlink()
    print(f"docs/cli/: {len(stale)} written, {len(extra)} removed, {len(wanted)} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
