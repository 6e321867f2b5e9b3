"""Experiment presets: argument files in the project's `options/` folder.

A preset is plain text: flags as they would be typed, any layout, `#` starts a
comment.  The same file works with an unmodified host script through the shell
(`python train.py $(grep -v '^#' options/kaist_fusion.txt) --dataroot D`) and
with `mrff train @kaist_fusion --dataroot D`, where `@NAME` or `@FILE` expands
in place and later flags override earlier ones (argparse keeps the last value).
"""
import shlex
from pathlib import Path

from ..bundled import PRESETS, PACKAGED, bundled_path
from ..errors import MrffError

# The presets of this install (a wheel carries them, an editable install reads the checkout's).
PRESET_DIR = bundled_path(PRESETS) or PACKAGED / PRESETS


class PresetNotFound(MrffError, FileNotFoundError):
    pass


def preset_path(name):
    """`kaist_fusion`, `kaist_fusion.txt` or a path -> the preset file."""
    for candidate in (Path(name), PRESET_DIR / name, PRESET_DIR / f"{name}.txt"):
        if candidate.is_file():
            return candidate
    known = ", ".join(sorted(p.stem for p in PRESET_DIR.glob("*.txt"))) or "none"
    raise PresetNotFound(f"preset {name!r} not found (looked in {PRESET_DIR}); known presets: {known}.")


def read_preset(name):
    """The flags of a preset as an argv list (comments removed)."""
    return shlex.split(preset_path(name).read_text(), comments=True)


def expand_presets(argv, for_test=False):
    """Replace every `@NAME` item of argv by the preset's flags (without the train-only
    ones when `for_test`, so one preset drives both train.py and test.py)."""
    out = []
    for item in argv:
        if item.startswith("@") and len(item) > 1:
            flags = read_preset(item[1:])
            out.extend(drop_train_only(flags) if for_test else flags)
        else:
            out.append(item)
    return out


# Flags that only train.py knows (host contract: TrainOptions); test.py refuses them.
TRAIN_ONLY_FLAGS = frozenset({
    "n_epochs", "n_epochs_decay", "epoch_count", "continue_train", "lr", "beta1", "lr_policy",
    "lr_decay_iters", "gan_mode", "pool_size", "lambda_L1", "lambda_A", "lambda_B", "lambda_identity",
    "print_freq", "display_freq", "display_ncols", "display_id", "display_server", "display_env",
    "display_port", "update_html_freq", "no_html", "save_latest_freq", "save_epoch_freq", "save_by_iter",
    # --model mrff_pix2pix's training flags (mrff_plugin/training/mrff_pix2pix.py)
    "val_freq", "val_dataroot", "val_phase", "val_size", "amp",
})


def drop_train_only(argv):
    """argv without the train-only flags and their values, so a training preset can drive test.py."""
    out, skipping = [], False
    for item in argv:
        if item.startswith("--"):
            skipping = item[2:].split("=", 1)[0] in TRAIN_ONLY_FLAGS
        if not skipping:
            out.append(item)
    return out
