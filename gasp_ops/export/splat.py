"""A posed frame as an antimatter15 ``.splat`` file: the compact static export (32 bytes per Gaussian, no header).

Record layout (little-endian), one per Gaussian, sorted by decreasing ``opacity x scale_0 x scale_1 x scale_2`` (the
order antimatter15's viewer writes, so a progressive loader shows the large, opaque Gaussians first):

  bytes  0-11  position x, y, z            float32
  bytes 12-23  scale (standard deviation)  float32 x 3 (linear, not log)
  bytes 24-27  r, g, b, alpha              uint8: round(255 x clamp(colour, 0, 1)), round(255 x opacity)
  bytes 28-31  rotation w, x, y, z         uint8: round(127.5 x (q + 1)) of the unit quaternion

Readers decode colour as c/255 (a degree-0 SH coefficient (c/255 - 0.5)/C0), opacity a/255 and rotation
b/127.5 - 1 (then normalise); PlayCanvas splat-transform reads it. The quantisation errors are at most 1/510 in
colour and opacity and 1/255 per quaternion component; positions and scales are exact float32.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.io.atomic import write_bytes_atomic
from gasp_ops.render.gaussians import Gaussians3D

RECORD = np.dtype([("pos", "<f4", 3), ("scale", "<f4", 3), ("rgba", "u1", 4), ("rot", "u1", 4)])
assert RECORD.itemsize == 32


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def gaussians_to_splat_records(g: Gaussians3D) -> np.ndarray:
    """Structured array [N] of ``RECORD`` for unbatched Gaussians, in the file's (importance) order."""
    if g.batched:
        raise GaspInputError("gaussians", "export one frame (unbatched Gaussians [N, ...]); use g.frame(b)")
    np64 = lambda t: t.detach().cpu().double().numpy()  # noqa: E731
    q = np64(torch.nn.functional.normalize(g.quats.detach().double(), dim=-1))
    s, op = np64(g.scales), np64(g.opacities)
    rec = np.empty(g.count, RECORD)
    rec["pos"] = np64(g.means)
    rec["scale"] = s
    rec["rgba"][:, :3] = _u8(255.0 * np.clip(np64(g.colors), 0.0, 1.0))
    rec["rgba"][:, 3] = _u8(255.0 * np.clip(op, 0.0, 1.0))
    rec["rot"] = _u8(127.5 * (q + 1.0))
    order = np.argsort(-(op * s.prod(-1)), kind="stable")
    return rec[order]


def write_splat(path, gaussians: Gaussians3D) -> Path:
    """Write unbatched world Gaussians as a ``.splat`` file, atomically."""
    return write_bytes_atomic(path, gaussians_to_splat_records(gaussians).tobytes())


def read_splat(path) -> Gaussians3D:
    """Read a ``.splat`` file back into activated Gaussians [N, ...] (in the file's order)."""
    raw = Path(path).read_bytes()
    if len(raw) % RECORD.itemsize:
        raise GaspInputError(str(path), f"size {len(raw)} is not a multiple of {RECORD.itemsize} bytes")
    rec = np.frombuffer(raw, RECORD)
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
    rgba = rec["rgba"].astype(np.float32) / 255.0
    q = rec["rot"].astype(np.float32) / 127.5 - 1.0
    return Gaussians3D(means=t(rec["pos"]), quats=t(q / np.linalg.norm(q, axis=-1, keepdims=True).clip(1e-12)),
                       scales=t(rec["scale"]), opacities=t(rgba[:, 3]), colors=t(rgba[:, :3]))
