"""CPU posing kernel for ``FastPoser``: one fused, multi-threaded numba loop (GASP §6.6).

The maths is ``gasp_ops.avatar.pose`` (Qian et al. triangle frames, ``gasp_ops.binding.triangle_frames``). Gaussians
are sorted by face (``FastPoser.order``), so the kernel walks the used faces in parallel (``prange``); for each face it

1. builds the frame once: e1 = v1 - v0, e2 = v2 - v0, a0 = e1/|e1|, a2 = (e1 x e2)/|e1 x e2|, a1 = a2 x a0,
   k = (|e1| + |e1 x e2|/|e1|)/2, the quaternion q_f of R = [a0 a1 a2] (w >= 0, like ``matrix_to_quaternion``),
   computed in float64 (18k faces: negligible cost, no cancellation in the frame);
2. poses the face's Gaussians (float32, contiguous in memory; scalar code: ~10 Gaussians per face is too short a
   loop for SIMD to pay):
       mean  = v0 + b1 e1 + b2 e2 + (k R) offset          (b0 + b1 + b2 = 1)
       quat  = q_f (x) q_local                             (q_local normalised once at construction)
       scale = k exp(log_scale)                            (exp precomputed at construction)

Outputs are written into caller-provided float32 arrays. ``fastmath=False`` keeps IEEE semantics; ``cache=True``
stores the compiled kernel next to this file (or in ``NUMBA_CACHE_DIR``) so later processes skip the compile.

Threads: ``set_threads`` (numba's default is every core). numba's OpenMP layer ends up calling the libgomp that torch
loaded, so torch's OpenMP settings apply: on a machine shared with other jobs, run with ``OMP_WAIT_POLICY=PASSIVE``
in the environment before torch is imported (spinning idle workers steal the time slices the others need; 2 threads
measured 8.0 ms per pose with the default policy vs ~3.3 ms passive), or use 1 thread.

Importing this module imports numba; ``gasp_ops.runtime.posing`` does that lazily and falls back to torch when numba
is missing (or ``GASP_NO_NUMBA=1``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

_EPS = 1e-12


@numba.njit(fastmath=False, cache=True, nogil=True, inline="always")
def _face_frame(verts, b, i0, i1, i2):
    """Frame of triangle (i0, i1, i2) of mesh b in float64: (v0 xyz, e1 xyz, e2 xyz, k R row-major (9), q_f wxyz, k)."""
    x0 = np.float64(verts[b, i0, 0])
    y0 = np.float64(verts[b, i0, 1])
    z0 = np.float64(verts[b, i0, 2])
    e1x = np.float64(verts[b, i1, 0]) - x0
    e1y = np.float64(verts[b, i1, 1]) - y0
    e1z = np.float64(verts[b, i1, 2]) - z0
    e2x = np.float64(verts[b, i2, 0]) - x0
    e2y = np.float64(verts[b, i2, 1]) - y0
    e2z = np.float64(verts[b, i2, 2]) - z0
    l1 = max(math.sqrt(e1x * e1x + e1y * e1y + e1z * e1z), _EPS)
    il1 = 1.0 / l1
    a0x, a0y, a0z = e1x * il1, e1y * il1, e1z * il1
    nx = e1y * e2z - e1z * e2y
    ny = e1z * e2x - e1x * e2z
    nz = e1x * e2y - e1y * e2x
    dbl = max(math.sqrt(nx * nx + ny * ny + nz * nz), _EPS)  # twice the area
    idb = 1.0 / dbl
    a2x, a2y, a2z = nx * idb, ny * idb, nz * idb
    a1x = a2y * a0z - a2z * a0y
    a1y = a2z * a0x - a2x * a0z
    a1z = a2x * a0y - a2y * a0x
    k = 0.5 * (l1 + dbl * il1)  # mean of edge length and height
    # quaternion of R (columns a0 a1 a2, so m_rc = a_c[r]); Shepperd: the best-conditioned of four candidates,
    # each 2 r q with r = sqrt(t) (the common factor cancels in the normalisation)
    m00, m01, m02 = a0x, a1x, a2x
    m10, m11, m12 = a0y, a1y, a2y
    m20, m21, m22 = a0z, a1z, a2z
    t0 = 1.0 + m00 + m11 + m22
    t1 = 1.0 + m00 - m11 - m22
    t2 = 1.0 - m00 + m11 - m22
    t3 = 1.0 - m00 - m11 + m22
    if t0 >= t1 and t0 >= t2 and t0 >= t3:
        qw, qx, qy, qz = t0, m21 - m12, m02 - m20, m10 - m01
    elif t1 >= t2 and t1 >= t3:
        qw, qx, qy, qz = m21 - m12, t1, m01 + m10, m02 + m20
    elif t2 >= t3:
        qw, qx, qy, qz = m02 - m20, m01 + m10, t2, m12 + m21
    else:
        qw, qx, qy, qz = m10 - m01, m02 + m20, m12 + m21, t3
    qn = 1.0 / max(math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz), _EPS)
    if qw < 0.0:  # w >= 0, like matrix_to_quaternion
        qn = -qn
    return (x0, y0, z0, e1x, e1y, e1z, e2x, e2y, e2z, k * m00, k * m01, k * m02, k * m10, k * m11, k * m12,
            k * m20, k * m21, k * m22, qw * qn, qx * qn, qy * qn, qz * qn, k)


@numba.njit(parallel=True, fastmath=False, cache=True, nogil=True)
def pose_kernel(verts, faces_used, starts, bary12, offsets, qlocal, exp_scales, out_means, out_quats, out_scales):
    """verts [B, V, 3] f32; faces_used [Fu, 3] i64; starts [Fu + 1] i64 (the Gaussians of used face j are
    starts[j]:starts[j+1], N = starts[Fu]). Per-Gaussian inputs, flat C-order float32: bary12 [N * 2] (b1, b2),
    offsets [N * 3], qlocal [N * 4] (unit, wxyz), exp_scales [N * 3]. Outputs, flat float32, written in place:
    out_means [B * N * 3], out_quats [B * N * 4], out_scales [B * N * 3]."""
    B = verts.shape[0]
    Fu = faces_used.shape[0]
    N = starts[Fu]
    for t in numba.prange(B * Fu):
        b = t // Fu
        j = t - b * Fu
        T = _face_frame(verts, b, faces_used[j, 0], faces_used[j, 1], faces_used[j, 2])
        fx, fy, fz = np.float32(T[0]), np.float32(T[1]), np.float32(T[2])
        f1x, f1y, f1z = np.float32(T[3]), np.float32(T[4]), np.float32(T[5])
        f2x, f2y, f2z = np.float32(T[6]), np.float32(T[7]), np.float32(T[8])
        r00, r01, r02 = np.float32(T[9]), np.float32(T[10]), np.float32(T[11])
        r10, r11, r12 = np.float32(T[12]), np.float32(T[13]), np.float32(T[14])
        r20, r21, r22 = np.float32(T[15]), np.float32(T[16]), np.float32(T[17])
        pw, px, py, pz = np.float32(T[18]), np.float32(T[19]), np.float32(T[20]), np.float32(T[21])
        kf = np.float32(T[22])
        s0 = starts[j]
        n = starts[j + 1] - s0
        # contiguous views of this face's Gaussians (sorted by face): local indices start at 0
        ba = bary12[2 * s0:2 * (s0 + n)]
        of = offsets[3 * s0:3 * (s0 + n)]
        ql = qlocal[4 * s0:4 * (s0 + n)]
        es = exp_scales[3 * s0:3 * (s0 + n)]
        g0 = b * N + s0
        om = out_means[3 * g0:3 * (g0 + n)]
        oq = out_quats[4 * g0:4 * (g0 + n)]
        osc = out_scales[3 * g0:3 * (g0 + n)]
        for i in range(n):
            i2, i3, i4 = 2 * i, 3 * i, 4 * i
            c1, c2 = ba[i2], ba[i2 + 1]
            ox, oy, oz = of[i3], of[i3 + 1], of[i3 + 2]
            om[i3] = fx + c1 * f1x + c2 * f2x + r00 * ox + r01 * oy + r02 * oz
            om[i3 + 1] = fy + c1 * f1y + c2 * f2y + r10 * ox + r11 * oy + r12 * oz
            om[i3 + 2] = fz + c1 * f1z + c2 * f2z + r20 * ox + r21 * oy + r22 * oz
            lw, lx, ly, lz = ql[i4], ql[i4 + 1], ql[i4 + 2], ql[i4 + 3]
            oq[i4] = pw * lw - px * lx - py * ly - pz * lz
            oq[i4 + 1] = pw * lx + px * lw + py * lz - pz * ly
            oq[i4 + 2] = pw * ly - px * lz + py * lw + pz * lx
            oq[i4 + 3] = pw * lz + px * ly - py * lx + pz * lw
            osc[i3] = kf * es[i3]
            osc[i3 + 1] = kf * es[i3 + 1]
            osc[i3 + 2] = kf * es[i3 + 2]


def set_threads(n: int | None = None) -> int:
    """Numba worker threads for the kernel (None = all cores numba sees); returns the number in use."""
    numba.set_num_threads(int(n) if n else numba.config.NUMBA_NUM_THREADS)
    return numba.get_num_threads()


def get_threads() -> int:
    return numba.get_num_threads()


def compile_kernel() -> None:
    """Compile (or load from the cache) the float32 signature with a one-face dummy call."""
    f32 = np.float32
    pose_kernel(np.eye(3, dtype=f32)[None], np.array([[0, 1, 2]], np.int64), np.array([0, 1], np.int64),
                np.zeros(2, f32), np.zeros(3, f32), np.array([1, 0, 0, 0], f32), np.ones(3, f32),
                np.empty(3, f32), np.empty(4, f32), np.empty(3, f32))
