"""A flag with two spellings: `--pairs_list` / `--kaist_list`, `--frame_stride` / `--kaist_stride`.

`kaist_aligned` reads every pair layout (KAIST, LLVIP, FLIR, RoadScene, MSRS,
M3FD, TNO), so its list and stride flags carry neutral names; the KAIST-named
spellings stay accepted as aliases. Both spellings store into one option (the
same `dest`, so the options a run saves keep their key whichever spelling was
typed). Both spellings in one command line with different values are refused
in one sentence, as argparse refuses any other bad flag (exit status 2).
"""
import argparse
import weakref


class AliasedOption(argparse.Action):
    """argparse action of a one-value flag with an alias: either spelling sets the option; the two spellings
    with different values in one command line are an error."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        # id of the namespace being parsed -> (weak reference to it, spelling, value) given so far (argparse's
        # Namespace compares by value, so it cannot key a dict itself)
        self._given = {}

    def __call__(self, parser, namespace, values, option_string=None):
        reference, spelling, value = self._given.get(id(namespace), (None, None, None))
        if reference is not None and reference() is namespace and spelling != option_string and value != values:
            raise argparse.ArgumentError(
                self, f"{spelling} {value} and {option_string} {values} are two spellings of one flag "
                      f"with different values; give it once.")
        self._given = {key: entry for key, entry in self._given.items() if entry[0]() is not None}
        self._given[id(namespace)] = (weakref.ref(namespace), option_string, values)
        setattr(namespace, self.dest, values)
