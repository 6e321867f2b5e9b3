"""What each pixel is made of: material, label and per-pixel surface properties.

From the ray-cast G-buffer and the scene this builds (all (H, W) unless noted)

* the material map (ground bands and lane marks, building windows, car
  windows on cabin sides, the material of every shape) and the label map;
* the visible reflectance `rgb` (H, W, 3): the shape's own colour (car paint,
  clothes) or the material's, times a surface texture fixed to world
  coordinates (so it sticks to the surfaces);
* the thermal properties: solar absorptance (from visible + NIR reflectance,
  with its own independent patchiness), emissivity, thermal inertia,
  evaporation, internal heat source, and the sky view factor;
* night-time light emission (lit windows, car lamps) `emit` (H, W, 3).
"""
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from . import materials as mat
from .geometry import GROUND_PRIM
from .scene import (BUILDING, FLOOR_HEIGHT_M, GROUND, SKY, WINDOW_FRACTION, WINDOW_SPACING_M)

TEXEL_M = 0.05               # texture sample spacing on surfaces
TEXTURE_TILE = 64            # texture tile size in texels, a power of two (repeats every ~3 m)
LANE_MARK_WIDTH_M = 0.15
DASH_PERIOD_M, DASH_LENGTH_M = 12.0, 4.0
ABSORPTANCE_PATCHINESS = 0.08  # relative spread of solar absorptance from dirt, wear, moisture
LIT_WINDOW_SHARE = 0.35      # share of windows lit at night
WINDOW_LIGHT = np.array((10.0, 8.0, 4.5), np.float32)  # warm interior light (visible.py radiance units)


@dataclass
class Surfaces:
    material: np.ndarray       # (H, W) int material id
    label: np.ndarray          # (H, W) uint8 class (scene.SKY ... scene.PERSON)
    rgb: np.ndarray            # (H, W, 3) linear visible reflectance
    absorptance: np.ndarray    # solar absorptance
    emissivity: np.ndarray
    inertia: np.ndarray        # J m^-2 K^-1 s^-1/2
    evaporation: np.ndarray
    core_conductance: np.ndarray  # W m^-2 K^-1
    core_temperature: np.ndarray  # K
    engine: np.ndarray         # (H, W) bool, running engine or exhaust
    sky_view: np.ndarray       # fraction of the sky hemisphere the surface sees
    emit: np.ndarray           # (H, W, 3) light emitted at night


def texture_tiles(rng, count=2):
    """(count, TEXTURE_TILE, TEXTURE_TILE) independent smooth zero-mean unit-variance
    noise tiles that repeat seamlessly."""
    tiles = gaussian_filter(rng.standard_normal((count, TEXTURE_TILE, TEXTURE_TILE)), (0, 0.8, 0.8), mode="wrap")
    tiles -= tiles.mean(axis=(1, 2), keepdims=True)
    tiles /= tiles.std(axis=(1, 2), keepdims=True)
    return tiles.astype(np.float32)


def _surface_coords(x, y, z, nx, ny):
    """Two in-plane world coordinates (s, t) of surface points (x, y, z) with
    normals (nx, ny, .) (arrays of one shape), chosen by the normal: (x, z) on
    the ground and roofs, (z, y) on x-facing walls, (x, y) on z-facing ones."""
    s = np.where(np.abs(nx) > 0.7, z, x)
    t = np.where(np.abs(ny) > 0.7, z, y)
    return s, t


def _sample(tile, s, t):
    """Nearest-texel look-up of a tile (side a power of two) at world coordinates
    (s, t) in metres; `& (n - 1)` is the wrap-around (a modulo that also works
    for negative indices)."""
    n = tile.shape[0]
    i = np.floor(t * (1.0 / TEXEL_M)).astype(np.int32) & (n - 1)
    j = np.floor(s * (1.0 / TEXEL_M)).astype(np.int32) & (n - 1)
    return np.take(tile.reshape(-1), i * n + j)


def _ground_material(ground, x, z):
    """Material of ground points at (x, z): the band across x, lane marks on the road."""
    m = np.take(ground.materials, np.searchsorted(ground.edges, x))
    # nearest lane line of each point (lines sorted across the road)
    order = np.argsort(ground.lane_lines)
    lines, dashed = ground.lane_lines[order], ground.dashed[order]
    k = np.clip(np.searchsorted(lines, x), 1, len(lines) - 1)
    left, right = np.take(lines, k - 1), np.take(lines, k)
    nearest = np.where(x - left < right - x, k - 1, k)
    mark = np.abs(x - np.take(lines, nearest)) < LANE_MARK_WIDTH_M / 2
    mark &= ~np.take(dashed, nearest) | (z - DASH_PERIOD_M * np.floor(z / DASH_PERIOD_M) < DASH_LENGTH_M)
    m[mark] = mat.ID["road_paint"]
    return m


def _windows(s, t, ny):
    """Window cells on facades: (is_window, cell id) from in-plane coords (s, t)
    and the normal's y component (roofs have no windows)."""
    u, v = s / WINDOW_SPACING_M, t / FLOOR_HEIGHT_M
    fu, fv = u - np.floor(u), v - np.floor(v)
    inside = (fu < WINDOW_FRACTION[0]) & (fv > 0.3) & (fv < 0.3 + WINDOW_FRACTION[1]) & \
        (np.abs(ny) < 0.7)
    cell = np.floor(u).astype(np.int64) * 7919 + np.floor(v).astype(np.int64) * 104729
    return inside, cell


def build_surfaces(scene, g, rng, patchiness=ABSORPTANCE_PATCHINESS):
    """Per-pixel surface properties for G-buffer `g` of `scene`; `rng` draws the
    texture tiles and which windows are lit; `patchiness` scales the absorptance's
    independent texture (0: none; the tile is drawn all the same, so the rest of the
    scene does not change).  Works on flat pixel arrays (N = H W);
    gathers use np.take, which is several times faster than fancy indexing."""
    H, W = g.prim.shape
    prims = scene.prims
    prim = g.prim.reshape(-1)
    # contiguous component arrays: several times faster than strided columns
    px, py, pz = (np.ascontiguousarray(g.points[..., k]).reshape(-1) for k in range(3))
    nx, ny = (np.ascontiguousarray(g.normal[..., k]).reshape(-1) for k in range(2))
    vis_tile, thermal_tile = texture_tiles(rng)
    window_salt = int(rng.integers(1 << 30))

    def per_shape(column):
        """Gather a per-shape column to pixels (values at non-shape pixels are junk)."""
        return np.take(prims[column], shape_index, axis=0)

    # material and label maps
    material = np.full(H * W, mat.ID["sky"], np.int64)
    label = np.full(H * W, SKY, np.uint8)
    gi = np.flatnonzero(prim == GROUND_PRIM)
    material[gi] = _ground_material(scene.ground, np.take(px, gi), np.take(pz, gi))
    label[gi] = GROUND
    is_shape = prim >= 0
    if not len(prims["material"]):
        prims = {k: np.zeros((1,) + v.shape[1:], v.dtype) for k, v in prims.items()}
    shape_index = np.maximum(prim, 0)
    own, side = per_shape("material"), per_shape("side_material")
    shape_mat = np.where((ny < 0.7) & (side != own), side, own)          # car windows on cabin sides
    wi = np.flatnonzero(is_shape & per_shape("windows"))                  # facade pixels
    wny = np.take(ny, wi)
    window, cell = _windows(*_surface_coords(*(np.take(a, wi) for a in (px, py, pz, nx)), wny), wny)
    shape_mat[wi[window]] = mat.ID["glass"]
    material = np.where(is_shape, shape_mat, material)
    label = np.where(is_shape, per_shape("label"), label).astype(np.uint8)
    own_colour = is_shape & (material == own)        # pixels in the shape's own paint/cloth

    # Per-pixel properties come from one table: rows 0..M-1 the materials' own
    # values, rows M.. each shape's (its colour, heat source, lamps).
    n_mat = len(mat.MATERIALS)
    row = np.where(own_colour, n_mat + shape_index, material)

    def lookup(material_column, shape_column):
        return np.take(np.concatenate([material_column, prims[shape_column].astype(material_column.dtype)]),
                       row, axis=0)

    # visible reflectance (the shape's colour or the material's) with texture
    rgb = lookup(mat.RGB, "rgb")
    nir = lookup(mat.NIR, "nir")
    s, t = _surface_coords(px, py, pz, nx, ny)
    rgb *= (1.0 + np.take(mat.TEXTURE, material) * _sample(vis_tile, s, t))[:, None]
    np.clip(rgb, 0.0, 1.0, out=rgb)

    # thermal properties: absorptance with its own patchiness, internal heat
    absorptance = mat.solar_absorptance(rgb, nir, np.take(mat.TRANSMITTANCE, material))
    absorptance *= 1.0 + patchiness * _sample(thermal_tile, s, t)
    conductance = lookup(mat.CORE_CONDUCTANCE, "heat_conductance")
    core_t = lookup(mat.CORE_TEMPERATURE, "heat_temperature")
    engine = lookup(np.zeros(n_mat, bool), "engine")

    # night light: car lamps, and a share of the windows of buildings
    emit = lookup(np.zeros((n_mat, 3), np.float32), "emit")
    lit = window & (label[wi] == BUILDING) & (_hash01(cell, window_salt) < LIT_WINDOW_SHARE)
    emit[wi[lit]] = WINDOW_LIGHT

    sky = material == mat.ID["sky"]
    sky_view = np.where(sky, 0.0, 0.5 * (1.0 + ny))

    def img(a, dtype=np.float32):
        return a.reshape((H, W) + a.shape[1:]).astype(dtype, copy=False)
    return Surfaces(material=img(material, np.int64), label=img(label, np.uint8), rgb=img(rgb),
                    absorptance=img(np.clip(absorptance, 0.02, 1.0)),
                    emissivity=img(np.take(mat.EMISSIVITY, material)),
                    inertia=img(np.take(mat.INERTIA, material)),
                    evaporation=img(np.take(mat.EVAPORATION, material)),
                    core_conductance=img(conductance), core_temperature=img(core_t),
                    engine=img(engine, bool), sky_view=img(sky_view), emit=img(emit))


def _hash01(cell, salt):
    """Deterministic pseudo-random number in [0, 1) per integer cell id."""
    h = (cell.astype(np.uint64) + np.uint64(salt)) * np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(29)
    return (h % np.uint64(1 << 20)).astype(np.float32) / float(1 << 20)
