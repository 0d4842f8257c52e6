"""FLAME head model (FLAME 2020 ``generic_model.pkl``, FLAME 2023 ``flame2023.pkl``) loaded without chumpy.

The model file is read through ``gasp_ops.io.restricted_pickle`` (NumPy / SciPy-sparse / chumpy-value globals
only; chumpy is never imported and no code in the file can run). Keys used from the file (V vertices, F faces):

  v_template [V, 3], f [F, 3] (uint32), shapedirs [V, 3, 300 + E] (first 300 identity, then E expression
  components; a chumpy ``Ch`` or a plain array), posedirs [V, 3, 36], J_regressor [5, V] (scipy.sparse or dense),
  weights [V, 5], kintree_table [2, 5]. Optional and checked when present: bs_type ('lrotmin'), bs_style ('lbs').

FLAME's skinning is ``gasp_ops.headmodel.lbs.linear_blend_skinning`` with ``pose_basis = posedirs.reshape(V*3,
36).T`` ([36, V*3]), driven by the flattened (R - I) of joints 1..4 (neck, jaw, left eye, right eye).
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.lbs import JOINT_NAMES, PARENTS
from gasp_ops.headmodel.topology import REGIONS, HeadTopology
from gasp_ops.io.obj_uv import read_obj_uv
from gasp_ops.io.restricted_pickle import load_npy_object, load_pickle

logger = logging.getLogger(__name__)

#: Number of identity (shape) components at the front of FLAME's ``shapedirs`` (2020 and 2023 alike).
FLAME_SHAPE_COMPONENTS = 300
NUM_LANDMARKS = 68

#: FLAME_masks.pkl region name -> our region. Unknown mask names are ignored.
MASK_TO_REGION: dict[str, str] = {
    "scalp": "scalp",
    "face": "face",
    "forehead": "face",
    "nose": "face",
    "eye_region": "face",
    "left_eye_region": "face",
    "right_eye_region": "face",
    "left_ear": "ears",
    "right_ear": "ears",
    "neck": "neck",
    "boundary": "neck",
    "left_eyeball": "eyes",
    "right_eyeball": "eyes",
    "lips": "mouth",
}

#: When a face lies wholly inside several regions, the first in this order wins (most specific first).
REGION_PRECEDENCE: tuple[str, ...] = ("eyes", "mouth", "ears", "neck", "face", "scalp")


class FlameHead(HeadModel):
    """FLAME as a ``HeadModel``: ``forward(identity [B, n_identity], expression [B, n_expression], pose) -> [B, V, 3]``.

    Args:
        model_path: FLAME ``.pkl`` (2020 ``generic_model.pkl`` or 2023 ``flame2023.pkl``).
        uv_obj_path: FLAME UV layout ``head_template.obj`` (``vt`` and ``f v/vt``); its faces must be the model's
            faces (same order, or the same triangles in another order / corner rotation, which is re-aligned).
            If None: a cylindrical UV fallback (u = angle about the +y axis, seam behind the head, v = height) is
            built and a warning is logged. It overlaps (eyeballs over the eyelids, the top of the head), so it is
            for development only; UV-sampled Gaussian initialisation needs the real layout.
        masks_path: ``FLAME_masks.pkl`` (region name -> vertex indices). A face gets the first region of
            ``REGION_PRECEDENCE`` (eyes, mouth, ears, neck, face, scalp) that holds all three of its vertices
            (mask names map through ``MASK_TO_REGION``); a face wholly inside none gets the region holding most of
            its vertices (ties by precedence), and a face with no masked vertex gets "scalp". If None: a geometric
            fallback (see ``geometric_vertex_regions``) with a logged warning.
        landmark_path: DECA's ``landmark_embedding.npy`` (pickled dict with ``full_lmk_faces_idx`` [1, 68] and
            ``full_lmk_bary_coords`` [1, 68, 3]). If None: no landmarks; ``topology`` holds a placeholder (face 0,
            NaN barycentrics, so stray use yields NaN) and ``landmarks()`` raises ``GaspInputError`` naming
            ``landmark_path``. ``has_landmarks`` tells which.
        n_identity: leading identity components kept (<= 300). n_expression: leading expression components kept.
        n_shape_components: identity components at the front of ``shapedirs`` (300 for FLAME 2020/2023).

    Buffers (float32): template [V, 3], identity_basis [V, 3, n_identity], expression_basis [V, 3, n_expression],
    joint_regressor [5, V] (dense), skin_weights [V, 5], pose_basis [36, V*3]. Joints: root, neck, jaw, left eye,
    right eye (FLAME's kintree_table order, checked on load).

    Every problem with the inputs (missing file, missing key, wrong shape, refused pickle global) raises a
    one-line ``GaspInputError`` naming the file and the key.
    """

    name = "flame"

    def __init__(
        self,
        model_path: str | os.PathLike,
        uv_obj_path: str | os.PathLike | None = None,
        masks_path: str | os.PathLike | None = None,
        landmark_path: str | os.PathLike | None = None,
        n_identity: int = 300,
        n_expression: int = 100,
        *,
        n_shape_components: int = FLAME_SHAPE_COMPONENTS,
    ):
        super().__init__()
        self.model_path = str(model_path)
        if not isinstance(n_shape_components, int) or n_shape_components < 1:
            raise GaspInputError("n_shape_components", f"must be a positive int, got {n_shape_components!r}")
        model = load_flame_arrays(model_path, n_shape_components=n_shape_components)
        V = model["v_template"].shape[0]
        n_expr_avail = model["shapedirs"].shape[2] - n_shape_components
        is_int = lambda n: isinstance(n, (int, np.integer)) and not isinstance(n, bool)  # noqa: E731
        if not is_int(n_identity) or not 0 <= n_identity <= n_shape_components:
            raise GaspInputError("n_identity", f"must be an int in [0, {n_shape_components}], got {n_identity!r}")
        if not is_int(n_expression) or not 0 <= n_expression <= n_expr_avail:
            raise GaspInputError(
                "n_expression",
                f"must be an int in [0, {n_expr_avail}] ({model_path} has {n_expr_avail}), got {n_expression!r}",
            )
        n_identity, n_expression = int(n_identity), int(n_expression)
        sd = model["shapedirs"]
        f32 = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
        self.register_buffer("template", f32(model["v_template"]))
        self.register_buffer("identity_basis", f32(sd[:, :, :n_identity]))
        self.register_buffer("expression_basis", f32(sd[:, :, n_shape_components:n_shape_components + n_expression]))
        self.register_buffer("joint_regressor", f32(model["J_regressor"]))
        self.register_buffer("skin_weights", f32(model["weights"]))
        self.register_buffer("pose_basis", f32(model["posedirs"].reshape(V * 3, 36).T))
        self.joint_names = JOINT_NAMES

        faces = model["f"]
        template = model["v_template"]
        joints = model["J_regressor"] @ template
        if joints[3, 0] < joints[4, 0]:
            logger.warning("%s: joint 3 (left eye) is not on the +x side of joint 4 (right eye)", model_path)

        if uv_obj_path is not None:
            uvs, uv_faces = _load_uv_layout(uv_obj_path, faces, V)
        else:
            logger.warning("FlameHead: no UV .obj given; using a cylindrical fallback UV layout (overlapping, "
                           "development only). Pass FLAME's head_template.obj as uv_obj_path.")
            uvs, uv_faces = cylindrical_uvs(template, faces)

        if masks_path is not None:
            vertex_sets = _load_region_masks(masks_path, V)
        else:
            logger.warning("FlameHead: no FLAME_masks.pkl given; face regions come from a rough geometric fallback.")
            vertex_sets = geometric_vertex_regions(template, faces, joints)
        face_regions = faces_to_regions(faces, vertex_sets)

        if landmark_path is not None:
            lmk_faces, lmk_bary = _load_landmarks(landmark_path, faces.shape[0])
            self.has_landmarks = True
        else:
            lmk_faces = np.zeros(NUM_LANDMARKS, dtype=np.int64)
            lmk_bary = np.full((NUM_LANDMARKS, 3), np.nan)
            self.has_landmarks = False
        self.landmark_path = None if landmark_path is None else str(landmark_path)

        self.topology = HeadTopology(
            faces=torch.as_tensor(faces, dtype=torch.long),
            uvs=torch.as_tensor(uvs, dtype=torch.float32),
            uv_faces=torch.as_tensor(uv_faces, dtype=torch.long),
            face_regions=torch.as_tensor(face_regions, dtype=torch.long),
            landmark_faces=torch.as_tensor(lmk_faces, dtype=torch.long),
            landmark_barycentrics=torch.as_tensor(lmk_bary, dtype=torch.float32),
        )

    def landmarks(self, vertices: torch.Tensor) -> torch.Tensor:
        """iBUG-68 landmark positions [B, 68, 3] from vertices [B, V, 3]; needs ``landmark_path`` at construction."""
        if not self.has_landmarks:
            raise GaspInputError(
                "landmark_path",
                f"FlameHead({self.model_path}) was built without a landmark embedding; "
                "pass DECA's landmark_embedding.npy",
            )
        return super().landmarks(vertices)


# ----------------------------------------------------------------------------------------------------------------
# Model file


def _fail(path, key: str, problem: str) -> GaspInputError:
    return GaspInputError(str(path), f"key {key!r}: {problem}")


def _numeric(data: dict, key: str, path, ndim: int) -> np.ndarray:
    if key not in data:
        raise _fail(path, key, "missing (not a FLAME model file?)")
    value = data[key]
    if hasattr(value, "toarray") and hasattr(value, "tocsc"):  # scipy.sparse
        value = value.toarray()
    try:
        arr = np.asarray(value)
    except Exception:
        raise _fail(path, key, f"not an array (got {type(value).__name__})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise _fail(path, key, f"not a numeric array (got {type(value).__name__} of {arr.dtype})")
    if arr.ndim != ndim:
        raise _fail(path, key, f"expected a {ndim}-D array, got shape {list(arr.shape)}")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise _fail(path, key, "contains NaN/Inf")
    return arr


def load_flame_arrays(
    path: str | os.PathLike, n_shape_components: int = FLAME_SHAPE_COMPONENTS
) -> dict[str, np.ndarray]:
    """Read and check a FLAME .pkl: v_template [V, 3] float64, f [F, 3] int64, shapedirs [V, 3, K] float64,
    posedirs [V, 3, 36] float64, J_regressor [5, V] float64 (dense), weights [V, 5] float64,
    kintree_table [2, 5] int64. Raises ``GaspInputError`` naming the file and key."""
    path = Path(path)
    data = load_pickle(path)
    if not isinstance(data, dict):
        raise GaspInputError(str(path), f"expected a pickled dict of FLAME arrays, got {type(data).__name__}")
    out: dict[str, np.ndarray] = {}
    vt = _numeric(data, "v_template", path, 2)
    if vt.shape[1] != 3 or vt.shape[0] < 4:
        raise _fail(path, "v_template", f"expected shape [V, 3], got {list(vt.shape)}")
    V = vt.shape[0]
    out["v_template"] = vt.astype(np.float64)
    f = _numeric(data, "f", path, 2)
    if f.shape[1] != 3 or not np.issubdtype(f.dtype, np.integer):
        raise _fail(path, "f", f"expected integer faces [F, 3], got {f.dtype} {list(f.shape)}")
    f = f.astype(np.int64)
    if f.size and (f.min() < 0 or f.max() >= V):
        raise _fail(path, "f", f"vertex index out of range [0, {V})")
    out["f"] = f
    shapes = {
        "shapedirs": [V, 3, None],
        "posedirs": [V, 3, 36],
        "J_regressor": [len(PARENTS), V],
        "weights": [V, len(PARENTS)],
        "kintree_table": [2, len(PARENTS)],
    }
    for key, want in shapes.items():
        arr = _numeric(data, key, path, len(want))
        if any(w is not None and w != g for w, g in zip(want, arr.shape)):
            pretty = ", ".join("K" if w is None else str(w) for w in want)
            raise _fail(path, key, f"expected shape [{pretty}], got {list(arr.shape)}")
        out[key] = arr.astype(np.int64 if key == "kintree_table" else np.float64)
    if out["shapedirs"].shape[2] <= n_shape_components:
        raise _fail(path, "shapedirs", f"has {out['shapedirs'].shape[2]} components; expected {n_shape_components} "
                                       "identity + at least 1 expression")
    _check_kintree(out["kintree_table"], path)
    for key, want in (("bs_type", "lrotmin"), ("bs_style", "lbs")):
        if key in data and str(data[key]) != want:
            raise _fail(path, key, f"is {data[key]!r}; only {want!r} FLAME models are supported")
    for key in ("J_regressor", "weights"):
        sums = out[key].sum(axis=1)  # rows: joints of J_regressor [5, V], vertices of weights [V, 5]
        if np.abs(sums - 1.0).max() > 1e-3:
            logger.warning("%s: rows of %r do not sum to one (max deviation %.3g)", path, key, np.abs(sums - 1).max())
    return out


def _check_kintree(table: np.ndarray, path) -> None:
    J = len(PARENTS)
    if not np.array_equal(table[1], np.arange(J)):
        raise _fail(path, "kintree_table", f"joint ids {table[1].tolist()} are not 0..{J - 1}")
    parents = tuple(-1 if (p < 0 or p >= J) else int(p) for p in table[0])
    if parents != PARENTS:
        raise _fail(path, "kintree_table", f"parents {list(parents)} differ from FLAME's {list(PARENTS)}")


# ----------------------------------------------------------------------------------------------------------------
# UV layout


def _load_uv_layout(path, faces: np.ndarray, V: int) -> tuple[np.ndarray, np.ndarray]:
    """UVs [T, 2] and uv_faces [F, 3] aligned corner-for-corner with ``faces`` (from a FLAME UV .obj)."""
    obj = read_obj_uv(path)
    if obj.vertices.shape[0] != V:
        raise GaspInputError(str(path), f"has {obj.vertices.shape[0]} vertices; the FLAME model has {V}")
    if obj.faces.shape[0] != faces.shape[0]:
        raise GaspInputError(str(path), f"has {obj.faces.shape[0]} faces; the FLAME model has {faces.shape[0]}")
    if np.array_equal(obj.faces, faces):
        uv_faces = obj.uv_faces
    else:
        lookup = {
            tuple(sorted(tri)): dict(zip(tri, uvt)) for tri, uvt in zip(obj.faces.tolist(), obj.uv_faces.tolist())
        }
        uv_faces = np.empty_like(faces)
        for i, tri in enumerate(faces.tolist()):
            corners = lookup.get(tuple(sorted(tri)))
            if corners is None:
                raise GaspInputError(
                    str(path), f"face {i} of the FLAME model ({tri}) is not in the .obj; wrong UV file?"
                )
            uv_faces[i] = [corners[v] for v in tri]
    uvs = obj.uvs
    if uvs.min() < -1e-4 or uvs.max() > 1 + 1e-4:
        logger.warning("%s: UVs outside [0, 1] (range %.4g..%.4g) are clipped", path, uvs.min(), uvs.max())
    return np.clip(uvs, 0.0, 1.0), uv_faces


def cylindrical_uvs(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fallback UV layout: uvs [T, 2], uv_faces [F, 3].

    u = angle about the vertical (+y) axis through the bounding-box centre, 0.5 facing +z, the seam behind the
    head (-z); v = normalised height. Faces straddling the seam get duplicated UV vertices shifted by +1 in u, and
    u is then rescaled into [0, 1]. Overlaps (eyeballs over the eyelids, the poles) are not resolved.
    """
    lo, hi = vertices.min(0), vertices.max(0)
    c = (lo + hi) / 2
    u = np.arctan2(vertices[:, 0] - c[0], vertices[:, 2] - c[2]) / (2 * math.pi) + 0.5
    v = (vertices[:, 1] - lo[1]) / max(hi[1] - lo[1], 1e-12)
    uvs = [np.stack([u, v], 1)]
    uv_faces = faces.copy()
    cu = u[faces]  # [F, 3]
    seam = (cu.max(1) - cu.min(1)) > 0.5
    extra: dict[int, int] = {}
    n = u.shape[0]
    for fi in np.nonzero(seam)[0]:
        for k in range(3):
            vid = int(faces[fi, k])
            if u[vid] < 0.5:
                if vid not in extra:
                    extra[vid] = n + len(extra)
                uv_faces[fi, k] = extra[vid]
    if extra:
        ids = np.fromiter(extra.keys(), dtype=np.int64)
        uvs.append(np.stack([u[ids] + 1.0, v[ids]], 1))
    uvs = np.concatenate(uvs, 0)
    uvs[:, 0] /= max(uvs[:, 0].max(), 1.0)
    return np.clip(uvs, 0.0, 1.0), uv_faces


# ----------------------------------------------------------------------------------------------------------------
# Regions


def _load_region_masks(path, V: int) -> dict[str, np.ndarray]:
    """Boolean vertex masks [V] per region of ``REGIONS`` from a FLAME_masks.pkl (name -> vertex indices)."""
    data = load_pickle(path)
    if not isinstance(data, dict):
        raise GaspInputError(
            str(path), f"expected a pickled dict of region -> vertex indices, got {type(data).__name__}"
        )
    sets = {r: np.zeros(V, dtype=bool) for r in REGIONS}
    used = 0
    for key, value in data.items():
        region = MASK_TO_REGION.get(str(key))
        if region is None:
            logger.info("%s: ignoring mask %r (no matching region)", path, key)
            continue
        idx = np.asarray(value)
        if idx.dtype == object or not np.issubdtype(idx.dtype, np.integer) or idx.ndim != 1:
            raise GaspInputError(str(path), f"key {key!r}: expected a 1-D integer vertex index array, got "
                                            f"{idx.dtype} {list(idx.shape)}")
        if idx.size and (idx.min() < 0 or idx.max() >= V):
            raise GaspInputError(str(path), f"key {key!r}: vertex index out of range [0, {V})")
        sets[region][idx] = True
        used += 1
    if used == 0:
        raise GaspInputError(str(path), f"no known region masks (expected some of {', '.join(sorted(MASK_TO_REGION))})")
    return sets


def geometric_vertex_regions(vertices: np.ndarray, faces: np.ndarray, joints: np.ndarray) -> dict[str, np.ndarray]:
    """Rough fallback region masks (boolean [V] per region) from geometry alone.

    eyes: every connected component except the largest (FLAME's eyeballs are separate components).
    On the largest component, with its bounding box normalised to xn in [-1, 1], yn in [0, 1] (bottom to top),
    zn in [-1, 1] (back to front): neck: yn < 0.2; ears: |xn| > 0.85 and 0.3 < yn < 0.7; mouth: zn > 0.5,
    |xn| < 0.35 and yn between 0.25 and the jaw joint's height; face: zn > 0.2 and yn < 0.8; scalp: the rest.
    ``joints`` [5, 3] are the template's regressed joints.
    """
    V = vertices.shape[0]
    comp = _components(faces, V)
    sizes = np.bincount(comp, minlength=comp.max() + 1)
    main = comp == sizes.argmax()
    sets = {r: np.zeros(V, dtype=bool) for r in REGIONS}
    sets["eyes"] = ~main
    lo, hi = vertices[main].min(0), vertices[main].max(0)
    half = np.maximum((hi - lo) / 2, 1e-12)
    c = (lo + hi) / 2
    xn = (vertices[:, 0] - c[0]) / half[0]
    yn = (vertices[:, 1] - lo[1]) / (2 * half[1])
    zn = (vertices[:, 2] - c[2]) / half[2]
    jaw_y = float(np.clip((joints[2, 1] - lo[1]) / (2 * half[1]), 0.3, 0.6))
    taken = ~main
    for region, rule in (
        ("neck", yn < 0.2),
        ("ears", (np.abs(xn) > 0.85) & (yn > 0.3) & (yn < 0.7)),
        ("mouth", (zn > 0.5) & (np.abs(xn) < 0.35) & (yn > 0.25) & (yn < jaw_y)),
        ("face", (zn > 0.2) & (yn < 0.8)),
    ):
        sets[region] = rule & ~taken
        taken |= sets[region]
    sets["scalp"] = ~taken
    return sets


def _components(faces: np.ndarray, V: int) -> np.ndarray:
    """Connected-component label [V] of each vertex."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    i = faces[:, [0, 1, 2]].ravel()
    j = faces[:, [1, 2, 0]].ravel()
    graph = coo_matrix((np.ones(i.size), (i, j)), shape=(V, V))
    return connected_components(graph, directed=False)[1]


def faces_to_regions(faces: np.ndarray, vertex_sets: dict[str, np.ndarray]) -> np.ndarray:
    """Region index [F] into ``REGIONS`` for faces [F, 3] from boolean vertex masks (see ``FlameHead``'s rules)."""
    F = faces.shape[0]
    label = np.full(F, -1, dtype=np.int64)
    for region in REGION_PRECEDENCE:
        inside = vertex_sets[region][faces].all(1) & (label < 0)
        label[inside] = REGIONS.index(region)
    left = np.nonzero(label < 0)[0]
    if left.size:
        counts = np.stack([vertex_sets[r][faces[left]].sum(1) for r in REGION_PRECEDENCE], 1)  # [L, R]
        # argmax returns the first maximum, i.e. ties go to the earlier region in REGION_PRECEDENCE.
        best = np.array([REGIONS.index(r) for r in REGION_PRECEDENCE])[counts.argmax(1)]
        best[counts.max(1) == 0] = REGIONS.index("scalp")
        label[left] = best
    return label


# ----------------------------------------------------------------------------------------------------------------
# Landmarks


def _load_landmarks(path, F: int) -> tuple[np.ndarray, np.ndarray]:
    """Landmark faces [68] int64 and barycentrics [68, 3] float64 from DECA's landmark_embedding.npy."""
    data = load_npy_object(path)
    if not isinstance(data, dict):
        raise GaspInputError(
            str(path), f"expected a pickled dict (DECA landmark_embedding.npy), got {type(data).__name__}"
        )
    for key in ("full_lmk_faces_idx", "full_lmk_bary_coords"):
        if key not in data:
            raise GaspInputError(str(path), f"key {key!r}: missing (need the 68-point 'full_' embedding)")
    fi = np.asarray(data["full_lmk_faces_idx"])
    bc = np.asarray(data["full_lmk_bary_coords"])
    if fi.dtype == object or not np.issubdtype(fi.dtype, np.integer) or fi.size != NUM_LANDMARKS \
            or fi.ndim not in (1, 2):
        raise GaspInputError(
            str(path), f"key 'full_lmk_faces_idx': expected integer [1, 68], got {fi.dtype} {list(fi.shape)}"
        )
    if bc.dtype == object or not np.issubdtype(bc.dtype, np.floating) or bc.shape[-2:] != (NUM_LANDMARKS, 3) \
            or bc.size != NUM_LANDMARKS * 3:
        raise GaspInputError(
            str(path), f"key 'full_lmk_bary_coords': expected float [1, 68, 3], got {bc.dtype} {list(bc.shape)}"
        )
    fi = fi.reshape(NUM_LANDMARKS).astype(np.int64)
    bc = bc.reshape(NUM_LANDMARKS, 3).astype(np.float64)
    if fi.min() < 0 or fi.max() >= F:
        raise GaspInputError(str(path), f"key 'full_lmk_faces_idx': face index out of range [0, {F})")
    if not np.isfinite(bc).all():
        raise GaspInputError(str(path), "key 'full_lmk_bary_coords': contains NaN/Inf")
    return fi, bc
