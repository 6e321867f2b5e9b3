"""The project's benchmarks: speed, memory, tiling, reliability and the quality studies.

Each benchmark is a module run from the repository's root, `python -m benchmarks.<name> [--help]`
(`benchmarks.quality.v2` for version 2 of the quality study).  `benchmarks.common` holds what they
share: the folders, the one atomic JSON writer and the one record of the machine a figure was
measured on.  Child processes a benchmark starts are modules of this package too, with their own
argparse command lines.  The package imports `mrff_plugin` as installed (`make setup`).
"""
