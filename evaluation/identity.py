"""ID-SIM (GASP §6): cosine similarity of face-recognition embeddings of render and ground truth.

Backend: insightface ArcFace when a model pack is installed, else dlib's 128-d ``face_recognition_model_v1``.
Faces are found by dlib's HOG detector; when none is found (small renders) the head-mask box (or the whole image)
is used as the face box, and the backend string says so.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from evaluation.weights import DLIB_RECOGNITION, DLIB_SHAPE_5, dlib_models, insightface_pack


def _uint8(img) -> np.ndarray:
    a = np.asarray(img.detach().cpu().numpy() if hasattr(img, "detach") else img)
    if a.dtype != np.uint8:
        a = (np.clip(a.astype(np.float32), 0, 1) * 255 + 0.5).astype(np.uint8)
    if a.ndim == 2:
        a = np.stack([a] * 3, -1)
    return np.ascontiguousarray(a[..., :3])


class DlibEmbedder:
    name = "dlib_face_recognition_resnet_model_v1"

    def __init__(self, folder: str):
        import dlib

        self._dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.shape = dlib.shape_predictor(str(Path(folder) / DLIB_SHAPE_5))
        self.net = dlib.face_recognition_model_v1(str(Path(folder) / DLIB_RECOGNITION))

    def embed(self, img, box=None) -> tuple[np.ndarray, str]:
        """(unit 128-d embedding, how the face was found: 'detected' | 'mask_box' | 'full_frame')."""
        a = _uint8(img)
        h, w = a.shape[:2]
        up = 1 if max(h, w) < 400 else 0
        dets = self.detector(a, up)
        if len(dets):
            rect, how = max(dets, key=lambda r: r.width() * r.height()), "detected"
        elif box is not None:
            x0, y0, x1, y1 = (int(v) for v in box)
            rect, how = self._dlib.rectangle(x0, y0, x1, y1), "mask_box"
        else:
            rect, how = self._dlib.rectangle(0, 0, w - 1, h - 1), "full_frame"
        shape = self.shape(a, rect)
        v = np.asarray(self.net.compute_face_descriptor(a, shape), dtype=np.float64)
        return v / max(np.linalg.norm(v), 1e-12), how


class ArcFaceEmbedder:
    name = "insightface_arcface"

    def __init__(self, pack: str):
        from insightface.app import FaceAnalysis

        pack = Path(pack)
        self.app = FaceAnalysis(name=pack.name, root=str(pack.parent.parent), allowed_modules=["detection", "recognition"])
        self.app.prepare(ctx_id=-1, det_size=(320, 320))

    def embed(self, img, box=None) -> tuple[np.ndarray, str]:
        a = _uint8(img)[..., ::-1]  # BGR
        faces = self.app.get(np.ascontiguousarray(a))
        if not faces:
            raise ValueError("no face detected")
        f = max(faces, key=lambda f: (f.bbox[2] - f.bbox[0]) * (f.bbox[3] - f.bbox[1]))
        v = np.asarray(f.normed_embedding, dtype=np.float64)
        return v / max(np.linalg.norm(v), 1e-12), "detected"


@lru_cache(maxsize=2)
def face_embedder(prefer: str = "auto"):
    """(embedder or None, backend name, reason when None). prefer: auto | arcface | dlib."""
    if prefer in ("auto", "arcface"):
        pack = insightface_pack()
        if pack.available:
            try:
                return ArcFaceEmbedder(pack.path), ArcFaceEmbedder.name, ""
            except Exception as exc:  # a broken pack falls back to dlib
                if prefer == "arcface":
                    return None, "", f"insightface failed to load: {exc}"
        elif prefer == "arcface":
            return None, "", pack.reason
    d = dlib_models()
    if not d.available:
        return None, "", d.reason
    return DlibEmbedder(d.path), DlibEmbedder.name, ""


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def id_similarity(pred, target, box=None, embedder=None) -> tuple[float, str]:
    """(cosine similarity, backend note) of one render vs its ground truth (HxWx3, [0,1] float or uint8)."""
    if embedder is None:
        embedder, name, reason = face_embedder()
        if embedder is None:
            raise RuntimeError(reason)
    ea, how_a = embedder.embed(pred, box)
    eb, how_b = embedder.embed(target, box)
    how = how_a if how_a == how_b else f"{how_a}/{how_b}"
    return cosine(ea, eb), f"{embedder.name} ({how})"
