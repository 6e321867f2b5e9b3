"""One synthetic visible/LWIR pair, from a seed.

    seed -> scene layout (scene.py) + time and weather (conditions.py)
         -> ray cast: depth, shape, normal per pixel (geometry.py)
         -> materials and surface properties per pixel (surfaces.py)
         -> sun now and an hour ago: direct light and cast shadows (sun.py)
         -> surface temperatures: energy balance with thermal lag (thermal.py)
         -> LWIR radiance: band Planck + reflected sky (radiometry.py) -> LWIR camera
         -> visible radiance: sun/sky or night lights (visible.py)  -> visible camera
            (sensor.py)

Both images come from the same ray cast, so they are pixel-aligned; the LWIR
image depends on temperatures and emissivities, not on the visible colour.
"""
import numpy as np

from .conditions import draw_conditions
from .geometry import rasterise
from .radiometry import brightness_temperature, sky_radiance, surface_radiance
from .scene import PERSON, make_scene
from .sensor import NETD_K, lwir_sensor, visible_sensor
from .sun import direct_irradiance, sunlight, sunset_hour
from .surfaces import ABSORPTANCE_PATCHINESS, build_surfaces
from .thermal import convection_coefficient, downwelling_longwave, equilibrium, lagged_temperature
from .visible import day_radiance, night_radiance

# Day frames: the sun of LAG_HOURS ago sets the previous state; the change is
# taken to have happened half-way (a shadow that arrived in the last hour is,
# on average, half an hour old).
LAG_HOURS = 1.0
# The earlier shadows only feed the lag term, blurred further by the LWIR optics:
# cast at half resolution to save time.
BEFORE_SHADOW_STRIDE = 2
# Night frames remember the afternoon: equilibrium under the AFTERNOON_HOUR sun
# (no shadows), relaxing since sunset.
AFTERNOON_HOUR = 15.0
MIN_NIGHT_SECONDS = 1800.0
# The LWIR terms that leave no trace in the visible image, which `render_pair(drop=...)` can leave
# out: the camera's temporal noise, the absorptance's own patchiness (drawn independently of the
# visible texture) and the thermal lag (the shadows and sun of an hour ago).  Without them the
# renderer is a privileged oracle: the part of the LWIR image the visible one determines at best.
UNOBSERVABLE = ("noise", "patchiness", "lag")


def _streams(seed):
    """Three independent generators (layout, conditions, sensor noise) from an int
    seed, a SeedSequence or a Generator.  The layout stream does not depend on
    the time of day, so the same seed gives the same street by day and night."""
    if isinstance(seed, np.random.Generator):
        seed = np.random.SeedSequence(int(seed.integers(2 ** 63)))
    elif not isinstance(seed, np.random.SeedSequence):
        seed = np.random.SeedSequence(seed)
    # the children SeedSequence.spawn would make, without counting them on `seed`
    # (so the same SeedSequence always gives the same pair)
    return [np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key + (i,)))
            for i in range(3)]


def _ray_cos_zenith(camera):
    """(H, W) cos(zenith) of each pixel's ray."""
    rx, ry = camera.ray_x()[None, :], camera.ray_y()[:, None]
    return ry / np.sqrt(rx * rx + ry * ry + 1.0)


def _balance(surf, cond, sun, direct, hour, l_down, h_c):
    """Equilibrium temperature and loss coefficient under the sun `sun` at `hour`."""
    irradiance = direct + sun.diffuse * surf.sky_view
    return equilibrium(surf, irradiance, cond.air_temperature(hour), cond.air_mean_k, h_c, l_down)


def temperatures(scene, g, surf, cond, lag=True):
    """Surface temperature (K, (H, W)) and the cast-shadow masks now and LAG_HOURS
    ago (both all False at night); lag=False: every surface at its equilibrium now."""
    h_c = convection_coefficient(cond.wind_ms)
    l_down = downwelling_longwave(cond.air_temperature(), cond.sky_emissivity)
    sun = sunlight(cond)
    direct, shadow = direct_irradiance(sun, g, scene)
    t_now, loss = _balance(surf, cond, sun, direct, cond.hour, l_down, h_c)
    if cond.time == "day":
        hour_before = cond.hour - LAG_HOURS
        sun_before = sunlight(cond, hour_before)
        direct_before, shadow_before = direct_irradiance(sun_before, g, scene, BEFORE_SHADOW_STRIDE)
        seconds = 0.5 * LAG_HOURS * 3600.0
    else:
        hour_before = AFTERNOON_HOUR
        sun_before = sunlight(cond, hour_before)
        cos_i = np.maximum(g.normal @ sun_before.direction.astype(np.float32), 0.0)
        direct_before, shadow_before = sun_before.direct * cos_i, shadow
        since_sunset = (cond.hour - sunset_hour(cond.day_of_year)) % 24.0
        seconds = max(since_sunset * 3600.0, MIN_NIGHT_SECONDS)
    t_before, _ = _balance(surf, cond, sun_before, direct_before, hour_before, l_down, h_c)
    temperature = lagged_temperature(t_before, t_now, loss, surf.inertia, seconds) if lag else t_now
    return temperature, direct, shadow, shadow_before, sun


def render_pair(seed, size=(256, 256), time="day", drop=()):
    """Render one aligned pair.

    seed: int, np.random.SeedSequence or np.random.Generator; size: (width,
    height); time: "day", "night" or a local solar hour (float); drop: terms of
    UNOBSERVABLE to leave out of the LWIR image (the same seed gives the same
    scene, visible image and random draws either way).
    Returns (visible (H, W, 3) uint8, lwir (H, W) uint8, extras) where extras
    holds "label" (H, W) uint8 classes (scene.LABEL_NAMES), "material" (H, W)
    material ids (materials.MATERIALS), "person" and "engine" (H, W) bool masks,
    "temperature" (H, W) K (surfaces; sky: NaN), "shadow" and "shadow_before"
    (H, W) bool cast shadows now and an hour earlier, "depth" (H, W) m, and the
    scalars "time", "hour", "sun_elevation_deg", "air_k"; "lwir_counts" (H, W) uint16 the camera's counts before
    its AGC (sensor.py's count model), "agc_counts" the (low, high) counts the AGC stretched to 0 and 255, and
    "scene_kelvin" (H, W) the brightness temperature of the radiance reaching the camera (before its optics).
    """
    unknown = set(drop) - set(UNOBSERVABLE)
    if unknown:
        raise ValueError(f"drop: unknown terms {sorted(unknown)}; choose from {UNOBSERVABLE}")
    width, height = (int(v) for v in size)
    layout_rng, conditions_rng, noise_rng = _streams(seed)
    scene = make_scene(layout_rng, width, height)
    g = rasterise(scene)
    surf = build_surfaces(scene, g, layout_rng, 0.0 if "patchiness" in drop else ABSORPTANCE_PATCHINESS)
    cond = draw_conditions(conditions_rng, time)
    temperature, direct, shadow, shadow_before, sun = temperatures(scene, g, surf, cond, "lag" not in drop)

    sky = ~np.isfinite(g.depth)
    cos_zenith = _ray_cos_zenith(scene.camera)
    air = cond.air_temperature()
    lwir_radiance = surface_radiance(temperature, surf.emissivity, surf.sky_view, air, cond.sky_emissivity)
    lwir_radiance[sky] = sky_radiance(air, cond.sky_emissivity, cos_zenith[sky])
    if cond.time == "day":
        vis_radiance = day_radiance(surf, direct, sun, g, cos_zenith, cond.cloud)
    else:
        vis_radiance = night_radiance(surf, g, scene.lamps)

    visible = visible_sensor(vis_radiance, noise_rng)
    lwir, counts, agc = lwir_sensor(lwir_radiance, noise_rng, 0.0 if "noise" in drop else NETD_K, counts=True)
    extras = {
        "label": surf.label, "material": surf.material,
        "person": surf.label == PERSON, "engine": surf.engine,
        "temperature": np.where(sky, np.nan, temperature).astype(np.float32),
        "shadow": shadow, "shadow_before": shadow_before, "depth": g.depth,
        "time": cond.time, "hour": cond.hour, "sun_elevation_deg": float(np.rad2deg(sun.elevation)),
        "air_k": float(air),
        "lwir_counts": counts, "agc_counts": agc, "scene_kelvin": brightness_temperature(lwir_radiance),
    }
    return visible, lwir, extras
