"""Preprocessing of a NeRSemble v2 subject: frames -> mattes -> landmarks -> 3DMM tracking -> head masks ->
files + one frame table (``frames.parquet``, see ``frame_table``) per subject.

Bad cameras (missing from the calibration, no video, truncated video, mismatched frame count) are skipped with a
one-line error in ``PreprocessReport.errors``; a sequence that cannot be processed at all is skipped likewise.
Each sequence is written to a staging folder and renamed into place when complete, and the table last, so nothing
half-written is ever visible.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gasp_ops.cameras import Cameras
from gasp_ops.capture.benchmark import alpha_map_path, load_alpha_maps
from gasp_ops.capture.frame_table import make_table
from gasp_ops.capture.landmarks import detect_landmarks
from gasp_ops.capture.matting import compute_mattes
from gasp_ops.capture.nersemble import NersembleSubject
from gasp_ops.capture.outputs import write_sequence
from gasp_ops.capture.seeds import grabcut_seeds
from gasp_ops.capture.tracking import Tracker, TrackingConfig, TrackingResult
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.io.tables import write_parquet


@dataclass
class PreprocessReport:
    """table: the frame table; table_path; errors: one-line messages of what was skipped; tracking: sequence ->
    TrackingResult; overlays: sequence -> list of overlay images (first frame per camera); mattes: sequence ->
    [T, C, H, W]; cameras: sequence -> serials used; capture: phone/webcam face choice and crop record."""

    table: pd.DataFrame
    table_path: Path | None
    errors: list = field(default_factory=list)
    tracking: dict = field(default_factory=dict)
    overlays: dict = field(default_factory=dict)
    mattes: dict = field(default_factory=dict)
    cameras: dict = field(default_factory=dict)
    capture: dict = field(default_factory=dict)


def detect_all(images: np.ndarray) -> np.ndarray:
    """Landmarks [T, C, 68, 2] (NaN where no face) for images [T, C, H, W, 3]."""
    out = np.full(images.shape[:2] + (68, 2), np.nan)
    for t in range(images.shape[0]):
        for c in range(images.shape[1]):
            d = detect_landmarks(images[t, c])
            if d is not None:
                out[t, c] = d.points
    return out


def mattes_after_tracking(head: HeadModel, images: np.ndarray, res: TrackingResult, cameras: Cameras) -> np.ndarray:
    T, C = images.shape[:2]
    out = np.zeros(images.shape[:4], np.float32)
    for c in range(C):
        seeds = [grabcut_seeds(head, res.vertices[t], cameras[c]) for t in range(T)]
        out[:, c] = compute_mattes("grabcut", images[:, c], seeds=seeds)
    return out


def load_sequence(subject: NersembleSubject, sequence: str, serials: list[str] | None, frames, scale: float,
                  colour_correct: bool, errors: list) -> tuple[np.ndarray, list[str], list[int], np.ndarray]:
    """(images [T, C, H, W, 3], serials kept, frame indices, K [C, 3, 3]); bad cameras go to ``errors``."""
    ok, problems = subject.usable_serials(sequence, serials)
    errors.extend(problems)
    loaded, Ks, counts = {}, {}, {}
    for s in ok:
        try:
            from gasp_ops.capture.video import video_info

            counts[s] = video_info(subject.video_path(sequence, s))[0]
        except GaspInputError as exc:
            errors.append(str(exc))
    if not counts:
        raise GaspInputError(str(subject.root / "sequences" / sequence), "no usable camera")
    ref = max(set(counts.values()), key=list(counts.values()).count)
    for s, n in counts.items():
        if n != ref:
            errors.append(str(GaspInputError(str(subject.video_path(sequence, s)),
                                             f"has {n} frames, the other cameras of {sequence} have {ref}")))
    idx = list(range(0, ref, frames)) if isinstance(frames, int) else [f for f in (frames or range(ref)) if f < ref]
    for s in [s for s, n in counts.items() if n == ref]:
        try:
            loaded[s], Ks[s] = subject.load_frames(sequence, s, idx, scale, colour_correct)
        except GaspInputError as exc:
            errors.append(str(exc))
    if not loaded:
        raise GaspInputError(str(subject.root / "sequences" / sequence), "no camera could be read")
    names = sorted(loaded)
    images = np.stack([loaded[s] for s in names], 1)
    return images, names, idx, np.stack([Ks[s] for s in names])



def commit_sequence(report: PreprocessReport, out: Path, seq: str, head: HeadModel, res, images: np.ndarray,
                    mattes: np.ndarray, cams: Cameras, names: list[str], idx, meta: dict) -> list[dict]:
    """Write one preprocessed sequence into ``out/.staging_<seq>`` and move it to ``out/<seq>`` in one rename
    (a failure leaves the previous folder untouched); record it in ``report``; return its frame-table rows.
    images [T, C, H, W, 3] uint8, mattes [T, C, H, W] float32, ``res`` a ``TrackingResult``."""
    stage = out / f".staging_{seq}"
    shutil.rmtree(stage, ignore_errors=True)
    seq_rows, overlays = write_sequence(stage, Path(seq), head, res, images, mattes, cams, names, idx, meta)
    final = out / seq
    if final.exists():
        shutil.rmtree(final)
    os.replace(stage, final)
    report.tracking[seq], report.overlays[seq], report.mattes[seq] = res, overlays, mattes
    report.cameras[seq] = names
    return seq_rows


def finish_report(report: PreprocessReport, out: Path, rows: list[dict]) -> PreprocessReport:
    """Write the subject's ``out/frames.parquet`` from every committed sequence's rows (none: no table)."""
    if rows:
        report.table = make_table(rows)
        report.table_path = write_parquet(out / "frames.parquet", report.table)
    return report

def preprocess_nersemble(root: str | os.PathLike, subject: int, out_dir: str | os.PathLike, head: HeadModel, *,
                         sequences: list[str] | None = None, serials: list[str] | None = None, frames=1,
                         scale: float = 1.0, matting: str = "plate", colour_correct: bool = True,
                         rvm_path: str | None = None, config: TrackingConfig | None = None,
                         frontal: str | None = None) -> PreprocessReport:
    """Preprocess ``{root}/{subject:03d}`` into ``{out_dir}/{subject:03d}`` (see module docstring).

    frames: an int step (every n-th frame) or a list of indices; scale: downscale factor in (0, 1];
    matting: 'plate' | 'provided' | 'grabcut' | 'rvm'; frontal: serial to face in a default-pose seed.
    """
    subj = NersembleSubject.open(root, subject)
    out = Path(out_dir) / f"{int(subject):03d}"
    out.mkdir(parents=True, exist_ok=True)
    report = PreprocessReport(table=pd.DataFrame(), table_path=None)
    rvm = None
    if matting == "rvm":
        from gasp_ops.capture.matting_rvm import load_rvm

        rvm = load_rvm(rvm_path or "")
    rows = []
    for seq in sequences or subj.sequences():
        try:
            images, names, idx, K = load_sequence(subj, seq, serials, frames, scale, colour_correct, report.errors)
            T, C, H, W = images.shape[:4]
            cams = subj.cameras(names, W, H)
            cams = Cameras(cams.world_to_cam, torch.tensor(K, dtype=torch.float32), W, H)
            mattes = None
            if matting != "grabcut":
                mattes = np.zeros((T, C, H, W), np.float32)
                for c, s in enumerate(names):
                    provided = None
                    if matting == "provided":
                        provided = np.stack([_resize(a, W, H) for a in
                                             load_alpha_maps(alpha_map_path(subj.root, seq, s), idx)])
                    plate = subj.load_background(s, W, H, colour_correct) if matting == "plate" else None
                    mattes[:, c] = compute_mattes(matting, images[:, c], plate=plate, provided=provided,
                                                  rvm_model=rvm, source=str(subj.video_path(seq, s)))
            lm = detect_all(images)
            cfg = config or TrackingConfig()
            if frontal in names:
                cfg.frontal = names.index(frontal)
            res = Tracker(head, images, cams, mattes, lm, cfg, video=T > 2).track()
            if mattes is None:
                mattes = mattes_after_tracking(head, images, res, cams)
            rows += commit_sequence(report, out, seq, head, res, images, mattes, cams, names, idx,
                                    {"source": "nersemble", "subject": int(subject), "sequence": seq})
        except GaspInputError as exc:
            report.errors.append(str(exc))
    return finish_report(report, out, rows)


def _resize(a: np.ndarray, W: int, H: int) -> np.ndarray:
    from gasp_ops.capture.nersemble import resize_image

    return resize_image(a, W, H)
