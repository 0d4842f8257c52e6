"""``FaceNet``: the project's own matte + 68-landmark network, trained on synthetic renders only
(``benchmarks/gpu_train_face_models.py``), so its weights carry no third-party data licence.

Input: RGB [B, 3, S, S] in [0, 1] (S = ``size``, a multiple of 16). A small U-Net: 4 stride-2 stages
(``width`` x 1, 2, 4, 8 channels), a decoder back to full resolution for the alpha logits [B, 1, S, S], and 68
heatmaps at S/4 read out by a soft-argmax into pixel coordinates [B, 68, 2] (pixel centres at +0.5, as
``gasp_ops.cameras``). Weights: ``gasp_models/face_net.safetensors`` (float16, SHA-256 pinned in ``gasp_models``,
card ``gasp_models/face_net.md``); ``load_face_net()`` checks the digest before loading, so a missing or altered
file is one clear line - no number ever comes from untrained weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gasp_ops.errors import GaspInputError, GaspUnavailableError

KIND = "gasp_face_net"
SHIPPED_NAME = "face_net.safetensors"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "gasp_models" / SHIPPED_NAME


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.GroupNorm(8, cout), nn.SiLU(),
                         nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.GroupNorm(8, cout), nn.SiLU())


class FaceNet(nn.Module):
    """alpha logits [B, 1, S, S] and landmarks [B, 68, 2] (pixels) from images [B, 3, S, S] (module docstring)."""

    def __init__(self, size: int = 256, width: int = 32, n_landmarks: int = 68):
        super().__init__()
        if size % 16:
            raise GaspInputError("size", f"must be a multiple of 16, got {size}")
        self.size, self.width, self.n_landmarks = int(size), int(width), int(n_landmarks)
        w = [width, 2 * width, 4 * width, 8 * width]
        self.stem = _block(3, w[0])
        self.down = nn.ModuleList([_block(w[i - 1] if i else w[0], w[i], 2) for i in range(4)])
        self.up = nn.ModuleList([_block(w[i] + w[i - 1], w[i - 1]) for i in range(3, 0, -1)])
        self.alpha_head = nn.Sequential(_block(w[0] + w[0], w[0]), nn.Conv2d(w[0], 1, 1))
        self.lm_head = nn.Conv2d(w[1], n_landmarks, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s0 = self.stem(x * 2 - 1)
        feats, h = [], s0
        for d in self.down:
            h = d(h)
            feats.append(h)  # S/2, S/4, S/8, S/16
        for i, u in enumerate(self.up):
            skip = feats[2 - i]
            h = u(torch.cat([F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False), skip], 1))
            if i == 1:
                lm_feat = h  # S/4, width*2 channels
        h = F.interpolate(h, size=s0.shape[-2:], mode="bilinear", align_corners=False)
        alpha = self.alpha_head(torch.cat([h, s0], 1))
        return alpha, soft_argmax(self.lm_head(lm_feat), x.shape[-1])


def soft_argmax(heat: torch.Tensor, size: int) -> torch.Tensor:
    """Expected pixel positions [B, L, 2] of heatmaps [B, L, h, w] covering a ``size`` x ``size`` image."""
    B, L, h, w = heat.shape
    p = torch.softmax(heat.reshape(B, L, -1).float(), -1).reshape(B, L, h, w)
    xs = (torch.arange(w, device=heat.device, dtype=p.dtype) + 0.5) * (size / w)
    ys = (torch.arange(h, device=heat.device, dtype=p.dtype) + 0.5) * (size / h)
    return torch.stack([(p.sum(2) * xs).sum(-1), (p.sum(3) * ys).sum(-1)], -1)


def save_face_net(path, net: FaceNet, record: dict) -> Path:
    """Weights stored as float16 (half the file; the network runs in float32 after loading)."""
    from gasp_ops.io.tensors import save_tensors

    meta = {"kind": KIND, "size": net.size, "width": net.width, "n_landmarks": net.n_landmarks, "record": record}
    return save_tensors(path, {k: v.detach().cpu().half().contiguous() for k, v in net.state_dict().items()}, meta)


def shipped() -> bool:
    """Whether the project ships face_net weights (a pinned digest in ``gasp_models.SHA256``)."""
    from gasp_models import SHA256

    return SHIPPED_NAME in SHA256


def load_face_net(path=None, device: str = "cpu") -> FaceNet:
    """The trained network in float32. ``path`` None: the shipped file, checked against its pinned SHA-256 first
    (``gasp_models.model_path``: ``GaspInputError`` naming the file when it is missing or altered). A given
    ``path`` (a training output) is not pinned: ``GaspUnavailableError`` when it is not there."""
    from gasp_ops.io.tensors import load_tensors

    if path is None and shipped():
        from gasp_models import model_path

        path = model_path(SHIPPED_NAME)
    path = Path(path or DEFAULT_PATH)
    if not path.is_file():
        raise GaspUnavailableError(f"face_net weights not found at {path} (train them with "
                                   "benchmarks/gpu_train_face_models.py; needs a GPU)")
    tensors, meta = load_tensors(path)
    if meta.get("kind") != KIND:
        raise GaspInputError(str(path), "not a face_net weights file")
    net = FaceNet(int(meta["size"]), int(meta["width"]), int(meta["n_landmarks"]))
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    return net.to(device).eval()


@torch.no_grad()
def predict(net: FaceNet, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alpha [N, H, W] float32, landmarks [N, 68, 2] pixels) for uint8 RGB images [N, H, W, 3] of any size
    (resized to the network's square input and back)."""
    images = np.asarray(images)
    N, H, W = images.shape[:3]
    dev = next(net.parameters()).device
    x = torch.from_numpy(images).to(dev).permute(0, 3, 1, 2).float() / 255.0
    x = F.interpolate(x, size=(net.size, net.size), mode="bilinear", align_corners=False, antialias=True)
    logits, lm = net(x)
    alpha = torch.sigmoid(F.interpolate(logits, size=(H, W), mode="bilinear", align_corners=False))[:, 0]
    lm = lm * torch.tensor([W / net.size, H / net.size], device=dev)
    return alpha.cpu().numpy().astype(np.float32), lm.cpu().numpy().astype(np.float64)
