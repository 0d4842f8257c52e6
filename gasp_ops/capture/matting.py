"""Matting backends behind one call: ``plate``, ``provided``, ``grabcut``, ``rvm`` (see the ``matting_*`` modules).

``compute_mattes(backend, frames, ...) -> alpha [T, H, W] float32`` for one camera's frames [T, H, W, 3] uint8.
"""

from __future__ import annotations

import numpy as np

from gasp_ops.errors import GaspInputError

BACKENDS = ("plate", "provided", "grabcut", "rvm")


def compute_mattes(backend: str, frames: np.ndarray, *, plate: np.ndarray | None = None,
                   provided: np.ndarray | None = None, seeds: list[tuple[np.ndarray, np.ndarray]] | None = None,
                   rvm_model=None, source: str = "frames") -> np.ndarray:
    """Alpha mattes [T, H, W] float32 in [0, 1].

    plate: uint8 [H, W, 3] clean background (``plate``); provided: [T, H, W] alpha maps on disk (``provided``);
    seeds: per frame (sure_fg [H, W] bool, probable_fg [H, W] bool) from the tracked head (``grabcut``);
    rvm_model: a loaded RVM TorchScript module (``rvm``). ``source`` names the input in errors.
    """
    T, H, W = frames.shape[:3]
    if backend == "plate":
        if plate is None:
            raise GaspInputError(source, "matting 'plate' needs the camera's background image (BACKGROUND/image_*.jpg)")
        from gasp_ops.capture.matting_plate import plate_matte

        return np.stack([plate_matte(f, plate) for f in frames])
    if backend == "provided":
        if provided is None:
            raise GaspInputError(source, "matting 'provided' needs alpha maps on disk (alpha_maps/cam_*.mp4)")
        provided = np.asarray(provided, np.float32)
        if provided.shape != (T, H, W):
            raise GaspInputError(source, f"alpha maps have shape {list(provided.shape)}, frames {[T, H, W]}")
        return np.clip(provided, 0, 1)
    if backend == "grabcut":
        if seeds is None or len(seeds) != T:
            raise GaspInputError(source, "matting 'grabcut' needs per-frame seeds from the tracked head")
        from gasp_ops.capture.matting_grabcut import grabcut_matte

        return np.stack([grabcut_matte(f, s, p) for f, (s, p) in zip(frames, seeds)])
    if backend == "rvm":
        if rvm_model is None:
            raise GaspInputError(source, "matting 'rvm' needs the path of a RobustVideoMatting TorchScript file")
        from gasp_ops.capture.matting_rvm import rvm_mattes

        return rvm_mattes(rvm_model, frames)
    raise GaspInputError("matting", f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
