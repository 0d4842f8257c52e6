"""LPIPS (Zhang et al. 2018) for the prior's perceptual loss, only with real pretrained weights.

The ``lpips`` package ships its linear calibration layers, but its VGG/AlexNet backbone comes from torchvision's
pretrained weights, which torchvision downloads into ``<torch hub dir>/checkpoints``. This module checks that
file itself before building anything: when it is absent, LPIPS is reported unavailable with the reason (never a
randomly initialised network, never a download attempt).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import torch

#: torchvision's file names for the ImageNet weights each LPIPS backbone loads.
BACKBONE_FILES: dict[str, str] = {"vgg": "vgg16-397923af.pth", "alex": "alexnet-owt-7be5be79.pth",
                                  "squeeze": "squeezenet1_1-b8a52dc0.pth"}


@dataclass
class LpipsStatus:
    """available: whether LPIPS can run; reason: why not (or where the weights came from)."""

    available: bool
    reason: str


def backbone_path(net: str = "vgg") -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / BACKBONE_FILES[net]


def lpips_status(net: str = "vgg") -> LpipsStatus:
    """Whether the real LPIPS-``net`` can be built here without any download."""
    if net not in BACKBONE_FILES:
        return LpipsStatus(False, f"unknown LPIPS backbone {net!r}")
    if importlib.util.find_spec("lpips") is None:
        return LpipsStatus(False, "the lpips package is not installed")
    path = backbone_path(net)
    if not path.is_file() or path.stat().st_size == 0:
        return LpipsStatus(False, f"torchvision backbone weights {path} not found (no download attempted); "
                                  f"put {BACKBONE_FILES[net]} there to enable the LPIPS term")
    try:  # only now: importing lpips imports torchvision (~5 s of CPU on a 2-core machine, every fitting process)
        import lpips  # noqa: F401
    except ImportError as exc:
        return LpipsStatus(False, f"the lpips package does not import ({exc})")
    return LpipsStatus(True, f"LPIPS-{net} with backbone weights {path}")


def load_lpips(net: str = "vgg", device="cpu") -> tuple[torch.nn.Module | None, LpipsStatus]:
    """(frozen LPIPS module taking [B, 3, H, W] images in [0, 1], status), or (None, status) when unavailable."""
    status = lpips_status(net)
    if not status.available:
        return None, status
    import lpips

    os.environ.setdefault("TORCH_HOME", str(Path(torch.hub.get_dir()).parent))
    model = lpips.LPIPS(net=net, pretrained=True, pnet_rand=False, verbose=False).to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return _Normalised(model), status


class _Normalised(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean LPIPS of pred vs target [B, 3, H, W] in [0, 1]."""
        return self.model(pred.float(), target.float(), normalize=True).mean()
