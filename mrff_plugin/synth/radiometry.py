"""LWIR radiance in the camera's 7.5-13 um band.

A surface at temperature T with emissivity eps sends

    L = eps * L_band(T) + (1 - eps) * L_env

where L_band is Planck's law integrated over the band (paper Fig. 1 plots the
spectral exitance; Sec. II.C / IV give the band) and L_env is what the surface
reflects: the sky for the part of its view that is sky, surroundings at air
temperature for the rest.  The sky itself is an atmosphere at air temperature
whose in-band emissivity grows with path length towards the horizon:
eps_sky(theta) = 1 - (1 - eps_zenith)^(1 / cos theta).
"""
import numpy as np

# Planck's law, spectral exitance M(lambda, T) = C1 / (lambda^5 (exp(C2 / (lambda T)) - 1)),
# CODATA 2018: C1 = 2 pi h c^2, C2 = h c / k_B.
PLANCK_C1 = 3.741771852e8    # W um^4 m^-2
PLANCK_C2 = 1.438776877e4    # um K
# Camera band of the KAIST thermal images (paper Sec. II.C and IV: 7.5-13 um).
BAND_UM = (7.5, 13.0)
# Cosine of the zenith angle at which a sky's in-band emissivity equals its
# hemispheric (reflection-weighted) mean: the usual diffusivity factor 1.66.
DIFFUSIVITY_COS = 1.0 / 1.66

_T_GRID = np.arange(150.0, 450.0, 0.05)      # K, look-up table range


def _band_radiance_exact(temperature, band=BAND_UM, samples=401):
    """Planck radiance integrated over `band` (W m^-2 sr^-1) by Simpson's rule."""
    lam = np.linspace(band[0], band[1], samples)[None, :]                  # um
    t = np.asarray(temperature, np.float64).reshape(-1, 1)
    spectral = PLANCK_C1 / (lam ** 5 * np.expm1(PLANCK_C2 / (lam * t))) / np.pi  # W m^-2 sr^-1 um^-1
    h = (band[1] - band[0]) / (samples - 1)
    weights = np.ones(samples)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    return (spectral @ weights) * h / 3.0


_L_GRID = _band_radiance_exact(_T_GRID).astype(np.float64)


def band_radiance(temperature):
    """Blackbody radiance in the 7.5-13 um band, W m^-2 sr^-1, for temperatures (K)
    of any shape (table look-up with linear interpolation, 0.05 K steps)."""
    t = np.asarray(temperature)
    return np.interp(t, _T_GRID, _L_GRID).astype(np.float32)


def band_radiance_slope(temperature):
    """dL_band/dT (W m^-2 sr^-1 K^-1) at `temperature`: converts NETD to radiance."""
    return float((band_radiance(temperature + 0.5) - band_radiance(temperature - 0.5)))


def brightness_temperature(radiance):
    """The temperature (K) of a blackbody with in-band radiance `radiance` (the inverse of band_radiance over its
    table, 150-450 K): what a radiometric camera reports at emissivity 1."""
    return np.interp(np.asarray(radiance, np.float64), _L_GRID, _T_GRID)


def sky_emissivity(zenith_emissivity, cos_zenith):
    """In-band emissivity of the sky along a ray at zenith angle acos(cos_zenith)."""
    cos_zenith = np.clip(cos_zenith, 1e-3, 1.0)
    return 1.0 - (1.0 - zenith_emissivity) ** (1.0 / cos_zenith)


def sky_radiance(air_k, zenith_emissivity, cos_zenith):
    """In-band radiance of the sky seen along rays with the given cos(zenith)."""
    return (sky_emissivity(zenith_emissivity, cos_zenith) * band_radiance(air_k)).astype(np.float32)


def surface_radiance(temperature, emissivity, sky_view, air_k, zenith_emissivity):
    """Radiance leaving surfaces: own emission plus reflected sky and surroundings.
    All arrays (H, W) except the scalars air_k and zenith_emissivity."""
    l_sky = sky_radiance(air_k, zenith_emissivity, DIFFUSIVITY_COS)
    l_env = sky_view * l_sky + (1.0 - sky_view) * band_radiance(air_k)
    return (emissivity * band_radiance(temperature) + (1.0 - emissivity) * l_env).astype(np.float32)
