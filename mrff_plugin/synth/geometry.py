"""Ray casting: which shape each pixel sees, at what depth, with what normal.

Camera rays are d = (rx[u], ry[v], 1) (see `Camera`), so a ray's parameter at
a hit equals the hit's depth z and each face of an axis-aligned box can be
rasterised with 1-D arrays: a front face (z = const) is a screen rectangle, a
side face (x = const) has one depth per column, a top face (y = const) one
depth per row.  Spheres use the usual quadratic on their screen box.  A
z-buffer keeps the nearest hit.  Shadow rays (`occluded`) use the slab test.

Everything here is pure geometry; what a pixel is made of is decided in
`surfaces.py`.
"""
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np

GROUND_PRIM = -1   # prim map value for the ground plane
SKY_PRIM = -2      # ... and for pixels that hit nothing
_NEAR = 0.5        # m; shapes closer than this to the camera plane are not drawn
MIN_OCCLUDER_M3 = 0.02  # shapes smaller than this cast no shadow (lamps, exhausts)


# Which way a pixel's surface faces, stored per pixel while drawing; the normal
# map is filled from these at the end (spheres from their centres).
SKY_FACE, UP, FRONT, LEFT, RIGHT, ROUND = range(6)
_FACE_NORMALS = np.array([(0, 0, 0), (0, 1, 0), (0, 0, -1), (-1, 0, 0), (1, 0, 0), (0, 0, 0)], np.float32)


@dataclass
class GBuffer:
    depth: np.ndarray    # (H, W) float32 z of the visible surface, inf for sky
    prim: np.ndarray     # (H, W) int32 shape index, GROUND_PRIM or SKY_PRIM
    face: np.ndarray     # (H, W) int8 SKY_FACE ... ROUND
    normal: np.ndarray = None  # (H, W, 3) float32 unit surface normal (0 for sky)
    points: np.ndarray = None  # (H, W, 3) float32 world position


def _span(values, lo, hi):
    """Index range [i0, i1) of an ascending list whose values lie in [lo, hi]."""
    return bisect_left(values, lo), bisect_right(values, hi)


def _draw(g, rows, cols, hit, depth, index, face):
    """Write a shape's hits into the block g[rows, cols] where nearer than what is there."""
    block = g.depth[rows, cols]
    hit &= depth < block
    np.copyto(block, depth, where=hit)
    np.copyto(g.prim[rows, cols], index, where=hit)
    np.copyto(g.face[rows, cols], face, where=hit)


class _Rays:
    """Ray components per column (rx, ascending) and per row (neg_ry = -ry,
    ascending), as arrays for arithmetic and lists for fast bisection."""

    def __init__(self, camera):
        self.rx, self.neg_ry = camera.ray_x(), -camera.ray_y()
        self.rx_list, self.neg_ry_list = self.rx.tolist(), self.neg_ry.tolist()

    def cols(self, lo, hi):
        return _span(self.rx_list, lo, hi)

    def rows(self, lo, hi):
        """Rows whose ray y component lies in [lo, hi]."""
        return _span(self.neg_ry_list, -hi, -lo)


def _box_faces(g, rays, h, box, index):
    """Rasterise the (up to three) faces of an axis-aligned box that face the camera."""
    rx, neg_ry = rays.rx, rays.neg_ry
    x0, y0, z0, x1, y1, z1 = (float(v) for v in box)
    if z1 <= _NEAR:
        return
    z0 = max(z0, _NEAR)
    # front face, plane z = z0: a screen rectangle
    c0, c1 = rays.cols(x0 / z0, x1 / z0)
    r0, r1 = rays.rows((y0 - h) / z0, (y1 - h) / z0)
    if c1 > c0 and r1 > r0:
        rows, cols = slice(r0, r1), slice(c0, c1)
        _draw(g, rows, cols, np.ones((r1 - r0, c1 - c0), bool), np.float32(z0), index, FRONT)
    # side face, plane x = x0 (camera to its left) or x = x1 (camera to its right)
    for x, nx, face in ((x0, -1.0, LEFT), (x1, 1.0, RIGHT)):
        if x * nx > -1e-6:       # the camera (x = 0) is behind this face (or in its plane)
            continue
        c0, c1 = rays.cols(min(x / z0, x / z1), max(x / z0, x / z1))
        r0, r1 = rays.rows(min((y0 - h) / z0, (y0 - h) / z1), max((y1 - h) / z0, (y1 - h) / z1))
        if c1 <= c0 or r1 <= r0:
            continue
        t = x / rx[c0:c1]                                   # (w,) depth per column
        y = h + t[None, :] * -neg_ry[r0:r1, None]           # (h, w)
        hit = (y >= y0) & (y <= y1) & (t[None, :] >= z0) & (t[None, :] <= z1)
        _draw(g, slice(r0, r1), slice(c0, c1), hit, t[None, :], index, face)
    # top face, plane y = y1, seen from above
    if y1 < h:
        r0, r1 = rays.rows((y1 - h) / z0, (y1 - h) / z1)
        c0, c1 = rays.cols(min(x0 / z0, x0 / z1), max(x1 / z0, x1 / z1))
        if c1 > c0 and r1 > r0:
            t = (y1 - h) / -neg_ry[r0:r1]                   # (h,) depth per row
            x = t[:, None] * rx[None, c0:c1]
            hit = (x >= x0) & (x <= x1) & (t[:, None] >= z0) & (t[:, None] <= z1)
            _draw(g, slice(r0, r1), slice(c0, c1), hit, t[:, None], index, UP)


def _sphere(g, rays, h, sphere, index):
    """Rasterise a sphere (ray-sphere quadratic on its screen box)."""
    rx, neg_ry = rays.rx, rays.neg_ry
    cx, cy, cz, r = (float(v) for v in sphere)
    if cz - r <= _NEAR:
        return
    # screen box: x/z and (y - h)/z over the corners of the bounding cube (z > 0)
    xs = np.array([cx - r, cx + r])[:, None] / np.array([cz - r, cz + r])[None, :]
    ys = np.array([cy - r - h, cy + r - h])[:, None] / np.array([cz - r, cz + r])[None, :]
    c0, c1 = rays.cols(xs.min(), xs.max())
    r0, r1 = rays.rows(ys.min(), ys.max())
    if c1 <= c0 or r1 <= r0:
        return
    dx, dy = rx[None, c0:c1], -neg_ry[r0:r1, None]
    ox, oy, oz = -cx, h - cy, -cz                      # ray origin relative to the centre
    a = dx * dx + dy * dy + 1.0
    b = dx * ox + dy * oy + oz
    disc = b * b - a * (ox * ox + oy * oy + oz * oz - r * r)
    hit = disc > 0
    t = (-b - np.sqrt(np.maximum(disc, 0))) / a
    hit &= t > _NEAR
    _draw(g, slice(r0, r1), slice(c0, c1), hit, t.astype(np.float32), index, ROUND)


def rasterise(scene):
    """Depth, shape index and normal of the nearest surface at every pixel of
    `scene.camera`, plus its world position."""
    cam = scene.camera
    h = cam.height_m
    rays = _Rays(cam)
    rx, ry = rays.rx, -rays.neg_ry
    H, W = cam.height, cam.width
    g = GBuffer(np.full((H, W), np.inf, np.float32), np.full((H, W), SKY_PRIM, np.int32),
                np.full((H, W), SKY_FACE, np.int8))
    below = ry < 0                                      # rows that see the ground
    g.depth[below] = (h / -ry[below])[:, None]
    g.prim[below] = GROUND_PRIM
    g.face[below] = UP
    for i, box in enumerate(scene.boxes.tolist()):
        _box_faces(g, rays, h, box, i)
    for j, sphere in enumerate(scene.spheres.tolist()):
        _sphere(g, rays, h, sphere, len(scene.boxes) + j)
    z = np.where(np.isfinite(g.depth), g.depth, 0.0).astype(np.float32)
    g.points = np.stack([z * rx[None, :], h + z * ry[:, None], z], axis=-1)
    g.normal = np.take(_FACE_NORMALS, g.face, axis=0)
    round_pixels = np.flatnonzero(g.face.reshape(-1) == ROUND)
    if len(round_pixels):
        sphere = scene.spheres[g.prim.reshape(-1)[round_pixels] - len(scene.boxes)]   # (n, 4)
        normal = (g.points.reshape(-1, 3)[round_pixels] - sphere[:, :3]) / sphere[:, 3:]
        g.normal.reshape(-1, 3)[round_pixels] = normal / np.linalg.norm(normal, axis=1, keepdims=True)
    return g


def occluded(points, direction, boxes, spheres, eps=0.02):
    """(N,) bool: does the ray points + t * direction (t > eps) hit any box or sphere?
    `points` (N, 3), `direction` (3,) with direction[1] > 0 (towards the sun).

    A ray rising from a point passes over the ground along a straight track; it
    can only hit a shape of height `top` where that track, traced back to
    height 0 (gx, gz), lies within top / direction_y of the shape's footprint.
    Points are sorted by gz once, so each shape only looks at a slice of them.
    Shapes smaller than MIN_OCCLUDER_M3 (lamps, exhausts) cast no shadow.
    """
    n = len(points)
    hit = np.zeros(n, bool)
    if n == 0:
        return hit
    dx, dy, dz = (float(v) for v in direction)
    dx = dx if abs(dx) > 1e-9 else 1e-9
    dz = dz if abs(dz) > 1e-9 else 1e-9
    gz = points[:, 2] - points[:, 1] * np.float32(dz / dy)
    order = np.argsort(gz, kind="stable")
    gz = gz[order]
    px, py, pz = (np.ascontiguousarray(points[order, k]) for k in range(3))
    gx = px - py * (dx / dy)
    hit_sorted = np.zeros(n, bool)

    # Footprints (boxes first, then the spheres' bounding boxes), widened along the
    # ground track by top / d_y, and the slice of sorted points each one covers.
    big = boxes[(boxes[:, 3] - boxes[:, 0]) * (boxes[:, 4] - boxes[:, 1]) * (boxes[:, 5] - boxes[:, 2])
                >= MIN_OCCLUDER_M3].astype(np.float64)
    sph = spheres.astype(np.float64)
    xlo = np.concatenate([big[:, 0], sph[:, 0] - sph[:, 3]])
    xhi = np.concatenate([big[:, 3], sph[:, 0] + sph[:, 3]])
    zlo = np.concatenate([big[:, 2], sph[:, 2] - sph[:, 3]])
    zhi = np.concatenate([big[:, 5], sph[:, 2] + sph[:, 3]])
    top = np.concatenate([big[:, 4], sph[:, 1] + sph[:, 3]])
    reach_x, reach_z = dx * top / dy, dz * top / dy
    xlo, xhi = np.minimum(xlo, xlo - reach_x), np.maximum(xhi, xhi - reach_x)
    first = np.searchsorted(gz, np.minimum(zlo, zlo - reach_z), "left").tolist()
    last = np.searchsorted(gz, np.maximum(zhi, zhi - reach_z), "right").tolist()
    xlo, xhi, top = xlo.tolist(), xhi.tolist(), top.tolist()

    def candidates(k):
        sub = slice(first[k], last[k])
        keep = (gx[sub] >= xlo[k]) & (gx[sub] <= xhi[k]) & (py[sub] < top[k]) & ~hit_sorted[sub]
        return first[k] + np.flatnonzero(keep)

    for k, (x0, y0, z0, x1, y1, z1) in enumerate(big.tolist()):
        if first[k] == last[k]:
            continue
        idx = candidates(k)
        if len(idx) == 0:
            continue
        # slab test, one axis at a time on 1-D arrays
        qx, qy, qz = px[idx], py[idx], pz[idx]
        ax, bx = (x0 - qx) / dx, (x1 - qx) / dx
        ay, by = (y0 - qy) / dy, (y1 - qy) / dy
        az, bz = (z0 - qz) / dz, (z1 - qz) / dz
        t_in = np.maximum(np.maximum(np.minimum(ax, bx), np.minimum(ay, by)), np.minimum(az, bz))
        t_out = np.minimum(np.minimum(np.maximum(ax, bx), np.maximum(ay, by)), np.maximum(az, bz))
        hit_sorted[idx] = t_out > np.maximum(t_in, eps)
    for k, (cx, cy, cz, r) in enumerate(sph.tolist(), start=len(big)):
        if first[k] == last[k]:
            continue
        idx = candidates(k)
        if len(idx) == 0:
            continue
        ox, oy, oz = px[idx] - cx, py[idx] - cy, pz[idx] - cz
        b = ox * dx + oy * dy + oz * dz
        disc = b * b - (ox * ox + oy * oy + oz * oz) + r * r
        t_far = -b + np.sqrt(np.maximum(disc, 0))         # where the ray leaves the sphere
        hit_sorted[idx] = (disc > 0) & (t_far > eps)
    hit[order] = hit_sorted
    return hit
