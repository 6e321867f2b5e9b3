"""Time, place and weather of a synthetic frame.

Drawn independently of the scene layout, so one street can be rendered by day
and by night.  The place is KAIST's (Seoul, about 37.5 N); the paper's data
were taken around 14:00 (Sec. IV), day frames here span late morning to late
afternoon so that sun angles and shadow directions vary.
"""
from dataclasses import dataclass, replace

import numpy as np

from .sun import solar_position

DAY_HOURS = (9.5, 16.5)      # local solar time of day frames
NIGHT_HOURS = (20.0, 28.0)   # 20:00 to 04:00 (next day), local solar time
WARMEST_HOUR = 15.0          # air temperature peaks mid-afternoon
CLEAR_SKY_EMISSIVITY = 0.2   # zenith, 7.5-13 um
OVERCAST_SKY_EMISSIVITY = 0.9
CLEAR_SHARE = 0.6            # share of frames with a clear to hazy sky (cloud < 0.3)


@dataclass(frozen=True)
class Conditions:
    time: str                # "day" or "night"
    hour: float              # local solar time, 0-24
    day_of_year: int
    heading_deg: float       # camera heading, clockwise from north
    air_mean_k: float        # daily mean air temperature
    air_amplitude_k: float   # half the daily air temperature range
    wind_ms: float
    cloud: float             # cloud/haze cover, 0 clear to 1 overcast

    @property
    def sky_emissivity(self):
        """7.5-13 um emissivity of the sky at the zenith: about 0.2 for a clear sky
        (the atmospheric window is open), near 0.9 under low overcast."""
        return CLEAR_SKY_EMISSIVITY + (OVERCAST_SKY_EMISSIVITY - CLEAR_SKY_EMISSIVITY) * self.cloud

    def air_temperature(self, hour=None):
        """Air temperature (K) at `hour` (default: this frame's): a cosine over the
        day peaking at WARMEST_HOUR."""
        hour = self.hour if hour is None else hour
        return float(self.air_mean_k + self.air_amplitude_k * np.cos(2 * np.pi * (hour - WARMEST_HOUR) / 24.0))


def draw_conditions(rng, time):
    """Random conditions for a "day" or "night" frame, or for a given local solar
    hour (float) -- which decides day or night by whether the sun is up."""
    if isinstance(time, str):
        if time not in ("day", "night"):
            raise ValueError(f"time must be 'day', 'night' or an hour, not {time!r}")
        lo, hi = DAY_HOURS if time == "day" else NIGHT_HOURS
        hour = float(rng.uniform(lo, hi) % 24.0)
    else:
        hour = float(time) % 24.0
    day_of_year = int(rng.integers(80, 290))        # spring to autumn
    cond = Conditions(
        time="day", hour=hour, day_of_year=day_of_year,
        heading_deg=float(rng.uniform(0.0, 360.0)),
        air_mean_k=float(rng.uniform(285.0, 299.0)),
        air_amplitude_k=float(rng.uniform(3.0, 6.0)),
        wind_ms=float(rng.uniform(0.5, 4.0)),
        cloud=float(rng.uniform(0.0, 0.3) if rng.random() < CLEAR_SHARE else rng.uniform(0.3, 1.0)),
    )
    elevation, _ = solar_position(cond.hour, cond.day_of_year)
    return replace(cond, time="day" if elevation > 0 else "night")
