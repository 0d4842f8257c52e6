"""World-space Gaussians ready to render, and what a render returns."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gasp_ops.validation import check_tensor


@dataclass
class Gaussians3D:
    """N world-space Gaussians, activated (no logits), optionally batched over B frames.

    means: [N, 3] or [B, N, 3] centres (metres, world space).
    quats: [N, 4] or [B, N, 4] rotations (w, x, y, z); normalised by the renderer.
    scales: [N, 3] or [B, N, 3] standard deviations along the local axes (metres, > 0).
    opacities: [N] or [B, N] in [0, 1].
    colors: [N, 3] or [B, N, 3] linear RGB in [0, 1].
    """

    means: torch.Tensor
    quats: torch.Tensor
    scales: torch.Tensor
    opacities: torch.Tensor
    colors: torch.Tensor

    def validate(self) -> "Gaussians3D":
        lead = ["..."] if self.means.ndim == 3 else []
        n = self.means.shape[-2]
        check_tensor("gaussians.means", self.means, [*lead, n, 3])
        check_tensor("gaussians.quats", self.quats, [*lead, n, 4])
        check_tensor("gaussians.scales", self.scales, [*lead, n, 3])
        check_tensor("gaussians.opacities", self.opacities, [*lead, n])
        check_tensor("gaussians.colors", self.colors, [*lead, n, 3])
        batch_shapes = {t.shape[:-2] if t.ndim == self.means.ndim else t.shape[:-1]
                        for t in (self.means, self.quats, self.scales, self.colors)} | {self.opacities.shape[:-1]}
        if len(batch_shapes) != 1:
            from gasp_ops.errors import GaspInputError

            raise GaspInputError("gaussians", f"fields disagree on the batch shape: {sorted(map(list, batch_shapes))}")
        return self

    @property
    def batched(self) -> bool:
        return self.means.ndim == 3

    @property
    def count(self) -> int:
        return self.means.shape[-2]

    def frame(self, b: int) -> "Gaussians3D":
        """The unbatched Gaussians of frame ``b`` (or self when unbatched)."""
        if not self.batched:
            return self
        return Gaussians3D(self.means[b], self.quats[b], self.scales[b], self.opacities[b], self.colors[b])


@dataclass
class RenderOutput:
    """rgb: [C, H, W, 3]; alpha: [C, H, W, 1] accumulated opacity; depth: [C, H, W, 1] expected camera-space z
    (alpha-weighted mean depth, sum(w_i z_i) / alpha, 0 where alpha is 0)."""

    rgb: torch.Tensor
    alpha: torch.Tensor
    depth: torch.Tensor
