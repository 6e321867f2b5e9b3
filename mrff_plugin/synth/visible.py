"""Visible radiance: reflectance times the light that reaches each surface.

Day: direct sun (already masked by cast shadows, see sun.py), diffuse skylight
in proportion to the sky a surface sees, and light reflected from the ground
onto walls; the sky is a blue gradient, brighter at the horizon.
Night: no sun at all -- a dim ambient glow, street lamps (inverse-square,
aimed down), the camera car's headlights, and self-lit windows and car lamps.

Radiance is linear, in W m^-2 sr^-1 (visible band, arbitrary but consistent
scale); the sensor model (sensor.py) applies exposure and gamma.
"""
import numpy as np

GROUND_REFLECTANCE = 0.15     # mean reflectance of the street lighting walls from below
SKY_ZENITH_RGB = np.array((0.30, 0.48, 0.95), np.float32)
SKY_HORIZON_RGB = np.array((0.75, 0.82, 0.95), np.float32)
OVERCAST_RGB = np.array((0.62, 0.64, 0.66), np.float32)
SKY_BRIGHTNESS = 4.5          # clear-sky radiance / (diffuse irradiance / pi), near the horizon
NIGHT_SKY = np.array((0.05, 0.05, 0.08), np.float32)  # city glow
NIGHT_AMBIENT = 1.0           # W m^-2 of diffuse night light (city glow)
LAMP_INTENSITY = 2500.0       # W sr^-1 (scaled), street lamps
LAMP_RGB = np.array((1.0, 0.82, 0.55), np.float32)   # sodium / warm LED
LAMP_RANGE_M = 50.0           # lamps further along the street than this are left out
HEADLIGHT_INTENSITY = 4000.0  # W sr^-1 (scaled), the camera car's low beams
HEADLIGHT_HEIGHT_M = 0.7
HEADLIGHT_BEAM = (0.45, 0.12)  # beam half-widths (rad) across and up/down


def sky_colour(cos_zenith, cloud):
    """(N, 3) day-sky radiance factor for rays with the given cos(zenith): blue,
    paler at the horizon, turning grey with cloud."""
    w = np.clip(cos_zenith, 0.0, 1.0)[:, None] ** 0.5
    blue = (1.0 - w) * SKY_HORIZON_RGB + w * SKY_ZENITH_RGB * 0.6
    return (1.0 - cloud) * blue + cloud * OVERCAST_RGB


def day_radiance(surf, direct, sun, g, cos_zenith, cloud):
    """(H, W, 3) radiance by day. direct: (H, W) direct sun on each surface
    (W m^-2, zero in shadow); cos_zenith: (H, W) of each pixel's ray (for the
    sky); cloud: 0 clear to 1 overcast."""
    ground_light = GROUND_REFLECTANCE * (sun.direct * np.sin(sun.elevation) + sun.diffuse)
    irradiance = direct + sun.diffuse * surf.sky_view + ground_light * (1.0 - surf.sky_view)
    radiance = surf.rgb * (irradiance / np.pi)[..., None]
    sky = ~np.isfinite(g.depth)
    radiance[sky] = SKY_BRIGHTNESS * sun.diffuse / np.pi * sky_colour(cos_zenith[sky], cloud)
    return radiance


def _point_light(px, py, pz, nx, ny, nz, light, intensity):
    """Irradiance (N,) from a point light at `light` (3,) on surfaces at p with
    normals n (component arrays, (N,) each): intensity cos(incidence) / r^2,
    plus the vector from the surface to the light for beam shaping."""
    vx, vy, vz = light[0] - px, light[1] - py, light[2] - pz
    inv_r = 1.0 / np.sqrt(vx * vx + vy * vy + vz * vz)
    cos_s = np.maximum(vx * nx + vy * ny + vz * nz, 0.0) * inv_r
    return intensity * cos_s * inv_r * inv_r, (vx * inv_r, vy * inv_r, vz * inv_r)


def night_radiance(surf, g, lamps):
    """(H, W, 3) radiance by night: ambient glow, street lamps, headlights, emitters.
    Computed densely over the image (sky pixels have a zero normal, so no light
    lands on them), which is faster than gathering the solid pixels."""
    px, py, pz = (np.ascontiguousarray(g.points[..., k]) for k in range(3))   # contiguous: faster maths
    nx, ny, nz = (np.ascontiguousarray(g.normal[..., k]) for k in range(3))
    lamp_light = np.zeros(px.shape, np.float32)
    for lamp in lamps[(lamps[:, 2] > 0) & (lamps[:, 2] < LAMP_RANGE_M)]:
        e, (_, uy, _) = _point_light(px, py, pz, nx, ny, nz, lamp, LAMP_INTENSITY)
        lamp_light += e * np.maximum(uy, 0.0)                   # lamps aim down
    e, (ux, uy, uz) = _point_light(px, py, pz, nx, ny, nz, (0.0, HEADLIGHT_HEIGHT_M, 0.0),
                                   HEADLIGHT_INTENSITY)
    # the beam points along +z and u points back to the car: angles from -u
    with np.errstate(divide="ignore", invalid="ignore"):
        beam = np.exp(-(ux / uz / HEADLIGHT_BEAM[0]) ** 2 - (uy / uz / HEADLIGHT_BEAM[1]) ** 2)
    beam = np.where(uz < 0, beam, 0.0)
    white_light = (NIGHT_AMBIENT * surf.sky_view + e * beam) / np.pi
    radiance = surf.rgb * (white_light[..., None] + (lamp_light / np.pi)[..., None] * LAMP_RGB)
    radiance[~np.isfinite(g.depth)] = NIGHT_SKY
    return radiance + surf.emit
