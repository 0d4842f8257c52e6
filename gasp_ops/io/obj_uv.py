"""Read a triangle mesh with a UV layout from a Wavefront ``.obj`` (e.g. FLAME's ``head_template.obj``).

Small and strict: ``v`` (x y z, extra colour columns ignored), ``vt`` (u v, optional w ignored) and triangle
``f`` entries of the form ``v/vt`` or ``v/vt/vn`` (1-based, or negative = relative to the end, as the OBJ spec
allows). ``vn``, ``o``, ``g``, ``s``, ``usemtl``, ``mtllib`` and comments are skipped; any other statement, a
non-triangle face, a face corner without a UV index, a malformed number or an out-of-range index raises
``GaspInputError`` naming the file and line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gasp_ops.errors import GaspInputError

_SKIPPED = {"vn", "vp", "o", "g", "s", "usemtl", "mtllib"}


@dataclass(frozen=True)
class ObjUV:
    """vertices: [V, 3] float64; uvs: [T, 2] float64; faces: [F, 3] int64 (0-based into vertices);
    uv_faces: [F, 3] int64 (0-based into uvs), corner-aligned with ``faces``."""

    vertices: np.ndarray
    uvs: np.ndarray
    faces: np.ndarray
    uv_faces: np.ndarray


def _index(token: str, count: int, path: Path, lineno: int, what: str) -> int:
    try:
        i = int(token)
    except ValueError:
        raise GaspInputError(str(path), f"line {lineno}: bad {what} index {token!r}") from None
    if i == 0:
        raise GaspInputError(str(path), f"line {lineno}: {what} index 0 (OBJ indices are 1-based)")
    j = i - 1 if i > 0 else count + i
    if not 0 <= j < count:
        raise GaspInputError(str(path), f"line {lineno}: {what} index {i} out of range (have {count})")
    return j


def read_obj_uv(path: str | os.PathLike) -> ObjUV:
    """Parse ``path`` into an ``ObjUV`` (see the module docstring for what is accepted)."""
    path = Path(path)
    if not path.is_file():
        raise GaspInputError(str(path), "file not found")
    verts: list[list[float]] = []
    uvs: list[list[float]] = []
    faces: list[list[int]] = []
    uv_faces: list[list[int]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GaspInputError(str(path), f"cannot read as text ({type(exc).__name__})") from None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        tag, *rest = line.split()
        try:
            if tag == "v":
                if len(rest) < 3:
                    raise ValueError("a vertex needs 3 coordinates")
                verts.append([float(t) for t in rest[:3]])
            elif tag == "vt":
                if len(rest) < 2:
                    raise ValueError("a UV needs 2 coordinates")
                uvs.append([float(t) for t in rest[:2]])
            elif tag == "f":
                if len(rest) != 3:
                    raise GaspInputError(str(path), f"line {lineno}: face with {len(rest)} corners (triangles only)")
                fv, ft = [], []
                for corner in rest:
                    parts = corner.split("/")
                    if len(parts) < 2 or parts[1] == "":
                        raise GaspInputError(str(path), f"line {lineno}: face corner {corner!r} has no UV index")
                    fv.append(_index(parts[0], len(verts), path, lineno, "vertex"))
                    ft.append(_index(parts[1], len(uvs), path, lineno, "UV"))
                faces.append(fv)
                uv_faces.append(ft)
            elif tag in _SKIPPED:
                continue
            else:
                raise GaspInputError(str(path), f"line {lineno}: unsupported OBJ statement {tag!r}")
        except ValueError as exc:
            if isinstance(exc, GaspInputError):
                raise
            raise GaspInputError(str(path), f"line {lineno}: {exc}") from None
    if not verts or not faces:
        raise GaspInputError(str(path), "no vertices or no faces")
    if not uvs:
        raise GaspInputError(str(path), "no 'vt' UV coordinates")
    out = ObjUV(
        vertices=np.asarray(verts, dtype=np.float64),
        uvs=np.asarray(uvs, dtype=np.float64),
        faces=np.asarray(faces, dtype=np.int64),
        uv_faces=np.asarray(uv_faces, dtype=np.int64),
    )
    if not (np.isfinite(out.vertices).all() and np.isfinite(out.uvs).all()):
        raise GaspInputError(str(path), "NaN/Inf in vertex or UV coordinates")
    return out
