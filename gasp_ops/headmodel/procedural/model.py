"""``ProceduralHead``: the built-in, license-free head model generated entirely by code."""

from __future__ import annotations

import functools
import numbers

import numpy as np
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.procedural.expression_basis import EXPRESSION_NAMES, build_expression_basis
from gasp_ops.headmodel.procedural.identity_basis import build_identity_basis
from gasp_ops.headmodel.procedural.landmarks import embed_landmarks
from gasp_ops.headmodel.procedural.mesh import build_surface
from gasp_ops.headmodel.procedural.regions import face_regions
from gasp_ops.headmodel.procedural.skinning import joint_regressor, skin_weights
from gasp_ops.headmodel.procedural.uv_layout import build_uv_layout
from gasp_ops.headmodel.topology import HeadTopology

DEFAULT_RESOLUTION = 30
MIN_RESOLUTION, MAX_RESOLUTION = 12, 60


@functools.lru_cache(maxsize=4)
def build_arrays(resolution: int = DEFAULT_RESOLUTION) -> dict[str, np.ndarray]:
    """Every derived array of the procedural head at ``resolution`` (cached per process; numpy, read-only).

    Keys: template [V, 3], faces [F, 3], dirs [V, 3], uvs [T, 2], uv_faces [F, 3], charts [F], face_regions [F],
    landmark_faces [68], landmark_barycentrics [68, 3], identity_basis [V, 3, K_id], identity_names,
    expression_basis [V, 3, K_expr], joint_regressor [5, V], skin_weights [V, 5].
    """
    v, f, d = build_surface(resolution)
    uvs, uv_faces, charts = build_uv_layout(v, f, d)
    id_basis, id_names = build_identity_basis(v)
    lm_f, lm_b = embed_landmarks(v, f)
    out = dict(
        template=v, faces=f, dirs=d, uvs=uvs, uv_faces=uv_faces, charts=charts, face_regions=face_regions(v, f),
        landmark_faces=lm_f, landmark_barycentrics=lm_b, identity_basis=id_basis, identity_names=np.array(id_names),
        expression_basis=build_expression_basis(v, d), joint_regressor=joint_regressor(v, f),
        skin_weights=skin_weights(v),
    )
    for a in out.values():
        a.setflags(write=False)
    return out


def _count(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise GaspInputError(name, f"expected an integer, got {type(value).__name__}")
    if not lo <= int(value) <= hi:
        raise GaspInputError(name, f"must be in [{lo}, {hi}], got {int(value)}")
    return int(value)


class ProceduralHead(HeadModel):
    """Code-generated head + neck mesh with identity/expression bases, 5-joint skinning, UVs, regions, landmarks.

    n_identity: number of identity components (default: all, ``ProceduralHead.max_identity()`` >= 50); coefficient
        1.0 is about one standard deviation of adult variation.
    n_expression: number of expression blendshapes (default: all ``len(EXPRESSION_NAMES)`` = 25), 1.0 = full action.
    resolution: geodesic sphere frequency; the mesh has ``10 * resolution**2 + 2`` vertices (default 30: 9002) and
        ``20 * resolution**2`` faces.
    Buffers: template [V, 3], identity_basis [V, 3, n_identity], expression_basis [V, 3, n_expression],
    joint_regressor [5, V], skin_weights [V, 5] (float32). ``identity_names`` / ``expression_names`` name the columns.
    """

    name = "procedural"

    def __init__(self, n_identity: int | None = None, n_expression: int | None = None,
                 resolution: int = DEFAULT_RESOLUTION):
        super().__init__()
        resolution = _count("resolution", resolution, MIN_RESOLUTION, MAX_RESOLUTION)
        arrays = build_arrays(resolution)
        k_id = arrays["identity_basis"].shape[-1]
        k_ex = arrays["expression_basis"].shape[-1]
        n_identity = k_id if n_identity is None else _count("n_identity", n_identity, 1, k_id)
        n_expression = k_ex if n_expression is None else _count("n_expression", n_expression, 1, k_ex)
        t = lambda a, dt=torch.float32: torch.tensor(np.ascontiguousarray(a), dtype=dt)  # noqa: E731
        self.register_buffer("template", t(arrays["template"]))
        self.register_buffer("identity_basis", t(arrays["identity_basis"][..., :n_identity]))
        self.register_buffer("expression_basis", t(arrays["expression_basis"][..., :n_expression]))
        self.register_buffer("joint_regressor", t(arrays["joint_regressor"]))
        self.register_buffer("skin_weights", t(arrays["skin_weights"]))
        self.pose_basis = None
        self.resolution = resolution
        self.identity_names: tuple[str, ...] = tuple(str(s) for s in arrays["identity_names"][:n_identity])
        self.expression_names: tuple[str, ...] = EXPRESSION_NAMES[:n_expression]
        self.topology = HeadTopology(
            faces=t(arrays["faces"], torch.long),
            uvs=t(arrays["uvs"]),
            uv_faces=t(arrays["uv_faces"], torch.long),
            face_regions=t(arrays["face_regions"], torch.long),
            landmark_faces=t(arrays["landmark_faces"], torch.long),
            landmark_barycentrics=t(arrays["landmark_barycentrics"]),
        )

    @staticmethod
    def max_identity(resolution: int = DEFAULT_RESOLUTION) -> int:
        """Number of identity components available."""
        return build_arrays(resolution)["identity_basis"].shape[-1]

    def expression_index(self, name: str) -> int:
        """Column of the expression called ``name`` in ``expression_basis``."""
        if name not in self.expression_names:
            raise GaspInputError("expression", f"unknown expression {name!r}")
        return self.expression_names.index(name)
