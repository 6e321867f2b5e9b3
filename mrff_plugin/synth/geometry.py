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
from dataclasses import dataclass

import numpy as np

GROUND_PRIM = -1   # prim map value for the ground plane
SKY_PRIM = -2      # ... and for pixels that hit nothing
_NEAR = 0.5        # m; shapes closer than this to the camera plane are not drawn
MIN_SCREEN_PX = 1.0     # boxes thinner than this on screen are not drawn: point sampling would only alias them


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


def _spans(values, lo, hi):
    """Index ranges [i0, i1) of an ascending array whose values lie in [lo, hi],
    for arrays of bounds (NaN bounds give empty ranges)."""
    return (np.searchsorted(values, lo, "left").tolist(), np.searchsorted(values, hi, "right").tolist())


def _draw(g, rows, cols, hit, depth, index, face):
    """Write a shape's hits into the block g[rows, cols] where nearer than what is there."""
    block = g.depth[rows, cols]
    hit &= depth < block
    np.copyto(block, depth, where=hit)
    np.copyto(g.prim[rows, cols], index, where=hit)
    np.copyto(g.face[rows, cols], face, where=hit)


def _draw_boxes(g, boxes, index, rx, neg_ry, h):
    """Rasterise the camera-facing faces of axis-aligned boxes (`boxes` (N, 6) with
    shape indices `index`): the front face (z = z0) is a screen rectangle, the side
    face the camera sees (x = x0 if the box is right of the camera, x = x1 if
    left) has one depth per column, the top face (y = y1, below the camera) one
    depth per row.  The screen blocks of all faces are found at once."""
    if len(boxes) == 0:
        return
    x0, y0, z0, x1, y1, z1 = np.asarray(boxes, np.float64).T
    z0 = np.maximum(z0, _NEAR)
    # ray x = x / z and -ray y = (h - y) / z bounds of each face -> rows and columns
    front = (*_spans(neg_ry, (h - y1) / z0, (h - y0) / z0), *_spans(rx, x0 / z0, x1 / z0))
    xs = np.where(x0 > 0, x0, np.where(x1 < 0, x1, np.nan))
    side_face = np.where(x0 > 0, LEFT, RIGHT).tolist()
    with np.errstate(invalid="ignore"):
        side = (*_spans(neg_ry, np.minimum((h - y1) / z0, (h - y1) / z1), np.maximum((h - y0) / z0, (h - y0) / z1)),
                *_spans(rx, np.minimum(xs / z0, xs / z1), np.maximum(xs / z0, xs / z1)))
    seen_top = y1 < h
    top = (*_spans(neg_ry, np.where(seen_top, (h - y1) / z1, np.nan), (h - y1) / z0),
           *_spans(rx, np.minimum(x0 / z0, x0 / z1), np.maximum(x1 / z0, x1 / z1)))
    ry = -neg_ry
    rows = zip(index, boxes.tolist(), zip(*front), zip(*side), side_face, zip(*top))
    for i, (bx0, by0, bz0, bx1, by1, bz1), (r0, r1, c0, c1), side_block, face, top_block in rows:
        bz0 = max(bz0, _NEAR)
        if r1 > r0 and c1 > c0:
            _draw(g, slice(r0, r1), slice(c0, c1), np.ones((r1 - r0, c1 - c0), bool), np.float32(bz0), i, FRONT)
        r0, r1, c0, c1 = side_block
        if r1 > r0 and c1 > c0:
            x = bx0 if face == LEFT else bx1
            t = x / rx[c0:c1]                                   # (w,) depth per column
            y = h + t[None, :] * ry[r0:r1, None]                # (h, w)
            hit = (y >= by0) & (y <= by1) & (t >= bz0)[None, :] & (t <= bz1)[None, :]
            _draw(g, slice(r0, r1), slice(c0, c1), hit, t[None, :], i, face)
        r0, r1, c0, c1 = top_block
        if r1 > r0 and c1 > c0:
            t = (by1 - h) / ry[r0:r1]                           # (h,) depth per row
            x = t[:, None] * rx[None, c0:c1]
            hit = (x >= bx0) & (x <= bx1) & (t >= bz0)[:, None] & (t <= bz1)[:, None]
            _draw(g, slice(r0, r1), slice(c0, c1), hit, t[:, None], i, UP)


def _draw_spheres(g, spheres, index, rx, neg_ry, h):
    """Rasterise spheres (ray-sphere quadratic on each one's screen box; the box
    from x/z and (y - h)/z over the corners of the bounding cube)."""
    if len(spheres) == 0:
        return
    cx, cy, cz, r = np.asarray(spheres, np.float64).T
    near, far = cz - r, cz + r
    xs = np.stack([(cx - r) / near, (cx - r) / far, (cx + r) / near, (cx + r) / far])
    ys = np.stack([(h - cy + r) / near, (h - cy + r) / far, (h - cy - r) / near, (h - cy - r) / far])
    blocks = zip(*_spans(neg_ry, ys.min(0), ys.max(0)), *_spans(rx, xs.min(0), xs.max(0)))
    ry = -neg_ry
    for i, (sx, sy, sz, sr), (r0, r1, c0, c1) in zip(index, spheres.tolist(), blocks):
        if r1 <= r0 or c1 <= c0:
            continue
        dx, dy = rx[None, c0:c1], ry[r0:r1, None]
        ox, oy, oz = -sx, h - sy, -sz                      # ray origin relative to the centre
        a = dx * dx + dy * dy + 1.0
        b = dx * ox + dy * oy + oz
        disc = b * b - a * (ox * ox + oy * oy + oz * oz - sr * sr)
        t = (-b - np.sqrt(np.maximum(disc, 0))) / a
        _draw(g, slice(r0, r1), slice(c0, c1), (disc > 0) & (t > _NEAR), t.astype(np.float32), i, ROUND)


def rasterise(scene):
    """Depth, shape index and normal of the nearest surface at every pixel of
    `scene.camera`, plus its world position."""
    cam = scene.camera
    h = cam.height_m
    rx, ry = cam.ray_x(), cam.ray_y()
    H, W = cam.height, cam.width
    g = GBuffer(np.full((H, W), np.inf, np.float32), np.full((H, W), SKY_PRIM, np.int32),
                np.full((H, W), SKY_FACE, np.int8))
    below = ry < 0                                      # rows that see the ground
    g.depth[below] = (h / -ry[below])[:, None]
    g.prim[below] = GROUND_PRIM
    g.face[below] = UP
    b, sph = scene.boxes, scene.spheres
    thinnest = np.minimum(b[:, 3] - b[:, 0], b[:, 4] - b[:, 1]) * cam.focal / np.maximum(b[:, 2], _NEAR)
    drawn = np.flatnonzero((thinnest >= MIN_SCREEN_PX) & (b[:, 5] > _NEAR))
    _draw_boxes(g, b[drawn], drawn.tolist(), rx, -ry, h)
    drawn = np.flatnonzero(sph[:, 2] - sph[:, 3] > _NEAR)
    _draw_spheres(g, sph[drawn], (len(b) + drawn).tolist(), rx, -ry, h)
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
    box = boxes.astype(np.float64)
    sph = spheres.astype(np.float64)
    xlo = np.concatenate([box[:, 0], sph[:, 0] - sph[:, 3]])
    xhi = np.concatenate([box[:, 3], sph[:, 0] + sph[:, 3]])
    zlo = np.concatenate([box[:, 2], sph[:, 2] - sph[:, 3]])
    zhi = np.concatenate([box[:, 5], sph[:, 2] + sph[:, 3]])
    top = np.concatenate([box[:, 4], sph[:, 1] + sph[:, 3]])
    reach_x, reach_z = dx * top / dy, dz * top / dy
    xlo, xhi = np.minimum(xlo, xlo - reach_x), np.maximum(xhi, xhi - reach_x)
    first = np.searchsorted(gz, np.minimum(zlo, zlo - reach_z), "left").tolist()
    last = np.searchsorted(gz, np.maximum(zhi, zhi - reach_z), "right").tolist()
    xlo, xhi, top = xlo.tolist(), xhi.tolist(), top.tolist()

    def candidates(k):
        sub = slice(first[k], last[k])
        keep = (gx[sub] >= xlo[k]) & (gx[sub] <= xhi[k]) & (py[sub] < top[k]) & ~hit_sorted[sub]
        return first[k] + np.flatnonzero(keep)

    for k, (x0, y0, z0, x1, y1, z1) in enumerate(box.tolist()):
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
    for k, (cx, cy, cz, r) in enumerate(sph.tolist(), start=len(box)):
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
