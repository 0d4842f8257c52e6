"""CPU compositing kernels for the reference rasteriser: the same per-pixel blending, compiled with numba.

``gasp_ops.render.reference`` projects the Gaussians and builds the depth-sorted tile lists in torch; this module
replaces only its compositing step (``_composite`` over padded batches) on the CPU, where that step is almost all
of the time. The maths is the reference's, written as the sequential per-pixel loop it describes:

    for each listed Gaussian of the pixel's tile, front to back (``d = mean2d - p``, p the pixel centre):
        σ = 0.5 (a dx² + c dy²) + b dx dy;           skipped when σ < 0
        α = min(0.999, opacity exp(-σ));             skipped when α < 1/255
        if T (1 - α) <= 1e-4: stop (before this Gaussian)
        acc += α T (r, g, b, z);  T *= (1 - α)

Forward writes per pixel the accumulated (r, g, b, z), alpha = 1 - T, the final transmittance and how many list
entries were visited (the backward pass walks them again, back to front). Backward is the analytic gradient of
the same loop (as in 3DGS): going back to front with ``T_k = T_{k+1} / (1 - α_k)`` and the suffix sums
``S = Σ_{j>k} w_j f_j``,

    dL/df_k = G w_k,   dL/dα_k = Σ_c G_c (f_kc T_k - S_c / (1 - α_k)) + G_alpha T_final / (1 - α_k),

then through ``α = opacity exp(-σ)`` (no gradient where the 0.999 clamp is active) to opacity, the 2D mean and
the conic. Gradients are written per tile-list entry (each entry belongs to exactly one tile, and one thread owns
a tile), then summed per Gaussian with ``index_add`` in torch: no races, and the result does not depend on the
thread count (deterministic).

Measured against the torch compositing (tests/test_numba_composite.py): images within 2e-5, gradients within
1e-3 relative on random scenes. Speed: docs/benchmarks.md#cpu-rasteriser.

Importing this module imports numba; ``reference.rasterize`` does that lazily and keeps the torch path when numba
is missing or ``GASP_NO_NUMBA=1``. ``cache=True`` stores the compiled kernels beside this file (or in
``NUMBA_CACHE_DIR``).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch

ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.999
T_MIN = 1e-4


@numba.njit(cache=True, nogil=True, inline="always")
def _tile_origin(t, per_image, tiles_x, tile_size):  # pragma: no cover - compiled
    """Tile id t (= i*T + ty*tiles_x + tx) -> (image i, first pixel column, first pixel row)."""
    local = t % per_image
    return t // per_image, (local % tiles_x) * tile_size, (local // tiles_x) * tile_size


@numba.njit(parallel=True, fastmath=False, cache=True, nogil=True)
def _forward(feat, tile_gauss, tile_start, tile_count, tiles_x, tiles_y, tile_size, width, height,
             out, t_final, n_visit):  # pragma: no cover - compiled
    per_image = tiles_x * tiles_y
    n_tiles = tile_count.shape[0]
    for t in numba.prange(n_tiles):
        cnt = tile_count[t]
        if cnt == 0:
            continue
        start = tile_start[t]
        img, x0, y0 = _tile_origin(t, per_image, tiles_x, tile_size)
        for py in range(y0, min(y0 + tile_size, height)):
            fy = py + 0.5
            for px in range(x0, min(x0 + tile_size, width)):
                fx = px + 0.5
                T = 1.0
                a0 = 0.0
                a1 = 0.0
                a2 = 0.0
                a3 = 0.0
                visited = 0
                for k in range(cnt):
                    g = tile_gauss[start + k]
                    dx = feat[g, 0] - fx
                    dy = feat[g, 1] - fy
                    sigma = 0.5 * (feat[g, 2] * dx * dx + feat[g, 4] * dy * dy) + feat[g, 3] * dx * dy
                    if sigma < 0.0:
                        continue
                    alpha = min(ALPHA_MAX, feat[g, 5] * math.exp(-sigma))
                    if alpha < ALPHA_MIN:
                        continue
                    nxt = T * (1.0 - alpha)
                    if nxt <= T_MIN:
                        break
                    w = alpha * T
                    a0 += w * feat[g, 6]
                    a1 += w * feat[g, 7]
                    a2 += w * feat[g, 8]
                    a3 += w * feat[g, 9]
                    T = nxt
                    visited = k + 1
                out[img, py, px, 0] = a0
                out[img, py, px, 1] = a1
                out[img, py, px, 2] = a2
                out[img, py, px, 3] = a3
                out[img, py, px, 4] = 1.0 - T
                t_final[img, py, px] = T
                n_visit[img, py, px] = visited


@numba.njit(parallel=True, fastmath=False, cache=True, nogil=True)
def _backward(feat, tile_gauss, tile_start, tile_count, tiles_x, tiles_y, tile_size, width, height,
              t_final, n_visit, grad_out, grad_entry):  # pragma: no cover - compiled
    per_image = tiles_x * tiles_y
    n_tiles = tile_count.shape[0]
    for t in numba.prange(n_tiles):
        if tile_count[t] == 0:
            continue
        start = tile_start[t]
        img, x0, y0 = _tile_origin(t, per_image, tiles_x, tile_size)
        for py in range(y0, min(y0 + tile_size, height)):
            fy = py + 0.5
            for px in range(x0, min(x0 + tile_size, width)):
                n = n_visit[img, py, px]
                if n == 0:
                    continue
                fx = px + 0.5
                T_end = t_final[img, py, px]
                T = T_end
                G0 = grad_out[img, py, px, 0]
                G1 = grad_out[img, py, px, 1]
                G2 = grad_out[img, py, px, 2]
                G3 = grad_out[img, py, px, 3]
                GA = grad_out[img, py, px, 4]
                S0 = 0.0
                S1 = 0.0
                S2 = 0.0
                S3 = 0.0
                for k in range(n - 1, -1, -1):
                    e = start + k
                    g = tile_gauss[e]
                    dx = feat[g, 0] - fx
                    dy = feat[g, 1] - fy
                    ca = feat[g, 2]
                    cb = feat[g, 3]
                    cc = feat[g, 4]
                    sigma = 0.5 * (ca * dx * dx + cc * dy * dy) + cb * dx * dy
                    if sigma < 0.0:
                        continue
                    ex = math.exp(-sigma)
                    raw = feat[g, 5] * ex
                    alpha = min(ALPHA_MAX, raw)
                    if alpha < ALPHA_MIN:
                        continue
                    one_minus = 1.0 - alpha
                    T = T / one_minus  # transmittance before entry k
                    w = alpha * T
                    f0 = feat[g, 6]
                    f1 = feat[g, 7]
                    f2 = feat[g, 8]
                    f3 = feat[g, 9]
                    grad_entry[e, 6] += G0 * w
                    grad_entry[e, 7] += G1 * w
                    grad_entry[e, 8] += G2 * w
                    grad_entry[e, 9] += G3 * w
                    d_alpha = (G0 * (f0 * T - S0 / one_minus) + G1 * (f1 * T - S1 / one_minus)
                               + G2 * (f2 * T - S2 / one_minus) + G3 * (f3 * T - S3 / one_minus)
                               + GA * T_end / one_minus)
                    S0 += w * f0
                    S1 += w * f1
                    S2 += w * f2
                    S3 += w * f3
                    if raw > ALPHA_MAX:  # clamped: no gradient to opacity or shape
                        continue
                    grad_entry[e, 5] += d_alpha * ex
                    d_sigma = -d_alpha * alpha
                    grad_entry[e, 0] += d_sigma * (ca * dx + cb * dy)
                    grad_entry[e, 1] += d_sigma * (cc * dy + cb * dx)
                    grad_entry[e, 2] += d_sigma * 0.5 * dx * dx
                    grad_entry[e, 3] += d_sigma * dx * dy
                    grad_entry[e, 4] += d_sigma * 0.5 * dy * dy


class NumbaComposite(torch.autograd.Function):
    """feat [I*N, 10] (u, v, a, b, c, opacity, r, g, b, z) + tile lists -> image [I, H, W, 5] (Σ w r, Σ w g,
    Σ w b, Σ w z, alpha), differentiable with respect to ``feat``."""

    @staticmethod
    def forward(ctx, feat, tile_gauss, tile_start, tile_count, images, tiles_x, tiles_y, tile_size, width, height):
        f = feat.detach().contiguous().numpy()
        tg = tile_gauss.contiguous().numpy()
        ts = tile_start.contiguous().numpy()
        tc = tile_count.contiguous().numpy()
        out = np.zeros((images, height, width, 5), dtype=f.dtype)
        t_final = np.ones((images, height, width), dtype=f.dtype)
        n_visit = np.zeros((images, height, width), dtype=np.int64)
        _forward(f, tg, ts, tc, tiles_x, tiles_y, tile_size, width, height, out, t_final, n_visit)
        ctx.save_for_backward(feat, tile_gauss, tile_start, tile_count)
        ctx.arrays = (t_final, n_visit)
        ctx.dims = (tiles_x, tiles_y, tile_size, width, height)
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx, grad_img):
        feat, tile_gauss, tile_start, tile_count = ctx.saved_tensors
        t_final, n_visit = ctx.arrays
        tiles_x, tiles_y, tile_size, width, height = ctx.dims
        f = feat.detach().contiguous().numpy()
        grad_entry = np.zeros((tile_gauss.shape[0], 10), dtype=f.dtype)
        g = grad_img.detach().to(feat.dtype).contiguous().numpy()
        _backward(f, tile_gauss.contiguous().numpy(), tile_start.contiguous().numpy(),
                  tile_count.contiguous().numpy(), tiles_x, tiles_y, tile_size, width, height, t_final, n_visit,
                  g, grad_entry)
        grad_feat = torch.zeros_like(feat).index_add_(0, tile_gauss, torch.from_numpy(grad_entry))
        return grad_feat, None, None, None, None, None, None, None, None, None


def composite(feat: torch.Tensor, tile_gauss: torch.Tensor, tile_start: torch.Tensor, tile_count: torch.Tensor,
              images: int, tiles_x: int, tiles_y: int, tile_size: int, width: int, height: int) -> torch.Tensor:
    """Composite I images on the CPU: ``feat`` [I*N, 10] as in ``reference.rasterize``, tile lists from
    ``reference._intersect_tiles`` (flat Gaussian index per entry, start and count per tile, tile id =
    i*T + ty*tiles_x + tx). Returns [I, H, W, 5] = (Σ w r, Σ w g, Σ w b, Σ w z, alpha)."""
    return NumbaComposite.apply(feat, tile_gauss, tile_start, tile_count, images, tiles_x, tiles_y, tile_size,
                                width, height)
