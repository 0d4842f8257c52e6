"""Pure-torch, differentiable reference rasteriser for 3D Gaussians (CPU or GPU, any float dtype).

It reproduces the maths of gsplat 1.5.3's ``rasterization`` with ``rasterize_mode="classic"``, ``packed=False``,
``eps2d=0.3``, ``tile_size=16``, ``radius_clip=0`` and ``render_mode="RGB+ED"`` (the anchor of this project's
renderer; see docs/benchmarks.md for the measured parity). Written from the description of the algorithm, not
copied. Step by step, for every image i (camera i, and frame i when the Gaussians are batched):

Projection (``project``)
    * camera-space centre ``t = R mean + t_wc`` (``R``, ``t_wc`` from ``world_to_cam``), 3D covariance
      ``Σ = (Rq S)(Rq S)^T`` with ``Rq`` from the normalised quaternion (w, x, y, z) and ``S = diag(scales)``,
      rotated into the camera: ``Σc = R Σ R^T``.
    * culled (radius 0) when ``z < near`` or ``z > far``.
    * pinhole EWA: ``u = fx x/z + cx``, ``v = fy y/z + cy`` (unclamped), Jacobian
      ``J = [[fx/z, 0, -fx tx/z^2], [0, fy/z, -fy ty/z^2]]`` where ``tx/z`` and ``ty/z`` are ``x/z``, ``y/z``
      clamped to ``[-(cx/fx + 0.3 tan_fov_x), (W - cx)/fx + 0.3 tan_fov_x]`` with ``tan_fov_x = W / (2 fx)``
      (likewise in y); for a centred principal point that is 1.3 x the half-FOV tangent.
    * ``Σ2d = J Σc J^T + eps2d I`` (the 0.3 px low-pass); culled when ``det Σ2d <= 0``; ``conic = Σ2d^-1``.
    * opacity-aware extent: culled when ``opacity < 1/255``; else
      ``k = min(3.33, sqrt(2 ln(255 opacity)))`` and per-axis radii
      ``r_x = ceil(k sqrt(Σ2d_xx))``, ``r_y = ceil(k sqrt(Σ2d_yy))`` (integers, pixels). This is what gsplat
      1.5.x does (earlier versions used ceil(3 sqrt(λ_max))); it only decides which tiles a Gaussian may touch.
    * culled when the box ``[u ± r_x] x [v ± r_y]`` misses the image (``u + r_x <= 0``, ``u - r_x >= W``, ...).

Tiling (``_intersect_tiles``, no gradients)
    16 x 16 px tiles. A Gaussian is listed in tiles ``[floor((u - r_x)/16), ceil((u + r_x)/16))`` x (same in y),
    clamped to the tile grid. A Gaussian contributes to a pixel only if it is listed in that pixel's tile, exactly
    as in gsplat. Each tile's list is in increasing camera-space z (ties: Gaussian index).

Compositing (``_composite``), per pixel with centre ``p = (j + 0.5, i + 0.5)``, front to back over its tile list:
    ``d = mean2d - p``, ``σ = 0.5 (a dx^2 + c dy^2) + b dx dy`` with ``conic = [[a, b], [b, c]]``,
    ``α = min(0.999, opacity exp(-σ))``; a Gaussian is skipped when ``σ < 0`` or ``α < 1/255``. With ``T`` the
    transmittance so far (starting at 1), if ``T (1 - α) <= 1e-4`` the pixel stops *before* this Gaussian (it
    is not blended, gsplat's exclusive rule); else it adds ``α T`` times its colour and depth and
    ``T <- T (1 - α)``. Outputs: ``rgb = Σ w c + T_final bg``, ``alpha = 1 - T_final``, and expected depth
    ``Σ w z / max(alpha, 1e-10)`` (0 where nothing was hit).

Implementation: fully vectorised. The stopping rule is monotone in the list position, so it is evaluated
with a cumulative product over each tile's (padded) list; tiles are sorted by list length and processed in
padded batches of at most ``max_elements`` (pixel x Gaussian) entries, and very long lists are split into
segments that carry the transmittance forward, so memory is bounded by ``max_elements`` whatever the scene.
Autograd flows to means, quats, scales, opacities, colors, the background, and ``world_to_cam``/``K`` when
those require grad. Hard decisions (culling, tile lists, the 1/255 skip, the 0.999 clamp, the stopping rule)
have zero gradient, as in gsplat.

Measured (details and the gsplat parity table in docs/benchmarks.md). On the 2-core development CPU (torch 2.14,
float32, one camera, head-shell scenes of ``benchmarks/gpu_render_parity.py --scene random``; the machine was
shared with other jobs: ranges over repeated runs with 1-2 threads, single runs up to 2x slower under load):
    3,000 Gaussians at 128 x 128: forward 0.17-0.24 s, forward + backward 0.26-0.42 s.
    12,000 Gaussians at 256 x 256: forward 0.4-0.6 s, forward + backward 1.1-1.9 s.
    50,000 Gaussians at 512 x 512: forward ~3.5 s.
On one H100 (4 cameras at 512^2, 20,000 Gaussians): forward 43 ms, forward + backward 95 ms (gsplat: 1.3 / 2.7 ms).
Parity with gsplat 1.5.3 on that H100: mean abs image error ~5e-8, max ~3e-3 on isolated threshold pixels,
gradient relative error <= 1.3e-4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gasp_ops.optional_numba import numba_module
from gasp_ops.rotations import quaternion_to_matrix

TILE_SIZE = 16
EPS2D = 0.3
ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.999
T_MIN = 1e-4
EXTEND_MAX = 3.33
DEFAULT_MAX_ELEMENTS = 1 << 22  # pixel x Gaussian entries per processed batch (~16 MiB per float32 temporary)
DEFAULT_SEG_LEN = 128  # list entries per compositing step (early termination is checked between steps)


@dataclass
class Projected:
    """Screen-space Gaussians for I images of N Gaussians each.

    means2d: [I, N, 2] pixel coordinates (u, v); conics: [I, N, 3] (a, b, c) of the inverse 2D covariance;
    depths: [I, N] camera-space z; radii: [I, N, 2] int32 per-axis extents in pixels, 0 for culled Gaussians;
    opacities: [I, N]; colors: [I, N, 3].
    """

    means2d: torch.Tensor
    conics: torch.Tensor
    depths: torch.Tensor
    radii: torch.Tensor
    opacities: torch.Tensor
    colors: torch.Tensor


def project(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    opacities: torch.Tensor,
    colors: torch.Tensor,
    world_to_cam: torch.Tensor,
    K: torch.Tensor,
    width: int,
    height: int,
    near: float = 0.01,
    far: float = 1e10,
    eps2d: float = EPS2D,
) -> Projected:
    """EWA-project Gaussians into I images.

    means [G, N, 3], quats [G, N, 4] (w, x, y, z), scales [G, N, 3], opacities [G, N], colors [G, N, 3] with
    G = 1 (the same Gaussians for every image) or G = I (Gaussians of image i in row i); world_to_cam [I, 4, 4]
    (OpenCV), K [I, 3, 3]. Returns a ``Projected`` with I rows.
    """
    I = world_to_cam.shape[0]
    N = means.shape[-2]
    R = world_to_cam[:, None, :3, :3]  # [I, 1, 3, 3]
    t = world_to_cam[:, None, :3, 3]  # [I, 1, 3]
    mean_c = (R @ means[..., None])[..., 0] + t  # [I, N, 3]
    rot = quaternion_to_matrix(quats)  # [G, N, 3, 3]
    M = rot * scales[..., None, :]  # Rq S
    cov = M @ M.transpose(-1, -2)  # [G, N, 3, 3]
    cov_c = R @ cov @ R.transpose(-1, -2)  # [I, N, 3, 3]

    fx = K[:, 0, 0][:, None]
    fy = K[:, 1, 1][:, None]
    cx = K[:, 0, 2][:, None]
    cy = K[:, 1, 2][:, None]
    x, y, z = mean_c.unbind(-1)
    valid = (z >= near) & (z <= far)
    z_safe = torch.where(valid, z, torch.ones_like(z))  # keeps culled entries finite (and their gradient zero)
    rz = 1.0 / z_safe
    tan_fovx = 0.5 * width / fx
    tan_fovy = 0.5 * height / fy
    lim_x_pos = (width - cx) / fx + 0.3 * tan_fovx
    lim_x_neg = cx / fx + 0.3 * tan_fovx
    lim_y_pos = (height - cy) / fy + 0.3 * tan_fovy
    lim_y_neg = cy / fy + 0.3 * tan_fovy
    tx = z_safe * torch.minimum(lim_x_pos, torch.maximum(-lim_x_neg, x * rz))
    ty = z_safe * torch.minimum(lim_y_pos, torch.maximum(-lim_y_neg, y * rz))
    zero = torch.zeros_like(x)
    J = torch.stack(
        [fx * rz, zero, -fx * tx * rz * rz, zero, fy * rz, -fy * ty * rz * rz], dim=-1
    ).reshape(I, N, 2, 3)
    cov2d = J @ cov_c @ J.transpose(-1, -2)  # [I, N, 2, 2]
    a = cov2d[..., 0, 0] + eps2d
    b = cov2d[..., 0, 1]
    c = cov2d[..., 1, 1] + eps2d
    det = a * c - b * b
    valid = valid & (det > 0)
    det_safe = torch.where(valid, det, torch.ones_like(det))
    conics = torch.stack([c / det_safe, -b / det_safe, a / det_safe], dim=-1)
    means2d = torch.stack([fx * x * rz + cx, fy * y * rz + cy], dim=-1)

    op = opacities.expand(I, N)
    with torch.no_grad():
        op_d = op.detach()
        valid = valid & (op_d >= ALPHA_MIN)
        extend = torch.sqrt(2.0 * torch.log(op_d.clamp_min(ALPHA_MIN) / ALPHA_MIN)).clamp(max=EXTEND_MAX)
        rx = torch.ceil(extend * torch.sqrt(a.detach().clamp_min(0)))
        ry = torch.ceil(extend * torch.sqrt(c.detach().clamp_min(0)))
        valid = valid & ((rx > 0) | (ry > 0))  # radius_clip = 0
        u, v = means2d.detach().unbind(-1)
        valid = valid & (u + rx > 0) & (u - rx < width) & (v + ry > 0) & (v - ry < height)
        radii = (torch.stack([rx, ry], dim=-1) * valid[..., None]).to(torch.int32)
    return Projected(means2d, conics, z, radii, op, colors.expand(I, N, 3))


def _intersect_tiles(proj: Projected, width: int, height: int, tile_size: int):
    """Per-tile, depth-sorted Gaussian lists (no gradients).

    Returns (tile_gauss [n_isect] flat Gaussian index i*N + n, tile_start [I*T], tile_count [I*T], tiles_x,
    tiles_y) with T = tiles_x * tiles_y tiles per image, tile id = i*T + ty*tiles_x + tx.
    """
    I, N = proj.depths.shape
    tiles_x = math.ceil(width / tile_size)
    tiles_y = math.ceil(height / tile_size)
    device = proj.depths.device
    with torch.no_grad():
        radii = proj.radii
        valid = (radii > 0).all(-1)
        m = proj.means2d.detach()
        ts = float(tile_size)
        gx, gy = m[..., 0] / ts, m[..., 1] / ts
        rx, ry = radii[..., 0].to(m.dtype) / ts, radii[..., 1].to(m.dtype) / ts
        x0 = torch.floor(gx - rx).clamp(0, tiles_x).long()
        x1 = torch.ceil(gx + rx).clamp(0, tiles_x).long()
        y0 = torch.floor(gy - ry).clamp(0, tiles_y).long()
        y1 = torch.ceil(gy + ry).clamp(0, tiles_y).long()
        wx = x1 - x0
        counts = torch.where(valid, wx * (y1 - y0), torch.zeros_like(wx))

        # Gaussians in (image, depth) order; ties keep the index order (stable sort).
        order = torch.sort(proj.depths.detach(), dim=1, stable=True).indices  # [I, N]
        flat = (order + torch.arange(I, device=device)[:, None] * N).reshape(-1)
        cnt = counts.reshape(-1)[flat]
        total = int(cnt.sum())
        gid = torch.repeat_interleave(flat, cnt, output_size=total)
        start = torch.cumsum(cnt, 0) - cnt
        local = torch.arange(total, device=device) - torch.repeat_interleave(start, cnt, output_size=total)
        w = wx.reshape(-1)[gid]
        tx = x0.reshape(-1)[gid] + local % w
        ty = y0.reshape(-1)[gid] + torch.div(local, w, rounding_mode="floor")
        tile = torch.div(gid, N, rounding_mode="floor") * (tiles_x * tiles_y) + ty * tiles_x + tx
        tile_sorted, perm = torch.sort(tile, stable=True)
        tile_gauss = gid[perm]
        tile_count = torch.bincount(tile_sorted, minlength=I * tiles_x * tiles_y)
        tile_start = torch.cumsum(tile_count, 0) - tile_count
    return tile_gauss, tile_start, tile_count, tiles_x, tiles_y


def _composite(feat, px, py, T_in, done_in):
    """Blend one padded batch of tile lists front to back.

    feat: [Tc, L, 10] per listed Gaussian, laid out (u, v, a, b, c, opacity, r, g, b, z), padding rows have
    opacity 0; px, py: [Tc, P] pixel centres;
    T_in: [Tc, P] transmittance before this batch; done_in: [Tc, P] bool, pixels already stopped by the cut-off.
    Returns (acc [Tc, P, 4] = Σ w (r, g, b, z), wsum [Tc, P], done_out [Tc, P]).
    """
    u, v, op = feat[..., 0][:, None, :], feat[..., 1][:, None, :], feat[..., 5][:, None, :]  # [Tc, 1, L]
    nha, ncb, nhc = (-0.5 * feat[..., 2])[:, None, :], (-feat[..., 3])[:, None, :], (-0.5 * feat[..., 4])[:, None, :]
    dx = u - px[..., None]
    dy = v - py[..., None]
    # -sigma = -(0.5 (a dx^2 + c dy^2) + b dx dy), in 7 full-size operations
    neg_sigma = dx * (nha * dx + ncb * dy) + nhc * dy * dy  # [Tc, P, L]
    alpha = torch.clamp(op * torch.exp(neg_sigma), max=ALPHA_MAX)
    with torch.no_grad():
        skip = (neg_sigma > 0) | (alpha < ALPHA_MIN)
    alpha = alpha.masked_fill(skip, 0.0)  # skipped entries change nothing
    cp = torch.cumprod(1.0 - alpha, dim=-1)  # transmittance after each entry, relative to T_in
    with torch.no_grad():
        t_after = T_in[..., None] * cp
        # The stop condition is monotone along the list (t_after never increases), so the entries before the
        # first stop form a prefix, for which cp is exactly the sequential transmittance; a pixel stopped in an
        # earlier segment takes nothing more.
        stop = t_after <= T_MIN
        use = ~(skip | stop | done_in[..., None])
        done_out = done_in | (stop & ~skip).any(-1)
    t_before = T_in[..., None] * torch.cat([torch.ones_like(cp[..., :1]), cp[..., :-1]], dim=-1)
    w = (alpha * use) * t_before  # [Tc, P, L]
    acc = torch.bmm(w, feat[..., 6:10])  # [Tc, P, 4]
    return acc, w.sum(-1), done_out


def rasterize(
    proj: Projected,
    width: int,
    height: int,
    background: torch.Tensor | None = None,
    *,
    tile_size: int = TILE_SIZE,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    seg_len: int = DEFAULT_SEG_LEN,
    compositor: str = "auto",
):
    """Composite projected Gaussians into I images.

    compositor: "auto" (the numba kernels of ``gasp_ops.render.numba_composite`` on the CPU when numba imports and
    ``GASP_NO_NUMBA`` is unset, else torch), "torch" (the vectorised torch path below, any device) or "numba".
    Both give the same images and gradients up to float round-off.

    Returns (rgb [I, H, W, 3], alpha [I, H, W, 1], depth [I, H, W, 1] expected z). ``background`` None or [3]
    (or [I, 3]). ``max_elements`` bounds the pixel x Gaussian entries handled at once and ``seg_len`` the list
    entries per step (after each step, tiles whose pixels all hit the transmittance cut-off stop); both are
    speed/memory knobs only: the result does not depend on them.
    """
    I, N = proj.depths.shape
    dtype, device = proj.means2d.dtype, proj.means2d.device
    tile_gauss, tile_start, tile_count, tiles_x, tiles_y = _intersect_tiles(proj, width, height, tile_size)
    P = tile_size * tile_size
    n_tiles = I * tiles_x * tiles_y

    feat = torch.cat(
        [proj.means2d, proj.conics, proj.opacities[..., None], proj.colors, proj.depths[..., None]], dim=-1
    ).reshape(I * N, 10)
    kernel = numba_compositor() if compositor != "torch" and device.type == "cpu" else None
    if compositor == "numba" and kernel is None:
        raise RuntimeError("compositor='numba' needs numba and CPU tensors (and GASP_NO_NUMBA unset)")
    if kernel is not None:
        img = kernel.composite(feat, tile_gauss, tile_start, tile_count, I, tiles_x, tiles_y, tile_size, width,
                               height)
        return _finish(img, background, dtype)
    # Feature table [I*N + 1, 10]; the last row is a dummy (opacity 0) used for padding.
    feat = torch.cat([feat, torch.zeros_like(feat[:1])], dim=0)
    dummy = I * N

    iy, ix = torch.meshgrid(torch.arange(tile_size, device=device), torch.arange(tile_size, device=device), indexing="ij")
    iy, ix = iy.reshape(-1).to(dtype), ix.reshape(-1).to(dtype)

    counts_cpu = tile_count.cpu()
    busy = torch.nonzero(counts_cpu > 0)[:, 0]
    busy = busy[torch.argsort(counts_cpu[busy], descending=True, stable=True)]
    seg_cap = max(1, min(seg_len, max_elements // P))

    out_ids, out_vals = [], []
    pos = 0
    n_busy = busy.numel()
    last = max(tile_gauss.numel() - 1, 0)
    while pos < n_busy:
        L = int(counts_cpu[busy[pos]])  # longest list of this batch (tiles are sorted by length)
        seg = min(L, seg_cap)
        tc = max(1, max_elements // (P * seg))
        tiles = busy[pos : pos + tc].to(device)
        pos += tc
        local_tile = tiles % (tiles_x * tiles_y)
        px = (local_tile % tiles_x * tile_size)[:, None].to(dtype) + ix + 0.5  # [Tc, P]
        py = (torch.div(local_tile, tiles_x, rounding_mode="floor") * tile_size)[:, None].to(dtype) + iy + 0.5
        starts, cnts = tile_start[tiles], tile_count[tiles]
        T = torch.ones(tiles.numel(), P, dtype=dtype, device=device)
        acc = torch.zeros(tiles.numel(), P, 4, dtype=dtype, device=device)
        done = torch.zeros(tiles.numel(), P, dtype=torch.bool, device=device)
        rows = None  # None: every tile of the batch is still running
        for s in range(0, L, seg):
            if s > 0:  # early termination: drop tiles whose list ended or whose pixels all hit the cut-off
                alive = (cnts > s) & ~done.all(-1)
                if rows is not None:
                    alive = alive[rows]
                if not bool(alive.all()):
                    rows = (torch.arange(tiles.numel(), device=device) if rows is None else rows)[alive]
                    if rows.numel() == 0:
                        break
            sel = (lambda t: t) if rows is None else (lambda t: t[rows])  # noqa: E731
            k = s + torch.arange(min(seg, L - s), device=device)
            inside = k[None, :] < sel(cnts)[:, None]
            idx = torch.where(inside, tile_gauss[(sel(starts)[:, None] + k).clamp(max=last)], dummy)
            a, wsum, d = _composite(feat[idx], sel(px), sel(py), sel(T), sel(done))
            if rows is None:
                acc, T, done = acc + a, T - wsum, d
            else:
                acc = acc.index_add(0, rows, a)
                T = T.index_add(0, rows, -wsum)
                done = done.index_copy(0, rows, d)
        out_ids.append(tiles)
        out_vals.append(torch.cat([acc, (1.0 - T)[..., None]], dim=-1))

    tiles_out = torch.zeros(n_tiles, P, 5, dtype=dtype, device=device)
    if out_ids:
        tiles_out = tiles_out.index_copy(0, torch.cat(out_ids), torch.cat(out_vals))
    img = (
        tiles_out.reshape(I, tiles_y, tiles_x, tile_size, tile_size, 5)
        .permute(0, 1, 3, 2, 4, 5)
        .reshape(I, tiles_y * tile_size, tiles_x * tile_size, 5)[:, :height, :width]
    )
    return _finish(img, background, dtype)


def _finish(img: torch.Tensor, background, dtype):
    """[I, H, W, 5] (Σ w rgb, Σ w z, alpha) -> (rgb over the background, alpha, expected depth)."""
    rgb, depth_acc, alpha = img[..., 0:3], img[..., 3:4], img[..., 4:5]
    if background is not None:
        bg = background.to(dtype).reshape(-1, 1, 1, 3) if background.ndim == 2 else background.to(dtype)
        rgb = rgb + (1.0 - alpha) * bg
    depth = depth_acc / alpha.clamp_min(1e-10)
    return rgb, alpha, depth


def numba_compositor():
    """``gasp_ops.render.numba_composite``, or None when numba is missing or ``GASP_NO_NUMBA=1`` (torch path)."""
    return numba_module("gasp_ops.render.numba_composite")


def render_reference(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    opacities: torch.Tensor,
    colors: torch.Tensor,
    world_to_cam: torch.Tensor,
    K: torch.Tensor,
    width: int,
    height: int,
    background: torch.Tensor | None = None,
    near: float = 0.01,
    far: float = 1e10,
    *,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    seg_len: int = DEFAULT_SEG_LEN,
    compositor: str = "auto",
):
    """Project + rasterise. Gaussian fields [G, N, ...] with G = 1 or I; cameras [I, ...].

    Returns (rgb [I, H, W, 3], alpha [I, H, W, 1], depth [I, H, W, 1]). Camera tensors are cast to the Gaussians'
    dtype. Inputs are assumed valid (``gasp_ops.render.render`` validates them).
    """
    dtype = means.dtype
    proj = project(
        means, quats, scales, opacities, colors, world_to_cam.to(dtype), K.to(dtype), width, height, near, far
    )
    return rasterize(proj, width, height, background, max_elements=max_elements, seg_len=seg_len,
                     compositor=compositor)
