"""A camera's calibration: sensor counts <-> temperature (kelvin).

Two forms, given in a small JSON file or read from a FLIR radiometric JPEG
(calibration_source.load_calibration):

* linear -- `T = kelvin_per_count * S + kelvin_at_zero`; FLIR's "TLinear" streams and many
  thermal sets store centikelvin (`kelvin_per_count` 0.01, `kelvin_at_zero` 0);

      {"kind": "linear", "kelvin_per_count": 0.01, "kelvin_at_zero": 0.0}

* planck -- FLIR's Planck form with the camera's constants R1, R2, B, F, O (as FLIR files store
  them, e.g. `PlanckR1` in exiftool's FLIR tag table):

      S = R1 / (R2 * (exp(B / T) - F)) - O        T = B / ln(R1 / (R2 * (S + O)) + F)

      {"kind": "planck", "R1": 17096.453, "R2": 0.046642166, "B": 1428.0, "F": 1.0, "O": -342.0}

  This is the temperature of a blackbody giving S counts (emissivity 1, no atmosphere): the
  apparent temperature.  FLIR Tools and `flyr` further correct for the emissivity, the reflected
  and atmospheric temperatures set in the camera; a calibration read from a JPEG keeps only the
  constants, so its temperatures are those at emissivity 1.

Either may give `"valid_kelvin": [LOW, HIGH]`, the temperatures the camera was calibrated over;
counts that convert outside it are refused (`to_kelvin`), as are counts where the Planck form has
no temperature (S + O <= 0).
"""
import math
from dataclasses import dataclass, field

import numpy as np

from . import RadiometricError

KELVIN_AT_0C = 273.15
CONSTANTS = {"linear": ("kelvin_per_count", "kelvin_at_zero"), "planck": ("R1", "R2", "B", "F", "O")}
UNITS = ("kelvin", "celsius")


@dataclass(frozen=True)
class Calibration:
    kind: str                                   # 'linear' | 'planck'
    constants: dict                             # CONSTANTS[kind] -> float
    valid_kelvin: tuple = (0.0, math.inf)       # temperatures the calibration covers
    source: str = field(default="", compare=False)   # the file it came from, for messages

    def to_kelvin(self, counts, name=None):
        """float64 kelvin of `counts` (any shape); RadiometricError naming `name` (or the calibration's
        file) when any count has no temperature or one outside `valid_kelvin`."""
        s = np.asarray(counts, np.float64)
        c = self.constants
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind == "linear":
                kelvin = c["kelvin_per_count"] * s + c["kelvin_at_zero"]
            else:
                kelvin = c["B"] / np.log(c["R1"] / (c["R2"] * (s + c["O"])) + c["F"])
        low, high = self.valid_kelvin
        bad = ~np.isfinite(kelvin) | (kelvin <= 0) | (kelvin < low) | (kelvin > high)
        if bad.any():
            counts_low, counts_high = self.counts_range()
            raise RadiometricError(
                f"{name or 'the counts'}: {int(bad.sum())} of {bad.size} values ({float(s[bad].min()):g} to "
                f"{float(s[bad].max()):g} counts) lie outside the range of calibration {self.source or self.kind} "
                f"({counts_low:g} to {counts_high:g} counts, {low:g} to {high:g} K); pass the camera's own "
                f"calibration, or write counts without one.")
        return kelvin

    def to_counts(self, kelvin):
        """float64 counts of temperatures `kelvin` (the inverse of to_kelvin)."""
        t = np.asarray(kelvin, np.float64)
        c = self.constants
        if self.kind == "linear":
            return (t - c["kelvin_at_zero"]) / c["kelvin_per_count"]
        return c["R1"] / (c["R2"] * (np.exp(c["B"] / t) - c["F"])) - c["O"]

    def counts_range(self):
        """(low, high) counts of `valid_kelvin` (the Planck form's own limit where it is unbounded)."""
        low, high = self.valid_kelvin
        c = self.constants
        ends = [self.to_counts(low) if low > 0 else (-c["O"] if self.kind == "planck" else
                                                       -c["kelvin_at_zero"] / c["kelvin_per_count"]),
                self.to_counts(high) if math.isfinite(high) else math.inf]
        return tuple(sorted(float(v) for v in ends))

    def record(self):
        """The calibration as its JSON form (what `load_calibration` reads back)."""
        return {"kind": self.kind, **self.constants,
                **({"valid_kelvin": list(self.valid_kelvin)} if self.valid_kelvin != (0.0, math.inf) else {})}


def from_record(record, source):
    """A Calibration from a JSON-like dict; RadiometricError naming `source` and what is wrong."""
    if not isinstance(record, dict) or record.get("kind") not in CONSTANTS:
        kind = record.get("kind") if isinstance(record, dict) else None
        raise RadiometricError(f"{source}: \"kind\" is {kind!r}, not \"linear\" or \"planck\"; write "
                               f"{{\"kind\": \"planck\", \"R1\": ..., \"R2\": ..., \"B\": ..., \"F\": ..., \"O\": ...}} "
                               f"or {{\"kind\": \"linear\", \"kelvin_per_count\": ..., \"kelvin_at_zero\": ...}}.")
    names = CONSTANTS[record["kind"]]
    missing = [n for n in names if n not in record]
    if missing:
        raise RadiometricError(f"{source}: the {record['kind']} calibration lacks {', '.join(missing)}; add "
                               f"{'them' if len(missing) > 1 else 'it'} (it needs {', '.join(names)}).")
    constants = {}
    for name in names:
        value = record[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise RadiometricError(f"{source}: {name} is {value!r}, not a finite number; give the camera's value.")
        constants[name] = float(value)
    zero = {"linear": "kelvin_per_count", "planck": "R1"}[record["kind"]]
    if constants[zero] == 0 or (record["kind"] == "planck" and (constants["R2"] == 0 or constants["B"] <= 0)):
        raise RadiometricError(f"{source}: {zero}, R2 and B must not be 0 (B above 0); give the camera's values.")
    valid = record.get("valid_kelvin", (0.0, math.inf))
    if (not isinstance(valid, (list, tuple)) or len(valid) != 2 or
            not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in valid) or valid[0] >= valid[1]):
        raise RadiometricError(f"{source}: valid_kelvin is {valid!r}, not [LOW, HIGH] with LOW < HIGH.")
    return Calibration(record["kind"], constants, (float(valid[0]), float(valid[1])), source)


def convert_unit(kelvin, unit):
    """kelvin -> `unit` ('kelvin' | 'celsius')."""
    if unit not in UNITS:
        raise RadiometricError(f"temperature unit {unit!r} is not kelvin or celsius.")
    return kelvin - KELVIN_AT_0C if unit == "celsius" else kelvin
