"""Scene layout: a KAIST-like road scene as simple 3-D shapes.

World frame (metres): x to the right of the road, y up, z along the road away
from the camera; the ground is y = 0 and the camera sits at (0, CAMERA_HEIGHT_M,
0) looking along +z, like KAIST's rig on a car roof.  The scene is

* a ground plane cut into bands across x (road with lane marks, sidewalks,
  verges of grass/soil/water) -- `Ground`;
* axis-aligned boxes (buildings with windows, car bodies, cabins, wheels,
  lights, exhausts, trunks, people's legs/torso/arms) and spheres (tree crowns,
  heads) -- one row each in `Scene.prims`;
* the shadow casters: the same buildings and trees, and one simple proxy box
  per car body, car cabin and person instead of their many small parts (the
  usual shadow-proxy economy: the shadow outline is the same at this scale).

Each shape carries its material, its own colour (car paints and clothes vary),
its NIR reflectance, a class label and an optional internal heat source
(bodies, running engines).  Heights are real, so the sun casts real shadows.
The layout depends only on the random generator given to `make_scene`, not on
the time of day: the same seed gives the same street by day and by night.
"""
from dataclasses import dataclass, field

import numpy as np

from . import materials as mat

# Class labels of the label map (extras["label"]).
SKY, GROUND, BUILDING, TREE, CAR, PERSON = range(6)
LABEL_NAMES = ("sky", "ground", "building", "tree", "car", "person")

CAMERA_HEIGHT_M = 2.0       # KAIST rig on a car roof
LANE_WIDTH_M = 3.5
FAR_Z_M = 220.0             # end of the modelled street (skyline row)
TREE_RANGE_M = 90.0         # trees and traffic are placed up to this far ahead
TRAFFIC_RANGE_M = 70.0

# Building facades: storeys and window columns (metres) and the window share of each.
FLOOR_HEIGHT_M = 3.2
WINDOW_SPACING_M = 2.6
WINDOW_FRACTION = (0.55, 0.5)   # (horizontal, vertical)

# Facade colours (linear reflectance): concrete grey, beige, brick, white tile, dark.
_FACADES = np.array([(0.34, 0.33, 0.31), (0.45, 0.40, 0.30), (0.30, 0.12, 0.08),
                     (0.60, 0.60, 0.58), (0.14, 0.14, 0.15)], dtype=np.float32)


@dataclass
class Camera:
    """Pinhole camera at height `height_m`; `cy` is the horizon row.  Rays are
    d = ((u - cx)/f, (cy - v)/f, 1): unit z component, so a hit's ray parameter
    is its depth z."""
    width: int
    height: int
    focal: float
    cx: float
    cy: float
    height_m: float = CAMERA_HEIGHT_M

    def ray_x(self):
        """(W,) x component of the ray through each pixel column."""
        return ((np.arange(self.width, dtype=np.float32) + 0.5 - self.cx) / self.focal)

    def ray_y(self):
        """(H,) y component (up) of the ray through each pixel row."""
        return ((self.cy - np.arange(self.height, dtype=np.float32) - 0.5) / self.focal)

    def project(self, points):
        """(N, 3) world points (z > 0) -> (N, 2) pixel coordinates (u, v)."""
        p = np.asarray(points, dtype=np.float64)
        u = self.cx + self.focal * p[:, 0] / p[:, 2]
        v = self.cy - self.focal * (p[:, 1] - self.height_m) / p[:, 2]
        return np.stack([u, v], axis=1)


@dataclass
class Ground:
    """Bands of ground material across x: band i covers edges[i-1] <= x < edges[i]
    (open-ended at both sides) and has material materials[i]; lane marks are
    stripes of road paint at `lane_lines` (dashed where `dashed`)."""
    edges: np.ndarray          # (K,) increasing x positions
    materials: np.ndarray      # (K+1,) material ids
    lane_lines: np.ndarray     # (L,) x of lane-mark centres
    dashed: np.ndarray         # (L,) bool
    road: tuple                # (x_left, x_right) of the carriageway


@dataclass
class Scene:
    camera: Camera
    ground: Ground
    boxes: np.ndarray          # (B, 6) x0, y0, z0, x1, y1, z1
    spheres: np.ndarray        # (S, 4) x, y, z, radius
    prims: dict = field(default_factory=dict)  # per-shape columns, boxes first then spheres
    lamps: np.ndarray = None   # (Q, 3) street-lamp heads (night light sources)
    caster_boxes: np.ndarray = None    # (K, 6) boxes that cast shadows
    caster_spheres: np.ndarray = None  # (L, 4) spheres that cast shadows


class _Builder:
    """Collects shapes and their per-shape properties."""

    COLUMNS = ("material", "side_material", "windows", "rgb", "nir", "label",
               "heat_conductance", "heat_temperature", "engine", "emit")

    def __init__(self, rng):
        self.rng = rng
        self.boxes, self.spheres = [], []
        self.box_rows, self.sphere_rows = [], []
        self.caster_boxes, self.caster_spheres = [], []

    def _row(self, material, label, rgb=None, nir=None, side_material=None, windows=False,
             heat=None, engine=False, emit=(0.0, 0.0, 0.0)):
        if rgb is None:
            rgb, nir_drawn = mat.draw_colour(self.rng, material)
            nir = nir_drawn if nir is None else nir
        m = mat.MATERIALS[material]
        conductance, temperature = heat if heat else (m.core_conductance, m.core_temperature)
        return dict(material=material, side_material=material if side_material is None else side_material,
                    windows=windows, rgb=np.asarray(rgb, np.float32), nir=m.nir if nir is None else nir,
                    label=label, heat_conductance=conductance, heat_temperature=temperature,
                    engine=engine, emit=np.asarray(emit, np.float32))

    def box(self, x0, y0, z0, x1, y1, z1, material, label, casts=True, **props):
        """A drawn box; `casts`: it is also its own shadow caster."""
        box = (min(x0, x1), y0, min(z0, z1), max(x0, x1), y1, max(z0, z1))
        self.boxes.append(box)
        self.box_rows.append(self._row(material, label, **props))
        if casts:
            self.caster_boxes.append(box)

    def sphere(self, x, y, z, r, material, label, casts=True, **props):
        self.spheres.append((x, y, z, r))
        self.sphere_rows.append(self._row(material, label, **props))
        if casts:
            self.caster_spheres.append((x, y, z, r))

    def caster(self, x0, y0, z0, x1, y1, z1):
        """A shadow-only box (a proxy for small drawn parts)."""
        self.caster_boxes.append((min(x0, x1), y0, min(z0, z1), max(x0, x1), y1, max(z0, z1)))

    def columns(self):
        rows = self.box_rows + self.sphere_rows
        cols = {c: np.array([r[c] for r in rows]) for c in self.COLUMNS}
        return {c: v.astype(np.float32) if v.dtype == np.float64 else v for c, v in cols.items()}


def make_camera(rng, width, height):
    """A road camera with a 45-55 degree horizontal field of view and the horizon a
    little above the image centre."""
    fov = np.deg2rad(rng.uniform(45.0, 55.0))
    focal = 0.5 * width / np.tan(0.5 * fov)
    return Camera(width, height, float(focal), 0.5 * width, float(height * rng.uniform(0.40, 0.48)))


def make_ground(rng):
    """Road (camera in a same-direction lane, oncoming lanes on the left, right-hand
    traffic), kerbside sidewalks, then a verge of grass, soil, water or paving."""
    lanes_left, lanes_right = int(rng.integers(1, 4)), int(rng.integers(0, 2))
    road = (-(0.5 + lanes_left) * LANE_WIDTH_M, (0.5 + lanes_right) * LANE_WIDTH_M)
    verge_choices = [mat.ID["vegetation"], mat.ID["soil"], mat.ID["water"], mat.ID["concrete"]]
    walk_l, verge_l = rng.uniform(2.0, 4.0), rng.uniform(0.0, 12.0)
    walk_r, verge_r = rng.uniform(2.0, 4.0), rng.uniform(0.0, 12.0)
    verge_mat_l = verge_choices[rng.choice(4, p=[0.45, 0.25, 0.1, 0.2])]
    verge_mat_r = verge_choices[rng.choice(4, p=[0.45, 0.25, 0.1, 0.2])]
    # bands from left to right: paving | verge | sidewalk | road | sidewalk | verge | paving
    edges = [road[0] - walk_l - verge_l, road[0] - walk_l, road[0],
             road[1], road[1] + walk_r, road[1] + walk_r + verge_r]
    materials = [mat.ID["concrete"], verge_mat_l, mat.ID["concrete"], mat.ID["asphalt"],
                 mat.ID["concrete"], verge_mat_r, mat.ID["concrete"]]
    # solid edge lines, dashed lines between lanes, a solid centre line left of the camera's lane
    lines = [road[0] + 0.3, road[1] - 0.3] + [(j + 0.5) * LANE_WIDTH_M for j in range(-lanes_left, lanes_right)]
    dashed = [False, False] + [j != -1 for j in range(-lanes_left, lanes_right)]
    return Ground(np.array(edges, np.float32), np.array(materials), np.array(lines, np.float32),
                  np.array(dashed), road)


def add_buildings(b, ground):
    """Rows of buildings with windows behind each verge, plus a skyline row across
    the far end of the street."""
    rng = b.rng
    for side in (-1, 1):
        if rng.random() < 0.2:
            continue  # open land on this side
        front = (ground.edges[0] if side < 0 else ground.edges[-1]) + side * rng.uniform(0.0, 3.0)
        z = rng.uniform(-5.0, 10.0)
        while z < FAR_Z_M - 20:
            # far down the street buildings are drawn longer: fewer shapes where each is small on screen
            length = rng.uniform(8.0, 35.0) * (1.0 + max(z, 0.0) / 50.0)
            depth = rng.uniform(10.0, 20.0)
            height = rng.uniform(4.0, 15.0) if rng.random() < 0.6 else rng.uniform(15.0, 45.0)
            rgb = _FACADES[rng.integers(len(_FACADES))] * rng.uniform(0.85, 1.15)
            b.box(front, 0.0, max(z, 1.0), front + side * depth, height, z + length,
                  mat.ID["concrete"], BUILDING, rgb=rgb, windows=True)
            z += length + (rng.uniform(2.0, 15.0) if rng.random() < 0.5 else 0.5)
    for x in np.arange(-120.0, 120.0, 30.0):
        height = rng.uniform(8.0, 40.0)
        rgb = _FACADES[rng.integers(len(_FACADES))] * rng.uniform(0.85, 1.15)
        b.box(x, 0.0, FAR_Z_M, x + rng.uniform(20.0, 30.0), height, FAR_Z_M + 20.0,
              mat.ID["concrete"], BUILDING, rgb=rgb, windows=True)


def add_tree(b, x, z):
    """A trunk and a round crown."""
    rng = b.rng
    trunk = rng.uniform(2.0, 3.5)
    radius = rng.uniform(1.3, 2.8)
    b.box(x - 0.15, 0.0, z - 0.15, x + 0.15, trunk + 0.5, z + 0.15, mat.ID["bark"], TREE)
    b.sphere(x, trunk + 0.7 * radius, z, radius, mat.ID["vegetation"], TREE)


def add_trees(b, ground):
    rng = b.rng
    for x in (ground.road[0] - 0.6, ground.road[1] + 0.6):
        if rng.random() < 0.3:
            continue
        z = rng.uniform(3.0, 12.0)
        while z < TREE_RANGE_M:
            add_tree(b, x + rng.uniform(-0.2, 0.2), z)
            z += rng.uniform(7.0, 16.0)


def add_car(b, x, z, facing, running):
    """A car centred at lane position x with its near end at depth z.  `facing` -1:
    oncoming (front towards the camera), +1: driving away (rear towards the
    camera).  A running car has a hot engine under the hood, a hot exhaust at the
    back, and lit lamps at night."""
    rng = b.rng
    length, width = rng.uniform(4.0, 4.9), rng.uniform(1.7, 1.9)
    body_top, cabin_top = rng.uniform(0.95, 1.15), rng.uniform(1.40, 1.55)
    hood = rng.uniform(1.0, 1.3)
    rgb, nir = mat.draw_colour(rng, mat.ID["painted_metal"])
    paint = dict(rgb=rgb, nir=nir)
    x0, x1, z0, z1 = x - width / 2, x + width / 2, z, z + length
    front_near = facing < 0
    zf = z0 if front_near else z1            # front bumper
    zh = zf + hood if front_near else zf - hood  # end of the hood
    zr = z1 if front_near else z0            # rear bumper
    engine = dict(heat=mat.RUNNING_ENGINE, engine=True) if running else {}
    shadow = dict(casts=False)                 # the car casts the shadow of the two proxies below
    # wheels under the body, one box per axle
    for wz in (z0 + 0.6, z1 - 1.1):
        b.box(x0 + 0.05, 0.0, wz, x1 - 0.05, 0.65, wz + 0.5, mat.ID["rubber"], CAR, **shadow)
    b.box(x0, 0.35, zf, x1, body_top, zh, mat.ID["painted_metal"], CAR, **paint, **engine, **shadow)
    b.box(x0, 0.35, zh, x1, body_top, zr, mat.ID["painted_metal"], CAR, **paint, **shadow)
    cz0, cz1 = sorted((zh + (0.3 if front_near else -0.3), zr + (-0.4 if front_near else 0.4)))
    b.box(x0 + 0.08, body_top, cz0, x1 - 0.08, cabin_top, cz1, mat.ID["painted_metal"], CAR,
          **paint, side_material=mat.ID["glass"], **shadow)
    b.caster(x0, 0.35, z0, x1, body_top, z1)
    b.caster(x0 + 0.08, body_top, cz0, x1 - 0.08, cabin_top, cz1)
    # lamps: a white head-lamp strip at the front, a red tail-lamp strip at the back
    head_emit = (60.0, 60.0, 50.0) if running else (0.0, 0.0, 0.0)
    tail_emit = (25.0, 1.0, 0.5) if running else (0.0, 0.0, 0.0)
    b.box(x0 + 0.1, body_top - 0.3, zf, x1 - 0.1, body_top - 0.15, zf + 0.02 * facing,
          mat.ID["painted_metal"], CAR, rgb=(0.8, 0.8, 0.8), nir=0.6, emit=head_emit, **shadow)
    b.box(x0 + 0.05, body_top - 0.25, zr, x1 - 0.05, body_top - 0.1, zr - 0.02 * facing,
          mat.ID["painted_metal"], CAR, rgb=(0.5, 0.03, 0.02), nir=0.5, emit=tail_emit, **shadow)
    if running:
        ex = x1 - 0.5
        b.box(ex, 0.25, zr, ex + 0.12, 0.37, zr - 0.05 * facing, mat.ID["painted_metal"], CAR,
              rgb=(0.08, 0.08, 0.08), nir=0.1, heat=mat.EXHAUST, engine=True, **shadow)


def add_cars(b, ground):
    """One running car ahead in the camera's lane (so every scene has an engine),
    oncoming traffic on the left, more traffic and a parked car on the right;
    cars that would overlap one already placed are left out."""
    rng = b.rng
    placed = []                                      # (x, z_near, z_far) of cars so far

    def place(x, z, facing, running):
        if any(abs(x - px) < 2.2 and z < pz1 + 1.0 and pz0 < z + 6.0 for px, pz0, pz1 in placed):
            return
        placed.append((x, z, z + 5.0))
        add_car(b, x, z, facing, running)

    place(rng.uniform(-0.3, 0.3), rng.uniform(8.0, 22.0), +1, True)
    lanes_left = int(round(-ground.road[0] / LANE_WIDTH_M - 0.5))
    for j in range(1, lanes_left + 1):
        z = rng.uniform(8.0, 30.0)
        while z < TRAFFIC_RANGE_M:
            place(-j * LANE_WIDTH_M + rng.uniform(-0.3, 0.3), z, -1, True)
            z += rng.uniform(10.0, 40.0)
    if ground.road[1] > LANE_WIDTH_M:
        place(LANE_WIDTH_M + rng.uniform(-0.3, 0.3), rng.uniform(5.0, 30.0), +1, True)
    if rng.random() < 0.5:  # parked at the right kerb, engine off
        place(ground.road[1] - 1.1, rng.uniform(10.0, 40.0), +1, False)


def add_person(b, x, z):
    """A pedestrian: legs, torso and arms in clothing, head in skin."""
    rng = b.rng
    h = rng.uniform(1.55, 1.9)
    top, trousers = mat.draw_colour(rng, mat.ID["clothing"]), mat.draw_colour(rng, mat.ID["clothing"])
    skin = mat.draw_colour(rng, mat.ID["skin"])
    sleeves = dict(rgb=top[0], nir=top[1], material=mat.ID["clothing"]) if rng.random() < 0.6 else \
        dict(rgb=skin[0], nir=skin[1], material=mat.ID["skin"])
    shadow = dict(casts=False)                 # a proxy box and the head cast the person's shadow
    b.box(x - 0.17, 0.0, z - 0.12, x + 0.17, 0.47 * h, z + 0.12, mat.ID["clothing"], PERSON,
          rgb=trousers[0], nir=trousers[1], **shadow)
    b.box(x - 0.22, 0.47 * h, z - 0.13, x + 0.22, 0.82 * h, z + 0.13, mat.ID["clothing"], PERSON,
          rgb=top[0], nir=top[1], **shadow)
    for ax in (x - 0.31, x + 0.22):
        b.box(ax, 0.45 * h, z - 0.05, ax + 0.09, 0.80 * h, z + 0.05, sleeves["material"], PERSON,
              rgb=sleeves["rgb"], nir=sleeves["nir"], **shadow)
    b.sphere(x, 0.9 * h, z, 0.075 * h, mat.ID["skin"], PERSON, rgb=skin[0], nir=skin[1])
    b.caster(x - 0.17, 0.0, z - 0.12, x + 0.17, 0.82 * h, z + 0.12)


def add_people(b, ground, camera):
    """At least one pedestrian on a sidewalk near the camera and inside its view, a
    few more further away, sometimes one crossing the road."""
    rng = b.rng
    walks = (ground.road[0] - 1.2, ground.road[1] + 1.2)
    x = walks[rng.integers(2)] + rng.uniform(-0.6, 0.6)
    in_view = 1.2 * abs(x) * camera.focal / (0.5 * camera.width)   # nearest depth inside the frame
    add_person(b, x, max(6.0, in_view) + rng.uniform(0.0, 8.0))
    for _ in range(int(rng.integers(0, 5))):
        add_person(b, walks[rng.integers(2)] + rng.uniform(-0.8, 0.8), rng.uniform(5.0, 45.0))
    if rng.random() < 0.3:
        add_person(b, rng.uniform(ground.road[0] + 1, -1.5), rng.uniform(6.0, 7.5))


def make_lamps(rng, ground):
    """Street-lamp heads (7 m up, every ~25 m along both kerbs)."""
    zs = np.arange(rng.uniform(5.0, 20.0), 150.0, 25.0)
    return np.array([(x, 7.0, z) for x in (ground.road[0] - 0.5, ground.road[1] + 0.5) for z in zs],
                    dtype=np.float32)


def make_scene(rng, width, height):
    """A random road scene for a `width` x `height` image."""
    camera = make_camera(rng, width, height)
    ground = make_ground(rng)
    b = _Builder(rng)
    add_buildings(b, ground)
    add_trees(b, ground)
    add_cars(b, ground)
    add_people(b, ground, camera)
    def array(rows, width):
        return np.array(rows, np.float32).reshape(-1, width)
    return Scene(camera, ground, array(b.boxes, 6), array(b.spheres, 4), b.columns(), make_lamps(rng, ground),
                 array(b.caster_boxes, 6), array(b.caster_spheres, 4))
