"""The identity encoder: head crops of one person (1..F frames) -> the prior's identity code z [Z].

Per frame (a ResNet-style CNN of ``residual.ResidualBlock``s, torchvision's ``BasicBlock`` layout, with GroupNorm
instead of BatchNorm so the output of a frame never depends on its batch): input [4, S, S] (premultiplied rgb +
matte, scaled to [-1, 1]) -> stem conv 5x5 / 2 (``width`` channels) -> 4 stages of ``blocks`` blocks with widths
width x (1, 2, 4, 8), stages 2-4 stride 2 -> 2x2 adaptive average pool (keeps a coarse layout: hair above, chin
below) -> feature [32 width].
Per person: mean of the valid frames' features (multi-frame pooling), concatenated with the head model's identity
(shape) coefficients when ``use_shape`` -> MLP (Linear, ReLU, Linear) -> u [Z], the code in normalised units:
z = code_mean + code_std * u (per-dimension statistics of the prior's training codes, stored as buffers).
No pretrained weights: every parameter is initialised from the seed.
"""

from __future__ import annotations

import torch
from torch import nn

from gasp_ops.encoder.config import EncoderConfig
from gasp_ops.encoder.residual import ResidualBlock


def _norm(channels: int) -> nn.Module:
    return nn.GroupNorm(min(8, channels), channels)


def _stage(c_in: int, c_out: int, blocks: int, stride: int) -> nn.Sequential:
    down = None
    if stride != 1 or c_in != c_out:
        down = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), _norm(c_out))
    layers = [ResidualBlock(c_in, c_out, stride=stride, downsample=down, norm_layer=_norm)]
    layers += [ResidualBlock(c_out, c_out, norm_layer=_norm) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class IdentityEncoder(nn.Module):
    """crops [B, F, 4, S, S] (+ frame mask [B, F], + shape [B, n_identity]) -> codes [B, Z].

    Buffers: code_mean [Z], code_std [Z] (normalisation of the targets).
    """

    def __init__(self, config: EncoderConfig, code_dim: int, n_identity: int, seed: int | None = None):
        super().__init__()
        self.config = config
        self.code_dim, self.n_identity = int(code_dim), int(n_identity)
        w = config.width
        with torch.random.fork_rng(devices=[]):  # reproducible init, global RNG untouched
            torch.manual_seed(config.seed if seed is None else seed)
            self.stem = nn.Sequential(nn.Conv2d(4, w, 5, stride=2, padding=2, bias=False), _norm(w),
                                      nn.ReLU(inplace=True))
            self.stages = nn.Sequential(_stage(w, w, config.blocks, 1), _stage(w, 2 * w, config.blocks, 2),
                                        _stage(2 * w, 4 * w, config.blocks, 2), _stage(4 * w, 8 * w, config.blocks, 2))
            self.pool = nn.AdaptiveAvgPool2d(2)
            n_in = 32 * w + (self.n_identity if config.use_shape else 0)
            self.head = nn.Sequential(nn.Linear(n_in, config.head_hidden), nn.ReLU(inplace=True),
                                      nn.Linear(config.head_hidden, self.code_dim))
            nn.init.zeros_(self.head[-1].weight)  # starts at u = 0: the mean code
            nn.init.zeros_(self.head[-1].bias)
        self.register_buffer("code_mean", torch.zeros(self.code_dim))
        self.register_buffer("code_std", torch.ones(self.code_dim))

    def set_code_stats(self, codes: torch.Tensor) -> None:
        """Per-dimension mean and std of training codes [J, Z] (std floored at 0.1 x the overall std)."""
        codes = codes.detach().float()
        std = codes.std(0) if codes.shape[0] > 1 else torch.ones(codes.shape[1])
        floor = 0.1 * float(codes.std()) if codes.numel() > 1 else 1.0
        self.code_mean.copy_(codes.mean(0))
        self.code_std.copy_(std.clamp_min(max(floor, 1e-8)))

    def normalise(self, codes: torch.Tensor) -> torch.Tensor:
        return (codes - self.code_mean) / self.code_std

    def frame_features(self, crops: torch.Tensor, autocast_dtype: torch.dtype | None = None) -> torch.Tensor:
        """crops [K, 4, S, S] in [0, 1] -> features [K, 32 width] (float32)."""
        x = crops.float() * 2 - 1
        if autocast_dtype is not None:
            with torch.autocast(device_type=x.device.type, dtype=autocast_dtype):
                f = self.pool(self.stages(self.stem(x)))
        else:
            f = self.pool(self.stages(self.stem(x)))
        return f.float().flatten(1)

    def forward_normalised(self, crops: torch.Tensor, frame_mask: torch.Tensor | None = None,
                           shape: torch.Tensor | None = None,
                           autocast_dtype: torch.dtype | None = None) -> torch.Tensor:
        """crops [B, F, 4, S, S]; frame_mask [B, F] bool (None = all valid); shape [B, n_identity] -> u [B, Z]."""
        B, Fr = crops.shape[:2]
        feats = self.frame_features(crops.reshape(B * Fr, *crops.shape[2:]), autocast_dtype).reshape(B, Fr, -1)
        if frame_mask is None:
            pooled = feats.mean(1)
        else:
            m = frame_mask.to(feats).unsqueeze(-1)
            pooled = (feats * m).sum(1) / m.sum(1).clamp_min(1.0)
        if self.config.use_shape:
            if shape is None:
                raise ValueError("this encoder uses the head model's shape coefficients: pass shape [B, n_identity]")
            pooled = torch.cat([pooled, shape.float().to(pooled.device)], -1)
        return self.head(pooled)

    def forward(self, crops: torch.Tensor, frame_mask: torch.Tensor | None = None, shape: torch.Tensor | None = None,
                autocast_dtype: torch.dtype | None = None) -> torch.Tensor:
        """Codes [B, Z] in the prior's units."""
        return self.code_mean + self.code_std * self.forward_normalised(crops, frame_mask, shape, autocast_dtype)

    @torch.no_grad()
    def encode(self, crops: torch.Tensor, shape: torch.Tensor | None = None) -> torch.Tensor:
        """One person's frames crops [F, 4, S, S] (+ shape [n_identity]) -> code [Z] (eval mode, float32)."""
        was = self.training
        self.eval()
        try:
            dev = self.code_mean.device
            s = None if shape is None else shape.reshape(1, -1).to(dev)
            return self(crops[None].to(dev), shape=s)[0]
        finally:
            self.train(was)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
