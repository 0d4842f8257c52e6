"""Stand-alone MediaPipe worker (needs only numpy and mediapipe <= 0.10.21, whose wheel ships the models).

Run by ``gasp_ops.capture.mediapipe_backend`` either in-process (``run``) or, when mediapipe cannot be installed
beside the project (it pins numpy < 2), as ``python mediapipe_worker.py IN.npz OUT.npz`` with a separate Python
that has it (``GASP_MEDIAPIPE_PYTHON``). This file imports nothing from the project so it runs there as is.

IN.npz: images uint8 [N, H, W, 3] RGB; tasks: str array with any of "mesh", "faces", "segment".
OUT.npz: mesh float64 [N, 478, 2] pixel coordinates (pixel centres at +0.5; NaN where no face), faces int [N]
(faces found, at most 1 is tracked), boxes float64 [N, 16, 4] every face mesh's bounding box (NaN rows: none),
segment float32 [N, H, W] in [0, 1] (person probability).
"""

from __future__ import annotations

import sys

import numpy as np


def run(images: np.ndarray, tasks=("mesh", "segment")) -> dict:
    import mediapipe as mp

    images = np.asarray(images)
    N, H, W = images.shape[:3]
    out = {"faces": np.zeros(N, np.int64)}
    if "mesh" in tasks:
        mesh = np.full((N, 478, 2), np.nan)
        with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True,
                                             min_detection_confidence=0.5) as fm:
            for i in range(N):
                res = fm.process(np.ascontiguousarray(images[i]))
                if res.multi_face_landmarks:
                    out["faces"][i] = len(res.multi_face_landmarks)
                    pts = res.multi_face_landmarks[0].landmark
                    # normalised [0, 1] image coordinates (0 = left edge) -> pixels, centres at +0.5
                    mesh[i] = np.array([[p.x * W, p.y * H] for p in pts])
        out["mesh"] = mesh
    if "faces" in tasks:  # every face's mesh bounding box (left, top, right, bottom) in pixels, up to 16
        boxes = np.full((N, 16, 4), np.nan)
        with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=16, refine_landmarks=False,
                                             min_detection_confidence=0.5) as fm:
            for i in range(N):
                res = fm.process(np.ascontiguousarray(images[i]))
                for j, face in enumerate((res.multi_face_landmarks or [])[:16]):
                    xy = np.array([[p.x * W, p.y * H] for p in face.landmark])
                    boxes[i, j] = [*xy.min(0), *xy.max(0)]
        out["boxes"] = boxes
    if "segment" in tasks:
        seg = np.zeros((N, H, W), np.float32)
        with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as ss:
            for i in range(N):
                res = ss.process(np.ascontiguousarray(images[i]))
                seg[i] = np.clip(res.segmentation_mask, 0, 1)
        out["segment"] = seg
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: mediapipe_worker.py IN.npz OUT.npz", file=sys.stderr)
        return 2
    with np.load(argv[0]) as data:
        images, tasks = data["images"], [str(t) for t in data["tasks"]]
    np.savez(argv[1], **run(images, tasks))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
