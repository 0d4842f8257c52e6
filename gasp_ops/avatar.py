"""Gaussian avatar: Gaussians stored in triangle-local space and posed by the head mesh (GASP §3.2, §3.4).

Gaussian i is bound to face f_i with barycentric origin b_i. For a posed mesh with triangle frame
(R_f, k_f) (``gasp_ops.binding.triangle_frames``), its world attributes are

    mean_i  = sum_c b_ic * v_{f_i, c} + k_f * R_f @ offset_i
    rot_i   = R_f * q_i                      (quaternion product, local rotation applied first)
    scale_i = k_f * exp(log_scale_i)

so the avatar follows expression and pose, and a Gaussian keeps its place relative to its triangle.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from gasp_ops.binding.triangle_frames import triangle_frames
from gasp_ops.binding.uv_init import UVBinding
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.topology import HeadTopology
from gasp_ops.render.gaussians import Gaussians3D
from gasp_ops.rotations import matrix_to_quaternion, quaternion_multiply
from gasp_ops.validation import check_tensor

#: The learnable local attributes, in storage order.
ATTRIBUTES: tuple[str, ...] = ("offsets", "log_scales", "quats", "colors", "opacity_logits")


@dataclass
class GaussianAvatar:
    """N Gaussians bound to the faces of a head mesh.

    faces: [F, 3] long, the mesh's faces (the binding's triangles).
    face_ids: [N] long, bound face per Gaussian.
    barycentrics: [N, 3] origin of each Gaussian within its face.
    offsets: [N, 3] position offset in the triangle frame, in units of the triangle scale.
    log_scales: [N, 3] log standard deviations in units of the triangle scale.
    quats: [N, 4] local rotation (w, x, y, z), any norm.
    colors: [N, 3] RGB (clamped to [0, 1] when rendered).
    opacity_logits: [N] opacity before the sigmoid.
    """

    faces: torch.Tensor
    face_ids: torch.Tensor
    barycentrics: torch.Tensor
    offsets: torch.Tensor
    log_scales: torch.Tensor
    quats: torch.Tensor
    colors: torch.Tensor
    opacity_logits: torch.Tensor

    def __post_init__(self):
        self.validate()

    def validate(self) -> "GaussianAvatar":
        check_tensor("avatar.faces", self.faces, ["F", 3], finite=False)
        n = self.face_ids.shape[0] if self.face_ids.ndim == 1 else "N"
        check_tensor("avatar.face_ids", self.face_ids, [n], finite=False)
        check_tensor("avatar.barycentrics", self.barycentrics, [n, 3])
        check_tensor("avatar.offsets", self.offsets, [n, 3])
        check_tensor("avatar.log_scales", self.log_scales, [n, 3])
        check_tensor("avatar.quats", self.quats, [n, 4])
        check_tensor("avatar.colors", self.colors, [n, 3])
        check_tensor("avatar.opacity_logits", self.opacity_logits, [n])
        if self.face_ids.numel() and (int(self.face_ids.min()) < 0 or int(self.face_ids.max()) >= self.faces.shape[0]):
            raise GaspInputError("avatar.face_ids", f"must index the {self.faces.shape[0]} faces")
        return self

    @property
    def count(self) -> int:
        return int(self.face_ids.shape[0])

    def attributes(self) -> dict[str, torch.Tensor]:
        return {name: getattr(self, name) for name in ATTRIBUTES}

    def to(self, device) -> "GaussianAvatar":
        return GaussianAvatar(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    @classmethod
    def from_binding(
        cls,
        topology: HeadTopology,
        binding: UVBinding,
        rest_vertices: torch.Tensor,
        colors: torch.Tensor | None = None,
        opacity: float = 0.95,
        normal_flatten: float = 0.5,
    ) -> "GaussianAvatar":
        """Initial avatar: zero offsets, identity rotations, and a scale that tiles the surface.

        rest_vertices: [V, 3] mesh used to size the Gaussians: each Gaussian's in-plane standard deviation is
        the side of its texel's footprint on the surface (sqrt of 3D face area / face area in texels), its
        normal-axis deviation ``normal_flatten`` times that. colors: [N, 3] or None (mid grey).
        """
        check_tensor("rest_vertices", rest_vertices, ["V", 3])
        faces = topology.faces
        n = binding.count
        v = rest_vertices.detach().to(torch.float32)
        tri = v[faces]
        area3d = 0.5 * torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=-1).norm(dim=-1)
        uv = topology.uvs.to(torch.float32)[topology.uv_faces] * binding.resolution
        e1, e2 = uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0]
        area_uv = 0.5 * (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]).abs().clamp_min(1e-12)
        texel_side = (area3d / area_uv).sqrt()  # metres per texel, per face
        frames = triangle_frames(v[None], faces)
        local_side = (texel_side / frames.scales[0].clamp_min(1e-9))[binding.face_ids]
        log_s = torch.log(local_side.clamp_min(1e-6))[:, None].repeat(1, 3)
        log_s[:, 2] += torch.log(torch.tensor(normal_flatten))
        if colors is None:
            colors = torch.full((n, 3), 0.5)
        quats = torch.zeros(n, 4)
        quats[:, 0] = 1.0
        return cls(
            faces=faces.clone(),
            face_ids=binding.face_ids.clone(),
            barycentrics=binding.barycentrics.to(torch.float32).clone(),
            offsets=torch.zeros(n, 3),
            log_scales=log_s,
            quats=quats,
            colors=colors.to(torch.float32),
            opacity_logits=torch.full((n,), float(torch.logit(torch.tensor(opacity)))),
        )


def pose(avatar: GaussianAvatar, vertices: torch.Tensor) -> Gaussians3D:
    """World-space Gaussians for posed meshes.

    vertices: [B, V, 3] (or [V, 3]) posed mesh vertices. Returns batched ``Gaussians3D`` with [B, N, ...] fields
    (colours clamped to [0, 1], opacities after the sigmoid). Vectorised and differentiable in the vertices and
    in every avatar attribute.
    """
    if vertices.ndim == 2:
        vertices = vertices[None]
    check_tensor("vertices", vertices, ["B", "V", 3])
    if int(avatar.faces.max()) >= vertices.shape[1]:
        raise GaspInputError("vertices", f"mesh has {vertices.shape[1]} vertices but the avatar's faces index up to {int(avatar.faces.max())}")
    return pose_attributes(avatar.faces, avatar.face_ids, avatar.barycentrics, avatar.attributes(), vertices)


def pose_attributes(faces: torch.Tensor, face_ids: torch.Tensor, barycentrics: torch.Tensor,
                    attributes: dict[str, torch.Tensor], vertices: torch.Tensor) -> Gaussians3D:
    """The posing maths of ``pose`` for local attributes shared by all frames or given per frame.

    faces [F, 3]; face_ids [N]; barycentrics [N, 3]; vertices [B, V, 3]; attributes (``ATTRIBUTES``): offsets,
    log_scales, colors [N, 3] or [B, N, 3]; quats [N, 4] or [B, N, 4]; opacity_logits [N] or [B, N] (per-frame
    attributes let every frame carry its own avatar, e.g. a prior decoding one subject per frame).
    Returns ``Gaussians3D`` with [B, N, ...] fields.
    """
    B = vertices.shape[0]
    n = face_ids.shape[0]
    dt = vertices.dtype

    def per_frame(name: str, width: int | None) -> torch.Tensor:
        shape = (B, n) if width is None else (B, n, width)
        return attributes[name].to(dt).expand(shape)

    used, inverse = torch.unique(face_ids, return_inverse=True)
    frames = triangle_frames(vertices, faces[used])
    R = frames.rotations[:, inverse]  # [B, N, 3, 3]
    k = frames.scales[:, inverse]  # [B, N]
    corners = vertices[:, faces[face_ids]]  # [B, N, 3, 3]
    origin = (corners * barycentrics[None, :, :, None].to(dt)).sum(-2)
    means = origin + k[..., None] * (R @ per_frame("offsets", 3)[..., None])[..., 0]
    quats = quaternion_multiply(matrix_to_quaternion(R), per_frame("quats", 4))
    scales = k[..., None] * torch.exp(per_frame("log_scales", 3))
    return Gaussians3D(
        means=means,
        quats=quats,
        scales=scales,
        opacities=torch.sigmoid(per_frame("opacity_logits", None)),
        colors=per_frame("colors", 3).clamp(0.0, 1.0),
    )
