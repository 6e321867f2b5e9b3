"""`--lwir_range`: the linear map between an LWIR file's values and the network's [-1, 1], and back.

    --lwir_range LOW HIGH   fixed: counts (16-bit data) or kelvin (float temperature TIFFs)
    --lwir_range auto       the AUTO_PERCENTILES of every training LWIR frame together, computed
                            once when training starts
    --lwir_range display    8-bit display pictures, the camera's per-image AGC output, read as
                            their grey levels 0-255 (the default for 8-bit data; no physical unit)

    x = 2 (v - LOW) / (HIGH - LOW) - 1          v = LOW + (x + 1) (HIGH - LOW) / 2

Values are kept as float32 from the file to the loss: no 8-bit step.  Values outside
[LOW, HIGH] are clipped; the share clipped over the data set is printed in one line, and a share
above MAX_CLIPPED_SHARE is refused (the range does not fit the data).  All LWIR files of a set
must have one unit (16-bit counts, float temperatures or 8-bit grey): mixed bit depths are refused.

The range is saved as RANGE_FILE in the run folder (`<checkpoints_dir>/<name>/`, beside
train_opt.txt) when training starts, and `test.py`, `mrff generate` and `mrff export` read it
there, so every later step uses the same map.
"""
import json
import os
from dataclasses import dataclass

import numpy as np

from ..durable import atomic_write_text
from . import RadiometricError

RANGE_FILE = "lwir_range.json"
AUTO_PERCENTILES = (0.1, 99.9)    # auto: these percentiles of all training pixels map to -1 and +1
MAX_CLIPPED_SHARE = 0.05          # more than 5 % of the pixels outside the range: refused
SAMPLES_PER_FRAME = 1 << 16       # auto on float data: at most this many pixels of each frame (a regular grid)
DISPLAY = "display"
AUTO = "auto"


@dataclass(frozen=True)
class LwirRange:
    low: float
    high: float
    unit: str                     # reading.UNITS: 'counts' | 'temperature' | 'grey'
    how: str = "fixed"            # 'fixed' (LOW HIGH given) | 'auto' (percentiles) | 'display'
    clipped_share: float = 0.0    # share of the training pixels outside [low, high]
    calibration: dict = None      # calibration.Calibration.record() of the data, when known

    def to_network(self, values):
        """float32 values in the file's unit -> float32 in [-1, 1] (clipped)."""
        x = (np.asarray(values, np.float32) - np.float32(self.low)) * np.float32(2.0 / (self.high - self.low)) - 1
        return np.clip(x, -1.0, 1.0, out=x)

    def from_network(self, x):
        """Network output in [-1, 1] (numpy or torch, float) -> float64 values in the file's unit."""
        x = np.asarray(x, np.float64)
        return self.low + (np.clip(x, -1.0, 1.0) + 1.0) * (0.5 * (self.high - self.low))

    def record(self):
        return {"low": self.low, "high": self.high, "unit": self.unit, "how": self.how,
                "percentiles": list(AUTO_PERCENTILES) if self.how == AUTO else None,
                "clipped_share": self.clipped_share, "calibration": self.calibration,
                "map": "x = 2 (v - low) / (high - low) - 1, clipped to [-1, 1]"}


def parse_flag(values):
    """`--lwir_range` as given (a list of strings) -> 'auto', 'display', (low, high) or None (not given)."""
    if values is None or values == []:
        return None
    values = [str(v) for v in (values if isinstance(values, (list, tuple)) else str(values).split())]
    if len(values) == 1 and values[0] in (AUTO, DISPLAY):
        return values[0]
    try:
        low, high = (float(v) for v in values)
    except ValueError:
        low = high = None
    if low is None or not low < high:
        raise RadiometricError(f"--lwir_range {' '.join(values)} is not 'auto', 'display' or LOW HIGH with LOW < "
                               f"HIGH (e.g. --lwir_range 7000 9000 for counts, 250 330 for kelvin).")
    return low, high


def _samples(frame):
    values = frame.values
    step = max(1, int(np.ceil(np.sqrt(values.size / SAMPLES_PER_FRAME))))
    return values[::step, ::step].ravel()


def survey(paths, read):
    """(unit, bits, sorted samples, calibration record or None) of the LWIR files `paths`, each read with
    `read(path) -> reading.LwirFrame`; RadiometricError when their units differ (mixed bit depths)."""
    first, samples, calibration = None, [], None
    for path in paths:
        frame = read(path)
        if first is None:
            first = (path, frame.unit, frame.bits)
        elif frame.unit != first[1]:
            raise RadiometricError(f"{path} holds {describe(frame.unit, frame.bits)} but {first[0]} holds "
                                   f"{describe(first[1], first[2])}; one LWIR set needs one kind of file, so "
                                   f"convert one of them or leave it out.")
        samples.append(_samples(frame))
        if frame.calibration is not None and calibration is None:
            calibration = frame.calibration.record()
    return first[1], first[2], np.sort(np.concatenate(samples)), calibration


def describe(unit, bits):
    return {"counts": f"{bits}-bit counts", "temperature": f"{bits}-bit float temperatures",
            "grey": "8-bit grey levels"}[unit]


def clipped_share(sorted_samples, low, high):
    """Share of `sorted_samples` below `low` or above `high`."""
    below = np.searchsorted(sorted_samples, low, side="left")
    above = sorted_samples.size - np.searchsorted(sorted_samples, high, side="right")
    return float(below + above) / max(sorted_samples.size, 1)


def choose(flag, unit, bits, sorted_samples, calibration, where):
    """The LwirRange for a parsed `flag` over a surveyed set; one printed line; RadiometricError when the
    range does not fit (unit, share clipped)."""
    if flag == DISPLAY or (flag is None and unit == "grey"):
        if unit != "grey":
            raise RadiometricError(f"--lwir_range display reads 8-bit pictures, but {where} holds "
                                   f"{describe(unit, bits)}; pass --lwir_range auto or LOW HIGH to train on them.")
        return LwirRange(0.0, 255.0, "grey", DISPLAY)
    if flag is None:
        raise RadiometricError(f"{where} holds {describe(unit, bits)}; pass --lwir_range auto (or LOW HIGH in "
                               f"{'counts' if unit == 'counts' else 'kelvin'}) so the network sees them at full "
                               f"depth, not as an 8-bit picture.")
    if flag == AUTO:
        low, high = (float(v) for v in np.percentile(sorted_samples, AUTO_PERCENTILES))
        if not high > low:
            raise RadiometricError(f"{where}: every LWIR pixel is {low:g}; --lwir_range auto needs frames with "
                                   f"some contrast, pass LOW HIGH instead.")
    else:
        low, high = flag
    share = clipped_share(sorted_samples, low, high)
    result = LwirRange(low, high, unit, AUTO if flag == AUTO else "fixed", share, calibration)
    print(f"--lwir_range {low:g} {high:g} ({describe(unit, bits)}{', auto' if flag == AUTO else ''}): "
          f"{share:.2%} of the LWIR pixels lie outside it and are clipped")
    if share > MAX_CLIPPED_SHARE:
        raise RadiometricError(f"--lwir_range {low:g} {high:g} clips {share:.1%} of the LWIR pixels of {where} "
                               f"(at most {MAX_CLIPPED_SHARE:.0%} allowed); widen it, or pass --lwir_range auto.")
    return result


def save(lwir_range, folder):
    """Write RANGE_FILE into the run `folder` (through durable.atomic_write)."""
    path = os.path.join(folder, RANGE_FILE)
    atomic_write_text(path, json.dumps(lwir_range.record(), indent=1) + "\n")
    return path


def load(folder):
    """The LwirRange saved in the run `folder`, or None when it has none."""
    path = os.path.join(folder, RANGE_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
        return LwirRange(float(record["low"]), float(record["high"]), record["unit"], record["how"],
                         float(record.get("clipped_share", 0.0)), record.get("calibration"))
    except (OSError, ValueError, KeyError, TypeError):
        raise RadiometricError(f"{path} cannot be read as the run's LWIR range; delete it and train again "
                               f"with --lwir_range.") from None


def agree(saved, flag, path):
    """RadiometricError when a fixed `flag` given now differs from the `saved` range of the run."""
    if isinstance(flag, tuple) and (saved.how != "fixed" or (saved.low, saved.high) != flag):
        raise RadiometricError(f"{path} maps {saved.low:g} {saved.high:g} ({saved.how}), but --lwir_range "
                               f"{flag[0]:g} {flag[1]:g} is given; drop --lwir_range to use the run's map, or "
                               f"train a new run.")
