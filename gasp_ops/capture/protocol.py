"""The paper's NeRSemble protocol (``protocol.yaml`` beside this file): which sequences, cameras and frames each
setting (monocular, single_image, multi_camera, three_frame) trains on, and what it is tested on."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from gasp_ops.capture.calibration import Calibration, angle_between_cameras
from gasp_ops.errors import GaspInputError

PROTOCOL_PATH = Path(__file__).with_name("protocol.yaml")
SETTINGS = ("monocular", "single_image", "multi_camera", "three_frame")


@functools.lru_cache(maxsize=1)
def load_protocol(path: str | None = None) -> dict:
    p = Path(path) if path else PROTOCOL_PATH
    try:
        data = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise GaspInputError(str(p), f"unreadable protocol ({str(exc).splitlines()[0]})") from None
    for key in ("subjects", "frontal_camera", "train_sequences", "settings", "test"):
        if key not in data:
            raise GaspInputError(str(p), f"missing key {key!r}")
    return data


@dataclass(frozen=True)
class Selection:
    """What one setting uses: sequences, camera serials, and frames (explicit indices, or every ``frame_step``-th
    frame when ``frames`` is None)."""

    setting: str
    sequences: tuple[str, ...]
    cameras: tuple[str, ...]
    frame_step: int = 1
    frames: tuple[int, ...] | None = None

    def frame_indices(self, num_frames: int) -> list[int]:
        if self.frames is not None:
            return [f for f in self.frames if f < num_frames]
        return list(range(0, num_frames, self.frame_step))


def paper_subjects() -> list[int]:
    return [int(s) for s in load_protocol()["subjects"]]


def frontal_camera(subject: int, calibration: Calibration | None = None) -> str:
    """The protocol's frontal camera of ``subject``; if the rig lacks it, the camera nearest to the rig's mean
    viewing direction (``calibration`` needed then)."""
    fc = load_protocol()["frontal_camera"]
    serial = str(fc.get("per_subject", {}).get(int(subject), fc["default"]))
    if calibration is None or serial in calibration.world_to_cam:
        return serial
    serials = calibration.serials
    dirs = np.stack([calibration.world_to_cam[s][2, :3] for s in serials])
    mean = dirs.mean(0)
    return serials[int(np.argmax(dirs @ mean))]


def _side_angle(calibration: Calibration, front: str, serial: str) -> float:
    """Signed horizontal angle (degrees) of ``serial``'s view direction relative to ``front``'s (about the front
    camera's up axis): > 0 when the camera sits to the front camera's right in the image."""
    Rf = calibration.world_to_cam[front][:3, :3]
    d = Rf @ calibration.world_to_cam[serial][2, :3]  # view direction in front-camera coordinates
    return float(np.degrees(np.arctan2(d[0], d[2])))


def evaluation_cameras(subject: int, calibration: Calibration) -> list[str]:
    """The protocol's test cameras: listed per subject, else the ``num_cameras`` at the largest angle to the
    frontal camera (ties broken by serial)."""
    test = load_protocol()["test"]
    listed = (test.get("cameras_per_subject") or {}).get(int(subject))
    if listed:
        return [str(s) for s in listed]
    front = frontal_camera(subject, calibration)
    others = [s for s in calibration.serials if s != front]
    angles = {s: angle_between_cameras(calibration.world_to_cam[front], calibration.world_to_cam[s]) for s in others}
    return sorted(sorted(others), key=lambda s: -angles[s])[: int(test["num_cameras"])]


def selection(setting: str, subject: int, calibration: Calibration | None = None) -> Selection:
    """Training selection of ``setting`` for ``subject`` (three_frame needs the calibration to pick left/right)."""
    if setting not in SETTINGS:
        raise GaspInputError("setting", f"unknown setting {setting!r}; known: {', '.join(SETTINGS)}")
    proto = load_protocol()
    spec = proto["settings"][setting]
    seqs = proto["train_sequences"] if spec["sequences"] == "train" else spec["sequences"]
    front = frontal_camera(subject, calibration)
    if spec["cameras"] == "frontal":
        cams = [front]
    elif spec["cameras"] == "all":
        if calibration is None:
            raise GaspInputError("calibration", f"setting {setting!r} uses every camera: pass the calibration")
        cams = calibration.serials
    else:  # front_left_right
        if calibration is None:
            raise GaspInputError("calibration", "setting 'three_frame' picks left/right cameras: pass the calibration")
        side = {s: _side_angle(calibration, front, s) for s in calibration.serials if s != front}
        cams = [front, min(side, key=side.get), max(side, key=side.get)]
    frames = tuple(int(f) for f in spec["frames"]) if "frames" in spec else None
    return Selection(setting=setting, sequences=tuple(seqs), cameras=tuple(cams),
                     frame_step=int(spec.get("frame_step", 1)), frames=frames)


def evaluation_selection(subject: int, calibration: Calibration) -> Selection:
    test = load_protocol()["test"]
    return Selection(setting="test", sequences=(test["sequence"],), cameras=tuple(evaluation_cameras(subject, calibration)),
                     frame_step=int(test["frame_step"]))
