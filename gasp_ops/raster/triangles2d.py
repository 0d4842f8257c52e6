"""Coverage rasterisation of 2D triangles: which triangle covers each pixel centre, and where.

Pixel (i, j) has its centre at x = j + 0.5, y = i + 0.5 in the triangles' pixel coordinates. Triangles are
expected not to overlap (a UV layout); where they touch, the pixel goes to the triangle in which it lies most
deeply (largest minimum barycentric), so every covered pixel belongs to exactly one triangle.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Coverage2D:
    """Covered pixels of an H x W grid.

    pixels: [M, 2] long (row i, column j) of each covered pixel, sorted row-major.
    face_ids: [M] long, the triangle covering it.
    barycentrics: [M, 3] float64 weights of the triangle's corners at the pixel centre (sum to one, >= 0).
    """

    pixels: torch.Tensor
    face_ids: torch.Tensor
    barycentrics: torch.Tensor


def rasterize_triangles_2d(
    points: torch.Tensor, faces: torch.Tensor, height: int, width: int, max_candidates: int = 4_000_000
) -> Coverage2D:
    """Rasterise triangles given in pixel coordinates.

    points: [P, 2] (x right, y down, in pixels); faces: [F, 3] long indices into ``points``.
    Vectorised over triangles; triangles are grouped by bounding-box size and processed in chunks of at most
    ``max_candidates`` candidate pixels to bound memory.
    """
    pts = points.detach().to(torch.float64).cpu()
    faces = faces.long().cpu()
    tri = pts[faces]  # [F, 3, 2]
    lo = tri.min(dim=1).values
    hi = tri.max(dim=1).values
    j0 = torch.ceil(lo[:, 0] - 0.5).clamp(0, width - 1).long()
    j1 = torch.floor(hi[:, 0] - 0.5).clamp(-1, width - 1).long()
    i0 = torch.ceil(lo[:, 1] - 0.5).clamp(0, height - 1).long()
    i1 = torch.floor(hi[:, 1] - 0.5).clamp(-1, height - 1).long()
    bw = (j1 - j0 + 1).clamp_min(0)
    bh = (i1 - i0 + 1).clamp_min(0)
    d = (tri[:, 1] - tri[:, 0, :]), (tri[:, 2] - tri[:, 0, :])
    det = d[0][:, 0] * d[1][:, 1] - d[0][:, 1] * d[1][:, 0]
    valid = (bw > 0) & (bh > 0) & (det.abs() > 1e-14)
    order = torch.nonzero(valid).squeeze(1)
    order = order[torch.argsort(bw[order] * bh[order])]

    all_pix, all_face, all_bary, all_score = [], [], [], []
    start = 0
    while start < len(order):
        # Double the chunk while the padded candidate count stays within budget (prefix maxima only grow).
        n = 1
        while start + n < len(order):
            n2 = min(2 * n, len(order) - start)
            sl = order[start:start + n2]
            if n2 * int(bw[sl].max()) * int(bh[sl].max()) > max_candidates:
                break
            n = n2
        idx = order[start:start + n]
        start += n
        mw, mh = int(bw[idx].max()), int(bh[idx].max())
        dj = torch.arange(mw)
        di = torch.arange(mh)
        jj = j0[idx, None, None] + dj[None, None, :]  # [n, 1, mw]
        ii = i0[idx, None, None] + di[None, :, None]  # [n, mh, 1]
        jj, ii = torch.broadcast_tensors(jj, ii)
        inbox = (jj <= j1[idx, None, None]) & (ii <= i1[idx, None, None])
        px = jj.to(torch.float64) + 0.5 - tri[idx, 0, 0, None, None]
        py = ii.to(torch.float64) + 0.5 - tri[idx, 0, 1, None, None]
        e1, e2, dt = d[0][idx], d[1][idx], det[idx]
        b1 = (px * e2[:, 1, None, None] - py * e2[:, 0, None, None]) / dt[:, None, None]
        b2 = (py * e1[:, 0, None, None] - px * e1[:, 1, None, None]) / dt[:, None, None]
        b0 = 1.0 - b1 - b2
        bary = torch.stack([b0, b1, b2], dim=-1)
        score = bary.min(dim=-1).values
        hit = inbox & (score >= -1e-9)
        n_hit = hit.nonzero(as_tuple=True)
        all_pix.append(torch.stack([ii[hit], jj[hit]], dim=-1))
        all_face.append(idx[n_hit[0]])
        all_bary.append(bary[hit].clamp_min(0.0))
        all_score.append(score[hit])
    if not all_pix:
        empty = torch.zeros(0, dtype=torch.long)
        return Coverage2D(torch.zeros(0, 2, dtype=torch.long), empty, torch.zeros(0, 3, dtype=torch.float64))
    pix = torch.cat(all_pix)
    face = torch.cat(all_face)
    bary = torch.cat(all_bary)
    score = torch.cat(all_score)
    # One triangle per pixel: the one the pixel lies deepest in (ties -> lowest face id).
    key = pix[:, 0] * width + pix[:, 1]
    order2 = torch.argsort(face, stable=True)
    order2 = order2[torch.argsort(-score[order2], stable=True)]
    order2 = order2[torch.argsort(key[order2], stable=True)]
    key_sorted = key[order2]
    first = torch.ones_like(key_sorted, dtype=torch.bool)
    first[1:] = key_sorted[1:] != key_sorted[:-1]
    keep = order2[first]
    bary = bary[keep]
    bary = bary / bary.sum(-1, keepdim=True)
    return Coverage2D(pixels=pix[keep], face_ids=face[keep], barycentrics=bary)
