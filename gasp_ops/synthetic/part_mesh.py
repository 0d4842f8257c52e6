"""``PartMesh``: one extra part of the combined mesh (hair, facial hair, clothing) in attachment form.

A part's vertices are stored relative to the head so they can be rebuilt from the *posed* head every frame:

* ``anchor`` >= 0 and ``mode`` 'skull': ``posed[anchor] + R_skull @ offset`` (R_skull = root @ neck rotation:
  rigid with the cranium; hair shells and hanging hair).
* ``mode`` 'normal': ``posed[anchor] + offset[:, 0] * posed_normal[anchor]`` (follows the skin, incl. jaw and
  expressions; beards and moustaches).
* ``mode`` 'root': ``R_root @ (rest - root_joint) + root_joint + translation`` (clothing: moves with the root joint,
  not the neck).

faces [F, 3] index the part's own vertices; uvs [T, 2] / uv_faces [F, 3] address the part's tile of the texture in
local [0, 1]^2 coordinates (the atlas packing maps them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODES: tuple[str, ...] = ("skull", "normal", "root")


@dataclass
class PartMesh:
    mode: str
    rest: np.ndarray  # [N, 3] rest-pose positions (for 'root'; informative for the others)
    anchor: np.ndarray  # [N] head vertex ids ('skull', 'normal'), -1 for 'root'
    offset: np.ndarray  # [N, 3] skull-frame offsets ('skull'), [N, 1] thickness ('normal'), unused for 'root'
    faces: np.ndarray  # [F, 3]
    uvs: np.ndarray  # [T, 2] in the part's own tile, [0, 1]^2
    uv_faces: np.ndarray  # [F, 3]

    @property
    def num_vertices(self) -> int:
        return len(self.rest)

    @property
    def num_faces(self) -> int:
        return len(self.faces)

    @staticmethod
    def empty(mode: str) -> "PartMesh":
        z3 = np.zeros((0, 3))
        return PartMesh(mode, z3, np.zeros(0, np.int64), z3, np.zeros((0, 3), np.int64), np.zeros((0, 2)),
                        np.zeros((0, 3), np.int64))
