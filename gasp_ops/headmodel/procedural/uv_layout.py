"""UV layout: the head is cut into charts (face, left, right, back, top, neck cap, two ears), each flattened by
least-squares conformal maps (LSCM) at a common texel density, then packed into the unit square.

Charts come from the ray direction of each face, so seams run over the cheeks, behind the ears, around the crown and
around the neck cap, and the ears get their own charts. ``uv_statistics`` reports coverage and area distortion.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from gasp_ops.headmodel.procedural import anatomy as A

CHART_NAMES: tuple[str, ...] = (
    "face", "left", "right", "back", "top", "neck_cap", "ear_left", "ear_right", "neck_front", "neck_back")


def neckline_y(z: np.ndarray) -> np.ndarray:
    """Height [...] below which the surface counts as neck, as a function of depth ``z`` (lower under the chin)."""
    return np.interp(z, [-0.12, -0.02, 0.04], [-0.052, -0.082, -0.1])


def ear_mask(p: np.ndarray, margin: float = 1.12) -> np.ndarray:
    """Boolean [...]: points ``p`` [..., 3] on an ear (inside the pinna outline scaled by ``margin``)."""
    a, b = A.ear_coords(p, 1)
    an = a / A.EAR_HALF_LENGTH
    bn = (b + 0.002 * an) / A.EAR_HALF_WIDTH
    return (np.sqrt(an * an + bn * bn) < margin) & (np.abs(p[..., 0]) > 0.05)


def chart_labels(vertices: np.ndarray, faces: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Chart index [F] (into ``CHART_NAMES``) of every face."""
    d = dirs[faces].mean(1)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    az = np.degrees(np.arctan2(d[:, 0], d[:, 2]))
    lab = np.full(len(faces), 3)
    lab[np.abs(az) <= 52.0] = 0
    lab[(az > 52.0) & (az < 128.0)] = 1
    lab[(az < -52.0) & (az > -128.0)] = 2
    lab[d[:, 1] > 0.56] = 4
    lab[d[:, 1] < -0.955] = 5
    cen = vertices[faces].mean(1)
    neck = (cen[:, 1] < neckline_y(cen[:, 2])) & (lab != 5)
    lab[neck & (np.abs(az) < 90.0)] = 8
    lab[neck & (np.abs(az) >= 90.0)] = 9
    ears = ear_mask(vertices[faces]).all(1)
    cen_x = cen[:, 0]
    lab[ears & (cen_x > 0)] = 6
    lab[ears & (cen_x < 0)] = 7
    return lab


def lscm(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Least-squares conformal flattening [n, 2] of a connected chart (vertices [n, 3], faces [m, 3]).

    Orientation is preserved: faces counter-clockwise in 3-D (seen from outside) stay counter-clockwise in UV.
    """
    p0, p1, p2 = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    e1, e2 = p1 - p0, p2 - p0
    nrm = np.cross(e1, e2)
    area2 = np.linalg.norm(nrm, axis=1)
    xa = e1 / np.linalg.norm(e1, axis=1, keepdims=True)
    ya = np.cross(nrm / area2[:, None], xa)
    z = np.stack([np.zeros(len(faces)) + 0j, np.linalg.norm(e1, axis=1) + 0j,
                  (e2 * xa).sum(1) + 1j * (e2 * ya).sum(1)], 1)
    W = np.stack([z[:, 2] - z[:, 1], z[:, 0] - z[:, 2], z[:, 1] - z[:, 0]], 1) / np.sqrt(area2)[:, None]
    n, m = len(vertices), len(faces)
    rows = np.repeat(np.arange(m), 3)
    cols = faces.reshape(-1)
    wr, wi = W.real.reshape(-1), W.imag.reshape(-1)
    # Real rows: sum(wr*u - wi*v); imaginary rows: sum(wi*u + wr*v). Unknowns [u (n), v (n)].
    Amat = sp.coo_matrix(
        (np.concatenate([wr, -wi, wi, wr]),
         (np.concatenate([rows, rows, rows + m, rows + m]), np.concatenate([cols, cols + n, cols, cols + n]))),
        shape=(2 * m, 2 * n)).tocsc()
    # Pin the two vertices farthest apart along the chart's main axis.
    c = vertices - vertices.mean(0)
    axis = np.linalg.svd(c, full_matrices=False)[2][0]
    proj = c @ axis
    i0, i1 = int(np.argmin(proj)), int(np.argmax(proj))
    pinned = np.array([i0, i1, i0 + n, i1 + n])
    values = np.array([0.0, np.linalg.norm(vertices[i1] - vertices[i0]), 0.0, 0.0])
    free = np.setdiff1d(np.arange(2 * n), pinned)
    rhs = -Amat[:, pinned] @ values
    Af = Amat[:, free]
    sol = spla.spsolve((Af.T @ Af).tocsc(), Af.T @ rhs)
    x = np.zeros(2 * n)
    x[free] = sol
    x[pinned] = values
    return np.stack([x[:n], x[n:]], 1)


def _chart_components(faces: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    """Face index arrays of the connected pieces (sharing an edge) of every chart, largest first within a chart."""
    import scipy.sparse.csgraph as csg

    F = len(faces)
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = np.sort(e, 1)
    fid = np.tile(np.arange(F), 3)
    order = np.lexsort((key[:, 1], key[:, 0]))
    k, f = key[order], fid[order]
    same = (k[1:] == k[:-1]).all(1)
    a, b = f[:-1][same], f[1:][same]
    keep = labels[a] == labels[b]
    g = sp.coo_matrix((np.ones(keep.sum()), (a[keep], b[keep])), shape=(F, F))
    _, comp = csg.connected_components(g, directed=False)
    out = []
    for lab in range(labels.max() + 1):
        comps = np.unique(comp[labels == lab])
        pieces = [np.nonzero(comp == c)[0] for c in comps]
        out.extend(sorted(pieces, key=lambda x: (-len(x), x[0])))
    return out


def _raster_pack(charts, grid: int = 144) -> tuple[float, list[tuple[float, float, bool]]]:
    """Pack charts (uv [n, 2] from the origin, tris [m, 3]) by shape into the unit square (bottom-left first).

    Chart outlines are rasterised on a ``grid``-cell occupancy map and dilated by one cell (the gutter); the
    largest common scale that fits is found by bisection. Returns the scale and per-chart (x, y, rotated 90 deg).
    """
    from scipy.ndimage import binary_dilation

    samples = []
    for uv, tris in charts:
        t = uv[tris]
        w = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [2, 1, 1], [1, 2, 1], [1, 1, 2],
                      [1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=np.float64)
        w /= w.sum(1, keepdims=True)
        samples.append(np.einsum("sk,mkc->msc", w, t).reshape(-1, 2))
    areas = [np.ptp(s_[:, 0]) * np.ptp(s_[:, 1]) for s_ in samples]
    order = sorted(range(len(charts)), key=lambda i: -areas[i])

    def mask(pts, scale, rotated):
        q = pts * scale * grid
        if rotated:
            q = np.stack([q[:, 1].max() - q[:, 1], q[:, 0]], 1)
        ij = np.floor(q).astype(int)
        h, w = ij[:, 1].max() + 1, ij[:, 0].max() + 1
        m = np.zeros((h + 2, w + 2), dtype=bool)
        m[ij[:, 1] + 1, ij[:, 0] + 1] = True
        return binary_dilation(m, iterations=1)

    def attempt(scale):
        occ = np.zeros((grid, grid), dtype=np.float64)
        place = [None] * len(charts)
        for i in order:
            best = None
            occ_f = np.fft.rfft2(occ)
            for rotated in (False, True):
                m = mask(samples[i], scale, rotated)
                if m.shape[0] > grid or m.shape[1] > grid:
                    continue
                pad = np.zeros((grid, grid))
                pad[:m.shape[0], :m.shape[1]] = m
                corr = np.fft.irfft2(occ_f * np.conj(np.fft.rfft2(pad)), s=(grid, grid))
                overlap = corr[:grid - m.shape[0] + 1, :grid - m.shape[1] + 1]
                free = np.argwhere(overlap < 0.5)
                if len(free) == 0:
                    continue
                cost = free[:, 0] + m.shape[0] + 1e-3 * free[:, 1]
                k = int(np.argmin(cost))
                if best is None or cost[k] < best[0]:
                    best = (cost[k], free[k], rotated, m)
            if best is None:
                return None
            _, (r0, c0), rotated, m = best
            occ[r0:r0 + m.shape[0], c0:c0 + m.shape[1]] += m
            place[i] = ((c0 + 1) / grid, (r0 + 1) / grid, rotated)
        return place

    lo, hi, best = 0.0, 1.0 / np.sqrt(max(sum(areas), 1e-12)) * 1.2, None
    for _ in range(11):
        mid = 0.5 * (lo + hi)
        pl = attempt(mid)
        if pl is None:
            hi = mid
        else:
            lo, best = mid, pl
    return lo, best


def build_uv_layout(vertices: np.ndarray, faces: np.ndarray, dirs: np.ndarray, gutter: float = 0.006):
    """UV layout of the head: uvs [T, 2] in [0, 1]^2, uv_faces [F, 3] and chart ids [F]."""
    labels = chart_labels(vertices, faces, dirs)
    charts = []
    for fidx in _chart_components(faces, labels):
        vids, local = np.unique(faces[fidx], return_inverse=True)
        local = local.reshape(-1, 3)
        uv = lscm(vertices[vids], local)
        a3 = 0.5 * np.linalg.norm(np.cross(vertices[faces[fidx, 1]] - vertices[faces[fidx, 0]],
                                           vertices[faces[fidx, 2]] - vertices[faces[fidx, 0]]), axis=1).sum()
        auv = _signed_area(uv, local).sum()
        uv = uv * np.sqrt(a3 / auv)
        uv = uv - uv.mean(0)
        rot = np.linalg.svd(uv, full_matrices=False)[2]
        if np.linalg.det(rot) < 0:
            rot[1] *= -1
        uv = uv @ rot.T
        uv = uv - uv.min(0)
        charts.append((fidx, vids, local, uv))
    scale, place = _raster_pack([(c[3], c[2]) for c in charts])
    uvs, uv_faces, offset = [], np.zeros_like(faces), 0
    for (fidx, vids, local, uv), (x0, y0, rotated) in zip(charts, place):
        if rotated:
            uv = np.stack([uv[:, 1].max() - uv[:, 1], uv[:, 0]], 1)
        uvs.append(uv * scale + np.array([x0, y0]))
        uv_faces[fidx] = local + offset
        offset += len(vids)
    uvs = np.clip(np.concatenate(uvs), 0.0, 1.0)
    return uvs, uv_faces, labels


def _signed_area(uv: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = uv[tris[:, 0]], uv[tris[:, 1]], uv[tris[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def uv_statistics(vertices: np.ndarray, faces: np.ndarray, uvs: np.ndarray, uv_faces: np.ndarray) -> dict[str, float]:
    """Coverage and area distortion of a UV layout.

    coverage: summed UV triangle area (= covered fraction of [0, 1]^2 when no triangles overlap).
    ratio per face = (3-D area share) / (UV area share); ``distortion_p05``/``p95`` its percentiles,
    ``distortion_spread`` = p95 / p05, ``worst_stretch`` = max over faces of max(ratio, 1 / ratio).
    min_uv_area: smallest signed UV area (negative means a flipped triangle).
    """
    a3 = 0.5 * np.linalg.norm(np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]],
                                       vertices[faces[:, 2]] - vertices[faces[:, 0]]), axis=1)
    auv = _signed_area(uvs, uv_faces)
    ratio = (a3 / a3.sum()) / (np.maximum(auv, 1e-30) / auv.sum())
    p05, p95 = np.percentile(ratio, [5, 95])
    return {
        "coverage": float(auv.sum()),
        "distortion_p05": float(p05),
        "distortion_p95": float(p95),
        "distortion_spread": float(p95 / p05),
        "worst_stretch": float(np.max(np.maximum(ratio, 1.0 / ratio))),
        "min_uv_area": float(auv.min()),
    }
