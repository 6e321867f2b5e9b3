"""Surface temperatures from a surface energy balance, with thermal lag.

Per unit area of surface (all W m^-2), with T the surface and T_a the air
temperature:

    a E (1 - f_evap)                   absorbed sunlight less evaporation
  + eps F_sky (L_down - sigma T_a^4)   net long-wave from the sky (cold) vs surroundings at T_a
  + U (T_core - T)                     internal heat: bodies, running engines, rooms
  + h_g (T_deep - T)                   conduction to the deep layer at the daily mean
                                       (surfaces without an internal source)
  = eps sigma (T^4 - T_a^4) + h_c (T - T_a)   emission and convection

with sigma from the paper's Eq. (1).  Linearising T^4 about T_a gives the
equilibrium temperature in closed form (`equilibrium`).  The ground term uses
the diurnal admittance of a semi-infinite solid, h_g = P sqrt(omega), P the
thermal inertia (Carslaw & Jaeger 1959, Sec. 2.6).

Lag: a surface whose forcing changed a time dt ago (a shadow moved onto it, the
sun set) has only partly moved from the old equilibrium T0 to the new one T1;
for a semi-infinite solid with a linear surface loss coefficient h the
remaining part is exp(b^2) erfc(b), b = h sqrt(dt) / P (Carslaw & Jaeger 1959,
Sec. 2.7).  High-inertia asphalt and concrete keep the day's heat for hours,
leaves and sheet metal follow within minutes.
"""
import numpy as np
from scipy.special import erfcx

# Stefan-Boltzmann constant as printed in the paper, Eq. (1): M_0(T) = sigma T^4.
SIGMA = 5.6694e-8            # W m^-2 K^-4
OMEGA_DAY = 2 * np.pi / 86400.0  # rad s^-1, the daily cycle


def convection_coefficient(wind_ms):
    """Forced-convection heat transfer coefficient h_c (W m^-2 K^-1) of an outdoor
    surface, McAdams (1954): 5.7 + 3.8 v."""
    return 5.7 + 3.8 * wind_ms


def downwelling_longwave(air_k, sky_emissivity):
    """Broadband long-wave irradiance from a clear sky (W m^-2), Swinbank (1963)
    5.31e-13 T_a^6, raised towards a grey-body at air temperature as the 7.5-13
    um window closes (clouds, haze: `sky_emissivity` from 0.2 to 1)."""
    clear = 5.31e-13 * air_k ** 6
    haze = (sky_emissivity - 0.2) / 0.8
    return clear + np.clip(haze, 0, 1) * (SIGMA * air_k ** 4 - clear)


def equilibrium(surf, irradiance, air_k, deep_k, h_c, l_down):
    """Steady surface temperature (K, (H, W)) under the energy balance above and its
    total loss coefficient (W m^-2 K^-1, (H, W)).

    surf: `surfaces.Surfaces`; irradiance: sunlight reaching each surface
    (W m^-2, (H, W)); air_k, deep_k: air and deep-layer temperatures (K); h_c:
    convection coefficient; l_down: sky long-wave irradiance (W m^-2).
    """
    eps = surf.emissivity
    # bodies with an internal source (people, engines, rooms) exchange heat with it, not with a deep layer
    h_ground = np.where(surf.core_conductance > 0, 0.0, surf.inertia * np.sqrt(OMEGA_DAY))
    absorbed = surf.absorptance * irradiance * (1.0 - surf.evaporation)
    sky = eps * surf.sky_view * (l_down - SIGMA * air_k ** 4)
    core = surf.core_conductance * (surf.core_temperature - air_k)
    gains = absorbed + sky + np.where(surf.core_conductance > 0, core, 0.0) + h_ground * (deep_k - air_k)
    loss = 4 * eps * SIGMA * air_k ** 3 + h_c + surf.core_conductance + h_ground
    return (air_k + gains / loss).astype(np.float32), loss.astype(np.float32)


def lag_fraction(loss, inertia, seconds):
    """Part of a step change in equilibrium not yet reached after `seconds`:
    exp(b^2) erfc(b), b = loss sqrt(seconds) / inertia."""
    return erfcx(loss * np.sqrt(seconds) / inertia).astype(np.float32)


def lagged_temperature(t_before, t_now, loss, inertia, seconds):
    """Temperature (K) of surfaces whose equilibrium moved from `t_before` to
    `t_now` `seconds` ago (loss coefficient and inertia of the new state)."""
    return t_now + (t_before - t_now) * lag_fraction(loss, inertia, seconds)
