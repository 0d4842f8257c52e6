"""Per-identity appearance assets: the combined mesh (head + hair + facial hair + clothing), its texture atlas,
and how to pose it every frame from the posed head vertices.

Combined mesh layout (``CombinedMesh.part_ranges`` has the exact numbers for one identity):

  vertices: [0, V) head (the head model's own vertices, posed), then hair, facial hair, clothing vertices.
  faces:    [0, F_head) the head model's faces, *same ids as the head topology* (so a head face id in a render is
            directly a ``HeadTopology`` face id), then hair faces, facial-hair faces, clothing faces.
  face_part [F_total]: index into ``PARTS`` = ("head", "hair", "facial_hair", "clothing").

Texture atlas [1, S, 2S, 3] (S = ``texture_size``; row 0 = top, v = 1), one tile per part, UVs mapped into it:
  head skin u in [0, 0.5) (S x S, the head's own UV layout scaled by 1/2 in u); hair u in [0.5, 0.75) (S tall x S/2);
  facial hair u in [0.75, 1), v in [0.5, 1) (S/2 x S/2); clothing u in [0.75, 1), v in [0, 0.5) (S/2 x S/2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.lbs import pose_rotations
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.seeding import generator
from gasp_ops.synthetic.anatomy import HeadAnatomy, measure_head
from gasp_ops.synthetic.clothing import build_clothing
from gasp_ops.synthetic.facial_hair import build_facial_hair
from gasp_ops.synthetic.hair_geometry import build_hair
from gasp_ops.synthetic.identity import SyntheticIdentity, people_domain
from gasp_ops.synthetic.mesh_utils import incidence_table, vertex_normals, vertex_normals_np
from gasp_ops.synthetic.part_mesh import PartMesh
from gasp_ops.synthetic.part_textures import clothing_texture, facial_hair_texture, hair_texture
from gasp_ops.synthetic.skin_texture import paint_skin
from gasp_ops.synthetic.uv_position_map import uv_position_map

PARTS: tuple[str, ...] = ("head", "hair", "facial_hair", "clothing")
#: Atlas tile of each part: (u0, u1, v0, v1).
TILES: dict[str, tuple[float, float, float, float]] = {
    "head": (0.0, 0.5, 0.0, 1.0),
    "hair": (0.5, 0.75, 0.0, 1.0),
    "facial_hair": (0.75, 1.0, 0.5, 1.0),
    "clothing": (0.75, 1.0, 0.0, 0.5),
}


@dataclass
class IdentityAssets:
    """Everything needed to render one identity (tensors on ``device``).

    faces [F, 3] long, uvs [T, 2], uv_faces [F, 3] long: the combined mesh (see module docstring).
    atlas [1, S, 2S, 3] float32; face_part [F] long (index into ``PARTS``).
    part_ranges: {part: (first face id, end face id)}; vertex_ranges: {part: (first vertex, end vertex)}.
    identity [1, n_identity]; anatomy: rest-pose measurements; domain: texture domain.
    """

    faces: torch.Tensor
    uvs: torch.Tensor
    uv_faces: torch.Tensor
    atlas: torch.Tensor
    face_part: torch.Tensor
    part_ranges: dict
    vertex_ranges: dict
    identity: torch.Tensor
    anatomy: HeadAnatomy
    domain: str
    texture_size: int
    head_faces: torch.Tensor
    head_incidence: torch.Tensor
    incidence: torch.Tensor
    hair_anchor: torch.Tensor
    hair_offset: torch.Tensor
    beard_anchor: torch.Tensor
    beard_thickness: torch.Tensor
    cloth_rest: torch.Tensor
    root_joint: torch.Tensor

    @property
    def num_faces(self) -> int:
        return self.faces.shape[0]

    @property
    def num_vertices(self) -> int:
        return self.vertex_ranges["clothing"][1]

    def combined_vertices(self, head_vertices: torch.Tensor, pose: HeadPose) -> torch.Tensor:
        """Combined-mesh vertices [K, V_total, 3] from posed head vertices [K, V, 3] and the poses (batch K)."""
        rot = pose_rotations(pose.to(device=head_vertices.device, dtype=head_vertices.dtype))
        r_root, r_skull = rot[:, 0], rot[:, 0] @ rot[:, 1]
        parts = [head_vertices]
        if self.hair_anchor.numel():
            off = torch.einsum("kij,nj->kni", r_skull, self.hair_offset)
            parts.append(head_vertices[:, self.hair_anchor] + off)
        if self.beard_anchor.numel():
            n = vertex_normals(head_vertices, self.head_faces, self.head_incidence)
            parts.append(head_vertices[:, self.beard_anchor] + n[:, self.beard_anchor] * self.beard_thickness)
        if self.cloth_rest.numel():
            rel = self.cloth_rest - self.root_joint
            moved = torch.einsum("kij,nj->kni", r_root, rel) + self.root_joint
            parts.append(moved + pose.translation.to(moved)[:, None, :])
        return torch.cat(parts, dim=1)

    def normals(self, vertices: torch.Tensor) -> torch.Tensor:
        """Unit vertex normals [K, V_total, 3] of combined vertices (deterministic gather)."""
        return vertex_normals(vertices, self.faces, self.incidence)

    def to(self, device) -> "IdentityAssets":
        kw = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in self.__dict__.items()}
        return IdentityAssets(**kw)


def _tile_uvs(uvs: np.ndarray, part: str) -> np.ndarray:
    u0, u1, v0, v1 = TILES[part]
    uv = np.clip(np.asarray(uvs, dtype=np.float64), 0.0, 1.0)
    return np.stack([u0 + (u1 - u0) * uv[:, 0], v0 + (v1 - v0) * uv[:, 1]], 1)


def _check_size(texture_size) -> int:
    if isinstance(texture_size, bool) or not isinstance(texture_size, (int, np.integer)) or texture_size < 16 \
            or texture_size % 2:
        raise GaspInputError("texture_size", f"must be an even integer >= 16, got {texture_size!r}")
    return int(texture_size)


def build_assets(head: HeadModel, identity: SyntheticIdentity, texture_size: int = 256,
                 device: torch.device | str | None = None) -> IdentityAssets:
    """Geometry, texture atlas and posing data of ``identity`` on ``head`` (deterministic; built on the CPU, moved
    to ``device``, default: the head model's buffers' device)."""
    S = _check_size(texture_size)
    domain = people_domain(identity.domain)  # prior_lit paints the prior's textures
    if identity.identity.shape[-1] != head.n_identity:
        raise GaspInputError("identity", f"has {identity.identity.shape[-1]} coefficients, head model expects "
                                         f"{head.n_identity} (sampled for another head model?)")
    device = torch.device(device) if device is not None else head.template.device
    rng = generator(identity.seed, "synthetic_assets", identity.index, identity.texture_seed, domain, S)
    topo = head.topology
    coeffs = identity.identity[None].to(head.template)
    with torch.no_grad():
        rest = head(coeffs, torch.zeros(1, head.n_expression, dtype=head.template.dtype,
                                        device=head.template.device))[0].double().cpu().numpy()
        joints = (head.joint_regressor.double() @ head.template.new_tensor(rest).double()).cpu().numpy()
    faces = topo.faces.cpu().numpy()
    normals = vertex_normals_np(rest, faces)
    anat = measure_head(rest, topo)

    hair = build_hair(anat, normals, topo, identity, rng)
    beard = build_facial_hair(anat, normals, topo, identity)
    cloth = build_clothing(anat)

    # Textures.
    pm = uv_position_map(rest, normals, faces, topo.uvs.cpu().numpy(), topo.uv_faces.cpu().numpy(),
                         topo.face_regions.cpu().numpy(), S)
    atlas = np.zeros((S, 2 * S, 3), dtype=np.float32)
    atlas[:, :S] = paint_skin(anat, pm, identity, domain, rng)
    atlas[:, S:S + S // 2] = hair_texture(identity, S, S // 2, rng, domain)
    atlas[: S // 2, S + S // 2:] = facial_hair_texture(identity, S // 2, rng)
    atlas[S // 2:, S + S // 2:] = clothing_texture(identity, S // 2, S // 2, rng)

    # Combined mesh.
    V, F = len(rest), len(faces)
    all_faces, all_uvs, all_uv_faces, face_part = [faces], [_tile_uvs(topo.uvs.cpu().numpy(), "head")], \
        [topo.uv_faces.cpu().numpy()], [np.zeros(F, np.int64)]
    part_ranges, vertex_ranges = {"head": (0, F)}, {"head": (0, V)}
    nv, nf, nt = V, F, len(all_uvs[0])
    for k, (name, part) in enumerate((("hair", hair), ("facial_hair", beard), ("clothing", cloth)), start=1):
        part: PartMesh
        all_faces.append(part.faces + nv)
        all_uvs.append(_tile_uvs(part.uvs, name) if len(part.uvs) else np.zeros((0, 2)))
        all_uv_faces.append(part.uv_faces + nt)
        face_part.append(np.full(part.num_faces, k, np.int64))
        part_ranges[name] = (nf, nf + part.num_faces)
        vertex_ranges[name] = (nv, nv + part.num_vertices)
        nv, nf, nt = nv + part.num_vertices, nf + part.num_faces, nt + len(part.uvs)
    comb_faces = np.concatenate(all_faces).astype(np.int64)

    t = lambda a, dt=torch.float32: torch.as_tensor(np.ascontiguousarray(a), dtype=dt)  # noqa: E731
    assets = IdentityAssets(
        faces=t(comb_faces, torch.long), uvs=t(np.concatenate(all_uvs)), uv_faces=t(np.concatenate(all_uv_faces),
                                                                                     torch.long),
        atlas=t(atlas)[None], face_part=t(np.concatenate(face_part), torch.long), part_ranges=part_ranges,
        vertex_ranges=vertex_ranges, identity=identity.identity[None].float(), anatomy=anat, domain=domain,
        texture_size=S, head_faces=t(faces, torch.long), head_incidence=t(incidence_table(faces, V), torch.long),
        incidence=t(incidence_table(comb_faces, nv), torch.long), hair_anchor=t(hair.anchor, torch.long),
        hair_offset=t(hair.offset), beard_anchor=t(beard.anchor, torch.long),
        beard_thickness=t(beard.offset[:, :1] if len(beard.offset) else np.zeros((0, 1))),
        cloth_rest=t(cloth.rest), root_joint=t(joints[0]),
    )
    return assets.to(device)
