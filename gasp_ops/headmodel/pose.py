"""Articulated head pose: global rigid transform plus neck, jaw and eye rotations (axis-angle, radians)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from gasp_ops.validation import check_tensor


@dataclass
class HeadPose:
    """Per-frame pose, every field batched over B frames.

    rotation: [B, 3] global rotation of the root joint (axis-angle).
    translation: [B, 3] global translation in metres, applied after rotation.
    neck: [B, 3] neck joint rotation (axis-angle).
    jaw: [B, 3] jaw joint rotation (axis-angle); opening the mouth is a positive rotation about +x.
    eyes: [B, 6] left then right eyeball rotation (axis-angle); models without eyeballs ignore it.
    """

    rotation: torch.Tensor
    translation: torch.Tensor
    neck: torch.Tensor
    jaw: torch.Tensor
    eyes: torch.Tensor

    @classmethod
    def zeros(cls, batch: int, dtype=torch.float32, device=None) -> "HeadPose":
        z = lambda n: torch.zeros(batch, n, dtype=dtype, device=device)  # noqa: E731
        return cls(rotation=z(3), translation=z(3), neck=z(3), jaw=z(3), eyes=z(6))

    def validate(self, batch: int | None = None) -> "HeadPose":
        b = batch if batch is not None else self.rotation.shape[0] if torch.is_tensor(self.rotation) else "B"
        for f in fields(self):
            width = 6 if f.name == "eyes" else 3
            check_tensor(f"pose.{f.name}", getattr(self, f.name), [b, width])
        return self

    @property
    def batch(self) -> int:
        return self.rotation.shape[0]

    def to(self, device=None, dtype=None) -> "HeadPose":
        return HeadPose(**{f.name: getattr(self, f.name).to(device=device, dtype=dtype) for f in fields(self)})

    def __getitem__(self, index) -> "HeadPose":
        """The frames selected by ``index`` (int, slice, or index tensor); an int keeps a batch of one."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return HeadPose(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def as_dict(self) -> dict[str, torch.Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
