"""Mesh topology shared by every head model: faces, UV layout, region labels, landmark embedding."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gasp_ops.errors import GaspInputError

#: Region names, in label order. ``HeadTopology.face_regions`` holds indices into this tuple.
REGIONS: tuple[str, ...] = ("scalp", "face", "ears", "neck", "eyes", "mouth")


@dataclass(frozen=True)
class HeadTopology:
    """Connectivity of a head mesh (fixed across identities and expressions).

    faces: [F, 3] long, vertex indices, counter-clockwise seen from outside (normals point outwards).
    uvs: [T, 2] float, UV coordinates in [0, 1]^2, (u right, v up; v=0 is the bottom row of a UV image).
    uv_faces: [F, 3] long, indices into ``uvs`` for each face corner (UV seams give T != V).
    face_regions: [F] long, index into ``REGIONS`` for each face.
    landmark_faces: [68, ] long, face id of each iBUG-68 landmark.
    landmark_barycentrics: [68, 3] float, barycentric weights of each landmark within its face.
    """

    faces: torch.Tensor
    uvs: torch.Tensor
    uv_faces: torch.Tensor
    face_regions: torch.Tensor
    landmark_faces: torch.Tensor
    landmark_barycentrics: torch.Tensor

    def __post_init__(self):
        F = self.faces.shape[0]
        if self.faces.ndim != 2 or self.faces.shape[1] != 3:
            raise GaspInputError("topology.faces", f"expected [F, 3], got {list(self.faces.shape)}")
        if list(self.uv_faces.shape) != [F, 3]:
            raise GaspInputError("topology.uv_faces", f"expected [{F}, 3], got {list(self.uv_faces.shape)}")
        if self.uvs.ndim != 2 or self.uvs.shape[1] != 2:
            raise GaspInputError("topology.uvs", f"expected [T, 2], got {list(self.uvs.shape)}")
        if list(self.face_regions.shape) != [F]:
            raise GaspInputError("topology.face_regions", f"expected [{F}], got {list(self.face_regions.shape)}")
        if list(self.landmark_faces.shape) != [68] or list(self.landmark_barycentrics.shape) != [68, 3]:
            raise GaspInputError("topology.landmarks", "expected 68 face ids and [68, 3] barycentrics")

    @property
    def num_faces(self) -> int:
        return self.faces.shape[0]

    def region_mask(self, name: str) -> torch.Tensor:
        """Boolean [F] mask of the faces in region ``name``."""
        if name not in REGIONS:
            raise GaspInputError("region", f"unknown region {name!r}; known: {', '.join(REGIONS)}")
        return self.face_regions == REGIONS.index(name)

    def landmarks(self, vertices: torch.Tensor) -> torch.Tensor:
        """Landmark positions [..., 68, 3] from vertices [..., V, 3]."""
        idx = self.faces[self.landmark_faces].to(vertices.device)
        corners = vertices[..., idx, :]  # [..., 68, 3, 3]
        return (corners * self.landmark_barycentrics[..., None].to(vertices)).sum(-2)

    def to(self, device) -> "HeadTopology":
        """A copy with every tensor on ``device``."""
        return HeadTopology(**{k: getattr(self, k).to(device) for k in self.__dataclass_fields__})
