"""`mrff synth`: write physics-based synthetic visible/LWIR pairs in the KAIST layout.

    mrff synth --out datasets/synth --pairs 500 --time day --size 256x256 --seed 0

writes DIR/images/setNN/V000/{visible,lwir}/I00000.jpg (training pairs in the
KAIST training sets of that time of day, test pairs in the test sets) and
DIR/synth.json; with --lwir_bits 16 also DIR/radiometric/ (the camera's counts
before AGC, synth/radiometric_pairs.py).  See mrff_plugin/synth/ for the physics.
"""
import sys


def parse_size(text):
    """'256x192' -> (256, 192); '256' -> (256, 256)."""
    parts = text.lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) == 1:
        values = values * 2
    if len(values) != 2:
        raise ValueError(f"--size must look like 256x256 (width x height), not {text!r}.")
    return tuple(values)


def add_arguments(parser):
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output folder (gets images/setNN/V000/{visible,lwir}/)")
    parser.add_argument("--pairs", type=int, default=100, metavar="N", help="training pairs to write (default 100)")
    parser.add_argument("--test-pairs", type=int, default=None, metavar="M",
                        help="test pairs to write (default: one per five training pairs, at least 1)")
    parser.add_argument("--time", default="day", choices=("day", "night", "all"),
                        help="time of day; 'all' writes half day, half night (default day)")
    parser.add_argument("--size", default="256x256", metavar="WxH", help="image size WIDTHxHEIGHT (default 256x256)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="random seed; same seed, same bytes (default 0)")
    parser.add_argument("--jobs", type=int, default=1, metavar="J", help="worker processes (default 1)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a set previously written by mrff synth in --out")
    parser.add_argument("--lwir_bits", type=int, choices=(8, 16), default=8,
                        help="16: also write the LWIR camera's 14-bit counts before its AGC as 16-bit PNGs, the "
                             "scene temperature (K) as float TIFFs and the counts' calibration.json, in "
                             "DIR/radiometric/{train,test}/ (train with --dataroot DIR/radiometric --lwir_range "
                             "auto; docs/radiometric.md)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args):
    from ..synth.writer import SynthError, write_dataset
    try:
        size = parse_size(args.size)
        if args.jobs < 1:
            raise SynthError(f"--jobs must be at least 1, not {args.jobs}.")
        summary = write_dataset(args.out, args.pairs, args.time, size, args.seed, args.test_pairs,
                                jobs=args.jobs, overwrite=args.overwrite, progress=not args.quiet,
                                lwir_bits=args.lwir_bits)
    except (SynthError, ValueError) as exc:
        print(f"mrff synth: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"mrff synth: cannot write to {args.out}: {exc.strerror or exc}.", file=sys.stderr)
        return 2
    sets = ", ".join(f"{name}: {n}" for name, n in sorted(summary["sets"].items()))
    print(f"mrff synth: wrote {summary['train_pairs']} training + {summary['test_pairs']} test pairs "
          f"({summary['time']}, {size[0]}x{size[1]}, seed {summary['seed']}) to "
          f"{summary['out']}/images ({sets}) in {summary['seconds']:.1f} s "
          f"({summary['pairs_per_second']:.1f} pairs/s).")
    if args.lwir_bits == 16:
        print(f"mrff synth: 16-bit counts, scene temperatures and calibration.json in {summary['out']}/radiometric "
              f"(train with --dataroot {summary['out']}/radiometric --lwir_range auto).")
    return 0
