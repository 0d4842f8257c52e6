"""Capture preprocessing: NeRSemble (v2 and benchmark layouts) and phone/webcam captures -> frames, mattes, head
masks, 3DMM tracking and one per-frame table.

Public API::

    NersembleSubject.open(root, subject)                      v2 reader (nersemble.py; calibration.py)
    load_alpha_maps / load_tracking_npz / save_tracking_npz   benchmark layout (benchmark.py)
    selection(setting, subject, calibration), evaluation_selection(...)   paper protocol (protocol.yaml)
    compute_mattes(backend, frames, ...)                      plate | provided | grabcut | rvm (matting*.py)
    detect_landmarks(image)                                   dlib 68 points (landmarks.py)
    Tracker(head, images, cameras, mattes, landmarks).track() 3DMM tracking (tracking.py)
    head_mask(matte, head, vertices, camera)                  neck-cut head region (head_mask.py)
    preprocess_nersemble(root, subject, out_dir, head, ...)   whole subject -> frames.parquet (preprocess.py)
    preprocess_capture(path, out_dir, head, ...)              phone / webcam (phone.py)
    write_nersemble_v2_subject(root, subject, ...)            synthetic subject in the v2 layout (writer.py)
"""

from gasp_ops.capture.benchmark import load_alpha_maps, load_tracking_npz, save_tracking_npz
from gasp_ops.capture.head_mask import head_mask
from gasp_ops.capture.landmarks import detect_landmarks
from gasp_ops.capture.matting import BACKENDS, compute_mattes
from gasp_ops.capture.nersemble import NersembleSubject
from gasp_ops.capture.phone import preprocess_capture
from gasp_ops.capture.preprocess import PreprocessReport, preprocess_nersemble
from gasp_ops.capture.protocol import evaluation_selection, selection
from gasp_ops.capture.tracking import Tracker, TrackingConfig, TrackingResult
from gasp_ops.capture.writer import write_nersemble_v2_subject

__all__ = [
    "BACKENDS", "NersembleSubject", "PreprocessReport", "Tracker", "TrackingConfig", "TrackingResult",
    "compute_mattes", "detect_landmarks", "evaluation_selection", "head_mask", "load_alpha_maps",
    "load_tracking_npz", "preprocess_capture", "preprocess_nersemble", "save_tracking_npz", "selection",
    "write_nersemble_v2_subject",
]
