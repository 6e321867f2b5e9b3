"""The material table: what each surface looks like in the visible and how it
behaves thermally.

Every surface in a synthetic scene is one of these materials.  A material
carries two independent sets of numbers:

* visible: a base linear reflectance `rgb` (0-1) and, for materials whose
  colour differs from object to object (car paint, clothing, skin), a
  `palette` flag so that `draw_colour` picks a new colour per object;
* thermal: LWIR `emissivity` (7.5-13 um), near-infrared reflectance `nir`
  (which with the visible reflectance fixes the solar absorptance), solar
  `transmittance` (glass), thermal inertia `inertia` P = sqrt(k rho c)
  (J m^-2 K^-1 s^-1/2), the fraction of absorbed sunlight spent on
  evaporation `evaporation`, and an internal heat source: a conductance
  `core_conductance` (W m^-2 K^-1) to a `core_temperature` (K) behind the
  surface (a body under skin or clothing, a heated room behind glass).

Running engines and exhausts are not materials but heat sources laid on the
painted metal of a car (`RUNNING_ENGINE`, `EXHAUST`).

Because the NIR reflectance of paint and cloth is drawn independently of its
visible colour (dark "cool" paints and bright "hot" ones exist), and heat
sources ignore colour altogether, the LWIR image is not a function of the
visible colour.

Values are typical handbook figures (emissivities: e.g. Incropera & DeWitt,
Fundamentals of Heat and Mass Transfer, Table A.11; thermal inertia:
sqrt(k rho c) from the same tables), rounded; thin or mixed surfaces (leaves,
car sheet metal, stirred water) get an effective inertia that reproduces
their observed warm-up time.
"""
from dataclasses import dataclass

import numpy as np

# Share of clear-sky solar irradiance below 0.7 um (visible) and above it
# (near/short-wave infrared), ASTM G173 AM1.5 reference spectrum, rounded.
SOLAR_VISIBLE_FRACTION = 0.45
SOLAR_NIR_FRACTION = 0.55

# Human core temperature (37 C).
BODY_CORE_K = 310.15
# Heated/cooled interior behind windows (22 C).
ROOM_K = 295.15


@dataclass(frozen=True)
class Material:
    name: str
    rgb: tuple                 # linear visible reflectance (R, G, B), 0-1
    nir: float                 # reflectance 0.7-2.5 um, 0-1
    emissivity: float          # LWIR 7.5-13 um
    inertia: float             # thermal inertia P, J m^-2 K^-1 s^-1/2
    evaporation: float = 0.0   # fraction of absorbed sunlight spent on evaporation
    transmittance: float = 0.0  # solar transmittance (glass)
    core_conductance: float = 0.0  # W m^-2 K^-1 to an internal heat source
    core_temperature: float = 0.0  # K, temperature of that source
    palette: bool = False      # colour drawn per object (see draw_colour)
    texture: float = 0.15      # relative amplitude of visible texture


MATERIALS = (
    Material("sky", (0.0, 0.0, 0.0), 0.0, 1.0, 1.0, texture=0.0),
    Material("asphalt", (0.10, 0.10, 0.105), 0.16, 0.95, 1400.0, texture=0.15),
    Material("road_paint", (0.62, 0.62, 0.58), 0.55, 0.92, 1400.0, texture=0.10),
    Material("concrete", (0.34, 0.33, 0.31), 0.40, 0.93, 1700.0, texture=0.20),
    Material("vegetation", (0.05, 0.11, 0.035), 0.45, 0.97, 400.0, evaporation=0.35, texture=0.45),
    Material("soil", (0.20, 0.15, 0.10), 0.30, 0.93, 1000.0, evaporation=0.10, texture=0.30),
    Material("water", (0.035, 0.05, 0.06), 0.03, 0.98, 5000.0, evaporation=0.50, texture=0.10),
    Material("glass", (0.07, 0.09, 0.11), 0.08, 0.84, 1200.0, transmittance=0.70,
             core_conductance=3.0, core_temperature=ROOM_K, texture=0.05),
    Material("painted_metal", (0.3, 0.3, 0.3), 0.4, 0.90, 250.0, palette=True, texture=0.05),
    Material("rubber", (0.03, 0.03, 0.03), 0.05, 0.94, 600.0, texture=0.05),
    Material("skin", (0.45, 0.32, 0.25), 0.55, 0.98, 1300.0, core_conductance=25.0,
             core_temperature=BODY_CORE_K, palette=True, texture=0.05),
    Material("clothing", (0.3, 0.3, 0.3), 0.4, 0.95, 300.0, core_conductance=20.0,
             core_temperature=BODY_CORE_K, palette=True, texture=0.15),
    Material("bark", (0.12, 0.09, 0.06), 0.30, 0.95, 600.0, evaporation=0.05, texture=0.30),
)

# Material ids, e.g. ID["asphalt"]; the material map stores these.
ID = {m.name: i for i, m in enumerate(MATERIALS)}

# A running engine seen through the hood/grille and a hot exhaust: internal
# heat sources (conductance W m^-2 K^-1, source temperature K) placed on a car.
RUNNING_ENGINE = (8.0, 350.0)
EXHAUST = (30.0, 390.0)


def _column(field):
    return np.array([getattr(m, field) for m in MATERIALS], dtype=np.float32)


# Per-material property columns, indexed by material id (vectorised look-up).
RGB = np.array([m.rgb for m in MATERIALS], dtype=np.float32)          # (M, 3)
NIR = _column("nir")
EMISSIVITY = _column("emissivity")
INERTIA = _column("inertia")
EVAPORATION = _column("evaporation")
TRANSMITTANCE = _column("transmittance")
CORE_CONDUCTANCE = _column("core_conductance")
CORE_TEMPERATURE = _column("core_temperature")
TEXTURE = _column("texture")


def solar_absorptance(rgb, nir, transmittance=0.0):
    """Fraction of incident sunlight absorbed: what is neither reflected (visible
    and NIR parts weighted by their share of the solar spectrum) nor transmitted.
    `rgb` (..., 3), `nir` and `transmittance` broadcastable to (...)."""
    visible = rgb @ np.full(3, SOLAR_VISIBLE_FRACTION / 3.0, np.float32)   # mean of R, G, B
    reflected = visible + SOLAR_NIR_FRACTION * nir
    return np.clip(1.0 - transmittance - reflected, 0.02, 1.0)


# Car paints and clothes come in these base colours (linear reflectance),
# from near-black to white; each draw jitters one of them.
_PALETTE = np.array([
    (0.02, 0.02, 0.02), (0.60, 0.60, 0.60), (0.75, 0.75, 0.73), (0.25, 0.25, 0.26),
    (0.45, 0.04, 0.03), (0.03, 0.08, 0.35), (0.05, 0.22, 0.06), (0.55, 0.45, 0.08),
    (0.40, 0.30, 0.18), (0.10, 0.10, 0.18), (0.50, 0.20, 0.35), (0.08, 0.30, 0.40),
], dtype=np.float32)

# Skin tones (linear reflectance), light to dark.
_SKIN_TONES = np.array([
    (0.60, 0.45, 0.37), (0.50, 0.36, 0.28), (0.38, 0.26, 0.18), (0.22, 0.14, 0.09),
], dtype=np.float32)


def draw_colour(rng, material_id):
    """(rgb, nir) for one object of a material.  Palette materials get a random
    base colour and an NIR reflectance drawn independently of it (paint and
    dye pigments are chosen for colour, not for their infrared reflectance);
    others get the table values jittered by a few percent."""
    m = MATERIALS[material_id]
    if m.name == "skin":
        rgb = _SKIN_TONES[rng.integers(len(_SKIN_TONES))] * rng.uniform(0.9, 1.1)
        return np.clip(rgb, 0.0, 1.0).astype(np.float32), float(rng.uniform(0.45, 0.6))
    if m.palette:
        rgb = _PALETTE[rng.integers(len(_PALETTE))] * rng.uniform(0.8, 1.2, size=3)
        return np.clip(rgb, 0.0, 0.9).astype(np.float32), float(rng.uniform(0.05, 0.75))
    rgb = np.asarray(m.rgb, dtype=np.float32) * rng.uniform(0.85, 1.15)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32), float(m.nir)
