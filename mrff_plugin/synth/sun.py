"""The sun: where it is, how much light it gives, what it lights and what lies
in shadow.

Sun position from the usual declination/hour-angle formulas (declination after
Cooper 1969), clear-sky irradiance from the air mass (Kasten & Young 1989) and
the Meinel & Meinel (1976) attenuation, shadows by casting a ray from every
sunward-facing visible surface point towards the sun (`geometry.occluded`).
"""
from dataclasses import dataclass

import numpy as np

from .geometry import occluded

LATITUDE_DEG = 37.5             # Seoul, where the KAIST multispectral set was recorded
SOLAR_CONSTANT = 1361.0         # W m^-2, top of atmosphere (Kopp & Lean 2011)
DIFFUSE_FRACTION = 0.12         # clear-sky diffuse horizontal / direct normal, typical
CLOUD_DIRECT_LOSS = 0.9         # share of direct sun removed by full overcast
CLOUD_DIFFUSE_GAIN = 0.25       # scattered into the diffuse part, per unit of clear direct horizontal


def solar_position(hour, day_of_year, latitude_deg=LATITUDE_DEG):
    """(elevation, azimuth) in radians of the sun at local solar `hour`; azimuth
    clockwise from north."""
    lat = np.deg2rad(latitude_deg)
    decl = np.deg2rad(23.45) * np.sin(2 * np.pi * (284 + day_of_year) / 365.0)
    hour_angle = np.deg2rad(15.0 * (hour - 12.0))
    sin_el = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    elevation = float(np.arcsin(np.clip(sin_el, -1, 1)))
    cos_az = (np.sin(decl) - sin_el * np.sin(lat)) / max(np.cos(elevation) * np.cos(lat), 1e-9)
    azimuth = float(np.arccos(np.clip(cos_az, -1, 1)))
    if np.sin(hour_angle) > 0:      # afternoon: sun in the west
        azimuth = 2 * np.pi - azimuth
    return elevation, azimuth


def sunset_hour(day_of_year, latitude_deg=LATITUDE_DEG):
    """Local solar time of sunset."""
    lat = np.deg2rad(latitude_deg)
    decl = np.deg2rad(23.45) * np.sin(2 * np.pi * (284 + day_of_year) / 365.0)
    return 12.0 + np.rad2deg(np.arccos(np.clip(-np.tan(lat) * np.tan(decl), -1, 1))) / 15.0


def clear_sky_irradiance(elevation):
    """(direct normal, diffuse horizontal) irradiance in W m^-2 for a sun
    `elevation` (radians); zero with the sun below the horizon."""
    if elevation <= 0:
        return 0.0, 0.0
    el_deg = np.rad2deg(elevation)
    air_mass = 1.0 / (np.sin(elevation) + 0.50572 * (el_deg + 6.07995) ** -1.6364)
    direct = SOLAR_CONSTANT * 0.7 ** (air_mass ** 0.678)
    return float(direct), float(DIFFUSE_FRACTION * direct * np.sin(elevation) + 10.0)


@dataclass(frozen=True)
class Sunlight:
    direction: np.ndarray    # (3,) unit vector towards the sun, scene frame (x right, y up, z ahead)
    direct: float            # W m^-2 on a surface facing the sun
    diffuse: float           # W m^-2 on a horizontal surface, from the sky
    elevation: float         # radians


def sunlight(cond, hour=None):
    """The sun for conditions `cond` (see conditions.py) at `hour` (default: the
    frame's), in the camera's frame: heading turns the compass into the street.
    Clouds take direct light away and add some of it to the diffuse light."""
    hour = cond.hour if hour is None else hour
    elevation, azimuth = solar_position(hour, cond.day_of_year)
    east, north = np.cos(elevation) * np.sin(azimuth), np.cos(elevation) * np.cos(azimuth)
    heading = np.deg2rad(cond.heading_deg)
    ahead = east * np.sin(heading) + north * np.cos(heading)
    right = east * np.cos(heading) - north * np.sin(heading)
    direction = np.array([right, np.sin(elevation), ahead], np.float64)
    direct, diffuse = clear_sky_irradiance(elevation)
    diffuse += CLOUD_DIFFUSE_GAIN * cond.cloud * direct * max(np.sin(elevation), 0.0)
    direct *= 1.0 - CLOUD_DIRECT_LOSS * cond.cloud
    return Sunlight(direction, direct, diffuse, elevation)


def direct_irradiance(sun, g, scene, shadow_stride=1):
    """Direct sunlight on each visible surface (W m^-2, (H, W)) and the cast-shadow
    mask ((H, W) bool: faces the sun but something is in the way).

    shadow_stride > 1 casts shadow rays from every shadow_stride-th pixel in
    each direction only and repeats the answer over the block (the incidence
    angle stays per pixel); used where shadow edges need not be sharp."""
    H, W = g.depth.shape
    if sun.direct <= 0:
        return np.zeros((H, W), np.float32), np.zeros((H, W), bool)
    cos_i = g.normal @ sun.direction.astype(np.float32)                     # (H, W)
    k = shadow_stride
    cos_k, points_k = cos_i[::k, ::k], g.points[::k, ::k]
    facing = np.flatnonzero((cos_k > 0) & np.isfinite(g.depth[::k, ::k]))
    shadow = np.zeros(cos_k.size, bool)
    shadow[facing] = occluded(points_k.reshape(-1, 3)[facing], sun.direction, scene.caster_boxes,
                              scene.caster_spheres)
    shadow = shadow.reshape(cos_k.shape)
    if k > 1:
        shadow = np.repeat(np.repeat(shadow, k, axis=0), k, axis=1)[:H, :W]
    lit = np.where(shadow, 0.0, np.maximum(cos_i, 0.0))
    return (sun.direct * lit).astype(np.float32), shadow
