"""Write small FLAME-format files for tests (no FLAME download, no chumpy).

``write_flame_fixture(directory, variant)`` writes:

- ``model.pkl`` structured like the official FLAME file: a dict with 'v_template' [V, 3] float64, 'f' [F, 3]
  uint32, 'shapedirs' [V, 3, 400] (300 identity + 100 expression, random), 'posedirs' [V, 3, 36] float64,
  'J_regressor' scipy.sparse.csc_matrix [5, V], 'weights' [V, 5], 'kintree_table' [2, 5] int64 (root parent
  4294967295), 'J' [5, 3], 'bs_style' 'lbs', 'bs_type' 'lrotmin'.
  variant "2020": pickle protocol 2 with 'shapedirs' a chumpy ``Ch`` (class global ``chumpy.ch.Ch``, state = the
  Ch ``__dict__`` without ``_parents``/``_cache``, value under 'x'), written by Python 3.
  variant "2023": same keys; 'shapedirs' a plain ndarray and 'posedirs' a chumpy Ch, so both storage paths are
  exercised (how the real 2023 file stores each key is not verified here; the loader accepts either).
  variant "2020-py2": the "2020" content emitted opcode by opcode the way Python 2 wrote it (raw array bytes as
  8-bit strings, ``numpy.core.multiarray`` / ``scipy.sparse.csc`` / ``__builtin__.set`` globals), to check
  ``encoding='latin1'`` loading.
- ``head_template.obj``: the template with per-corner UVs (``f v/vt``); optionally faces shuffled and corners
  rotated, to test re-alignment.
- ``FLAME_masks.pkl``: region name -> vertex indices (FLAME's names).
- ``landmark_embedding.npy``: ``np.save`` of a dict with 'full_lmk_faces_idx' [1, 68] and
  'full_lmk_bary_coords' [1, 68, 3] (as DECA's file), plus 'static_*' extras.

Mesh: an ellipsoidal head (icosphere, 2 subdivisions, 162 vertices) plus two eyeball icospheres (1 subdivision,
42 vertices each) as separate components, like FLAME's eyeballs: V = 246, F = 480. Units metres, +y up, +z front,
+x the subject's left (left eyeball at +x).
"""

from __future__ import annotations

import contextlib
import pickle
import struct
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

N_SHAPE, N_EXPR = 300, 100
ROOT_PARENT = 4294967295


# ------------------------------------------------------------------------------------------------ mesh


def icosphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit icosphere: vertices [V, 3] float64, faces [F, 3] int64 (counter-clockwise seen from outside)."""
    t = (1 + 5 ** 0.5) / 2
    v = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t), (0, -1, -t), (0, 1, -t),
         (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]
    f = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2), (10, 7, 6),
         (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10),
         (8, 6, 7), (9, 8, 1)]
    verts = [np.array(p, dtype=np.float64) / np.linalg.norm(p) for p in v]
    faces = list(f)
    for _ in range(subdivisions):
        cache: dict[tuple[int, int], int] = {}

        def mid(a, b):
            key = (min(a, b), max(a, b))
            if key not in cache:
                m = verts[a] + verts[b]
                verts.append(m / np.linalg.norm(m))
                cache[key] = len(verts) - 1
            return cache[key]

        new = []
        for a, b, c in faces:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            new += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = new
    return np.stack(verts), np.asarray(faces, dtype=np.int64)


@dataclass
class FlameFixture:
    """Paths written by ``write_flame_fixture`` and the arrays they hold (float64 unless noted)."""

    model_path: Path
    uv_obj_path: Path
    masks_path: Path
    landmark_path: Path
    v_template: np.ndarray  # [V, 3]
    f: np.ndarray  # [F, 3] int64
    shapedirs: np.ndarray  # [V, 3, 400]
    posedirs: np.ndarray  # [V, 3, 36]
    J_regressor: np.ndarray  # [5, V] dense
    weights: np.ndarray  # [V, 5]
    kintree_table: np.ndarray  # [2, 5] int64
    masks: dict = field(default_factory=dict)  # name -> int64 vertex indices
    uv_corners: np.ndarray | None = None  # [F, 3, 2]: UV of each corner of each model face
    lmk_faces: np.ndarray | None = None  # [68] int64
    lmk_bary: np.ndarray | None = None  # [68, 3]


def make_flame_arrays(seed: int = 0) -> dict:
    """The FLAME-format arrays of the fixture mesh (see the module docstring)."""
    rng = np.random.default_rng(seed)
    hv, hf = icosphere(2)
    hv = hv * np.array([0.08, 0.11, 0.10])
    ev, ef = icosphere(1)
    eye_r, eye_centres = 0.012, np.array([[0.032, 0.035, 0.08], [-0.032, 0.035, 0.08]])
    verts = [hv, ev * eye_r + eye_centres[0], ev * eye_r + eye_centres[1]]
    faces = [hf, ef + len(hv), ef + len(hv) + len(ev)]
    v_template = np.concatenate(verts)
    f = np.concatenate(faces)
    V, nh, ne = len(v_template), len(hv), len(ev)
    left_eye = np.arange(nh, nh + ne)
    right_eye = np.arange(nh + ne, nh + 2 * ne)

    J_reg = np.zeros((5, V))
    targets = np.array([[0.0, -0.09, -0.02], [0.0, -0.06, -0.02], [0.0, -0.03, 0.03]])
    for j, tgt in enumerate(targets):
        d = np.linalg.norm(hv - tgt, axis=1)
        near = np.argsort(d)[:4]
        w = 1.0 / (d[near] + 1e-3)
        J_reg[j, near] = w / w.sum()
    J_reg[3, left_eye] = 1.0 / ne
    J_reg[4, right_eye] = 1.0 / ne

    weights = np.zeros((V, 5))
    weights[:nh, :3] = rng.uniform(0.05, 1.0, size=(nh, 3))
    weights[:nh, 3:] = rng.uniform(0.0, 0.05, size=(nh, 2))
    weights[:nh] /= weights[:nh].sum(1, keepdims=True)
    weights[left_eye, 3] = 1.0
    weights[right_eye, 4] = 1.0
    return {
        "v_template": v_template,
        "f": f.astype(np.uint32),
        "shapedirs": rng.normal(scale=1e-3, size=(V, 3, N_SHAPE + N_EXPR)),
        "posedirs": rng.normal(scale=1e-3, size=(V, 3, 36)),
        "J_regressor": sp.csc_matrix(J_reg),
        "weights": weights,
        "kintree_table": np.array([[ROOT_PARENT, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.int64),
        "J": J_reg @ v_template,
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


# ------------------------------------------------------------------------------------------------ chumpy stand-in


class FakeCh:
    """Pickles exactly like a plain ``chumpy.ch.Ch`` holding ``x`` (global ``chumpy.ch.Ch``, NEWOBJ, dict state)."""

    def __init__(self, x: np.ndarray):
        # The attributes a plain Ch carries after construction (_parents/_cache are dropped by Ch.__getstate__).
        self.__dict__.update({"_dirty_vars": set(), "_itr": None, "_depends_on_deps": {}, "_make_dense": False,
                              "_make_sparse": False, "x": x})

    def __getstate__(self):
        return dict(self.__dict__)


FakeCh.__module__ = "chumpy.ch"
FakeCh.__qualname__ = "Ch"
FakeCh.__name__ = "Ch"


@contextlib.contextmanager
def _chumpy_modules_as_fake():
    """Temporarily make ``chumpy.ch.Ch`` resolve to ``FakeCh`` so the pickler can name it (restored after)."""
    saved = {n: sys.modules.get(n) for n in ("chumpy", "chumpy.ch")}
    pkg, mod = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")
    mod.Ch = FakeCh
    pkg.ch = mod
    pkg.Ch = FakeCh
    sys.modules["chumpy"], sys.modules["chumpy.ch"] = pkg, mod
    try:
        yield
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


def dump_protocol2(obj, path: Path) -> None:
    """``pickle.dump(obj, protocol=2)`` with ``FakeCh`` instances written as ``chumpy.ch.Ch``."""
    with _chumpy_modules_as_fake(), open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=2)


# ------------------------------------------------------------------------------------------------ Python-2 emitter


def _s(b: bytes) -> bytes:
    """A Python-2 8-bit string (SHORT_BINSTRING / BINSTRING)."""
    return (b"U" + bytes([len(b)]) + b) if len(b) < 256 else (b"T" + struct.pack("<i", len(b)) + b)


def _int(n: int) -> bytes:
    return b"J" + struct.pack("<i", n) if -(2 ** 31) <= n < 2 ** 31 else b"\x8a\x08" + struct.pack("<q", n)


def _py2_dtype(dt: np.dtype) -> bytes:
    order = b"|" if dt.itemsize == 1 else b"<"
    return (b"cnumpy\ndtype\n" + _s(dt.str[1:].encode()) + b"K\x00K\x01\x87R"
            + b"(K\x03" + _s(order) + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")


def _py2_array(a: np.ndarray) -> bytes:
    a = np.ascontiguousarray(a)
    a = a.astype(a.dtype.newbyteorder("<"))
    shape = b"(" + b"".join(_int(n) for n in a.shape) + b"t"
    return (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + b"K\x00\x85" + _s(b"b") + b"\x87R"
            + b"(K\x01" + shape + _py2_dtype(a.dtype) + b"\x89" + _s(a.tobytes()) + b"tb")


def _py2_value(v) -> bytes:
    if isinstance(v, FakeCh):
        state = b"}(" + b"".join(_s(k.encode()) + _py2_value(x) for k, x in v.__dict__.items()) + b"u"
        return b"cchumpy.ch\nCh\n)\x81" + state + b"b"
    if sp.issparse(v):
        m = sp.csc_matrix(v)
        st = {"_shape": m.shape, "maxprint": 50, "indices": m.indices.astype(np.int32),
              "indptr": m.indptr.astype(np.int32), "data": m.data, "format": "csc"}
        body = b"".join(_s(k.encode()) + _py2_value(x) for k, x in st.items())
        return b"cscipy.sparse.csc\ncsc_matrix\n)\x81}(" + body + b"ub"
    if isinstance(v, np.ndarray):
        return _py2_array(v)
    if isinstance(v, set):
        return b"c__builtin__\nset\n]" + (b"(" + b"".join(_py2_value(x) for x in v) + b"e" if v else b"") + b"\x85R"
    if isinstance(v, dict):
        return b"}(" + b"".join(_py2_value(k) + _py2_value(x) for k, x in v.items()) + b"u"
    if isinstance(v, tuple):
        return b"(" + b"".join(_py2_value(x) for x in v) + b"t"
    if isinstance(v, bool):
        return b"\x88" if v else b"\x89"
    if isinstance(v, int):
        return _int(v)
    if isinstance(v, str):
        return _s(v.encode("latin1"))
    if v is None:
        return b"N"
    raise TypeError(type(v))


def python2_pickle_bytes(obj) -> bytes:
    """Protocol-2 bytes as Python 2 + NumPy 1.x + old SciPy wrote them (FakeCh -> chumpy.ch.Ch)."""
    return b"\x80\x02" + _py2_value(obj) + b"."


# ------------------------------------------------------------------------------------------------ the fixture


def write_flame_fixture(
    directory, variant: str = "2020", shuffle_obj_faces: bool = False, seed: int = 0
) -> FlameFixture:
    """Write model.pkl, head_template.obj, FLAME_masks.pkl and landmark_embedding.npy under ``directory``."""
    if variant not in ("2020", "2023", "2020-py2"):
        raise ValueError(variant)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = make_flame_arrays(seed)
    rng = np.random.default_rng(seed + 1)
    stored = dict(arrays)
    if variant == "2023":
        stored["posedirs"] = FakeCh(arrays["posedirs"])
    else:
        stored["shapedirs"] = FakeCh(arrays["shapedirs"])
    model_path = directory / "model.pkl"
    if variant == "2020-py2":
        model_path.write_bytes(python2_pickle_bytes(stored))
    else:
        dump_protocol2(stored, model_path)

    v_template, f = arrays["v_template"], arrays["f"].astype(np.int64)
    F = len(f)
    # UV obj: one vt per face corner (so uv indices differ from vertex indices).
    uv_corners = rng.uniform(0.0, 1.0, size=(F, 3, 2))
    order = rng.permutation(F) if shuffle_obj_faces else np.arange(F)
    lines = ["# fixture FLAME head_template.obj"]
    lines += [f"v {x:.10f} {y:.10f} {z:.10f}" for x, y, z in v_template]
    lines += [f"vt {u:.10f} {v:.10f}" for u, v in uv_corners.reshape(-1, 2)]
    for i in order:
        corners = [(f[i, k] + 1, 3 * i + k + 1) for k in range(3)]
        if shuffle_obj_faces:
            r = int(i) % 3
            corners = corners[r:] + corners[:r]
        lines.append("f " + " ".join(f"{a}/{b}" for a, b in corners))
    uv_obj_path = directory / "head_template.obj"
    uv_obj_path.write_text("\n".join(lines) + "\n")
    # round to what the obj holds
    uv_corners = np.round(uv_corners, 10)

    V = len(v_template)
    nh = V - 84
    x, y, z = v_template[:nh].T
    head = np.arange(nh)
    masks = {
        "left_eyeball": np.arange(nh, nh + 42),
        "right_eyeball": np.arange(nh + 42, nh + 84),
        "lips": head[(z > 0.05) & (np.abs(x) < 0.045) & (y > -0.08) & (y < -0.02)],
        "left_ear": head[x > 0.065],
        "right_ear": head[x < -0.065],
        "neck": head[y < -0.085],
        "boundary": head[y < -0.105],
        "face": head[z > 0.03],
        "nose": head[(z > 0.09) & (np.abs(x) < 0.02)],
        "scalp": head[(z <= 0.03) & (np.abs(x) <= 0.065) & (y >= -0.085)],
        "eye_region": head[(z > 0.06) & (y > 0.0) & (y < 0.06)],
    }
    masks_path = directory / "FLAME_masks.pkl"
    dump_protocol2({k: v.astype(np.int64) for k, v in masks.items()}, masks_path)

    lmk_faces = rng.integers(0, F, size=68)
    lmk_bary = rng.uniform(0.05, 1.0, size=(68, 3))
    lmk_bary /= lmk_bary.sum(1, keepdims=True)
    landmark_path = directory / "landmark_embedding.npy"
    np.save(landmark_path, {
        "static_lmk_faces_idx": lmk_faces[17:].astype(np.int64),
        "static_lmk_bary_coords": lmk_bary[17:],
        "full_lmk_faces_idx": lmk_faces[None].astype(np.int64),
        "full_lmk_bary_coords": lmk_bary[None],
    }, allow_pickle=True)

    return FlameFixture(
        model_path=model_path, uv_obj_path=uv_obj_path, masks_path=masks_path, landmark_path=landmark_path,
        v_template=v_template, f=f, shapedirs=arrays["shapedirs"], posedirs=arrays["posedirs"],
        J_regressor=arrays["J_regressor"].toarray(), weights=arrays["weights"],
        kintree_table=arrays["kintree_table"], masks=masks, uv_corners=uv_corners,
        lmk_faces=lmk_faces.astype(np.int64), lmk_bary=lmk_bary,
    )
