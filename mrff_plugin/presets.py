"""Experiment presets: argument files in the project's `options/` folder.

A preset is plain text: flags as they would be typed, any layout, `#` starts a
comment.  The same file works with an unmodified host script through the shell
(`python train.py $(grep -v '^#' options/kaist_fusion.txt) --dataroot D`) and
with `mrff train @kaist_fusion --dataroot D`, where `@NAME` or `@FILE` expands
in place and later flags override earlier ones (argparse keeps the last value).
"""
import shlex
from pathlib import Path

PRESET_DIR = Path(__file__).resolve().parents[1] / "options"


class PresetNotFound(FileNotFoundError):
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


def expand_presets(argv):
    """Replace every `@NAME` item of argv by the preset's flags."""
    out = []
    for item in argv:
        out.extend(read_preset(item[1:]) if item.startswith("@") and len(item) > 1 else [item])
    return out
