"""MediaPipe (<= 0.10.21, Apache-2.0; its wheel ships the face-mesh-with-iris and selfie-segmentation models) as an
optional backend for landmarks and mattes.

mediapipe 0.10.21 pins numpy < 2 and protobuf < 5 and pulls opencv-contrib-python: installed into the project's
environment, pip would downgrade numpy 2.x -> 1.26.4 and protobuf 6 -> 4.25 and lay opencv-contrib-python's ``cv2``
over opencv-python-headless's, so it is deliberately not a project extra. Two ways to use it, tried in this order:

1. in-process, when ``import mediapipe`` works (an environment built around numpy 1);
2. a side environment: ``python3 -m venv ~/mp && ~/mp/bin/pip install mediapipe==0.10.21`` and
   ``export GASP_MEDIAPIPE_PYTHON=~/mp/bin/python``; images go to it through a temporary .npz file
   (``mediapipe_worker.py``, which imports nothing from this project).

Landmarks: the 478-point face mesh is reduced to the iBUG-68 convention the tracker uses by ``MESH_TO_68``: for each
of the 68 points, mesh vertices and weights fitted on synthetic *training* renders (``real_proxy`` identities
5000..5039, seed 1; ``benchmarks/cpu_matte_landmarks.py --fit-map``), disjoint from the held-out benchmark images.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from gasp_ops.errors import GaspInputError, GaspUnavailableError

ENV_PYTHON = "GASP_MEDIAPIPE_PYTHON"


def mediapipe_mode() -> str | None:
    """'in-process', 'side-env' (``$GASP_MEDIAPIPE_PYTHON``) or None when mediapipe cannot be used here."""
    if importlib.util.find_spec("mediapipe") is not None:
        return "in-process"
    exe = os.environ.get(ENV_PYTHON, "").strip()
    if exe and Path(exe).is_file():
        return "side-env"
    return None


def run_mediapipe(images: np.ndarray, tasks=("mesh", "segment")) -> dict:
    """``mediapipe_worker.run`` on uint8 RGB images [N, H, W, 3] in-process or in the side environment."""
    from gasp_ops.capture import mediapipe_worker

    mode = mediapipe_mode()
    images = np.ascontiguousarray(np.asarray(images, np.uint8))
    if mode == "in-process":
        return mediapipe_worker.run(images, tasks)
    if mode is None:
        raise GaspUnavailableError(f"mediapipe is not installed here and ${ENV_PYTHON} is not set "
                                   "(see gasp_ops/capture/mediapipe_backend.py)")
    with tempfile.TemporaryDirectory(prefix="gasp_mp_") as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(src, images=images, tasks=np.array(list(tasks)))
        proc = subprocess.run([os.environ[ENV_PYTHON], mediapipe_worker.__file__, str(src), str(dst)],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 or not dst.is_file():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise GaspUnavailableError(f"mediapipe side environment ${ENV_PYTHON} failed: {last}")
        with np.load(dst) as out:
            return {k: out[k] for k in out.files}


@functools.lru_cache(maxsize=1)
def mesh_to_68() -> tuple[np.ndarray, np.ndarray]:
    """(vertex indices [68, k] int, weights [68, k] float, rows sum to 1) of the 478-point mesh
    (``mediapipe_68.py``, written by ``benchmarks/cpu_matte_landmarks.py --fit-map``)."""
    from gasp_ops.capture.mediapipe_68 import VERTICES, WEIGHTS

    return np.asarray(VERTICES, np.int64), np.asarray(WEIGHTS, np.float64)


def mesh_landmarks_68(mesh: np.ndarray) -> np.ndarray:
    """iBUG-68 points [..., 68, 2] from face-mesh points [..., 478, 2] (NaN stays NaN)."""
    idx, w = mesh_to_68()
    return np.einsum("...lkd,lk->...ld", mesh[..., idx, :], w)


def detect_landmarks_mediapipe(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(iBUG-68 landmarks [N, 68, 2] NaN where no face, face mesh [N, 478, 2]) for images [N, H, W, 3]."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise GaspInputError("images", f"expected uint8 [N, H, W, 3], got {images.dtype} {list(images.shape)}")
    mesh = run_mediapipe(images, ("mesh",))["mesh"]
    return mesh_landmarks_68(mesh), mesh


__all__ = ["ENV_PYTHON", "detect_landmarks_mediapipe", "mediapipe_mode", "mesh_landmarks_68", "run_mediapipe"]
