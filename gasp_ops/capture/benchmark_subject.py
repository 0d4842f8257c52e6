"""Reading a subject in the NeRSemble *benchmark* layout (``benchmark``: images, alpha-map videos and the provided
3DMM tracking ``.npz`` per sequence) into the project's frame table, without running the tracker.

This is how the paper's benchmark evaluation gets its inputs: the benchmark ships alpha maps (matting
``provided``) and per-frame tracking; only the frames are resized and written like ``preprocess_nersemble`` writes
them (``outputs.write_sequence``), so fitting and evaluation read the same ``frames.parquet``. Landmarks are still
detected (dlib) so the table's ``landmark_error_px`` measures how well the provided tracking agrees with them; where
dlib or its landmark model is not installed (e.g. a GPU machine) that column is NaN and the report says why.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gasp_ops.cameras import Cameras
from gasp_ops.capture.benchmark import alpha_map_path, load_alpha_maps, load_tracking_npz, tracking_path
from gasp_ops.capture.matting import compute_mattes
from gasp_ops.capture.nersemble import NersembleSubject, resize_image
from gasp_ops.capture.preprocess import (PreprocessReport, commit_sequence, detect_all, finish_report,
                                         load_sequence)
from gasp_ops.capture.projection import project
from gasp_ops.capture.tracking import TrackingResult
from gasp_ops.errors import GaspInputError, GaspUnavailableError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.pose import HeadPose


def provided_tracking(head: HeadModel, path: Path, frames: list[int], cameras: Cameras,
                      detected: np.ndarray) -> TrackingResult:
    """A ``TrackingResult`` from the benchmark tracking file ``path`` for video frames ``frames`` (T), seen by
    ``cameras`` (C); detected [T, C, 68, 2] dlib landmarks (NaN: none). Errors name the file and the frame."""
    tr = load_tracking_npz(path)
    if tr["shape"].shape[1] != head.n_identity or tr["expression"].shape[1] != head.n_expression:
        raise GaspInputError(str(path), f"tracking has {tr['shape'].shape[1]} identity / {tr['expression'].shape[1]} "
                             f"expression components; the head model has {head.n_identity} / {head.n_expression}")
    row_of = {int(f): i for i, f in enumerate(tr["frames"])}
    missing = [f for f in frames if f not in row_of]
    if missing:
        raise GaspInputError(str(path), f"no tracking for video frame(s) {missing[:5]}")
    rows = [row_of[f] for f in frames]
    t = lambda k: torch.as_tensor(tr[k][rows])  # noqa: E731
    T = len(frames)
    identity = torch.as_tensor(tr["shape"][0])
    pose = HeadPose(rotation=t("rotation"), translation=t("translation"), neck=t("neck"), jaw=t("jaw"), eyes=t("eyes"))
    expression = t("expression")
    with torch.no_grad():
        vertices = head(identity[None].expand(T, -1), expression, pose)
        lm2d, _ = project(head.landmarks(vertices), cameras)
    return TrackingResult(identity=identity, expression=expression, pose=pose, vertices=vertices, landmarks_2d=lm2d,
                          detected=torch.as_tensor(detected, dtype=torch.float32), seed="provided",
                          stages=[f"provided:{path.name}"])


def _detected_or_nan(images: np.ndarray, errors: list) -> np.ndarray:
    """dlib's landmarks [T, C, 68, 2] of images [T, C, H, W, 3]; all NaN, with one line in ``errors``, when dlib or
    its model is missing (they only feed the ``landmark_error_px`` diagnostic here)."""
    try:
        return detect_all(images)
    except (ImportError, GaspUnavailableError) as exc:
        errors.append(f"landmarks not detected ({exc}): landmark_error_px is NaN")
        return np.full(images.shape[:2] + (68, 2), np.nan)


def read_benchmark_subject(root: str | os.PathLike, subject: int, out_dir: str | os.PathLike, head: HeadModel, *,
                           sequences: list[str] | None = None, frames=1, scale: float = 1.0,
                           colour_correct: bool = True) -> PreprocessReport:
    """Frames + provided alpha maps + provided tracking of ``{root}/{subject:03d}`` -> ``{out_dir}/{subject:03d}``
    (same files and ``frames.parquet`` as ``preprocess_nersemble``). frames: int step or list of video indices.
    A sequence that cannot be read is skipped with a one-line error in the report."""
    subj = NersembleSubject.open(root, subject)
    out = Path(out_dir) / f"{int(subject):03d}"
    out.mkdir(parents=True, exist_ok=True)
    report = PreprocessReport(table=pd.DataFrame(), table_path=None)
    rows = []
    for seq in sequences or subj.sequences():
        try:
            images, names, idx, K = load_sequence(subj, seq, None, frames, scale, colour_correct, report.errors)
            T, C, H, W = images.shape[:4]
            cams = Cameras(subj.cameras(names, W, H).world_to_cam, torch.tensor(K, dtype=torch.float32), W, H)
            mattes = np.zeros((T, C, H, W), np.float32)
            for c, s in enumerate(names):
                alpha = load_alpha_maps(alpha_map_path(subj.root, seq, s), idx)
                mattes[:, c] = compute_mattes("provided", images[:, c], source=str(alpha_map_path(subj.root, seq, s)),
                                              provided=np.stack([resize_image(a, W, H) for a in alpha]))
            res = provided_tracking(head, tracking_path(subj.root, seq), idx, cams,
                                    _detected_or_nan(images, report.errors))
            rows += commit_sequence(report, out, seq, head, res, images, mattes, cams, names, idx,
                                    {"source": "nersemble_benchmark", "subject": int(subject), "sequence": seq})
        except GaspInputError as exc:
            report.errors.append(str(exc))
    return finish_report(report, out, rows)
