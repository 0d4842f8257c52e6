"""Posing mesh-bound Gaussians with everything static precomputed (GASP §3.2, §6.6).

Two paths compute the same world Gaussians as ``gasp_ops.avatar.pose`` (Qian et al. triangle frames):

* ``PosingPlan.pose`` - differentiable, attributes batched or not (used by fitting).
* ``FastPoser`` - inference only (no autograd), for one fixed avatar. Everything that does not depend on the mesh
  is folded into per-Gaussian constants once:

      mean_i  = v0_f + b1_i e1_f + b2_i e2_f + (k_f a0_f) o_ix + (k_f a1_f) o_iy + (k_f a2_f) o_iz
              = c_i . P_f,    c_i = [1, b1_i, b2_i, o_ix, o_iy, o_iz] (static),  P_f [6, 3] (per face, per frame)
      quat_i  = q_f (x) q_i = Q_i q_f,  Q_i [4, 4] the right-multiplication matrix of the local rotation (static)
      scale_i = k_f exp(s_i)             (exp precomputed)

  (b0 + b1 + b2 = 1, so the barycentric origin is v0 + b1 e1 + b2 e2.) Per frame only the faces that carry
  Gaussians are processed (frames, one 3x3->quaternion per *face*), packed into one [F_used, 23] table, gathered
  once per Gaussian and contracted with the constants - no per-Gaussian quaternion maths, float32 throughout.
  Opacities and colours do not depend on the pose and are returned as the same precomputed tensors.

  On the CPU in float32, when numba is installed, ``FastPoser`` runs the fused multi-threaded kernel of
  ``gasp_ops.runtime.numba_posing`` instead (same maths: one frame + quaternion per face, then one pass over the
  face's Gaussians). Without numba (or with ``GASP_NO_NUMBA=1``, on CUDA, or for float64) it uses the torch path
  above; ``FastPoser(..., backend="torch")`` forces it.
"""

from __future__ import annotations

import numpy as np
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.optional_numba import numba_module
from gasp_ops.render.gaussians import Gaussians3D
from gasp_ops.rotations import matrix_to_quaternion, quaternion_multiply


def _face_frames(vertices: torch.Tensor, faces: torch.Tensor, eps: float = 1e-12):
    """vertices [B, V, 3], faces [F, 3] -> (v0 [B,F,3], e1, e2, axes [B,F,3,3] (columns a0 a1 a2), k [B,F])."""
    tri = vertices[:, faces]
    v0, v1, v2 = tri.unbind(-2)
    e1, e2 = v1 - v0, v2 - v0
    e1_len = e1.norm(dim=-1).clamp_min(eps)
    a0 = e1 / e1_len[..., None]
    n = torch.linalg.cross(e1, e2, dim=-1)
    dbl = n.norm(dim=-1).clamp_min(eps)
    a2 = n / dbl[..., None]
    a1 = torch.linalg.cross(a2, a0, dim=-1)
    k = 0.5 * (e1_len + dbl / e1_len)
    return v0, e1, e2, torch.stack([a0, a1, a2], dim=-1), k


class PosingPlan:
    """Static binding data: faces [F, 3], face_ids [N], barycentrics [N, 3] -> used faces and per-Gaussian index.

    ``used`` [F_used] are the faces that carry Gaussians, ``inverse`` [N] indexes them per Gaussian.
    """

    def __init__(self, faces: torch.Tensor, face_ids: torch.Tensor, barycentrics: torch.Tensor):
        used, inverse = torch.unique(face_ids, return_inverse=True)
        self.faces_used = faces[used].long().contiguous()
        self.inverse = inverse.long().contiguous()
        self.barycentrics = barycentrics.float().contiguous()

    def to(self, device) -> "PosingPlan":
        out = object.__new__(PosingPlan)
        out.faces_used, out.inverse, out.barycentrics = (self.faces_used.to(device), self.inverse.to(device),
                                                         self.barycentrics.to(device))
        return out

    def pose(self, attributes: dict[str, torch.Tensor], vertices: torch.Tensor) -> Gaussians3D:
        """World Gaussians [B, N, ...] for local attributes (each [N, ...] shared, or [B, N, ...] per frame) and
        posed meshes vertices [B, V, 3]. Differentiable in attributes and vertices."""
        v0, e1, e2, R, k = _face_frames(vertices, self.faces_used)
        inv = self.inverse
        b = self.barycentrics.to(vertices.dtype)
        origin = v0[:, inv] + b[None, :, 1:2] * e1[:, inv] + b[None, :, 2:3] * e2[:, inv]
        Rg, kg = R[:, inv], k[:, inv]
        B, N = vertices.shape[0], inv.shape[0]

        def per_frame(name: str, unbatched_ndim: int) -> torch.Tensor:
            x = attributes[name]
            return x[None].expand(B, *x.shape) if x.ndim == unbatched_ndim else x

        off, q, s = per_frame("offsets", 2), per_frame("quats", 2), per_frame("log_scales", 2)
        c, o = per_frame("colors", 2), per_frame("opacity_logits", 1)
        dt = vertices.dtype
        means = origin + kg[..., None] * (Rg @ off.to(dt)[..., None])[..., 0]
        qf = matrix_to_quaternion(R)[:, inv]
        quats = quaternion_multiply(qf, q.to(dt))
        scales = kg[..., None] * torch.exp(s.to(dt))
        return Gaussians3D(means=means, quats=quats, scales=scales, opacities=torch.sigmoid(o.to(dt)),
                           colors=c.to(dt).clamp(0.0, 1.0))


def numba_backend():
    """The numba kernel module, or None when numba is not installed or ``GASP_NO_NUMBA=1`` (torch fallback)."""
    return numba_module("gasp_ops.runtime.numba_posing")


def _right_matrix(q: torch.Tensor) -> torch.Tensor:
    """Q [N, 4, 4] with Q @ p = p (x) q for quaternions q [N, 4] (w, x, y, z)."""
    w, x, y, z = q.unbind(-1)
    return torch.stack([
        torch.stack([w, -x, -y, -z], -1),
        torch.stack([x, w, z, -y], -1),
        torch.stack([y, -z, w, x], -1),
        torch.stack([z, y, -x, w], -1),
    ], dim=-2)


class FastPoser:
    """Inference-only posing of one avatar: ``poser(vertices [V, 3] or [B, V, 3]) -> Gaussians3D``.

    avatar: a ``GaussianAvatar``. dtype float32. All static work (face subset, Gaussians sorted by face, barycentric
    constants, normalised local rotations, exp of scales, sigmoid of opacities, clamped colours) is done here once;
    see the module docstring for the per-frame maths. Output quaternions are normalised; outputs follow
    ``order`` (the avatar's Gaussians sorted by face).

    backend: "auto" (numba kernel on the CPU in float32 when numba is importable, else torch), "numba" (required;
    error when not possible) or "torch". ``backend_used`` tells which one runs. reuse_outputs: numba path only;
    write every pose into the same preallocated arrays (saves the allocation, but the tensors returned by one call
    are overwritten by the next: only for callers that consume each pose before posing again).
    """

    def __init__(self, avatar, device=None, dtype: torch.dtype = torch.float32, backend: str = "auto",
                 reuse_outputs: bool = False):
        if backend not in ("auto", "numba", "torch"):
            raise ValueError(f"backend must be 'auto', 'numba' or 'torch', got {backend!r}")
        device = torch.device(device) if device is not None else avatar.offsets.device
        a = avatar.to(device)
        order = torch.argsort(a.face_ids, stable=True)  # Gaussians of a face together: contiguous gathers
        self.order = order
        used, inverse = torch.unique(a.face_ids[order], return_inverse=True)
        self.faces_used = a.faces[used].long().contiguous()
        self.inverse = inverse.long().contiguous()
        self.dtype = dtype
        b = a.barycentrics[order].to(dtype)
        off = a.offsets[order].to(dtype)
        q = a.quats[order].to(dtype)
        q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        self.exp_scales = torch.exp(a.log_scales[order].to(dtype)).contiguous()
        self.opacities = torch.sigmoid(a.opacity_logits[order].to(dtype)).contiguous()
        self.colors = a.colors[order].to(dtype).clamp(0.0, 1.0).contiguous()
        nb = numba_backend() if backend != "torch" else None
        fits = device.type == "cpu" and dtype == torch.float32
        if backend == "numba" and (nb is None or not fits):
            raise RuntimeError("FastPoser backend='numba' needs numba installed (and GASP_NO_NUMBA unset), "
                               "a CPU device and float32")
        self.backend_used = "numba" if nb is not None and fits else "torch"
        self.reuse_outputs = bool(reuse_outputs)
        self._buffers: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        if self.backend_used == "numba":
            self._kernel = nb.pose_kernel
            self._min_vertices = int(self.faces_used.max()) + 1 if self.faces_used.numel() else 0
            counts = torch.bincount(self.inverse, minlength=self.faces_used.shape[0])
            starts = torch.zeros(counts.numel() + 1, dtype=torch.int64)
            starts[1:] = torch.cumsum(counts, 0)
            flat = lambda x: x.contiguous().reshape(-1).numpy()  # noqa: E731
            self._np = (self.faces_used.numpy(), starts.numpy(), flat(b[:, 1:3]), flat(off), flat(q),
                        flat(self.exp_scales))
        else:
            n = order.numel()
            self.coeffs = torch.cat([torch.ones(n, 1, dtype=dtype, device=device), b[:, 1:3], off], dim=1).contiguous()
            self.qmat = _right_matrix(q).contiguous()  # [N, 4, 4]

    @property
    def count(self) -> int:
        return int(self.inverse.shape[0])

    def face_table(self, vertices: torch.Tensor) -> torch.Tensor:
        """Per-face packed table [B, F_used, 23]: P (6 x 3 = v0, e1, e2, k a0, k a1, k a2), q_f (4), k (1)."""
        v0, e1, e2, R, k = _face_frames(vertices, self.faces_used)
        kR = R * k[..., None, None]
        q = matrix_to_quaternion(R)
        return torch.cat([v0, e1, e2, kR[..., 0], kR[..., 1], kR[..., 2], q, k[..., None]], dim=-1)

    def _outputs(self, B: int):
        if self.reuse_outputs and B in self._buffers:
            return self._buffers[B]
        N = self.count
        out = (np.empty(B * N * 3, np.float32), np.empty(B * N * 4, np.float32), np.empty(B * N * 3, np.float32))
        if self.reuse_outputs:
            self._buffers[B] = out
        return out

    @torch.no_grad()
    def __call__(self, vertices: torch.Tensor) -> Gaussians3D:
        """vertices [V, 3] -> unbatched Gaussians [N, ...]; [B, V, 3] -> batched [B, N, ...]."""
        single = vertices.ndim == 2
        v = (vertices[None] if single else vertices).to(self.dtype)
        if self.backend_used == "numba":
            vn = v.detach().contiguous().numpy()
            B, N = vn.shape[0], self.count
            if vn.shape[1] < self._min_vertices or vn.shape[2] != 3:  # the kernel does not bounds-check
                raise GaspInputError("vertices", f"need [B, V >= {self._min_vertices}, 3], got {list(v.shape)}")
            means, quats, scales = self._outputs(B)
            self._kernel(vn, *self._np, means, quats, scales)
            means = torch.from_numpy(means).view(B, N, 3)
            quats = torch.from_numpy(quats).view(B, N, 4)
            scales = torch.from_numpy(scales).view(B, N, 3)
        else:
            table = self.face_table(v)  # [B, Fu, 23]
            g = table[:, self.inverse]  # [B, N, 23]
            P = g[..., :18].reshape(g.shape[0], g.shape[1], 6, 3)
            means = torch.einsum("nk,bnkc->bnc", self.coeffs, P)
            quats = (self.qmat[None] @ g[..., 18:22, None])[..., 0]
            scales = self.exp_scales[None] * g[..., 22:23]
        B, N = means.shape[0], means.shape[1]
        op = self.opacities[None].expand(B, N)
        col = self.colors[None].expand(B, N, 3)
        if single:
            return Gaussians3D(means[0], quats[0], scales[0], op[0], col[0])
        return Gaussians3D(means, quats, scales, op, col)
